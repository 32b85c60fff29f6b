//! The statistics' tables.
pub mod fact;
pub mod filing;
pub mod filing_evidence;
pub mod filing_step;
pub mod household_income;
pub mod quarter_close;
pub mod snapshot;
pub mod target;
pub mod warning;
