//! A help relation: a helper (a unit, or a region) and the county it helps, for a period.
use sea_orm::entity::prelude::*;

use crate::buyers::domain::HelpKind;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "help_relations")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub kind: HelpKind,
    /// The helping unit, when a unit helps.
    pub helper_unit_id: Option<i64>,
    /// The helping region; a helping unit's own region.
    pub helper_region_code: String,
    pub helped_county_code: String,
    pub starts_on: Date,
    pub ends_on: Option<Date>,
    pub created_by: i64,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
