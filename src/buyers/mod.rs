//! The buyer side of 消费帮扶: buyer units (budget units, canteens, unions, enterprises …)
//! with their parent units and people (`units.rs`), and their yearly obligations
//! (`obligations.rs`), help relations (`relations.rs`) and campaigns (`campaigns.rs`). What units bought, and how far their quotas are met, is counted by
//! `stats::units` from the orders.

pub mod campaigns;
pub mod domain;
pub mod entity;
pub mod obligations;
pub mod relations;
pub mod units;
