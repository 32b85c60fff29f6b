//! Page forms without a browser, as a phone with scripts off would send them: purchase
//! requests posted and answered on both sides until they become an order.

use reqwest::StatusCode;

use crate::helpers::{Backend, hidden, spawn_app};
use crate::on_both_databases;
use crate::pages::signed_in;

on_both_databases!(a_request_posted_on_the_pages_becomes_an_order_when_both_accept_there);

/// A page's status and text, fetched by a signed-in client.
pub(crate) async fn page(client: &reqwest::Client, url: &str) -> (StatusCode, String) {
    let r = client.get(url).send().await.unwrap();
    (r.status(), r.text().await.unwrap())
}

async fn a_request_posted_on_the_pages_becomes_an_order_when_both_accept_there(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (_, rice_listing) = app.panshi_rice_all_year().await;
    let rice = app.category_id("rice").await;
    let url = &app.address;
    let buyer = signed_in(url, "buyer").await;
    let (status, html) = page(&buyer, &format!("{url}/requests")).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    let token = hidden(&html, "csrf_token");
    let deliver_by = (chrono::Utc::now().date_naive() + chrono::Duration::days(10)).to_string();
    let rice = rice.to_string();
    let mut fields = vec![
        ("csrf_token", token.as_str()),
        ("title", "食堂大米 100 斤"),
        ("category_id", rice.as_str()),
        ("unit", "jin"),
        ("quantity", "100"),
        ("max_price_yuan", "五十"),
        ("deliver_by", deliver_by.as_str()),
        ("region_code", "511723"),
        ("address_line", "新宁镇幸福路 8 号"),
        ("contact_name", "王师傅"),
        ("contact_phone", "13800001234"),
        ("min_grade", "platinum"),
        ("min_lot", "50"),
        ("min_fill", "100"),
        ("max_distance_km", "远"),
        ("prefer_benefit", "on"),
    ];

    // A price in words is refused beside its field; what was typed stays.
    let r = buyer
        .post(format!("{url}/requests"))
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    for field in ["max_price_yuan", "min_grade", "max_distance_km"] {
        assert!(
            html.contains(&format!("id=\"{field}-error\"")),
            "{field}: {html}"
        );
    }
    assert!(html.contains("value=\"食堂大米 100 斤\""), "{html}");
    assert!(
        html.contains("name=\"prefer_benefit\" value=\"on\" checked"),
        "{html}"
    );

    // A distance past what matching reaches is refused by the request's own checks.
    fields.retain(|(k, _)| !["max_price_yuan", "min_grade", "max_distance_km"].contains(k));
    fields.extend([("max_price_yuan", "50"), ("min_grade", "second")]);
    let far = [fields.clone(), vec![("max_distance_km", "5000")]].concat();
    let r = buyer
        .post(format!("{url}/requests"))
        .form(&far)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(html.contains("id=\"max_distance_km-error\""), "{html}");
    fields.push(("max_distance_km", "800"));
    let r = buyer
        .post(format!("{url}/requests"))
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::SEE_OTHER,
        "{}",
        r.text().await.unwrap()
    );
    let at = r.headers()["location"].to_str().unwrap().to_string();
    // Every condition typed is the request's.
    let token_api = app.login("buyer").await;
    let id = at.trim_start_matches("/requests/");
    let stored = app
        .get(&format!("/api/v1/purchase-requests/{id}"), Some(&token_api))
        .await;
    let r = &stored.body["request"];
    assert_eq!(r["min_grade"], "second", "{}", stored.text);
    assert_eq!(r["min_lot"], "50");
    assert_eq!(r["min_fill"], "100");
    assert_eq!(r["max_distance_km"], 800);
    assert_eq!(r["prefer_benefit"], true);
    let (_, html) = page(&buyer, &format!("{url}{at}")).await;
    assert!(html.contains("食堂大米 100 斤"), "{html}");
    let proposal: i64 = html
        .split("action=\"/proposals/")
        .nth(1)
        .and_then(|s| s.split('/').next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no proposal to accept: {html}"));
    assert!(
        html.contains(&format!("/listings/{rice_listing}")),
        "{html}"
    );

    // A forged answer changes nothing; the buyer accepts, then the cooperative.
    let r = buyer
        .post(format!("{url}/proposals/{proposal}/accept"))
        .form(&[("csrf_token", "forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let answer = |client: reqwest::Client, token: String| async move {
        client
            .post(format!("{url}/proposals/{proposal}/accept"))
            .form(&[("csrf_token", token.as_str())])
            .send()
            .await
            .unwrap()
            .status()
    };
    assert_eq!(
        answer(buyer.clone(), token.clone()).await,
        StatusCode::SEE_OTHER
    );
    let (_, html) = page(&buyer, &format!("{url}{at}")).await;
    assert!(html.contains("等待对方确认"), "{html}");

    let panshi = signed_in(url, "coop-panshi").await;
    let (_, html) = page(&panshi, &format!("{url}/producer")).await;
    assert!(
        html.contains("食堂大米 100 斤"),
        "the dashboard shows the request near the cooperative: {html}"
    );
    let (_, html) = page(&panshi, &format!("{url}/requests")).await;
    assert!(html.contains("食堂大米 100 斤"), "{html}");
    assert!(
        !html.contains("13800001234"),
        "no buyer contact before an order"
    );
    let panshi_token = hidden(&html, "csrf_token");
    assert_eq!(
        answer(panshi.clone(), panshi_token).await,
        StatusCode::SEE_OTHER
    );
    let (_, html) = page(&panshi, &format!("{url}{at}")).await;
    assert!(html.contains("已成单"), "{html}");
    let order: i64 = html
        .split("href=\"/orders/")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no order link: {html}"));
    let (status, html) = page(&buyer, &format!("{url}/orders/{order}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("王师傅"), "{html}");
}

on_both_databases!(admins_approve_applications_and_add_synonyms_on_their_page);

async fn admins_approve_applications_and_add_synonyms_on_their_page(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let reg = app
        .post("/api/v1/auth/register", None, serde_json::json!({"username": "chengjiagou-hen", "password": "程家沟土鸡养殖合作社", "display_name": "程大勇", "role": "producer"}))
        .await;
    assert_eq!(reg.status, StatusCode::CREATED, "{}", reg.text);
    let producer = app
        .login_with("chengjiagou-hen", "程家沟土鸡养殖合作社")
        .await;
    let applied = app
        .post(
            "/api/v1/organizations",
            Some(&producer),
            serde_json::json!({"name": "开江县程家沟村土鸡养殖专业合作社", "kind": "cooperative", "region_code": "511723105207",
                   "contact_name": "程大勇", "contact_phone": "135-0818-1235"}),
        )
        .await;
    assert_eq!(applied.status, StatusCode::CREATED, "{}", applied.text);
    let org = applied.body["id"].as_i64().unwrap();

    let url = &app.address;
    let admin = signed_in(url, "admin").await;
    let (status, html) = page(&admin, &format!("{url}/admin")).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains(&format!("id=\"org-{org}\"")), "{html}");
    assert!(
        html.contains("chengjiagou-hen"),
        "the new user is listed: {html}"
    );
    let token = hidden(&html, "csrf_token");

    // Before the county recommends it there is nothing to approve; after, approved, it
    // leaves the queue.
    assert!(
        !html.contains(&format!("/admin/organizations/{org}/approve")),
        "{html}"
    );
    let official = app.login("official-kaijiang").await;
    let r = app
        .post(
            &format!("/api/v1/organizations/{org}/recommend"),
            Some(&official),
            serde_json::json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let (_, html) = page(&admin, &format!("{url}/admin")).await;
    assert!(
        html.contains(&format!("/admin/organizations/{org}/approve")),
        "{html}"
    );
    let r = admin
        .post(format!("{url}/admin/organizations/{org}/approve"))
        .form(&[("csrf_token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, html) = page(&admin, &format!("{url}/admin")).await;
    assert!(!html.contains(&format!("id=\"org-{org}\"")), "{html}");
    let shown = app
        .get(&format!("/api/v1/organizations/{org}"), Some(&producer))
        .await;
    assert_eq!(shown.body["status"], "approved", "{}", shown.text);

    // A synonym is added for search; an empty one is refused beside its field.
    let potato = app.category_id("potato").await;
    let add = |alias: &'static str| {
        let admin = admin.clone();
        let token = token.clone();
        async move {
            admin
                .post(format!("{url}/admin/categories/{potato}/aliases"))
                .form(&[("csrf_token", token.as_str()), ("alias", alias)])
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(add("洋山芋").await.status(), StatusCode::SEE_OTHER);
    let refused = add(" ").await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = refused.text().await.unwrap();
    assert!(
        html.contains(&format!("id=\"alias-{potato}-error\"")),
        "{html}"
    );
    let cats = app.get("/api/v1/categories", None).await;
    assert!(cats.text.contains("洋山芋"), "{}", cats.text);

    // Nobody else reaches the page or its forms.
    let buyer = signed_in(url, "buyer").await;
    let (status, _) = page(&buyer, &format!("{url}/admin")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let buyer_token = hidden(&page(&buyer, &format!("{url}/")).await.1, "csrf_token");
    let r = buyer
        .post(format!("{url}/admin/categories/{potato}/aliases"))
        .form(&[("csrf_token", buyer_token.as_str()), ("alias", "山药蛋")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

on_both_databases!(buyers_save_a_search_from_its_page_and_delete_it);

async fn buyers_save_a_search_from_its_page_and_delete_it(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let url = &app.address;
    let buyer = signed_in(url, "buyer").await;
    let (status, html) = page(&buyer, &format!("{url}/search?q=洋芋&county=513326")).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("id=\"save-search\""), "{html}");
    let token = hidden(&html, "csrf_token");
    let save = |fields: Vec<(&'static str, String)>| {
        let buyer = buyer.clone();
        let token = token.clone();
        async move {
            let mut form = vec![("csrf_token", token)];
            form.extend(fields);
            buyer
                .post(format!("{url}/saved-searches"))
                .form(&form)
                .send()
                .await
                .unwrap()
        }
    };
    let r = save(vec![
        ("q", "洋芋".into()),
        ("county", "513326".into()),
        ("name", "道孚洋芋".into()),
        ("alert", "daily".into()),
    ])
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, html) = page(&buyer, &format!("{url}/saved-searches")).await;
    assert!(html.contains("道孚洋芋"), "{html}");
    assert!(html.contains("每日汇总"), "{html}");
    assert!(
        html.contains("search?q=%E6%B4%8B%E8%8A%8B&amp;county=513326"),
        "the saved search runs again from its link: {html}"
    );

    // Nothing to look for is refused, and said why.
    let r = save(vec![("name", "全部".into())]).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(html.contains("id=\"save-errors\""), "{html}");

    let id: i64 = html
        .split("action=\"/saved-searches/")
        .nth(1)
        .and_then(|s| s.split(['/', '"']).next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no form for the saved search: {html}"));

    // Its row renames it and changes its alert; a made-up alert or an empty name is refused.
    let change = |name: &'static str, alert: &'static str, client: reqwest::Client| {
        let token = token.clone();
        async move {
            client
                .post(format!("{url}/saved-searches/{id}"))
                .form(&[
                    ("csrf_token", token.as_str()),
                    ("name", name),
                    ("alert", alert),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    let r = change("道孚洋芋(周)", "hourly", buyer.clone()).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let r = change("", "off", buyer.clone()).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("id=\"save-errors\""));
    let r = change("道孚洋芋(周)", "off", buyer.clone()).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let token_api = app.login("buyer").await;
    let stored = app.get("/api/v1/saved-searches", Some(&token_api)).await;
    let one = stored
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id)
        .unwrap()
        .clone();
    assert_eq!(one["name"], "道孚洋芋(周)");
    assert_eq!(one["alert"], "off");
    assert_eq!(one["query"]["q"], "洋芋", "what it looks for is kept");
    let (_, html) = page(&buyer, &format!("{url}/saved-searches")).await;
    assert!(html.contains("<option value=\"off\" selected>"), "{html}");
    // Nobody else's form reaches it.
    let other = signed_in(url, "buyer-hangzhou").await;
    let (_, other_html) = page(&other, &format!("{url}/saved-searches")).await;
    let other_token = hidden(&other_html, "csrf_token");
    let r = other
        .post(format!("{url}/saved-searches/{id}"))
        .form(&[
            ("csrf_token", other_token.as_str()),
            ("name", "x"),
            ("alert", "off"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    let r = buyer
        .post(format!("{url}/saved-searches/{id}/delete"))
        .form(&[("csrf_token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, html) = page(&buyer, &format!("{url}/saved-searches")).await;
    assert!(!html.contains("道孚洋芋"), "{html}");
}

on_both_databases!(producers_register_member_households_on_their_organization_page);

async fn producers_register_member_households_on_their_organization_page(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let url = &app.address;
    let panshi = signed_in(url, "coop-panshi").await;
    let (status, html) = page(&panshi, &format!("{url}/producer/organization")).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("开江县盘石村农民专业合作社"), "{html}");
    let token = hidden(&html, "csrf_token");
    let add = |village: &'static str, share: &'static str| {
        let panshi = panshi.clone();
        let token = token.clone();
        async move {
            panshi
                .post(format!("{url}/producer/organization/households"))
                .form(&[
                    ("csrf_token", token.as_str()),
                    ("head_name", "李德全"),
                    ("region_code", village),
                    ("members", "4"),
                    ("registered", "on"),
                    ("share_percent", share),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    // A share that is not a percent, and a village in another county, are named beside
    // their fields; what was typed stays.
    let r = add("511723102210", "一成").await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(html.contains("id=\"share_percent-error\""), "{html}");
    assert!(html.contains("value=\"李德全\""), "{html}");
    let r = add("513326100204", "2.5").await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(html.contains("不在本社所在县"), "{html}");

    let r = add("511723102210", "2.5").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, html) = page(&panshi, &format!("{url}/producer/organization")).await;
    assert!(html.contains("<td>李德全</td>"), "{html}");
    assert!(html.contains("2.50%"), "{html}");
}

on_both_databases!(searching_nearest_first_measures_from_the_phone_or_says_it_cannot);

async fn searching_nearest_first_measures_from_the_phone_or_says_it_cannot(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let url = &app.address;
    let anonymous = reqwest::Client::new();
    let (status, html) = page(&anonymous, &format!("{url}/search?sort=distance")).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("id=\"no-place\""), "{html}");

    // From 道孚 (31.0 N, 101.1 E) its own listings come before 开江's, and the other way round.
    let hits = |html: &str| html[html.find("id=\"hits\"").expect("hits")..].to_string();
    for (near, first, second) in [
        ("31.0,101.1", "道孚县", "开江县"),
        ("31.1,107.9", "开江县", "道孚县"),
    ] {
        let (_, html) = page(
            &anonymous,
            &format!("{url}/search?sort=distance&near={near}&per_page=50"),
        )
        .await;
        assert!(!html.contains("id=\"no-place\""), "{html}");
        let list = hits(&html);
        let (a, b) = (list.find(first), list.find(second));
        assert!(
            a.is_some() && b.is_some() && a < b,
            "from {near}, {first} before {second}: {list}"
        );
    }
}

on_both_databases!(buyers_change_a_cart_line_s_quantity_on_the_cart_page);

async fn buyers_change_a_cart_line_s_quantity_on_the_cart_page(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (_, rice) = app.panshi_rice_all_year().await;
    let token = app.login("buyer").await;
    let r = app
        .post(
            "/api/v1/cart/items",
            Some(&token),
            serde_json::json!({"listing_id": rice, "quantity": "10"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let line = r.body["lines"][0]["id"].as_i64().unwrap();
    let before = r.body["total_fen"].as_i64().unwrap();
    let url = &app.address;
    let buyer = signed_in(url, "buyer").await;
    let change = |quantity: &'static str| {
        let buyer = buyer.clone();
        async move {
            let (_, html) = page(&buyer, &format!("{url}/cart")).await;
            let csrf = hidden(&html, "csrf_token");
            let r = buyer
                .post(format!("{url}/cart/{line}/quantity"))
                .form(&[("csrf_token", csrf.as_str()), ("quantity", quantity)])
                .send()
                .await
                .unwrap();
            (r.status(), r.text().await.unwrap())
        }
    };
    // What is not a quantity comes back beside its line, and the line is as it was.
    for bad in ["三十", "0", "-2"] {
        let (status, html) = change(bad).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {html}");
        assert!(
            html.contains(&format!("id=\"quantity-{line}-error\"")),
            "{bad}: {html}"
        );
    }
    let cart = app.get("/api/v1/cart", Some(&token)).await.body;
    assert_eq!(cart["total_fen"], before);
    let (status, html) = change("30").await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
    let cart = app.get("/api/v1/cart", Some(&token)).await.body;
    assert_eq!(cart["lines"][0]["quantity"], "30");
    assert_eq!(cart["total_fen"].as_i64().unwrap(), before * 3);
    // Nobody changes another buyer's line.
    let other = app.new_buyers(1).await;
    let r = app
        .patch(
            &format!("/api/v1/cart/items/{line}"),
            Some(&other[0]),
            serde_json::json!({"quantity": "1"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

on_both_databases!(sellers_record_payments_on_the_order_page);

async fn sellers_record_payments_on_the_order_page(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (_, rice) = app.panshi_rice_all_year().await;
    let buyer_token = app.login("buyer").await;
    let r = app
        .checkout(
            &buyer_token,
            "pay-1",
            serde_json::json!([{"listing_id": rice, "quantity": "100"}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let id = r.body["orders"][0]["id"].as_i64().unwrap();
    let url = &app.address;
    let order_page = format!("{url}/orders/{id}");
    let seller = signed_in(url, "coop-panshi").await;
    let buyer = signed_in(url, "buyer").await;
    let record = |client: reqwest::Client, status: &'static str| {
        let order_page = order_page.clone();
        async move {
            let (_, html) = page(&client, &order_page).await;
            let csrf = hidden(&html, "csrf_token");
            let r = client
                .post(format!("{order_page}/payment"))
                .form(&[("csrf_token", csrf.as_str()), ("status", status)])
                .send()
                .await
                .unwrap();
            r.status()
        }
    };
    let payment = || async {
        app.get(&format!("/api/v1/orders/{id}"), Some(&buyer_token))
            .await
            .body["payment_status"]
            .clone()
    };

    // The buyer sees the payment's state but cannot record one.
    let (_, html) = page(&buyer, &order_page).await;
    assert!(html.contains("id=\"payment-status\""), "{html}");
    assert!(!html.contains("id=\"payment-paid_offline\""));
    assert_eq!(
        record(buyer.clone(), "paid_offline").await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(payment().await, "unpaid");

    // The seller records the offline payment, then a refund; nothing else.
    let (_, html) = page(&seller, &order_page).await;
    assert!(html.contains("id=\"payment-paid_offline\""), "{html}");
    assert!(!html.contains("id=\"payment-refunded\""));
    assert_eq!(
        record(seller.clone(), "paid").await,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        record(seller.clone(), "refunded").await,
        StatusCode::CONFLICT
    );
    assert_eq!(payment().await, "unpaid");
    assert_eq!(
        record(seller.clone(), "paid_offline").await,
        StatusCode::SEE_OTHER
    );
    assert_eq!(payment().await, "paid_offline");
    let (_, html) = page(&seller, &order_page).await;
    assert!(html.contains("id=\"payment-refunded\""), "{html}");
    assert_eq!(
        record(seller.clone(), "refunded").await,
        StatusCode::SEE_OTHER
    );
    assert_eq!(payment().await, "refunded");
    let (_, html) = page(&seller, &order_page).await;
    assert!(
        !html.contains("id=\"payment-paid_offline\"") && !html.contains("id=\"payment-refunded\""),
        "nothing more to record"
    );
}

on_both_databases!(a_buyer_changes_an_open_request_on_its_page);

async fn a_buyer_changes_an_open_request_on_its_page(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.panshi_rice_all_year().await;
    let rice = app.category_id("rice").await;
    let token = app.login("buyer").await;
    let mut posted = crate::matching::canteen_request(rice, "1");
    posted["prefer_benefit"] = serde_json::json!(true);
    let posted = app
        .post("/api/v1/purchase-requests", Some(&token), posted)
        .await;
    assert_eq!(posted.status, StatusCode::CREATED, "{}", posted.text);
    let id = posted.body["request"]["id"].as_i64().unwrap();
    let before: Vec<i64> = posted.body["proposals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_i64().unwrap())
        .collect();
    assert!(!before.is_empty(), "{}", posted.text);

    // The request's page leads to its form, filled in with what the request holds.
    let url = &app.address;
    let buyer = signed_in(url, "buyer").await;
    let (_, html) = page(&buyer, &format!("{url}/requests/{id}")).await;
    assert!(
        html.contains(&format!("href=\"/requests/{id}/edit\"")),
        "{html}"
    );
    let edit = format!("{url}/requests/{id}/edit");
    let (status, html) = page(&buyer, &edit).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    for filled in [
        "value=\"职工食堂大米\"",
        "id=\"quantity\" name=\"quantity\" value=\"1\"",
        "value=\"10400.00\"",
        "value=\"红星路二段 70 号\"",
        "value=\"02886630890\"",
        "id=\"min_lot\" name=\"min_lot\" value=\"1\"",
        "id=\"max_distance_km\" name=\"max_distance_km\" value=\"500\"",
        "<option value=\"first\" selected>",
        "<option value=\"ton\" selected>",
        "<option value=\"510104\" selected>",
        "name=\"prefer_benefit\" value=\"on\" checked",
    ] {
        assert!(html.contains(filled), "{filled}: {html}");
    }
    assert!(html.contains(&format!("<option value=\"{rice}\" selected>")));
    let csrf = hidden(&html, "csrf_token");
    let deliver_by = posted.body["request"]["deliver_by"]
        .as_str()
        .unwrap()
        .to_string();
    let rice = rice.to_string();
    let mut fields = vec![
        ("csrf_token", csrf.as_str()),
        ("title", "职工食堂大米(改)"),
        ("category_id", rice.as_str()),
        ("unit", "ton"),
        ("quantity", "2"),
        ("max_price_yuan", "五千"),
        ("deliver_by", deliver_by.as_str()),
        ("region_code", "510104"),
        ("address_line", "红星路二段 70 号"),
        ("contact_name", "王师傅"),
        ("contact_phone", "02886630890"),
        ("min_grade", "second"),
        ("min_lot", ""),
        ("min_fill", ""),
        ("max_distance_km", "800"),
    ];

    // A forged form and a price in words change nothing; the words stay in the form.
    let mut forged = fields.clone();
    forged[0] = ("csrf_token", "forged");
    let r = buyer.post(&edit).form(&forged).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = buyer.post(&edit).form(&fields).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(html.contains("id=\"max_price_yuan-error\""), "{html}");
    assert!(html.contains("value=\"五千\""), "{html}");
    let stored = app
        .get(&format!("/api/v1/purchase-requests/{id}"), Some(&token))
        .await;
    assert_eq!(stored.body["request"]["quantity"], "1");

    // Saved: the request holds the new terms, its waiting proposals are withdrawn and it is
    // matched again.
    fields.retain(|(k, _)| *k != "max_price_yuan");
    fields.push(("max_price_yuan", "5000"));
    let r = buyer.post(&edit).form(&fields).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], format!("/requests/{id}").as_str());
    let stored = app
        .get(&format!("/api/v1/purchase-requests/{id}"), Some(&token))
        .await;
    let r = &stored.body["request"];
    assert_eq!(r["title"], "职工食堂大米(改)");
    assert_eq!(r["quantity"], "2");
    assert_eq!(r["max_price_fen"], 500_000);
    assert_eq!(r["min_grade"], "second");
    assert_eq!(r["min_lot"], "0");
    assert_eq!(r["max_distance_km"], 800);
    assert_eq!(r["prefer_benefit"], false, "unticked is off");
    assert_eq!(r["contact"]["address_line"], "红星路二段 70 号");
    let proposals = app.get("/api/v1/proposals", Some(&token)).await.body;
    for old in &before {
        let p = proposals
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["id"] == *old)
            .unwrap_or_else(|| panic!("proposal {old}"));
        assert_eq!(p["status"], "withdrawn", "{p}");
    }

    // Nobody else changes it, and a closed request is not changed.
    let other = signed_in(url, "union-member").await;
    let (status, _) = page(&other, &edit).await;
    assert!(
        [StatusCode::FORBIDDEN, StatusCode::NOT_FOUND].contains(&status),
        "{status}"
    );
    let panshi = signed_in(url, "coop-panshi").await;
    let (status, _) = page(&panshi, &edit).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let cancelled = app
        .post(
            &format!("/api/v1/purchase-requests/{id}/cancel"),
            Some(&token),
            serde_json::json!({}),
        )
        .await;
    assert_eq!(cancelled.status, StatusCode::OK, "{}", cancelled.text);
    let (status, html) = page(&buyer, &edit).await;
    assert_eq!(status, StatusCode::CONFLICT, "{html}");
    let (_, html) = page(&buyer, &format!("{url}/requests/{id}")).await;
    assert!(!html.contains("/edit\""), "no form for a closed request");
}
