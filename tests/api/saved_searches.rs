//! Saved searches: what buyers may save, and the alerts they get when a matching listing is
//! newly on offer, decided by the search engine itself (the embedded one always, Meilisearch
//! when `QUDAO_MEILI_URL` is set).

use qudao::search::relay;
use qudao::search::saved::entity::hit;
use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, spawn_app};
use crate::search::{EngineKind, spawn_search_app};
use crate::{on_both_databases, on_both_engines};

on_both_engines!(a_saved_search_alerts_to_new_matching_listings_only);
on_both_databases!(saved_searches_are_checked_and_kept_to_their_owner);

/// Registers a buyer with an email address; returns the token.
pub async fn buyer_with_email(app: &TestApp, name: &str, language: &str) -> String {
    let r = app
        .post(
            "/api/v1/auth/register",
            None,
            json!({"username": name, "password": "食堂采购专用密码", "display_name": "蓉城食堂",
                   "language": language, "email": format!("{name}@canteen.example")}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    app.login_with(name, "食堂采购专用密码").await
}

/// Creates a listing as `producer`; returns its id.
async fn list(app: &TestApp, producer: &str, body: Value) -> i64 {
    let r = app.post("/api/v1/listings", Some(producer), body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.body["id"].as_i64().unwrap()
}

/// The listings the saved search has hit so far, in order, one entry per alert.
async fn hits(app: &TestApp, saved: i64) -> Vec<i64> {
    hit::Entity::find()
        .filter(hit::Column::SavedSearchId.eq(saved))
        .order_by_asc(hit::Column::Id)
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|h| h.listing_id)
        .collect()
}

async fn a_saved_search_alerts_to_new_matching_listings_only(engine: EngineKind) {
    let Some(app) = spawn_search_app(engine).await else {
        return;
    };
    let buyer = buyer_with_email(&app, "canteen-potatoes", "zh").await;
    let r = app
        .post(
            "/api/v1/saved-searches",
            Some(&buyer),
            json!({"name": "便宜洋芋", "query": {"q": "洋芋", "max_price_fen": 300}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["alert"], "instant");
    let saved = r.body["id"].as_i64().unwrap();

    let zilong = app.login("coop-zilong").await;
    let potato = app.category_id("potato").await;
    let apple = app.category_id("apple").await;
    // 洋芋 is what the buyer wrote; the producer calls it 马铃薯.
    let cheap = list(
        &app,
        &zilong,
        json!({"category_id": potato, "title": "孜龙村紫皮马铃薯", "unit": "jin", "price_fen": 220, "stock": "5000"}),
    )
    .await;
    let dear = list(
        &app,
        &zilong,
        json!({"category_id": potato, "title": "孜龙村精品马铃薯礼盒", "unit": "jin", "price_fen": 900, "stock": "500"}),
    )
    .await;
    let apples = list(
        &app,
        &zilong,
        json!({"category_id": apple, "title": "孜龙村苹果", "unit": "jin", "price_fen": 200, "stock": "500"}),
    )
    .await;
    let paused = list(
        &app,
        &zilong,
        json!({"category_id": potato, "title": "孜龙村黄心马铃薯", "unit": "jin", "price_fen": 200, "stock": "500", "status": "paused"}),
    )
    .await;
    app.wait_until_indexed().await;
    assert_eq!(hits(&app, saved).await, [cheap], "{dear} {apples} {paused}");
    // The same search by hand finds it too: the alert and the search agree.
    let found = app.search("q=洋芋&max_price_fen=300&in_stock=true").await;
    assert!(
        found["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["id"] == cheap)
    );

    // A change that keeps it on offer is not news; selling out and restocking is.
    let patch = |id: i64, body: Value| {
        let (app, zilong) = (&app, &zilong);
        async move {
            let r = app
                .patch(&format!("/api/v1/listings/{id}"), Some(zilong), body)
                .await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        }
    };
    patch(cheap, json!({"price_fen": 230})).await;
    patch(cheap, json!({"stock": "0"})).await;
    app.wait_until_indexed().await;
    assert_eq!(hits(&app, saved).await, [cheap]);
    patch(cheap, json!({"stock": "800"})).await;
    app.wait_until_indexed().await;
    // The paused one goes on sale: new to buyers, so it alerts.
    patch(paused, json!({"status": "active"})).await;
    app.wait_until_indexed().await;
    assert_eq!(hits(&app, saved).await, [cheap, cheap, paused]);

    // Delivering every change to the index again alerts nobody twice.
    relay::replay_since(&app.db, 0).await.unwrap();
    app.wait_until_indexed().await;
    assert_eq!(hits(&app, saved).await, [cheap, cheap, paused]);

    // The alerts reach the buyer as notices, in Chinese, linking to the listing.
    let dir = tempfile::tempdir().unwrap();
    let worker =
        qudao::notify::Worker::new(app.db.clone(), &qudao::Settings::embedded(dir.path())).unwrap();
    while worker.run_once().await.unwrap().dispatched > 0 {}
    let notices = app.get("/api/v1/notifications", Some(&buyer)).await.body;
    let items = notices["items"].as_array().unwrap();
    assert_eq!(items.len(), 3, "{notices}");
    assert!(items.iter().all(|n| n["topic"] == "search.match"));
    let oldest = &items[2];
    assert_eq!(
        oldest["title"],
        "新上架:孜龙村紫皮马铃薯,符合您的搜索“便宜洋芋”"
    );
    assert!(
        oldest["link"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/listings/{cheap}")),
        "{oldest}"
    );
    assert!(
        oldest["body"].as_str().unwrap().contains("¥2.30/斤"),
        "shows the listing as it is now: {oldest}"
    );

    // Turned off, it alerts no more.
    let r = app
        .patch(
            &format!("/api/v1/saved-searches/{saved}"),
            Some(&buyer),
            json!({"alert": "off"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    list(
        &app,
        &zilong,
        json!({"category_id": potato, "title": "孜龙村白皮马铃薯", "unit": "jin", "price_fen": 180, "stock": "500"}),
    )
    .await;
    app.wait_until_indexed().await;
    assert_eq!(hits(&app, saved).await.len(), 3);
}

async fn saved_searches_are_checked_and_kept_to_their_owner(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let buyer = app.login("buyer").await;
    let save = |body: Value| {
        let (app, buyer) = (&app, &buyer);
        async move { app.post("/api/v1/saved-searches", Some(buyer), body).await }
    };
    // Every problem at once, named where it is.
    let r = save(json!({"name": " ", "alert": "hourly", "query": {}})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(
        r.fields(),
        ["alert"],
        "an unknown alert fails first, as JSON"
    );
    let r = save(json!({"name": " ", "query": {}})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(r.fields(), ["name", "query"]);
    let r = save(json!({"name": "x".repeat(61), "query": {"category_id": 99999, "radius_km": 5, "sort": "newest"}})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(r.fields(), ["query.sort"], "{}", r.text);
    let r = save(json!({"name": "x".repeat(61), "query": {"category_id": 99999, "radius_km": 5}}))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(
        r.fields(),
        ["name", "query.category_id", "query.radius_km"],
        "{}",
        r.text
    );

    let r = save(json!({"name": "道孚苹果", "alert": "daily", "query": {"q": "道孚 苹果"}})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let id = r.body["id"].as_i64().unwrap();
    assert_eq!(r.body["query"], json!({"q": "道孚 苹果"}));
    let r = app
        .patch(
            &format!("/api/v1/saved-searches/{id}"),
            Some(&buyer),
            json!({"name": "道孚红富士", "query": {"q": "道孚 红富士", "certification": "organic"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["alert"], "daily", "what was not sent stays");
    assert_eq!(
        r.body["query"],
        json!({"q": "道孚 红富士", "certification": "organic"})
    );

    // Another buyer neither sees nor changes it.
    let other = buyer_with_email(&app, "canteen-other", "zh").await;
    let mine = app.get("/api/v1/saved-searches", Some(&other)).await;
    assert_eq!(mine.body, json!([]));
    for (method, body) in [
        (reqwest::Method::PATCH, Some(json!({"alert": "off"}))),
        (reqwest::Method::DELETE, None),
    ] {
        let r = app
            .call(
                method,
                &format!("/api/v1/saved-searches/{id}"),
                Some(&other),
                body,
            )
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    }
    let r = app.get("/api/v1/saved-searches", Some(&buyer)).await;
    assert_eq!(r.body[0]["name"], "道孚红富士");

    // Twenty at most.
    for n in 1..20 {
        let r = save(json!({"name": format!("搜索 {n}"), "query": {"q": "大米"}})).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    }
    let before = app.snapshot().await;
    let r = save(json!({"name": "再多一个", "query": {"q": "大米"}})).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    assert_eq!(r.code(), "too_many_saved_searches");
    assert_eq!(app.snapshot().await, before);

    let r = app
        .call(
            reqwest::Method::DELETE,
            &format!("/api/v1/saved-searches/{id}"),
            Some(&buyer),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = app.get("/api/v1/saved-searches", Some(&buyer)).await;
    assert_eq!(r.body.as_array().unwrap().len(), 19);
}
