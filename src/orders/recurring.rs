//! Recurring orders: a buyer's standing order of one listing, a quantity every week or month.
//! On each period's day the sweep places it through the ordinary checkout, as the buyer would,
//! at the listing's price then. A period whose price rose above the buyer's limit, or whose
//! stock, listing or delivery no longer fit, is skipped with a notice to both sides.
//!
//! Exactly one order per period, whatever runs it: a period is claimed by moving the standing
//! order on (compare-and-set on its version) and recorded under a unique key (standing order,
//! period day), in the same transaction as the order. Two instances sweeping at once, or a
//! sweep that dies half-way and runs again after a restart, cannot place a period twice.

use chrono::{DateTime, Days, Months, NaiveDate, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction,
    EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set, TransactionTrait,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::entity::{recurring_order, recurring_run};
use super::request::{self, AddressRequest};
use crate::accounts::entity::user;
use crate::accounts::role::Credential;
use crate::accounts::{Actor, Role};
use crate::catalog::domain::{ListingStatus, MAX_PRICE_FEN, Quantity, QuantityInput, Unit};
use crate::catalog::entity::listing;
use crate::delivery::methods::Choice;
use crate::error::{AppError, AppResult, Validator};
use crate::outbox::events::{NotifyEvent, RecurringSkip};

vocabulary! {
    /// How often a recurring order runs.
    Every {
        Weekly => "weekly", "每周", "weekly";
        Monthly => "monthly", "每月", "monthly";
    }
}

vocabulary! {
    /// Where a recurring order stands.
    Standing {
        Active => "active", "进行中", "active";
        Paused => "paused", "已暂停", "paused";
        Ended => "ended", "已结束", "ended";
    }
}

vocabulary! {
    /// What a period of a recurring order came to.
    Outcome {
        Placed => "placed", "已下单", "ordered";
        Skipped => "skipped", "已跳过", "skipped";
    }
}

impl Every {
    /// The day of the `n`th period after the first on `start` (a month's period keeps the
    /// first's day of the month, or the month's last day when it has no such day).
    pub fn nth(self, start: NaiveDate, n: i32) -> Option<NaiveDate> {
        let n = u32::try_from(n).ok()?;
        match self {
            Every::Weekly => start.checked_add_days(Days::new(7 * u64::from(n))),
            Every::Monthly => start.checked_add_months(Months::new(n)),
        }
    }

    /// The first period after `start` whose day is on or after `today` and after `after`.
    fn first_from(
        self,
        start: NaiveDate,
        today: NaiveDate,
        after: Option<NaiveDate>,
    ) -> Option<(i32, NaiveDate)> {
        (0..10_000).find_map(|n| {
            let day = self.nth(start, n)?;
            (day >= today && after.is_none_or(|a| day > a)).then_some((n, day))
        })
    }
}

/// Why a period was skipped, in Chinese and English, from its code.
pub fn reason_names(code: &str) -> (&'static str, &'static str) {
    match code {
        "price_changed" => ("单价已高于您设定的上限", "the price rose above your limit"),
        "insufficient_stock" => ("库存不足", "there was not enough stock"),
        "not_on_sale" => ("商品已下架", "the listing is no longer on sale"),
        "unit_changed" => (
            "商品的计量单位已改变",
            "the listing now sells in another unit",
        ),
        "missed" => ("未能按时处理", "it was not run in time"),
        "buyer_disabled" => ("买方账号已停用", "the buyer's account is disabled"),
        _ => ("无法按原条件下单", "it could not be ordered on its terms"),
    }
}

/// A recurring order as a buyer sets it up or changes it.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecurringRequest {
    /// The listing; required when setting up, and cannot change afterwards.
    pub listing_id: Option<i64>,
    /// Each period's quantity, in the listing's unit: an exact decimal.
    #[schema(value_type = String, example = "200")]
    pub quantity: Option<QuantityInput>,
    /// `weekly` or `monthly`.
    pub period: String,
    /// The next period's day, `2026-12-14`: today or later, within a year.
    pub next_on: String,
    /// The highest unit price to order at, in fen; the listing's price now by default.
    pub max_price_fen: Option<i64>,
    /// The seller's delivery method to use; its cheapest that fits by default.
    pub delivery_method_id: Option<i64>,
    /// Order in the name of this buyer unit, as checkout does.
    pub unit_id: Option<i64>,
    pub address: AddressRequest,
    pub note: Option<String>,
}

/// One period as it ran.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RunView {
    pub period_on: NaiveDate,
    pub outcome: Outcome,
    pub order_id: Option<i64>,
    /// Why it was skipped: `price_changed`, `insufficient_stock`, `not_on_sale`,
    /// `unit_changed`, `missed`, or the refusal code of the order it would have been.
    pub reason: String,
    pub detail: String,
    pub at: DateTime<Utc>,
}

/// A recurring order with the periods it ran, newest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RecurringView {
    pub id: i64,
    pub buyer_id: i64,
    pub listing_id: i64,
    pub listing_title: String,
    pub organization_id: i64,
    pub seller_name: String,
    #[schema(value_type = String, example = "200")]
    pub quantity: Quantity,
    pub unit: Unit,
    pub max_price_fen: i64,
    pub period: Every,
    pub next_on: NaiveDate,
    pub status: Standing,
    pub delivery_method_id: Option<i64>,
    pub unit_id: Option<i64>,
    pub recipient_name: String,
    pub phone: String,
    pub region_code: String,
    pub line: String,
    pub note: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub runs: Vec<RunView>,
}

/// A request, checked.
struct Checked {
    quantity: Quantity,
    unit: Unit,
    period: Every,
    next_on: NaiveDate,
    max_price_fen: i64,
    organization_id: i64,
}

/// Checks `req` for `listing_id` as `actor` sets it up at `now`: the listing on sale, the
/// quantity (at least the listing's minimum), the period, the next day, the price limit, the
/// delivery method (the listing's seller's), and what the checkout itself will check when it
/// places an order of it (address, note, buyer unit). Refusals name their field.
async fn check(
    db: &impl ConnectionTrait,
    actor: &Actor,
    req: &RecurringRequest,
    listing_id: i64,
    now: DateTime<Utc>,
) -> AppResult<Checked> {
    let today = crate::days::local_date(now);
    let mut v = Validator::default();
    let listing = listing::Entity::find_by_id(listing_id)
        .one(db)
        .await?
        .filter(|l| l.status == ListingStatus::Active);
    if listing.is_none() {
        v.add("listing_id", "unknown", "not a listing on sale");
    }
    let quantity = match &req.quantity {
        Some(q) => request::positive_quantity("quantity", q, &mut v),
        None => {
            v.add("quantity", "required", "how much each period");
            None
        }
    };
    if let (Some(q), Some(l)) = (quantity, &listing)
        && q.milli() < l.min_order_milli
    {
        v.add(
            "quantity",
            "below_minimum",
            format!(
                "the minimum order is {} {}",
                Quantity::from_milli(l.min_order_milli),
                l.unit.name_zh()
            ),
        );
    }
    let period = Every::from_code(&req.period);
    if period.is_none() {
        v.add("period", "unknown_value", "must be one of: weekly, monthly");
    }
    let next_on = match NaiveDate::parse_from_str(&req.next_on, "%Y-%m-%d") {
        Ok(d) if d < today => {
            v.add("next_on", "in_past", "today or later");
            None
        }
        Ok(d) if d > today + Days::new(366) => {
            v.add("next_on", "too_far", "within a year");
            None
        }
        Ok(d) => Some(d),
        Err(_) => {
            v.add("next_on", "invalid_date", "a date such as 2026-12-14");
            None
        }
    };
    let max_price_fen = check_terms(db, req, listing.as_ref(), &mut v).await?;
    v.finish()?;
    let (Some(l), Some(quantity), Some(period), Some(next_on)) =
        (listing, quantity, period, next_on)
    else {
        return Err(AppError::NotFound("listing"));
    };
    // What the checkout will meet each period: checked now, its fields named as here.
    let dry = request::one_line(
        req.address.clone(),
        req.note.clone(),
        &l,
        quantity,
        req.unit_id,
    );
    request::dry_run(db, actor, dry, now).await?;
    Ok(Checked {
        quantity,
        unit: l.unit,
        period,
        next_on,
        max_price_fen,
        organization_id: l.organization_id,
    })
}

/// Checks the price limit (the listing's price by default) and the delivery method (one of
/// the listing's seller's); returns the limit.
async fn check_terms(
    db: &impl ConnectionTrait,
    req: &RecurringRequest,
    listing: Option<&listing::Model>,
    v: &mut Validator,
) -> AppResult<i64> {
    let max_price_fen = req
        .max_price_fen
        .or(listing.map(|l| l.price_fen))
        .unwrap_or(0);
    if !(1..=MAX_PRICE_FEN).contains(&max_price_fen) {
        v.add(
            "max_price_fen",
            "out_of_range",
            format!("between 1 and {MAX_PRICE_FEN}"),
        );
    }
    if let (Some(method), Some(l)) = (req.delivery_method_id, listing) {
        let theirs = crate::delivery::entity::delivery_method::Entity::find_by_id(method)
            .one(db)
            .await?
            .is_some_and(|m| m.organization_id == l.organization_id);
        if !theirs {
            v.add(
                "delivery_method_id",
                "unknown",
                "not a delivery method of this listing's seller",
            );
        }
    }
    Ok(max_price_fen)
}

/// Sets up a recurring order for `actor` (a buyer). Audited.
pub async fn create(
    db: &impl ConnectionTrait,
    actor: &Actor,
    req: &RecurringRequest,
    now: DateTime<Utc>,
) -> AppResult<RecurringView> {
    super::cart::require_buyer(actor)?;
    let listing_id = req.listing_id.ok_or_else(|| {
        AppError::field("listing_id", "required", "the listing to order regularly")
    })?;
    let c = check(db, actor, req, listing_id, now).await?;
    let a = &req.address;
    let saved = recurring_order::ActiveModel {
        buyer_id: Set(actor.id()),
        listing_id: Set(listing_id),
        organization_id: Set(c.organization_id),
        quantity_milli: Set(c.quantity.milli()),
        unit: Set(c.unit),
        max_price_fen: Set(c.max_price_fen),
        period: Set(c.period),
        starts_on: Set(c.next_on),
        next_index: Set(0),
        next_on: Set(c.next_on),
        delivery_method_id: Set(req.delivery_method_id),
        unit_id: Set(req.unit_id),
        recipient_name: Set(a.recipient_name.trim().to_string()),
        phone: Set(a.phone.trim().to_string()),
        region_code: Set(a.region_code.clone()),
        line: Set(a.line.trim().to_string()),
        note: Set(req.note.clone().unwrap_or_default()),
        status: Set(Standing::Active),
        version: Set(0),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    audit(db, actor, "recurring_order.create", &saved).await?;
    view(db, saved).await
}

async fn audit(
    db: &impl ConnectionTrait,
    actor: &Actor,
    action: &str,
    r: &recurring_order::Model,
) -> AppResult<()> {
    crate::audit::record(
        db,
        Some(actor.id()),
        action,
        "recurring_order",
        r.id,
        serde_json::json!({
            "listing_id": r.listing_id, "quantity": Quantity::from_milli(r.quantity_milli).to_string(),
            "period": r.period.code(), "next_on": r.next_on.to_string(), "status": r.status.code(),
            "max_price_fen": r.max_price_fen,
        }),
    )
    .await?;
    Ok(())
}

/// The recurring order `id` as `actor` may see it: the buyer's own, the seller staff's, any for
/// admins; 404 for anyone else.
pub async fn find_for(
    db: &impl ConnectionTrait,
    actor: &Actor,
    id: i64,
) -> AppResult<recurring_order::Model> {
    recurring_order::Entity::find_by_id(id)
        .one(db)
        .await?
        .filter(|r| actor.sees_trade(r.buyer_id, r.organization_id))
        .ok_or(AppError::NotFound("recurring order"))
}

/// The buyer's own recurring order `id`: 403 for the seller's staff and admins, who see it
/// but do not change it.
async fn own(
    db: &impl ConnectionTrait,
    actor: &Actor,
    id: i64,
) -> AppResult<recurring_order::Model> {
    let r = find_for(db, actor, id).await?;
    if r.buyer_id != actor.id() {
        return Err(AppError::Forbidden(
            "only the buyer changes a recurring order".into(),
        ));
    }
    Ok(r)
}

/// Who may change recurring order `id`, settled before a request's body is read.
pub async fn may_change(db: &impl ConnectionTrait, actor: &Actor, id: i64) -> AppResult<()> {
    own(db, actor, id).await.map(|_| ())
}

/// Changes the buyer's recurring order: everything but its listing. Periods start again from
/// the new next day, which must come after the last period that ran. Audited.
pub async fn update(
    db: &impl ConnectionTrait,
    actor: &Actor,
    id: i64,
    req: &RecurringRequest,
    now: DateTime<Utc>,
) -> AppResult<RecurringView> {
    let r = own(db, actor, id).await?;
    if r.status == Standing::Ended {
        return Err(AppError::Conflict(
            "recurring_ended",
            "this recurring order has ended; set up a new one".into(),
        ));
    }
    if req.listing_id.is_some_and(|l| l != r.listing_id) {
        return Err(AppError::field(
            "listing_id",
            "immutable",
            "a recurring order keeps its listing; set up a new one for another",
        ));
    }
    let c = check(db, actor, req, r.listing_id, now).await?;
    if last_run(db, r.id)
        .await?
        .is_some_and(|last| c.next_on <= last)
    {
        return Err(AppError::field(
            "next_on",
            "already_run",
            "a period on or before this day has already run",
        ));
    }
    let a = &req.address;
    let changed = guarded(&r)
        .col_expr(
            recurring_order::Column::QuantityMilli,
            Expr::value(c.quantity.milli()),
        )
        .col_expr(recurring_order::Column::Unit, Expr::value(c.unit.code()))
        .col_expr(
            recurring_order::Column::MaxPriceFen,
            Expr::value(c.max_price_fen),
        )
        .col_expr(
            recurring_order::Column::Period,
            Expr::value(c.period.code()),
        )
        .col_expr(recurring_order::Column::StartsOn, Expr::value(c.next_on))
        .col_expr(recurring_order::Column::NextIndex, Expr::value(0))
        .col_expr(recurring_order::Column::NextOn, Expr::value(c.next_on))
        .col_expr(
            recurring_order::Column::DeliveryMethodId,
            Expr::value(req.delivery_method_id),
        )
        .col_expr(recurring_order::Column::UnitId, Expr::value(req.unit_id))
        .col_expr(
            recurring_order::Column::RecipientName,
            Expr::value(a.recipient_name.trim()),
        )
        .col_expr(recurring_order::Column::Phone, Expr::value(a.phone.trim()))
        .col_expr(
            recurring_order::Column::RegionCode,
            Expr::value(a.region_code.clone()),
        )
        .col_expr(recurring_order::Column::Line, Expr::value(a.line.trim()))
        .col_expr(
            recurring_order::Column::Note,
            Expr::value(req.note.clone().unwrap_or_default()),
        )
        .col_expr(recurring_order::Column::UpdatedAt, Expr::value(now))
        .exec(db)
        .await?;
    if changed.rows_affected != 1 {
        return Err(changed_meanwhile());
    }
    let saved = reread(db, r.id).await?;
    audit(db, actor, "recurring_order.update", &saved).await?;
    view(db, saved).await
}

/// An update of `r` that applies only while it is as it was read (its version), and moves its
/// version on: of two racing changes, one wins.
fn guarded(r: &recurring_order::Model) -> sea_orm::UpdateMany<recurring_order::Entity> {
    recurring_order::Entity::update_many()
        .col_expr(
            recurring_order::Column::Version,
            Expr::col(recurring_order::Column::Version).add(1),
        )
        .filter(recurring_order::Column::Id.eq(r.id))
        .filter(recurring_order::Column::Version.eq(r.version))
}

fn changed_meanwhile() -> AppError {
    AppError::Conflict(
        "version_conflict",
        "the recurring order changed meanwhile (a period ran); read it again".into(),
    )
}

async fn reread(db: &impl ConnectionTrait, id: i64) -> AppResult<recurring_order::Model> {
    recurring_order::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("recurring order"))
}

async fn last_run(db: &impl ConnectionTrait, id: i64) -> AppResult<Option<NaiveDate>> {
    Ok(recurring_run::Entity::find()
        .select_only()
        .column(recurring_run::Column::PeriodOn)
        .filter(recurring_run::Column::RecurringOrderId.eq(id))
        .order_by_desc(recurring_run::Column::PeriodOn)
        .limit(1)
        .into_tuple()
        .one(db)
        .await?)
}

/// Pauses, resumes or ends the buyer's recurring order. Resuming skips, without notice, the
/// periods that passed while paused: the next is the first from today. Audited; 409
/// `invalid_transition` from a status the step does not apply to.
pub async fn set_status(
    db: &impl ConnectionTrait,
    actor: &Actor,
    id: i64,
    to: Standing,
    now: DateTime<Utc>,
) -> AppResult<RecurringView> {
    let r = own(db, actor, id).await?;
    let allowed = matches!(
        (r.status, to),
        (Standing::Active, Standing::Paused)
            | (Standing::Paused, Standing::Active)
            | (Standing::Active | Standing::Paused, Standing::Ended)
    );
    if !allowed {
        return Err(AppError::Conflict(
            "invalid_transition",
            format!(
                "a recurring order that is {} cannot become {}",
                r.status.code(),
                to.code()
            ),
        ));
    }
    let mut update = guarded(&r)
        .col_expr(recurring_order::Column::Status, Expr::value(to.code()))
        .col_expr(recurring_order::Column::UpdatedAt, Expr::value(now));
    if to == Standing::Active {
        let today = crate::days::local_date(now);
        let after = last_run(db, r.id).await?;
        let (n, day) = r
            .period
            .first_from(r.starts_on, today, after)
            .ok_or(AppError::NotFound("next period"))?;
        update = update
            .col_expr(recurring_order::Column::NextIndex, Expr::value(n))
            .col_expr(recurring_order::Column::NextOn, Expr::value(day));
    }
    let changed = update.exec(db).await?;
    if changed.rows_affected != 1 {
        return Err(changed_meanwhile());
    }
    let saved = reread(db, r.id).await?;
    let action = match to {
        Standing::Active => "recurring_order.resume",
        Standing::Paused => "recurring_order.pause",
        Standing::Ended => "recurring_order.end",
    };
    audit(db, actor, action, &saved).await?;
    view(db, saved).await
}

/// The recurring orders `actor` sees, newest first: a buyer's own, a producer's on their
/// organization's listings, every one for admins.
pub async fn list(db: &impl ConnectionTrait, actor: &Actor) -> AppResult<Vec<RecurringView>> {
    let mut q = recurring_order::Entity::find().order_by_desc(recurring_order::Column::Id);
    q = match (actor.role, actor.organization_id()) {
        (Role::Admin, _) => q,
        (Role::Producer, Some(org)) => q.filter(recurring_order::Column::OrganizationId.eq(org)),
        _ => q.filter(recurring_order::Column::BuyerId.eq(actor.id())),
    };
    let mut out = Vec::new();
    for r in q.limit(200).all(db).await? {
        out.push(view(db, r).await?);
    }
    Ok(out)
}

/// A recurring order with its listing's and seller's names and its periods.
pub async fn view(
    db: &impl ConnectionTrait,
    r: recurring_order::Model,
) -> AppResult<RecurringView> {
    let l = listing::Entity::find_by_id(r.listing_id).one(db).await?;
    let seller = crate::catalog::entity::organization::Entity::find_by_id(r.organization_id)
        .one(db)
        .await?;
    let runs = recurring_run::Entity::find()
        .filter(recurring_run::Column::RecurringOrderId.eq(r.id))
        .order_by_desc(recurring_run::Column::PeriodOn)
        .limit(100)
        .all(db)
        .await?
        .into_iter()
        .map(|run| RunView {
            period_on: run.period_on,
            outcome: run.outcome,
            order_id: run.order_id,
            reason: run.reason,
            detail: run.detail,
            at: run.created_at,
        })
        .collect();
    Ok(RecurringView {
        id: r.id,
        buyer_id: r.buyer_id,
        listing_id: r.listing_id,
        listing_title: l.map(|l| l.title).unwrap_or_default(),
        organization_id: r.organization_id,
        seller_name: seller.map(|o| o.name).unwrap_or_default(),
        quantity: Quantity::from_milli(r.quantity_milli),
        unit: r.unit,
        max_price_fen: r.max_price_fen,
        period: r.period,
        next_on: r.next_on,
        status: r.status,
        delivery_method_id: r.delivery_method_id,
        unit_id: r.unit_id,
        recipient_name: r.recipient_name,
        phone: r.phone,
        region_code: r.region_code,
        line: r.line,
        note: r.note,
        created_at: r.created_at,
        updated_at: r.updated_at,
        runs,
    })
}

/// Runs every period that is due by `now` (Beijing days): each in a transaction of its own,
/// placed or skipped. Safe to run in several instances at once. Returns the periods run.
pub async fn run_due(db: &DatabaseConnection, now: DateTime<Utc>) -> AppResult<usize> {
    let today = crate::days::local_date(now);
    let due: Vec<i64> = recurring_order::Entity::find()
        .select_only()
        .column(recurring_order::Column::Id)
        .filter(recurring_order::Column::Status.eq(Standing::Active.code()))
        .filter(recurring_order::Column::NextOn.lte(today))
        .order_by_asc(recurring_order::Column::Id)
        .limit(500)
        .into_tuple()
        .all(db)
        .await?;
    let mut ran = 0;
    for id in due {
        // A standing order left unrun for several periods runs each in turn.
        loop {
            let txn = crate::db::write_txn(db).await?;
            if run_next(&txn, id, now).await? {
                txn.commit().await?;
                ran += 1;
            } else {
                txn.rollback().await?;
                break;
            }
        }
    }
    Ok(ran)
}

/// Runs recurring order `id`'s next period inside `txn` if it is due at `now`: false when it
/// is not (or another instance has just run it). A period whose next one has already come
/// is skipped as `missed`: nobody wants two periods' goods at once.
pub async fn run_next(txn: &DatabaseTransaction, id: i64, now: DateTime<Utc>) -> AppResult<bool> {
    let today = crate::days::local_date(now);
    let Some(r) = recurring_order::Entity::find_by_id(id).one(txn).await? else {
        return Ok(false);
    };
    if r.status != Standing::Active || r.next_on > today {
        return Ok(false);
    }
    let period_on = r.next_on;
    let Some(next_on) = r.period.nth(r.starts_on, r.next_index + 1) else {
        return Ok(false);
    };
    // The claim: only one of two racing runs moves the standing order on.
    let claimed = guarded(&r)
        .col_expr(
            recurring_order::Column::NextIndex,
            Expr::value(r.next_index + 1),
        )
        .col_expr(recurring_order::Column::NextOn, Expr::value(next_on))
        .exec(txn)
        .await?;
    if claimed.rows_affected != 1 {
        return Ok(false);
    }
    let outcome = if next_on <= today {
        Err((
            "missed".to_string(),
            "the next period came before this one ran".to_string(),
        ))
    } else {
        place(txn, &r, now).await?
    };
    let (order_id, reason, detail) = match &outcome {
        Ok(order) => (Some(*order), String::new(), String::new()),
        Err((code, message)) => (None, code.clone(), message.chars().take(500).collect()),
    };
    recurring_run::ActiveModel {
        recurring_order_id: Set(r.id),
        period_on: Set(period_on),
        outcome: Set(if order_id.is_some() {
            Outcome::Placed
        } else {
            Outcome::Skipped
        }),
        order_id: Set(order_id),
        reason: Set(reason.clone()),
        detail: Set(detail.clone()),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    if order_id.is_none() {
        crate::outbox::enqueue(
            txn,
            &NotifyEvent::RecurringSkipped(RecurringSkip {
                recurring_order_id: r.id,
                buyer_id: r.buyer_id,
                organization_id: r.organization_id,
                listing_id: r.listing_id,
                period_on: period_on.to_string(),
                reason,
                detail,
            }),
        )
        .await?;
    }
    Ok(true)
}

/// Places one period of `r` through the checkout, in a savepoint so a refusal leaves nothing
/// behind: the order's id, or why it could not be placed (the refusal's code and message).
/// Errors that are not the order's fault (the database) end the run, to be tried again.
async fn place(
    txn: &DatabaseTransaction,
    r: &recurring_order::Model,
    now: DateTime<Utc>,
) -> AppResult<Result<i64, (String, String)>> {
    let skip = |code: &str, message: String| Ok(Err((code.to_string(), message)));
    let Some(l) = listing::Entity::find_by_id(r.listing_id)
        .one(txn)
        .await?
        .filter(|l| l.status == ListingStatus::Active)
    else {
        return skip("not_on_sale", "the listing is no longer on sale".into());
    };
    if l.unit != r.unit {
        return skip(
            "unit_changed",
            format!("the listing now sells by the {}", l.unit.name_en()),
        );
    }
    if l.price_fen > r.max_price_fen {
        return skip(
            "price_changed",
            format!(
                "the price is {} now, above the limit of {}",
                crate::catalog::domain::format_yuan(l.price_fen),
                crate::catalog::domain::format_yuan(r.max_price_fen)
            ),
        );
    }
    let Some(buyer) = user::Entity::find_by_id(r.buyer_id)
        .one(txn)
        .await?
        .filter(|u| !u.disabled)
    else {
        return skip("buyer_disabled", "the buyer's account is disabled".into());
    };
    let actor = Actor {
        role: buyer.role,
        user: buyer,
        credential: Credential::Token { id: 0 },
    };
    let address = AddressRequest {
        recipient_name: r.recipient_name.clone(),
        phone: r.phone.clone(),
        region_code: r.region_code.clone(),
        line: r.line.clone(),
    };
    let note = format!(
        "定期订单 #{} · recurring order{}{}",
        r.id,
        if r.note.is_empty() { "" } else { " · " },
        r.note
    );
    let mut req = request::one_line(
        address,
        Some(note.chars().take(500).collect()),
        &l,
        Quantity::from_milli(r.quantity_milli),
        r.unit_id,
    );
    if let Some(method_id) = r.delivery_method_id {
        req.delivery = vec![Choice {
            organization_id: r.organization_id,
            method_id,
        }];
    }
    let savepoint = txn.begin().await?;
    match request::place_at(&savepoint, &actor, req, now).await {
        Ok(placed) => {
            savepoint.commit().await?;
            Ok(Ok(placed.first().map_or(0, |p| p.order.id)))
        }
        Err(e) => {
            savepoint.rollback().await?;
            let (status, code) = e.status_and_code();
            if status >= 500 {
                return Err(e);
            }
            let message = match &e {
                AppError::Validation(fields) | AppError::InsufficientStock(fields) => fields
                    .values()
                    .map(|f| f.message.clone())
                    .collect::<Vec<_>>()
                    .join("; "),
                e => e.to_string(),
            };
            skip(code, message)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn periods_fall_whole_weeks_or_months_after_the_first() {
        let start = day("2026-01-31");
        assert_eq!(Every::Weekly.nth(start, 0), Some(start));
        assert_eq!(Every::Weekly.nth(start, 2), Some(day("2026-02-14")));
        // A month without the 31st takes its last day, and the next month has it again.
        assert_eq!(Every::Monthly.nth(start, 1), Some(day("2026-02-28")));
        assert_eq!(Every::Monthly.nth(start, 2), Some(day("2026-03-31")));
        assert_eq!(Every::Monthly.nth(start, -1), None);
    }

    #[test]
    fn resuming_starts_from_the_first_period_today_or_later_after_the_last_run() {
        let start = day("2026-12-01");
        assert_eq!(
            Every::Weekly.first_from(start, day("2026-12-10"), None),
            Some((2, day("2026-12-15")))
        );
        assert_eq!(
            Every::Weekly.first_from(start, day("2026-12-15"), None),
            Some((2, day("2026-12-15")))
        );
        assert_eq!(
            Every::Weekly.first_from(start, day("2026-12-15"), Some(day("2026-12-15"))),
            Some((3, day("2026-12-22")))
        );
    }
}
