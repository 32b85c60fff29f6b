//! Matching proposes a season contract (订单农业) when a purchase request's date lies in a
//! listing's coming season: the cheapest delivered harvest not yet in is offered for what the
//! request wants, whatever its stock today; when both sides accept, a signed contract stands
//! in for an order and fills the request. A declined or stale contract is matched again with
//! the next cooperative's season.

use chrono::{Datelike, Days, Months, NaiveDate, Utc};
use qudao::catalog::entity::listing;
use qudao::outbox::entity as outbox;
use reqwest::StatusCode;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde_json::{Value, json};

use crate::forms::page;
use crate::helpers::{Backend, TestApp, hidden, spawn_app};
use crate::matching::canteen_request;
use crate::on_both_databases;
use crate::pages::signed_in;

on_both_databases!(
    a_request_dated_in_a_coming_season_becomes_a_signed_contract_when_both_accept,
    a_declined_or_stale_contract_proposal_goes_to_the_next_season,
);

/// The season that begins on the first of the month after next and lasts two months, as
/// months; its first day.
fn coming() -> ((u32, u32), NaiveDate) {
    let today = qudao::days::local_date(Utc::now());
    let first = today
        .with_day(1)
        .unwrap()
        .checked_add_months(Months::new(2))
        .unwrap();
    let last = first.checked_add_months(Months::new(1)).unwrap();
    ((first.month(), last.month()), first)
}

/// New rice from `coop` with no stock yet, on sale in the coming season at `price_fen` a
/// tonne.
async fn new_rice(app: &TestApp, coop: &str, title: &str, price_fen: i64) -> i64 {
    rice_listing(app, coop, title, price_fen, Some(coming().0)).await
}

/// Rice from `coop` with no stock yet, in `season` (all year when none).
async fn rice_listing(
    app: &TestApp,
    coop: &str,
    title: &str,
    price_fen: i64,
    season: Option<(u32, u32)>,
) -> i64 {
    let county = if coop == "coop-zilong" {
        "513326"
    } else {
        "511723"
    };
    let (start, end) = season.unzip();
    let rice = app.category_id("rice").await;
    let token = app.login(coop).await;
    let r = app
        .post(
            "/api/v1/listings",
            Some(&token),
            json!({"category_id": rice, "title": title, "unit": "ton", "price_fen": price_fen,
                   "stock": "0", "grade": "special", "origin_region_code": county,
                   "season_start": start, "season_end": end}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.body["id"].as_i64().unwrap()
}

/// The canteen's request for `tons` of rice delivered by `by`.
async fn request_by(app: &TestApp, buyer: &str, tons: &str, by: NaiveDate) -> Value {
    let rice = app.category_id("rice").await;
    let mut body = canteen_request(rice, tons);
    body["deliver_by"] = json!(by.to_string());
    let r = app
        .post("/api/v1/purchase-requests", Some(buyer), body)
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.body
}

async fn answer(app: &TestApp, token: &str, id: i64, what: &str) -> crate::helpers::Reply {
    app.post(
        &format!("/api/v1/proposals/{id}/{what}"),
        Some(token),
        json!({}),
    )
    .await
}

async fn proposals(app: &TestApp, buyer: &str, request: i64) -> Vec<Value> {
    let r = app
        .get(&format!("/api/v1/purchase-requests/{request}"), Some(buyer))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body["proposals"].as_array().unwrap().clone()
}

async fn a_request_dated_in_a_coming_season_becomes_a_signed_contract_when_both_accept(
    backend: Backend,
) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (_, first) = coming();
    let zilong_rice = new_rice(&app, "coop-zilong", "川西坝子新米", 900_000).await;
    let panshi_rice = new_rice(&app, "coop-panshi", "盘石村新米", 1_000_000).await;
    let buyer = app.login("buyer").await;

    // Wanted before the season: no stock and no harvest to contract, so nothing.
    let early = request_by(&app, &buyer, "5", first - Days::new(1)).await;
    assert_eq!(early["proposals"], json!([]), "{early}");

    // Wanted two weeks into it: the cheaper harvest is offered as a contract for all 25 t,
    // though the listing has no stock today.
    let by = first + Days::new(14);
    let posted = request_by(&app, &buyer, "25", by).await;
    let request = posted["request"]["id"].as_i64().unwrap();
    let offered = posted["proposals"].as_array().unwrap();
    assert_eq!(offered.len(), 1, "{posted}");
    let p = &offered[0];
    assert_eq!(p["kind"], "contract");
    assert_eq!(p["listing_id"], zilong_rice);
    assert_eq!(p["quantity"], "25");
    assert_eq!(p["listing_quantity"], "25");
    assert_eq!(p["unit_price_fen"], 900_000);
    assert_eq!(p["amount_fen"], 25 * 900_000);
    assert_eq!(p["window_start"], first.to_string());
    assert_eq!(p["window_end"], by.to_string());
    assert_eq!(p["status"], "pending");
    let id = p["id"].as_i64().unwrap();
    assert_ne!(zilong_rice, panshi_rice);

    // The buyer accepts on the request's page, which shows the window.
    let url = &app.address;
    let browser = signed_in(url, "buyer").await;
    let (status, html) = page(&browser, &format!("{url}/requests/{request}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(&format!("交货期 {first} 至 {by}")), "{html}");
    let r = browser
        .post(format!("{url}/proposals/{id}/accept"))
        .form(&[("csrf_token", hidden(&html, "csrf_token"))])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);

    // Only the buyer so far: no contract yet.
    let zilong = app.login("coop-zilong").await;
    assert!(proposals(&app, &buyer, request).await[0]["contract_id"].is_null());
    let done = answer(&app, &zilong, id, "accept").await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text);
    assert_eq!(done.body["status"], "contracted");
    let contract = done.body["contract_id"].as_i64().expect("a contract");
    assert!(done.body["order_id"].is_null());
    // Accepting again changes nothing.
    let again = answer(&app, &zilong, id, "accept").await;
    assert_eq!(again.body["contract_id"], contract);

    // A signed contract for what was proposed, read by both sides.
    for token in [&buyer, &zilong] {
        let c = app
            .get(&format!("/api/v1/contracts/{contract}"), Some(token))
            .await;
        assert_eq!(c.status, StatusCode::OK, "{}", c.text);
        assert_eq!(c.body["status"], "signed");
        assert_eq!(c.body["listing_id"], zilong_rice);
        assert_eq!(c.body["quantity"], "25");
        assert_eq!(c.body["pricing"], "fixed");
        assert_eq!(c.body["price_fen"], 900_000);
        assert_eq!(c.body["value_fen"], 25 * 900_000);
        assert_eq!(c.body["window_start"], first.to_string());
        assert_eq!(c.body["window_end"], by.to_string());
        assert_eq!(c.body["recipient_name"], "王师傅");
        assert_eq!(c.body["remaining"], "25");
    }
    // The request is filled by it; the listing's stock is untouched.
    let r = app
        .get(
            &format!("/api/v1/purchase-requests/{request}"),
            Some(&buyer),
        )
        .await;
    assert_eq!(r.body["request"]["status"], "closed", "{}", r.text);
    assert_eq!(r.body["request"]["filled"], "25");
    assert_eq!(app.listing_row(zilong_rice).await.stock_milli, 0);
    assert!(app.audited("contract.match", contract).await);
    for (kind, aggregate, topic) in [
        ("proposal", id, "proposal.contracted"),
        ("contract", contract, "contract.signed"),
    ] {
        let told = outbox::Entity::find()
            .filter(outbox::Column::AggregateType.eq(kind))
            .filter(outbox::Column::AggregateId.eq(aggregate))
            .filter(outbox::Column::Topic.eq(topic))
            .one(&app.db)
            .await
            .unwrap();
        assert!(told.is_some(), "{topic}");
    }
    // The request's page links the contract; the contract's page is the cooperative's too.
    let (_, html) = page(&browser, &format!("{url}/requests/{request}")).await;
    assert!(
        html.contains(&format!("href=\"/contracts/{contract}\"")),
        "{html}"
    );
    let seller = signed_in(url, "coop-zilong").await;
    let (status, html) = page(&seller, &format!("{url}/contracts/{contract}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("川西坝子新米"), "{html}");
}

async fn a_declined_or_stale_contract_proposal_goes_to_the_next_season(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (_, first) = coming();
    let buyer = app.login("buyer").await;
    // Posted before any harvest is listed: nothing to propose yet.
    let posted = request_by(&app, &buyer, "10", first + Days::new(20)).await;
    let request = posted["request"]["id"].as_i64().unwrap();
    assert_eq!(posted["proposals"], json!([]));

    // A listing with a coming season is matched against the open request as it appears.
    let zilong_rice = new_rice(&app, "coop-zilong", "川西坝子新米", 900_000).await;
    let ps = proposals(&app, &buyer, request).await;
    assert_eq!(ps.len(), 1, "{ps:?}");
    assert_eq!(ps[0]["kind"], "contract");
    assert_eq!(ps[0]["listing_id"], zilong_rice);
    // Another harvest appearing does not add a second contract proposal while one waits.
    let panshi_rice = new_rice(&app, "coop-panshi", "盘石村新米", 1_000_000).await;
    assert_eq!(proposals(&app, &buyer, request).await.len(), 1);

    // 孜龙村 declines: the next season is proposed, never 孜龙村's again.
    let zilong = app.login("coop-zilong").await;
    let declined = answer(&app, &zilong, ps[0]["id"].as_i64().unwrap(), "decline").await;
    assert_eq!(declined.status, StatusCode::OK, "{}", declined.text);
    let ps = proposals(&app, &buyer, request).await;
    let next: Vec<&Value> = ps.iter().filter(|p| p["status"] == "pending").collect();
    assert_eq!(next.len(), 1, "{ps:?}");
    assert_eq!(next[0]["listing_id"], panshi_rice);
    assert_eq!(next[0]["amount_fen"], 10 * 1_000_000);
    let id = next[0]["id"].as_i64().unwrap();

    // 盘石村 changes its price before both accept: the proposal is withdrawn, not signed at
    // a price nobody agreed to, and no listing is left to propose.
    let panshi = app.login("coop-panshi").await;
    let r = app
        .patch(
            &format!("/api/v1/listings/{panshi_rice}"),
            Some(&panshi),
            json!({"price_fen": 980_000}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        answer(&app, &buyer, id, "accept").await.status,
        StatusCode::OK
    );
    let stale = answer(&app, &panshi, id, "accept").await;
    assert_eq!(stale.status, StatusCode::CONFLICT, "{}", stale.text);
    assert_eq!(stale.code(), "proposal_stale");
    let ps = proposals(&app, &buyer, request).await;
    let withdrawn = ps.iter().find(|p| p["id"] == id).unwrap();
    assert_eq!(withdrawn["status"], "withdrawn");
    assert_eq!(withdrawn["reason"], "listing_changed");
    assert!(ps.iter().all(|p| p["status"] != "pending"), "{ps:?}");
    let c = app.get("/api/v1/contracts", Some(&buyer)).await;
    assert_eq!(c.status, StatusCode::OK, "{}", c.text);
    assert_eq!(c.body, json!([]), "no contract was signed");

    // A listing given its coming season without a listing change (as a database restored
    // from a backup would hold it) is found by the admins' matching run.
    let late = rice_listing(&app, "coop-zilong", "川西坝子晚稻", 950_000, None).await;
    assert!(
        proposals(&app, &buyer, request)
            .await
            .iter()
            .all(|p| p["listing_id"] != late)
    );
    let ((start, end), _) = coming();
    let mut row: listing::ActiveModel = app.listing_row(late).await.into();
    row.season_start = Set(Some(start as i32));
    row.season_end = Set(Some(end as i32));
    row.update(&app.db).await.unwrap();
    let url = &app.address;
    let admin = signed_in(url, "admin").await;
    let (_, html) = page(&admin, &format!("{url}/admin")).await;
    let csrf = hidden(&html, "csrf_token");
    let r = admin
        .post(format!("{url}/admin/matching/run"))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    assert!(html.contains("新提出 1 个方案"), "{html}");
    let audit = app.login("admin").await;
    let runs = app
        .get("/api/v1/admin/audit-log?action=matching.run", Some(&audit))
        .await;
    assert_eq!(
        runs.body["items"][0]["detail"]["proposals"], 1,
        "{}",
        runs.text
    );
    let ps = proposals(&app, &buyer, request).await;
    let found = ps
        .iter()
        .find(|p| p["status"] == "pending")
        .expect("a proposal");
    assert_eq!(found["listing_id"], late);
    assert_eq!(found["kind"], "contract");
    assert_eq!(found["quantity"], "10");

    // The buyer cancels the request on its page: what waits is withdrawn. The cooperative
    // has no such button.
    let waiting = found["id"].clone();
    let seller = signed_in(url, "coop-zilong").await;
    let (_, html) = page(&seller, &format!("{url}/requests/{request}")).await;
    assert!(!html.contains("id=\"cancel-request\""), "{html}");
    let owner = signed_in(url, "buyer").await;
    let (_, html) = page(&owner, &format!("{url}/requests/{request}")).await;
    assert!(html.contains("id=\"cancel-request\""), "{html}");
    let r = owner
        .post(format!("{url}/requests/{request}/cancel"))
        .form(&[("csrf_token", hidden(&html, "csrf_token"))])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let after = app
        .get(
            &format!("/api/v1/purchase-requests/{request}"),
            Some(&buyer),
        )
        .await;
    assert_eq!(after.body["request"]["status"], "closed", "{}", after.text);
    assert_eq!(after.body["request"]["closed_reason"], "cancelled");
    let p = after.body["proposals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == waiting)
        .unwrap()
        .clone();
    assert_eq!(p["status"], "withdrawn");
}
