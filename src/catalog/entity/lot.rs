//! A lot (批次) of a listing: when and where it was harvested or made, by how many member
//! households, how much; its public code leads its label's QR code to the trace page.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "lots")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub listing_id: i64,
    pub organization_id: i64,
    /// The public code of its trace page (`/t/{code}`).
    pub code: String,
    pub harvested_on: Date,
    /// The base or plot it came from.
    pub base: String,
    /// The village (or township) it came from.
    pub village_code: String,
    /// How many member households took part.
    pub households: i32,
    /// In the listing's unit, thousandths.
    pub quantity_milli: i64,
    /// How often its trace page was opened.
    pub scans: i64,
    pub created_by: i64,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
