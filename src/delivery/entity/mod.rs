//! Fulfilment's tables.
pub mod delivery_method;
pub mod delivery_rate;
pub mod listing_shipping;
