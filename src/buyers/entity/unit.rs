//! A buyer unit (采购单位).
use sea_orm::entity::prelude::*;

use crate::buyers::domain::{UnitKind, UnitStatus};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "buyer_units")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub name: String,
    pub kind: UnitKind,
    pub region_code: String,
    /// The unit it reports to: a department above its subordinate units.
    pub parent_id: Option<i64>,
    /// Whether members' own purchases count for the unit (a union's welfare spending).
    pub counts_members: bool,
    pub status: UnitStatus,
    pub contact_name: String,
    pub contact_phone: String,
    pub created_by: i64,
    pub decided_by: Option<i64>,
    pub decided_at: Option<DateTimeUtc>,
    pub decision_note: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
