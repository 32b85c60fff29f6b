//! Delivery: how sellers deliver and what it costs. Each seller keeps methods (`methods.rs`):
//! express with a rate table, its own delivery, pickup points and consolidation warehouses;
//! listings say what they need to travel; the freight rules themselves are pure
//! (`freight.rs`), so a charge can be reproduced from the snapshot an order keeps.

pub mod entity;
pub mod freight;
pub mod methods;
