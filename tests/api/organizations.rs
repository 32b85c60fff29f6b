use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{Backend, spawn_app};
use crate::on_both_databases;

on_both_databases!(
    a_new_cooperative_goes_from_application_to_its_first_listing,
    onboarding_steps_cannot_be_skipped_or_taken_by_the_wrong_people,
    households_stay_private_and_shares_cannot_exceed_the_whole,
    admins_create_officials_with_a_region_scope,
);

async fn a_new_cooperative_goes_from_application_to_its_first_listing(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let reg = app
        .post("/api/v1/auth/register", None, json!({"username": "chengjiagou-duck", "password": "程家沟麻鸭养殖合作社", "display_name": "程大勇", "role": "producer"}))
        .await;
    assert_eq!(reg.status, StatusCode::CREATED, "{}", reg.text);
    let producer = app
        .login_with("chengjiagou-duck", "程家沟麻鸭养殖合作社")
        .await;
    let applied = app
        .post(
            "/api/v1/organizations",
            Some(&producer),
            json!({"name": "开江县程家沟村土鸡养殖专业合作社", "kind": "cooperative", "region_code": "511723105207",
                   "description": "林下散养土鸡", "contact_name": "程大勇", "contact_phone": "135-0818-1235"}),
        )
        .await;
    assert_eq!(applied.status, StatusCode::CREATED, "{}", applied.text);
    assert_eq!(applied.body["status"], "applied");
    assert_eq!(applied.body["region"]["name"], "程家沟村");
    let org = applied.body["id"].as_i64().unwrap();
    assert_eq!(app.organization_of(&producer).await, org);

    let rice = app.category_id("rice").await;
    let listing = json!({"category_id": rice, "title": "土鸡蛋", "unit": "piece", "price_fen": 150, "stock": 1000});
    let early = app
        .post("/api/v1/listings", Some(&producer), listing.clone())
        .await;
    assert_eq!(
        early.status,
        StatusCode::FORBIDDEN,
        "an unapproved organization cannot publish"
    );

    assert_eq!(
        app.get(&format!("/api/v1/organizations/{org}"), None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let official = app.login("official-kaijiang").await;
    let pending = app
        .get("/api/v1/organizations?status=applied", Some(&official))
        .await;
    assert!(
        pending.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["id"] == org)
    );
    let rec = app
        .post(
            &format!("/api/v1/organizations/{org}/recommend"),
            Some(&official),
            json!({"note": "县经信局核实"}),
        )
        .await;
    assert_eq!(rec.status, StatusCode::OK, "{}", rec.text);
    assert_eq!(rec.body["status"], "recommended");

    let admin = app.login("admin").await;
    let ok = app
        .call(
            reqwest::Method::POST,
            &format!("/api/v1/organizations/{org}/approve"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text);
    assert_eq!(ok.body["status"], "approved");
    assert_eq!(
        app.get(&format!("/api/v1/organizations/{org}"), None)
            .await
            .status,
        StatusCode::OK
    );

    let published = app.post("/api/v1/listings", Some(&producer), listing).await;
    assert_eq!(published.status, StatusCode::CREATED, "{}", published.text);
    assert_eq!(app.listings_of(org).await.len(), 1);
    let again = app
        .post("/api/v1/organizations", Some(&producer), json!({"name": "第二个", "kind": "cooperative", "region_code": "511723", "contact_name": "程", "contact_phone": "13500000000"}))
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(again.code(), "already_member");
}

async fn onboarding_steps_cannot_be_skipped_or_taken_by_the_wrong_people(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let admin = app.login("admin").await;
    let all = app
        .get("/api/v1/organizations?status=applied", Some(&admin))
        .await;
    let pending = all.body["items"][0]["id"]
        .as_i64()
        .expect("the demo has a pending application");
    let before = app.snapshot().await;

    let skip = app
        .post(
            &format!("/api/v1/organizations/{pending}/approve"),
            Some(&admin),
            json!({}),
        )
        .await;
    assert_eq!(skip.status, StatusCode::CONFLICT);
    assert_eq!(skip.code(), "invalid_transition");
    let province = app.login("official-sichuan").await;
    // A provincial official's region covers the county too, so it may recommend; a producer may not.
    let producer = app.login("coop-panshi").await;
    let r = app
        .post(
            &format!("/api/v1/organizations/{pending}/recommend"),
            Some(&producer),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let admin_rec = app
        .post(
            &format!("/api/v1/organizations/{pending}/recommend"),
            Some(&admin),
            json!({}),
        )
        .await;
    assert_eq!(admin_rec.status, StatusCode::FORBIDDEN);
    assert_eq!(app.snapshot().await, before);

    let rec = app
        .post(
            &format!("/api/v1/organizations/{pending}/recommend"),
            Some(&province),
            json!({}),
        )
        .await;
    assert_eq!(rec.status, StatusCode::OK);
    let twice = app
        .post(
            &format!("/api/v1/organizations/{pending}/recommend"),
            Some(&province),
            json!({}),
        )
        .await;
    assert_eq!(twice.code(), "invalid_transition");
    let reject = app
        .post(
            &format!("/api/v1/organizations/{pending}/reject"),
            Some(&admin),
            json!({"note": "材料不全"}),
        )
        .await;
    assert_eq!(reject.body["status"], "rejected");
    let approve = app
        .post(
            &format!("/api/v1/organizations/{pending}/approve"),
            Some(&admin),
            json!({}),
        )
        .await;
    assert_eq!(approve.code(), "invalid_transition");
}

async fn households_stay_private_and_shares_cannot_exceed_the_whole(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let panshi = app.login("coop-panshi").await;
    let org = app.organization_of(&panshi).await;
    let own = app
        .get(
            &format!("/api/v1/organizations/{org}/households"),
            Some(&panshi),
        )
        .await;
    assert_eq!(own.status, StatusCode::OK);
    let rows = own.body.as_array().unwrap();
    assert_eq!(rows.len(), 4);
    assert!(rows.iter().all(|h| h["head_name"].is_string()));

    let official = app.login("official-kaijiang").await;
    let seen = app
        .get(
            &format!("/api/v1/organizations/{org}/households"),
            Some(&official),
        )
        .await;
    assert_eq!(seen.status, StatusCode::OK);
    assert!(
        seen.body
            .as_array()
            .unwrap()
            .iter()
            .all(|h| h.get("head_name").is_none()),
        "officials see ids, not names"
    );
    assert!(!seen.text.contains("李明华户"));

    let buyer = app.login("buyer").await;
    assert_eq!(
        app.get(
            &format!("/api/v1/organizations/{org}/households"),
            Some(&buyer)
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.get(&format!("/api/v1/organizations/{org}/households"), None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    let zilong = app.login("coop-zilong").await;
    assert_eq!(
        app.get(
            &format!("/api/v1/organizations/{org}/households"),
            Some(&zilong)
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    assert!(
        !app.get(&format!("/api/v1/organizations/{org}"), None)
            .await
            .text
            .contains("李明华户")
    );

    // The demo households hold 4500 of 10000 basis points.
    let add = |share: i64| json!({"head_name": "王德贵", "region_code": "511723102210", "members": 3, "registered": true, "benefit_share_bp": share});
    let over = app
        .post(
            &format!("/api/v1/organizations/{org}/households"),
            Some(&panshi),
            add(5501),
        )
        .await;
    assert_eq!(over.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        over.body["error"]["fields"]["benefit_share_bp"]["code"],
        "over_allocated"
    );
    let fits = app
        .post(
            &format!("/api/v1/organizations/{org}/households"),
            Some(&panshi),
            add(5500),
        )
        .await;
    assert_eq!(fits.status, StatusCode::CREATED, "{}", fits.text);
    let away = app
        .post(&format!("/api/v1/organizations/{org}/households"), Some(&panshi), json!({"head_name": "x", "region_code": "513326100204", "members": 1, "registered": false, "benefit_share_bp": 0}))
        .await;
    assert_eq!(
        away.body["error"]["fields"]["region_code"]["code"],
        "out_of_scope"
    );
}

async fn admins_create_officials_with_a_region_scope(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let admin = app.login("admin").await;
    let missing = app
        .post("/api/v1/users", Some(&admin), json!({"username": "official-daofu", "password": "道孚县经信局账号", "display_name": "道孚县经信局", "role": "official"}))
        .await;
    assert_eq!(
        missing.body["error"]["fields"]["region_code"]["code"],
        "required"
    );
    let made = app
        .post("/api/v1/users", Some(&admin), json!({"username": "official-daofu", "password": "道孚县经信局账号", "display_name": "道孚县经信局", "role": "official", "region_code": "513326"}))
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.text);
    let daofu = app.login_with("official-daofu", "道孚县经信局账号").await;
    let zilong = app.login("coop-zilong").await;
    let zilong_org = app.organization_of(&zilong).await;
    let panshi = app.login("coop-panshi").await;
    let panshi_org = app.organization_of(&panshi).await;
    assert_eq!(
        app.get(
            &format!("/api/v1/organizations/{zilong_org}/households"),
            Some(&daofu)
        )
        .await
        .status,
        StatusCode::OK
    );
    assert_eq!(
        app.get(
            &format!("/api/v1/organizations/{panshi_org}/households"),
            Some(&daofu)
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    let users = app.get("/api/v1/users?per_page=100", Some(&admin)).await;
    assert_eq!(
        users.body["total"],
        qudao::demo::DEMO_USERNAMES.len() + 1,
        "the demo accounts and the new official"
    );
}
