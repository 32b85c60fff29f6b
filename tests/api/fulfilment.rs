//! Delivery from the cart to the county's figures, in a real headless Chromium against the real
//! `qudao serve`: a buyer picks up from one cooperative and has the other's goods sent by
//! express; the cooperative prints its packing list, ships part of the order; the buyer
//! accepts a short delivery with a photo; the refund shows on the order and in the official's
//! figures. Screenshots go to `target/screenshots/`.

use chrono::Datelike;
use qudao::catalog::domain::format_yuan;
use serde_json::{Value, json};

use crate::browser::Browser;
use crate::helpers::{PASSWORD, cost};
use crate::pages::{json_of, screenshots, sign_in, sign_out, site};

/// 开江县, where 盘石村 sells from.
const KAIJIANG: &str = "511723";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pickup_express_a_part_shipment_and_a_short_delivery_in_the_browser() {
    let Some(b) = Browser::start(1280).await else {
        return;
    };
    let site = site();
    let url = site.served.url.clone();
    let shots = screenshots();
    let client = reqwest::Client::new();
    let token = |user: &'static str| {
        let request = client
            .post(format!("{url}/api/v1/auth/login"))
            .json(&json!({"username": user, "password": PASSWORD}));
        async move {
            json_of(request).await["token"]
                .as_str()
                .unwrap_or_else(|| panic!("{user} signs in"))
                .to_string()
        }
    };
    let (panshi, zilong, official) = (
        token("coop-panshi").await,
        token("coop-zilong").await,
        token("official-kaijiang").await,
    );
    let post = |token: &str, path: &str, body: Value| {
        client
            .post(format!("{url}{path}"))
            .bearer_auth(token)
            .json(&body)
    };

    // The cooperatives' delivery methods: 盘石村 sends by express, 孜龙村 also keeps a pickup
    // point in 道孚.
    let express = json!({"kind": "express", "name": "中国邮政", "rates": [{"province_code": "510000", "first_weight_g": 1000, "first_fee_fen": 800, "step_weight_g": 1000, "step_fee_fen": 200}]});
    let panshi_express = json_of(post(&panshi, "/api/v1/delivery-methods", express.clone())).await
        ["id"]
        .as_i64()
        .expect("盘石村's express");
    json_of(post(&zilong, "/api/v1/delivery-methods", express)).await["id"]
        .as_i64()
        .expect("孜龙村's express");
    let pickup = json_of(post(
        &zilong,
        "/api/v1/delivery-methods",
        json!({"kind": "pickup", "name": "道孚县城自提点", "fee_fen": 0, "region_code": "513326", "address": "鲜水镇团结路 12 号", "hours": "每天 9:00–18:00"}),
    ))
    .await["id"]
        .as_i64()
        .expect("孜龙村's pickup point");
    let listings = json_of(client.get(format!("{url}/api/v1/listings?per_page=100"))).await;
    let listing = |title: &str| {
        listings["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["title"] == title)
            .unwrap_or_else(|| panic!("{title}"))
            .clone()
    };
    let (rice, apples) = (
        listing("开江盘石村生态大米"),
        listing("孜龙村高原红富士苹果"),
    );
    let today = qudao::days::local_date(chrono::Utc::now());
    let quarter = format!("{}Q{}", today.year(), today.month0() / 3 + 1);
    let sales = |basis: &str| {
        client
            .get(format!(
                "{url}/api/v1/stats/regions/{KAIJIANG}?period={quarter}&basis={basis}"
            ))
            .bearer_auth(&official)
    };
    let placed_before = json_of(sales("placed")).await["figures"]["sales_fen"]
        .as_i64()
        .expect("开江's sales");

    // 1. The buyer puts 100 斤 of rice and 50 斤 of apples in the cart, asks for the freight
    //    to 成都, picks up the apples in 道孚 and has the rice sent by express.
    b.goto(&format!("{url}/lang/zh")).await;
    sign_in(&b, &url, "buyer", "/search").await;
    for (l, quantity) in [(&rice, "100"), (&apples, "50")] {
        b.goto(&format!("{url}/listings/{}", l["id"])).await;
        b.clear("#quantity").await;
        b.type_into("#quantity", quantity).await;
        b.click("#add-to-cart button").await;
        b.wait_for_url("/cart").await;
    }
    b.type_into("#recipient_name", "王芳").await;
    b.type_into("#phone", "13800001234").await;
    b.click("#region_code option[value=\"510104\"]").await;
    b.type_into("#line", "红星路二段 70 号").await;
    b.click("#show-freight").await;
    b.click(&format!("#method-{pickup}")).await;
    b.click(&format!("#method-{panshi_express}")).await;
    let to_pay = b.text("#to-pay").await;
    assert!(to_pay.contains('¥'), "{to_pay}");
    b.screenshot(&shots, "cart-delivery").await;
    b.click("#checkout button").await;
    b.wait_for_url("/orders?placed=1").await;
    let buyer = token("buyer").await;
    let orders = json_of(
        client
            .get(format!("{url}/api/v1/orders"))
            .bearer_auth(&buyer),
    )
    .await;
    let of = |listing: &Value| {
        orders["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["lines"][0]["listing_id"] == listing["id"])
            .unwrap_or_else(|| panic!("an order of {}: {orders}", listing["title"]))
            .clone()
    };
    let (rice_order, apple_order) = (of(&rice), of(&apples));
    assert_eq!(rice_order["delivery"]["kind"], "express", "{rice_order}");
    assert_eq!(apple_order["delivery"]["kind"], "pickup", "{apple_order}");
    assert!(rice_order["freight_fen"].as_i64().unwrap() > 0);
    let id = rice_order["id"].as_i64().unwrap();
    let line = rice_order["lines"][0]["id"].as_i64().unwrap();
    let price = rice_order["lines"][0]["unit_price_fen"].as_i64().unwrap();
    sign_out(&b).await;

    // 2. 盘石村 confirms and prints the day's packing list.
    sign_in(&b, &url, "coop-panshi", &format!("/orders/{id}")).await;
    b.click("#action-confirm button").await;
    b.wait_for_text("#order-status", "已确认").await;
    b.goto(&format!("{url}/producer/packing")).await;
    let pack = b.text(&format!("#pack-{id}")).await;
    assert!(
        pack.contains("王芳") && pack.contains("生态大米") && pack.contains("中国邮政"),
        "{pack}"
    );
    b.click("#print-view").await;
    b.wait_for_url("print=1").await;
    let printed = b.text(&format!("#pack-{id}")).await;
    assert!(printed.contains("王芳"), "{printed}");
    b.screenshot(&shots, "packing-print").await;

    // 3. Only 80 of the 100 斤 ship; more than was ordered is refused beside the field.
    b.goto(&format!("{url}/orders/{id}")).await;
    b.type_into("#carrier", "中国邮政").await;
    b.type_into("#tracking_number", "EMS1234567890").await;
    b.clear(&format!("#ship_{line}")).await;
    b.type_into(&format!("#ship_{line}"), "120").await;
    b.click("#action-ship button").await;
    b.wait_for_text(&format!("#ship_{line}-error"), "超过")
        .await;
    b.clear("#carrier").await;
    b.clear("#tracking_number").await;
    b.type_into("#carrier", "中国邮政").await;
    b.type_into("#tracking_number", "EMS1234567890").await;
    b.clear(&format!("#ship_{line}")).await;
    b.type_into(&format!("#ship_{line}"), "80").await;
    b.click("#action-ship button").await;
    b.wait_for_text("#order-status", "已发货").await;
    let shipped = b.text(&format!("#line-{line} .shipped")).await;
    assert_eq!(shipped.trim(), "80");
    sign_out(&b).await;

    // 4. 77.5 斤 arrive: the buyer accepts the short delivery, with a photo.
    sign_in(&b, &url, "buyer", &format!("/orders/{id}")).await;
    b.clear(&format!("#received_{line}")).await;
    b.type_into(&format!("#received_{line}"), "77.5").await;
    b.click("#action-receive button").await;
    b.wait_for_text("#order-status", "已收货").await;
    let goods = cost(price, 77_500);
    let refund = cost(price, 100_000) - goods;
    let shown = b.text("#refund").await;
    assert!(shown.contains(&format_yuan(refund)), "{shown}");
    let total = b.text("#order-total").await;
    let freight = rice_order["freight_fen"].as_i64().unwrap();
    assert_eq!(total.trim(), format_yuan(goods + freight));
    let dir = tempfile::tempdir().unwrap();
    let photo = dir.path().join("收货.png");
    std::fs::write(&photo, crate::photos::png(64, 48)).unwrap();
    b.type_into("#receipt_file", photo.to_str().unwrap()).await;
    b.click("#receipt-photo-form button").await;
    b.wait_for_text("#receipt-photo", "收货.png").await;
    b.screenshot(&shots, "short-delivery").await;
    sign_out(&b).await;

    // 5. 开江's official sees the goods that arrived, not what was ordered.
    sign_in(&b, &url, "official-kaijiang", "/officials").await;
    let figures = b
        .reload_until(
            &format!("{url}/officials/regions/{KAIJIANG}?period={quarter}&basis=placed"),
            "#sales",
            &format_yuan(placed_before + goods),
        )
        .await;
    assert!(!figures.contains(&format_yuan(placed_before + goods + refund)));
    b.screenshot(&shots, "officials-short").await;
}
