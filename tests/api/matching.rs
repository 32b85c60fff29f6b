//! Matching end to end: a canteen's purchase request split across two cooperatives,
//! a decline matched again without the declined listing, both sides accepting into an order
//! with stock reserved, lapsed proposals, and bad requests refused field by field.

use qudao::matching::entity::proposal;
use qudao::outbox::entity as outbox;
use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, Set};
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, spawn_app};
use crate::on_both_databases;

on_both_databases!(
    a_canteen_gets_rice_from_two_cooperatives_and_an_order_when_both_accept,
    a_lapsed_proposal_is_matched_again,
    bad_purchase_requests_are_refused_field_by_field,
);

fn deliver_by() -> String {
    (chrono::Utc::now() + chrono::Duration::days(20))
        .format("%Y-%m-%d")
        .to_string()
}

/// 盘石村's rice on sale all year, and a second rice from 孜龙村's cooperative near 成都.
pub(crate) async fn rice_market(app: &TestApp) -> (i64, i64) {
    let (_, panshi_rice) = app.panshi_rice_all_year().await;
    let rice = app.category_id("rice").await;
    let zilong = app.login("coop-zilong").await;
    let r = app
        .post(
            "/api/v1/listings",
            Some(&zilong),
            json!({"category_id": rice, "title": "川西坝子大米", "unit": "ton", "price_fen": 960_000,
                   "stock": "8", "min_order": "1", "grade": "special",
                   "origin_region_code": "513326"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    (panshi_rice, r.body["id"].as_i64().unwrap())
}

pub(crate) fn canteen_request(rice: i64, tons: &str) -> Value {
    json!({"title": "职工食堂大米", "category_id": rice, "min_grade": "first", "unit": "ton",
           "quantity": tons, "min_lot": "1", "max_price_fen": 1_040_000,
           "region_code": "510104", "latitude": 30.66, "longitude": 104.08,
           "address_line": "红星路二段 70 号", "contact_name": "王师傅",
           "contact_phone": "02886630890", "deliver_by": deliver_by(), "max_distance_km": 500})
}

fn proposal_for(body: &Value, listing: i64) -> Option<Value> {
    body["proposals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["listing_id"] == listing)
        .cloned()
}

async fn a_canteen_gets_rice_from_two_cooperatives_and_an_order_when_both_accept(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (panshi_rice, zilong_rice) = rice_market(&app).await;
    let rice = app.category_id("rice").await;
    let stock_before = app.listing_row(panshi_rice).await.stock_milli;
    let buyer = app.login("buyer").await;

    // 25 t wanted; 孜龙村 has 8 t and is nearer, 盘石村 gives the other 17 t.
    let posted = app
        .post(
            "/api/v1/purchase-requests",
            Some(&buyer),
            canteen_request(rice, "25"),
        )
        .await;
    assert_eq!(posted.status, StatusCode::CREATED, "{}", posted.text);
    let request = posted.body["request"]["id"].as_i64().unwrap();
    let near = proposal_for(&posted.body, zilong_rice).expect("a proposal from 孜龙村");
    let far = proposal_for(&posted.body, panshi_rice).expect("a proposal from 盘石村");
    assert_eq!(near["quantity"], "8");
    assert_eq!(far["quantity"], "17");
    assert_eq!(far["listing_quantity"], "34000", "17 t is 34000 斤");
    assert_eq!(far["listing_unit"], "jin");
    assert_eq!(far["amount_fen"], 34_000 * 480);
    assert_eq!(far["status"], "pending");

    // Producers see the request without the buyer's contact until an order exists.
    let panshi = app.login("coop-panshi").await;
    let seen = app
        .get(
            &format!("/api/v1/purchase-requests/{request}"),
            Some(&panshi),
        )
        .await;
    assert_eq!(seen.status, StatusCode::OK, "{}", seen.text);
    assert!(seen.body["request"]["contact"].is_null());
    assert_eq!(
        seen.body["proposals"].as_array().unwrap().len(),
        1,
        "a producer sees only its own proposals"
    );

    // 孜龙村 declines: the remainder is matched again, never with that listing.
    let zilong = app.login("coop-zilong").await;
    let near_id = near["id"].as_i64().unwrap();
    let declined = app
        .post(
            &format!("/api/v1/proposals/{near_id}/decline"),
            Some(&zilong),
            json!({"reason": "这批米已预订"}),
        )
        .await;
    assert_eq!(declined.status, StatusCode::OK, "{}", declined.text);
    assert_eq!(declined.body["status"], "declined");
    let again = app
        .post(
            &format!("/api/v1/proposals/{near_id}/accept"),
            Some(&buyer),
            json!({}),
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.text);
    assert_eq!(again.code(), "proposal_closed");
    let after = app
        .get(
            &format!("/api/v1/purchase-requests/{request}"),
            Some(&buyer),
        )
        .await;
    let to_zilong = after.body["proposals"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["listing_id"] == zilong_rice)
        .count();
    assert_eq!(to_zilong, 1, "the declined pair is not proposed again");

    // Both sides accept 盘石村's proposal: it becomes an order with stock reserved.
    let far_id = far["id"].as_i64().unwrap();
    let path = format!("/api/v1/proposals/{far_id}/accept");
    let first = app.post(&path, Some(&buyer), json!({})).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    assert_eq!(first.body["buyer_accepted"], true);
    assert_eq!(first.body["status"], "pending");
    assert_eq!(app.listing_row(panshi_rice).await.stock_milli, stock_before);
    let second = app.post(&path, Some(&panshi), json!({})).await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.text);
    assert_eq!(second.body["status"], "ordered");
    let order = second.body["order_id"].as_i64().expect("an order");
    assert_eq!(
        app.listing_row(panshi_rice).await.stock_milli,
        stock_before - 34_000_000
    );
    // Accepting again changes nothing.
    let third = app.post(&path, Some(&panshi), json!({})).await;
    assert_eq!(third.status, StatusCode::OK);
    assert_eq!(third.body["order_id"], order);
    let orders = app.get("/api/v1/orders", Some(&buyer)).await;
    assert_eq!(orders.body["total"], 1);
    assert_eq!(orders.body["items"][0]["total_fen"], 34_000 * 480);
    assert_eq!(orders.body["items"][0]["recipient_phone"], "02886630890");

    let now = app
        .get(
            &format!("/api/v1/purchase-requests/{request}"),
            Some(&panshi),
        )
        .await;
    assert_eq!(now.body["request"]["filled"], "17");
    assert_eq!(now.body["request"]["status"], "open");
    assert_eq!(
        now.body["request"]["contact"]["phone"], "02886630890",
        "the producer with an order sees where to deliver"
    );
    // Producers see open requests they could serve: 开江 within 50 km is 盘石村's, not
    // 孜龙村's, 600 km away in 道孚.
    let mut local = canteen_request(rice, "2");
    local["region_code"] = json!("511723");
    local["latitude"] = json!(31.08);
    local["longitude"] = json!(107.87);
    local["max_distance_km"] = json!(50);
    let local = app
        .post("/api/v1/purchase-requests", Some(&buyer), local)
        .await;
    assert_eq!(local.status, StatusCode::CREATED, "{}", local.text);
    let local = local.body["request"]["id"].clone();
    let listed = |body: &Value| body.as_array().unwrap().iter().any(|r| r["id"] == local);
    let near_list = app.get("/api/v1/purchase-requests", Some(&panshi)).await;
    assert!(listed(&near_list.body), "{}", near_list.text);
    let far_list = app.get("/api/v1/purchase-requests", Some(&zilong)).await;
    assert!(!listed(&far_list.body), "{}", far_list.text);

    let events = outbox::Entity::find()
        .filter(outbox::Column::AggregateType.eq("proposal"))
        .filter(outbox::Column::Topic.is_in([
            "proposal.created",
            "proposal.declined",
            "proposal.accepted",
            "proposal.ordered",
        ]))
        .count(&app.db)
        .await
        .unwrap();
    assert!(events >= 5, "a notify event for every change: {events}");
}

async fn a_lapsed_proposal_is_matched_again(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (panshi_rice, zilong_rice) = rice_market(&app).await;
    let rice = app.category_id("rice").await;
    let buyer = app.login("buyer").await;
    let posted = app
        .post(
            "/api/v1/purchase-requests",
            Some(&buyer),
            canteen_request(rice, "5"),
        )
        .await;
    assert_eq!(posted.status, StatusCode::CREATED, "{}", posted.text);
    let only = posted.body["proposals"].as_array().unwrap();
    assert_eq!(only.len(), 1, "{}", posted.text);
    assert_eq!(
        only[0]["listing_id"], zilong_rice,
        "the nearer one is cheaper"
    );
    let id = only[0]["id"].as_i64().unwrap();

    // Its time runs out before both sides answer.
    let p = proposal::Entity::find_by_id(id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let mut m: proposal::ActiveModel = p.into();
    m.expires_at = Set(chrono::Utc::now() - chrono::Duration::minutes(1));
    sea_orm::ActiveModelTrait::update(m, &app.db).await.unwrap();
    let rules = qudao::matching::service::Rules {
        params: Default::default(),
        ttl: chrono::Duration::hours(48),
    };
    let lapsed = qudao::matching::service::sweep(&app.db, chrono::Utc::now(), &rules)
        .await
        .unwrap();
    assert_eq!(lapsed, 1);
    let request = posted.body["request"]["id"].as_i64().unwrap();
    let after = app
        .get(
            &format!("/api/v1/purchase-requests/{request}"),
            Some(&buyer),
        )
        .await;
    let ps = after.body["proposals"].as_array().unwrap();
    assert_eq!(ps[0]["status"], "expired");
    assert_eq!(ps.len(), 2, "{}", after.text);
    assert_eq!(ps[1]["listing_id"], panshi_rice);
    assert_eq!(ps[1]["quantity"], "5");
}

async fn bad_purchase_requests_are_refused_field_by_field(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let buyer = app.login("buyer").await;
    let rice = app.category_id("rice").await;
    let mut body = canteen_request(rice, "20");
    body["quantity"] = json!("-3");
    body["min_fill"] = json!("1.0001");
    body["max_price_fen"] = json!(0);
    body["region_code"] = json!("999999");
    body["deliver_by"] = json!("2020-01-01");
    body["contact_phone"] = json!("call me");
    body["max_distance_km"] = json!(0);
    let r = app
        .post("/api/v1/purchase-requests", Some(&buyer), body)
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(r.code(), "validation_failed");
    let mut fields = r.fields();
    fields.sort();
    assert_eq!(
        fields,
        [
            "contact_phone",
            "deliver_by",
            "max_distance_km",
            "max_price_fen",
            "min_fill",
            "quantity",
            "region_code"
        ]
    );
    let mut body = canteen_request(rice, "20");
    body["min_lot"] = json!("21");
    let r = app
        .post("/api/v1/purchase-requests", Some(&buyer), body)
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(r.fields(), ["min_lot"]);
    let r = app
        .post(
            "/api/v1/purchase-requests",
            Some(&buyer),
            json!({"title": "米"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.fields().contains(&"category_id".to_string()));
    assert_eq!(
        qudao::matching::entity::purchase_request::Entity::find()
            .count(&app.db)
            .await
            .unwrap(),
        0,
        "nothing stored"
    );
}
