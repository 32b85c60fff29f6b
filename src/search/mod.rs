//! Search: one document model and one request model behind a seam with two engines —
//! Meilisearch when `QUDAO_MEILI_URL` is set, an embedded tantivy index otherwise —
//! kept in step with the database by the outbox relay.

pub mod document;
pub mod embedded;
pub mod lexicon;
pub mod meili;
pub mod queries;
pub mod query;
pub mod relay;
pub mod saved;
pub mod service;
pub mod text;
pub mod vocabulary;

use std::collections::BTreeMap;
use std::future::Future;

pub use document::SearchDocument;
pub use query::{SearchRequest, SearchResults};
pub use service::SearchService;

/// Why an engine could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// The engine cannot be reached or refused to work; try again later.
    #[error("the search engine is unavailable: {0}")]
    Unavailable(String),
    /// Something that retrying will not fix.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// An index being built beside the live one, to replace it in one step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Staging(pub String);

/// What every search engine does for qudao.
pub trait SearchEngine: Send + Sync {
    /// A short name for logs and answers: `embedded` or `meilisearch`.
    fn name(&self) -> &'static str;

    /// Applies qudao's index settings and synonyms to the live index.
    fn configure(
        &self,
        synonyms: &BTreeMap<String, Vec<String>>,
    ) -> impl Future<Output = Result<(), SearchError>> + Send;

    /// Adds or replaces documents, in the staging index when given, else the live one.
    fn upsert(
        &self,
        target: Option<&Staging>,
        docs: Vec<SearchDocument>,
    ) -> impl Future<Output = Result<(), SearchError>> + Send;

    /// Removes documents by listing id from the live index; unknown ids are fine.
    fn delete(&self, ids: Vec<i64>) -> impl Future<Output = Result<(), SearchError>> + Send;

    /// Answers one page of a checked request.
    fn search(
        &self,
        req: &SearchRequest,
    ) -> impl Future<Output = Result<SearchResults, SearchError>> + Send;

    /// Starts an empty index with the live settings, to be filled and published.
    fn create_staging(
        &self,
        synonyms: &BTreeMap<String, Vec<String>>,
    ) -> impl Future<Output = Result<Staging, SearchError>> + Send;

    /// Makes the staging index the live one in one step and drops the old one.
    fn publish(&self, staging: Staging) -> impl Future<Output = Result<(), SearchError>> + Send;

    /// Drops a staging index that will not be published, with whatever was sent to it.
    fn discard(&self, staging: Staging) -> impl Future<Output = Result<(), SearchError>> + Send;

    /// Notices changes made by another process (a `qudao reindex`), if the engine needs to.
    fn refresh(&self) -> impl Future<Output = Result<(), SearchError>> + Send;

    /// Whether the engine answers now.
    fn health(&self) -> impl Future<Output = Result<(), SearchError>> + Send;

    /// Whether this process may write the live index: always for a shared server; for an
    /// index on disk, true for the one process holding its write lock (which it takes here
    /// if it is free, and which the system frees when that process ends).
    fn claim_writer(&self) -> impl Future<Output = Result<bool, SearchError>> + Send;
}

/// The engine chosen by the settings.
pub enum Engine {
    Embedded(embedded::EmbeddedEngine),
    Meili(meili::MeiliEngine),
}

impl Engine {
    /// True when the engine started from an empty index it just created and should be filled.
    pub fn is_fresh(&self) -> bool {
        match self {
            Engine::Embedded(e) => e.is_fresh(),
            Engine::Meili(_) => false,
        }
    }

    /// Meilisearch when a URL is configured, otherwise the embedded index under the data directory.
    pub fn from_settings(settings: &crate::Settings) -> anyhow::Result<Self> {
        Ok(match &settings.meili_url {
            Some(url) => Engine::Meili(meili::MeiliEngine::new(
                url,
                settings.meili_key.as_deref(),
                &settings.meili_index,
            )?),
            None => Engine::Embedded(embedded::EmbeddedEngine::open(
                settings.data_dir.join("search"),
            )?),
        })
    }
}

/// Forwards each call to the engine in use.
macro_rules! delegate {
    ($self:ident, $e:ident => $call:expr) => {
        match $self {
            Engine::Embedded($e) => $call,
            Engine::Meili($e) => $call,
        }
    };
}

impl SearchEngine for Engine {
    fn name(&self) -> &'static str {
        delegate!(self, e => e.name())
    }

    async fn configure(&self, synonyms: &BTreeMap<String, Vec<String>>) -> Result<(), SearchError> {
        delegate!(self, e => e.configure(synonyms).await)
    }

    async fn upsert(
        &self,
        target: Option<&Staging>,
        docs: Vec<SearchDocument>,
    ) -> Result<(), SearchError> {
        delegate!(self, e => e.upsert(target, docs).await)
    }

    async fn delete(&self, ids: Vec<i64>) -> Result<(), SearchError> {
        delegate!(self, e => e.delete(ids).await)
    }

    async fn search(&self, req: &SearchRequest) -> Result<SearchResults, SearchError> {
        delegate!(self, e => e.search(req).await)
    }

    async fn create_staging(
        &self,
        synonyms: &BTreeMap<String, Vec<String>>,
    ) -> Result<Staging, SearchError> {
        delegate!(self, e => e.create_staging(synonyms).await)
    }

    async fn publish(&self, staging: Staging) -> Result<(), SearchError> {
        delegate!(self, e => e.publish(staging).await)
    }

    async fn discard(&self, staging: Staging) -> Result<(), SearchError> {
        delegate!(self, e => e.discard(staging).await)
    }

    async fn refresh(&self) -> Result<(), SearchError> {
        delegate!(self, e => e.refresh().await)
    }

    async fn health(&self) -> Result<(), SearchError> {
        delegate!(self, e => e.health().await)
    }

    async fn claim_writer(&self) -> Result<bool, SearchError> {
        delegate!(self, e => e.claim_writer().await)
    }
}
