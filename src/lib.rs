//! qudao (渠道): a marketplace that opens sales channels for producers in rural Sichuan.

#[macro_use]
mod vocab;

pub mod accounts;
pub mod api;
pub mod audit;
pub mod catalog;
pub mod config;
pub mod db;
pub mod demo;
pub mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod kept;
pub mod matching;
pub mod metrics;
pub mod notify;
pub mod orders;
pub mod outbox;
pub mod search;
pub mod startup;
pub mod state;
pub mod stats;
pub mod throttle;
pub mod web;

pub use config::Settings;
pub use startup::Application;
