//! Figures that add up: every level of the region tree to the fen over random markets, and
//! closed quarters that never change, corrections booked in the next.

use std::collections::BTreeMap;

use chrono::{TimeZone, Utc};
use qudao::orders::domain::OrderStatus;
use qudao::orders::entity::{order, order_event};
use qudao::stats::domain::{Granularity, Period};
use reqwest::{Method, StatusCode};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, TransactionTrait};
use serde_json::json;

use crate::helpers::{Backend, TestApp, spawn_app};
use crate::on_both_databases;

use super::{fen, ground_truth, order_of, quantities, random_market, today};

on_both_databases!(
    every_level_adds_up_to_the_fen_over_random_markets,
    a_closed_quarter_never_changes_and_corrections_go_to_the_next,
);

async fn every_level_adds_up_to_the_fen_over_random_markets(backend: Backend) {
    for seed in [7, 2026] {
        let Some(app) = spawn_app(backend).await else {
            return;
        };
        let placed = random_market(&app, seed, 10).await;
        assert!(placed.len() >= 5, "the market placed too few orders");
        let admin = app.login("admin").await;
        let day = today();
        let periods = [
            Period::containing(Granularity::Month, day),
            Period::containing(Granularity::Quarter, day),
            Period::containing(Granularity::Year, day),
            Period::containing(Granularity::Quarter, day).prev(),
        ];
        for basis in ["completed", "placed"] {
            for p in periods {
                let checked = check_tree(&app, &admin, "510000", &p.to_string(), basis).await;
                assert!(checked >= 1);
            }
            let year = Period::containing(Granularity::Year, day).to_string();
            let r = app
                .get(
                    &format!("/api/v1/stats/regions/510000?period={year}&basis={basis}"),
                    Some(&admin),
                )
                .await;
            let (sales, household) = ground_truth(&app, basis == "completed").await;
            assert_eq!(
                fen(&r.body["figures"]["sales_fen"]),
                sales,
                "{basis} seed {seed}"
            );
            assert_eq!(
                fen(&r.body["figures"]["household_fen"]),
                household,
                "{basis} seed {seed}"
            );
            let (orders, buyers, orgs) = counted(&app, basis == "completed").await;
            let f = &r.body["figures"];
            assert_eq!(
                (
                    fen(&f["orders"]),
                    fen(&f["buyers"]),
                    fen(&f["organizations"])
                ),
                (orders, buyers, orgs),
                "orders, buyers and organizations, {basis} seed {seed}"
            );
        }
        // The aggregates kept order by order are exactly what recomputing them from the facts
        // gives.
        let kept = app.aggregate_rows().await;
        assert!(!kept.is_empty());
        let txn = app.db.begin().await.unwrap();
        qudao::stats::aggregates::rebuild(&txn).await.unwrap();
        txn.commit().await.unwrap();
        assert_eq!(kept, app.aggregate_rows().await, "seed {seed}");
        // Projecting the orders again never counts a line twice.
        let facts_before = qudao::stats::entity::fact::Entity::find()
            .count(&app.db)
            .await
            .unwrap();
        let again = placed.iter().copied().collect();
        let written = qudao::stats::projector::project(&app.db, &again)
            .await
            .unwrap();
        assert_eq!(written, 0, "seed {seed}");
        let facts_after = qudao::stats::entity::fact::Entity::find()
            .count(&app.db)
            .await
            .unwrap();
        assert_eq!(facts_before, facts_after);
    }
}

async fn a_closed_quarter_never_changes_and_corrections_go_to_the_next(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let buyer = app.login("buyer").await;
    let (rice, _) = order_of(&app, &buyer, "开江盘石村生态大米", "100", "q1").await;
    let (apples, _) = order_of(&app, &buyer, "孜龙村高原红富士苹果", "50", "q2").await;
    let (late, late_fen) = order_of(&app, &buyer, "开江盘石村生态大米", "200", "q3").await;
    app.advance(rice, "complete").await;
    app.advance(apples, "complete").await;
    let prev = move_to_previous_quarter(&app).await;

    let admin = app.login("admin").await;
    let report = |basis: &'static str, code: &'static str, q: Period| {
        let app = &app;
        let admin = admin.clone();
        async move {
            let r = app
                .get(
                    &format!("/api/v1/stats/regions/{code}/report?quarter={q}&basis={basis}"),
                    Some(&admin),
                )
                .await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text);
            r.body
        }
    };
    let before_completed = report("completed", "510000", prev).await;
    let before_placed = report("placed", "510000", prev).await;
    let before_county = report("placed", "511723", prev).await;
    assert_eq!(before_placed["closed"], false);
    assert!(fen(&before_placed["total"]["sales_fen"]) > 0);

    // An order of that quarter the projector has not met when the quarter closes: closing
    // catches up first, so it counts in the quarter it happened in.
    let (straggler, straggler_fen) =
        order_of(&app, &buyer, "开江盘石村生态大米", "100", "q-straggler").await;
    happened_at(&app, Some(straggler), middle_of_previous_quarter().1).await;

    // Only admins and province officials close quarters, and only quarters that have ended.
    let county = app.login("official-kaijiang").await;
    let province = app.login("official-sichuan").await;
    let r = app
        .post(
            "/api/v1/stats/quarters",
            Some(&county),
            json!({"quarter": prev.to_string()}),
        )
        .await;
    assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "forbidden"));
    let current = Period::containing(Granularity::Quarter, today());
    let r = app
        .post(
            "/api/v1/stats/quarters",
            Some(&province),
            json!({"quarter": current.to_string()}),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::CONFLICT, "quarter_not_ended")
    );
    let r = app
        .post(
            "/api/v1/stats/quarters",
            Some(&province),
            json!({"quarter": prev.to_string()}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let r = app
        .post(
            "/api/v1/stats/quarters",
            Some(&province),
            json!({"quarter": prev.to_string()}),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::CONFLICT, "quarter_closed")
    );
    let before_county = {
        let closed = report("placed", "511723", prev).await;
        assert_eq!(
            fen(&closed["total"]["sales_fen"]),
            fen(&before_county["total"]["sales_fen"]) + straggler_fen
        );
        closed
    };
    let before_placed = report("placed", "510000", prev).await;

    // Later: the late order is cancelled, new orders complete.
    let r = app
        .call_with(
            Method::POST,
            &format!("/api/v1/orders/{late}/cancel"),
            Some(&buyer),
            None,
            &[("idempotency-key", "cancel-late")],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let (more, more_fen) = order_of(&app, &buyer, "开江盘石村生态大米", "300", "q4").await;
    app.advance(more, "complete").await;
    app.project().await;

    for (basis, code, before) in [
        ("completed", "510000", &before_completed),
        ("placed", "510000", &before_placed),
        ("placed", "511723", &before_county),
    ] {
        let after = report(basis, code, prev).await;
        assert_eq!(after["closed"], true);
        assert_eq!(after["rows"], before["rows"], "{basis} {code}");
        assert_eq!(after["total"], before["total"], "{basis} {code}");
        // The live roll-up of a closed quarter shows the frozen figures too.
        let live = app
            .get(
                &format!("/api/v1/stats/regions/{code}?period={prev}&basis={basis}"),
                Some(&admin),
            )
            .await;
        assert_eq!(live.body["figures"], before["total"]);
    }
    // The cancellation is an adjustment of the current quarter.
    let now = report("placed", "511723", current).await;
    assert_eq!(fen(&now["total"]["adjustment_fen"]), -late_fen);
    assert_eq!(fen(&now["total"]["sales_fen"]), more_fen - late_fen);
    let now = report("completed", "511723", current).await;
    assert_eq!(fen(&now["total"]["sales_fen"]), more_fen);
    assert_eq!(fen(&now["total"]["adjustment_fen"]), 0);
}

/// Walks the tree from `code` down, checking that the children add up to their parent.
async fn check_tree(app: &TestApp, token: &str, code: &str, period: &str, basis: &str) -> usize {
    let mut checked = 0;
    let mut todo = vec![code.to_string()];
    while let Some(code) = todo.pop() {
        let r = app
            .get(
                &format!("/api/v1/stats/regions/{code}?period={period}&basis={basis}"),
                Some(token),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        let total = &r.body["figures"];
        let rows = r.body["breakdown"].as_array().unwrap();
        if r.body["region"]["level"] == "village" {
            continue;
        }
        let mut sales = 0;
        let mut household = 0;
        let mut qty: BTreeMap<String, i64> = BTreeMap::new();
        for row in rows {
            sales += fen(&row["figures"]["sales_fen"]);
            household += fen(&row["figures"]["household_fen"]);
            for (u, q) in quantities(&row["figures"]["quantities"]) {
                *qty.entry(u).or_default() += q;
            }
            if row["direct"] == false {
                todo.push(row["code"].as_str().unwrap().to_string());
            }
        }
        let what = format!("{code} {period} {basis}");
        assert_eq!(sales, fen(&total["sales_fen"]), "sales of {what}");
        assert_eq!(
            household,
            fen(&total["household_fen"]),
            "household income of {what}"
        );
        qty.retain(|_, q| *q != 0);
        assert_eq!(
            qty,
            quantities(&total["quantities"]),
            "quantities of {what}"
        );
        checked += 1;
    }
    checked
}

/// What the order lines say about the counts, independently of the facts: orders, distinct
/// buyers and distinct producer organizations that placed (or completed) a sale.
async fn counted(app: &TestApp, completed: bool) -> (i64, i64, i64) {
    let orders: Vec<order::Model> = order::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .filter(|o| !completed || o.status == OrderStatus::Completed)
        .collect();
    let buyers: std::collections::BTreeSet<i64> = orders.iter().map(|o| o.buyer_id).collect();
    let orgs: std::collections::BTreeSet<i64> = orders.iter().map(|o| o.organization_id).collect();
    (orders.len() as i64, buyers.len() as i64, orgs.len() as i64)
}

/// The middle of the quarter before this one.
fn middle_of_previous_quarter() -> (Period, chrono::DateTime<Utc>) {
    let prev = Period::containing(Granularity::Quarter, today()).prev();
    let day = prev.start_day() + 14;
    let at = Utc
        .with_ymd_and_hms(day / 10_000, (day / 100 % 100) as u32, 15, 4, 0, 0)
        .unwrap();
    (prev, at)
}

/// Makes `orders` (every order when `None`) and every change in their timelines happen at
/// `at`, as if the statistics' projector met them only now.
async fn happened_at(app: &TestApp, orders: Option<i64>, at: chrono::DateTime<Utc>) {
    let mut placed =
        order::Entity::update_many().col_expr(order::Column::PlacedAt, Expr::value(at));
    let mut changed = order_event::Entity::update_many()
        .col_expr(order_event::Column::CreatedAt, Expr::value(at));
    if let Some(id) = orders {
        placed = placed.filter(order::Column::Id.eq(id));
        changed = changed.filter(order_event::Column::OrderId.eq(id));
    }
    placed.exec(&app.db).await.unwrap();
    changed.exec(&app.db).await.unwrap();
}

/// Moves every order so far into the previous quarter, then lets the projector book them: they
/// are booked on the day they happened.
async fn move_to_previous_quarter(app: &TestApp) -> Period {
    let (prev, at) = middle_of_previous_quarter();
    happened_at(app, None, at).await;
    app.project().await;
    prev
}
