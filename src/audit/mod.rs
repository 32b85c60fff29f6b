//! The audit trail of admin actions, approvals, exports and official access.

pub mod entity;

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ConnectionTrait, Set};

/// Records an action on the caller's connection (inside the action's transaction).
pub async fn record(
    db: &impl ConnectionTrait,
    actor_id: Option<i64>,
    action: &str,
    target_type: &str,
    target_id: impl ToString,
    detail: serde_json::Value,
) -> Result<(), sea_orm::DbErr> {
    entity::ActiveModel {
        actor_id: Set(actor_id),
        action: Set(action.to_string()),
        target_type: Set(target_type.to_string()),
        target_id: Set(target_id.to_string()),
        detail: Set(detail.to_string()),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}
