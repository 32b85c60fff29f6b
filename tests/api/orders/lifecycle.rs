//! The order lifecycle: who may do what in which state, the clock moving overdue orders on, paging.

use qudao::orders::entity::order_event;
use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;

use crate::helpers::{Backend, spawn_app};
use crate::on_both_databases;

use super::{listing_titled, post_action};

on_both_databases!(
    overdue_orders_move_on_by_themselves,
    roles_and_states_guard_every_transition,
    a_cooperative_pages_through_its_orders_newest_first,
);

async fn overdue_orders_move_on_by_themselves(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let buyer = app.login("buyer").await;
    let seller = app.login("coop-panshi").await;
    let rice = listing_titled(&app, "开江盘石村生态大米").await;
    let placed = app
        .checkout(
            &buyer,
            "slow",
            json!([{"listing_id": rice, "quantity": "100"}]),
        )
        .await;
    let id = placed.body["orders"][0]["id"].as_i64().unwrap();
    post_action(&app, &seller, id, "confirm", json!({})).await;
    post_action(
        &app,
        &seller,
        id,
        "ship",
        json!({"carrier": "邮政", "tracking_number": "1"}),
    )
    .await;
    let rules = qudao::orders::lifecycle::AutoAdvance {
        deliver_after: chrono::Duration::days(10),
        complete_after: chrono::Duration::days(7),
    };
    let now = chrono::Utc::now();
    assert_eq!(
        qudao::orders::lifecycle::auto_advance(&app.db, now + chrono::Duration::days(9), rules)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        qudao::orders::lifecycle::auto_advance(&app.db, now + chrono::Duration::days(11), rules)
            .await
            .unwrap(),
        1
    );
    let o = app.get(&format!("/api/v1/orders/{id}"), Some(&buyer)).await;
    assert_eq!(o.body["status"], "delivered");
    assert_eq!(
        qudao::orders::lifecycle::auto_advance(&app.db, now + chrono::Duration::days(30), rules)
            .await
            .unwrap(),
        1
    );
    let o = app.get(&format!("/api/v1/orders/{id}"), Some(&buyer)).await;
    assert_eq!(o.body["status"], "completed");
    let system: Vec<order_event::Model> = order_event::Entity::find()
        .filter(order_event::Column::OrderId.eq(id))
        .filter(order_event::Column::ActorRole.eq("system"))
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(
        system
            .iter()
            .map(|e| e.action.to_string())
            .collect::<Vec<_>>(),
        ["auto_deliver", "auto_complete"]
    );
}

async fn roles_and_states_guard_every_transition(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let buyer = app.login("buyer").await;
    let seller = app.login("coop-panshi").await;
    let other = app.login("coop-zilong").await;
    let admin = app.login("admin").await;
    let official = app.login("official-kaijiang").await;
    let rice = listing_titled(&app, "开江盘石村生态大米").await;
    let stock = app.listing_row(rice).await.stock_milli;
    let placed = app
        .checkout(
            &buyer,
            "guard",
            json!([{"listing_id": rice, "quantity": "100"}]),
        )
        .await;
    let id = placed.body["orders"][0]["id"].as_i64().unwrap();

    assert_eq!(
        post_action(&app, &buyer, id, "confirm", json!({}))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        post_action(&app, &other, id, "confirm", json!({}))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get(&format!("/api/v1/orders/{id}"), Some(&other))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get("/api/v1/orders", Some(&official)).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        post_action(
            &app,
            &seller,
            id,
            "ship",
            json!({"carrier": "x", "tracking_number": "1"})
        )
        .await
        .code(),
        "invalid_transition"
    );
    assert_eq!(
        post_action(&app, &seller, id, "confirm", json!({}))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        post_action(&app, &buyer, id, "cancel", json!({}))
            .await
            .code(),
        "invalid_transition",
        "buyers cancel only before confirmation"
    );
    assert_eq!(
        post_action(&app, &buyer, id, "dispute", json!({"reason": "没收到"}))
            .await
            .code(),
        "invalid_transition"
    );
    post_action(
        &app,
        &seller,
        id,
        "ship",
        json!({"carrier": "邮政", "tracking_number": "EMS1"}),
    )
    .await;
    post_action(
        &app,
        &seller,
        id,
        "payment",
        json!({"status": "paid_offline"}),
    )
    .await;
    let no_reason = post_action(&app, &buyer, id, "dispute", json!({})).await;
    assert_eq!(no_reason.fields(), ["reason"]);
    assert_eq!(
        post_action(&app, &buyer, id, "dispute", json!({"reason": "米发霉了"}))
            .await
            .body["status"],
        "disputed"
    );
    assert_eq!(
        post_action(
            &app,
            &seller,
            id,
            "resolve",
            json!({"outcome": "complete", "reason": "x"})
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    let bad = post_action(
        &app,
        &admin,
        id,
        "resolve",
        json!({"outcome": "split", "reason": "x"}),
    )
    .await;
    assert_eq!(bad.fields(), ["outcome"]);
    let refunded = post_action(
        &app,
        &admin,
        id,
        "resolve",
        json!({"outcome": "refund", "reason": "照片证实发霉"}),
    )
    .await;
    assert_eq!(refunded.body["status"], "cancelled");
    assert_eq!(refunded.body["payment_status"], "refunded");
    assert_eq!(
        app.listing_row(rice).await.stock_milli,
        stock - 100_000,
        "shipped goods do not return to stock"
    );
    assert_eq!(
        post_action(&app, &buyer, id, "complete", json!({}))
            .await
            .code(),
        "invalid_transition"
    );
}

/// The producer's dashboard: pages of its own orders, newest first, each with its buyer's
/// name, the total on every page (also past the last), and the status filter.
async fn a_cooperative_pages_through_its_orders_newest_first(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (panshi, rice) = app.panshi_sells_rice("1000").await;
    let buyers = app.new_buyers(2).await;
    let mut placed = Vec::new();
    for i in 0..5 {
        let r = app
            .checkout(
                &buyers[i % 2],
                &format!("dashboard-{i}"),
                json!([{"listing_id": rice, "quantity": "1"}]),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        placed.push(r.body["orders"][0]["id"].as_i64().unwrap());
    }
    // Another cooperative's order is not on the list.
    let other = listing_titled(&app, "道孚高原洋芋").await;
    let elsewhere = app
        .checkout(
            &buyers[0],
            "elsewhere",
            json!([{"listing_id": other, "quantity": "500"}]),
        )
        .await;
    assert_eq!(elsewhere.status, StatusCode::CREATED, "{}", elsewhere.text);

    let mut seen = Vec::new();
    for page in 1..=3 {
        let r = app
            .get(
                &format!("/api/v1/orders?per_page=2&page={page}"),
                Some(&panshi),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(r.body["total"], 5, "page {page}");
        for o in r.body["items"].as_array().unwrap() {
            let id = o["id"].as_i64().unwrap();
            let i = placed.iter().position(|p| *p == id).expect("one of ours");
            assert_eq!(o["buyer"]["name"], format!("食堂 {}", i % 2));
            assert_eq!(o["lines"][0]["listing_id"], rice);
            assert_eq!(o["events"][0]["to_status"], "placed");
            let one = app
                .get(&format!("/api/v1/orders/{id}"), Some(&panshi))
                .await;
            assert_eq!(o, &one.body, "order {id} on the list as on its own");
            seen.push(id);
        }
    }
    placed.reverse();
    assert_eq!(seen, placed);

    let past = app
        .get("/api/v1/orders?per_page=2&page=9", Some(&panshi))
        .await;
    assert_eq!(past.body["total"], 5);
    assert!(past.body["items"].as_array().unwrap().is_empty());

    post_action(&app, &panshi, placed[0], "confirm", json!({})).await;
    let confirmed = app
        .get("/api/v1/orders?status=confirmed", Some(&panshi))
        .await;
    assert_eq!(confirmed.body["total"], 1);
    assert_eq!(confirmed.body["items"][0]["id"], placed[0]);
    // Its timeline, in the order it happened, on the list as on the order's own page.
    let events = &confirmed.body["items"][0]["events"];
    assert_eq!(events[0]["to_status"], "placed");
    assert_eq!(events[1]["to_status"], "confirmed");
    let one = app
        .get(&format!("/api/v1/orders/{}", placed[0]), Some(&panshi))
        .await;
    assert_eq!(confirmed.body["items"][0], one.body);
    let none = app
        .get("/api/v1/orders?status=shipped", Some(&panshi))
        .await;
    assert_eq!(none.body["total"], 0);
    assert!(none.body["items"].as_array().unwrap().is_empty());
}
