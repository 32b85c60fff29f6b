//! A buyer's standing order of one listing: a quantity every week or month, placed through
//! the ordinary checkout on each period's day.
use sea_orm::entity::prelude::*;

use crate::catalog::domain::Unit;
use crate::orders::recurring::{Every, Standing};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "recurring_orders")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub buyer_id: i64,
    pub listing_id: i64,
    pub organization_id: i64,
    pub quantity_milli: i64,
    /// The unit the quantity is in; a listing that now sells in another is skipped.
    pub unit: Unit,
    /// The highest unit price the buyer takes; a dearer period is skipped.
    pub max_price_fen: i64,
    pub period: Every,
    /// The first period's day: the `n`th period falls `n` weeks or months after it.
    pub starts_on: Date,
    pub next_index: i32,
    /// The day of the next period (Beijing).
    pub next_on: Date,
    pub delivery_method_id: Option<i64>,
    pub unit_id: Option<i64>,
    pub recipient_name: String,
    pub phone: String,
    pub region_code: String,
    pub line: String,
    pub note: String,
    pub status: Standing,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
