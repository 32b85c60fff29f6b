//! qudao (渠道): a marketplace that opens sales channels for producers in rural Sichuan.

#[macro_use]
mod vocab;

pub mod accounts;
pub mod administration;
pub mod audit;
pub mod backup;
pub mod buyers;
pub mod catalog;
pub mod config;
pub mod contracts;
pub mod days;
pub mod db;
pub mod delivery;
pub mod demo;
pub mod division;
pub mod error;
pub mod evidence;
pub mod fields;
pub mod fulfilment;
#[doc(hidden)]
pub mod fuzzing;
pub mod geo;
pub mod http;
pub mod kept;
pub mod matching;
pub mod metrics;
pub mod notify;
pub mod orders;
pub mod outbox;
pub mod page;
pub mod search;
pub mod startup;
pub mod stats;
pub mod throttle;

pub use config::Settings;
pub use startup::Application;
