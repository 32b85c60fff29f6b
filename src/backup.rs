//! Backups and restores. On SQLite, `qudao backup` writes a consistent copy of the live
//! database while writes go on (`VACUUM INTO`, one read transaction), and `qudao restore` puts a
//! copy back, refusing while a server uses the database. On PostgreSQL, `pg_dump` and
//! `pg_restore` do both, and these commands say so.

use std::fs::File;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use sea_orm::{ConnectionTrait, Database, DbBackend, Statement};

use crate::config::Settings;

/// What to run instead on PostgreSQL.
const POSTGRES_POINTER: &str = "on PostgreSQL, back up with pg_dump and restore with pg_restore \
     (pg_dump --format=custom --file=qudao.dump \"$QUDAO_DATABASE_URL\"; \
     pg_restore --clean --if-exists --dbname=\"$QUDAO_DATABASE_URL\" qudao.dump), \
     with qudao stopped for the restore";

/// The database file of a SQLite URL (`sqlite://data/qudao.db?mode=rwc` → `data/qudao.db`).
pub fn sqlite_file(database_url: &str) -> Option<PathBuf> {
    let rest = database_url.strip_prefix("sqlite:")?;
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let path = rest.split('?').next().unwrap_or(rest);
    (!path.is_empty() && path != ":memory:").then(|| PathBuf::from(path))
}

/// The file a server holds a shared lock on while it uses the database, and a restore an
/// exclusive one: `qudao.db.lock` beside `qudao.db`.
fn lock_file(db: &Path) -> anyhow::Result<File> {
    let mut name = db.as_os_str().to_owned();
    name.push(".lock");
    File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&name)
        .with_context(|| format!("opening {}", PathBuf::from(name).display()))
}

/// Marks the SQLite database as in use for as long as the returned file is kept: a restore
/// waits for no server. Several servers may share it. Nothing on PostgreSQL.
pub fn mark_in_use(settings: &Settings) -> anyhow::Result<Option<File>> {
    let Some(db) = sqlite_file(&settings.database_url) else {
        return Ok(None);
    };
    let lock = lock_file(&db)?;
    if lock.try_lock_shared().is_err() {
        bail!(
            "{} is being restored; start qudao when the restore has finished",
            db.display()
        );
    }
    Ok(Some(lock))
}

/// Writes a consistent copy of the live SQLite database to `to`, which must not exist yet;
/// returns its size in bytes.
pub async fn backup(settings: &Settings, to: &Path) -> anyhow::Result<u64> {
    let Some(db) = sqlite_file(&settings.database_url) else {
        bail!("{POSTGRES_POINTER}");
    };
    if to.exists() {
        bail!(
            "{} exists already; give a new file for the backup",
            to.display()
        );
    }
    if !db.exists() {
        bail!("there is no database at {} to back up", db.display());
    }
    let conn = Database::connect(format!("sqlite://{}?mode=ro", db.display()))
        .await
        .with_context(|| format!("opening {}", db.display()))?;
    conn.execute_raw(Statement::from_sql_and_values(
        DbBackend::Sqlite,
        "VACUUM INTO ?",
        [to.display().to_string().into()],
    ))
    .await
    .with_context(|| format!("writing the backup to {}", to.display()))?;
    conn.close().await?;
    Ok(std::fs::metadata(to)?.len())
}

/// Puts the backup `from` in place of the SQLite database, after checking that it is a whole
/// qudao database. Refuses while any server uses the database.
pub async fn restore(settings: &Settings, from: &Path) -> anyhow::Result<()> {
    let Some(db) = sqlite_file(&settings.database_url) else {
        bail!("{POSTGRES_POINTER}");
    };
    check_backup(from).await?;
    if let Some(dir) = db.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let lock = lock_file(&db)?;
    if lock.try_lock().is_err() {
        bail!(
            "a qudao server is using {}; stop it before restoring over it",
            db.display()
        );
    }
    // Copied beside the database, made durable, then renamed over it in one step.
    let mut partial = db.as_os_str().to_owned();
    partial.push(".restoring");
    let partial = PathBuf::from(partial);
    std::fs::copy(from, &partial).with_context(|| format!("copying {}", from.display()))?;
    File::open(&partial)?.sync_all()?;
    for suffix in ["-wal", "-shm"] {
        let mut side = db.as_os_str().to_owned();
        side.push(suffix);
        match std::fs::remove_file(PathBuf::from(side)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
            _ => {}
        }
    }
    std::fs::rename(&partial, &db).with_context(|| format!("replacing {}", db.display()))?;
    drop(lock);
    Ok(())
}

/// A backup is restored only when SQLite finds it whole and it holds qudao's tables.
async fn check_backup(from: &Path) -> anyhow::Result<()> {
    if !from.is_file() {
        bail!("there is no backup at {}", from.display());
    }
    let conn = Database::connect(format!("sqlite://{}?mode=ro", from.display()))
        .await
        .with_context(|| format!("opening {}", from.display()))?;
    let ok = conn
        .query_one_raw(Statement::from_string(
            DbBackend::Sqlite,
            "PRAGMA integrity_check",
        ))
        .await
        .with_context(|| format!("{} is not a SQLite database", from.display()))?
        .and_then(|row| row.try_get_by_index::<String>(0).ok());
    if ok.as_deref() != Some("ok") {
        bail!("{} is damaged: {}", from.display(), ok.unwrap_or_default());
    }
    let qudao = conn
        .query_one_raw(Statement::from_string(
            DbBackend::Sqlite,
            "SELECT count(*) FROM sqlite_master WHERE name IN ('seaql_migrations', 'orders')",
        ))
        .await?
        .and_then(|row| row.try_get_by_index::<i64>(0).ok());
    conn.close().await?;
    if qudao != Some(2) {
        bail!("{} is not a qudao database", from.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_of_a_sqlite_url() {
        assert_eq!(
            sqlite_file("sqlite://data/qudao.db?mode=rwc"),
            Some(PathBuf::from("data/qudao.db"))
        );
        assert_eq!(
            sqlite_file("sqlite:///srv/q/qudao.db"),
            Some(PathBuf::from("/srv/q/qudao.db"))
        );
        assert_eq!(sqlite_file("sqlite::memory:"), None);
        assert_eq!(sqlite_file("postgres://u@h/db"), None);
    }
}
