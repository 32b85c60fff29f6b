//! A campaign: a window of days in which buying for 消费帮扶 is concentrated.
use sea_orm::entity::prelude::*;

use crate::buyers::domain::CampaignKind;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "campaigns")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub name: String,
    pub kind: CampaignKind,
    pub description: String,
    /// The first and last day (Beijing time), both included.
    pub starts_on: Date,
    pub ends_on: Date,
    pub organizer_id: i64,
    /// The organizer's reach: the counties taking part lie within it.
    pub region_code: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
