//! One listing on an order, with the listing as it was when bought.
use sea_orm::entity::prelude::*;

use crate::catalog::domain::Unit;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Deserialize)]
#[sea_orm(table_name = "order_lines")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub order_id: i64,
    pub listing_id: i64,
    pub category_id: i64,
    pub title: String,
    pub unit: Unit,
    pub unit_price_fen: i64,
    pub quantity_milli: i64,
    pub amount_fen: i64,
    pub seller_region_code: String,
    /// Whether the listing carried a certificate in effect when it was bought.
    #[serde(default, deserialize_with = "bool_or_bit")]
    pub certified: bool,
    /// Whether it carried a 消费帮扶产品认定 in effect then: what counts where rules ask for
    /// recognised products.
    #[serde(default, deserialize_with = "bool_or_bit")]
    pub recognised: bool,
    /// What the seller shipped, once shipped; `None` before, or for an order shipped before
    /// partial shipments were recorded (it shipped in full).
    #[serde(default)]
    pub shipped_milli: Option<i64>,
    /// What the buyer accepted as received, once delivered.
    #[serde(default)]
    pub received_milli: Option<i64>,
    /// Refunded for what was ordered and not received: `amount_fen` less the received
    /// quantity's amount.
    #[serde(default)]
    pub short_fen: i64,
}

/// A boolean as a database's JSON writes it: `true`/`false` (PostgreSQL) or `1`/`0` (SQLite).
fn bool_or_bit<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum Flag {
        Bool(bool),
        Bit(i64),
    }
    Ok(match <Flag as serde::Deserialize>::deserialize(d)? {
        Flag::Bool(b) => b,
        Flag::Bit(n) => n != 0,
    })
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::order::Entity",
        from = "Column::OrderId",
        to = "super::order::Column::Id"
    )]
    Order,
    #[sea_orm(
        belongs_to = "crate::catalog::entity::listing::Entity",
        from = "Column::ListingId",
        to = "crate::catalog::entity::listing::Column::Id"
    )]
    Listing,
}

impl Related<super::order::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Order.def()
    }
}

impl Related<crate::catalog::entity::listing::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Listing.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
