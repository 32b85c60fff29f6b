//! What the rest of qudao uses: searching with the strict-then-loose strategy, the
//! vocabulary in memory, and full rebuilds.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, DatabaseConnection};
use tokio::sync::watch;

use super::document::{self, for_each_batch};
use super::queries::QueryLog;
use super::query::{SearchParams, SearchResults, parse};
use super::vocabulary::Vocabulary;
use super::{Engine, SearchEngine, SearchError, SearchRequest, Staging};
use crate::error::{AppError, AppResult};

/// Listings per batch when rebuilding the whole index.
pub const REBUILD_BATCH: u64 = 1000;

/// How often an instance looks for an index another instance wrote to a shared disk.
pub const FOLLOW_EVERY: Duration = Duration::from_secs(1);

/// How often an instance re-reads the vocabulary, so that a synonym an admin adds through one
/// instance reaches the searches of every instance, whether or not it runs a relay.
pub const VOCABULARY_EVERY: Duration = Duration::from_secs(5);

/// Search for handlers, the relay and `qudao reindex`; cheap to clone.
#[derive(Clone)]
pub struct SearchService {
    engine: Arc<Engine>,
    vocabulary: Arc<RwLock<Arc<Vocabulary>>>,
    /// How long the engine takes per query, for `/metrics`.
    latency: Arc<crate::metrics::Histogram>,
    /// What was searched for, until it is written.
    queries: Arc<QueryLog>,
}

/// How often an instance writes the searches it counted.
pub const QUERIES_EVERY: Duration = Duration::from_secs(10);

impl From<SearchError> for AppError {
    fn from(e: SearchError) -> Self {
        match e {
            SearchError::Unavailable(msg) => {
                tracing::warn!(error = %msg, "search engine unavailable");
                AppError::Unavailable(
                    "search_unavailable",
                    "search is unavailable right now; please try again shortly".into(),
                )
            }
            SearchError::Internal(e) => AppError::Internal(e),
        }
    }
}

impl SearchService {
    /// Wraps an engine, with the vocabulary read from the database.
    pub async fn new(engine: Engine, db: &impl ConnectionTrait) -> Result<Self, sea_orm::DbErr> {
        let vocab = document::load_vocabulary(db).await?;
        Ok(SearchService {
            engine: Arc::new(engine),
            vocabulary: Arc::new(RwLock::new(Arc::new(vocab))),
            latency: Default::default(),
            queries: Default::default(),
        })
    }

    /// Wraps an engine with a vocabulary at hand instead of one read from a database (the
    /// relevance benchmark builds it with [`Vocabulary::from_reference`]); it stays as
    /// given until [`SearchService::reload_vocabulary`].
    pub fn with_vocabulary(engine: Engine, vocabulary: Vocabulary) -> Self {
        SearchService {
            engine: Arc::new(engine),
            vocabulary: Arc::new(RwLock::new(Arc::new(vocabulary))),
            latency: Default::default(),
            queries: Default::default(),
        }
    }

    /// The engine in use.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// How long the engine has taken per query.
    pub fn latency(&self) -> &crate::metrics::Histogram {
        &self.latency
    }

    /// The searches counted and not yet written.
    pub fn queries(&self) -> &QueryLog {
        &self.queries
    }

    /// The vocabulary as last loaded.
    pub fn vocabulary(&self) -> Arc<Vocabulary> {
        self.vocabulary.read().expect("vocabulary lock").clone()
    }

    /// Re-reads the taxonomy, synonyms and places from the database, and builds the
    /// vocabulary anew only when they changed; the one in use otherwise.
    pub async fn reload_vocabulary(
        &self,
        db: &impl ConnectionTrait,
    ) -> Result<Arc<Vocabulary>, sea_orm::DbErr> {
        let (categories, places) = document::vocabulary_sources(db).await?;
        let current = self.vocabulary();
        if current.is_built_from(&categories, &places) {
            return Ok(current);
        }
        let vocab = Arc::new(Vocabulary::new(categories, places));
        *self.vocabulary.write().expect("vocabulary lock") = vocab.clone();
        Ok(vocab)
    }

    /// Keeps this instance's searches in step with what other instances change (a newer
    /// index on a shared disk, the vocabulary) until `stop` turns true. Every serving
    /// instance runs this, relay or not.
    pub async fn follow(self, db: DatabaseConnection, mut stop: watch::Receiver<bool>) {
        let mut vocabulary_read = Instant::now();
        let mut queries_written = Instant::now();
        loop {
            tokio::select! {
                _ = tokio::time::sleep(FOLLOW_EVERY) => {}
                _ = stop.changed() => break,
            }
            if queries_written.elapsed() >= QUERIES_EVERY {
                self.write_queries(&db).await;
                queries_written = Instant::now();
            }
            if let Err(e) = self.engine.refresh().await {
                tracing::warn!(error = %e, "could not reopen the search index");
            }
            if vocabulary_read.elapsed() >= VOCABULARY_EVERY {
                match self.reload_vocabulary(&db).await {
                    Ok(_) => vocabulary_read = Instant::now(),
                    Err(e) => tracing::warn!(error = %e, "could not re-read the search vocabulary"),
                }
            }
        }
        self.write_queries(&db).await;
    }

    async fn write_queries(&self, db: &DatabaseConnection) {
        let today = crate::days::local_date(chrono::Utc::now());
        if let Err(e) = self.queries.write(db, today).await {
            tracing::warn!(error = %e, "could not write the counted searches");
        }
    }

    /// Checks the parameters and searches: strictly first, loosely (product words still
    /// required) only when the strict search finds nothing.
    pub async fn search(&self, params: &SearchParams) -> AppResult<(SearchRequest, SearchResults)> {
        let req = parse(params, &self.vocabulary())?;
        let mut results = self.timed(&req).await?;
        let mut req = req;
        if results.total == 0 && req.can_loosen() {
            req = req.loosened();
            results = self.timed(&req).await?;
        }
        // A query is counted once, on its first page.
        if let Some(q) = params.q.as_deref()
            && req.page == 1
        {
            self.queries.searched(q, results.total);
        }
        Ok((req, results))
    }

    /// One query to the engine, its time recorded whether it answers or not.
    async fn timed(&self, req: &SearchRequest) -> Result<SearchResults, SearchError> {
        let started = std::time::Instant::now();
        let results = self.engine.search(req).await;
        self.latency.observe(started.elapsed());
        results
    }

    /// Sends every listing to the staging index in batches; returns how many.
    async fn fill(
        &self,
        db: &impl ConnectionTrait,
        vocab: &Vocabulary,
        staging: &Staging,
    ) -> anyhow::Result<u64> {
        let engine = self.engine.clone();
        for_each_batch(db, vocab, REBUILD_BATCH, |docs| {
            let engine = engine.clone();
            let target = staging.clone();
            async move {
                engine
                    .upsert(Some(&target), docs)
                    .await
                    .map_err(anyhow::Error::from)
            }
        })
        .await
    }

    /// Rebuilds the whole index from the database into a fresh index and switches to it
    /// in one step; returns the number of listings indexed.
    pub async fn rebuild(&self, db: &impl ConnectionTrait) -> anyhow::Result<u64> {
        // Changes committed while the index is rebuilt are replayed into the new one.
        let start = super::relay::last_row_id(db).await?;
        let vocab = self.reload_vocabulary(db).await?;
        let synonyms = vocab.synonyms();
        self.engine.configure(&synonyms).await?;
        let staging = self.engine.create_staging(&synonyms).await?;
        let built = async {
            let count = self.fill(db, &vocab, &staging).await?;
            self.engine.publish(staging.clone()).await?;
            anyhow::Ok(count)
        }
        .await;
        let count = match built {
            Ok(count) => count,
            Err(e) => {
                // A rebuild that failed leaves neither an index nor its batches behind.
                if let Err(d) = self.engine.discard(staging).await {
                    tracing::warn!(error = %d, "dropping the unfinished rebuild's index");
                }
                return Err(e);
            }
        };
        super::relay::replay_since(db, start).await?;
        Ok(count)
    }
}

impl From<sea_orm::DbErr> for SearchError {
    fn from(e: sea_orm::DbErr) -> Self {
        SearchError::Internal(e.into())
    }
}
