//! The search relay: claims `search` outbox rows, re-reads the listings they name and
//! upserts or deletes them in the engine. Idempotent (it always writes what the database
//! holds now), retried with exponential backoff while the engine is down, and safe to run
//! in several processes (rows are leased; on PostgreSQL claimed with `SKIP LOCKED`).

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::Utc;
use sea_orm::sea_query::{Expr, ExprTrait, LockBehavior, LockType};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, TransactionTrait,
};
use tokio::sync::watch;

use super::document;
use super::{SearchEngine, SearchService};
use crate::catalog::entity::listing;
use crate::catalog::listings::category_and_descendants;
use crate::outbox::Channel;
use crate::outbox::entity as outbox;

/// How the relay paces itself.
#[derive(Debug, Clone)]
pub struct RelayConfig {
    /// Rows claimed at once.
    pub batch: u64,
    /// Pause when there is nothing to do: the longest a change waits while the relay is idle.
    pub idle: Duration,
    /// How long a claim lasts before another relay may take the rows over.
    pub lease: Duration,
    /// First retry delay; doubles with every failed attempt up to `backoff_max`.
    pub backoff_base: Duration,
    pub backoff_max: Duration,
}

impl Default for RelayConfig {
    fn default() -> Self {
        RelayConfig {
            batch: 500,
            idle: Duration::from_millis(200),
            lease: Duration::from_secs(120),
            backoff_base: Duration::from_millis(500),
            backoff_max: Duration::from_secs(60),
        }
    }
}

/// The delay before retry number `attempts` (1 for the first failure).
pub fn backoff(config: &RelayConfig, attempts: i32) -> Duration {
    let exp = attempts.clamp(1, 30) as u32 - 1;
    config
        .backoff_base
        .saturating_mul(2u32.saturating_pow(exp))
        .min(config.backoff_max)
}

/// Keeps one engine in step with the database.
pub struct Relay {
    db: DatabaseConnection,
    search: SearchService,
    config: RelayConfig,
    worker: String,
    configured: bool,
}

/// What one pass of the relay did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pass {
    /// Outbox rows delivered.
    pub delivered: usize,
    /// Rows claimed but not delivered (the engine failed); they wait for their backoff.
    pub failed: usize,
}

impl Relay {
    /// A relay for `search` on `db`.
    pub fn new(db: DatabaseConnection, search: SearchService, config: RelayConfig) -> Self {
        Relay {
            db,
            search,
            config,
            worker: format!("relay-{}", uuid::Uuid::new_v4().simple()),
            configured: false,
        }
    }

    /// Runs until `stop` turns true.
    pub async fn run(mut self, mut stop: watch::Receiver<bool>) {
        tracing::info!(engine = self.search.engine().name(), "search relay started");
        loop {
            let pause = match self.run_once().await {
                Ok(p) if p.delivered > 0 => Duration::ZERO,
                Ok(_) => self.config.idle,
                Err(e) => {
                    tracing::warn!(error = %e, "search relay pass failed");
                    self.config.idle
                }
            };
            if *stop.borrow() {
                break;
            }
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = stop.changed() => break,
            }
        }
        tracing::info!("search relay stopped");
    }

    /// One pass: claim a batch, deliver it, record the outcome.
    pub async fn run_once(&mut self) -> anyhow::Result<Pass> {
        let engine = self.search.engine();
        if let Err(e) = engine.refresh().await {
            tracing::warn!(error = %e, "could not reopen the search index");
        }
        let rows = claim(&self.db, &self.worker, &self.config).await?;
        if rows.is_empty() {
            if !self.configured {
                self.configure().await.ok();
            }
            return Ok(Pass::default());
        }
        match self.deliver(&rows).await {
            Ok(()) => {
                finish(&self.db, &self.worker, &rows, None, &self.config).await?;
                Ok(Pass {
                    delivered: rows.len(),
                    failed: 0,
                })
            }
            Err(e) => {
                let msg = format!("{e:#}");
                tracing::warn!(error = %msg, rows = rows.len(), "search relay will retry");
                finish(&self.db, &self.worker, &rows, Some(&msg), &self.config).await?;
                Ok(Pass {
                    delivered: 0,
                    failed: rows.len(),
                })
            }
        }
    }

    async fn configure(&mut self) -> anyhow::Result<()> {
        let vocab = self.search.reload_vocabulary(&self.db).await?;
        self.search.engine().configure(&vocab.synonyms()).await?;
        self.configured = true;
        Ok(())
    }

    async fn deliver(&mut self, rows: &[outbox::Model]) -> anyhow::Result<()> {
        let categories: Vec<i64> = rows
            .iter()
            .filter(|r| r.aggregate_type == "category")
            .map(|r| r.aggregate_id)
            .collect();
        if !self.configured || !categories.is_empty() {
            self.configure().await?;
        }
        let mut ids: BTreeSet<i64> = rows
            .iter()
            .filter(|r| r.aggregate_type == "listing")
            .map(|r| r.aggregate_id)
            .collect();
        for c in categories {
            let cats = category_and_descendants(&self.db, c).await?;
            let affected = listing::Entity::find()
                .select_only()
                .column(listing::Column::Id)
                .filter(listing::Column::CategoryId.is_in(cats))
                .into_tuple::<i64>()
                .all(&self.db)
                .await?;
            ids.extend(affected);
        }
        let ids: Vec<i64> = ids.into_iter().collect();
        let vocab = self.search.vocabulary();
        let mut upserts = Vec::new();
        let mut deletes = Vec::new();
        for (id, doc) in document::current(&self.db, &vocab, &ids).await? {
            match doc {
                Some(d) => upserts.push(d),
                None => deletes.push(id),
            }
        }
        let engine = self.search.engine();
        engine.upsert(None, upserts).await?;
        engine.delete(deletes).await?;
        Ok(())
    }
}

/// Leases up to a batch of due rows of the search channel to `worker`.
async fn claim(
    db: &DatabaseConnection,
    worker: &str,
    config: &RelayConfig,
) -> Result<Vec<outbox::Model>, sea_orm::DbErr> {
    let now = Utc::now();
    let until = now + chrono::Duration::from_std(config.lease).unwrap_or_default();
    let free = Condition::any()
        .add(outbox::Column::LockedUntil.is_null())
        .add(outbox::Column::LockedUntil.lt(now));
    let txn = db.begin().await?;
    let mut candidates = outbox::Entity::find()
        .select_only()
        .column(outbox::Column::Id)
        .filter(outbox::Column::Channel.eq(Channel::Search.as_str()))
        .filter(outbox::Column::DeliveredAt.is_null())
        .filter(outbox::Column::AvailableAt.lte(now))
        .filter(free.clone())
        .order_by_asc(outbox::Column::Id)
        .limit(config.batch);
    if txn.get_database_backend() == DbBackend::Postgres {
        candidates = candidates.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
    }
    let ids: Vec<i64> = candidates.into_tuple().all(&txn).await?;
    if ids.is_empty() {
        txn.commit().await?;
        return Ok(Vec::new());
    }
    // Re-checking the lease in the update keeps two SQLite processes from sharing rows.
    outbox::Entity::update_many()
        .col_expr(outbox::Column::LockedUntil, Expr::value(until))
        .col_expr(outbox::Column::LockedBy, Expr::value(worker))
        .filter(outbox::Column::Id.is_in(ids.clone()))
        .filter(free)
        .exec(&txn)
        .await?;
    txn.commit().await?;
    outbox::Entity::find()
        .filter(outbox::Column::Id.is_in(ids))
        .filter(outbox::Column::LockedBy.eq(worker))
        .order_by_asc(outbox::Column::Id)
        .all(db)
        .await
}

/// Marks claimed rows delivered, or, after a failure, schedules their retry.
async fn finish(
    db: &DatabaseConnection,
    worker: &str,
    rows: &[outbox::Model],
    error: Option<&str>,
    config: &RelayConfig,
) -> Result<(), sea_orm::DbErr> {
    let now = Utc::now();
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let base = outbox::Entity::update_many()
        .col_expr(
            outbox::Column::LockedUntil,
            Expr::value(Option::<chrono::DateTime<Utc>>::None),
        )
        .col_expr(
            outbox::Column::LockedBy,
            Expr::value(Option::<String>::None),
        )
        .filter(outbox::Column::Id.is_in(ids))
        .filter(outbox::Column::LockedBy.eq(worker));
    match error {
        None => {
            base.col_expr(outbox::Column::DeliveredAt, Expr::value(now))
                .col_expr(
                    outbox::Column::LastError,
                    Expr::value(Option::<String>::None),
                )
                .exec(db)
                .await?;
        }
        Some(msg) => {
            // Rows of one batch share their fate, so the largest attempt count sets the delay.
            let attempts = rows.iter().map(|r| r.attempts).max().unwrap_or(0) + 1;
            let delay = chrono::Duration::from_std(backoff(config, attempts)).unwrap_or_default();
            let msg: String = msg.chars().take(1000).collect();
            base.col_expr(
                outbox::Column::Attempts,
                Expr::col(outbox::Column::Attempts).add(1),
            )
            .col_expr(outbox::Column::AvailableAt, Expr::value(now + delay))
            .col_expr(outbox::Column::LastError, Expr::value(msg))
            .exec(db)
            .await?;
        }
    }
    Ok(())
}

/// Makes search rows written since `after_id` due again, so that changes made while a
/// rebuild was reading the database reach the new index too.
pub async fn replay_since(db: &impl ConnectionTrait, after_id: i64) -> Result<u64, sea_orm::DbErr> {
    let r = outbox::Entity::update_many()
        .col_expr(
            outbox::Column::DeliveredAt,
            Expr::value(Option::<chrono::DateTime<Utc>>::None),
        )
        .col_expr(outbox::Column::AvailableAt, Expr::value(Utc::now()))
        .filter(outbox::Column::Channel.eq(Channel::Search.as_str()))
        .filter(outbox::Column::Id.gt(after_id))
        .exec(db)
        .await?;
    Ok(r.rows_affected)
}

/// The id of the newest search outbox row, or 0.
pub async fn last_row_id(db: &impl ConnectionTrait) -> Result<i64, sea_orm::DbErr> {
    Ok(outbox::Entity::find()
        .select_only()
        .column(outbox::Column::Id)
        .filter(outbox::Column::Channel.eq(Channel::Search.as_str()))
        .order_by_desc(outbox::Column::Id)
        .limit(1)
        .into_tuple::<i64>()
        .one(db)
        .await?
        .unwrap_or(0))
}

/// Search rows not yet delivered.
pub async fn pending(db: &impl ConnectionTrait) -> Result<Vec<outbox::Model>, sea_orm::DbErr> {
    outbox::Entity::find()
        .filter(outbox::Column::Channel.eq(Channel::Search.as_str()))
        .filter(outbox::Column::DeliveredAt.is_null())
        .order_by_asc(outbox::Column::Id)
        .all(db)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let c = RelayConfig::default();
        assert_eq!(backoff(&c, 1), Duration::from_millis(500));
        assert_eq!(backoff(&c, 2), Duration::from_secs(1));
        assert_eq!(backoff(&c, 4), Duration::from_secs(4));
        assert_eq!(backoff(&c, 20), Duration::from_secs(60));
        assert_eq!(backoff(&c, 1000), Duration::from_secs(60));
    }
}
