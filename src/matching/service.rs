//! Proposals: made from the engine's allocations, accepted by both sides into an order
//! through checkout, declined, lapsed or withdrawn, with the remainder matched again.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, ModelTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde::Serialize;
use utoipa::ToSchema;

use super::domain::{ClosedReason, ProposalStatus, RequestStatus};
use super::engine::{self, Allocation, Market, Params};
use super::entity::{proposal, purchase_request};
use super::market;
use crate::accounts::{Actor, Role};
use crate::catalog::domain::Quantity;
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

/// Stores the engine's allocations as pending proposals.
async fn propose(
    db: &impl ConnectionTrait,
    allocations: &[Allocation],
    ttl: Duration,
    now: DateTime<Utc>,
) -> AppResult<Vec<proposal::Model>> {
    let mut out = Vec::new();
    // Allocations come sorted by request: each request is read once.
    let mut buyers: HashMap<i64, i64> = HashMap::new();
    for a in allocations {
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
    let m = Market::new(supplies, categories);
    let allocations = engine::incremental(&m, &demand, &rules.params);
    propose(db, &allocations, rules.ttl, Utc::now()).await
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
            demands.push(d);
        }
    }
    let supplies = market::supplies(&txn, None).await?;
    let listings = supplies.len();
    let m = Market::new(supplies, market::categories(&txn).await?);
    let plan = engine::batch(&m, &demands, &rules.params);
    let made = propose(&txn, &plan.allocations, rules.ttl, Utc::now()).await?;
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
        ProposalStatus::Ordered => return Ok(Accepted::Ordered(p)),
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

    order_agreed(db, txn, p, r, rules, now).await
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
        close(
            &txn,
            &p,
            ProposalStatus::Withdrawn,
            None,
            "listing_changed",
            rules,
        )
        .await?;
        txn.commit().await?;
        return Err(AppError::Conflict(
            "proposal_stale",
            "the listing's price or unit changed since the proposal; the request is matched again"
                .into(),
        ));
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
    let p = mark_ordered(&txn, p, r, order.id, now).await?;
    txn.commit().await?;
    Ok(Accepted::Ordered(p))
}

/// Marks the proposal ordered and fills its request by its quantity (closing it when full).
async fn mark_ordered(
    db: &impl ConnectionTrait,
    p: proposal::Model,
    r: purchase_request::Model,
    order_id: i64,
    now: chrono::DateTime<Utc>,
) -> AppResult<proposal::Model> {
    proposal::Entity::update_many()
        .col_expr(
            proposal::Column::Status,
            Expr::value(ProposalStatus::Ordered.code()),
        )
        .col_expr(proposal::Column::OrderId, Expr::value(order_id))
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
    proposal_event(db, ProposalNews::Ordered, &p, r.buyer_id).await?;
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
