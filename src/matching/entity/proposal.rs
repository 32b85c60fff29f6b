//! A proposed allocation of a listing to a purchase request, waiting for both sides.
use sea_orm::entity::prelude::*;

use crate::catalog::domain::Unit;
use crate::matching::domain::{ProposalKind, ProposalStatus};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "match_proposals")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub request_id: i64,
    pub listing_id: i64,
    pub organization_id: i64,
    /// In the request's unit.
    pub quantity_milli: i64,
    /// The same quantity in the listing's unit.
    pub listing_quantity_milli: i64,
    pub listing_unit: Unit,
    /// The listing's price per its unit when proposed.
    pub unit_price_fen: i64,
    pub amount_fen: i64,
    pub distance_m: i64,
    pub status: ProposalStatus,
    pub buyer_accepted_at: Option<DateTimeUtc>,
    pub producer_accepted_at: Option<DateTimeUtc>,
    pub closed_by: Option<String>,
    pub reason: String,
    pub order_id: Option<i64>,
    /// An order from stock, or a season contract for a request dated in the listing's coming
    /// season.
    pub kind: ProposalKind,
    /// A contract's delivery window: from the season's first day to the request's date.
    pub window_start: Option<Date>,
    pub window_end: Option<Date>,
    /// The contract it became.
    pub contract_id: Option<i64>,
    pub expires_at: DateTimeUtc,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::purchase_request::Entity",
        from = "Column::RequestId",
        to = "super::purchase_request::Column::Id"
    )]
    Request,
    #[sea_orm(
        belongs_to = "crate::catalog::entity::listing::Entity",
        from = "Column::ListingId",
        to = "crate::catalog::entity::listing::Column::Id"
    )]
    Listing,
}

impl Related<super::purchase_request::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Request.def()
    }
}

impl Related<crate::catalog::entity::listing::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Listing.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
