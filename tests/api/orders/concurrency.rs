//! Stock under concurrency: checkouts racing for the last units, cancels racing shipments,
//! a failure half-way.

use std::sync::Arc;

use qudao::orders::entity::{idempotency_key, order, order_line};
use reqwest::StatusCode;
use sea_orm::{ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::json;
use tokio::sync::Barrier;

use crate::helpers::{Backend, spawn_app};
use crate::on_both_databases;

use super::{listing_titled, post_action, restock};

on_both_databases!(
    stock_is_never_oversold_under_concurrent_checkouts,
    one_listing_on_two_lines_of_one_checkout,
    cancel_racing_ship_returns_stock_at_most_once,
    a_failure_after_the_stock_update_leaves_everything_as_it_was,
    a_checkout_sells_only_on_the_terms_it_read,
);

async fn stock_is_never_oversold_under_concurrent_checkouts(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let app = Arc::new(app);
    let listing = listing_titled(&app, "孜龙村高原红富士苹果").await;
    let k = 7;
    restock(&app, "coop-zilong", listing, &k.to_string()).await;
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
    let apples = listing_titled(&app, "孜龙村高原红富士苹果").await;
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

/// A checkout reads the listings before its transaction. A listing whose price changes in
/// between is not sold at the old price: that try gives way, and the checkout goes through on
/// the listing as it now is.
async fn a_checkout_sells_only_on_the_terms_it_read(backend: Backend) {
    use qudao::accounts::entity::user;
    use qudao::catalog::domain::Quantity;
    use qudao::error::{AppError, Busy};
    use qudao::orders::checkout::{self, Address, Checkout, LineInput, Offers};

    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let listing = listing_titled(&app, "盘石竹编果篮").await;
    restock(&app, "coop-panshi", listing, "10").await;
    let buyer = user::Entity::find()
        .filter(user::Column::Username.eq("buyer"))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let lines = vec![LineInput {
        listing_id: listing,
        quantity: Quantity::from_milli(2000),
        unit: None,
        agreed_price_fen: None,
    }];
    let offers = Offers::read(&app.db, &lines).await.unwrap();
    let was = app.listing_row(listing).await.price_fen;

    let seller = app.login("coop-panshi").await;
    let r = app
        .patch(
            &format!("/api/v1/listings/{listing}"),
            Some(&seller),
            json!({"price_fen": was + 150}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);

    let txn = qudao::db::write_txn(&app.db).await.unwrap();
    let stale = checkout::place_offered(
        &txn,
        &buyer,
        Checkout {
            address: Address {
                recipient_name: "王师傅".into(),
                phone: "02886630890".into(),
                region_code: "510104".into(),
                line: "红星路二段 70 号".into(),
            },
            note: String::new(),
            lines,
            unit: None,
            campaigns: Default::default(),
            delivery: Vec::new(),
            contract_id: None,
        },
        &offers,
    )
    .await;
    assert!(
        matches!(stale, Err(AppError::Busy(Busy::Conflict))),
        "sold at a price no longer asked: {stale:?}"
    );
    txn.rollback().await.unwrap();
    assert_eq!(app.listing_row(listing).await.stock_milli, 10_000);

    let token = app.login("buyer").await;
    let r = app
        .checkout(
            &token,
            "new-terms-1",
            json!([{"listing_id": listing, "quantity": "2"}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["orders"][0]["lines"][0]["unit_price_fen"], was + 150);
    assert_eq!(app.listing_row(listing).await.stock_milli, 8_000);
}
