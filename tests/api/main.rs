//! End-to-end tests of the qudao API against the real application on a random port,
//! each on SQLite and on PostgreSQL.

mod helpers;

mod accounts;
mod authorization;
mod backup;
mod bad_input;
mod binary;
mod browser;
mod busy;
mod certificates;
mod contracts;
mod delivery;
mod email_settings;
mod forms;
mod fulfilment;
mod generated;
mod headers;
mod import;
mod invoices;
mod layers;
mod listings;
mod lots;
mod matching;
mod metrics;
mod notify;
mod onboarding;
mod orders;
mod organizations;
mod pages;
mod photos;
mod processes;
mod readiness;
mod recurring;
mod restart;
mod saved_searches;
mod search;
mod search_relay;
mod search_relevance;
mod season_matching;
mod short;
mod stats;
mod storage;
mod targets;
mod throttling;
mod units;
