//! A person who signs in: buyer, producer staff, official or admin.
use sea_orm::entity::prelude::*;

use crate::accounts::{Language, Role};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub username: String,
    pub password_hash: String,
    pub display_name: String,
    pub role: Role,
    pub organization_id: Option<i64>,
    pub region_code: Option<String>,
    pub language: Language,
    /// Where email notifications go; none, none are sent.
    pub email: Option<String>,
    pub disabled: bool,
    /// An official who may fill in and send the quarterly 成效统计表 (reporting staff).
    pub reporter: bool,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
