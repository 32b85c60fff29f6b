//! What the benchmarks share: a PostgreSQL database of their own, clients driven for a set
//! time, percentiles, and the few calls that set up a running server. Each benchmark uses
//! part of it.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use serde_json::{Value, json};

/// The JSON answer to `GET url`.
pub async fn get_json(client: &reqwest::Client, url: &str) -> Value {
    client.get(url).send().await.unwrap().json().await.unwrap()
}

/// The id of the demo listing titled `title` on the server at `base`.
pub async fn demo_listing(client: &reqwest::Client, base: &str, title: &str) -> i64 {
    let page = get_json(client, &format!("{base}/api/v1/listings?per_page=100")).await;
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["title"] == title)
        .unwrap_or_else(|| panic!("no demo listing {title}"))["id"]
        .as_i64()
        .unwrap()
}

/// Adds `n` listings made from the demo's, spread over its cooperatives and categories, each
/// with a million units in stock; their ids.
pub async fn add_listings(db: &DatabaseConnection, n: usize) -> Vec<i64> {
    use qudao::catalog::entity::listing;
    use sea_orm::{
        ActiveValue::NotSet, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, QuerySelect,
        Set,
    };
    let demo = listing::Entity::find().all(db).await.unwrap();
    let first = demo.iter().map(|l| l.id).max().unwrap_or(0);
    let now = chrono::Utc::now();
    for chunk in (0..n).collect::<Vec<_>>().chunks(1000) {
        let rows = chunk.iter().map(|&i| {
            let from = &demo[i % demo.len()];
            let mut m = from.clone().into_active_model();
            m.id = NotSet;
            m.title = Set(format!("{} {}号", from.title, i));
            m.price_fen = Set(from.price_fen + (i % 500) as i64);
            m.stock_milli = Set(1_000_000_000);
            m.min_order_milli = Set(1000);
            m.created_at = Set(now);
            m.updated_at = Set(now);
            m
        });
        listing::Entity::insert_many(rows).exec(db).await.unwrap();
    }
    listing::Entity::find()
        .select_only()
        .column(listing::Column::Id)
        .filter(listing::Column::Id.gt(first))
        .into_tuple()
        .all(db)
        .await
        .unwrap()
}

/// How long the orders' `stats` events waited for the projector: from the order's commit
/// (the event's `created_at`) to the projector's (its `delivered_at`), once all are done.
pub async fn projection_lag(db: &DatabaseConnection) {
    use qudao::outbox::entity as outbox;
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
    let waiting = || {
        outbox::Entity::find()
            .filter(outbox::Column::Channel.eq("stats"))
            .filter(outbox::Column::DeliveredAt.is_null())
            .count(db)
    };
    let start = std::time::Instant::now();
    while waiting().await.unwrap() > 0 {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the projector fell behind"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut lags: Vec<Duration> = outbox::Entity::find()
        .filter(outbox::Column::Channel.eq("stats"))
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|e| (e.delivered_at? - e.created_at).to_std().ok())
        .collect();
    let n = lags.len();
    let max = lags.iter().max().copied().unwrap_or_default();
    println!(
        "\n  statistics projection lag over {n} orders: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        percentile(&mut lags, 0.5).as_secs_f64() * 1000.0,
        percentile(&mut lags, 0.99).as_secs_f64() * 1000.0,
        max.as_secs_f64() * 1000.0
    );
}

/// Logs `username` in on the server at `base`; the bearer token.
pub async fn login(client: &reqwest::Client, base: &str, username: &str, password: &str) -> String {
    let r: Value = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    r["token"].as_str().expect("logged in").to_string()
}

/// Registers `n` buyers `<prefix>-<i>` with `password` and logs them in; their tokens.
pub async fn new_buyers(
    client: &reqwest::Client,
    base: &str,
    prefix: &str,
    n: usize,
    password: &str,
) -> Vec<String> {
    let mut tokens = Vec::new();
    for i in 0..n {
        let user = format!("{prefix}-{i}");
        client
            .post(format!("{base}/api/v1/auth/register"))
            .json(&json!({"username": user, "password": password, "display_name": user}))
            .send()
            .await
            .unwrap();
        tokens.push(login(client, base, &user, password).await);
    }
    tokens
}

/// The `p` quantile (0 to 1) of `latencies`, which it sorts; zero when there are none.
pub fn percentile(latencies: &mut [Duration], p: f64) -> Duration {
    latencies.sort();
    if latencies.is_empty() {
        return Duration::ZERO;
    }
    latencies[((latencies.len() as f64 - 1.0) * p).round() as usize]
}

/// What the clients got from one kind of request: how long each answer that came as expected
/// took, and how many did not.
#[derive(Debug, Default)]
pub struct Tally {
    pub latencies: Vec<Duration>,
    pub errors: usize,
}

impl Tally {
    /// The `p` quantile of the latencies.
    pub fn percentile(&mut self, p: f64) -> Duration {
        percentile(&mut self.latencies, p)
    }

    /// Answers as expected per second over `time`.
    pub fn rate(&self, time: Duration) -> f64 {
        self.latencies.len() as f64 / time.as_secs_f64()
    }
}

/// Runs `task(worker, iteration)` on `workers` concurrent clients for `seconds`. Each call
/// says what kind of request it made and whether the answer was the one expected; the
/// tallies by kind and the time the run took.
pub async fn drive<K, F, Fut>(
    workers: usize,
    seconds: u64,
    task: F,
) -> (BTreeMap<K, Tally>, Duration)
where
    K: Ord + Send + 'static,
    F: Fn(usize, usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = (K, bool)> + Send,
{
    let task = Arc::new(task);
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut handles = Vec::new();
    for w in 0..workers {
        let task = task.clone();
        handles.push(tokio::spawn(async move {
            let mut tallies: BTreeMap<K, Tally> = BTreeMap::new();
            let mut i = 0;
            while Instant::now() < deadline {
                let t = Instant::now();
                let (kind, ok) = task(w, i).await;
                let tally = tallies.entry(kind).or_default();
                if ok {
                    tally.latencies.push(t.elapsed());
                } else {
                    tally.errors += 1;
                }
                i += 1;
            }
            tallies
        }));
    }
    let mut all: BTreeMap<K, Tally> = BTreeMap::new();
    for h in handles {
        for (kind, t) in h.await.unwrap() {
            let e = all.entry(kind).or_default();
            e.latencies.extend(t.latencies);
            e.errors += t.errors;
        }
    }
    (all, started.elapsed())
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

/// The release `qudao` binary.
const BIN: &str = env!("CARGO_BIN_EXE_qudao");

/// A `qudao` process, killed when dropped.
pub struct Server {
    child: Child,
    pub url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

impl Server {
    /// Starts `qudao serve` on a free loopback port with the extra settings `envs`, and
    /// waits until it answers.
    pub fn start(envs: &[(&str, String)]) -> Server {
        // The server logs to standard output and panics to standard error; with
        // QUDAO_BENCH_SERVER_LOG both are appended to that file, so that both databases' servers
        // keep their warnings.
        let log = std::env::var_os("QUDAO_BENCH_SERVER_LOG").map(|path| {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .unwrap_or_else(|e| panic!("QUDAO_BENCH_SERVER_LOG {path:?}: {e}"))
        });
        let mut child = qudao(envs)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(match &log {
                Some(file) => Stdio::from(file.try_clone().unwrap()),
                None => Stdio::null(),
            })
            .spawn()
            .unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        while !line.contains("running at ") {
            line.clear();
            assert!(out.read_line(&mut line).unwrap() > 0, "qudao serve stopped");
        }
        let url = line.split("running at ").nth(1).unwrap().trim().to_string();
        std::thread::spawn(move || match log {
            Some(mut file) => std::io::copy(&mut out, &mut file),
            None => std::io::copy(&mut out, &mut std::io::sink()),
        });
        Server { child, url }
    }

    /// Peak and current resident memory of the process, and of the current its anonymous
    /// (heap) and file-backed (mapped index files) parts, in MiB.
    pub fn memory(&self) -> (u64, u64, u64, u64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
                .unwrap_or(0)
                / 1024
        };
        (
            field("VmHWM:"),
            field("VmRSS:"),
            field("RssAnon:"),
            field("RssFile:"),
        )
    }
}

/// The release `qudao`, logging warnings, rate limits off, with the extra settings `envs`.
pub fn qudao(envs: &[(&str, String)]) -> Command {
    let mut c = Command::new(BIN);
    c.env_remove("QUDAO_MEILI_URL")
        .env_remove("QUDAO_SMTP_URL")
        .env_remove("QUDAO_DATABASE_URL")
        .env("QUDAO_LOG", "warn")
        .env("QUDAO_DEMO_PASSWORD", "qudao-demo")
        // Every client comes from 127.0.0.1: as one address they would soon be rate limited.
        .env("QUDAO_RATE_LIMITS", "false");
    for (k, v) in envs {
        c.env(k, v);
    }
    c
}
