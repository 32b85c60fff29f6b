//! An administrative division (行政区划), keyed by its national code.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "regions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub code: String,
    pub parent_code: Option<String>,
    pub level: i16,
    pub name: String,
    pub name_en: String,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    /// For a former poverty county (原贫困县): the year it met the exit criteria.
    pub poverty_exit: Option<i16>,
    /// `national` or `provincial` for a 乡村振兴重点帮扶县.
    pub assistance_key: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
