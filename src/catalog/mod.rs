//! The catalog: regions, organizations, households, categories and listings.
pub mod categories;
pub mod certificates;
pub mod domain;
pub mod draft;
pub mod entity;
pub mod illustrations;
pub mod import;
pub mod listings;
pub mod lots;
pub mod organizations;
pub mod photos;
pub mod regions;
pub mod standing;
