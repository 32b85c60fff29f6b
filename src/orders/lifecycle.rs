//! Moving orders through their states: guarded by role, compare-and-set on the status so
//! racing calls cannot both win, stock returned exactly once, every step recorded.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};

use super::domain::{Action, OrderStatus, Party, PaymentStatus, TransitionError, transition};
use super::entity::{order, order_event, order_line};
use super::events;
use crate::accounts::{Actor, Role};
use crate::catalog::entity::listing;
use crate::error::{AppError, AppResult};

/// The part `actor` plays in an order, if any. Anyone else is told the order does not exist.
pub fn party_of(actor: &Actor, o: &order::Model) -> Option<Party> {
    if actor.is_admin() {
        Some(Party::Admin)
    } else if actor.role == Role::Buyer && o.buyer_id == actor.id() {
        Some(Party::Buyer)
    } else if actor.organization_id() == Some(o.organization_id) {
        Some(Party::Seller)
    } else {
        None
    }
}

/// An order `actor` may see (their own purchase, their organization's sale, or any for admins).
pub async fn find_for(
    db: &impl ConnectionTrait,
    actor: &Actor,
    id: i64,
) -> AppResult<(order::Model, Party)> {
    let o = order::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("order"))?;
    let party = party_of(actor, &o).ok_or(AppError::NotFound("order"))?;
    Ok((o, party))
}

/// Details some transitions carry.
#[derive(Debug, Clone, Default)]
pub struct Details {
    pub reason: String,
    pub carrier: Option<String>,
    pub tracking_number: Option<String>,
    /// On shipping: the lots each line was filled from.
    pub lots: Vec<super::lots::LotShare>,
    /// On shipping, what each line shipped; on receipt, what arrived. A line not named
    /// shipped in full, or arrived as shipped.
    pub lines: Vec<super::short::LineQuantity>,
}

impl Details {
    /// Details that carry only a reason.
    pub fn because(reason: impl Into<String>) -> Self {
        Details {
            reason: reason.into(),
            ..Default::default()
        }
    }
}

/// Applies `action` by `party` to order `id`. Fails with 409 `invalid_transition` when the order
/// is not (or no longer) in a status the action applies to.
pub async fn act(
    db: &impl ConnectionTrait,
    id: i64,
    action: Action,
    party: Party,
    actor_id: Option<i64>,
    details: Details,
) -> AppResult<order::Model> {
    act_at(db, id, action, party, actor_id, details, Utc::now()).await
}

/// [`act`] at `now`: the moment the order's timeline says the step was taken.
pub async fn act_at(
    db: &impl ConnectionTrait,
    id: i64,
    action: Action,
    party: Party,
    actor_id: Option<i64>,
    details: Details,
    now: DateTime<Utc>,
) -> AppResult<order::Model> {
    let current = order::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("order"))?;
    let from = current.status;
    let effect = transition(from, action, party).map_err(|e| match e {
        TransitionError::NotAllowed => not_theirs(action, party),
        TransitionError::WrongStatus => invalid(from, action),
    })?;
    if effect.to == OrderStatus::Completed {
        super::invoices::required_to_complete(db, &current).await?;
    }

    let mut update = order::Entity::update_many()
        .col_expr(order::Column::Status, Expr::value(effect.to.code()))
        .col_expr(
            order::Column::Version,
            Expr::col(order::Column::Version).add(1),
        )
        .col_expr(order::Column::UpdatedAt, Expr::value(now));
    let stamp = match effect.to {
        OrderStatus::Confirmed => Some(order::Column::ConfirmedAt),
        OrderStatus::Shipped => Some(order::Column::ShippedAt),
        OrderStatus::Delivered => Some(order::Column::DeliveredAt),
        OrderStatus::Completed => Some(order::Column::CompletedAt),
        OrderStatus::Cancelled => Some(order::Column::CancelledAt),
        OrderStatus::Disputed => Some(order::Column::DisputedAt),
        OrderStatus::Placed => None,
    };
    if let Some(col) = stamp {
        update = update.col_expr(col, Expr::value(now));
    }
    if action == Action::Ship {
        update = update
            .col_expr(order::Column::Carrier, Expr::value(details.carrier.clone()))
            .col_expr(
                order::Column::TrackingNumber,
                Expr::value(details.tracking_number.clone()),
            );
    }
    if effect.refund && current.payment_status == PaymentStatus::PaidOffline {
        update = update.col_expr(
            order::Column::PaymentStatus,
            Expr::value(PaymentStatus::Refunded.code()),
        );
    }
    // Compare-and-set: only one of two racing calls finds the order still in `from`.
    let changed = update
        .filter(order::Column::Id.eq(id))
        .filter(order::Column::Status.eq(from.code()))
        .exec(db)
        .await?;
    if changed.rows_affected != 1 {
        let now_status = order::Entity::find_by_id(id)
            .one(db)
            .await?
            .map(|o| o.status)
            .unwrap_or(from);
        return Err(invalid(now_status, action));
    }
    if effect.return_stock {
        return_stock(db, id, now).await?;
    }
    if action == Action::Ship {
        let shipped = super::short::record_shipped(db, id, &details.lines, now).await?;
        super::lots::bind(db, id, &details.lots, &shipped).await?;
    }
    if effect.to == OrderStatus::Delivered {
        super::short::record_received(db, &current, &details.lines, now).await?;
    }
    order_event::ActiveModel {
        order_id: Set(id),
        from_status: Set(Some(from)),
        to_status: Set(effect.to),
        action: Set(action.into()),
        actor_id: Set(actor_id),
        actor_role: Set(party),
        reason: Set(details.reason),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    let updated = order::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("order"))?;
    events::order_changed(db, &updated, events::status_news(effect.to)).await?;
    Ok(updated)
}

fn invalid(from: OrderStatus, action: Action) -> AppError {
    AppError::Conflict(
        "invalid_transition",
        format!(
            "an order that is {} cannot take the action “{}”",
            from.code(),
            action.code()
        ),
    )
}

/// Does `action` to order `id` as `actor`, in a transaction of its own, tried again when it
/// crossed another write.
pub async fn perform(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i64,
    action: Action,
    details: Details,
) -> AppResult<order::Model> {
    crate::db::retrying(|| async {
        let txn = crate::db::write_txn(db).await?;
        let (o, party) = find_for(&txn, actor, id).await?;
        let done = act(&txn, o.id, action, party, Some(actor.id()), details.clone()).await?;
        txn.commit().await?;
        Ok(done)
    })
    .await
}

/// 403 unless `party` may ever take `action`: checked before anything else of the request
/// is read.
pub fn may_take(action: Action, party: Party) -> AppResult<()> {
    if super::domain::may_take(action, party) {
        Ok(())
    } else {
        Err(not_theirs(action, party))
    }
}

fn not_theirs(action: Action, party: Party) -> AppError {
    AppError::Forbidden(format!(
        "the {} cannot {} an order",
        party.code(),
        action.name_en()
    ))
}

/// Puts an order's stock back on its listings, guarded by a flag so it happens at most once.
async fn return_stock(
    db: &impl ConnectionTrait,
    order_id: i64,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let flagged = order::Entity::update_many()
        .col_expr(order::Column::StockReturned, Expr::value(true))
        .filter(order::Column::Id.eq(order_id))
        .filter(order::Column::StockReturned.eq(false))
        .exec(db)
        .await?;
    if flagged.rows_affected != 1 {
        return Ok(());
    }
    // Locks in the one global order (listing id ascending), as checkout takes them.
    let mut back: BTreeMap<i64, i64> = BTreeMap::new();
    for line in order_line::Entity::find()
        .filter(order_line::Column::OrderId.eq(order_id))
        .all(db)
        .await?
    {
        *back.entry(line.listing_id).or_default() += line.quantity_milli;
    }
    for (listing_id, milli) in back {
        listing::Entity::update_many()
            .col_expr(
                listing::Column::StockMilli,
                Expr::col(listing::Column::StockMilli).add(milli),
            )
            .col_expr(
                listing::Column::SoldMilli,
                Expr::col(listing::Column::SoldMilli).sub(milli),
            )
            .col_expr(
                listing::Column::Version,
                Expr::col(listing::Column::Version).add(1),
            )
            .col_expr(listing::Column::UpdatedAt, Expr::value(now))
            .filter(listing::Column::Id.eq(listing_id))
            .exec(db)
            .await?;
        crate::catalog::listings::stock_changed(db, listing_id).await?;
    }
    Ok(())
}

/// Records a payment change by the seller: unpaid → paid offline → refunded.
/// The payment status `party` asks to record: only the seller records payments, and only as
/// `paid_offline` or `refunded`.
pub fn payment_target(party: Party, status: &str) -> AppResult<PaymentStatus> {
    if party != Party::Seller {
        return Err(AppError::Forbidden(
            "only the seller records payments".into(),
        ));
    }
    match PaymentStatus::from_code(status) {
        Some(s @ (PaymentStatus::PaidOffline | PaymentStatus::Refunded)) => Ok(s),
        _ => Err(AppError::field(
            "status",
            "unknown_value",
            "must be one of: paid_offline, refunded",
        )),
    }
}

pub async fn set_payment(
    db: &impl ConnectionTrait,
    o: &order::Model,
    actor_id: i64,
    to: PaymentStatus,
) -> AppResult<order::Model> {
    let from = o.payment_status;
    let allowed = matches!(
        (from, to),
        (PaymentStatus::Unpaid, PaymentStatus::PaidOffline)
            | (PaymentStatus::PaidOffline, PaymentStatus::Refunded)
    );
    if !allowed || o.status == OrderStatus::Cancelled && to == PaymentStatus::PaidOffline {
        return Err(AppError::Conflict(
            "invalid_payment_transition",
            format!("payment cannot go from {} to {}", from.code(), to.code()),
        ));
    }
    let changed = order::Entity::update_many()
        .col_expr(order::Column::PaymentStatus, Expr::value(to.code()))
        .col_expr(
            order::Column::Version,
            Expr::col(order::Column::Version).add(1),
        )
        .col_expr(order::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(order::Column::Id.eq(o.id))
        .filter(order::Column::PaymentStatus.eq(from.code()))
        .exec(db)
        .await?;
    if changed.rows_affected != 1 {
        return Err(AppError::Conflict(
            "invalid_payment_transition",
            "the payment status changed meanwhile".into(),
        ));
    }
    order_event::ActiveModel {
        order_id: Set(o.id),
        from_status: Set(Some(o.status)),
        to_status: Set(o.status),
        action: Set(to.into()),
        actor_id: Set(Some(actor_id)),
        actor_role: Set(Party::Seller),
        reason: Set(String::new()),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    let updated = order::Entity::find_by_id(o.id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("order"))?;
    events::order_changed(db, &updated, events::payment_news(to)).await?;
    Ok(updated)
}

/// How long the clock waits before moving orders on by itself.
#[derive(Debug, Clone, Copy)]
pub struct AutoAdvance {
    /// Shipped orders count as delivered this long after shipping.
    pub deliver_after: Duration,
    /// Delivered orders complete this long after delivery, unless disputed.
    pub complete_after: Duration,
}

/// Moves overdue orders on: shipped → delivered, delivered → completed. Safe to run in several
/// instances at once: each order moves in its own transaction by compare-and-set.
pub async fn auto_advance(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    rules: AutoAdvance,
) -> AppResult<usize> {
    let mut moved = 0;
    // Completions first, so an order delivered by this sweep waits its full time before completing.
    let due = [
        (
            OrderStatus::Delivered,
            order::Column::DeliveredAt,
            now - rules.complete_after,
            Action::AutoComplete,
        ),
        (
            OrderStatus::Shipped,
            order::Column::ShippedAt,
            now - rules.deliver_after,
            Action::AutoDeliver,
        ),
    ];
    for (status, column, before, action) in due {
        let ids: Vec<i64> = order::Entity::find()
            .select_only()
            .column(order::Column::Id)
            .filter(order::Column::Status.eq(status.code()))
            .filter(column.lte(before))
            .order_by_asc(order::Column::Id)
            .limit(500)
            .into_tuple()
            .all(db)
            .await?;
        for id in ids {
            let txn = crate::db::write_txn(db).await?;
            let reason = Details::because("time limit reached");
            match act(&txn, id, action, Party::System, None, reason).await {
                Ok(_) => {
                    txn.commit().await?;
                    moved += 1;
                }
                // Someone else moved it first.
                Err(AppError::Conflict(..)) => txn.rollback().await?,
                Err(e) => return Err(e),
            }
        }
    }
    Ok(moved)
}
