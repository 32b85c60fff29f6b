//! An early warning for officials, and its acknowledgement.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "stats_warnings")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// `unsold`, `behind_target` or `income_drop`.
    pub kind: String,
    /// The region whose officials see it: the listing's or household's county, the target's
    /// region.
    pub region_code: String,
    /// What it is about: a listing id, a region code or a household's internal id.
    pub subject: String,
    /// What raised it: the day a listing was found unsold, the quarter a pace or an income was
    /// measured at.
    pub occasion: String,
    /// The figures behind it, as JSON.
    pub detail: String,
    pub raised_at: DateTimeUtc,
    /// When the listing sold again, went out of stock or out of season (滞销 only).
    pub cleared_at: Option<DateTimeUtc>,
    pub acknowledged_at: Option<DateTimeUtc>,
    pub acknowledged_by: Option<i64>,
    pub note: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
