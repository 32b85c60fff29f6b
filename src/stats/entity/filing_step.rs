//! One step of a filing: saved, submitted, returned, accepted or signed off.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "stats_filing_steps")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub filing_id: i64,
    /// The filing's version after the step.
    pub version: i32,
    /// `save`, `submit`, `return`, `accept` or `sign_off`.
    pub action: String,
    /// The filing's status after the step.
    pub status: String,
    /// The declared indicators at the step, as JSON.
    pub indicators: String,
    /// The platform's figures sent with a submission, as JSON.
    pub platform: Option<String>,
    /// A return's comments per indicator, as JSON.
    pub comments: String,
    pub actor_id: i64,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
