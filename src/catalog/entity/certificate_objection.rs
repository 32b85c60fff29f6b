//! An objection lodged against a certificate during its public notice, and its decision.
use sea_orm::entity::prelude::*;

use crate::catalog::domain::ObjectionStatus;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "certificate_objections")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub certificate_id: i64,
    pub user_id: i64,
    pub reason: String,
    pub status: ObjectionStatus,
    /// The deciding official's reasons.
    pub decision: Option<String>,
    pub decided_by: Option<i64>,
    pub created_at: DateTimeUtc,
    pub decided_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
