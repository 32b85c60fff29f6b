//! The outbox events an order change sends: to people, and to the statistics.

use sea_orm::ConnectionTrait;

use super::entity::order;
use crate::outbox::{self, Channel, Event};

/// Writes the notification and statistics events of an order change.
pub async fn order_changed(
    db: &impl ConnectionTrait,
    o: &order::Model,
    topic: &str,
) -> Result<(), sea_orm::DbErr> {
    let payload = serde_json::json!({
        "order_id": o.id,
        "buyer_id": o.buyer_id,
        "organization_id": o.organization_id,
        "status": o.status,
        "total_fen": o.total_fen,
    });
    for channel in [Channel::Notify, Channel::Stats] {
        outbox::enqueue(
            db,
            Event {
                channel,
                topic,
                aggregate_type: "order",
                aggregate_id: o.id,
                payload: payload.clone(),
            },
        )
        .await?;
    }
    crate::stats::record_order_change(db, o).await
}
