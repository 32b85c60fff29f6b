//! Claiming and finishing outbox rows, for every worker that delivers them (the search relay,
//! the notification dispatcher, the email sender): rows are leased to one worker at a time
//! (on PostgreSQL claimed with `SKIP LOCKED`), retried with exponential backoff, and, where a
//! channel limits its attempts, marked dead for an admin to look at and retry.

use std::time::Duration;

use chrono::Utc;
use sea_orm::sea_query::{Expr, ExprTrait, LockBehavior, LockType};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect,
};

use super::Channel;
use super::entity as outbox;

/// How a worker paces itself.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Rows claimed at once.
    pub batch: u64,
    /// Pause after a pass that found less than a full batch: the longest a change waits for
    /// the relay.
    pub idle: Duration,
    /// How long a claim lasts before another relay may take the rows over.
    pub lease: Duration,
    /// First retry delay; doubles with every failed attempt up to `backoff_max`.
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    /// Failed attempts after which a row is marked dead; `None` retries for ever.
    pub max_attempts: Option<i32>,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            batch: 500,
            idle: Duration::from_millis(200),
            lease: Duration::from_secs(120),
            backoff_base: Duration::from_millis(500),
            backoff_max: Duration::from_secs(60),
            max_attempts: None,
        }
    }
}

/// Runs `pass` until `stop` turns true: again at once after a pass that left work behind
/// (`Ok(true)`), after `idle` otherwise; a failed pass is logged and waits `idle` too.
pub async fn keep_running<E: std::fmt::Display>(
    what: &'static str,
    idle: Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
    mut pass: impl AsyncFnMut() -> Result<bool, E>,
) {
    tracing::info!("{what} started");
    loop {
        let pause = match pass().await {
            Ok(true) => Duration::ZERO,
            Ok(false) => idle,
            Err(e) => {
                tracing::warn!(error = %e, "{what}: a pass failed");
                idle
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
    tracing::info!("{what} stopped");
}

/// The delay before retry number `attempts` (1 for the first failure).
pub fn backoff(config: &WorkerConfig, attempts: i32) -> Duration {
    let exp = attempts.clamp(1, 30) as u32 - 1;
    config
        .backoff_base
        .saturating_mul(2u32.saturating_pow(exp))
        .min(config.backoff_max)
}

/// Leases up to a batch of due rows of `channel` to `worker`.
pub async fn claim(
    db: &DatabaseConnection,
    channel: Channel,
    worker: &str,
    config: &WorkerConfig,
) -> Result<Vec<outbox::Model>, sea_orm::DbErr> {
    let now = Utc::now();
    let until = now + chrono::Duration::from_std(config.lease).unwrap_or_default();
    let free = Condition::any()
        .add(outbox::Column::LockedUntil.is_null())
        .add(outbox::Column::LockedUntil.lt(now));
    // A write transaction from the start, so two SQLite workers queue instead of failing.
    let txn = crate::db::write_txn(db).await?;
    let mut candidates = outbox::Entity::find()
        .select_only()
        .column(outbox::Column::Id)
        .filter(outbox::Column::Channel.eq(channel.as_str()))
        .filter(outbox::Column::DeliveredAt.is_null())
        .filter(outbox::Column::DeadAt.is_null())
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

/// Marks rows still leased to `worker` delivered and releases them; how many it marked.
pub async fn complete(
    db: &impl ConnectionTrait,
    worker: &str,
    ids: Vec<i64>,
) -> Result<u64, sea_orm::DbErr> {
    Ok(release(ids, worker)
        .col_expr(outbox::Column::DeliveredAt, Expr::value(Utc::now()))
        .col_expr(
            outbox::Column::LastError,
            Expr::value(Option::<String>::None),
        )
        .exec(db)
        .await?
        .rows_affected)
}

/// An update of the rows `ids` still leased to `worker` that ends their lease.
fn release(ids: Vec<i64>, worker: &str) -> sea_orm::UpdateMany<outbox::Entity> {
    outbox::Entity::update_many()
        .col_expr(
            outbox::Column::LockedUntil,
            Expr::value(Option::<chrono::DateTime<Utc>>::None),
        )
        .col_expr(
            outbox::Column::LockedBy,
            Expr::value(Option::<String>::None),
        )
        .filter(outbox::Column::Id.is_in(ids))
        .filter(outbox::Column::LockedBy.eq(worker))
}

/// Marks claimed rows delivered (and counts them), or, after a failure, schedules their
/// retry (or, once they have used up their attempts, marks them dead).
pub async fn finish(
    db: &DatabaseConnection,
    worker: &str,
    rows: &[outbox::Model],
    error: Option<&str>,
    config: &WorkerConfig,
) -> Result<(), sea_orm::DbErr> {
    let now = Utc::now();
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    match error {
        None => {
            let n = complete(db, worker, ids).await?;
            if let Some(channel) = rows.first().and_then(|r| Channel::named(&r.channel)) {
                super::count_delivered(channel, n);
            }
        }
        Some(msg) => {
            // Rows of one batch share their fate, so the largest attempt count sets the delay.
            let attempts = rows.iter().map(|r| r.attempts).max().unwrap_or(0) + 1;
            let delay = chrono::Duration::from_std(backoff(config, attempts)).unwrap_or_default();
            let msg: String = msg.chars().take(1000).collect();
            let dead = config.max_attempts.is_some_and(|max| attempts >= max);
            release(ids, worker)
                .col_expr(outbox::Column::DeadAt, Expr::value(dead.then_some(now)))
                .col_expr(
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let c = WorkerConfig::default();
        assert_eq!(backoff(&c, 1), Duration::from_millis(500));
        assert_eq!(backoff(&c, 2), Duration::from_secs(1));
        assert_eq!(backoff(&c, 4), Duration::from_secs(4));
        assert_eq!(backoff(&c, 20), Duration::from_secs(60));
        assert_eq!(backoff(&c, 1000), Duration::from_secs(60));
    }
}
