use qudao::catalog::entity::listing;
use qudao::outbox::entity as outbox;
use reqwest::StatusCode;
use sea_orm::{
    ActiveValue::NotSet, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder, Set,
};
use serde_json::json;

use crate::helpers::{Backend, spawn_app, unexplained_outbox_rows};
use crate::on_both_databases;

on_both_databases!(
    demo_market_is_there_on_first_start,
    a_producer_manages_its_listing_from_creation_to_deletion,
    every_listing_change_writes_an_outbox_event,
    the_harness_finds_outbox_rows_that_nobody_can_read,
    a_stored_code_nobody_knows_is_an_error_not_a_default,
    listings_filter_by_category_tree_region_price_and_certification,
    quantities_stay_exact,
    pages_render_in_chinese_and_english,
    a_long_list_counts_every_listing_and_pages_in_order,
);

async fn demo_market_is_there_on_first_start(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let all = app.get("/api/v1/listings?per_page=100", None).await;
    assert_eq!(all.status, StatusCode::OK);
    let titles: Vec<&str> = all.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["title"].as_str().unwrap())
        .collect();
    for want in [
        "孜龙村高原红富士苹果",
        "道孚高原洋芋",
        "开江盘石村生态大米",
        "道孚冬虫夏草 精选",
        "盘石竹编果篮",
        "道孚牦牛肉 鲜切",
    ] {
        assert!(
            titles.contains(&want),
            "demo listing {want} missing from {titles:?}"
        );
    }
    // The pending application is not public.
    let orgs = app.get("/api/v1/organizations?per_page=100", None).await;
    assert!(
        orgs.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|o| o["status"] == "approved")
    );
    let kaijiang = app.get("/api/v1/regions/511723", None).await;
    assert_eq!(kaijiang.body["region"]["name"], "开江县");
    let path: Vec<&str> = kaijiang.body["path"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(path, ["四川省", "达州市", "开江县"]);
    for code in [
        "510000", "511700", "513300", "513326", "513336", "511300", "511381",
    ] {
        assert_eq!(
            app.get(&format!("/api/v1/regions/{code}"), None)
                .await
                .status,
            StatusCode::OK,
            "{code}"
        );
    }
}

async fn a_producer_manages_its_listing_from_creation_to_deletion(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let token = app.login("coop-zilong").await;
    let apple = app.category_id("apple").await;
    let created = app
        .post(
            "/api/v1/listings",
            Some(&token),
            json!({
                "category_id": apple, "title": "孜龙村苹果 礼盒装", "description": "10斤装礼盒",
                "unit": "piece", "price_fen": 8800, "stock": 300, "min_order": "1", "grade": "special",
                "season_start": 9, "season_end": 12, "certifications": ["green_food", "poverty_alleviation"]
            }),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let id = created.body["id"].as_i64().unwrap();
    assert_eq!(created.body["stock"], "300");
    assert_eq!(created.body["price_display"], "¥88.00");
    assert_eq!(
        created.body["origin"]["name"], "孜龙村",
        "origin defaults to the organization's village"
    );
    assert_eq!(created.body["version"], 1);
    assert!(created.body["latitude"].as_f64().is_some());

    let public = app.get(&format!("/api/v1/listings/{id}"), None).await;
    assert_eq!(public.status, StatusCode::OK);
    assert_eq!(public.body["title"], "孜龙村苹果 礼盒装");

    let changed = app
        .patch(
            &format!("/api/v1/listings/{id}"),
            Some(&token),
            json!({"price_fen": 7900, "stock": "250"}),
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.text);
    assert_eq!(changed.body["price_fen"], 7900);
    assert_eq!(changed.body["stock"], "250");
    assert_eq!(changed.body["title"], "孜龙村苹果 礼盒装");
    assert_eq!(changed.body["version"], 2);

    let paused = app
        .post(
            &format!("/api/v1/listings/{id}/pause"),
            Some(&token),
            json!({}),
        )
        .await;
    assert_eq!(paused.body["status"], "paused");
    assert_eq!(
        app.get(&format!("/api/v1/listings/{id}"), None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get(&format!("/api/v1/listings/{id}"), Some(&token))
            .await
            .status,
        StatusCode::OK
    );
    let own = app
        .get("/api/v1/listings?status=paused", Some(&token))
        .await;
    assert_eq!(own.body["total"], 1);
    let public_paused = app.get("/api/v1/listings?status=paused", None).await;
    assert_eq!(public_paused.body["total"], 0);

    let resumed = app
        .post(
            &format!("/api/v1/listings/{id}/resume"),
            Some(&token),
            json!({}),
        )
        .await;
    assert_eq!(resumed.body["status"], "active");
    assert_eq!(
        app.get(&format!("/api/v1/listings/{id}"), None)
            .await
            .status,
        StatusCode::OK
    );

    let deleted = app
        .call(
            reqwest::Method::DELETE,
            &format!("/api/v1/listings/{id}"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.get(&format!("/api/v1/listings/{id}"), Some(&token))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.patch(
            &format!("/api/v1/listings/{id}"),
            Some(&token),
            json!({"price_fen": 1})
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    // Soft delete: the row stays for history.
    let row = qudao::catalog::entity::listing::Entity::find_by_id(id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert!(row.deleted_at.is_some());
}

async fn every_listing_change_writes_an_outbox_event(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let token = app.login("coop-panshi").await;
    let org = app.organization_of(&token).await;
    let id = app.listings_of(org).await[0];
    // The demo listed it, and its certificates taking effect gave it its certifications.
    let seeded = outbox::Entity::find()
        .filter(outbox::Column::AggregateType.eq("listing"))
        .filter(outbox::Column::AggregateId.eq(id))
        .order_by_asc(outbox::Column::Id)
        .all(&app.db)
        .await
        .unwrap();
    let seeded: Vec<&str> = seeded.iter().map(|e| e.topic.as_str()).collect();
    assert_eq!(seeded, ["listing.created", "listing.updated"]);
    app.patch(
        &format!("/api/v1/listings/{id}"),
        Some(&token),
        json!({"stock": "39000"}),
    )
    .await;
    app.post(
        &format!("/api/v1/listings/{id}/pause"),
        Some(&token),
        json!({}),
    )
    .await;
    app.call(
        reqwest::Method::DELETE,
        &format!("/api/v1/listings/{id}"),
        Some(&token),
        None,
    )
    .await;
    let events = outbox::Entity::find()
        .filter(outbox::Column::AggregateType.eq("listing"))
        .filter(outbox::Column::AggregateId.eq(id))
        .order_by_asc(outbox::Column::Id)
        .all(&app.db)
        .await
        .unwrap();
    let topics: Vec<&str> = events.iter().map(|e| e.topic.as_str()).collect();
    assert_eq!(
        topics,
        [
            "listing.created",
            "listing.updated",
            "listing.updated",
            "listing.updated",
            "listing.deleted"
        ]
    );
    assert!(
        events
            .iter()
            .all(|e| e.channel == "search" && e.delivered_at.is_none())
    );
    // A refused change writes nothing.
    let other = app.login("coop-zilong").await;
    app.patch(
        &format!("/api/v1/listings/{id}"),
        Some(&other),
        json!({"stock": "1"}),
    )
    .await;
    let after = outbox::Entity::find()
        .filter(outbox::Column::AggregateType.eq("listing"))
        .filter(outbox::Column::AggregateId.eq(id))
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(after.len(), events.len());
}

async fn listings_filter_by_category_tree_region_price_and_certification(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let titles = |r: &crate::helpers::Reply| -> Vec<String> {
        r.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["title"].as_str().unwrap().to_string())
            .collect()
    };
    let herbs = app.category_id("herbs").await;
    let r = app
        .get(&format!("/api/v1/listings?category_id={herbs}"), None)
        .await;
    let t = titles(&r);
    assert_eq!(t.len(), 3, "{t:?}");
    assert!(t.iter().any(|x| x.contains("冬虫夏草")) && t.iter().any(|x| x.contains("贝母")));

    let dawu = app
        .get("/api/v1/listings?region=513326&per_page=100", None)
        .await;
    let t = titles(&dawu);
    assert_eq!(dawu.body["total"], 6, "{t:?}");
    assert!(t.iter().all(|x| !x.contains("开江")));
    let zilong = app.get("/api/v1/listings?region=513326100204", None).await;
    assert_eq!(zilong.body["total"], 3);

    let cheap = app
        .get("/api/v1/listings?max_price_fen=500&sort=price_asc", None)
        .await;
    let prices: Vec<i64> = cheap.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["price_fen"].as_i64().unwrap())
        .collect();
    assert!(!prices.is_empty() && prices.iter().all(|p| *p <= 500));
    assert!(prices.windows(2).all(|w| w[0] <= w[1]), "{prices:?}");

    let organic = app
        .get("/api/v1/listings?certification=organic", None)
        .await;
    assert!(organic.body["items"].as_array().unwrap().iter().all(|l| {
        l["certifications"]
            .as_array()
            .unwrap()
            .contains(&json!("organic"))
    }));
    assert!(organic.body["total"].as_u64().unwrap() >= 2);

    let text = app.get("/api/v1/listings?q=%E6%B4%8B%E8%8A%8B", None).await; // 洋芋
    assert_eq!(titles(&text), ["道孚高原洋芋"]);

    let page2 = app.get("/api/v1/listings?per_page=5&page=2", None).await;
    assert_eq!(page2.body["items"].as_array().unwrap().len(), 5);
    assert_eq!(page2.body["page"], 2);
    let beyond = app.get("/api/v1/listings?per_page=5&page=99", None).await;
    assert_eq!(beyond.status, StatusCode::OK);
    assert!(beyond.body["items"].as_array().unwrap().is_empty());
}

async fn quantities_stay_exact(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let token = app.login("coop-zilong").await;
    let herbs = app.category_id("cordyceps").await;
    let r = app
        .post(
            "/api/v1/listings",
            Some(&token),
            json!({"category_id": herbs, "title": "虫草 散装", "unit": "kg", "price_fen": 17_999_999, "stock": 0.1, "min_order": "0.005"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["stock"], "0.1");
    assert_eq!(r.body["min_order"], "0.005");
    let id = r.body["id"].as_i64().unwrap();
    let row = qudao::catalog::entity::listing::Entity::find_by_id(id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.stock_milli, 100);
    assert_eq!(row.min_order_milli, 5);
    assert_eq!(row.price_fen, 17_999_999);
}

async fn pages_render_in_chinese_and_english(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let home = app.client.get(&app.address).send().await.unwrap();
    assert_eq!(home.status(), StatusCode::OK);
    let html = home.text().await.unwrap();
    assert!(html.contains("<html lang=\"zh\">"));
    assert!(html.contains("孜龙村高原红富士苹果"));
    assert!(html.contains("最新上架"));
    let en = app
        .client
        .get(&app.address)
        .header("cookie", "qudao_lang=en")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(en.contains("<html lang=\"en\">") && en.contains("Just listed"));
    let switch = app
        .client
        .get(format!("{}/lang/en", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(switch.status(), StatusCode::SEE_OTHER);
    assert!(
        switch
            .headers()
            .get("set-cookie")
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("qudao_lang=en")
    );
    let search = app
        .client
        .get(format!("{}/?q=%E5%A4%A7%E7%B1%B3", app.address))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(search.contains("开江盘石村生态大米") && !search.contains("孜龙村高原红富士苹果"));
    let missing = app
        .client
        .get(format!("{}/listings/999999", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}

/// Ids, prices and creation times of the listings on a page of the API's answer.
fn listed(r: &crate::helpers::Reply) -> Vec<(i64, i64, chrono::DateTime<chrono::Utc>)> {
    r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["id"].as_i64().unwrap(),
                l["price_fen"].as_i64().unwrap(),
                l["created_at"].as_str().unwrap().parse().unwrap(),
            )
        })
        .collect()
}

async fn a_long_list_counts_every_listing_and_pages_in_order(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let before = app.get("/api/v1/listings?per_page=1", None).await;
    let demo = before.body["total"].as_u64().unwrap();
    // 1 500 more listings than a list counts one by one: 30 at each of 50 moments, 100 of
    // them paused and 50 deleted, which nobody but their cooperative sees.
    let template = listing::Entity::find()
        .filter(listing::Column::Status.eq("active"))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let start = chrono::Utc::now() - chrono::Duration::days(1);
    let rows: Vec<listing::ActiveModel> = (0..1500)
        .map(|i: i64| {
            let mut m = template.clone().into_active_model();
            m.id = NotSet;
            m.title = Set(format!("批量上架 {i}号"));
            m.price_fen = Set(100 + i % 7);
            m.created_at = Set(start + chrono::Duration::minutes(i / 30));
            if i % 15 == 0 {
                m.status = Set(qudao::catalog::domain::ListingStatus::Paused);
            } else if i % 30 == 1 {
                m.deleted_at = Set(Some(start));
            }
            m
        })
        .collect();
    for chunk in rows.chunks(250) {
        listing::Entity::insert_many(chunk.to_vec())
            .exec(&app.db)
            .await
            .unwrap();
    }
    let visible = demo + 1500 - 100 - 50;

    let first = app.get("/api/v1/listings?per_page=100", None).await;
    assert_eq!(first.body["total"], visible, "{}", first.text);
    let second = app.get("/api/v1/listings?per_page=100&page=2", None).await;
    let last = app
        .get(
            &format!(
                "/api/v1/listings?per_page=100&page={}",
                visible.div_ceil(100)
            ),
            None,
        )
        .await;
    assert_eq!(second.body["total"], visible);
    assert_eq!(
        last.body["items"].as_array().unwrap().len() as u64,
        (visible - 1) % 100 + 1
    );
    // Newest first; of listings created at the same moment, the newest id first; no
    // listing twice.
    let mut seen = listed(&first);
    seen.extend(listed(&second));
    assert!(
        seen.windows(2).all(|w| (w[0].2, w[0].0) > (w[1].2, w[1].0)),
        "{seen:?}"
    );
    seen.extend(listed(&last));
    let mut ids: Vec<i64> = seen.iter().map(|l| l.0).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), seen.len());

    // Dearest first; of equal prices, the newest id first. Cheapest first the other way.
    let dear = listed(
        &app.get("/api/v1/listings?per_page=100&sort=price_desc&page=3", None)
            .await,
    );
    assert!(
        dear.windows(2).all(|w| (w[0].1, w[0].0) > (w[1].1, w[1].0)),
        "{dear:?}"
    );
    let cheap = listed(
        &app.get("/api/v1/listings?per_page=100&sort=price_asc", None)
            .await,
    );
    assert!(
        cheap
            .windows(2)
            .all(|w| (w[0].1, w[0].0) < (w[1].1, w[1].0)),
        "{cheap:?}"
    );
    assert_eq!(cheap[0].1, 100);

    // Filters of the same shape over a thousand each have a total of their own.
    let from = |fen: i64| format!("/api/v1/listings?min_price_fen={fen}&per_page=1");
    let at_100 = (0..1500i64)
        .filter(|i| i % 7 == 0 && i % 15 != 0 && i % 30 != 1)
        .count() as u64;
    assert_eq!(app.get(&from(100), None).await.body["total"], visible);
    let dearer = app.get(&from(101), None).await;
    assert!(visible - at_100 > 1000);
    assert_eq!(dearer.body["total"], visible - at_100, "{}", dearer.text);

    // A filter that matches fewer is counted exactly on every request: pausing one of its
    // listings shows at once.
    let at_106 = "/api/v1/listings?min_price_fen=106&max_price_fen=106&per_page=1";
    let expected = (0..1500i64)
        .filter(|i| i % 7 == 6 && i % 15 != 0 && i % 30 != 1)
        .count() as u64;
    let counted = app.get(at_106, None).await;
    assert_eq!(counted.body["total"], expected, "{}", counted.text);
    let one = listed(&counted)[0].0;
    listing::Entity::update_many()
        .col_expr(
            listing::Column::Status,
            sea_orm::sea_query::Expr::val("paused"),
        )
        .filter(listing::Column::Id.eq(one))
        .exec(&app.db)
        .await
        .unwrap();
    assert_eq!(app.get(at_106, None).await.body["total"], expected - 1);

    // A new listing is first on the long list at once.
    let (_, rice) = app.panshi_sells_rice("100").await;
    let now = app.get("/api/v1/listings?per_page=5", None).await;
    assert_eq!(listed(&now)[0].0, rice);
}

/// Every test ends by reading each outbox row as its channel's event; this shows that check
/// finds a row of a channel nobody consumes and a payload its consumer cannot read.
async fn the_harness_finds_outbox_rows_that_nobody_can_read(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let url = app.database_url().expect("the test's own database");
    assert_eq!(unexplained_outbox_rows(url.clone()), Vec::<String>::new());
    let now = chrono::Utc::now();
    let row = |channel: &str, topic: &str, payload: &str| outbox::ActiveModel {
        id: NotSet,
        channel: Set(channel.into()),
        topic: Set(topic.into()),
        aggregate_type: Set("order".into()),
        aggregate_id: Set(1),
        payload: Set(payload.into()),
        attempts: Set(0),
        created_at: Set(now),
        available_at: Set(now),
        locked_until: Set(None),
        locked_by: Set(None),
        delivered_at: Set(None),
        last_error: Set(None),
        dead_at: Set(None),
    };
    let written = outbox::Entity::insert_many([
        row("ledger", "order.placed", r#"{"order_id":1}"#),
        row("notify", "order.placed", r#"{"order_id":"one"}"#),
        row("stats", "order.placed", r#"{"order_id":1}"#),
    ])
    .exec_with_returning_keys(&app.db)
    .await
    .unwrap();
    let found = unexplained_outbox_rows(url.clone());
    assert_eq!(found.len(), 3, "{found:?}");
    assert!(
        found[0].contains("no channel is named \"ledger\""),
        "{found:?}"
    );
    assert!(found[1].contains("payload does not read"), "{found:?}");
    assert!(
        found[2].contains("the stats channel has no topic \"order.placed\""),
        "{found:?}"
    );
    outbox::Entity::delete_many()
        .filter(outbox::Column::Id.is_in(written))
        .exec(&app.db)
        .await
        .unwrap();
    assert_eq!(unexplained_outbox_rows(url), Vec::<String>::new());
}

/// A unit stored that qudao does not know is bad data: reading the listing fails and says
/// which value it met, rather than showing the listing in 斤.
async fn a_stored_code_nobody_knows_is_an_error_not_a_default(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (_, id) = app.panshi_sells_rice("100").await;
    let shown = app.get(&format!("/api/v1/listings/{id}"), None).await;
    assert_eq!(shown.status, StatusCode::OK, "{}", shown.text);
    let unreadable = |column: &'static str, stored: &'static str, said: &'static str| {
        let app = &app;
        async move {
            app.db
                .execute_unprepared(&format!(
                    "UPDATE listings SET {column} = '{stored}' WHERE id = {id}"
                ))
                .await
                .unwrap();
            let err = listing::Entity::find_by_id(id)
                .one(&app.db)
                .await
                .unwrap_err();
            assert!(err.to_string().contains(said), "{err}");
        }
    };
    unreadable("unit", "bushel", r#"Unit has no value "bushel""#).await;
    let refused = app.get(&format!("/api/v1/listings/{id}"), None).await;
    assert_eq!(
        refused.status,
        StatusCode::INTERNAL_SERVER_ERROR,
        "{}",
        refused.text
    );
    assert_eq!(refused.code(), "internal");
    // Put right, it reads again.
    app.db
        .execute_unprepared(&format!("UPDATE listings SET unit = 'jin' WHERE id = {id}"))
        .await
        .unwrap();
    let back = app.get(&format!("/api/v1/listings/{id}"), None).await;
    assert_eq!(back.body["unit"], "jin", "{}", back.text);
    // A certification nobody knows is not dropped from the list without a word.
    unreadable(
        "certifications",
        "organic,moon_grown",
        r#"Certification has no value "moon_grown""#,
    )
    .await;
    assert_eq!(
        app.get(&format!("/api/v1/listings/{id}"), None)
            .await
            .status,
        StatusCode::INTERNAL_SERVER_ERROR
    );
}
