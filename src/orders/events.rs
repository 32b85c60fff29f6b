//! What an order change sends out: a notification event, and for the changes that count in
//! the statistics (placed, completed, cancelled, delivered short), an event for their projector.

use sea_orm::ConnectionTrait;

use super::domain::{OrderStatus, PaymentStatus};
use super::entity::order;
use crate::outbox::events::{NotifyEvent, OrderChange, OrderNews, StatsEvent};
use crate::outbox::{self, Event};

/// Writes the events of an order change: its notification, and its sales when they changed.
pub async fn order_changed(
    db: &impl ConnectionTrait,
    o: &order::Model,
    news: OrderNews,
) -> Result<(), sea_orm::DbErr> {
    let mut events = vec![order_event(o, news)];
    // A delivery short of the order refunds the difference at once: the sales shrink then.
    let short = o.status == OrderStatus::Delivered && o.refund_fen > 0;
    if short || matches!(o.status, OrderStatus::Completed | OrderStatus::Cancelled) {
        events.push(sales_event(o));
    }
    outbox::enqueue_all(db, events).await
}

/// The event that asks the statistics' projector to book `o`'s sales as they now stand.
pub fn sales_event(o: &order::Model) -> Event {
    Event::of(&StatsEvent { order_id: o.id })
}

/// The notification event of an order change, for the caller to write.
pub fn order_event(o: &order::Model, news: OrderNews) -> Event {
    Event::of(&NotifyEvent::Order(
        news,
        OrderChange {
            order_id: o.id,
            buyer_id: o.buyer_id,
            organization_id: o.organization_id,
            status: o.status.code().into(),
            total_fen: o.total_fen,
        },
    ))
}

/// The news of an order reaching `status`.
pub fn status_news(status: OrderStatus) -> OrderNews {
    match status {
        OrderStatus::Placed => OrderNews::Placed,
        OrderStatus::Confirmed => OrderNews::Confirmed,
        OrderStatus::Shipped => OrderNews::Shipped,
        OrderStatus::Delivered => OrderNews::Delivered,
        OrderStatus::Disputed => OrderNews::Disputed,
        OrderStatus::Completed => OrderNews::Completed,
        OrderStatus::Cancelled => OrderNews::Cancelled,
    }
}

/// The news of an order's payment reaching `status`.
pub fn payment_news(status: PaymentStatus) -> OrderNews {
    match status {
        PaymentStatus::Unpaid => OrderNews::PaymentUnpaid,
        PaymentStatus::PaidOffline => OrderNews::PaymentPaidOffline,
        PaymentStatus::Refunded => OrderNews::PaymentRefunded,
    }
}
