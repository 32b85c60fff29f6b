//! Season contracts (订单农业): a canteen contracts 盘石村's rice before harvest at the market
//! price with a floor; the cooperative signs and records the deposit; deliveries are ordinary
//! orders, one of them short; what the contract says it has delivered, the orders and the
//! officials' figures agree to the fen, and the county sees the households contracts cover.

use chrono::{Days, Utc};
use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

use crate::forms::page;
use crate::helpers::{Backend, cost, hidden, spawn_app};
use crate::on_both_databases;
use crate::pages::signed_in;

on_both_databases!(
    a_season_contract_is_signed_deposited_delivered_and_reconciles_to_the_fen,
    a_season_contract_is_proposed_signed_and_delivered_on_its_pages,
    deliveries_called_at_once_never_exceed_the_contract,
);

/// 开江县, where 盘石村 sells from.
const KAIJIANG: &str = "511723";

fn proposal(listing: i64, floor: i64) -> Value {
    let today = qudao::days::local_date(Utc::now());
    json!({
        "listing_id": listing, "quantity": "1000", "window_start": today.to_string(),
        "window_end": (today + Days::new(90)).to_string(), "pricing": "floor", "price_fen": floor,
        "deposit_fen": 50_000,
        "address": {"recipient_name": "王师傅", "phone": "028-86630890", "region_code": "510104", "line": "红星路二段 70 号职工食堂"},
        "note": "新米，一级",
    })
}

async fn a_season_contract_is_signed_deposited_delivered_and_reconciles_to_the_fen(
    backend: Backend,
) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (panshi, rice) = app.panshi_rice_all_year().await;
    let buyer = app.login("buyer").await;
    let zilong = app.login("coop-zilong").await;
    let market = app.listing_row(rice).await.price_fen;
    let floor = market - 30;
    let before = app.kaijiang_sales("placed").await;
    let good = proposal(rice, floor);
    let with = |field: &str, value: Value| {
        let mut body = good.clone();
        body[field] = value;
        body
    };
    let today = qudao::days::local_date(Utc::now());
    for (body, field, code) in [
        (with("listing_id", json!(999_999)), "listing_id", "unknown"),
        (with("quantity", json!("0")), "quantity", "out_of_range"),
        (
            with("window_start", json!((today - Days::new(1)).to_string())),
            "window_start",
            "in_past",
        ),
        (
            with("window_end", json!((today - Days::new(1)).to_string())),
            "window_end",
            "before_start",
        ),
        (
            with("window_end", json!("明年秋天")),
            "window_end",
            "invalid_date",
        ),
        (with("pricing", json!("spot")), "pricing", "unknown_value"),
        (with("price_fen", json!(0)), "price_fen", "out_of_range"),
        (
            with("deposit_fen", json!(cost(floor, 1_000_000) + 1)),
            "deposit_fen",
            "out_of_range",
        ),
    ] {
        let r = app.post("/api/v1/contracts", Some(&buyer), body).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
        assert_eq!(
            r.body["error"]["fields"][field]["code"], code,
            "{field}: {}",
            r.text
        );
    }
    let r = app
        .post("/api/v1/contracts", Some(&panshi), good.clone())
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    let r = app.post("/api/v1/contracts", Some(&buyer), good).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let id = r.body["id"].as_i64().unwrap();
    assert_eq!(r.body["status"], "proposed");
    let at = |path: &str| format!("/api/v1/contracts/{id}/{path}");
    // Nothing is delivered before the cooperative signs, and only it signs.
    let r = app
        .post(&at("deliveries"), Some(&buyer), json!({"quantity": "100"}))
        .await;
    assert_eq!(r.code(), "not_signed", "{}", r.text);
    for (token, status) in [
        (&buyer, StatusCode::FORBIDDEN),
        (&zilong, StatusCode::NOT_FOUND),
    ] {
        let r = app.post(&at("sign"), Some(token), json!({})).await;
        assert_eq!(r.status, status, "{}", r.text);
    }
    let r = app.post(&at("sign"), Some(&panshi), json!({})).await;
    assert_eq!(r.body["status"], "signed", "{}", r.text);
    // The cooperative heard of the proposal, the canteen of the signing.
    app.deliver_notices().await;
    for (token, topic) in [(&panshi, "contract.proposed"), (&buyer, "contract.signed")] {
        let r = app.get("/api/v1/notifications", Some(token)).await;
        assert!(
            r.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .any(|n| n["topic"] == topic
                    && n["link"]
                        .as_str()
                        .unwrap_or("")
                        .ends_with(&format!("/contracts/{id}"))),
            "{topic}: {}",
            r.text
        );
    }
    let r = app.post(&at("cancel"), Some(&buyer), json!({})).await;
    assert_eq!(r.code(), "invalid_transition", "{}", r.text);

    // The deposit, as the cooperative records receiving it.
    let paid = |amount: i64, on: String| json!({"amount_fen": amount, "paid_on": on});
    let r = app
        .post(
            &at("deposit"),
            Some(&buyer),
            paid(50_000, today.to_string()),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    for (body, field, code) in [
        (
            paid(50_001, today.to_string()),
            "amount_fen",
            "out_of_range",
        ),
        (
            paid(50_000, (today + Days::new(1)).to_string()),
            "paid_on",
            "in_future",
        ),
    ] {
        let r = app.post(&at("deposit"), Some(&panshi), body).await;
        assert_eq!(r.body["error"]["fields"][field]["code"], code, "{}", r.text);
    }
    let r = app
        .post(
            &at("deposit"),
            Some(&panshi),
            paid(50_000, today.to_string()),
        )
        .await;
    assert_eq!(r.body["deposit_paid_fen"], 50_000, "{}", r.text);

    // The first delivery, called by the canteen, at the market price above the floor.
    let r = app
        .post(&at("deliveries"), Some(&buyer), json!({"quantity": "400"}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let first = r.body["id"].as_i64().unwrap();
    assert_eq!(r.body["lines"][0]["unit_price_fen"], market);
    assert_eq!(r.body["goods_fen"], cost(market, 400_000));
    // The market falls below the floor: the second, called by the cooperative, pays the floor.
    let r = app
        .patch(
            &format!("/api/v1/listings/{rice}"),
            Some(&panshi),
            json!({"price_fen": floor - 50}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = app
        .post(&at("deliveries"), Some(&panshi), json!({"quantity": "300"}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let second = r.body["id"].as_i64().unwrap();
    let line = r.body["lines"][0]["id"].as_i64().unwrap();
    assert_eq!(r.body["lines"][0]["unit_price_fen"], floor);
    // No more than the contract has left.
    let r = app
        .post(
            &at("deliveries"),
            Some(&buyer),
            json!({"quantity": "300.001"}),
        )
        .await;
    assert_eq!(
        r.body["error"]["fields"]["quantity"]["code"], "exceeds_contract",
        "{}",
        r.text
    );

    // The first completes; the second arrives 20 斤 short and is refunded the difference.
    app.advance(first, "complete").await;
    for (token, action, body) in [
        (&panshi, "confirm", json!({})),
        (
            &panshi,
            "ship",
            json!({"carrier": "中国邮政", "tracking_number": "EMS5"}),
        ),
        (
            &buyer,
            "receive",
            json!({"lines": [{"line_id": line, "quantity": "280"}]}),
        ),
    ] {
        let r = app
            .post(
                &format!("/api/v1/orders/{second}/{action}"),
                Some(token),
                body,
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{action}: {}", r.text);
    }
    let delivered_fen = cost(market, 400_000) + cost(floor, 280_000);
    let r = app
        .get(&format!("/api/v1/contracts/{id}"), Some(&buyer))
        .await;
    assert_eq!(r.body["delivered"], "680", "{}", r.text);
    assert_eq!(r.body["remaining"], "320");
    assert_eq!(r.body["delivered_fen"], delivered_fen);
    assert_eq!(r.body["deliveries"].as_array().unwrap().len(), 2);
    // The cooperative sees the same.
    let seen = app
        .get(&format!("/api/v1/contracts/{id}"), Some(&panshi))
        .await;
    assert_eq!(seen.body["delivered_fen"], delivered_fen);

    // The orders and the county's figures say the same, to the fen.
    use qudao::orders::entity::order;
    let orders = order::Entity::find()
        .filter(order::Column::ContractId.eq(id))
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(
        orders.iter().map(|o| o.goods_fen).sum::<i64>(),
        delivered_fen
    );
    app.project().await;
    assert_eq!(app.kaijiang_sales("placed").await - before, delivered_fen);

    // 订单农业覆盖: the county sees the contract, its value at the floor, what was delivered and
    // the registered households of 盘石村's cooperative.
    let official = app.login("official-kaijiang").await;
    let r = app
        .get(
            &format!("/api/v1/stats/regions/{KAIJIANG}/contracts"),
            Some(&official),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let households = qudao::catalog::entity::household::Entity::find()
        .filter(
            qudao::catalog::entity::household::Column::OrganizationId
                .eq(app.organization_of(&panshi).await),
        )
        .filter(qudao::catalog::entity::household::Column::Registered.eq(true))
        .count(&app.db)
        .await
        .unwrap() as i64;
    assert!(households > 0);
    assert_eq!(r.body["contracts"], 1);
    assert_eq!(r.body["value_fen"], cost(floor, 1_000_000));
    assert_eq!(r.body["delivered_fen"], delivered_fen);
    assert_eq!(r.body["households"], households);
    let rows = r.body["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (&rows[0]["county_code"], &rows[0]["quantity"]),
        (&json!(KAIJIANG), &json!("1000"))
    );
    // A buyer reads none of it.
    let r = app
        .get(
            &format!("/api/v1/stats/regions/{KAIJIANG}/contracts"),
            Some(&buyer),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    for action in [
        "contract.propose",
        "contract.sign",
        "contract.deposit",
        "contract.deliver",
    ] {
        assert!(app.audited(action, id).await, "{action}");
    }
}

async fn a_season_contract_is_proposed_signed_and_delivered_on_its_pages(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (_, rice) = app.panshi_rice_all_year().await;
    let url = &app.address;
    let buyer = signed_in(url, "buyer").await;
    let seller = signed_in(url, "coop-panshi").await;
    let (_, listing) = page(&buyer, &format!("{url}/listings/{rice}")).await;
    assert!(listing.contains(&format!("/contracts?listing_id={rice}")));
    let (status, html) = page(&buyer, &format!("{url}/contracts?listing_id={rice}")).await;
    assert_eq!(status, StatusCode::OK);
    let csrf = hidden(&html, "csrf_token");
    let today = qudao::days::local_date(Utc::now());
    let form = |end: String| {
        vec![
            ("csrf_token", csrf.clone()),
            ("listing_id", rice.to_string()),
            ("quantity", "500".to_string()),
            ("window_start", today.to_string()),
            ("window_end", end),
            ("pricing", "fixed".to_string()),
            ("price_yuan", "4.50".to_string()),
            ("deposit_yuan", "200".to_string()),
            ("recipient_name", "王师傅".to_string()),
            ("phone", "028-86630890".to_string()),
            ("region_code", "510104".to_string()),
            ("line", "红星路二段 70 号".to_string()),
            ("note", String::new()),
        ]
    };
    // A window that ends before it starts is refused beside its field.
    let r = buyer
        .post(format!("{url}/contracts"))
        .form(&form((today - Days::new(3)).to_string()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(html.contains("id=\"window_end-error\""), "{html}");
    let r = buyer
        .post(format!("{url}/contracts"))
        .form(&form((today + Days::new(30)).to_string()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let one = format!("{url}{}", r.headers()["location"].to_str().unwrap());

    // The cooperative signs it and records the deposit on the contract's page.
    let (_, html) = page(&seller, &one).await;
    let csrf = hidden(&html, "csrf_token");
    assert!(html.contains("id=\"step-sign\""), "{html}");
    let r = seller
        .post(format!("{one}/sign"))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = seller
        .post(format!("{one}/deposit"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("amount_yuan", "200"),
            ("paid_on", &today.to_string()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);

    // The canteen calls a delivery; it shows on the contract with the order it placed.
    let (_, html) = page(&buyer, &one).await;
    let csrf = hidden(&html, "csrf_token");
    let r = buyer
        .post(format!("{one}/deliveries"))
        .form(&[("csrf_token", csrf.as_str()), ("quantity", "600")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("id=\"quantity-error\""));
    let r = buyer
        .post(format!("{one}/deliveries"))
        .form(&[("csrf_token", csrf.as_str()), ("quantity", "200")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, html) = page(&buyer, &one).await;
    let fulfilment = &html[html.find("id=\"contract-fulfilment\"").unwrap()..];
    assert!(fulfilment.contains("200 / 500"), "{fulfilment}");
    assert!(html.contains("/orders/"), "{html}");
    assert!(html.contains("¥200.00"), "the deposit received: {html}");

    // 开江's official sees it in the county's coverage.
    let official = signed_in(url, "official-kaijiang").await;
    let (status, html) = page(&official, &format!("{url}/officials/contracts")).await;
    assert_eq!(status, StatusCode::OK);
    let contracts = &html[html.find("id=\"coverage-contracts\"").unwrap()..];
    assert!(
        contracts.starts_with("id=\"coverage-contracts\">1<"),
        "{contracts}"
    );
}

async fn deliveries_called_at_once_never_exceed_the_contract(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (panshi, rice) = app.panshi_rice_all_year().await;
    let buyer = app.login("buyer").await;
    let market = app.listing_row(rice).await.price_fen;
    let r = app
        .post("/api/v1/contracts", Some(&buyer), proposal(rice, market))
        .await;
    let id = r.body["id"].as_i64().unwrap();
    let r = app
        .post(
            &format!("/api/v1/contracts/{id}/sign"),
            Some(&panshi),
            json!({}),
        )
        .await;
    assert_eq!(r.body["status"], "signed", "{}", r.text);
    // The canteen and the cooperative each call 600 of the 1 000 at the same moment.
    let call = |token: String| {
        let app = &app;
        async move {
            app.post(
                &format!("/api/v1/contracts/{id}/deliveries"),
                Some(&token),
                json!({"quantity": "600"}),
            )
            .await
        }
    };
    let (a, b) = tokio::join!(call(buyer.clone()), call(panshi.clone()));
    let placed = [&a, &b]
        .iter()
        .filter(|r| r.status == StatusCode::CREATED)
        .count();
    assert_eq!(placed, 1, "{} / {}", a.text, b.text);
    let refused = if a.status == StatusCode::CREATED {
        &b
    } else {
        &a
    };
    assert!(
        refused.code() == "version_conflict"
            || refused.body["error"]["fields"]["quantity"]["code"] == "exceeds_contract",
        "{}",
        refused.text
    );
    let r = app
        .get(&format!("/api/v1/contracts/{id}"), Some(&buyer))
        .await;
    assert_eq!(
        (&r.body["delivered"], &r.body["remaining"]),
        (&json!("600"), &json!("400"))
    );
}
