//! The statistics' tables.
pub mod fact;
pub mod household_income;
pub mod quarter_close;
pub mod snapshot;
pub mod target;
pub mod warning;
