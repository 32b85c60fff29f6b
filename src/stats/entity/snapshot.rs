//! The frozen figures of one region in one closed quarter.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "stats_snapshots")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub quarter: i32,
    pub kind: String,
    pub region_code: String,
    pub sales_fen: i64,
    /// The part of `sales_fen` that corrects earlier quarters.
    pub adjustment_fen: i64,
    pub orders: i64,
    pub buyers: i64,
    pub organizations: i64,
    pub households: i64,
    pub household_fen: i64,
    /// Quantity per unit as JSON: `{"jin": "12.5"}`.
    pub quantities: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
