//! Stored matching records.

pub mod proposal;
pub mod purchase_request;
