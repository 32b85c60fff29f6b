//! A county's quarterly 成效统计表 on its way up the chain.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "stats_filings")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub county_code: String,
    /// `yyyy * 10 + q`.
    pub quarter: i32,
    /// `draft`, `submitted`, `returned`, `accepted` or `signed_off`.
    pub status: String,
    /// How many times it was submitted.
    pub version: i32,
    /// The declared indicators being worked on, as JSON.
    pub indicators: String,
    /// The last version submitted: its indicators and the platform's figures then, as JSON.
    pub submitted: Option<String>,
    /// The prefecture's comments on the last return, per indicator, as JSON.
    pub comments: String,
    pub first_submitted_at: Option<DateTimeUtc>,
    pub submitted_at: Option<DateTimeUtc>,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
