//! Something for sale (商品). Money in fen, quantities in thousandths of the unit.
use sea_orm::entity::prelude::*;

use crate::catalog::domain::{Certifications, Grade, ListingStatus, Unit};

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
    pub certifications: Certifications,
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
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::organization::Entity",
        from = "Column::OrganizationId",
        to = "super::organization::Column::Id"
    )]
    Organization,
    #[sea_orm(
        belongs_to = "super::category::Entity",
        from = "Column::CategoryId",
        to = "super::category::Column::Id"
    )]
    Category,
    #[sea_orm(has_many = "super::listing_photo::Entity")]
    Photos,
}

impl Related<super::organization::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Organization.def()
    }
}

impl Related<super::category::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Category.def()
    }
}

impl Related<super::listing_photo::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Photos.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
