//! One way a seller delivers: express, its own delivery, a pickup point or a warehouse.
use sea_orm::entity::prelude::*;

use crate::delivery::freight::MethodKind;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "delivery_methods")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub organization_id: i64,
    pub kind: MethodKind,
    pub name: String,
    /// Carries goods that need the cold chain.
    pub cold_chain: bool,
    /// The flat fee of own delivery, a pickup point or a warehouse.
    pub fee_fen: i64,
    /// Added to an express parcel holding cold-chain goods.
    pub cold_surcharge_fen: i64,
    /// Own delivery: the regions it serves, division codes separated by commas.
    pub area: String,
    /// Own delivery: also within this distance of the seller.
    pub radius_km: Option<i32>,
    /// A pickup point's or warehouse's region.
    pub region_code: String,
    pub address: String,
    /// A pickup point's opening hours.
    pub hours: String,
    /// A warehouse takes lots of at least this weight.
    pub min_weight_g: i64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::delivery_rate::Entity")]
    Rates,
}

impl Related<super::delivery_rate::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Rates.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
