//! Busy is not down: a request that waits out the pool, or whose transaction the database
//! breaks off to end a deadlock, gets a retryable answer or none at all, and nothing takes
//! the instance out of service.

use std::time::Duration;

use reqwest::StatusCode;
use sea_orm::{ConnectionTrait, TransactionTrait};
use serde_json::json;

use crate::helpers::{Backend, TestApp, spawn_app};
use crate::on_both_databases;
use crate::orders::{listing_titled, restock};

on_both_databases!(an_exhausted_pool_answers_busy_to_the_request_that_waited_only);

/// Every connection of the app's pool, held until the answer is dropped.
async fn hold_every_connection(app: &TestApp) -> Box<dyn std::any::Any + Send> {
    match app.db.get_database_backend() {
        sea_orm::DbBackend::Sqlite => {
            let pool = app.db.get_sqlite_connection_pool();
            let mut held = Vec::new();
            for _ in 0..pool.options().get_max_connections() {
                held.push(pool.acquire().await.unwrap());
            }
            Box::new(held)
        }
        _ => {
            let pool = app.db.get_postgres_connection_pool();
            let mut held = Vec::new();
            for _ in 0..pool.options().get_max_connections() {
                held.push(pool.acquire().await.unwrap());
            }
            Box::new(held)
        }
    }
}

async fn an_exhausted_pool_answers_busy_to_the_request_that_waited_only(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let held = hold_every_connection(&app).await;
    let r = app.get("/api/v1/listings", None).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.text);
    assert_eq!(r.code(), "busy", "{}", r.text);
    assert_eq!(
        r.headers.get("retry-after").map(|v| v.to_str().unwrap()),
        Some("1")
    );
    drop(held);
    // The database was never down: the next request is answered, not refused at once.
    let r = app.get("/api/v1/listings", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let ready = app.get("/readyz", None).await;
    assert_eq!(ready.status, StatusCode::OK, "{}", ready.text);
}

/// A checkout the database breaks off to end a deadlock is tried again and goes through: the
/// buyer sees 201, and `/metrics` counts the retry. The deadlock is made on purpose by a
/// transaction that locks the checkout's second listing, waits until the checkout holds the
/// first and waits for the second, then asks for the first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checkout_broken_off_by_a_deadlock_is_tried_again_unseen() {
    let Some(app) = spawn_app(Backend::Postgres).await else {
        return;
    };
    let app = std::sync::Arc::new(app);
    let apples = listing_titled(&app, "孜龙村高原红富士苹果").await;
    let potatoes = listing_titled(&app, "道孚高原洋芋").await;
    let (first, second) = (apples.min(potatoes), apples.max(potatoes));
    restock(&app, "coop-zilong", first, "100").await;
    restock(&app, "coop-zilong", second, "100").await;
    let buyer = app.login("buyer").await;

    let other = app.db.begin().await.unwrap();
    // This side never looks for deadlocks itself, so the checkout is the one broken off.
    other
        .execute_unprepared("SET LOCAL deadlock_timeout = '60s'")
        .await
        .unwrap();
    other
        .execute_unprepared(&format!(
            "UPDATE listings SET version = version WHERE id = {second}"
        ))
        .await
        .unwrap();
    let checkout = {
        let (app, buyer) = (app.clone(), buyer.clone());
        tokio::spawn(async move {
            app.checkout(
                &buyer,
                "crossed-once",
                json!([
                    {"listing_id": second, "quantity": "1"},
                    {"listing_id": first, "quantity": "1"},
                ]),
            )
            .await
        })
    };
    // Wait until the checkout holds the first listing and waits for the second.
    let watcher = sea_orm::Database::connect(app.database_url().unwrap())
        .await
        .unwrap();
    let waiting = "SELECT count(*) AS n FROM pg_stat_activity \
                   WHERE wait_event_type = 'Lock' AND query LIKE 'UPDATE \"listings\"%'";
    loop {
        let row = watcher
            .query_one_raw(sea_orm::Statement::from_string(
                sea_orm::DbBackend::Postgres,
                waiting,
            ))
            .await
            .unwrap()
            .unwrap();
        if row.try_get::<i64>("", "n").unwrap() > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    other
        .execute_unprepared(&format!(
            "UPDATE listings SET version = version WHERE id = {first}"
        ))
        .await
        .unwrap();
    other.commit().await.unwrap();

    let r = checkout.await.unwrap();
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let metrics = app.get("/metrics", None).await;
    let retries: u64 = metrics
        .text
        .lines()
        .find_map(|l| l.strip_prefix("qudao_db_write_retries_total "))
        .expect("the retry counter")
        .parse()
        .unwrap();
    assert!(retries >= 1, "{}", metrics.text);
    assert_eq!(app.listing_row(first).await.stock_milli, 99_000);
    assert_eq!(app.listing_row(second).await.stock_milli, 99_000);
}
