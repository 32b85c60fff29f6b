//! A closed quarter: its figures are frozen in snapshots.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "stats_quarter_closes")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// `yyyy * 10 + q`.
    pub quarter: i32,
    pub closed_by: i64,
    pub closed_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
