//! The buyer side's tables.
pub mod campaign;
pub mod campaign_county;
pub mod campaign_listing;
pub mod campaign_pledge;
pub mod member;
pub mod obligation;
pub mod relation;
pub mod unit;
