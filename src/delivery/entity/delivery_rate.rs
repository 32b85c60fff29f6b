//! One row of an express method's rate table: first weight and each additional step, for one
//! destination province (or, with an empty code, every province without a row of its own).
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "delivery_rates")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub method_id: i64,
    pub province_code: String,
    pub first_weight_g: i64,
    pub first_fee_fen: i64,
    pub step_weight_g: i64,
    pub step_fee_fen: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::delivery_method::Entity",
        from = "Column::MethodId",
        to = "super::delivery_method::Column::Id"
    )]
    Method,
}

impl Related<super::delivery_method::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Method.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
