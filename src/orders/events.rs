//! What an order change sends out: a notification event, and the change to the sales facts.

use sea_orm::ConnectionTrait;

use super::domain::{OrderStatus, PaymentStatus};
use super::entity::order;
use crate::outbox::events::{NotifyEvent, OrderChange, OrderNews};
use crate::outbox::{self, Event};

/// Writes the notification event of an order change, and its sales facts.
pub async fn order_changed(
    db: &impl ConnectionTrait,
    o: &order::Model,
    news: OrderNews,
) -> Result<(), sea_orm::DbErr> {
    outbox::enqueue_all(db, vec![order_event(o, news)]).await?;
    crate::stats::record_order_changes(db, std::slice::from_ref(o)).await
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
