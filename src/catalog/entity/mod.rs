//! The catalog's tables.
pub mod category;
pub mod category_alias;
pub mod certificate;
pub mod certificate_file;
pub mod certificate_listing;
pub mod certificate_objection;
pub mod household;
pub mod listing;
pub mod listing_photo;
pub mod listing_photo_image;
pub mod lot;
pub mod organization;
pub mod region;
