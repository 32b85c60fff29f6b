//! The part of one fact attributed to one registered household.
use sea_orm::entity::prelude::*;

use crate::stats::domain::Basis;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "stats_household_income")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub fact_id: i64,
    pub kind: Basis,
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
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::fact::Entity",
        from = "Column::FactId",
        to = "super::fact::Column::Id"
    )]
    Fact,
}

impl Related<super::fact::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Fact.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
