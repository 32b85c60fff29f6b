//! The invoice (发票) a seller recorded for an order.
use sea_orm::entity::prelude::*;

use crate::orders::invoices::InvoiceKind;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Deserialize)]
#[sea_orm(table_name = "order_invoices")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub order_id: i64,
    pub kind: InvoiceKind,
    pub number: String,
    pub amount_fen: i64,
    pub issued_on: Date,
    /// The file's name as uploaded, cleaned; empty until one is attached.
    pub file_name: String,
    /// `application/pdf`, `image/jpeg` or `image/png`, judged from the content.
    pub file_type: String,
    pub recorded_by: i64,
    pub recorded_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
