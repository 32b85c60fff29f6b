//! Locks taken in one global order: checkouts naming the same listings in crossing orders,
//! against each other and against cancels, never deadlock and never answer 5xx.

use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::json;
use tokio::sync::Barrier;

use crate::helpers::{Backend, Reply, TestApp, spawn_app};
use crate::on_both_databases;

use super::{listing_titled, post_action, restock};

on_both_databases!(
    checkouts_naming_listings_in_crossing_orders_all_go_through,
    checkouts_crossing_cancels_all_go_through,
);

const APPLES: &str = "孜龙村高原红富士苹果";
const POTATOES: &str = "道孚高原洋芋";

/// Two listings of one cooperative (so a checkout naming both makes one order), with 1 000
/// units each.
async fn two_listings_of_one_seller(app: &TestApp) -> (i64, i64) {
    let (x, y) = (
        listing_titled(app, APPLES).await,
        listing_titled(app, POTATOES).await,
    );
    restock(app, "coop-zilong", x, "1000").await;
    restock(app, "coop-zilong", y, "1000").await;
    (x, y)
}

/// Lines for one unit of `first` and one of `second`, in that order.
fn crossing(first: i64, second: i64) -> serde_json::Value {
    json!([
        {"listing_id": first, "quantity": "1"},
        {"listing_id": second, "quantity": "1"},
    ])
}

/// Asserts that every answer is what a person can act on: never a server error.
fn no_server_error(answers: &[Reply], want: StatusCode) {
    for r in answers {
        assert!(
            !r.status.is_server_error(),
            "{} {}: {}",
            r.status,
            r.code(),
            r.text
        );
        assert_eq!(r.status, want, "{}", r.text);
    }
}

async fn checkouts_naming_listings_in_crossing_orders_all_go_through(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let app = Arc::new(app);
    let (x, y) = two_listings_of_one_seller(&app).await;
    let buyers = app.new_buyers(16).await;
    let rounds = 4;
    for round in 0..rounds {
        let barrier = Arc::new(Barrier::new(buyers.len()));
        let mut tasks = Vec::new();
        for (i, token) in buyers.iter().cloned().enumerate() {
            let (app, barrier) = (app.clone(), barrier.clone());
            let lines = if i % 2 == 0 {
                crossing(x, y)
            } else {
                crossing(y, x)
            };
            tasks.push(tokio::spawn(async move {
                barrier.wait().await;
                app.checkout(&token, &format!("cross-{round}-{i}"), lines)
                    .await
            }));
        }
        let mut answers = Vec::new();
        for t in tasks {
            answers.push(t.await.unwrap());
        }
        no_server_error(&answers, StatusCode::CREATED);
    }
    let sold = (rounds * buyers.len()) as i64 * 1000;
    assert_eq!(app.listing_row(x).await.stock_milli, 1_000_000 - sold);
    assert_eq!(app.listing_row(y).await.stock_milli, 1_000_000 - sold);
}

async fn checkouts_crossing_cancels_all_go_through(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let app = Arc::new(app);
    let (x, y) = two_listings_of_one_seller(&app).await;
    // Half the buyers hold an order naming the potatoes first; they cancel it while the
    // other half check out naming the apples first.
    let buyers = app.new_buyers(16).await;
    let (cancelling, ordering) = buyers.split_at(8);
    let mut held = Vec::new();
    for (i, token) in cancelling.iter().enumerate() {
        let r = app
            .checkout(token, &format!("held-{i}"), crossing(y, x))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        let orders = r.body["orders"].as_array().unwrap();
        assert_eq!(orders.len(), 1, "one seller, one order");
        held.push((token.clone(), orders[0]["id"].as_i64().unwrap()));
    }
    let barrier = Arc::new(Barrier::new(buyers.len()));
    let mut cancels = Vec::new();
    for (token, id) in held {
        let (app, barrier) = (app.clone(), barrier.clone());
        cancels.push(tokio::spawn(async move {
            barrier.wait().await;
            post_action(&app, &token, id, "cancel", json!({"reason": "改单"})).await
        }));
    }
    let mut checkouts = Vec::new();
    for (i, token) in ordering.iter().cloned().enumerate() {
        let (app, barrier) = (app.clone(), barrier.clone());
        checkouts.push(tokio::spawn(async move {
            barrier.wait().await;
            app.checkout(&token, &format!("cross-{i}"), crossing(x, y))
                .await
        }));
    }
    let mut cancelled = Vec::new();
    for t in cancels {
        cancelled.push(t.await.unwrap());
    }
    let mut placed = Vec::new();
    for t in checkouts {
        placed.push(t.await.unwrap());
    }
    no_server_error(&cancelled, StatusCode::OK);
    no_server_error(&placed, StatusCode::CREATED);
    // Every cancelled order gave its units back; every new one took its own.
    let left = 1_000_000 - ordering.len() as i64 * 1000;
    assert_eq!(app.listing_row(x).await.stock_milli, left);
    assert_eq!(app.listing_row(y).await.stock_milli, left);
}
