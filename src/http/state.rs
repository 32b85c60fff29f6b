//! What every request handler can reach.

use std::sync::Arc;

use sea_orm::DatabaseConnection;

use super::pages::{Featured, Pages};
use crate::config::Settings;
use crate::notify::mailer::Mailer;
use crate::search::SearchService;

/// Shared application state; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub settings: Arc<Settings>,
    pub pages: Arc<Pages>,
    pub search: SearchService,
    /// Where email goes: the notification worker sends through it and readiness checks it.
    pub mailer: Mailer,
    /// What `/metrics` reports of this process's requests.
    pub metrics: Arc<super::metrics::Metrics>,
    /// Whether the database is known to be unreachable right now.
    pub outage: Arc<crate::db::Outage>,
    /// Large listing totals, counted at most once every few seconds.
    pub listing_counts: Arc<crate::catalog::listings::ListingCounts>,
    /// The home page's featured counties, kept for a minute.
    pub featured_counties: Arc<crate::kept::Kept<Vec<Featured>>>,
    /// How much of their rate limits addresses and accounts have used.
    pub throttle: Arc<crate::throttle::Throttle>,
    /// Becomes true when the server starts to stop: open streams say goodbye and end, so
    /// browsers reconnect to another instance instead of holding this one up.
    pub stopping: Arc<tokio::sync::watch::Sender<bool>>,
    /// Wakes the open notification streams of users who get a notice.
    pub bell: Arc<crate::notify::bell::Bell>,
}
