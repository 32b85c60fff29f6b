//! The part of one fact attributed to one registered household.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "stats_household_income")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub fact_id: i64,
    pub kind: String,
    pub sign: i32,
    pub household_id: i64,
    pub organization_id: i64,
    pub province_code: String,
    pub prefecture_code: String,
    pub county_code: String,
    pub township_code: String,
    pub village_code: String,
    pub day: i32,
    pub amount_fen: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
