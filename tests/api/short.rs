//! Partial shipment and short delivery: the seller ships part, the buyer accepts less than
//! shipped, the difference is refunded to the fen, and stock and the officials' figures are
//! corrected exactly once, however often the projector meets the change.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Backend, Reply, TestApp, cost, spawn_app};
use crate::on_both_databases;

on_both_databases!(
    a_short_delivery_is_refunded_to_the_fen_and_counted_once,
    a_refund_after_a_short_delivery_takes_back_only_the_rest
);

/// 开江县, where 盘石村 sells from.
const KAIJIANG: &str = "511723";

/// An order of 100 斤 of 盘石村's rice, confirmed: (seller's token, buyer's token, order).
async fn confirmed_rice(app: &TestApp, key: &str) -> (String, String, Value) {
    let (panshi, rice) = app.panshi_rice_all_year().await;
    let buyer = app.login("buyer").await;
    let r = app
        .checkout(
            &buyer,
            key,
            json!([{"listing_id": rice, "quantity": "100"}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let id = r.body["orders"][0]["id"].as_i64().unwrap();
    let r = act(app, &panshi, id, "confirm", json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    (panshi, buyer, r.body)
}

async fn act(app: &TestApp, token: &str, id: i64, action: &str, body: Value) -> Reply {
    app.post(&format!("/api/v1/orders/{id}/{action}"), Some(token), body)
        .await
}

fn ship(line: i64, quantity: &str) -> Value {
    json!({"carrier": "中国邮政", "tracking_number": "EMS77", "lines": [{"line_id": line, "quantity": quantity}]})
}

async fn a_short_delivery_is_refunded_to_the_fen_and_counted_once(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (placed_before, completed_before) = (
        app.kaijiang_sales("placed").await,
        app.kaijiang_sales("completed").await,
    );
    let (panshi, buyer, order) = confirmed_rice(&app, "short-1").await;
    let id = order["id"].as_i64().unwrap();
    let line = &order["lines"][0];
    let (line_id, listing) = (
        line["id"].as_i64().unwrap(),
        line["listing_id"].as_i64().unwrap(),
    );
    let price = line["unit_price_fen"].as_i64().unwrap();
    let freight = order["freight_fen"].as_i64().unwrap();
    let stock = app.listing_row(listing).await;

    // What cannot ship: more than ordered, a line of another order, the same line twice,
    // nothing at all, a quantity that is not one.
    for (body, field, code) in [
        (
            ship(line_id, "100.001"),
            "lines[0].quantity",
            "exceeds_line",
        ),
        (ship(line_id + 1000, "1"), "lines[0].line_id", "unknown"),
        (
            json!({"carrier": "中国邮政", "tracking_number": "EMS77", "lines": [{"line_id": line_id, "quantity": "1"}, {"line_id": line_id, "quantity": "2"}]}),
            "lines[1]",
            "duplicate",
        ),
        (ship(line_id, "0"), "lines", "nothing_shipped"),
        (ship(line_id, "八十"), "lines[0].quantity", "invalid"),
    ] {
        let r = act(&app, &panshi, id, "ship", body).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
        assert_eq!(
            r.body["error"]["fields"][field]["code"], code,
            "{field}: {}",
            r.text
        );
    }
    assert_eq!(
        app.listing_row(listing).await.stock_milli,
        stock.stock_milli,
        "a refused shipment moves no stock"
    );

    // 80 of the 100 ship: the 20 left behind go back on sale, once.
    let r = act(&app, &panshi, id, "ship", ship(line_id, "80")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["lines"][0]["shipped"], "80");
    let after_ship = app.listing_row(listing).await;
    assert_eq!(after_ship.stock_milli, stock.stock_milli + 20_000);
    assert_eq!(after_ship.sold_milli, stock.sold_milli - 20_000);
    let r = act(&app, &panshi, id, "ship", ship(line_id, "80")).await;
    assert_eq!(r.code(), "invalid_transition", "{}", r.text);
    assert_eq!(app.listing_row(listing).await, after_ship);

    // The buyer cannot say more arrived than shipped, nor may the seller accept for them.
    let r = act(
        &app,
        &buyer,
        id,
        "receive",
        json!({"lines": [{"line_id": line_id, "quantity": "80.5"}]}),
    )
    .await;
    assert_eq!(
        r.body["error"]["fields"]["lines[0].quantity"]["code"], "exceeds_line",
        "{}",
        r.text
    );
    let r = act(&app, &panshi, id, "receive", json!({})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);

    // 77.5 arrive: the buyer pays for 77.5 and is refunded the rest, to the fen.
    let r = act(
        &app,
        &buyer,
        id,
        "receive",
        json!({"reason": "2.5 斤受潮", "lines": [{"line_id": line_id, "quantity": "77.5"}]}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let goods = cost(price, 77_500);
    let refund = cost(price, 100_000) - goods;
    assert!(refund > 0);
    assert_eq!(r.body["lines"][0]["received"], "77.5");
    assert_eq!(r.body["lines"][0]["short_fen"], refund);
    assert_eq!(r.body["refund_fen"], refund);
    assert_eq!(r.body["goods_fen"], goods);
    assert_eq!(r.body["total_fen"], goods + freight);
    // Lost on the way: no longer sold, and not back in stock.
    let delivered = app.listing_row(listing).await;
    assert_eq!(delivered.stock_milli, after_ship.stock_milli);
    assert_eq!(delivered.sold_milli, after_ship.sold_milli - 2_500);

    // The buyer's photo of what arrived: a JPEG or PNG, the buyer's alone to add.
    let photo = |token: String, bytes: Vec<u8>| {
        let app = &app;
        async move {
            app.call_raw(
                Method::POST,
                &format!("/api/v1/orders/{id}/receipt-photo?name=收货.png"),
                Some(&token),
                "application/octet-stream",
                bytes,
            )
            .await
        }
    };
    let png = crate::photos::png(40, 30);
    let r = photo(panshi.clone(), png.clone()).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let r = photo(buyer.clone(), b"%PDF-1.4\n%%EOF\n".to_vec()).await;
    assert_eq!(
        (r.status, r.body["error"]["fields"]["file"]["code"].clone()),
        (StatusCode::UNPROCESSABLE_ENTITY, json!("unsupported_file")),
        "{}",
        r.text
    );
    let r = photo(buyer.clone(), png.clone()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let seen = app
        .client
        .get(format!("{}/api/v1/orders/{id}/receipt-photo", app.address))
        .bearer_auth(&panshi)
        .send()
        .await
        .unwrap();
    assert_eq!(seen.status(), StatusCode::OK);
    assert_eq!(seen.bytes().await.unwrap().to_vec(), png);
    assert!(app.audited("order.receipt_photo", id).await);

    // The officials see the goods that arrived, on the day they arrived; completed, the same.
    app.project().await;
    assert_eq!(app.kaijiang_sales("placed").await - placed_before, goods);
    let r = act(&app, &buyer, id, "complete", json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    app.project().await;
    assert_eq!(
        app.kaijiang_sales("completed").await - completed_before,
        goods
    );

    // The changes come round again (a crash between applying and marking): nothing twice.
    use sea_orm::ConnectionTrait;
    app.db
        .execute_unprepared(
            "UPDATE outbox SET delivered_at = NULL, locked_until = NULL, locked_by = NULL \
             WHERE channel = 'stats'",
        )
        .await
        .unwrap();
    app.project().await;
    assert_eq!(app.kaijiang_sales("placed").await - placed_before, goods);
    assert_eq!(
        app.kaijiang_sales("completed").await - completed_before,
        goods
    );

    // The county's ledger books the shortfall as a line of its own.
    let official = app.login("official-kaijiang").await;
    let ledger = app
        .get(
            &format!("/api/v1/stats/regions/{KAIJIANG}/ledger"),
            Some(&official),
        )
        .await;
    assert_eq!(ledger.status, StatusCode::OK, "{}", ledger.text);
    let short: Vec<&Value> = ledger
        .body
        .as_array()
        .unwrap_or_else(|| panic!("{}", ledger.text))
        .iter()
        .filter(|e| e["order_id"] == id && e["short"] == true)
        .collect();
    assert_eq!(short.len(), 1, "{}", ledger.text);
    assert_eq!(short[0]["amount_fen"], -refund);
    assert_eq!(short[0]["quantity"], "22.5");
}

async fn a_refund_after_a_short_delivery_takes_back_only_the_rest(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let placed_before = app.kaijiang_sales("placed").await;
    let (panshi, buyer, order) = confirmed_rice(&app, "short-2").await;
    let id = order["id"].as_i64().unwrap();
    let line_id = order["lines"][0]["id"].as_i64().unwrap();
    let listing = order["lines"][0]["listing_id"].as_i64().unwrap();
    let r = act(&app, &panshi, id, "ship", ship(line_id, "60")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // Received as shipped: the 40 that stayed behind are refunded.
    let r = act(&app, &buyer, id, "receive", json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let price = order["lines"][0]["unit_price_fen"].as_i64().unwrap();
    assert_eq!(
        r.body["refund_fen"].as_i64().unwrap(),
        cost(price, 100_000) - cost(price, 60_000)
    );
    app.project().await;
    assert_eq!(
        app.kaijiang_sales("placed").await - placed_before,
        cost(price, 60_000)
    );
    let stock = app.listing_row(listing).await;

    // Disputed and refunded in full: the sale is gone from the figures, to the fen, and the
    // goods that left stay sold.
    let r = act(&app, &buyer, id, "dispute", json!({"reason": "米有霉味"})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let admin = app.login("admin").await;
    let r = act(
        &app,
        &admin,
        id,
        "resolve",
        json!({"outcome": "refund", "reason": "照片证实"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    app.project().await;
    assert_eq!(app.kaijiang_sales("placed").await, placed_before);
    assert_eq!(app.listing_row(listing).await, stock);

    // Rebuilt from the orders, the figures are the same.
    qudao::stats::projector::rebuild(&app.db).await.unwrap();
    assert_eq!(app.kaijiang_sales("placed").await, placed_before);
}
