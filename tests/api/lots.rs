//! Lots and tracing: a cooperative records a lot of its rice (harvest, village, households,
//! quantity); shipping binds each line to lots covering it exactly, never taking more than a
//! lot holds; the label's QR code decodes to the lot's trace page, which tells the village,
//! the harvest, the certificates in effect and how many households took part (a count), in
//! Chinese and English, under 10 KB, counting its scans; officials see how much of the
//! county's sales carried a verified certificate, and how often its lots were traced.

use chrono::{Duration, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};

use qudao::days::local_date;

use crate::helpers::{Backend, TestApp, spawn_app_with};
use crate::on_both_databases;

on_both_databases!(
    a_lot_is_shipped_labelled_and_traced_to_its_village,
    bad_lots_and_bad_bindings_are_refused_by_field,
    lots_are_recorded_on_their_page_and_a_slip_comes_back_beside_its_field,
);

const PUBLIC_URL: &str = "https://qudao.example";

async fn market(backend: Backend) -> Option<TestApp> {
    spawn_app_with(backend, |s| s.public_url = Some(PUBLIC_URL.into())).await
}

fn day(offset: i64) -> String {
    (local_date(Utc::now()) + Duration::days(offset)).to_string()
}

/// 盘石村's demo rice, which its verified certificates cover: the token and the listing.
async fn panshi_rice(app: &TestApp) -> (String, i64) {
    let panshi = app.login("coop-panshi").await;
    let org = app.organization_of(&panshi).await;
    let rice = app.category_id("rice").await;
    for id in app.listings_of(org).await {
        if app.listing_row(id).await.category_id == rice {
            return (panshi, id);
        }
    }
    panic!("the demo has 盘石村's rice");
}

async fn record_lot(
    app: &TestApp,
    token: &str,
    listing: i64,
    body: Value,
) -> crate::helpers::Reply {
    app.post(
        &format!("/api/v1/listings/{listing}/lots"),
        Some(token),
        body,
    )
    .await
}

/// A confirmed order of `quantity` of `listing` by the demo buyer: the order's id and its
/// line's id.
async fn confirmed_order(app: &TestApp, listing: i64, quantity: &str, key: &str) -> (i64, i64) {
    let buyer = app.login("buyer").await;
    let r = app
        .checkout(
            &buyer,
            key,
            json!([{"listing_id": listing, "quantity": quantity}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let order = r.body["orders"][0]["id"].as_i64().unwrap();
    let line = r.body["orders"][0]["lines"][0]["id"].as_i64().unwrap();
    app.advance(order, "confirm").await;
    (order, line)
}

async fn ship(
    app: &TestApp,
    token: &str,
    order: i64,
    key: &str,
    lots: Value,
) -> crate::helpers::Reply {
    app.call_with(
        reqwest::Method::POST,
        &format!("/api/v1/orders/{order}/ship"),
        Some(token),
        Some(json!({"carrier": "中国邮政", "tracking_number": "EMS2026", "lots": lots})),
        &[("idempotency-key", key)],
    )
    .await
}

async fn a_lot_is_shipped_labelled_and_traced_to_its_village(backend: Backend) {
    let Some(app) = market(backend).await else {
        return;
    };
    let (panshi, rice) = panshi_rice(&app).await;
    let stock_before = app.listing_row(rice).await.stock_milli;
    let r = record_lot(
        &app,
        &panshi,
        rice,
        json!({"harvested_on": day(-20), "village_code": "511723102210", "base": "三组水田",
               "households": 12, "quantity": "80"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let lot = r.body["id"].as_i64().unwrap();
    let code = r.body["code"].as_str().unwrap().to_string();
    assert_eq!(r.body["village_name"], "盘石村");
    let second = record_lot(
        &app,
        &panshi,
        rice,
        json!({"harvested_on": day(-3), "quantity": "40"}),
    )
    .await;
    assert_eq!(second.status, StatusCode::CREATED, "{}", second.text);
    let lot2 = second.body["id"].as_i64().unwrap();
    // A lot records origin: it leaves the listing's stock alone.
    assert_eq!(app.listing_row(rice).await.stock_milli, stock_before);

    let (order, line) = confirmed_order(&app, rice, "100", "lot-order-1").await;
    // A line of a listing with lots must be covered by them, exactly.
    let bare = ship(&app, &panshi, order, "ship-1", json!([])).await;
    assert_eq!(
        bare.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        bare.text
    );
    assert_eq!(bare.fields(), [format!("lots.{line}")]);
    let too_much = ship(
        &app,
        &panshi,
        order,
        "ship-2",
        json!([{"line_id": line, "lot_id": lot2, "quantity": "100"}]),
    )
    .await;
    assert_eq!(too_much.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        too_much.body["error"]["fields"]["lots[0].quantity"]["code"],
        "exceeds_lot"
    );
    let shipped = ship(
        &app,
        &panshi,
        order,
        "ship-3",
        json!([{"line_id": line, "lot_id": lot, "quantity": "70"}, {"line_id": line, "lot_id": lot2, "quantity": "30"}]),
    )
    .await;
    assert_eq!(shipped.status, StatusCode::OK, "{}", shipped.text);
    assert_eq!(shipped.body["status"], "shipped");
    assert_eq!(shipped.body["lines"][0]["certified"], true);
    assert_eq!(shipped.body["lines"][0]["recognised"], true);
    let buyer = app.login("buyer").await;
    let bound = app
        .get(&format!("/api/v1/orders/{order}/lots"), Some(&buyer))
        .await;
    assert_eq!(bound.status, StatusCode::OK);
    let mut got: Vec<(i64, String)> = bound
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["lot_id"].as_i64().unwrap(),
                b["quantity"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    got.sort();
    assert_eq!(got, [(lot, "70".to_string()), (lot2, "30".to_string())]);
    // What is left of the first lot bounds the next shipment.
    let (order2, line2) = confirmed_order(&app, rice, "100", "lot-order-2").await;
    let over = ship(
        &app,
        &panshi,
        order2,
        "ship-4",
        json!([{"line_id": line2, "lot_id": lot, "quantity": "100"}]),
    )
    .await;
    assert_eq!(
        over.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        over.text
    );
    assert!(
        over.text.contains("10"),
        "the lot has 10 left: {}",
        over.text
    );

    // The label's QR code leads to the trace page.
    let label = app.get(&format!("/lots/{code}/label"), None).await;
    assert_eq!(label.status, StatusCode::OK);
    assert!(
        label.text.contains("盘石村") && label.text.contains("承诺达标合格证"),
        "{}",
        label.text
    );
    let src = format!("/lots/{code}/qr.png");
    assert!(label.text.contains(&src), "{}", label.text);
    let png = reqwest::get(format!("{}{src}", app.address))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let img = image::load_from_memory(&png).unwrap().to_luma8();
    let mut prepared = rqrr::PreparedImage::prepare(img);
    let grids = prepared.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code on the label");
    let (_, content) = grids[0].decode().unwrap();
    assert_eq!(content, format!("{PUBLIC_URL}/t/{code}"));

    // The trace page: the village, the harvest, the certificates in effect, a count of
    // households; light; in English too; each opening counted.
    let page = app.get(&format!("/t/{code}"), None).await;
    assert_eq!(page.status, StatusCode::OK);
    for needle in [
        "盘石村",
        "开江县",
        &day(-20),
        "12 户",
        "绿色食品",
        "消费帮扶产品认定",
    ] {
        assert!(page.text.contains(needle), "{needle} in {}", page.text);
    }
    assert!(page.text.len() < 10 * 1024, "{} bytes", page.text.len());
    let english = app
        .call_with(
            reqwest::Method::GET,
            &format!("/t/{code}"),
            None,
            None,
            &[("accept-language", "en")],
        )
        .await;
    assert!(
        english.text.contains("Panshi Village") && english.text.contains("12 households"),
        "{}",
        english.text
    );
    let traced = app.get(&format!("/api/v1/lots/{code}"), None).await;
    assert_eq!(traced.body["scans"], 2, "the API's reading is not a scan");
    assert!(traced.body.get("households").is_some());
    assert!(
        !traced.text.contains("户1"),
        "no household's name: {}",
        traced.text
    );

    // Officials: the county's certified share and its lots' scans.
    let kaijiang = app.login("official-kaijiang").await;
    let trust = app
        .get("/api/v1/stats/regions/511723/trust", Some(&kaijiang))
        .await;
    assert_eq!(trust.status, StatusCode::OK, "{}", trust.text);
    let sold = app.listing_row(rice).await.price_fen * 200;
    assert_eq!(trust.body["sales_fen"], sold);
    assert_eq!(trust.body["certified_fen"], sold);
    assert_eq!(trust.body["certified_share_bp"], 10_000);
    // The demo rice is recognised (消费帮扶产品认定) as well as green food.
    assert_eq!(trust.body["recognised_fen"], sold);
    assert_eq!(trust.body["trace_scans"], 2);
    // An uncertified listing's sale lowers the share.
    let fresh = app.panshi_lists_rice("盘石村未认证糙米", 500).await;
    let fresh = fresh.body["id"].as_i64().unwrap();
    confirmed_order(&app, fresh, "24", "lot-order-3").await;
    let trust = app
        .get("/api/v1/stats/regions/511723/trust", Some(&kaijiang))
        .await;
    let total = sold + 500 * 24;
    assert_eq!(trust.body["sales_fen"], total);
    assert_eq!(trust.body["certified_share_bp"], sold * 10_000 / total);
    assert_eq!(trust.body["recognised_fen"], sold);
    let page = app
        .get("/api/v1/stats/regions/511723/trust", Some(&buyer))
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
}

async fn bad_lots_and_bad_bindings_are_refused_by_field(backend: Backend) {
    let Some(app) = market(backend).await else {
        return;
    };
    let (panshi, rice) = panshi_rice(&app).await;
    let cases = [
        (json!({"quantity": "5"}), "harvested_on", "required"),
        (
            json!({"harvested_on": day(2), "quantity": "5"}),
            "harvested_on",
            "in_future",
        ),
        (
            json!({"harvested_on": "2026-02-30", "quantity": "5"}),
            "harvested_on",
            "invalid_date",
        ),
        (json!({"harvested_on": day(-1)}), "quantity", "required"),
        (
            json!({"harvested_on": day(-1), "quantity": "0"}),
            "quantity",
            "out_of_range",
        ),
        (
            json!({"harvested_on": day(-1), "quantity": "1.0005"}),
            "quantity",
            "too_precise",
        ),
        (
            json!({"harvested_on": day(-1), "quantity": "5", "households": -1}),
            "households",
            "out_of_range",
        ),
        (
            json!({"harvested_on": day(-1), "quantity": "5", "village_code": "513326100204"}),
            "village_code",
            "out_of_scope",
        ),
        (
            json!({"harvested_on": day(-1), "quantity": "5", "village_code": "999999999999"}),
            "village_code",
            "unknown",
        ),
        (
            json!({"harvested_on": day(-1), "quantity": "5", "base": "田".repeat(201)}),
            "base",
            "too_long",
        ),
    ];
    for (body, field, code) in cases {
        let r = record_lot(&app, &panshi, rice, body.clone()).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            r.text
        );
        assert_eq!(
            r.body["error"]["fields"][field]["code"], code,
            "{body}: {}",
            r.text
        );
    }
    // Only the organization records its lots; whoever may not is refused whatever the body.
    let zilong = app.login("coop-zilong").await;
    let buyer = app.login("buyer").await;
    for token in [&zilong, &buyer] {
        let r = app
            .call_with(
                reqwest::Method::POST,
                &format!("/api/v1/listings/{rice}/lots"),
                Some(token),
                None,
                &[("content-type", "text/plain")],
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    }
    let r = record_lot(
        &app,
        &panshi,
        rice,
        json!({"harvested_on": day(-1), "quantity": "50"}),
    )
    .await;
    let lot = r.body["id"].as_i64().unwrap();
    // Bindings that name the wrong line or lot, or a lot twice.
    let (order, line) = confirmed_order(&app, rice, "100", "bad-bind-1").await;
    let zilong_org = app.organization_of(&zilong).await;
    let other_listing = app.listings_of(zilong_org).await[0];
    let other_lot = record_lot(
        &app,
        &zilong,
        other_listing,
        json!({"harvested_on": day(-1), "quantity": "50"}),
    )
    .await;
    assert_eq!(other_lot.status, StatusCode::CREATED, "{}", other_lot.text);
    let other_lot = other_lot.body["id"].as_i64().unwrap();
    let r = ship(
        &app,
        &panshi,
        order,
        "bad-ship-1",
        json!([{"line_id": line + 1000, "lot_id": lot, "quantity": "10"},
               {"line_id": line, "lot_id": other_lot, "quantity": "10"},
               {"line_id": line, "lot_id": lot, "quantity": "50"},
               {"line_id": line, "lot_id": lot, "quantity": "50"}]),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    let mut fields = r.fields();
    fields.sort();
    // The one good share covers 50 of the line's 100: the line is not covered either.
    let mut want = vec![
        format!("lots.{line}"),
        "lots[0].line_id".to_string(),
        "lots[1].lot_id".to_string(),
        "lots[3]".to_string(),
    ];
    want.sort();
    assert_eq!(fields, want);
    let r = app
        .get(&format!("/api/v1/orders/{order}"), Some(&buyer))
        .await;
    assert_eq!(
        r.body["status"], "confirmed",
        "a refused shipment changes nothing"
    );
    let r = app.get("/t/nosuchcode", None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

async fn lots_are_recorded_on_their_page_and_a_slip_comes_back_beside_its_field(backend: Backend) {
    let Some(app) = market(backend).await else {
        return;
    };
    let (_, rice) = panshi_rice(&app).await;
    let url = &app.address;
    let panshi = crate::pages::signed_in(url, "coop-panshi").await;
    let here = format!("{url}/producer/listings/{rice}/lots");
    let (status, html) = crate::forms::page(&panshi, &here).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    let token = crate::helpers::hidden(&html, "csrf_token");
    let mut form = vec![
        ("csrf_token", token),
        ("harvested_on", day(3)),
        ("village_code", "511723102210".to_string()),
        ("base", "二组坡地".to_string()),
        ("households", "7".to_string()),
        ("quantity", "60".to_string()),
    ];
    let r = panshi.post(&here).form(&form).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("id=\"e-harvested_on\"") && html.contains("二组坡地"),
        "{html}"
    );
    form[1].1 = day(-2);
    let r = panshi.post(&here).form(&form).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, html) = crate::forms::page(&panshi, &here).await;
    assert!(
        html.contains("二组坡地") && html.contains("/label"),
        "{html}"
    );
    // Someone else's listing's lots are not theirs to see or record.
    let zilong = crate::pages::signed_in(url, "coop-zilong").await;
    let (status, _) = crate::forms::page(&zilong, &here).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}
