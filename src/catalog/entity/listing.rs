//! Something for sale (商品). Money in fen, quantities in thousandths of the unit.
use sea_orm::entity::prelude::*;

use crate::catalog::domain::{Grade, ListingStatus, Unit};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "listings")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub organization_id: i64,
    pub category_id: i64,
    pub title: String,
    pub description: String,
    pub unit: Unit,
    pub price_fen: i64,
    pub stock_milli: i64,
    pub min_order_milli: i64,
    pub sold_milli: i64,
    pub grade: Grade,
    pub season_start: Option<i32>,
    pub season_end: Option<i32>,
    pub certifications: String,
    pub origin_region_code: String,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub status: ListingStatus,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub deleted_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
