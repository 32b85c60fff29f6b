//! A line in a buyer's cart.
use sea_orm::entity::prelude::*;

use crate::catalog::domain::Unit;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "cart_items")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub user_id: i64,
    pub listing_id: i64,
    pub quantity_milli: i64,
    /// The unit the buyer saw when adding; checkout refuses the line if the listing changed it.
    pub unit: Unit,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "crate::catalog::entity::listing::Entity",
        from = "Column::ListingId",
        to = "crate::catalog::entity::listing::Column::Id"
    )]
    Listing,
}

impl Related<crate::catalog::entity::listing::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Listing.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
