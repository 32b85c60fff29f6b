//! A unit's obligation for one year: a share of its declared purchases, or a fixed amount.
use sea_orm::entity::prelude::*;

use crate::buyers::domain::ObligationKind;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "buyer_obligations")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub unit_id: i64,
    pub year: i32,
    pub kind: ObligationKind,
    /// A share: the unit's declared purchases of farm products for the year.
    pub purchases_fen: Option<i64>,
    /// A share: its basis points (1 000 = 10 %).
    pub share_bp: Option<i32>,
    /// A fixed amount per member (a union's welfare budget), with `members`.
    pub per_member_fen: Option<i64>,
    pub members: Option<i32>,
    /// What the unit is to buy from 脱贫地区 in the year, in fen.
    pub target_fen: i64,
    pub note: String,
    pub declared_by: i64,
    pub declared_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
