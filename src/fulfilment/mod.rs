//! Fulfilment: what happens to orders once placed, on the seller's side: the day's packing
//! and pick lists (`packing.rs`).

pub mod packing;
