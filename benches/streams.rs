//! Open notification streams on one instance: what they cost while idle, and how soon a new
//! notice reaches them.
//!
//! `cargo bench --bench streams` starts the release `qudao serve` on a fresh SQLite database
//! with the demo market and, with `QUDAO_BENCH_POSTGRES_URL` (or `QUDAO_TEST_POSTGRES_URL`),
//! on a PostgreSQL database it creates and drops. On each it measures, in the same run:
//!
//! - the **baseline**: the statements per second the idle server sends to its database with
//!   no stream open (its workers looking for work), over `QUDAO_BENCH_SECONDS` (default 10);
//! - the same with `QUDAO_BENCH_STREAMS` (default 10 000) streams open: 100 for the producer
//!   盘石村, the rest shared by 99 buyers, 100 each, as many browser tabs would hold them;
//! - the server's resident memory before and after they open;
//! - the delay from a notice being written (its `created_at`) to each of the producer's
//!   streams reading it, over 20 orders placed one after another.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;

mod common;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Streams per user.
const TABS: usize = 100;

/// Orders placed to measure the delay.
const ROUNDS: usize = 20;

/// What the open streams have read.
#[derive(Default)]
struct Heard {
    /// Streams that have read their first `unread` event.
    open: usize,
    /// Notices read, and how long after they were written.
    delays: Vec<Duration>,
}

/// Statements the server has sent to its database, from `/metrics`.
async fn statements(client: &reqwest::Client, base: &str) -> u64 {
    let text = client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("qudao_db_statements_total "))
        .and_then(|v| v.trim().parse().ok())
        .expect("/metrics counts statements")
}

/// Statements per second over `seconds` of idleness.
async fn idle_rate(client: &reqwest::Client, base: &str, seconds: u64) -> f64 {
    let before = statements(client, base).await;
    let start = Instant::now();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    let after = statements(client, base).await;
    // The two reads of /metrics are not the server's idleness; neither sends a statement.
    (after - before) as f64 / start.elapsed().as_secs_f64()
}

/// Keeps one stream open with `token`, noting its first event and every notice's delay.
async fn listen(client: reqwest::Client, url: String, token: String, heard: Arc<Mutex<Heard>>) {
    let Ok(mut r) = client.get(url).bearer_auth(token).send().await else {
        return;
    };
    let mut buf = String::new();
    let mut counted = false;
    while let Ok(Some(chunk)) = r.chunk().await {
        buf.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buf.find("\n\n") {
            let event: String = buf.drain(..end + 2).collect();
            let kind = event.lines().find_map(|l| l.strip_prefix("event: "));
            let data = event.lines().find_map(|l| l.strip_prefix("data: "));
            match (kind, data) {
                (Some("unread"), _) if !counted => {
                    counted = true;
                    heard.lock().unwrap().open += 1;
                }
                (Some("notification"), Some(data)) => {
                    let notice: serde_json::Value = serde_json::from_str(data).unwrap();
                    let written = chrono::DateTime::parse_from_rfc3339(
                        notice["created_at"].as_str().unwrap(),
                    )
                    .unwrap();
                    let delay = (chrono::Utc::now() - written.to_utc())
                        .to_std()
                        .unwrap_or_default();
                    heard.lock().unwrap().delays.push(delay);
                }
                _ => {}
            }
        }
    }
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

async fn bench(name: &str, envs: Vec<(&str, String)>) {
    let streams = env_or("QUDAO_BENCH_STREAMS", 10_000usize);
    let seconds = env_or("QUDAO_BENCH_SECONDS", 10u64);
    let server = common::Server::start(&envs);
    let base = server.url.clone();
    let client = reqwest::Client::new();
    let users = streams.div_ceil(TABS);
    let buyers =
        common::new_buyers(&client, &base, "stream-buyer", users, "通知流基准测试账号").await;
    let panshi = common::login(&client, &base, "coop-panshi", "qudao-demo").await;
    let rice = common::demo_listing(&client, &base, "开江盘石村生态大米").await;
    // Let the server finish what its start-up set going (the search index, the workers).
    tokio::time::sleep(Duration::from_secs(3)).await;

    let baseline = idle_rate(&client, &base, seconds).await;
    let (_, rss_before, _, _) = server.memory();

    // The producer's tabs first, then the buyers', each on its own connection.
    let heard = Arc::new(Mutex::new(Heard::default()));
    let url = format!("{base}/api/v1/notifications/stream");
    let owners = std::iter::repeat_n(&panshi, TABS).chain(
        buyers[1..]
            .iter()
            .flat_map(|t| std::iter::repeat_n(t, TABS)),
    );
    let opening = Instant::now();
    let mut tasks = Vec::new();
    for token in owners.take(streams) {
        tasks.push(tokio::spawn(listen(
            client.clone(),
            url.clone(),
            token.clone(),
            heard.clone(),
        )));
    }
    while heard.lock().unwrap().open < streams {
        assert!(
            opening.elapsed() < Duration::from_secs(120),
            "only {} of {streams} streams opened",
            heard.lock().unwrap().open
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let opened_in = opening.elapsed();
    let loaded = idle_rate(&client, &base, seconds).await;
    let (_, rss_after, _, _) = server.memory();

    // Orders from a buyer with no stream open: each becomes a notice for 盘石村's tabs.
    let orderer = &buyers[0];
    for round in 0..ROUNDS {
        let placed = client
            .post(format!("{base}/api/v1/checkout"))
            .bearer_auth(orderer)
            .header("idempotency-key", format!("stream-bench-{round}"))
            .json(&json!({
                "address": {"recipient_name": "王师傅", "phone": "028-86630890", "region_code": "510104", "line": "成都市锦江区红星路二段 70 号职工食堂"},
                "lines": [{"listing_id": rice, "quantity": "100"}],
            }))
            .send()
            .await
            .unwrap();
        assert!(
            placed.status().is_success(),
            "{}",
            placed.text().await.unwrap()
        );
        let waiting = Instant::now();
        while heard.lock().unwrap().delays.len() < (round + 1) * TABS {
            assert!(
                waiting.elapsed() < Duration::from_secs(30),
                "the notice of order {round} reached {} streams",
                heard.lock().unwrap().delays.len() - round * TABS
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let mut delays = std::mem::take(&mut heard.lock().unwrap().delays);
    for task in tasks {
        task.abort();
    }

    println!("\n### {name}\n");
    println!(
        "| streams open | statements/s while idle | memory of qudao serve | notice → stream p50 | p99 | max |"
    );
    println!("|---:|---:|---:|---:|---:|---:|");
    println!("| 0 (baseline) | {baseline:.1} | {rss_before} MiB | | | |");
    let max = delays.iter().max().copied().unwrap_or_default();
    println!(
        "| {streams} | {loaded:.1} | {rss_after} MiB | {} | {} | {} |",
        ms(common::percentile(&mut delays, 0.5)),
        ms(common::percentile(&mut delays, 0.99)),
        ms(max)
    );
    println!(
        "\n  {streams} streams opened in {:.1} s; {:.2} statements/s more than the baseline; {:.1} KiB of memory a stream; {} notices read",
        opened_in.as_secs_f64(),
        loaded - baseline,
        (rss_after.saturating_sub(rss_before) * 1024) as f64 / streams as f64,
        delays.len()
    );
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_string_lossy().to_string();
    bench(
        "SQLite (embedded default)",
        vec![("QUDAO_DATA_DIR", data), ("QUDAO_DEMO", "true".into())],
    )
    .await;

    if let Some(pg) = common::BenchDatabase::create("qudao_streams").await {
        let dir = tempfile::tempdir().unwrap();
        bench(
            "PostgreSQL",
            vec![
                ("QUDAO_DATA_DIR", dir.path().to_string_lossy().to_string()),
                ("QUDAO_DATABASE_URL", pg.url.clone()),
                ("QUDAO_DEMO", "true".into()),
            ],
        )
        .await;
        pg.drop().await;
    }
}
