//! Connecting to SQLite or PostgreSQL and running migrations.

use std::time::Duration;

use anyhow::Context;
use migrations::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseBackend, DatabaseConnection,
    DatabaseTransaction, DbErr, SqliteTransactionMode, Statement, TransactionOptions,
    TransactionTrait,
};

use crate::config::Settings;
use crate::error::{AppError, AppResult, Busy};

/// Connections each instance keeps to PostgreSQL: four per core. More only queue for the
/// same cores (on a 2-core machine 20 connections gave a p99 half as long again as 8 under the
/// load benchmark's mix, at fewer requests per second).
fn postgres_pool() -> u32 {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get()) as u32;
    (4 * cores).clamp(8, 64)
}

/// Opens the pool; SQLite gets WAL with its checkpoints in the background, a busy handler and
/// enforced foreign keys.
pub async fn connect(settings: &Settings) -> anyhow::Result<DatabaseConnection> {
    if settings.is_sqlite() {
        std::fs::create_dir_all(&settings.data_dir)
            .with_context(|| format!("creating {}", settings.data_dir.display()))?;
    }
    // Until the process ends, a restore will not replace the database under it.
    if let Some(lock) = crate::backup::mark_in_use(settings)? {
        IN_USE.lock().expect("not poisoned").push(lock);
    }
    let mut opts = ConnectOptions::new(settings.database_url.clone());
    opts.max_connections(if settings.is_sqlite() {
        8
    } else {
        postgres_pool()
    })
    .min_connections(1)
    .connect_timeout(Duration::from_secs(5))
    .acquire_timeout(Duration::from_secs(5))
    .sqlx_logging(false)
    .map_sqlx_sqlite_opts(|o| {
        o.journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_millis(SQLITE_BUSY_MS as u64))
            .foreign_keys(true)
            // The log is copied into the database by `checkpoints`, not by the commit that
            // happens to make it long.
            .pragma("wal_autocheckpoint", "0")
    })
    .map_sqlx_sqlite_pool_opts(|o| {
        o.after_connect(|conn, _| Box::pin(async move { poll_when_busy(conn).await }))
    })
    // A statement waits for a row lock at most this long, then fails (503 `busy`) instead of
    // holding its connection while others queue behind it. Sent as a startup parameter: no
    // statement of its own.
    .map_sqlx_postgres_opts(|o| o.options([("lock_timeout", format!("{POSTGRES_LOCK_MS}ms"))]));
    let mut db = Database::connect(opts)
        .await
        .with_context(|| format!("connecting to {}", redact(&settings.database_url)))?;
    db.set_metric_callback(|_| {
        STATEMENTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    });
    if settings.is_sqlite() {
        tokio::spawn(checkpoints(db.clone()));
    }
    Ok(db)
}

/// The shared locks that mark SQLite databases this process uses ([`crate::backup`]).
static IN_USE: std::sync::Mutex<Vec<std::fs::File>> = std::sync::Mutex::new(Vec::new());

/// How often SQLite's write-ahead log is copied into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);

/// Copies SQLite's write-ahead log into the database file every second until the pool closes,
/// beside the writers rather than in their way. SQLite's own checkpoints run in the commit
/// that grows the log past 1 000 pages, and under steady reads the log never starts over, so
/// every later commit ran one, with two fsyncs, while it held the write lock: a checkout's
/// commit took 4 ms.
async fn checkpoints(db: DatabaseConnection) {
    let pool = db.get_sqlite_connection_pool();
    loop {
        tokio::time::sleep(CHECKPOINT_EVERY).await;
        if pool.is_closed() {
            break;
        }
        if let Err(e) = db
            .execute_unprepared("PRAGMA wal_checkpoint(PASSIVE)")
            .await
            && !pool.is_closed()
        {
            tracing::warn!(error = %e, "copying the write-ahead log into the database failed");
        }
    }
}

/// How long, in milliseconds, a SQLite writer waits for another to finish before it gives up
/// with "database is locked".
const SQLITE_BUSY_MS: i32 = 10_000;

/// How long a PostgreSQL statement waits for a lock (`lock_timeout`).
const POSTGRES_LOCK_MS: u32 = 5_000;

/// Makes a SQLite connection that finds another writer holding the lock try again every
/// millisecond. SQLite's own busy timeout backs off to sleeps of 100 ms, so a writer that had
/// waited a while slept on after the lock came free and others went first: with checkouts
/// alone, the slowest in a hundred took 790 ms instead of 330.
async fn poll_when_busy(
    conn: &mut sea_orm::sqlx::SqliteConnection,
) -> Result<(), sea_orm::sqlx::Error> {
    /// Called by SQLite with how many times it has already been called for this lock.
    extern "C" fn every_millisecond(
        _: *mut std::ffi::c_void,
        tries: std::ffi::c_int,
    ) -> std::ffi::c_int {
        if tries >= SQLITE_BUSY_MS {
            return 0;
        }
        std::thread::sleep(Duration::from_millis(1));
        1
    }
    let mut handle = conn.lock_handle().await?;
    // SAFETY: the handle is locked out of the connection's worker thread while the handler
    // is set, and the handler touches no SQLite state.
    let rc = unsafe {
        libsqlite3_sys::sqlite3_busy_handler(
            handle.as_raw_handle().as_ptr(),
            Some(every_millisecond),
            std::ptr::null_mut(),
        )
    };
    if rc != libsqlite3_sys::SQLITE_OK {
        return Err(sea_orm::sqlx::Error::Protocol(format!(
            "setting the busy handler failed with SQLite code {rc}"
        )));
    }
    Ok(())
}

/// Brings the schema up to date.
pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    Migrator::up(db, None).await.context("running migrations")
}

/// Lets SQLite refresh the statistics its query planner chooses indexes by, for tables that
/// changed much since the last time. PostgreSQL's autovacuum does this by itself.
pub async fn optimize(db: &DatabaseConnection) -> Result<(), DbErr> {
    if db.get_database_backend() != DatabaseBackend::Sqlite {
        return Ok(());
    }
    // Both pragmas on one connection; the limit keeps each table's analysis short.
    let txn = db.begin().await?;
    txn.execute_unprepared("PRAGMA analysis_limit = 1000")
        .await?;
    txn.execute_unprepared("PRAGMA optimize = 0x10002").await?;
    txn.commit().await
}

/// Notices when the database cannot be reached and, until it answers again, lets requests
/// fail at once with 503 instead of each waiting out the pool's acquire timeout.
#[derive(Debug, Default)]
pub struct Outage {
    down: std::sync::atomic::AtomicBool,
}

/// How often a probe asks an unreachable database whether it is back.
const PROBE_EVERY: Duration = Duration::from_millis(250);

impl Outage {
    /// Whether the database was found unreachable and has not answered since.
    pub fn is_down(&self) -> bool {
        self.down.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Records that the database could not be reached, and (once per outage) starts probing
    /// it until it answers.
    pub fn begin(self: &std::sync::Arc<Self>, db: &DatabaseConnection) {
        use std::sync::atomic::Ordering;
        if self.down.swap(true, Ordering::AcqRel) {
            return;
        }
        tracing::warn!("the database cannot be reached; answering 503 until it is back");
        let (outage, db) = (self.clone(), db.clone());
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(PROBE_EVERY).await;
                if let Ok(Ok(())) = tokio::time::timeout(Duration::from_secs(1), db.ping()).await {
                    break;
                }
            }
            if outage.down.swap(false, Ordering::AcqRel) {
                tracing::info!("the database answers again");
            }
        });
    }

    /// Records that the database answered.
    pub fn end(&self) {
        self.down.store(false, std::sync::atomic::Ordering::Release);
    }
}

/// How many times a write broken off by a deadlock or a serialization conflict is tried
/// again before its caller is told 503 `busy`.
const CONFLICT_RETRIES: u32 = 3;

/// Statements sent to the database since the process started.
static STATEMENTS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Statements sent to the database through [`connect`]'s pools since the process started.
pub fn statements() -> u64 {
    STATEMENTS.load(std::sync::atomic::Ordering::Relaxed)
}

/// Writes tried again by [`retrying`] since the process started.
static RETRIED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Writes tried again by [`retrying`] since the process started.
pub fn retried() -> u64 {
    RETRIED.load(std::sync::atomic::Ordering::Relaxed)
}

/// Runs `attempt`, one whole transaction, again when the database broke it off to end a
/// deadlock or a serialization conflict ([`Busy::Conflict`]): up to [`CONFLICT_RETRIES`]
/// more times, each after a short pause that grows and varies, so that the two sides of the
/// conflict do not meet again. Any other outcome is the answer.
pub async fn retrying<T, F, Fut>(mut attempt: F) -> AppResult<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = AppResult<T>>,
{
    let mut tries = 0;
    loop {
        match attempt().await {
            Err(AppError::Busy(Busy::Conflict)) if tries < CONFLICT_RETRIES => {
                tries += 1;
                RETRIED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let pause = rand::random::<u64>() % 10 + 5 * u64::from(tries);
                tracing::info!(
                    tries,
                    pause_ms = pause,
                    "a write crossed another; trying again"
                );
                tokio::time::sleep(Duration::from_millis(pause)).await;
            }
            other => return other,
        }
    }
}

/// (open, idle, most) connections of the pool.
pub fn pool_use(db: &DatabaseConnection) -> (u64, u64, u64) {
    match db.get_database_backend() {
        sea_orm::DbBackend::Sqlite => {
            let pool = db.get_sqlite_connection_pool();
            (
                u64::from(pool.size()),
                pool.num_idle() as u64,
                u64::from(pool.options().get_max_connections()),
            )
        }
        sea_orm::DbBackend::Postgres => {
            let pool = db.get_postgres_connection_pool();
            (
                u64::from(pool.size()),
                pool.num_idle() as u64,
                u64::from(pool.options().get_max_connections()),
            )
        }
        _ => (0, 0, 0),
    }
}

/// The URL without a password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let creds = &url[scheme + 3..at];
            match creds.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme + 3],
                    &creds[..colon],
                    &url[at..]
                ),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// Begins a write transaction. On SQLite it takes the write lock at once (`BEGIN IMMEDIATE`),
/// so concurrent writers queue on the busy timeout instead of failing when a read turns into a write.
pub async fn write_txn(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..Default::default()
    })
    .await
}

/// Advisory lock keys: jobs that only one instance may run at a time on PostgreSQL.
pub mod locks {
    /// Preparing the database and the search index at start-up ("qudaost1").
    pub const STARTUP: i64 = 0x7175_6461_6f73_7431;
    /// Matching requests against supply, incrementally or in a batch ("qudaomt1").
    pub const MATCHING: i64 = 0x7175_6461_6f6d_7431;
    /// Writing the weekly summary of last week ("qudaowk1").
    pub const WEEKLY_SUMMARY: i64 = 0x7175_6461_6f77_6b31;
}

/// Holds the PostgreSQL transaction-level advisory lock `key` until `txn` ends (waiting for
/// it if another instance holds it). Nothing on SQLite, whose write lock already excludes
/// every other writer.
pub async fn advisory_lock(txn: &impl ConnectionTrait, key: i64) -> Result<(), DbErr> {
    if txn.get_database_backend() == DatabaseBackend::Postgres {
        txn.execute_raw(Statement::from_sql_and_values(
            DatabaseBackend::Postgres,
            "SELECT pg_advisory_xact_lock($1)",
            [key.into()],
        ))
        .await?;
    }
    Ok(())
}

/// Begins a write transaction that no other process holds for the same `key` until it ends.
/// For "do it once" jobs that check before they write.
pub async fn exclusive_txn(
    db: &DatabaseConnection,
    key: i64,
) -> Result<DatabaseTransaction, DbErr> {
    let txn = write_txn(db).await?;
    advisory_lock(&txn, key).await?;
    Ok(txn)
}

/// Makes instances starting together on one PostgreSQL database take turns at preparing it
/// (migrations, reference and demo data, the search index): the first does the work, the
/// others find it done. The turn lasts until the returned transaction ends; on SQLite there
/// is no turn to take.
pub async fn startup_turn(db: &DatabaseConnection) -> Result<Option<DatabaseTransaction>, DbErr> {
    if db.get_database_backend() != DatabaseBackend::Postgres {
        return Ok(None);
    }
    let txn = db.begin().await?;
    // Another instance may take a while to migrate and load reference data: wait it out,
    // not the few seconds a request waits for a row.
    txn.execute_unprepared("SET LOCAL lock_timeout = 0").await?;
    advisory_lock(&txn, locks::STARTUP).await?;
    Ok(Some(txn))
}

/// Runs `work` in a write transaction: committed when it succeeds, rolled back when it fails.
pub async fn in_write_txn<T>(
    db: &DatabaseConnection,
    work: impl AsyncFnOnce(&DatabaseTransaction) -> AppResult<T>,
) -> AppResult<T> {
    let txn = write_txn(db).await?;
    let out = work(&txn).await?;
    txn.commit().await?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn redact_hides_only_the_password() {
        assert_eq!(
            super::redact("postgres://qudao:secret@db:5432/qudao"),
            "postgres://qudao:***@db:5432/qudao"
        );
        assert_eq!(
            super::redact("sqlite://data/qudao.db"),
            "sqlite://data/qudao.db"
        );
    }
}
