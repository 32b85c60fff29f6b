//! A side effect waiting to leave: written in the same transaction as its cause.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "outbox")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub channel: String,
    pub topic: String,
    pub aggregate_type: String,
    pub aggregate_id: i64,
    pub payload: String,
    pub attempts: i32,
    pub created_at: DateTimeUtc,
    pub available_at: DateTimeUtc,
    pub locked_until: Option<DateTimeUtc>,
    pub locked_by: Option<String>,
    pub delivered_at: Option<DateTimeUtc>,
    pub last_error: Option<String>,
    /// Set when the row used up its attempts.
    pub dead_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
