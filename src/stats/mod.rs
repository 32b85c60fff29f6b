//! Statistics for officials (精准到户、统计到村、县建台账、省级汇总): sales facts projected
//! from the orders' changes, roll-ups for any region and period, yearly targets, quarterly reports
//! frozen at closing, exports and server-rendered charts.

pub mod access;
pub mod aggregates;
pub mod buyers;
pub mod chart;
pub mod domain;
pub mod entity;
pub mod facts;
pub mod filings;
pub mod prices;
pub mod projector;
pub mod reports;
pub mod rollup;
pub mod targets;
pub mod trust;
pub mod units;
pub mod views;
pub mod warnings;

pub use facts::record_order_changes;
