//! The buyer side's tables.
pub mod member;
pub mod obligation;
pub mod relation;
pub mod unit;
