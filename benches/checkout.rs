//! Checkout throughput and latency with 1, 8 and 64 concurrent buyers, all on one hot
//! listing and spread over 1 000 listings, next to the raw conditional single-row update rate
//! of the same database on the same listings measured in the same run. It also counts the
//! statements sent to the database per checkout (the background workers' included), and how
//! long the statistics' projector took to book the orders.
//!
//! `cargo bench --bench checkout` runs it on SQLite, and on PostgreSQL too when
//! `QUDAO_BENCH_POSTGRES_URL` (or `QUDAO_TEST_POSTGRES_URL`) names a server where it may
//! create a database. `QUDAO_BENCH_SECONDS` sets the length of each measurement (default 5).

use std::sync::Arc;
use std::time::Duration;

use qudao::catalog::entity::listing;
use qudao::{Application, Settings};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;

mod common;

const LEVELS: [usize; 3] = [1, 8, 64];

/// The listings checkouts are spread over in the second layout.
const SPREAD: usize = 1_000;

/// One measurement: what the clients got, and how long they ran.
struct Run {
    tally: common::Tally,
    elapsed: Duration,
}

impl Run {
    fn rate(&self) -> f64 {
        self.tally.rate(self.elapsed)
    }
}

/// Runs `task(worker, iteration)`, which says whether it succeeded, on `workers` clients for
/// `seconds`.
async fn drive<F, Fut>(workers: usize, seconds: u64, task: F) -> Run
where
    F: Fn(usize, usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let (mut tallies, elapsed) = common::drive(workers, seconds, move |w, i| {
        let done = task(w, i);
        async move { ((), done.await) }
    })
    .await;
    Run {
        tally: tallies.remove(&()).unwrap_or_default(),
        elapsed,
    }
}

async fn bench(name: &str, mut settings: Settings, seconds: u64) {
    // The clients are a crowd of buyers behind one address, writing as fast as they can.
    settings.rate_limits = false;
    let app = Application::build(settings)
        .await
        .expect("building the app");
    let base = app.url();
    let db = app.state().db.clone();
    tokio::spawn(app.run_until(std::future::pending()));
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(128)
        .build()
        .unwrap();

    // One hot listing with plenty of stock, bought one unit at a time.
    let listing_id = common::demo_listing(&client, &base, "开江盘石村生态大米").await;
    listing::Entity::update_many()
        .col_expr(
            listing::Column::StockMilli,
            Expr::value(1_000_000_000_i64 * 1000),
        )
        .col_expr(listing::Column::MinOrderMilli, Expr::value(1000_i64))
        .filter(listing::Column::Id.eq(listing_id))
        .exec(&db)
        .await
        .unwrap();

    let tokens = common::new_buyers(
        &client,
        &base,
        "bench-buyer",
        LEVELS[LEVELS.len() - 1],
        "基准测试采购账号",
    )
    .await;
    let tokens = Arc::new(tokens);

    let spread = Arc::new(common::add_listings(&db, SPREAD).await);

    println!("\n### {name}\n");
    println!(
        "| concurrent buyers | listings | raw conditional updates/s | checkouts/s | ratio | checkout p50 | checkout p99 | statements per checkout | errors |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for workers in LEVELS {
        for hot in [true, false] {
            let listings = if hot {
                Arc::new(vec![listing_id])
            } else {
                spread.clone()
            };
            let pick = move |listings: &[i64], w: usize, i: usize| {
                listings[(w * 7919 + i * 104_729) % listings.len()]
            };
            let (raw_db, ids) = (db.clone(), listings.clone());
            let raw = drive(workers, seconds, move |w, i| {
                let (db, id) = (raw_db.clone(), pick(&ids, w, i));
                async move {
                    let Ok(txn) = qudao::db::write_txn(&db).await else {
                        return false;
                    };
                    let r = listing::Entity::update_many()
                        .col_expr(
                            listing::Column::StockMilli,
                            Expr::col(listing::Column::StockMilli).sub(1000),
                        )
                        .filter(listing::Column::Id.eq(id))
                        .filter(listing::Column::StockMilli.gte(1000))
                        .exec(&txn)
                        .await;
                    matches!(r, Ok(ref u) if u.rows_affected == 1) && txn.commit().await.is_ok()
                }
            })
            .await;
            let (client, base, tokens, ids) = (
                client.clone(),
                base.clone(),
                tokens.clone(),
                listings.clone(),
            );
            let statements = qudao::db::statements();
            let mut run = drive(workers, seconds, move |w, i| {
                let (client, base, token) = (client.clone(), base.clone(), tokens[w].clone());
                let id = pick(&ids, w, i);
                async move {
                    let r = client
                        .post(format!("{base}/api/v1/checkout"))
                        .bearer_auth(token)
                        .header("idempotency-key", format!("bench-{hot}-{workers}-{w}-{i}"))
                        .json(&json!({
                            "address": {"recipient_name": "王师傅", "phone": "02886630890", "region_code": "510104", "line": "红星路二段 70 号"},
                            "lines": [{"listing_id": id, "quantity": "1"}]
                        }))
                        .send()
                        .await;
                    matches!(r, Ok(ref resp) if resp.status() == 201)
                }
            })
            .await;
            let sent = qudao::db::statements() - statements;
            println!(
                "| {workers} | {} | {:.0} | {:.0} | {:.2} | {:.1} ms | {:.1} ms | {:.1} | {} |",
                listings.len(),
                raw.rate(),
                run.rate(),
                run.rate() / raw.rate(),
                run.tally.percentile(0.5).as_secs_f64() * 1000.0,
                run.tally.percentile(0.99).as_secs_f64() * 1000.0,
                sent as f64 / run.tally.latencies.len().max(1) as f64,
                run.tally.errors,
            );
        }
    }
    let row = listing::Entity::find_by_id(listing_id)
        .one(&db)
        .await
        .unwrap()
        .unwrap();
    assert!(row.stock_milli >= 0, "stock went negative");
    common::projection_lag(&db).await;
}

#[tokio::main]
async fn main() {
    // `cargo bench` passes `--bench`; nothing else to parse.
    let seconds = std::env::var("QUDAO_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let dir = tempfile::tempdir().unwrap();
    let mut s = Settings::embedded(dir.path());
    s.listen = "127.0.0.1:0".into();
    bench("SQLite (embedded default)", s, seconds).await;

    if let Some(pg) = common::BenchDatabase::create("qudao_bench").await {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Settings::embedded(dir.path());
        s.listen = "127.0.0.1:0".into();
        s.database_url = pg.url.clone();
        bench("PostgreSQL", s, seconds).await;
        pg.drop().await;
    }
}
