//! How much of an order line was filled from one lot, bound when the order shipped.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "order_line_lots")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub order_line_id: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub lot_id: i64,
    /// In the line's unit, thousandths.
    pub quantity_milli: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
