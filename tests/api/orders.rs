//! Orders end to end: carts, checkout, stock under concurrency, idempotency, the lifecycle.

use std::sync::Arc;

use qudao::orders::entity::{idempotency_key, order, order_event, order_line};
use qudao::outbox::entity as outbox;
use reqwest::{Method, StatusCode};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
};
use serde_json::json;
use tokio::sync::Barrier;

use crate::helpers::{Backend, TestApp, spawn_app};
use crate::on_both_databases;

on_both_databases!(
    a_buyer_orders_from_two_cooperatives_and_both_sides_follow_it,
    checkout_refuses_bad_lines_one_by_one,
    stock_is_never_oversold_under_concurrent_checkouts,
    one_listing_on_two_lines_of_one_checkout,
    retries_with_the_same_key_make_one_order,
    cancel_racing_ship_returns_stock_at_most_once,
    a_failure_after_the_stock_update_leaves_everything_as_it_was,
    overdue_orders_move_on_by_themselves,
    roles_and_states_guard_every_transition,
    a_cooperative_pages_through_its_orders_newest_first,
);

/// The id of a demo listing by title.
async fn listing_titled(app: &TestApp, title: &str) -> i64 {
    let r = app.get("/api/v1/listings?per_page=100", None).await;
    r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["title"] == title)
        .unwrap_or_else(|| panic!("{title}"))["id"]
        .as_i64()
        .unwrap()
}

/// Sets a listing's stock (and a minimum order of 1) as its producer.
async fn restock(app: &TestApp, producer: &str, listing: i64, stock: &str) {
    let token = app.login(producer).await;
    let r = app
        .patch(
            &format!("/api/v1/listings/{listing}"),
            Some(&token),
            json!({"stock": stock, "min_order": "1"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}

async fn post_action(
    app: &TestApp,
    token: &str,
    order: i64,
    action: &str,
    body: serde_json::Value,
) -> crate::helpers::Reply {
    app.post(
        &format!("/api/v1/orders/{order}/{action}"),
        Some(token),
        body,
    )
    .await
}

async fn a_buyer_orders_from_two_cooperatives_and_both_sides_follow_it(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let buyer = app.login("buyer").await;
    let rice = listing_titled(&app, "开江盘石村生态大米").await;
    let apples = listing_titled(&app, "列瓦村高原红富士苹果").await;
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
    assert_eq!(seen.body["lines"][0]["seller_region_code"], "511723104201");
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
    // Every event of the order goes to a channel that has a consumer: notifications only.
    let channels: Vec<String> = outbox::Entity::find()
        .filter(outbox::Column::AggregateType.eq("order"))
        .filter(outbox::Column::AggregateId.eq(order_id))
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.channel)
        .collect();
    assert_eq!(channels, vec!["notify"; 6]);
}

async fn checkout_refuses_bad_lines_one_by_one(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let buyer = app.login("buyer").await;
    let rice = listing_titled(&app, "开江盘石村生态大米").await;
    let basket = listing_titled(&app, "盘石竹编果篮").await;
    let potato = listing_titled(&app, "道孚高原洋芋").await;
    let liewa = app.login("coop-liewa").await;
    app.post(
        &format!("/api/v1/listings/{potato}/pause"),
        Some(&liewa),
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

async fn stock_is_never_oversold_under_concurrent_checkouts(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let app = Arc::new(app);
    let listing = listing_titled(&app, "列瓦村高原红富士苹果").await;
    let k = 7;
    restock(&app, "coop-liewa", listing, &k.to_string()).await;
    let sold_before = app.listing_row(listing).await.sold_milli;
    let buyers = app.new_buyers(50).await;
    let barrier = Arc::new(Barrier::new(buyers.len()));
    let mut tasks = Vec::new();
    for (i, token) in buyers.into_iter().enumerate() {
        let (app, barrier) = (app.clone(), barrier.clone());
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            app.checkout(
                &token,
                &format!("rush-{i}"),
                json!([{"listing_id": listing, "quantity": "1"}]),
            )
            .await
        }));
    }
    let mut sold = 0;
    let mut refused = 0;
    for t in tasks {
        let r = t.await.unwrap();
        match r.status {
            StatusCode::CREATED => sold += 1,
            StatusCode::CONFLICT => {
                assert_eq!(r.code(), "insufficient_stock");
                refused += 1;
            }
            other => panic!("unexpected {other}: {}", r.text),
        }
    }
    assert_eq!((sold, refused), (k, 50 - k));
    let row = app.listing_row(listing).await;
    assert_eq!(row.stock_milli, 0);
    assert_eq!(row.sold_milli - sold_before, k * 1000);
    let lines: Vec<order_line::Model> = order_line::Entity::find()
        .filter(order_line::Column::ListingId.eq(listing))
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(
        lines.iter().map(|l| l.quantity_milli).sum::<i64>(),
        k * 1000
    );
}

async fn one_listing_on_two_lines_of_one_checkout(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let buyer = app.login("buyer").await;
    let listing = listing_titled(&app, "盘石竹编果篮").await;
    restock(&app, "coop-panshi", listing, "10").await;
    let r = app
        .checkout(
            &buyer,
            "two-lines-1",
            json!([{"listing_id": listing, "quantity": 6}, {"listing_id": listing, "quantity": 5}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    assert_eq!(
        r.fields(),
        ["lines[1].quantity"],
        "the second line is the one that does not fit"
    );
    assert_eq!(
        app.listing_row(listing).await.stock_milli,
        10_000,
        "the first line's reservation was undone"
    );
    let r = app
        .checkout(
            &buyer,
            "two-lines-2",
            json!([{"listing_id": listing, "quantity": 6}, {"listing_id": listing, "quantity": 4}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["orders"][0]["lines"].as_array().unwrap().len(), 2);
    assert_eq!(app.listing_row(listing).await.stock_milli, 0);
    // The buyer's list shows both lines in the order bought, as the checkout answered.
    let mine = app.get("/api/v1/orders", Some(&buyer)).await;
    assert_eq!(mine.status, StatusCode::OK, "{}", mine.text);
    let listed = &mine.body["items"][0];
    assert_eq!(listed["lines"][0]["quantity"], "6");
    assert_eq!(listed["lines"][1]["quantity"], "4");
    assert_eq!(listed, &r.body["orders"][0]);
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

async fn cancel_racing_ship_returns_stock_at_most_once(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let app = Arc::new(app);
    let buyer = app.login("buyer").await;
    let seller = app.login("coop-panshi").await;
    let listing = listing_titled(&app, "开江豆笋 手工晾晒").await;
    let start = app.listing_row(listing).await.stock_milli;
    let mut cancels_won = 0;
    for round in 0..8 {
        let placed = app
            .checkout(
                &buyer,
                &format!("race-{round}"),
                json!([{"listing_id": listing, "quantity": "10"}]),
            )
            .await;
        let id = placed.body["orders"][0]["id"].as_i64().unwrap();
        assert_eq!(
            post_action(&app, &seller, id, "confirm", json!({}))
                .await
                .status,
            StatusCode::OK
        );
        let barrier = Arc::new(Barrier::new(3));
        let mut tasks = Vec::new();
        for which in ["ship", "cancel", "cancel"] {
            let (app, barrier, seller) = (app.clone(), barrier.clone(), seller.clone());
            tasks.push(tokio::spawn(async move {
                barrier.wait().await;
                let body = if which == "ship" {
                    json!({"carrier": "顺丰", "tracking_number": "SF1"})
                } else {
                    json!({"reason": "缺货"})
                };
                (
                    which,
                    app.post(&format!("/api/v1/orders/{id}/{which}"), Some(&seller), body)
                        .await,
                )
            }));
        }
        let mut winners = Vec::new();
        for t in tasks {
            let (which, r) = t.await.unwrap();
            if r.status == StatusCode::OK {
                winners.push(which);
            } else {
                assert_eq!(r.code(), "invalid_transition", "{}", r.text);
            }
        }
        assert_eq!(
            winners.len(),
            1,
            "exactly one of the racing calls wins: {winners:?}"
        );
        if winners[0] == "cancel" {
            cancels_won += 1;
        }
        let row = order::Entity::find_by_id(id)
            .one(&app.db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.stock_returned, winners[0] == "cancel");
        // A second cancel after the fact changes nothing.
        let late = post_action(&app, &seller, id, "cancel", json!({})).await;
        assert_eq!(late.code(), "invalid_transition");
    }
    let expected = start - (8 - cancels_won) * 10_000;
    assert_eq!(
        app.listing_row(listing).await.stock_milli,
        expected,
        "stock returned exactly once per cancelled order"
    );
}

async fn a_failure_after_the_stock_update_leaves_everything_as_it_was(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let buyer = app.login("buyer").await;
    let rice = listing_titled(&app, "开江盘石村生态大米").await;
    let apples = listing_titled(&app, "列瓦村高原红富士苹果").await;
    // Inject a failure: writing an order line aborts, after the stock updates have run.
    let sql = match app.db.get_database_backend() {
        DbBackend::Sqlite => vec!["CREATE TRIGGER fail_lines BEFORE INSERT ON order_lines BEGIN SELECT RAISE(ABORT, 'injected failure'); END;".to_string()],
        _ => vec![
            "CREATE FUNCTION fail_lines() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'injected failure'; END; $$ LANGUAGE plpgsql".to_string(),
            "CREATE TRIGGER fail_lines BEFORE INSERT ON order_lines FOR EACH ROW EXECUTE FUNCTION fail_lines()".to_string(),
        ],
    };
    for s in &sql {
        app.db.execute_unprepared(s).await.unwrap();
    }
    let before = app.snapshot().await;
    let keys_before = idempotency_key::Entity::find()
        .count(&app.db)
        .await
        .unwrap();
    let r = app.checkout(&buyer, "fails", json!([{"listing_id": rice, "quantity": "100"}, {"listing_id": apples, "quantity": "50"}])).await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(r.code(), "internal");
    assert!(r.body["error"]["request_id"].is_string());
    assert!(
        !r.text.contains("injected"),
        "internal details stay in the log"
    );
    assert_eq!(
        app.snapshot().await,
        before,
        "a failed checkout left rows behind"
    );
    assert_eq!(
        idempotency_key::Entity::find()
            .count(&app.db)
            .await
            .unwrap(),
        keys_before
    );

    app.db
        .execute_unprepared(
            "DROP TRIGGER fail_lines"
                .replace(
                    "fail_lines",
                    if app.db.get_database_backend() == DbBackend::Sqlite {
                        "fail_lines"
                    } else {
                        "fail_lines ON order_lines"
                    },
                )
                .as_str(),
        )
        .await
        .unwrap();
    let retry = app.checkout(&buyer, "fails", json!([{"listing_id": rice, "quantity": "100"}, {"listing_id": apples, "quantity": "50"}])).await;
    assert_eq!(
        retry.status,
        StatusCode::CREATED,
        "the key of a failed attempt is free for the retry: {}",
        retry.text
    );
}

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
    let other = app.login("coop-liewa").await;
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
