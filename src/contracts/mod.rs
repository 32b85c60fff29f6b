//! Season contracts (订单农业): before harvest, a buyer proposes to take a quantity of a
//! cooperative's product, of a grade, within a delivery window, at a fixed price or at a floor
//! under the market price, with a deposit; the cooperative signs or declines. Within the window
//! each delivery is an ordinary order at the contract's price that names its contract, so it
//! counts in the statistics like any sale and can be shipped part, delivered short or refunded.
//! Both sides follow what has been delivered; officials see the contracted volume and the
//! households contracts cover ([`coverage`]).

pub mod coverage;
pub mod entity;

use std::collections::BTreeMap;

use chrono::{DateTime, Days, NaiveDate, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::accounts::entity::user;
use crate::accounts::{Actor, Role};
use crate::catalog::domain::{ListingStatus, MAX_PRICE_FEN, Quantity, QuantityInput, Unit};
use crate::catalog::entity::listing;
use crate::error::{AppError, AppResult, FieldError, Validator};
use crate::orders::checkout::{self, Address, Checkout, LineInput, Offers};
use crate::orders::domain::{OrderStatus, line_amount};
use crate::orders::entity::{order, order_line};
use crate::orders::request::{self, AddressRequest};
use crate::outbox::events::{ContractChange, ContractNews, NotifyEvent};

vocabulary! {
    /// How a season contract prices its deliveries.
    Pricing {
        Fixed => "fixed", "固定价", "fixed price";
        Floor => "floor", "保底价随行就市", "market price with a floor";
    }
}

vocabulary! {
    /// Where a season contract stands.
    ContractStatus {
        Proposed => "proposed", "待签约", "proposed";
        Signed => "signed", "已签约", "signed";
        Declined => "declined", "已拒绝", "declined";
        Cancelled => "cancelled", "已撤销", "withdrawn";
    }
}

/// The unit price a delivery is made at: the contract's fixed price, or the market price (the
/// listing's then) but never below the floor.
pub fn unit_price(pricing: Pricing, price_fen: i64, market_fen: i64) -> i64 {
    match pricing {
        Pricing::Fixed => price_fen,
        Pricing::Floor => Ord::max(price_fen, market_fen),
    }
}

/// A season contract as a buyer proposes it.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContractRequest {
    pub listing_id: i64,
    /// The quantity contracted, in the listing's unit: an exact decimal.
    #[schema(value_type = String, example = "20000")]
    pub quantity: Option<QuantityInput>,
    /// The delivery window, `2027-09-01` to `2027-11-30`: from today, within two years.
    pub window_start: String,
    pub window_end: String,
    /// `fixed`, or `floor` (the market price at delivery, never below `price_fen`).
    pub pricing: String,
    pub price_fen: i64,
    /// The deposit the buyer pays on signing, at most the contract's value at `price_fen`.
    #[serde(default)]
    pub deposit_fen: i64,
    /// Where the deliveries go.
    pub address: AddressRequest,
    pub note: Option<String>,
}

/// A deposit the seller records receiving.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DepositRequest {
    pub amount_fen: i64,
    /// `2026-12-07`: not in the future.
    pub paid_on: String,
}

/// A delivery called against a signed contract.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeliveryRequest {
    #[schema(value_type = String, example = "5000")]
    pub quantity: Option<QuantityInput>,
}

/// One delivery: the order placed for it, as it now stands.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeliveryView {
    pub order_id: i64,
    pub status: OrderStatus,
    pub placed_at: DateTime<Utc>,
    pub unit_price_fen: i64,
    #[schema(value_type = String)]
    pub quantity: Quantity,
    /// What arrived, once delivered.
    #[schema(value_type = Option<String>)]
    pub received: Option<Quantity>,
    /// The goods the buyer pays for, after any short-delivery refund.
    pub goods_fen: i64,
    pub refund_fen: i64,
}

/// A season contract with its deliveries and how far they go.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ContractView {
    pub id: i64,
    pub buyer_id: i64,
    pub buyer_name: String,
    pub organization_id: i64,
    pub seller_name: String,
    pub listing_id: i64,
    pub category_id: i64,
    pub title: String,
    pub unit: Unit,
    pub grade: crate::catalog::domain::Grade,
    pub region_code: String,
    #[schema(value_type = String)]
    pub quantity: Quantity,
    pub window_start: NaiveDate,
    pub window_end: NaiveDate,
    pub pricing: Pricing,
    pub price_fen: i64,
    /// The contract's value at `price_fen` (a floor contract's least value).
    pub value_fen: i64,
    pub deposit_fen: i64,
    pub deposit_paid_fen: i64,
    pub deposit_paid_on: Option<NaiveDate>,
    pub status: ContractStatus,
    pub recipient_name: String,
    pub phone: String,
    pub address_region_code: String,
    pub line: String,
    pub note: String,
    pub created_at: DateTime<Utc>,
    pub signed_at: Option<DateTime<Utc>>,
    /// What the deliveries that stand carry (ordered, less what did not arrive).
    #[schema(value_type = String)]
    pub delivered: Quantity,
    #[schema(value_type = String)]
    pub remaining: Quantity,
    /// What the buyer pays for the deliveries that stand.
    pub delivered_fen: i64,
    pub deliveries: Vec<DeliveryView>,
}

/// Proposes a season contract as `actor` (a buyer). Audited.
pub async fn propose(
    db: &impl ConnectionTrait,
    actor: &Actor,
    req: &ContractRequest,
    now: DateTime<Utc>,
) -> AppResult<ContractView> {
    crate::orders::cart::require_buyer(actor)?;
    let today = crate::days::local_date(now);
    let mut v = Validator::default();
    let l = listing::Entity::find_by_id(req.listing_id)
        .one(db)
        .await?
        .filter(|l| l.status == ListingStatus::Active);
    if l.is_none() {
        v.add("listing_id", "unknown", "not a listing on sale");
    }
    let quantity = match &req.quantity {
        Some(q) => request::positive_quantity("quantity", q, &mut v),
        None => {
            v.add("quantity", "required", "how much the contract is for");
            None
        }
    };
    let (start, end) = window(&mut v, req, today);
    let pricing = Pricing::from_code(&req.pricing);
    if pricing.is_none() {
        v.add("pricing", "unknown_value", "must be one of: fixed, floor");
    }
    if !(1..=MAX_PRICE_FEN).contains(&req.price_fen) {
        v.add(
            "price_fen",
            "out_of_range",
            format!("between 1 and {MAX_PRICE_FEN}"),
        );
    }
    let value = quantity.and_then(|q| line_amount(req.price_fen, q));
    if req.deposit_fen < 0 || value.is_some_and(|value| req.deposit_fen > value) {
        v.add(
            "deposit_fen",
            "out_of_range",
            "from 0 to the contract's value at its price",
        );
    }
    v.finish()?;
    let (Some(l), Some(quantity), Some(start), Some(end), Some(pricing)) =
        (l, quantity, start, end, pricing)
    else {
        return Err(AppError::NotFound("listing"));
    };
    let dry = request::one_line(req.address.clone(), req.note.clone(), &l, quantity, None);
    request::dry_run(db, actor, dry, now).await?;
    let a = &req.address;
    let saved = insert(
        db,
        Agreement {
            buyer_id: actor.id(),
            listing: &l,
            quantity,
            window: (start, end),
            pricing,
            price_fen: req.price_fen,
            deposit_fen: req.deposit_fen,
            recipient_name: a.recipient_name.trim(),
            phone: a.phone.trim(),
            region_code: &a.region_code,
            line: a.line.trim(),
            note: req.note.as_deref().unwrap_or_default(),
        },
        ContractStatus::Proposed,
        now,
    )
    .await?;
    audit(db, actor.id(), "contract.propose", &saved).await?;
    tell(db, ContractNews::Proposed, &saved).await?;
    view(db, saved).await
}

/// What a contract's two sides agree on.
pub struct Agreement<'a> {
    pub buyer_id: i64,
    pub listing: &'a listing::Model,
    /// In the listing's unit.
    pub quantity: Quantity,
    pub window: (NaiveDate, NaiveDate),
    pub pricing: Pricing,
    pub price_fen: i64,
    pub deposit_fen: i64,
    pub recipient_name: &'a str,
    pub phone: &'a str,
    pub region_code: &'a str,
    pub line: &'a str,
    pub note: &'a str,
}

/// Stores a contract as agreed, keeping the listing's product as it is now.
async fn insert(
    db: &impl ConnectionTrait,
    a: Agreement<'_>,
    status: ContractStatus,
    now: DateTime<Utc>,
) -> AppResult<entity::Model> {
    let l = a.listing;
    Ok(entity::ActiveModel {
        buyer_id: Set(a.buyer_id),
        organization_id: Set(l.organization_id),
        listing_id: Set(l.id),
        category_id: Set(l.category_id),
        title: Set(l.title.clone()),
        unit: Set(l.unit),
        grade: Set(l.grade),
        region_code: Set(l.origin_region_code.clone()),
        quantity_milli: Set(a.quantity.milli()),
        window_start: Set(a.window.0),
        window_end: Set(a.window.1),
        pricing: Set(a.pricing),
        price_fen: Set(a.price_fen),
        deposit_fen: Set(a.deposit_fen),
        deposit_paid_fen: Set(0),
        deposit_paid_on: Set(None),
        recipient_name: Set(a.recipient_name.to_string()),
        phone: Set(a.phone.to_string()),
        address_region_code: Set(a.region_code.to_string()),
        line: Set(a.line.to_string()),
        note: Set(a.note.to_string()),
        status: Set(status),
        version: Set(0),
        created_at: Set(now),
        signed_at: Set((status == ContractStatus::Signed).then_some(now)),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?)
}

/// A contract both sides agreed to through matching (a purchase request dated in the listing's
/// coming season, and a proposal both accepted): signed as it is stored. Audited as the
/// buyer's, the side whose request it answers; both sides are told.
pub async fn signed_from_match(
    db: &impl ConnectionTrait,
    agreement: Agreement<'_>,
    now: DateTime<Utc>,
) -> AppResult<entity::Model> {
    let buyer = agreement.buyer_id;
    let saved = insert(db, agreement, ContractStatus::Signed, now).await?;
    audit(db, buyer, "contract.match", &saved).await?;
    tell(db, ContractNews::Signed, &saved).await?;
    Ok(saved)
}

/// The delivery window: from today, ending no earlier than it starts and within two years.
fn window(
    v: &mut Validator,
    req: &ContractRequest,
    today: NaiveDate,
) -> (Option<NaiveDate>, Option<NaiveDate>) {
    let start = day_field(v, "window_start", &req.window_start);
    let end = day_field(v, "window_end", &req.window_end);
    if let Some(s) = start
        && s < today
    {
        v.add("window_start", "in_past", "today or later");
    }
    if let (Some(s), Some(e)) = (start, end) {
        if e < s {
            v.add(
                "window_end",
                "before_start",
                "not before the window's start",
            );
        } else if e > today + Days::new(731) {
            v.add("window_end", "too_far", "within two years");
        }
    }
    (start, end)
}

fn day_field(v: &mut Validator, field: &str, raw: &str) -> Option<NaiveDate> {
    match NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d") {
        Ok(d) => Some(d),
        Err(_) => {
            v.add(field, "invalid_date", "a date such as 2027-09-01");
            None
        }
    }
}

async fn audit(
    db: &impl ConnectionTrait,
    actor_id: i64,
    action: &str,
    c: &entity::Model,
) -> AppResult<()> {
    crate::audit::record(
        db,
        Some(actor_id),
        action,
        "contract",
        c.id,
        serde_json::json!({
            "listing_id": c.listing_id, "quantity": Quantity::from_milli(c.quantity_milli).to_string(),
            "pricing": c.pricing.code(), "price_fen": c.price_fen, "status": c.status.code(),
            "deposit_paid_fen": c.deposit_paid_fen,
        }),
    )
    .await?;
    Ok(())
}

/// Writes the notice of a contract's step for the other side.
async fn tell(db: &impl ConnectionTrait, news: ContractNews, c: &entity::Model) -> AppResult<()> {
    let change = ContractChange {
        contract_id: c.id,
        buyer_id: c.buyer_id,
        organization_id: c.organization_id,
        listing_id: c.listing_id,
        status: c.status.code().into(),
    };
    crate::outbox::enqueue(db, &NotifyEvent::Contract(news, change)).await?;
    Ok(())
}

/// Contract `id` as `actor` may see it: its buyer, the seller's staff, admins, and the
/// officials over the seller's region; 404 for anyone else.
pub async fn find_for(
    db: &impl ConnectionTrait,
    actor: &Actor,
    id: i64,
) -> AppResult<entity::Model> {
    entity::Entity::find_by_id(id)
        .one(db)
        .await?
        .filter(|c| {
            actor.sees_trade(c.buyer_id, c.organization_id) || actor.official_covers(&c.region_code)
        })
        .ok_or(AppError::NotFound("contract"))
}

/// Which side `actor` is on in contract `c`: 403 unless it is `side`.
fn must_be(actor: &Actor, c: &entity::Model, seller: bool) -> AppResult<()> {
    let ok = if seller {
        actor.organization_id() == Some(c.organization_id) && actor.role == Role::Producer
    } else {
        c.buyer_id == actor.id()
    };
    if ok {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            if seller {
                "only the seller's staff do this"
            } else {
                "only the contract's buyer does this"
            }
            .into(),
        ))
    }
}

/// Who may take step `to` on contract `id`, settled before a request's body is read.
pub async fn may_act(
    db: &impl ConnectionTrait,
    actor: &Actor,
    id: i64,
    seller: bool,
) -> AppResult<()> {
    let c = find_for(db, actor, id).await?;
    must_be(actor, &c, seller)
}

/// The seller signs or declines a proposed contract; the buyer withdraws one not yet signed.
/// Audited; 409 `invalid_transition` from any other status.
pub async fn decide(
    db: &impl ConnectionTrait,
    actor: &Actor,
    id: i64,
    to: ContractStatus,
    now: DateTime<Utc>,
) -> AppResult<ContractView> {
    let c = find_for(db, actor, id).await?;
    must_be(actor, &c, to != ContractStatus::Cancelled)?;
    if c.status != ContractStatus::Proposed || to == ContractStatus::Proposed {
        return Err(AppError::Conflict(
            "invalid_transition",
            format!(
                "a contract that is {} cannot become {}",
                c.status.code(),
                to.code()
            ),
        ));
    }
    let mut update = guarded(&c)
        .col_expr(entity::Column::Status, Expr::value(to.code()))
        .col_expr(entity::Column::UpdatedAt, Expr::value(now));
    if to == ContractStatus::Signed {
        update = update.col_expr(entity::Column::SignedAt, Expr::value(now));
    }
    changed(update.exec(db).await?)?;
    let saved = reread(db, c.id).await?;
    let (action, news) = match to {
        ContractStatus::Signed => ("contract.sign", ContractNews::Signed),
        ContractStatus::Declined => ("contract.decline", ContractNews::Declined),
        _ => ("contract.cancel", ContractNews::Cancelled),
    };
    audit(db, actor.id(), action, &saved).await?;
    tell(db, news, &saved).await?;
    view(db, saved).await
}

/// An update of `c` that applies only while it is as read, moving its version on.
fn guarded(c: &entity::Model) -> sea_orm::UpdateMany<entity::Entity> {
    entity::Entity::update_many()
        .col_expr(
            entity::Column::Version,
            Expr::col(entity::Column::Version).add(1),
        )
        .filter(entity::Column::Id.eq(c.id))
        .filter(entity::Column::Version.eq(c.version))
}

fn changed(r: sea_orm::UpdateResult) -> AppResult<()> {
    if r.rows_affected == 1 {
        Ok(())
    } else {
        Err(AppError::Conflict(
            "version_conflict",
            "the contract changed meanwhile; read it again".into(),
        ))
    }
}

async fn reread(db: &impl ConnectionTrait, id: i64) -> AppResult<entity::Model> {
    entity::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("contract"))
}

fn not_signed(c: &entity::Model) -> AppError {
    AppError::Conflict(
        "not_signed",
        format!("the contract is {}, not signed", c.status.code()),
    )
}

/// The seller records the deposit received: up to the deposit agreed, paid on a day from the
/// contract's proposal to today. Audited.
pub async fn record_deposit(
    db: &impl ConnectionTrait,
    actor: &Actor,
    id: i64,
    req: &DepositRequest,
    now: DateTime<Utc>,
) -> AppResult<ContractView> {
    let c = find_for(db, actor, id).await?;
    must_be(actor, &c, true)?;
    if c.status != ContractStatus::Signed {
        return Err(not_signed(&c));
    }
    let mut v = Validator::default();
    if !(1..=c.deposit_fen).contains(&req.amount_fen) {
        v.add(
            "amount_fen",
            "out_of_range",
            format!("from 1 to the deposit agreed, {} fen", c.deposit_fen),
        );
    }
    let paid_on = day_field(&mut v, "paid_on", &req.paid_on);
    if let Some(d) = paid_on {
        if d > crate::days::local_date(now) {
            v.add("paid_on", "in_future", "not after today");
        } else if d < crate::days::local_date(c.created_at) {
            v.add("paid_on", "before_contract", "not before the contract");
        }
    }
    v.finish()?;
    let update = guarded(&c)
        .col_expr(entity::Column::DepositPaidFen, Expr::value(req.amount_fen))
        .col_expr(entity::Column::DepositPaidOn, Expr::value(paid_on))
        .col_expr(entity::Column::UpdatedAt, Expr::value(now));
    changed(update.exec(db).await?)?;
    let saved = reread(db, c.id).await?;
    audit(db, actor.id(), "contract.deposit", &saved).await?;
    view(db, saved).await
}

/// Calls a delivery of `req.quantity` against signed contract `id`, as its buyer or the
/// seller's staff, on a day within its window: an ordinary order in the buyer's name at the
/// contract's price (placed through the checkout, taking the listing's stock), up to what
/// remains. Returns the order's id.
pub async fn deliver(
    db: &impl ConnectionTrait,
    actor: &Actor,
    id: i64,
    req: &DeliveryRequest,
    now: DateTime<Utc>,
) -> AppResult<i64> {
    let c = find_for(db, actor, id).await?;
    if c.buyer_id != actor.id() {
        must_be(actor, &c, true)?;
    }
    if c.status != ContractStatus::Signed {
        return Err(not_signed(&c));
    }
    let today = crate::days::local_date(now);
    if today < c.window_start || today > c.window_end {
        return Err(AppError::Conflict(
            "outside_window",
            format!("deliveries run from {} to {}", c.window_start, c.window_end),
        ));
    }
    let mut v = Validator::default();
    let quantity = match &req.quantity {
        Some(q) => request::positive_quantity("quantity", q, &mut v),
        None => {
            v.add("quantity", "required", "how much to deliver");
            None
        }
    };
    v.finish()?;
    let quantity = quantity.unwrap_or_default();
    // Claimed first: of two deliveries called at once, one goes ahead on what remains and the
    // other is told the contract changed, so together they never exceed it.
    changed(
        guarded(&c)
            .col_expr(entity::Column::UpdatedAt, Expr::value(now))
            .exec(db)
            .await?,
    )?;
    let (delivered, _) = delivered(db, c.id).await?;
    let left = c.quantity_milli - delivered;
    if quantity.milli() > left {
        return Err(AppError::Validation(
            [(
                "quantity".to_string(),
                FieldError::new(
                    "exceeds_contract",
                    format!(
                        "{} {} remain",
                        Quantity::from_milli(Ord::max(left, 0)),
                        c.unit.name_zh()
                    ),
                ),
            )]
            .into(),
        ));
    }
    let l = listing::Entity::find_by_id(c.listing_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("listing"))?;
    let buyer = user::Entity::find_by_id(c.buyer_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("buyer"))?;
    let lines = vec![LineInput {
        listing_id: l.id,
        quantity,
        unit: Some(c.unit),
        agreed_price_fen: Some(unit_price(c.pricing, c.price_fen, l.price_fen)),
    }];
    let checkout = Checkout {
        address: Address {
            recipient_name: c.recipient_name.clone(),
            phone: c.phone.clone(),
            region_code: c.address_region_code.clone(),
            line: c.line.clone(),
        },
        note: format!("订单农业合同 #{} · season contract", c.id),
        lines,
        unit: crate::buyers::units::attribution(db, buyer.id, None).await?,
        campaigns: Default::default(),
        delivery: Vec::new(),
        contract_id: Some(c.id),
    };
    let offers = Offers::for_checkout(db, &checkout).await?;
    let placed = checkout::place_offered_at(db, &buyer, checkout, &offers, now).await?;
    let order = placed
        .first()
        .map(|p| p.order.id)
        .ok_or(AppError::NotFound("order"))?;
    crate::audit::record(
        db,
        Some(actor.id()),
        "contract.deliver",
        "contract",
        c.id,
        serde_json::json!({"order_id": order, "quantity": quantity.to_string()}),
    )
    .await?;
    Ok(order)
}

/// What contract `id`'s deliveries that stand carry: (quantity, goods in fen), net of what did
/// not arrive.
async fn delivered(db: &impl ConnectionTrait, id: i64) -> AppResult<(i64, i64)> {
    let deliveries = deliveries(db, &[id]).await?;
    let standing = deliveries
        .get(&id)
        .into_iter()
        .flatten()
        .filter(|d| d.status != OrderStatus::Cancelled);
    Ok(standing.fold((0, 0), |(q, fen), d| {
        (
            q + d.received.unwrap_or(d.quantity).milli(),
            fen + d.goods_fen,
        )
    }))
}

/// The deliveries of `contracts`, oldest first, by contract.
async fn deliveries(
    db: &impl ConnectionTrait,
    contracts: &[i64],
) -> AppResult<BTreeMap<i64, Vec<DeliveryView>>> {
    let orders = order::Entity::find()
        .filter(order::Column::ContractId.is_in(contracts.iter().copied()))
        .order_by_asc(order::Column::Id)
        .all(db)
        .await?;
    let lines: BTreeMap<i64, order_line::Model> = order_line::Entity::find()
        .filter(order_line::Column::OrderId.is_in(orders.iter().map(|o| o.id)))
        .all(db)
        .await?
        .into_iter()
        .map(|l| (l.order_id, l))
        .collect();
    let mut out: BTreeMap<i64, Vec<DeliveryView>> = BTreeMap::new();
    for o in orders {
        let Some(line) = lines.get(&o.id) else {
            continue;
        };
        out.entry(o.contract_id.unwrap_or_default())
            .or_default()
            .push(DeliveryView {
                order_id: o.id,
                status: o.status,
                placed_at: o.placed_at,
                unit_price_fen: line.unit_price_fen,
                quantity: Quantity::from_milli(line.quantity_milli),
                received: line.received_milli.map(Quantity::from_milli),
                goods_fen: o.goods_fen,
                refund_fen: o.refund_fen,
            });
    }
    Ok(out)
}

/// The contracts `actor` sees, newest first: a buyer's own, a producer's organization's, those
/// over an official's region, every one for admins.
pub async fn list(db: &impl ConnectionTrait, actor: &Actor) -> AppResult<Vec<ContractView>> {
    let mut q = entity::Entity::find().order_by_desc(entity::Column::Id);
    q = match (actor.role, actor.organization_id()) {
        // Officials' are picked by region below.
        (Role::Admin | Role::Official, _) => q,
        (Role::Producer, Some(org)) => q.filter(entity::Column::OrganizationId.eq(org)),
        _ => q.filter(entity::Column::BuyerId.eq(actor.id())),
    };
    let mut out = Vec::new();
    for c in q.limit(1000).all(db).await? {
        if actor.role == Role::Official && !actor.official_covers(&c.region_code) {
            continue;
        }
        out.push(view(db, c).await?);
        if out.len() == 200 {
            break;
        }
    }
    Ok(out)
}

/// A contract with its parties' names and its deliveries.
pub async fn view(db: &impl ConnectionTrait, c: entity::Model) -> AppResult<ContractView> {
    let buyer = user::Entity::find_by_id(c.buyer_id).one(db).await?;
    let seller = crate::catalog::entity::organization::Entity::find_by_id(c.organization_id)
        .one(db)
        .await?;
    let (delivered_milli, delivered_fen) = delivered(db, c.id).await?;
    let deliveries = deliveries(db, &[c.id])
        .await?
        .remove(&c.id)
        .unwrap_or_default();
    Ok(ContractView {
        id: c.id,
        buyer_id: c.buyer_id,
        buyer_name: buyer.map(|u| u.display_name).unwrap_or_default(),
        organization_id: c.organization_id,
        seller_name: seller.map(|o| o.name).unwrap_or_default(),
        listing_id: c.listing_id,
        category_id: c.category_id,
        title: c.title,
        unit: c.unit,
        grade: c.grade,
        region_code: c.region_code,
        quantity: Quantity::from_milli(c.quantity_milli),
        window_start: c.window_start,
        window_end: c.window_end,
        pricing: c.pricing,
        price_fen: c.price_fen,
        value_fen: line_amount(c.price_fen, Quantity::from_milli(c.quantity_milli)).unwrap_or(0),
        deposit_fen: c.deposit_fen,
        deposit_paid_fen: c.deposit_paid_fen,
        deposit_paid_on: c.deposit_paid_on,
        status: c.status,
        recipient_name: c.recipient_name,
        phone: c.phone,
        address_region_code: c.address_region_code,
        line: c.line,
        note: c.note,
        created_at: c.created_at,
        signed_at: c.signed_at,
        delivered: Quantity::from_milli(delivered_milli),
        remaining: Quantity::from_milli(Ord::max(c.quantity_milli - delivered_milli, 0)),
        delivered_fen,
        deliveries,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_floor_contract_pays_the_market_price_but_never_less_than_its_floor() {
        assert_eq!(unit_price(Pricing::Fixed, 300, 450), 300);
        assert_eq!(unit_price(Pricing::Fixed, 300, 200), 300);
        assert_eq!(unit_price(Pricing::Floor, 300, 450), 450);
        assert_eq!(unit_price(Pricing::Floor, 300, 200), 300);
    }
}
