//! What the benchmarks share: a PostgreSQL database of their own, and percentiles.

use std::time::Duration;

use sea_orm::{ConnectionTrait, Database, DatabaseConnection};

/// The `p` quantile (0 to 1) of `latencies`, which it sorts; zero when there are none.
pub fn percentile(latencies: &mut [Duration], p: f64) -> Duration {
    latencies.sort();
    if latencies.is_empty() {
        return Duration::ZERO;
    }
    latencies[((latencies.len() as f64 - 1.0) * p).round() as usize]
}

/// A fresh PostgreSQL database on the server named by `QUDAO_BENCH_POSTGRES_URL` (or
/// `QUDAO_TEST_POSTGRES_URL`), dropped by [`BenchDatabase::drop`].
pub struct BenchDatabase {
    admin: DatabaseConnection,
    name: String,
    /// The URL of the new database.
    pub url: String,
}

impl BenchDatabase {
    /// Creates `<prefix>_<process id>` (replacing a left-over one), or says how to measure
    /// PostgreSQL and returns `None` when no server is named.
    pub async fn create(prefix: &str) -> Option<BenchDatabase> {
        let Ok(admin_url) = std::env::var("QUDAO_BENCH_POSTGRES_URL")
            .or_else(|_| std::env::var("QUDAO_TEST_POSTGRES_URL"))
        else {
            println!("\nPostgreSQL skipped: set QUDAO_BENCH_POSTGRES_URL to measure it.");
            return None;
        };
        let name = format!("{prefix}_{}", std::process::id());
        let admin = Database::connect(&admin_url).await.unwrap();
        for sql in [
            format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            format!("CREATE DATABASE {name}"),
        ] {
            admin.execute_unprepared(&sql).await.unwrap();
        }
        let (base, _) = admin_url.split_once('?').unwrap_or((&admin_url, ""));
        let url = format!("{}/{name}", &base[..base.rfind('/').unwrap()]);
        Some(BenchDatabase { admin, name, url })
    }

    /// Drops the database.
    pub async fn drop(self) {
        self.admin
            .execute_unprepared(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .await
            .ok();
    }
}
