//! Proposals: made from the engine's allocations, accepted by both sides into an order
//! through checkout, declined, lapsed or withdrawn, with the remainder matched again.

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, ModelTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde::Serialize;
use utoipa::ToSchema;

use super::domain::{ClosedReason, ProposalKind, ProposalStatus, RequestStatus};
use super::engine::{self, Allocation, Market, Params};
use super::entity::{proposal, purchase_request};
use super::market;
use crate::accounts::{Actor, Role};
use crate::catalog::domain::{ListingStatus, Quantity};
use crate::catalog::entity::listing;
use crate::config::Settings;
use crate::error::{AppError, AppResult};
use crate::orders::checkout::{self, Address, Checkout, LineInput};
use crate::orders::domain::line_amount;
use crate::outbox;
use crate::outbox::events::{
    NotifyEvent, ProposalChange, ProposalNews, RequestChange, RequestNews,
};

/// How matching runs: the engine's cost model and how long proposals wait.
#[derive(Debug, Clone)]
pub struct Rules {
    pub params: Params,
    pub ttl: Duration,
}

impl Rules {
    /// From the settings.
    pub fn of(settings: &Settings) -> Self {
        Rules {
            params: Params {
                freight_fen_per_ton_km: settings.freight_fen_per_ton_km,
                ..Params::default()
            },
            ttl: Duration::hours(settings.proposal_ttl_hours),
        }
    }
}

/// The side someone takes in a proposal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Buyer,
    Producer,
    Admin,
}

impl Side {
    fn code(self) -> &'static str {
        match self {
            Side::Buyer => "buyer",
            Side::Producer => "producer",
            Side::Admin => "admin",
        }
    }
}

/// The side `actor` takes in proposal `p` of request `r`, if any.
pub fn side_of(actor: &Actor, r: &purchase_request::Model, p: &proposal::Model) -> Option<Side> {
    if actor.is_admin() {
        Some(Side::Admin)
    } else if actor.role == Role::Buyer && r.buyer_id == actor.id() {
        Some(Side::Buyer)
    } else if actor.organization_id() == Some(p.organization_id) {
        Some(Side::Producer)
    } else {
        None
    }
}

/// Writes a proposal event for notifications.
async fn proposal_event(
    db: &impl ConnectionTrait,
    news: ProposalNews,
    p: &proposal::Model,
    buyer_id: i64,
) -> Result<(), sea_orm::DbErr> {
    let change = ProposalChange {
        proposal_id: p.id,
        request_id: p.request_id,
        listing_id: p.listing_id,
        organization_id: p.organization_id,
        buyer_id,
        status: p.status.code().into(),
        quantity: Quantity::from_milli(p.quantity_milli).to_string(),
        listing_quantity: Quantity::from_milli(p.listing_quantity_milli).to_string(),
        listing_unit: p.listing_unit.code().into(),
        amount_fen: p.amount_fen,
        order_id: p.order_id,
        contract_id: p.contract_id,
    };
    outbox::enqueue(db, &NotifyEvent::Proposal(news, change)).await
}

/// Writes a purchase request event.
pub async fn request_event(
    db: &impl ConnectionTrait,
    news: RequestNews,
    r: &purchase_request::Model,
) -> Result<(), sea_orm::DbErr> {
    let change = RequestChange {
        request_id: r.id,
        buyer_id: r.buyer_id,
        status: r.status.code().into(),
        quantity: Quantity::from_milli(r.quantity_milli).to_string(),
        filled: Quantity::from_milli(r.filled_milli).to_string(),
        unit: r.unit.code().into(),
    };
    outbox::enqueue(db, &NotifyEvent::Request(news, change)).await
}

/// An allocation to propose: an order from stock, or a season contract over a window.
struct Offer {
    allocation: Allocation,
    window: Option<(NaiveDate, NaiveDate)>,
}

/// Stores the engine's allocations as pending proposals.
async fn propose(
    db: &impl ConnectionTrait,
    offers: Vec<Offer>,
    ttl: Duration,
    now: DateTime<Utc>,
) -> AppResult<Vec<proposal::Model>> {
    let mut out = Vec::new();
    // Allocations come sorted by request: each request is read once.
    let mut buyers: HashMap<i64, i64> = HashMap::new();
    for Offer {
        allocation: a,
        window,
    } in offers
    {
        let a = &a;
        let Some(l) = listing::Entity::find_by_id(a.supply_id).one(db).await? else {
            continue;
        };
        let buyer_id = match buyers.get(&a.demand_id) {
            Some(&b) => b,
            None => {
                let Some(r) = purchase_request::Entity::find_by_id(a.demand_id)
                    .one(db)
                    .await?
                else {
                    continue;
                };
                buyers.insert(a.demand_id, r.buyer_id);
                r.buyer_id
            }
        };
        let p = proposal::ActiveModel {
            request_id: Set(a.demand_id),
            listing_id: Set(a.supply_id),
            organization_id: Set(l.organization_id),
            quantity_milli: Set(a.quantity.milli()),
            listing_quantity_milli: Set(a.supply_quantity.milli()),
            listing_unit: Set(l.unit),
            unit_price_fen: Set(a.unit_price_fen),
            amount_fen: Set(line_amount(a.unit_price_fen, a.supply_quantity).unwrap_or(0)),
            distance_m: Set(a.distance_m),
            status: Set(ProposalStatus::Pending),
            buyer_accepted_at: Set(None),
            producer_accepted_at: Set(None),
            closed_by: Set(None),
            reason: Set(String::new()),
            order_id: Set(None),
            kind: Set(if window.is_some() {
                ProposalKind::Contract
            } else {
                ProposalKind::Order
            }),
            window_start: Set(window.map(|w| w.0)),
            window_end: Set(window.map(|w| w.1)),
            contract_id: Set(None),
            expires_at: Set(now + ttl),
            version: Set(1),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(db)
        .await?;
        proposal_event(db, ProposalNews::Created, &p, buyer_id).await?;
        out.push(p);
    }
    Ok(out)
}

impl Offer {
    fn contract(c: engine::ContractOffer) -> Self {
        Offer {
            allocation: c.allocation,
            window: Some((c.window_start, c.window_end)),
        }
    }
}

/// The stock allocations as offers, then the contracts.
fn offers(stock: &[Allocation], contracts: Vec<engine::ContractOffer>) -> Vec<Offer> {
    let stock = stock.iter().map(|a| Offer {
        allocation: a.clone(),
        window: None,
    });
    stock
        .chain(contracts.into_iter().map(Offer::contract))
        .collect()
}

/// A season contract for what stock leaves of request `r` (`demand`, less `allocated` from
/// stock this round), when its date lies in a listing's coming season: one contract proposal
/// waits per request at a time. A listing that gave stock this round may contract its coming
/// harvest for the rest.
async fn contract_offer(
    db: &impl ConnectionTrait,
    r: &purchase_request::Model,
    demand: &engine::Demand,
    allocated: &[Allocation],
    (categories, seasonal): (&engine::Categories, &[engine::Supply]),
    rules: &Rules,
    now: DateTime<Utc>,
) -> AppResult<Option<engine::ContractOffer>> {
    let waiting = proposal::Entity::find()
        .filter(proposal::Column::RequestId.eq(r.id))
        .filter(proposal::Column::Status.eq(ProposalStatus::Pending.code()))
        .filter(proposal::Column::Kind.eq(ProposalKind::Contract.code()))
        .count(db)
        .await?;
    let taken: i64 = allocated
        .iter()
        .filter(|a| a.demand_id == demand.id)
        .map(|a| a.quantity.milli())
        .sum();
    let left = demand.quantity.milli() - taken;
    if waiting > 0 || left <= 0 {
        return Ok(None);
    }
    let mut rest = demand.clone();
    rest.quantity = Quantity::from_milli(left);
    rest.min_fill = Quantity::from_milli(Ord::max(demand.min_fill.milli() - taken, 0));
    Ok(engine::contract_offer(
        categories,
        &rules.params,
        &rest,
        r.deliver_by,
        seasonal,
        crate::days::local_date(now),
    ))
}

/// Incremental matching of one request against what the market has left; returns the new
/// proposals. `db` is a write transaction: on PostgreSQL it takes the matching lock, so
/// instances never offer the same supply twice.
pub async fn match_request(
    db: &impl ConnectionTrait,
    request_id: i64,
    rules: &Rules,
) -> AppResult<Vec<proposal::Model>> {
    crate::db::advisory_lock(db, crate::db::locks::MATCHING).await?;
    let Some(r) = purchase_request::Entity::find_by_id(request_id)
        .one(db)
        .await?
    else {
        return Ok(Vec::new());
    };
    let Some(demand) = market::demand_of(db, &r).await? else {
        return Ok(Vec::new());
    };
    let categories = market::categories(db).await?;
    let cats = categories.subtree(r.category_id);
    let supplies = market::supplies(db, Some(&cats)).await?;
    let seasonal = market::seasonal_supplies(db, Some(&cats)).await?;
    let m = Market::new(supplies, categories);
    let allocations = engine::incremental(&m, &demand, &rules.params);
    let now = Utc::now();
    let season = (&m.categories, &seasonal[..]);
    let contract = contract_offer(db, &r, &demand, &allocations, season, rules, now).await?;
    propose(
        db,
        offers(&allocations, contract.into_iter().collect()),
        rules.ttl,
        now,
    )
    .await
}

/// A listing was created or changed: open requests it could serve are matched again,
/// oldest first.
pub async fn match_listing(
    db: &DatabaseConnection,
    listing_id: i64,
    rules: &Rules,
) -> AppResult<usize> {
    let Some(l) = listing::Entity::find_by_id(listing_id).one(db).await? else {
        return Ok(0);
    };
    let ancestors = market::categories(db).await?.ancestors(l.category_id);
    let open = purchase_request::Entity::find()
        .filter(purchase_request::Column::Status.eq(RequestStatus::Open.code()))
        .filter(purchase_request::Column::CategoryId.is_in(ancestors))
        .order_by_asc(purchase_request::Column::Id)
        .limit(50)
        .all(db)
        .await?;
    let mut made = 0;
    for r in open {
        let txn = crate::db::write_txn(db).await?;
        made += match_request(&txn, r.id, rules).await?.len();
        txn.commit().await?;
    }
    Ok(made)
}

/// Matches open requests against a listing that just changed; the listing's change is
/// already stored, so a failure here is logged and left to the next run.
pub async fn after_listing_change(db: &DatabaseConnection, settings: &Settings, listing_id: i64) {
    if let Err(e) = match_listing(db, listing_id, &Rules::of(settings)).await {
        tracing::warn!(listing = listing_id, error = ?e, "matching after a listing change failed");
    }
}

/// What a batch run did.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BatchSummary {
    pub requests: usize,
    pub listings: usize,
    pub proposals: usize,
}

/// Every open request against the whole market at once, one instance at a time; admins only,
/// and each run is kept in the audit trail.
pub async fn run_batch(
    db: &DatabaseConnection,
    actor: &Actor,
    rules: &Rules,
) -> AppResult<BatchSummary> {
    if !actor.is_admin() {
        return Err(AppError::Forbidden(
            "only admins start a matching run".into(),
        ));
    }
    let txn = crate::db::exclusive_txn(db, crate::db::locks::MATCHING).await?;
    let open = purchase_request::Entity::find()
        .filter(purchase_request::Column::Status.eq(RequestStatus::Open.code()))
        .all(&txn)
        .await?;
    let mut demands = Vec::new();
    for r in &open {
        if let Some(d) = market::demand_of(&txn, r).await? {
            demands.push((r, d));
        }
    }
    let supplies = market::supplies(&txn, None).await?;
    let listings = supplies.len();
    let categories = market::categories(&txn).await?;
    let m = Market::new(supplies, categories);
    let plan = engine::batch(
        &m,
        &demands.iter().map(|(_, d)| d.clone()).collect::<Vec<_>>(),
        &rules.params,
    );
    // What stock leaves of each request, from a coming season.
    let seasonal = market::seasonal_supplies(&txn, None).await?;
    let now = Utc::now();
    let mut contracts = Vec::new();
    for (r, d) in &demands {
        let season = (&m.categories, &seasonal[..]);
        let offer = contract_offer(&txn, r, d, &plan.allocations, season, rules, now).await?;
        contracts.extend(offer);
    }
    let made = propose(&txn, offers(&plan.allocations, contracts), rules.ttl, now).await?;
    let summary = BatchSummary {
        requests: demands.len(),
        listings,
        proposals: made.len(),
    };
    // Who ran it and what it found, in the audit trail.
    crate::audit::record(
        &txn,
        Some(actor.id()),
        "matching.run",
        "matching_run",
        0,
        serde_json::to_value(&summary).map_err(anyhow::Error::from)?,
    )
    .await?;
    txn.commit().await?;
    Ok(summary)
}

/// Moves a proposal out of `pending` (compare-and-set on the status); `None` when it was
/// no longer pending.
async fn end_pending(
    db: &impl ConnectionTrait,
    id: i64,
    status: ProposalStatus,
    by: Option<Side>,
    reason: &str,
) -> AppResult<Option<proposal::Model>> {
    let done = proposal::Entity::update_many()
        .col_expr(proposal::Column::Status, Expr::value(status.code()))
        .col_expr(
            proposal::Column::ClosedBy,
            Expr::value(by.map(|s| s.code())),
        )
        .col_expr(proposal::Column::Reason, Expr::value(reason))
        .col_expr(
            proposal::Column::Version,
            Expr::col(proposal::Column::Version).add(1),
        )
        .col_expr(proposal::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(proposal::Column::Id.eq(id))
        .filter(proposal::Column::Status.eq(ProposalStatus::Pending.code()))
        .exec(db)
        .await?;
    if done.rows_affected != 1 {
        return Ok(None);
    }
    Ok(proposal::Entity::find_by_id(id).one(db).await?)
}

/// Closes a pending proposal (declined, expired or withdrawn) and matches its request's
/// remainder again. Fails with 409 if it is no longer pending.
async fn close(
    db: &impl ConnectionTrait,
    p: &proposal::Model,
    status: ProposalStatus,
    by: Option<Side>,
    reason: &str,
    rules: &Rules,
) -> AppResult<proposal::Model> {
    let closed = end_pending(db, p.id, status, by, reason)
        .await?
        .ok_or_else(|| {
            AppError::Conflict(
                "proposal_closed",
                "this proposal is no longer waiting for an answer".into(),
            )
        })?;
    let buyer = purchase_request::Entity::find_by_id(p.request_id)
        .one(db)
        .await?
        .map_or(0, |r| r.buyer_id);
    let news = match status {
        ProposalStatus::Declined => ProposalNews::Declined,
        ProposalStatus::Expired => ProposalNews::Expired,
        ProposalStatus::Withdrawn => ProposalNews::Withdrawn,
        ProposalStatus::Ordered => ProposalNews::Ordered,
        ProposalStatus::Contracted => ProposalNews::Contracted,
        ProposalStatus::Pending => {
            return Err(anyhow::anyhow!("a proposal cannot be closed as pending").into());
        }
    };
    proposal_event(db, news, &closed, buyer).await?;
    match_request(db, p.request_id, rules).await?;
    Ok(closed)
}

/// Declines a pending proposal; the request's remainder is matched again without it.
pub async fn decline(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i64,
    reason: &str,
    rules: &Rules,
) -> AppResult<proposal::Model> {
    let txn = crate::db::write_txn(db).await?;
    let (p, _, side) = find_for(&txn, actor, id).await?;
    let closed = close(
        &txn,
        &p,
        ProposalStatus::Declined,
        Some(side),
        reason,
        rules,
    )
    .await?;
    txn.commit().await?;
    Ok(closed)
}

/// A proposal `actor` may see, with its request and the side they take.
pub async fn find_for(
    db: &impl ConnectionTrait,
    actor: &Actor,
    id: i64,
) -> AppResult<(proposal::Model, purchase_request::Model, Side)> {
    let p = proposal::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("proposal"))?;
    let r = purchase_request::Entity::find_by_id(p.request_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("proposal"))?;
    let side = side_of(actor, &r, &p).ok_or(AppError::NotFound("proposal"))?;
    Ok((p, r, side))
}

/// What accepting did.
pub enum Accepted {
    /// Waiting for the other side.
    Waiting(proposal::Model),
    /// Both sides accepted: the order is placed.
    Ordered(proposal::Model),
}

/// Accepts a pending proposal for `actor`'s side. When both sides have accepted, the
/// proposal becomes an order through checkout (stock reserved in the same transaction).
/// Accepting again changes nothing.
pub async fn accept(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i64,
    rules: &Rules,
) -> AppResult<Accepted> {
    crate::db::retrying(|| accept_once(db, actor, id, rules)).await
}

/// One try of [`accept`].
async fn accept_once(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i64,
    rules: &Rules,
) -> AppResult<Accepted> {
    let txn = crate::db::write_txn(db).await?;
    let (p, r, side) = find_for(&txn, actor, id).await?;
    if side == Side::Admin {
        return Err(AppError::Forbidden(
            "a proposal is accepted by its buyer and its producer".into(),
        ));
    }
    match p.status {
        ProposalStatus::Pending => {}
        ProposalStatus::Ordered | ProposalStatus::Contracted => return Ok(Accepted::Ordered(p)),
        _ => {
            return Err(AppError::Conflict(
                "proposal_closed",
                format!("this proposal is {}", p.status),
            ));
        }
    }
    let now = Utc::now();
    if p.expires_at <= now {
        close(&txn, &p, ProposalStatus::Expired, None, "expired", rules).await?;
        txn.commit().await?;
        return Err(AppError::Conflict(
            "proposal_expired",
            "this proposal lapsed before both sides accepted; the request is matched again".into(),
        ));
    }
    let already = match side {
        Side::Buyer => p.buyer_accepted_at.is_some(),
        _ => p.producer_accepted_at.is_some(),
    };
    let column = match side {
        Side::Buyer => proposal::Column::BuyerAcceptedAt,
        _ => proposal::Column::ProducerAcceptedAt,
    };
    if !already {
        let done = proposal::Entity::update_many()
            .col_expr(column, Expr::value(now))
            .col_expr(
                proposal::Column::Version,
                Expr::col(proposal::Column::Version).add(1),
            )
            .col_expr(proposal::Column::UpdatedAt, Expr::value(now))
            .filter(proposal::Column::Id.eq(p.id))
            .filter(proposal::Column::Version.eq(p.version))
            .exec(&txn)
            .await?;
        if done.rows_affected != 1 {
            return Err(AppError::Conflict(
                "proposal_changed",
                "the proposal changed meanwhile; fetch it and try again".into(),
            ));
        }
    }
    let p = proposal::Entity::find_by_id(p.id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound("proposal"))?;
    if !already {
        proposal_event(&txn, ProposalNews::Accepted, &p, r.buyer_id).await?;
    }
    if p.buyer_accepted_at.is_none() || p.producer_accepted_at.is_none() {
        txn.commit().await?;
        return Ok(Accepted::Waiting(p));
    }

    match p.kind {
        ProposalKind::Order => order_agreed(db, txn, p, r, rules, now).await,
        ProposalKind::Contract => contract_agreed(txn, p, r, rules, now).await,
    }
}

/// Withdraws `p` (its request matched again) because its listing changed or can no longer
/// serve it, and answers 409 with `code`.
async fn withdrawn(
    txn: sea_orm::DatabaseTransaction,
    p: &proposal::Model,
    reason: &str,
    rules: &Rules,
    code: &'static str,
    message: &str,
) -> AppResult<Accepted> {
    close(&txn, p, ProposalStatus::Withdrawn, None, reason, rules).await?;
    txn.commit().await?;
    Err(AppError::Conflict(code, message.into()))
}

const STALE: &str =
    "the listing's price or unit changed since the proposal; the request is matched again";

/// Both sides agreed to a season contract: it is signed at the proposed price for the
/// proposed quantity over the proposed window (from today if the window has begun), and the
/// request is filled by it. Withdrawn when the listing changed its terms or left sale.
async fn contract_agreed(
    txn: sea_orm::DatabaseTransaction,
    p: proposal::Model,
    r: purchase_request::Model,
    rules: &Rules,
    now: chrono::DateTime<Utc>,
) -> AppResult<Accepted> {
    let l = listing::Entity::find_by_id(p.listing_id).one(&txn).await?;
    let today = crate::days::local_date(now);
    let window = match (p.window_start, p.window_end) {
        (Some(start), Some(end)) if end >= today => (Ord::max(start, today), end),
        _ => {
            return withdrawn(
                txn,
                &p,
                "season_passed",
                rules,
                "proposal_unavailable",
                "the contract's delivery window has passed; the request is matched again",
            )
            .await;
        }
    };
    let Some(l) = l.filter(|l| l.status == ListingStatus::Active) else {
        return withdrawn(
            txn,
            &p,
            "unavailable",
            rules,
            "proposal_unavailable",
            "the listing is no longer on sale; the request is matched again",
        )
        .await;
    };
    if l.price_fen != p.unit_price_fen || l.unit != p.listing_unit {
        return withdrawn(txn, &p, "listing_changed", rules, "proposal_stale", STALE).await;
    }
    let c = crate::contracts::signed_from_match(
        &txn,
        crate::contracts::Agreement {
            buyer_id: r.buyer_id,
            listing: &l,
            quantity: Quantity::from_milli(p.listing_quantity_milli),
            window,
            pricing: crate::contracts::Pricing::Fixed,
            price_fen: p.unit_price_fen,
            deposit_fen: 0,
            recipient_name: &r.contact_name,
            phone: &r.contact_phone,
            region_code: &r.region_code,
            line: &r.address_line,
            note: &format!("采购需求 #{} · purchase request #{}", r.id, r.id),
        },
        now,
    )
    .await?;
    let p = mark_done(&txn, p, r, Done::Contract(c.id), now).await?;
    txn.commit().await?;
    Ok(Accepted::Ordered(p))
}

/// Both sides agreed: the proposal becomes an order at the proposed price, or is withdrawn
/// (and the request matched again) when the listing changed or no longer has the quantity.
async fn order_agreed(
    db: &DatabaseConnection,
    txn: sea_orm::DatabaseTransaction,
    p: proposal::Model,
    r: purchase_request::Model,
    rules: &Rules,
    now: chrono::DateTime<Utc>,
) -> AppResult<Accepted> {
    let l = listing::Entity::find_by_id(p.listing_id).one(&txn).await?;
    let same_terms = l
        .as_ref()
        .is_some_and(|l| l.price_fen == p.unit_price_fen && l.unit == p.listing_unit);
    if !same_terms {
        return withdrawn(txn, &p, "listing_changed", rules, "proposal_stale", STALE).await;
    }
    let buyer = crate::accounts::entity::user::Entity::find_by_id(r.buyer_id)
        .one(&txn)
        .await?
        .ok_or_else(|| anyhow::anyhow!("the buyer of request {} is gone", r.id))?;
    let placed = checkout::place_for(
        &txn,
        &buyer,
        Checkout {
            address: Address {
                recipient_name: r.contact_name.clone(),
                phone: r.contact_phone.clone(),
                region_code: r.region_code.clone(),
                line: r.address_line.clone(),
            },
            note: format!("采购需求 #{} · purchase request #{}", r.id, r.id),
            lines: vec![LineInput {
                listing_id: p.listing_id,
                quantity: Quantity::from_milli(p.listing_quantity_milli),
                unit: Some(p.listing_unit),
                agreed_price_fen: None,
            }],
            // A request is the buyer's own: it counts for their unit as their purchases do.
            unit: crate::buyers::units::attribution(&txn, buyer.id, None).await?,
            campaigns: crate::buyers::campaigns::running_for(
                &txn,
                &[p.listing_id],
                crate::days::local_date(chrono::Utc::now()),
            )
            .await?,
            // The seller's cheapest method that can carry it.
            delivery: Vec::new(),
            contract_id: None,
        },
    )
    .await;
    let order = match placed {
        Ok(mut orders) if orders.len() == 1 => orders.remove(0).order,
        Ok(_) => return Err(anyhow::anyhow!("a proposal placed other than one order").into()),
        Err(e @ (AppError::InsufficientStock(_) | AppError::Validation(_))) => {
            // Nothing of the attempt stays; the proposal is withdrawn in a fresh transaction.
            drop(txn);
            let txn = crate::db::write_txn(db).await?;
            close(
                &txn,
                &p,
                ProposalStatus::Withdrawn,
                None,
                "unavailable",
                rules,
            )
            .await?;
            txn.commit().await?;
            tracing::info!(proposal = p.id, error = %e, "proposal could not become an order");
            return Err(AppError::Conflict(
                "proposal_unavailable",
                "the listing no longer has this quantity on sale; the request is matched again"
                    .into(),
            ));
        }
        Err(e) => return Err(e),
    };
    let p = mark_done(&txn, p, r, Done::Order(order.id), now).await?;
    txn.commit().await?;
    Ok(Accepted::Ordered(p))
}

/// What a proposal both sides accepted became.
enum Done {
    Order(i64),
    Contract(i64),
}

/// Marks the proposal ordered (or contracted) and fills its request by its quantity (closing
/// it when full).
async fn mark_done(
    db: &impl ConnectionTrait,
    p: proposal::Model,
    r: purchase_request::Model,
    done: Done,
    now: chrono::DateTime<Utc>,
) -> AppResult<proposal::Model> {
    let (status, column, id, news) = match done {
        Done::Order(id) => (
            ProposalStatus::Ordered,
            proposal::Column::OrderId,
            id,
            ProposalNews::Ordered,
        ),
        Done::Contract(id) => (
            ProposalStatus::Contracted,
            proposal::Column::ContractId,
            id,
            ProposalNews::Contracted,
        ),
    };
    proposal::Entity::update_many()
        .col_expr(proposal::Column::Status, Expr::value(status.code()))
        .col_expr(column, Expr::value(id))
        .col_expr(
            proposal::Column::Version,
            Expr::col(proposal::Column::Version).add(1),
        )
        .col_expr(proposal::Column::UpdatedAt, Expr::value(now))
        .filter(proposal::Column::Id.eq(p.id))
        .exec(db)
        .await?;
    let filled = r.filled_milli + p.quantity_milli;
    let mut req: purchase_request::ActiveModel = r.clone().into();
    req.filled_milli = Set(filled);
    req.version = Set(r.version + 1);
    req.updated_at = Set(now);
    if filled >= r.quantity_milli {
        req.status = Set(RequestStatus::Closed);
        req.closed_reason = Set(Some(ClosedReason::Fulfilled));
    }
    let req = req.update(db).await?;
    let p = proposal::Entity::find_by_id(p.id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("proposal"))?;
    proposal_event(db, news, &p, r.buyer_id).await?;
    if req.status != RequestStatus::Open {
        request_event(db, RequestNews::Fulfilled, &req).await?;
    }
    Ok(p)
}

/// Withdraws every pending proposal of a request (it changed or closed).
pub async fn withdraw_pending(
    db: &impl ConnectionTrait,
    r: &purchase_request::Model,
    reason: &str,
) -> AppResult<()> {
    let pending = r
        .find_related(proposal::Entity)
        .filter(proposal::Column::Status.eq(ProposalStatus::Pending.code()))
        .all(db)
        .await?;
    for p in pending {
        if let Some(closed) = end_pending(db, p.id, ProposalStatus::Withdrawn, None, reason).await?
        {
            proposal_event(db, ProposalNews::Withdrawn, &closed, r.buyer_id).await?;
        }
    }
    Ok(())
}

/// Lapses proposals past their expiry and requests past their delivery date, matching the
/// remainders again. Returns how many proposals lapsed.
pub async fn sweep(db: &DatabaseConnection, now: DateTime<Utc>, rules: &Rules) -> AppResult<usize> {
    let due = proposal::Entity::find()
        .filter(proposal::Column::Status.eq(ProposalStatus::Pending.code()))
        .filter(proposal::Column::ExpiresAt.lte(now))
        .order_by_asc(proposal::Column::Id)
        .limit(200)
        .all(db)
        .await?;
    let mut lapsed = 0;
    for p in due {
        let txn = crate::db::write_txn(db).await?;
        match close(&txn, &p, ProposalStatus::Expired, None, "expired", rules).await {
            Ok(_) => {
                txn.commit().await?;
                lapsed += 1;
            }
            Err(AppError::Conflict(..)) => {}
            Err(e) => return Err(e),
        }
    }
    let today = now.date_naive();
    let overdue = purchase_request::Entity::find()
        .filter(purchase_request::Column::Status.eq(RequestStatus::Open.code()))
        .filter(purchase_request::Column::DeliverBy.lt(today))
        .limit(200)
        .all(db)
        .await?;
    for r in overdue {
        let txn = crate::db::write_txn(db).await?;
        withdraw_pending(&txn, &r, "request_expired").await?;
        let mut m: purchase_request::ActiveModel = r.clone().into();
        m.status = Set(RequestStatus::Expired);
        m.version = Set(r.version + 1);
        m.updated_at = Set(now);
        let r = m.update(&txn).await?;
        request_event(&txn, RequestNews::Expired, &r).await?;
        txn.commit().await?;
    }
    Ok(lapsed)
}
