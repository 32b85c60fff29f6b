//! One notice to one person about one event, shown in the app until read.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "notifications")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub user_id: i64,
    /// The outbox row (event) it tells of.
    pub event_id: i64,
    pub topic: String,
    pub title: String,
    pub body: String,
    pub link: Option<String>,
    pub read_at: Option<DateTimeUtc>,
    /// Its email waits for the person's daily digest.
    pub digest_pending: bool,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
