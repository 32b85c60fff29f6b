//! A buyer's purchase request (采购需求). Quantities in thousandths of `unit`, money in fen.
use sea_orm::entity::prelude::*;

use crate::catalog::domain::{Grade, Unit};
use crate::matching::domain::{ClosedReason, RequestStatus};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "purchase_requests")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub buyer_id: i64,
    pub title: String,
    pub note: String,
    pub category_id: i64,
    pub min_grade: Grade,
    pub unit: Unit,
    pub quantity_milli: i64,
    pub min_fill_milli: i64,
    pub min_lot_milli: i64,
    /// Quantity already turned into orders.
    pub filled_milli: i64,
    /// Highest price per `unit`.
    pub max_price_fen: i64,
    pub region_code: String,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub address_line: String,
    pub contact_name: String,
    pub contact_phone: String,
    pub deliver_by: Date,
    pub max_distance_km: i32,
    pub prefer_benefit: bool,
    pub status: RequestStatus,
    pub closed_reason: Option<ClosedReason>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::proposal::Entity")]
    Proposals,
}

impl Related<super::proposal::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Proposals.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
