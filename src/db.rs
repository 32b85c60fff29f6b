//! Connecting to SQLite or PostgreSQL and running migrations.

use std::time::Duration;

use anyhow::Context;
use migrations::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, Database, DatabaseConnection, DatabaseTransaction, DbErr,
    SqliteTransactionMode, TransactionOptions, TransactionTrait,
};

use crate::config::Settings;

/// Opens the pool; SQLite gets WAL, a busy timeout and enforced foreign keys.
pub async fn connect(settings: &Settings) -> anyhow::Result<DatabaseConnection> {
    if settings.is_sqlite() {
        std::fs::create_dir_all(&settings.data_dir)
            .with_context(|| format!("creating {}", settings.data_dir.display()))?;
    }
    let mut opts = ConnectOptions::new(settings.database_url.clone());
    opts.max_connections(if settings.is_sqlite() { 8 } else { 20 })
        .min_connections(1)
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(5))
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(|o| {
            o.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
        });
    Database::connect(opts)
        .await
        .with_context(|| format!("connecting to {}", redact(&settings.database_url)))
}

/// Brings the schema up to date.
pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    Migrator::up(db, None).await.context("running migrations")
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

/// Begins a write transaction that no other process holds for the same `key` until it ends:
/// a PostgreSQL transaction-level advisory lock (SQLite's write lock already excludes every
/// other writer). For "do it once" jobs that check before they write.
pub async fn exclusive_txn(
    db: &DatabaseConnection,
    key: i64,
) -> Result<DatabaseTransaction, DbErr> {
    use sea_orm::{ConnectionTrait, DatabaseBackend, Statement};
    let txn = write_txn(db).await?;
    if db.get_database_backend() == DatabaseBackend::Postgres {
        txn.execute_raw(Statement::from_sql_and_values(
            DatabaseBackend::Postgres,
            "SELECT pg_advisory_xact_lock($1)",
            [key.into()],
        ))
        .await?;
    }
    Ok(txn)
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
