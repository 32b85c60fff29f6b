use qudao::outbox::entity as outbox;
use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::json;

use crate::helpers::{Backend, spawn_app};
use crate::on_both_databases;

on_both_databases!(
    demo_market_is_there_on_first_start,
    a_producer_manages_its_listing_from_creation_to_deletion,
    every_listing_change_writes_an_outbox_event,
    listings_filter_by_category_tree_region_price_and_certification,
    quantities_stay_exact,
    pages_render_in_chinese_and_english,
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
        "列瓦村高原红富士苹果",
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
    let token = app.login("coop-liewa").await;
    let apple = app.category_id("apple").await;
    let created = app
        .post(
            "/api/v1/listings",
            Some(&token),
            json!({
                "category_id": apple, "title": "列瓦村苹果 礼盒装", "description": "10斤装礼盒",
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
        created.body["origin"]["name"], "列瓦村",
        "origin defaults to the organization's village"
    );
    assert_eq!(created.body["version"], 1);
    assert!(created.body["latitude"].as_f64().is_some());

    let public = app.get(&format!("/api/v1/listings/{id}"), None).await;
    assert_eq!(public.status, StatusCode::OK);
    assert_eq!(public.body["title"], "列瓦村苹果 礼盒装");

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
    assert_eq!(changed.body["title"], "列瓦村苹果 礼盒装");
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
            "listing.deleted"
        ]
    );
    assert!(
        events
            .iter()
            .all(|e| e.channel == "search" && e.delivered_at.is_none())
    );
    // A refused change writes nothing.
    let other = app.login("coop-liewa").await;
    app.patch(
        &format!("/api/v1/listings/{id}"),
        Some(&other),
        json!({"stock": "1"}),
    )
    .await;
    let after = outbox::Entity::find()
        .filter(outbox::Column::AggregateId.eq(id))
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(after.len(), 4);
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
    let liewa = app.get("/api/v1/listings?region=513326100201", None).await;
    assert_eq!(liewa.body["total"], 3);

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
    let token = app.login("coop-liewa").await;
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
    assert!(html.contains("列瓦村高原红富士苹果"));
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
    assert!(search.contains("开江盘石村生态大米") && !search.contains("列瓦村高原红富士苹果"));
    let missing = app
        .client
        .get(format!("{}/listings/999999", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}
