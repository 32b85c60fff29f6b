//! Checkout end to end: two cooperatives on one cart, refused lines, retries under one key.

use std::sync::Arc;

use qudao::orders::entity::{idempotency_key, order};
use qudao::outbox::entity as outbox;
use reqwest::{Method, StatusCode};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};
use serde_json::json;
use tokio::sync::Barrier;

use crate::helpers::{Backend, spawn_app};
use crate::on_both_databases;

use super::{listing_titled, post_action, restock};

on_both_databases!(
    a_buyer_orders_from_two_cooperatives_and_both_sides_follow_it,
    checkout_refuses_bad_lines_one_by_one,
    retries_with_the_same_key_make_one_order,
);

async fn a_buyer_orders_from_two_cooperatives_and_both_sides_follow_it(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let buyer = app.login("buyer").await;
    let rice = listing_titled(&app, "开江盘石村生态大米").await;
    let apples = listing_titled(&app, "孜龙村高原红富士苹果").await;
    let rice_before = app.listing_row(rice).await;

    for (listing, qty) in [(rice, "200"), (apples, "50"), (rice, "100")] {
        let r = app
            .post(
                "/api/v1/cart/items",
                Some(&buyer),
                json!({"listing_id": listing, "quantity": qty}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }
    let cart = app.get("/api/v1/cart", Some(&buyer)).await;
    assert_eq!(
        cart.body["lines"].as_array().unwrap().len(),
        2,
        "adding the same listing again adds to its line"
    );
    assert_eq!(cart.body["lines"][0]["quantity"], "300");
    assert_eq!(cart.body["total_fen"], 300 * 480 + 50 * 680);

    let body = json!({"address": {"recipient_name": "王师傅", "phone": "028-86630890", "region_code": "510104", "line": "红星路二段 70 号"}, "note": "请周一上午送到"});
    let placed = app
        .call_with(
            Method::POST,
            "/api/v1/checkout",
            Some(&buyer),
            Some(body),
            &[("idempotency-key", "order-1")],
        )
        .await;
    assert_eq!(placed.status, StatusCode::CREATED, "{}", placed.text);
    let orders = placed.body["orders"].as_array().unwrap();
    assert_eq!(orders.len(), 2, "one order per seller organization");
    assert_eq!(placed.body["total_fen"], 300 * 480 + 50 * 680);
    assert_eq!(orders[0]["checkout_id"], orders[1]["checkout_id"]);
    for o in orders {
        let stored = app
            .get(&format!("/api/v1/orders/{}", o["id"]), Some(&buyer))
            .await;
        assert_eq!(stored.status, StatusCode::OK, "{}", stored.text);
        assert_eq!(
            &stored.body, o,
            "the checkout answers with the orders as they were stored"
        );
    }
    assert!(
        app.get("/api/v1/cart", Some(&buyer)).await.body["lines"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let rice_after = app.listing_row(rice).await;
    assert_eq!(rice_after.stock_milli, rice_before.stock_milli - 300_000);
    assert_eq!(rice_after.sold_milli, rice_before.sold_milli + 300_000);

    let panshi = app.login("coop-panshi").await;
    let incoming = app.get("/api/v1/orders", Some(&panshi)).await;
    assert_eq!(incoming.body["total"], 1);
    let order_id = incoming.body["items"][0]["id"].as_i64().unwrap();
    assert_eq!(incoming.body["items"][0]["recipient_phone"], "028-86630890");
    assert_eq!(
        incoming.body["items"][0]["actions"],
        json!(["confirm", "seller_cancel"])
    );

    // A later price change never rewrites history.
    app.patch(
        &format!("/api/v1/listings/{rice}"),
        Some(&panshi),
        json!({"price_fen": 999, "title": "新米"}),
    )
    .await;
    let seen = app
        .get(&format!("/api/v1/orders/{order_id}"), Some(&buyer))
        .await;
    assert_eq!(seen.body["lines"][0]["unit_price_fen"], 480);
    assert_eq!(seen.body["lines"][0]["title"], "开江盘石村生态大米");
    assert_eq!(seen.body["lines"][0]["seller_region_code"], "511723102210");
    assert_eq!(seen.body["total_display"], "¥1440.00");

    assert_eq!(
        post_action(&app, &panshi, order_id, "confirm", json!({}))
            .await
            .body["status"],
        "confirmed"
    );
    let bad_ship = post_action(&app, &panshi, order_id, "ship", json!({"carrier": ""})).await;
    assert_eq!(bad_ship.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad_ship.fields(), ["carrier", "tracking_number"]);
    let shipped = post_action(
        &app,
        &panshi,
        order_id,
        "ship",
        json!({"carrier": "中国邮政", "tracking_number": "9876543210"}),
    )
    .await;
    assert_eq!(shipped.body["status"], "shipped");
    assert_eq!(shipped.body["tracking_number"], "9876543210");
    let paid = post_action(
        &app,
        &panshi,
        order_id,
        "payment",
        json!({"status": "paid_offline"}),
    )
    .await;
    assert_eq!(paid.body["payment_status"], "paid_offline");
    assert_eq!(
        post_action(&app, &buyer, order_id, "receive", json!({}))
            .await
            .body["status"],
        "delivered"
    );
    let done = post_action(
        &app,
        &buyer,
        order_id,
        "complete",
        json!({"reason": "米很好"}),
    )
    .await;
    assert_eq!(done.body["status"], "completed");
    let timeline: Vec<&str> = done.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        timeline,
        [
            "place",
            "confirm",
            "ship",
            "payment_paid_offline",
            "receive",
            "complete"
        ]
    );
    assert!(done.body["actions"].as_array().unwrap().is_empty());

    let topics: Vec<String> = outbox::Entity::find()
        .filter(outbox::Column::AggregateType.eq("order"))
        .filter(outbox::Column::AggregateId.eq(order_id))
        .filter(outbox::Column::Channel.eq("notify"))
        .order_by_asc(outbox::Column::Id)
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.topic)
        .collect();
    assert_eq!(
        topics,
        [
            "order.placed",
            "order.confirmed",
            "order.shipped",
            "order.payment_paid_offline",
            "order.delivered",
            "order.completed"
        ]
    );
    // Every event of the order goes to a channel that has a consumer: a notice for each change,
    // and the statistics' projector for the placing and the completion, which count in sales.
    let channels: Vec<String> = outbox::Entity::find()
        .filter(outbox::Column::AggregateType.eq("order"))
        .filter(outbox::Column::AggregateId.eq(order_id))
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.channel)
        .collect();
    assert_eq!(
        channels,
        [
            "notify", "stats", "notify", "notify", "notify", "notify", "notify", "stats"
        ]
    );
}

async fn checkout_refuses_bad_lines_one_by_one(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let buyer = app.login("buyer").await;
    let rice = listing_titled(&app, "开江盘石村生态大米").await;
    let basket = listing_titled(&app, "盘石竹编果篮").await;
    let potato = listing_titled(&app, "道孚高原洋芋").await;
    let zilong = app.login("coop-zilong").await;
    app.post(
        &format!("/api/v1/listings/{potato}/pause"),
        Some(&zilong),
        json!({}),
    )
    .await;
    let before = app.snapshot().await;

    let r = app
        .checkout(
            &buyer,
            "bad-1",
            json!([
                {"listing_id": rice, "quantity": "10"},
                {"listing_id": basket, "quantity": "1.5"},
                {"listing_id": potato, "quantity": "500"},
                {"listing_id": 999999, "quantity": "1"},
                {"listing_id": rice, "quantity": "100", "unit": "kg"},
                {"listing_id": rice, "quantity": "-1"},
            ]),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(
        r.fields(),
        ["lines[5].quantity"],
        "a bad number is refused before anything else"
    );
    let r = app
        .checkout(
            &buyer,
            "bad-2",
            json!([
                {"listing_id": rice, "quantity": "10"},
                {"listing_id": basket, "quantity": "1.5"},
                {"listing_id": potato, "quantity": "500"},
                {"listing_id": 999999, "quantity": "1"},
                {"listing_id": rice, "quantity": "100", "unit": "kg"},
            ]),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(
        r.fields(),
        [
            "lines[0].quantity",
            "lines[1].quantity",
            "lines[2].listing_id",
            "lines[3].listing_id",
            "lines[4].unit"
        ]
    );
    assert_eq!(
        r.body["error"]["fields"]["lines[0].quantity"]["code"],
        "below_minimum"
    );
    assert_eq!(
        r.body["error"]["fields"]["lines[1].quantity"]["code"],
        "not_whole"
    );
    assert_eq!(
        r.body["error"]["fields"]["lines[2].listing_id"]["code"],
        "unavailable"
    );
    assert_eq!(
        r.body["error"]["fields"]["lines[4].unit"]["code"],
        "unit_changed"
    );

    let no_key = app
        .post("/api/v1/checkout", Some(&buyer), json!({"address": {"recipient_name": "王", "phone": "02886630890", "region_code": "510104", "line": "红星路"}, "lines": [{"listing_id": rice, "quantity": "100"}]}))
        .await;
    assert_eq!(no_key.status, StatusCode::BAD_REQUEST);
    assert_eq!(no_key.code(), "idempotency_key_required");

    let empty = app.checkout(&buyer, "empty-cart", json!([])).await;
    assert_eq!(empty.body["error"]["fields"]["lines"]["code"], "required");
    let bad_address = app
        .call_with(Method::POST, "/api/v1/checkout", Some(&buyer), Some(json!({"address": {"recipient_name": "", "phone": "call me", "region_code": "999999", "line": ""}})), &[("idempotency-key", "addr")])
        .await;
    assert_eq!(
        bad_address.fields(),
        [
            "address.line",
            "address.phone",
            "address.recipient_name",
            "address.region_code"
        ]
    );
    let too_much = app
        .checkout(
            &buyer,
            "too-much",
            json!([{"listing_id": rice, "quantity": "40001"}]),
        )
        .await;
    assert_eq!(too_much.status, StatusCode::CONFLICT);
    assert_eq!(too_much.code(), "insufficient_stock");
    assert_eq!(
        too_much.body["error"]["fields"]["lines[0].quantity"]["message"],
        "only 40000 left"
    );
    assert_eq!(
        app.snapshot().await,
        before,
        "refused checkouts changed data"
    );
    let producer = app.login("coop-panshi").await;
    assert_eq!(
        app.checkout(
            &producer,
            "p",
            json!([{"listing_id": rice, "quantity": "100"}])
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
}

async fn retries_with_the_same_key_make_one_order(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let app = Arc::new(app);
    let buyer = app.login("buyer").await;
    let rice = listing_titled(&app, "开江盘石村生态大米").await;
    let barrier = Arc::new(Barrier::new(20));
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let (app, barrier, buyer) = (app.clone(), barrier.clone(), buyer.clone());
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            app.checkout(
                &buyer,
                "same-key",
                json!([{"listing_id": rice, "quantity": "100"}]),
            )
            .await
        }));
    }
    let mut replies = Vec::new();
    for t in tasks {
        replies.push(t.await.unwrap());
    }
    assert!(
        replies.iter().all(|r| r.status == StatusCode::CREATED),
        "{:?}",
        replies.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    assert!(
        replies.iter().all(|r| r.text == replies[0].text),
        "replayed responses differ"
    );
    assert_eq!(
        replies
            .iter()
            .filter(|r| r.headers.get("idempotent-replayed").is_some())
            .count(),
        19
    );
    assert_eq!(order::Entity::find().count(&app.db).await.unwrap(), 1);
    assert_eq!(
        app.listing_row(rice).await.stock_milli,
        40_000_000 - 100_000
    );

    let other = app
        .checkout(
            &buyer,
            "same-key",
            json!([{"listing_id": rice, "quantity": "200"}]),
        )
        .await;
    assert_eq!(other.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        other.body["error"]["fields"]["Idempotency-Key"]["code"],
        "idempotency_key_reused"
    );

    // A refusal is remembered too: the retry gets the same answer even after stock returns.
    let big = app
        .checkout(
            &buyer,
            "too-big",
            json!([{"listing_id": rice, "quantity": "50000"}]),
        )
        .await;
    assert_eq!(big.code(), "insufficient_stock");
    restock(&app, "coop-panshi", rice, "100000").await;
    let again = app
        .checkout(
            &buyer,
            "too-big",
            json!([{"listing_id": rice, "quantity": "50000"}]),
        )
        .await;
    assert_eq!(again.text, big.text);
    assert_eq!(order::Entity::find().count(&app.db).await.unwrap(), 1);

    // Lifecycle calls are idempotent as well.
    let panshi = app.login("coop-panshi").await;
    let id = replies[0].body["orders"][0]["id"].as_i64().unwrap();
    let path = format!("/api/v1/orders/{id}/confirm");
    let first = app
        .call_with(
            Method::POST,
            &path,
            Some(&panshi),
            None,
            &[("idempotency-key", "confirm-1")],
        )
        .await;
    let second = app
        .call_with(
            Method::POST,
            &path,
            Some(&panshi),
            None,
            &[("idempotency-key", "confirm-1")],
        )
        .await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!((second.status, &second.text), (first.status, &first.text));
    let without = app
        .call_with(Method::POST, &path, Some(&panshi), None, &[])
        .await;
    assert_eq!(without.code(), "invalid_transition");
    assert_eq!(
        idempotency_key::Entity::find()
            .count(&app.db)
            .await
            .unwrap(),
        3,
        "same-key, too-big, confirm-1"
    );
}
