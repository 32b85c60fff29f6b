//! Several `qudao serve` processes on one PostgreSQL database, as a province runs them
//! behind a load balancer: they start together, share the work of the outbox, and never
//! sell what is not there.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};
use serde_json::json;

use crate::helpers::{PgDatabase, Served, TestApp, qudao_on, served, spawn_serve};

/// Starts `n` instances at once on the database `url`, sharing the data directory `dir`
/// (the embedded search index, emails as files), or Meilisearch when the tests have one.
fn start_together(n: usize, url: &str, dir: &Path) -> Vec<Served> {
    let index = format!("qudao_processes_{}", uuid::Uuid::new_v4().simple());
    let children: Vec<_> = (0..n)
        .map(|_| {
            spawn_serve(
                qudao_on(url, dir)
                    .env(
                        "QUDAO_SECRET",
                        "one-secret-shared-by-every-instance-0123456789",
                    )
                    .env("QUDAO_MEILI_INDEX", &index),
            )
        })
        .collect();
    children.into_iter().map(served).collect()
}

async fn count(db: &DatabaseConnection, sql: &str) -> i64 {
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index::<i64>(0).unwrap()
}

/// The sum over every instance of one line of `/metrics`.
async fn summed_metric(instances: &[TestApp], line: &str) -> u64 {
    let mut total = 0;
    for app in instances {
        let text = app.get("/metrics", None).await.text;
        let value = text
            .lines()
            .find_map(|l| l.strip_prefix(line))
            .unwrap_or_else(|| panic!("no {line} in {text}"));
        total += value.trim().parse::<u64>().unwrap();
    }
    total
}

/// Waits until no row of `channel` waits in the outbox.
async fn drained(db: &DatabaseConnection, channel: &str) {
    let started = Instant::now();
    let sql = format!(
        "SELECT count(*) FROM outbox WHERE channel = '{channel}' AND delivered_at IS NULL AND dead_at IS NULL"
    );
    while count(db, &sql).await > 0 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the {channel} outbox did not drain"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The Message-ID header of every email written to `dir`, with how often each was sent.
fn message_ids(dir: &Path) -> BTreeMap<String, usize> {
    let mut seen = BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "eml") {
            let text = std::fs::read_to_string(&path).unwrap();
            let id = text
                .lines()
                .find_map(|l| l.strip_prefix("Message-ID: "))
                .unwrap_or_else(|| panic!("{} has no Message-ID", path.display()))
                .to_string();
            *seen.entry(id).or_insert(0) += 1;
        }
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_on_one_postgresql_share_the_work_without_losing_or_overselling() {
    let Some(pg) = PgDatabase::create().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // Started at the same moment on an empty database: one migrates and loads the demo
    // data, the others wait for it and find it done.
    let running = start_together(3, &pg.url(), dir.path());
    let db = Database::connect(pg.url()).await.unwrap();
    let apps: Vec<TestApp> = running
        .iter()
        .map(|i| TestApp::attach(i.url.clone(), db.clone()))
        .collect();
    for app in &apps {
        let r = app.get("/readyz", None).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }
    let organizations = count(&db, "SELECT count(*) FROM organizations").await;
    assert!(organizations > 0, "the demo data is there");
    assert_eq!(
        organizations,
        count(&db, "SELECT count(DISTINCT name) FROM organizations").await,
        "the demo data was loaded once"
    );

    // 盘石村 lists 12 斤 of rice through one instance ...
    let (panshi, listing) = apps[0].panshi_sells_rice("12").await;

    // ... and 24 canteens try to buy one 斤 each at once, spread over the three.
    let buyers = apps[1].new_buyers(24).await;
    let attempts = buyers.iter().enumerate().map(|(i, token)| {
        let app = &apps[i % apps.len()];
        async move {
            app.checkout(
                token,
                &format!("rice-{i}"),
                json!([{"listing_id": listing, "quantity": "1"}]),
            )
            .await
        }
    });
    let answers = futures_util::future::join_all(attempts).await;
    let sold = answers
        .iter()
        .filter(|r| r.status == StatusCode::CREATED)
        .count();
    for r in &answers {
        assert!(
            r.status == StatusCode::CREATED
                || (r.status == StatusCode::CONFLICT && r.code() == "insufficient_stock"),
            "{} {}",
            r.status,
            r.text
        );
    }
    assert_eq!(sold, 12, "exactly the stock was sold");
    assert_eq!(apps[2].listing_row(listing).await.stock_milli, 0);
    assert_eq!(
        count(
            &db,
            &format!("SELECT CAST(sum(quantity_milli) AS BIGINT) FROM order_lines WHERE listing_id = {listing}")
        )
        .await,
        12_000
    );

    // Listing edits through the other instances.
    let edited = apps[2]
        .patch(
            &format!("/api/v1/listings/{listing}"),
            Some(&panshi),
            json!({"price_fen": 1350, "stock": "30"}),
        )
        .await;
    assert_eq!(edited.status, StatusCode::OK, "{}", edited.text);

    // Every search event reached the one index exactly once, whichever instance took it,
    // and every instance searches the same index.
    drained(&db, "search").await;
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM outbox WHERE channel = 'search' AND attempts > 0"
        )
        .await,
        0,
        "no instance tried to write the index another one holds"
    );
    let search_rows = count(&db, "SELECT count(*) FROM outbox WHERE channel = 'search'").await;
    assert_eq!(
        summed_metric(&apps, "qudao_outbox_delivered_total{channel=\"search\"}").await,
        search_rows as u64,
        "each search event was delivered once"
    );
    for app in &apps {
        let started = Instant::now();
        loop {
            let r = app.get("/api/v1/search?q=贡米", None).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text);
            let hits: Vec<_> = r.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|h| h["id"] == listing)
                .collect();
            if hits.len() == 1 && hits[0]["price_fen"] == 1350 {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "{} does not find the edited listing once: {}",
                app.address,
                r.text
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    // Each order event became its notices once; each email went out at least once, and a
    // second copy would carry the same Message-ID.
    drained(&db, "notify").await;
    let notify_rows = count(&db, "SELECT count(*) FROM outbox WHERE channel = 'notify'").await;
    assert_eq!(
        summed_metric(&apps, "qudao_outbox_delivered_total{channel=\"notify\"}").await,
        notify_rows as u64,
        "each notification event was fanned out once"
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM (SELECT user_id, event_id FROM notifications GROUP BY user_id, event_id HAVING count(*) > 1) twice"
        )
        .await,
        0,
        "nobody got the same notice twice"
    );
    drained(&db, "email").await;
    let email_rows = count(&db, "SELECT count(*) FROM outbox WHERE channel = 'email'").await;
    assert!(
        email_rows >= 12,
        "the producer hears of every order by email"
    );
    let sent = message_ids(&dir.path().join("outbox"));
    assert_eq!(
        sent.len() as i64,
        email_rows,
        "every email went out under its own Message-ID: {sent:?}"
    );
    let copies: usize = sent.values().sum();
    assert_eq!(
        summed_metric(&apps, "qudao_outbox_delivered_total{channel=\"email\"}").await,
        copies as u64
    );
}
