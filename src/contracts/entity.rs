//! A season contract (订单农业) between a buyer and a cooperative.
use sea_orm::entity::prelude::*;

use super::{ContractStatus, Pricing};
use crate::catalog::domain::{Grade, Unit};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "season_contracts")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub buyer_id: i64,
    pub organization_id: i64,
    /// The listing the product is sold under; its title, category, unit and grade are kept
    /// as they were agreed.
    pub listing_id: i64,
    pub category_id: i64,
    pub title: String,
    pub unit: Unit,
    pub grade: Grade,
    /// Where the goods come from: the listing's origin when agreed.
    pub region_code: String,
    pub quantity_milli: i64,
    pub window_start: Date,
    pub window_end: Date,
    pub pricing: Pricing,
    /// The fixed price, or the floor under the market's.
    pub price_fen: i64,
    /// The deposit agreed, and what the seller has recorded receiving of it.
    pub deposit_fen: i64,
    pub deposit_paid_fen: i64,
    pub deposit_paid_on: Option<Date>,
    pub recipient_name: String,
    pub phone: String,
    pub address_region_code: String,
    pub line: String,
    pub note: String,
    pub status: ContractStatus,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub signed_at: Option<DateTimeUtc>,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
