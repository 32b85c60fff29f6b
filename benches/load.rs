//! Load on the release binary: a realistic mix of what buyers and producers do, next to the
//! server's own `/healthz` rate measured in the same run, and the memory of the process.
//!
//! `cargo bench --bench load` builds the release `qudao`, loads the demo market plus
//! `QUDAO_BENCH_LISTINGS` generated listings (default 100 000) into a fresh SQLite database,
//! indexes them with `qudao reindex`, starts `qudao serve` on loopback and drives the mix
//! with `QUDAO_BENCH_WORKERS` keep-alive clients (default 32) for `QUDAO_BENCH_SECONDS`
//! (default 10). With `QUDAO_BENCH_POSTGRES_URL` (or `QUDAO_TEST_POSTGRES_URL`) it does the
//! same on a PostgreSQL database it creates and drops. With `QUDAO_BENCH_EACH=true` it then
//! drives each kind of request alone for the same time, to show what each one costs.
//! `QUDAO_BENCH_SERVER_LOG=path` keeps the servers' warnings and errors in that file.
//! After the mix it reports the statistics' projection lag of the orders the mix placed.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, Database, DatabaseBackend};
use serde_json::json;

mod common;

use common::Tally;

/// What people do, and how often out of 100.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Search,
    ListingPage,
    Home,
    Browse,
    Dashboard,
    Checkout,
}

const MIX: [(Kind, u32); 6] = [
    (Kind::Search, 35),
    (Kind::ListingPage, 25),
    (Kind::Home, 10),
    (Kind::Browse, 15),
    (Kind::Dashboard, 10),
    (Kind::Checkout, 5),
];

const WORDS: [&str; 12] = [
    "洋芋",
    "土豆",
    "马铃薯",
    "苹果",
    "大米",
    "花椒",
    "腊肉",
    "核桃",
    "tudou",
    "蜂蜜",
    "茶叶",
    "竹编",
];

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Adds `n` listings made from the demo's to the database at `database_url`.
async fn generate(database_url: &str, n: usize) {
    let db = Database::connect(database_url).await.unwrap();
    common::add_listings(&db, n).await;
    // qudao refreshes SQLite's statistics itself when it starts.
    analyze(&db).await;
    db.close().await.ok();
}

/// Refreshes PostgreSQL's statistics, as autovacuum does within a minute of many changes.
async fn analyze(db: &sea_orm::DatabaseConnection) {
    if db.get_database_backend() == DatabaseBackend::Postgres {
        db.execute_unprepared("ANALYZE").await.unwrap();
    }
}

/// Prepares the database and starts `qudao serve` on it.
async fn start(envs: &[(&str, String)], database_url: &str, listings: usize) -> common::Server {
    for step in ["migrate", "seed-demo"] {
        let out = common::qudao(envs).arg(step).output().unwrap();
        assert!(
            out.status.success(),
            "{step}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let t = Instant::now();
    generate(database_url, listings).await;
    println!(
        "  {listings} listings written in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    let out = common::qudao(envs).arg("reindex").output().unwrap();
    assert!(
        out.status.success(),
        "reindex: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    println!("  search index built in {:.1} s", t.elapsed().as_secs_f64());
    let t = Instant::now();
    let server = common::Server::start(envs);
    println!("  qudao serve ready in {:.1} s", t.elapsed().as_secs_f64());
    server
}

struct Session {
    client: reqwest::Client,
    base: String,
    buyers: Vec<String>,
    producer: String,
    listings: Vec<i64>,
}

/// One request of `kind` by worker `w` (its `i`th); whether it got the answer it expects.
async fn act(s: &Session, kind: Kind, w: usize, i: usize) -> bool {
    let c = &s.client;
    let pick = (w * 7919 + i * 104_729) % 1_000_003;
    let listing = s.listings[pick % s.listings.len()];
    let r = match kind {
        Kind::Search => {
            let q = WORDS[pick % WORDS.len()];
            c.get(format!("{}/api/v1/search?q={q}&per_page=20", s.base))
                .send()
                .await
        }
        Kind::ListingPage => c.get(format!("{}/listings/{listing}", s.base)).send().await,
        Kind::Home => c.get(format!("{}/", s.base)).send().await,
        Kind::Browse => {
            c.get(format!(
                "{}/api/v1/listings?per_page=20&page={}",
                s.base,
                1 + pick % 50
            ))
            .send()
            .await
        }
        Kind::Dashboard => {
            c.get(format!("{}/api/v1/orders?per_page=20", s.base))
                .bearer_auth(&s.producer)
                .send()
                .await
        }
        Kind::Checkout => {
            c.post(format!("{}/api/v1/checkout", s.base))
                .bearer_auth(&s.buyers[w % s.buyers.len()])
                .header("idempotency-key", format!("load-{w}-{i}"))
                .json(&json!({
                    "address": {"recipient_name": "王师傅", "phone": "028-86630890", "region_code": "510104", "line": "成都市锦江区红星路二段 70 号"},
                    "lines": [{"listing_id": listing, "quantity": "1"}],
                }))
                .send()
                .await
        }
    };
    match r {
        Ok(r) => {
            let ok = r.status().is_success();
            r.bytes().await.is_ok() && ok
        }
        Err(_) => false,
    }
}

/// Runs `workers` clients for `seconds`, each choosing what to do by `choose`.
async fn drive(
    s: Arc<Session>,
    workers: usize,
    seconds: u64,
    choose: impl Fn(usize) -> Option<Kind> + Send + Sync + 'static,
) -> (BTreeMap<Option<Kind>, Tally>, Duration) {
    common::drive(workers, seconds, move |w, i| {
        let s = s.clone();
        let kind = choose((w * 31 + i * 17) % 100);
        async move {
            let ok = match kind {
                Some(k) => act(&s, k, w, i).await,
                None => s
                    .client
                    .get(format!("{}/healthz", s.base))
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success()),
            };
            (kind, ok)
        }
    })
    .await
}

fn mixed(slot: usize) -> Option<Kind> {
    let mut at = 0;
    for (kind, share) in MIX {
        at += share as usize;
        if slot < at {
            return Some(kind);
        }
    }
    Some(Kind::Search)
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

async fn bench(name: &str, envs: Vec<(&str, String)>, database_url: &str) {
    let listings = env_or("QUDAO_BENCH_LISTINGS", 100_000usize);
    let workers = env_or("QUDAO_BENCH_WORKERS", 32usize);
    let seconds = env_or("QUDAO_BENCH_SECONDS", 10u64);
    println!("\n## {name}");
    let server = start(&envs, database_url, listings).await;
    let (idle_peak, idle_rss, _, _) = server.memory();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(workers * 2)
        .build()
        .unwrap();
    let base = server.url.clone();
    let buyers = common::new_buyers(&client, &base, "load-buyer", 8, "负载测试采购账号").await;
    let producer = common::login(&client, &base, "coop-panshi", "qudao-demo").await;
    let page = common::get_json(&client, &format!("{base}/api/v1/listings?per_page=100")).await;
    let ids = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| l["id"].as_i64())
        .collect();
    let session = Arc::new(Session {
        client,
        base,
        buyers,
        producer,
        listings: ids,
    });

    // Warm up, then the baseline and the mix, each for the same time.
    drive(session.clone(), workers, 2, mixed).await;
    // The order tables were empty when the bulk load's statistics were taken, and the warm-up
    // placed the first orders; the runs here are shorter than autovacuum's first look.
    let db = Database::connect(database_url).await.unwrap();
    analyze(&db).await;
    db.close().await.ok();
    let (mut base_tallies, base_time) = drive(session.clone(), workers, seconds, |_| None).await;
    let baseline = base_tallies.remove(&None).unwrap_or_default();
    let base_rate = baseline.rate(base_time);
    let (mut tallies, time) = drive(session.clone(), workers, seconds, mixed).await;
    let (peak, rss, anon, file) = server.memory();

    println!(
        "  {listings} listings, {workers} clients, {seconds} s; memory of qudao serve: {idle_rss} MiB after start-up (peak {idle_peak} MiB), {rss} MiB after the load (peak {peak} MiB; {anon} MiB heap, {file} MiB mapped files)\n"
    );
    println!("| requests | per second | p50 | p99 | errors |");
    println!("|---|---:|---:|---:|---:|");
    let mut total = Tally::default();
    for (kind, tally) in tallies.iter_mut() {
        let rate = tally.rate(time);
        println!(
            "| {:?} | {rate:.0} | {} | {} | {} |",
            kind.unwrap(),
            ms(tally.percentile(0.5)),
            ms(tally.percentile(0.99)),
            tally.errors
        );
        total.latencies.extend(tally.latencies.iter().copied());
        total.errors += tally.errors;
    }
    let rate = total.rate(time);
    println!(
        "| **the mix** | **{rate:.0}** | {} | {} | {} |",
        ms(total.percentile(0.5)),
        ms(total.percentile(0.99)),
        total.errors
    );
    let mut baseline = baseline;
    println!(
        "| baseline: `/healthz` | {base_rate:.0} | {} | {} | {} |",
        ms(baseline.percentile(0.5)),
        ms(baseline.percentile(0.99)),
        baseline.errors
    );
    println!(
        "\n  the mix runs at {:.3}× the `/healthz` rate",
        rate / base_rate
    );
    let db = Database::connect(database_url).await.unwrap();
    common::projection_lag(&db).await;
    db.close().await.ok();

    if env_or("QUDAO_BENCH_EACH", false) {
        // What each kind costs on its own: its rate alone, against the baseline's.
        println!("\n| alone | per second | × `/healthz` | p50 | p99 | errors |");
        println!("|---|---:|---:|---:|---:|---:|");
        for (kind, _) in MIX {
            let (mut tallies, time) =
                drive(session.clone(), workers, seconds, move |_| Some(kind)).await;
            let mut tally = tallies.remove(&Some(kind)).unwrap_or_default();
            let rate = tally.rate(time);
            println!(
                "| {kind:?} | {rate:.0} | {:.3} | {} | {} | {} |",
                rate / base_rate,
                ms(tally.percentile(0.5)),
                ms(tally.percentile(0.99)),
                tally.errors
            );
        }
    }
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_string_lossy().to_string();
    let sqlite = format!("sqlite://{data}/qudao.db?mode=rwc");
    bench(
        "SQLite (embedded default)",
        vec![("QUDAO_DATA_DIR", data.clone())],
        &sqlite,
    )
    .await;

    if let Some(pg) = common::BenchDatabase::create("qudao_load").await {
        let dir = tempfile::tempdir().unwrap();
        bench(
            "PostgreSQL",
            vec![
                ("QUDAO_DATA_DIR", dir.path().to_string_lossy().to_string()),
                ("QUDAO_DATABASE_URL", pg.url.clone()),
            ],
            &pg.url,
        )
        .await;
        pg.drop().await;
    }
}
