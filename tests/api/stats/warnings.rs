//! Early warnings, swept with a clock the tests set: a listing in season without a sale for
//! four weeks goes on its county's 防滞销 list (its producer and the buyers it fits are told)
//! and a sale takes it off; a region behind its target's pace and households whose income fell
//! are raised at the quarter's end, the households for their county's officials only; an
//! acknowledgement is kept once, with its note, and audited; the officials' page lists them
//! and acknowledges them.

use std::collections::BTreeSet;

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use reqwest::StatusCode;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

use qudao::catalog::entity::listing;
use qudao::stats::domain::{china, local_date};
use qudao::stats::warnings::{self, Swept};

use crate::forms::page;
use crate::helpers::{Backend, TestApp, hidden, spawn_app};
use crate::on_both_databases;
use crate::pages::signed_in;

on_both_databases!(
    a_listing_without_sales_in_season_is_on_the_unsold_list_until_it_sells,
    regions_behind_target_and_falling_household_incomes_are_raised_at_the_quarter_end,
    officials_see_and_acknowledge_warnings_on_their_page,
);

/// Dates a listing's listing back (the rest of the market stays as it is).
async fn listed_at(app: &TestApp, listing_id: i64, at: DateTime<Utc>) {
    listing::Entity::update_many()
        .col_expr(listing::Column::CreatedAt, Expr::value(at))
        .filter(listing::Column::Id.eq(listing_id))
        .exec(&app.db)
        .await
        .unwrap();
}

async fn sweep(app: &TestApp, now: DateTime<Utc>) -> Swept {
    warnings::sweep(&app.db, now).await.expect("sweeping")
}

/// The warnings of `region` that `token` reads, and the answer's status.
async fn warnings_of(
    app: &TestApp,
    token: &str,
    region: &str,
    query: &str,
) -> (StatusCode, Vec<Value>) {
    let r = app
        .get(
            &format!("/api/v1/stats/regions/{region}/warnings{query}"),
            Some(token),
        )
        .await;
    let items = r.body.as_array().cloned().unwrap_or_default();
    (r.status, items)
}

fn of_kind<'a>(ws: &'a [Value], kind: &str, subject: &str) -> Vec<&'a Value> {
    ws.iter()
        .filter(|w| w["kind"] == kind && w["subject"] == subject)
        .collect()
}

/// Runs the notification worker (emails to files) until it is idle.
async fn deliver(app: &TestApp) {
    let dir = tempfile::tempdir().unwrap();
    let worker =
        qudao::notify::Worker::new(app.db.clone(), &qudao::Settings::embedded(dir.path())).unwrap();
    for _ in 0..20 {
        let p = worker.run_once().await.unwrap();
        if p.dispatched + p.sent + p.failed == 0 {
            return;
        }
    }
    panic!("the notification worker never ran out of work");
}

/// The topics of `token`'s notifications about `listing`'s link.
async fn unsold_notices(app: &TestApp, token: &str) -> Vec<Value> {
    app.get("/api/v1/notifications", Some(token)).await.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["topic"] == "listing.unsold")
        .cloned()
        .collect()
}

async fn a_listing_without_sales_in_season_is_on_the_unsold_list_until_it_sells(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    // 盘石村 lists rice (no season: in season all year); a canteen asks for rice at a price the
    // listing meets, another buyer asks for nothing.
    let (panshi, rice_listing) = app.panshi_sells_rice("500").await;
    let buyer = app.login("buyer").await;
    let rice = app.category_id("rice").await;
    let mut request = crate::helpers::purchase_request(rice);
    request["unit"] = json!("jin");
    request["quantity"] = json!("2000");
    request["max_price_fen"] = json!(1500);
    let posted = app
        .post("/api/v1/purchase-requests", Some(&buyer), request)
        .await;
    assert_eq!(posted.status, StatusCode::CREATED, "{}", posted.text);
    let bystander = app.new_buyers(1).await.remove(0);

    // Listed five weeks before `t`.
    let t = Utc::now();
    listed_at(&app, rice_listing, t - Duration::weeks(5)).await;
    let subject = rice_listing.to_string();
    let kaijiang = app.login("official-kaijiang").await;
    let sichuan = app.login("official-sichuan").await;

    // Three weeks after listing it is not yet on the list; five weeks after, it is.
    sweep(&app, t - Duration::weeks(2)).await;
    let (status, ws) = warnings_of(&app, &kaijiang, "511723", "").await;
    assert_eq!(status, StatusCode::OK);
    assert!(of_kind(&ws, "unsold", &subject).is_empty(), "{ws:?}");
    let swept = sweep(&app, t).await;
    assert!(swept.raised >= 1, "{swept:?}");
    let (_, ws) = warnings_of(&app, &kaijiang, "511723", "").await;
    let w = of_kind(&ws, "unsold", &subject);
    assert_eq!(w.len(), 1, "{ws:?}");
    let w = w[0].clone();
    assert_eq!(w["region_code"], "511723");
    assert_eq!(w["detail"]["weeks"], 5);
    assert_eq!(w["detail"]["stock"], "500");
    assert!(w["acknowledged_at"].is_null());
    // The province sees it too; the same sweep again raises nothing new.
    let (_, ws) = warnings_of(&app, &sichuan, "510000", "?kind=unsold").await;
    assert_eq!(of_kind(&ws, "unsold", &subject).len(), 1, "{ws:?}");
    assert!(ws.iter().all(|w| w["kind"] == "unsold"));
    let again = sweep(&app, t).await;
    assert_eq!(again.raised, 0, "{again:?}");

    // Its producer and the canteen hear of it; the bystander does not.
    deliver(&app).await;
    let to_panshi = unsold_notices(&app, &panshi).await;
    assert_eq!(to_panshi.len(), 1, "{to_panshi:?}");
    assert!(
        to_panshi[0]["title"]
            .as_str()
            .unwrap()
            .contains("盘石村高山贡米"),
        "{to_panshi:?}"
    );
    assert_eq!(unsold_notices(&app, &buyer).await.len(), 1);
    assert!(unsold_notices(&app, &bystander).await.is_empty());

    // Buyers and other regions' readers are kept out.
    assert_eq!(
        warnings_of(&app, &buyer, "511723", "").await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        warnings_of(&app, &kaijiang, "513326", "").await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        warnings_of(&app, &kaijiang, "5117", "").await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get(
            "/api/v1/stats/regions/511723/warnings?kind=odd",
            Some(&kaijiang)
        )
        .await
        .status,
        StatusCode::UNPROCESSABLE_ENTITY
    );

    // A sale takes it off the list; cleared warnings stay readable on request.
    let r = app
        .checkout(
            &bystander,
            "unsold-sale",
            json!([{"listing_id": rice_listing, "quantity": "1"}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let sold_at = Utc::now();
    let swept = sweep(&app, sold_at).await;
    assert!(swept.cleared >= 1, "{swept:?}");
    let (_, ws) = warnings_of(&app, &kaijiang, "511723", "").await;
    assert!(of_kind(&ws, "unsold", &subject).is_empty(), "{ws:?}");
    let (_, ws) = warnings_of(&app, &kaijiang, "511723", "?cleared=true").await;
    let cleared = of_kind(&ws, "unsold", &subject);
    assert_eq!(cleared.len(), 1, "{ws:?}");
    assert!(cleared[0]["cleared_at"].is_string());

    // Quiet for five weeks after the sale: on the list again, as a new warning.
    let later = sold_at + Duration::weeks(5);
    sweep(&app, later).await;
    let (_, ws) = warnings_of(&app, &kaijiang, "511723", "").await;
    let again = of_kind(&ws, "unsold", &subject);
    assert_eq!(again.len(), 1, "{ws:?}");
    assert_ne!(again[0]["id"], w["id"]);

    // Out of season (only next month), it leaves the list.
    let next_month = local_date(later).month() % 12 + 1;
    let r = app
        .patch(
            &format!("/api/v1/listings/{rice_listing}"),
            Some(&panshi),
            json!({"season_start": next_month, "season_end": next_month}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    sweep(&app, later + Duration::hours(1)).await;
    let (_, ws) = warnings_of(&app, &kaijiang, "511723", "").await;
    assert!(of_kind(&ws, "unsold", &subject).is_empty(), "{ws:?}");

    // Acknowledging: a note is required, once only, by the region's officials; audited.
    let ack = |id: i64, token: String, note: &'static str| {
        let app = &app;
        async move {
            app.post(
                &format!("/api/v1/stats/warnings/{id}/acknowledge"),
                Some(&token),
                json!({ "note": note }),
            )
            .await
        }
    };
    let id = w["id"].as_i64().unwrap();
    let r = ack(id, kaijiang.clone(), "  ").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(r.fields(), ["note"]);
    let r = ack(id, buyer.clone(), "看过了").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let r = ack(999_999, kaijiang.clone(), "看过了").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    let admin = app.login("admin").await;
    let r = ack(id, admin.clone(), "看过了").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let r = ack(id, kaijiang.clone(), "已联系合作社降价促销").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["note"], "已联系合作社降价促销");
    assert!(r.body["acknowledged_at"].is_string());
    let r = ack(id, sichuan.clone(), "再看一次").await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    assert_eq!(r.code(), "already_acknowledged");
    let audited = qudao::audit::entity::Entity::find()
        .filter(qudao::audit::entity::Column::Action.eq("stats.warning_acknowledged"))
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(audited.len(), 1);
    assert_eq!(audited[0].target_id, id.to_string());
    assert!(audited[0].detail.contains("已联系合作社降价促销"));
}

/// The first instant of Beijing day `d`, plus a few hours.
fn morning_of(d: NaiveDate) -> DateTime<Utc> {
    china()
        .from_local_datetime(&d.and_hms_opt(9, 0, 0).unwrap())
        .unwrap()
        .with_timezone(&Utc)
}

async fn regions_behind_target_and_falling_household_incomes_are_raised_at_the_quarter_end(
    backend: Backend,
) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    // A completed sale of 盘石村's rice, today.
    let buyer = app.login("buyer").await;
    let (order_id, _) =
        super::order_of(&app, &buyer, "开江盘石村生态大米", "100", "behind-1").await;
    app.advance(order_id, "complete").await;
    app.project().await;
    let today = local_date(Utc::now());
    let year = today.year();
    let quarter = (today.month() - 1) / 3 + 1;
    let kaijiang = app.login("official-kaijiang").await;
    let sichuan = app.login("official-sichuan").await;
    let sales_of = |code: &'static str| {
        let app = &app;
        let sichuan = sichuan.clone();
        async move {
            let r = app
                .get(
                    &format!("/api/v1/stats/regions/{code}?period={year}"),
                    Some(&sichuan),
                )
                .await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text);
            r.body["figures"]["sales_fen"].as_i64().unwrap()
        }
    };
    let kaijiang_sales = sales_of("511723").await;
    let province_sales = sales_of("510000").await;
    assert!(kaijiang_sales > 0);
    // 开江 aims one fen above what it sold this year; the province exactly at it.
    for (token, code, target) in [
        (&kaijiang, "511723", kaijiang_sales + 1),
        (&sichuan, "510000", province_sales),
    ] {
        let r = app
            .client
            .put(format!("{}/api/v1/stats/regions/{code}/targets", app.address))
            .bearer_auth(token)
            .json(&json!({"year": year, "sales_fen": target, "households": 0, "new_organizations": 0}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    }

    // Measured at the year's end (the first days of the next year): 开江 is behind, the
    // province is not.
    sweep(
        &app,
        morning_of(NaiveDate::from_ymd_opt(year + 1, 1, 3).unwrap()),
    )
    .await;
    let (_, ws) = warnings_of(&app, &sichuan, "510000", "?kind=behind_target").await;
    let behind = of_kind(&ws, "behind_target", "511723");
    assert_eq!(behind.len(), 1, "{ws:?}");
    assert_eq!(behind[0]["occasion"], format!("{year}Q4"));
    assert_eq!(behind[0]["detail"]["actual_fen"], kaijiang_sales);
    assert_eq!(behind[0]["detail"]["needed_fen"], kaijiang_sales + 1);
    assert!(of_kind(&ws, "behind_target", "510000").is_empty(), "{ws:?}");

    // A year after this quarter, nothing was sold: every household with income this quarter
    // fell to nothing. 开江's officials see them; the province's and admins do not.
    let households = app
        .get(
            &format!("/api/v1/stats/regions/511723/households?period={year}Q{quarter}"),
            Some(&kaijiang),
        )
        .await
        .body;
    let earned: BTreeSet<String> = households
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["income_fen"].as_i64().unwrap() > 0)
        .map(|h| h["household_id"].to_string())
        .collect();
    assert!(
        !earned.is_empty(),
        "the sale brought registered households income"
    );
    let next_quarter_start = if quarter == 4 {
        NaiveDate::from_ymd_opt(year + 2, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(year + 1, quarter * 3 + 1, 1)
    }
    .unwrap();
    sweep(&app, morning_of(next_quarter_start)).await;
    let (_, ws) = warnings_of(&app, &kaijiang, "511723", "?kind=income_drop").await;
    let flagged: BTreeSet<String> = ws
        .iter()
        .filter(|w| w["occasion"] == format!("{}Q{quarter}", year + 1))
        .map(|w| w["subject"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(flagged, earned, "{ws:?}");
    for w in &ws {
        assert_eq!(w["detail"]["after_fen"], 0, "{w}");
        assert!(w["detail"]["before_fen"].as_i64().unwrap() > 0, "{w}");
    }
    let (_, ws) = warnings_of(&app, &sichuan, "511723", "?kind=income_drop").await;
    assert!(ws.is_empty(), "{ws:?}");
    let admin = app.login("admin").await;
    let (_, ws) = warnings_of(&app, &admin, "510000", "").await;
    assert!(ws.iter().all(|w| w["kind"] != "income_drop"), "{ws:?}");
}

async fn officials_see_and_acknowledge_warnings_on_their_page(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (_, rice_listing) = app.panshi_sells_rice("80").await;
    let t = Utc::now();
    listed_at(&app, rice_listing, t - Duration::weeks(6)).await;
    sweep(&app, t).await;
    let url = &app.address;
    let official = signed_in(url, "official-kaijiang").await;
    let region_page = format!("{url}/officials/regions/511723");
    let (status, html) = page(&official, &region_page).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("预警") && html.contains("盘石村高山贡米"),
        "{html}"
    );
    let id: i64 = html
        .split("<tr id=\"warning-")
        .skip(1)
        .find(|row| row.contains(&format!("/listings/{rice_listing}\"")))
        .and_then(|row| row.split('"').next()?.parse().ok())
        .unwrap_or_else(|| panic!("no warning row for the listing: {html}"));
    assert!(
        html.contains(&format!("action=\"/officials/warnings/{id}/acknowledge\"")),
        "{html}"
    );
    let token = hidden(&html, "csrf_token");
    let forged = official
        .post(format!("{url}/officials/warnings/{id}/acknowledge"))
        .form(&[("csrf_token", "forged"), ("note", "x"), ("back", "511723")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let r = official
        .post(format!("{url}/officials/warnings/{id}/acknowledge"))
        .form(&[
            ("csrf_token", token.as_str()),
            ("note", "已安排县电商中心推介"),
            ("back", "511723"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let at = r.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(at, format!("/officials/regions/511723#warning-{id}"));
    let (_, html) = page(&official, &region_page).await;
    assert!(html.contains("已安排县电商中心推介"), "{html}");

    // In English too.
    official.get(format!("{url}/lang/en")).send().await.unwrap();
    let (_, en) = page(&official, &region_page).await;
    assert!(
        en.contains("Early warnings") && en.contains("Not selling"),
        "{en}"
    );
}
