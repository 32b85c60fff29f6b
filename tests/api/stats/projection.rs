//! The statistics as a projection of the orders: an order's transaction writes none of them,
//! the projector books each change exactly once, whether it crashes, runs twice or races
//! another projector, and everything can be rebuilt from the orders.

use std::collections::BTreeSet;

use qudao::stats::entity::{fact, household_income};
use qudao::stats::projector::{self, Projector};
use reqwest::StatusCode;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, TransactionTrait,
};

use crate::helpers::{Backend, TestApp, spawn_app};
use crate::on_both_databases;

use super::{fen, ground_truth, order_of};

on_both_databases!(
    the_projector_books_each_change_once_whatever_happens_to_it,
    projectors_racing_over_the_same_orders_count_each_change_once,
);

/// The province's figures this year, on both bases: (placed sales, placed household income,
/// completed sales, completed household income).
async fn province_year(app: &TestApp, admin: &str) -> (i64, i64, i64, i64) {
    let year = chrono::Datelike::year(&super::today());
    let mut figures = Vec::new();
    for basis in ["placed", "completed"] {
        let r = app
            .get(
                &format!("/api/v1/stats/regions/510000?period={year}&basis={basis}"),
                Some(admin),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        figures.push(fen(&r.body["figures"]["sales_fen"]));
        figures.push(fen(&r.body["figures"]["household_fen"]));
    }
    (figures[0], figures[1], figures[2], figures[3])
}

/// What the orders say the province's figures are.
async fn truth(app: &TestApp) -> (i64, i64, i64, i64) {
    let (placed, placed_households) = ground_truth(app, false).await;
    let (completed, completed_households) = ground_truth(app, true).await;
    (placed, placed_households, completed, completed_households)
}

async fn facts(app: &TestApp) -> u64 {
    fact::Entity::find().count(&app.db).await.unwrap()
}

/// The aggregates as kept, and then as recomputed from the facts: they must agree.
async fn aggregates_agree(app: &TestApp) {
    let kept = app.aggregate_rows().await;
    let txn = app.db.begin().await.unwrap();
    qudao::stats::aggregates::rebuild(&txn).await.unwrap();
    txn.commit().await.unwrap();
    assert_eq!(kept, app.aggregate_rows().await);
}

async fn the_projector_books_each_change_once_whatever_happens_to_it(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let buyer = app.login("buyer").await;
    let admin = app.login("admin").await;
    let mut orders = BTreeSet::new();
    for (title, quantity, fate, key) in [
        ("开江盘石村生态大米", "100", "complete", "p1"),
        ("孜龙村高原红富士苹果", "50", "cancel", "p2"),
        ("开江盘石村生态大米", "200", "", "p3"),
    ] {
        let (id, _) = order_of(&app, &buyer, title, quantity, key).await;
        app.advance(id, fate).await;
        orders.insert(id);
    }
    // The orders' transactions wrote nothing of the statistics.
    assert_eq!(facts(&app).await, 0);
    assert_eq!(province_year(&app, &admin).await, (0, 0, 0, 0));

    // A projector that crashes before committing leaves nothing behind.
    let txn = app.db.begin().await.unwrap();
    assert!(projector::project(&txn, &orders).await.unwrap() > 0);
    drop(txn);
    assert_eq!(facts(&app).await, 0);

    // The projector books them: the figures are what the orders say.
    app.project().await;
    let booked = facts(&app).await;
    // Three lines placed, one completed, one cancelled.
    assert_eq!(booked, 5);
    let truth = truth(&app).await;
    assert!(truth.0 > 0 && truth.2 > 0);
    assert_eq!(province_year(&app, &admin).await, truth);
    aggregates_agree(&app).await;

    // The events come round again, as after a crash between applying them and marking them
    // done: nothing is counted twice.
    app.db
        .execute_unprepared(
            "UPDATE outbox SET delivered_at = NULL, locked_until = NULL, locked_by = NULL \
             WHERE channel = 'stats'",
        )
        .await
        .unwrap();
    app.project().await;
    assert_eq!(facts(&app).await, booked);
    assert_eq!(province_year(&app, &admin).await, truth);

    // Facts and aggregates lost: `qudao rebuild-stats` brings them back from the orders.
    for table in [
        "stats_household_income",
        "stats_facts",
        "stats_month_sums",
        "stats_period_members",
        "stats_household_months",
    ] {
        app.db
            .execute_unprepared(&format!("DELETE FROM {table}"))
            .await
            .unwrap();
    }
    assert_eq!(province_year(&app, &admin).await, (0, 0, 0, 0));
    assert_eq!(projector::rebuild(&app.db).await.unwrap(), booked as usize);
    assert_eq!(province_year(&app, &admin).await, truth);
    aggregates_agree(&app).await;
}

async fn projectors_racing_over_the_same_orders_count_each_change_once(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let admin = app.login("admin").await;
    let buyers = app.new_buyers(6).await;
    let fates = ["", "complete", "cancel", "complete", "refund", "confirm"];
    for round in 0..4 {
        for (i, buyer) in buyers.iter().enumerate() {
            let (title, quantity) = [
                ("开江盘石村生态大米", "100"),
                ("孜龙村高原红富士苹果", "50"),
            ][(i + round) % 2];
            let key = format!("race-{round}-{i}");
            let (id, _) = order_of(&app, buyer, title, quantity, &key).await;
            app.advance(id, fates[(i + round) % fates.len()]).await;
        }
    }
    let waiting = qudao::outbox::entity::Entity::find()
        .filter(qudao::outbox::entity::Column::Channel.eq("stats"))
        .count(&app.db)
        .await
        .unwrap();
    assert!(waiting >= 24, "{waiting} events");

    // Two projectors claiming small batches, and a catch-up that ignores claims, all at once.
    let small = |db| {
        let mut p = Projector::new(db);
        p.config.batch = 3;
        p
    };
    let (first, second) = (small(app.db.clone()), small(app.db.clone()));
    let start = std::sync::Arc::new(tokio::sync::Barrier::new(3));
    let drain = |p: Projector, start: std::sync::Arc<tokio::sync::Barrier>| async move {
        start.wait().await;
        while p.run_once().await.unwrap() > 0 {}
    };
    let db = app.db.clone();
    let catching_up = {
        let start = start.clone();
        async move {
            start.wait().await;
            projector::catch_up(&db).await.unwrap()
        }
    };
    let (_, _, _) = tokio::join!(
        tokio::spawn(drain(first, start.clone())),
        tokio::spawn(drain(second, start.clone())),
        tokio::spawn(catching_up),
    );
    app.project().await;

    // One fact per line, basis and sign; the figures are what the orders say.
    let distinct = fact::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|f| (f.order_line_id, f.kind, f.sign))
        .collect::<BTreeSet<_>>()
        .len();
    assert_eq!(distinct as u64, facts(&app).await);
    let parts = household_income::Entity::find()
        .filter(household_income::Column::AmountFen.ne(0))
        .count(&app.db)
        .await
        .unwrap();
    assert!(parts > 0);
    assert_eq!(province_year(&app, &admin).await, truth(&app).await);
    aggregates_agree(&app).await;
    // Every event is done.
    let undone = qudao::outbox::entity::Entity::find()
        .filter(qudao::outbox::entity::Column::Channel.eq("stats"))
        .filter(qudao::outbox::entity::Column::DeliveredAt.is_null())
        .count(&app.db)
        .await
        .unwrap();
    assert_eq!(undone, 0);
}
