//! What an order change sends out: a notification event, and the change to the sales facts.

use sea_orm::ConnectionTrait;

use super::entity::order;
use crate::outbox::{self, Channel, Event};

/// Writes the notification event of an order change, and its sales facts.
pub async fn order_changed(
    db: &impl ConnectionTrait,
    o: &order::Model,
    topic: &str,
) -> Result<(), sea_orm::DbErr> {
    order_announced(db, o, topic).await?;
    crate::stats::record_order_changes(db, std::slice::from_ref(o)).await
}

/// Writes the notification event of an order change, leaving its sales facts
/// to the caller (a checkout records the facts of all its orders at once).
pub async fn order_announced(
    db: &impl ConnectionTrait,
    o: &order::Model,
    topic: &str,
) -> Result<(), sea_orm::DbErr> {
    outbox::enqueue_all(db, order_events(o, topic)).await
}

/// The notification event of an order change, for the caller to write.
pub fn order_events<'a>(o: &order::Model, topic: &'a str) -> Vec<Event<'a>> {
    let payload = serde_json::json!({
        "order_id": o.id,
        "buyer_id": o.buyer_id,
        "organization_id": o.organization_id,
        "status": o.status,
        "total_fen": o.total_fen,
    });
    vec![Event {
        channel: Channel::Notify,
        topic,
        aggregate_type: "order",
        aggregate_id: o.id,
        payload,
    }]
}
