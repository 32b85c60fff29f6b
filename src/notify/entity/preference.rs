//! Whether a person wants emails about one kind of event; no row means yes.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "notification_preferences")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub user_id: i64,
    /// The kind of event: the topic before its first dot (`order`, `proposal`).
    pub topic: String,
    pub email: bool,
    /// Gather these emails into one a day instead of sending each at once.
    pub digest: bool,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
