//! One period of a recurring order: the order it placed, or why it was skipped. The unique
//! key (recurring order, period day) lets a period run once, whatever runs it.
use sea_orm::entity::prelude::*;

use crate::orders::recurring::Outcome;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "recurring_runs")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub recurring_order_id: i64,
    pub period_on: Date,
    pub outcome: Outcome,
    pub order_id: Option<i64>,
    /// Why it was skipped: a stable code (`price_changed`, an order refusal's code, `missed`).
    pub reason: String,
    /// The refusal's message, for people.
    pub detail: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
