//! A producer (经营主体): cooperative, enterprise, family farm or village agent.
use sea_orm::entity::prelude::*;

use crate::catalog::domain::{OrganizationKind, VerificationStatus};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "organizations")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub name: String,
    pub kind: OrganizationKind,
    pub region_code: String,
    pub status: VerificationStatus,
    pub description: String,
    pub contact_name: String,
    pub contact_phone: String,
    pub recommended_by: Option<i64>,
    pub recommended_at: Option<DateTimeUtc>,
    pub decided_by: Option<i64>,
    pub decided_at: Option<DateTimeUtc>,
    pub decision_note: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::listing::Entity")]
    Listings,
    #[sea_orm(has_many = "super::household::Entity")]
    Households,
}

impl Related<super::listing::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Listings.def()
    }
}

impl Related<super::household::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Households.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
