//! The file behind an order's invoice, as uploaded.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "order_invoice_files")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub invoice_id: i64,
    pub data: Vec<u8>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
