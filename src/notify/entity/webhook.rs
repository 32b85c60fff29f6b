//! An HTTPS endpoint an organization registered to receive its events.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhooks")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub organization_id: i64,
    pub url: String,
    /// The key of the HMAC-SHA256 signature on every delivery.
    pub secret: String,
    /// Comma-separated topic prefixes (`order.`, `proposal.created`), or `*` for all.
    pub topics: String,
    pub active: bool,
    pub created_by: i64,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl Model {
    /// True if this endpoint asked for events of `topic`.
    pub fn wants(&self, topic: &str) -> bool {
        self.topics
            .split(',')
            .map(str::trim)
            .any(|t| t == "*" || topic == t || (t.ends_with('.') && topic.starts_with(t)))
    }
}
