//! Buyer units: a union registers, is approved by the officials over its region, adds its
//! people and declares its year's obligation; its members' own purchases and the orders its
//! admin places in its name count towards it, net of cancellations and refunds, to the fen;
//! a department sees its subordinate units; officials rank the units of their region and
//! download the quarter's 完成情况表; a helper (a unit, or the units of a region) is credited with
//! what it bought from the county it helps, within the relation's period, on both sides.

use chrono::Datelike;
use rand::{Rng, SeedableRng};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Backend, Reply, TestApp, spawn_app};
use crate::on_both_databases;
use crate::orders::listing_titled;

on_both_databases!(
    a_union_counts_its_members_purchases_and_its_own_to_the_fen,
    bad_units_members_and_obligations_are_refused_by_field,
    a_department_sees_its_subordinate_units_and_officials_rank_them,
    helpers_purchases_from_the_counties_they_help_are_theirs_on_both_sides,
    a_campaign_keeps_each_order_once_and_its_report_adds_up_to_the_fen,
);

const APPLES: &str = "孜龙村高原红富士苹果";

fn this_year() -> i32 {
    qudao::days::local_date(chrono::Utc::now()).year()
}

fn union_body(name: &str) -> Value {
    json!({"name": name, "kind": "union", "region_code": "510104",
           "contact_name": "刘主席", "contact_phone": "028-86630891"})
}

async fn put(app: &TestApp, path: &str, token: &str, body: Value) -> Reply {
    app.call(Method::PUT, path, Some(token), Some(body)).await
}

/// A unit applied for by `token` and approved by the province's official: its id.
async fn approved_unit(app: &TestApp, token: &str, body: Value) -> i64 {
    approved_by(app, token, "official-sichuan", body).await
}

/// A unit applied for by `token` and approved by `decider`: its id.
async fn approved_by(app: &TestApp, token: &str, decider: &str, body: Value) -> i64 {
    let r = app.post("/api/v1/units", Some(token), body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let id = r.body["id"].as_i64().unwrap();
    let official = app.login(decider).await;
    let r = app
        .post(
            &format!("/api/v1/units/{id}/decision"),
            Some(&official),
            json!({"approve": true}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    id
}

async fn add(app: &TestApp, token: &str, unit: i64, username: &str, role: &str) -> Reply {
    app.post(
        &format!("/api/v1/units/{unit}/members"),
        Some(token),
        json!({"username": username, "role": role}),
    )
    .await
}

/// Buys `quantity` of the apples, for the unit `unit_id` or for oneself: the order's id and total.
async fn buy(
    app: &TestApp,
    token: &str,
    key: &str,
    quantity: &str,
    unit_id: Option<i64>,
) -> (i64, i64) {
    buy_titled(app, token, key, APPLES, quantity, unit_id).await
}

async fn buy_titled(
    app: &TestApp,
    token: &str,
    key: &str,
    title: &str,
    quantity: &str,
    unit_id: Option<i64>,
) -> (i64, i64) {
    let apples = listing_titled(app, title).await;
    let r = app
        .call_with(
            Method::POST,
            "/api/v1/checkout",
            Some(token),
            Some(json!({
                "address": {"recipient_name": "刘主席", "phone": "028-86630891", "region_code": "510104", "line": "红星路二段 70 号"},
                "lines": [{"listing_id": apples, "quantity": quantity}],
                "unit_id": unit_id,
            })),
            &[("idempotency-key", key)],
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let order = &r.body["orders"][0];
    (
        order["id"].as_i64().unwrap(),
        order["total_fen"].as_i64().unwrap(),
    )
}

async fn progress(app: &TestApp, token: &str, unit: i64, year: i32) -> Value {
    let r = app
        .get(
            &format!("/api/v1/units/{unit}/progress?year={year}"),
            Some(token),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body
}

async fn a_union_counts_its_members_purchases_and_its_own_to_the_fen(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let people = app.new_buyers(3).await;
    let (chair, worker, outsider) = (&people[0], &people[1], &people[2]);
    let r = app
        .post(
            "/api/v1/units",
            Some(chair),
            union_body("成都市锦江区总工会"),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let unit = r.body["id"].as_i64().unwrap();
    assert_eq!(r.body["status"], "applied");
    assert_eq!(r.body["my_role"], "admin");
    assert_eq!(
        r.body["counts_members"], true,
        "a union counts its members' purchases"
    );
    // Nobody joins before the unit is approved; officials elsewhere cannot approve it.
    let r = add(&app, chair, unit, "canteen-1", "member").await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::CONFLICT, "unit_not_approved")
    );
    let kaijiang = app.login("official-kaijiang").await;
    let r = app
        .post(
            &format!("/api/v1/units/{unit}/decision"),
            Some(&kaijiang),
            json!({"approve": true}),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::NOT_FOUND,
        "an applying unit is unknown outside its region"
    );
    let official = app.login("official-sichuan").await;
    let queue = app.get("/api/v1/units/queue", Some(&official)).await;
    assert!(
        queue
            .body
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["id"] == unit),
        "{}",
        queue.text
    );
    let r = app
        .post(
            &format!("/api/v1/units/{unit}/decision"),
            Some(&official),
            json!({"approve": false}),
        )
        .await;
    assert_eq!(
        (r.status, r.fields()),
        (StatusCode::UNPROCESSABLE_ENTITY, vec!["note".to_string()])
    );
    let r = app
        .post(
            &format!("/api/v1/units/{unit}/decision"),
            Some(&official),
            json!({"approve": true}),
        )
        .await;
    assert_eq!(
        (r.status, r.body["status"].clone()),
        (StatusCode::OK, json!("approved"))
    );
    let r = app
        .post(
            &format!("/api/v1/units/{unit}/decision"),
            Some(&official),
            json!({"approve": true}),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::CONFLICT, "already_decided")
    );

    // The chair adds a member; the member cannot manage the unit.
    let r = add(&app, chair, unit, "canteen-1", "member").await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let members = r.body["members"].as_array().unwrap();
    assert_eq!(members.len(), 2);
    let r = add(&app, worker, unit, "canteen-2", "member").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = add(&app, chair, unit, "canteen-1", "purchaser").await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::CONFLICT, "already_member")
    );

    // 500 yuan of welfare per member for two members this year.
    let year = this_year();
    let r = put(
        &app,
        &format!("/api/v1/units/{unit}/obligations/{year}"),
        chair,
        json!({"kind": "fixed", "per_member_fen": 50_000, "members": 2, "note": "工会福利"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["target_fen"], 100_000);

    // The member buys apples for themselves; the chair buys in the union's name; a
    // member cannot order in the union's name; an outsider's purchase counts for nobody.
    let (own, own_fen) = buy(&app, worker, "u-own", "50", None).await;
    let (bought, bought_fen) = buy(&app, chair, "u-unit", "60", Some(unit)).await;
    let apples = listing_titled(&app, APPLES).await;
    let r = app
        .call_with(
            Method::POST,
            "/api/v1/checkout",
            Some(worker),
            Some(json!({
                "address": {"recipient_name": "刘", "phone": "028-86630891", "region_code": "510104", "line": "红星路二段 70 号"},
                "lines": [{"listing_id": apples, "quantity": "50"}], "unit_id": unit,
            })),
            &[("idempotency-key", "u-not-yours")],
        )
        .await;
    assert_eq!(
        (r.status, r.fields()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            vec!["unit_id".to_string()]
        )
    );
    buy(&app, outsider, "u-outsider", "55", None).await;

    let p = progress(&app, chair, unit, year).await;
    assert_eq!(p["unit"]["bought"]["member_fen"], own_fen);
    assert_eq!(p["unit"]["bought"]["purchase_fen"], bought_fen);
    assert_eq!(p["unit"]["done_fen"], own_fen + bought_fen);
    assert_eq!(p["unit"]["target_fen"], 100_000);
    assert_eq!(
        p["unit"]["completion_bp"],
        (own_fen + bought_fen) * 10_000 / 100_000
    );
    // The chair sees the union's own orders, and the member's purchase only in the total.
    let listed: Vec<i64> = p["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_i64().unwrap())
        .collect();
    assert_eq!(listed, [bought]);
    let seen = progress(&app, worker, unit, year).await;
    assert!(seen["orders"].is_null(), "{seen}");
    let r = app
        .get(&format!("/api/v1/units/{unit}/progress"), Some(outsider))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    // Random further purchases, some cancelled, some refunded: completion is always the sum
    // of the orders that still stand.
    let mut rng = rand::rngs::StdRng::seed_from_u64(30);
    let mut standing = own_fen + bought_fen;
    for i in 0..6 {
        let quantity = rng.gen_range(50..=59).to_string();
        let (id, fen) = if rng.gen_bool(0.5) {
            buy(&app, worker, &format!("u-r{i}"), &quantity, None).await
        } else {
            buy(&app, chair, &format!("u-r{i}"), &quantity, Some(unit)).await
        };
        match rng.gen_range(0..3) {
            0 => app.advance(id, "cancel").await,
            1 => app.advance(id, "refund").await,
            _ => standing += fen,
        }
        let p = progress(&app, chair, unit, year).await;
        assert_eq!(p["unit"]["done_fen"], standing, "after order {i}");
    }
    app.advance(own, "cancel").await;
    standing -= own_fen;
    assert_eq!(
        progress(&app, chair, unit, year).await["unit"]["done_fen"],
        standing
    );

    // An order counts in the year of the day it was placed in Beijing: 00:30 on 1 January is
    // the new year's, though it is still the old year in UTC.
    use sea_orm::ConnectionTrait;
    let new_year = match backend {
        Backend::Sqlite => format!("{}-12-31T16:30:00+00:00", year - 1),
        Backend::Postgres => format!("{}-12-31 16:30:00+00", year - 1),
    };
    let sql = format!("UPDATE orders SET placed_at = '{new_year}' WHERE id = {bought}");
    app.db.execute_unprepared(&sql).await.unwrap();
    assert_eq!(
        progress(&app, chair, unit, year).await["unit"]["done_fen"],
        standing
    );
    assert_eq!(
        progress(&app, chair, unit, year - 1).await["unit"]["done_fen"],
        0
    );
}

async fn bad_units_members_and_obligations_are_refused_by_field(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let people = app.new_buyers(2).await;
    let chair = &people[0];
    let r = app
        .post(
            "/api/v1/units",
            Some(chair),
            json!({"name": "x", "kind": "club", "region_code": "999999", "parent_id": 4242,
                   "contact_name": "", "contact_phone": "12"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    let mut fields = r.fields();
    fields.sort();
    assert_eq!(
        fields,
        [
            "contact_name",
            "contact_phone",
            "kind",
            "name",
            "parent_id",
            "region_code"
        ]
    );
    let producer = app.login("coop-panshi").await;
    let r = app
        .post("/api/v1/units", Some(&producer), union_body("合作社工会"))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = app
        .post("/api/v1/units", None, union_body("无名工会"))
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    let unit = approved_unit(&app, chair, union_body("成都市锦江区教育工会")).await;
    let r = add(&app, chair, unit, "nobody-at-all", "chief").await;
    let mut fields = r.fields();
    fields.sort();
    assert_eq!(
        (r.status, fields),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            vec!["role".to_string(), "username".to_string()]
        )
    );
    let r = add(&app, chair, unit, "coop-panshi", "member").await;
    assert_eq!(
        (
            r.status,
            r.body["error"]["fields"]["username"]["code"].clone()
        ),
        (StatusCode::UNPROCESSABLE_ENTITY, json!("not_a_buyer"))
    );
    let me = app.get("/api/v1/auth/me", Some(chair)).await.body["id"]
        .as_i64()
        .unwrap();
    let r = app
        .call(
            Method::DELETE,
            &format!("/api/v1/units/{unit}/members/{me}"),
            Some(chair),
            None,
        )
        .await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "last_admin"));

    let year = this_year();
    let path = format!("/api/v1/units/{unit}/obligations/{year}");
    for (body, field) in [
        (
            json!({"kind": "share", "purchases_fen": 1_000_000, "share_bp": 0}),
            "share_bp",
        ),
        (json!({"kind": "share", "share_bp": 1000}), "purchases_fen"),
        (json!({"kind": "fixed"}), "amount_fen"),
        (
            json!({"kind": "fixed", "amount_fen": 100, "per_member_fen": 5}),
            "amount_fen",
        ),
        (
            json!({"kind": "fixed", "per_member_fen": 50_000}),
            "members",
        ),
        (json!({"kind": "quota"}), "kind"),
    ] {
        let r = put(&app, &path, chair, body.clone()).await;
        assert_eq!(
            (r.status, r.fields()),
            (StatusCode::UNPROCESSABLE_ENTITY, vec![field.to_string()]),
            "{body}"
        );
    }
    let r = put(
        &app,
        &format!("/api/v1/units/{unit}/obligations/{}", year + 5),
        chair,
        json!({"kind": "fixed", "amount_fen": 1}),
    )
    .await;
    assert_eq!(
        (r.status, r.fields()),
        (StatusCode::UNPROCESSABLE_ENTITY, vec!["year".to_string()])
    );
    // A 10 % share of 1 234 567.89 yuan, rounded up to the fen; declaring again replaces it.
    let r = put(
        &app,
        &path,
        chair,
        json!({"kind": "share", "purchases_fen": 123_456_789, "share_bp": 1000}),
    )
    .await;
    assert_eq!(
        (r.status, r.body["target_fen"].clone()),
        (StatusCode::OK, json!(12_345_679))
    );
    let r = put(
        &app,
        &path,
        chair,
        json!({"kind": "fixed", "amount_fen": 300_000}),
    )
    .await;
    assert_eq!(r.body["target_fen"], 300_000);
    let p = progress(&app, chair, unit, year).await;
    assert_eq!(p["unit"]["obligation"]["kind"], "fixed");
    // The other buyer may read the unit (approved) but neither manage nor follow it.
    let r = put(
        &app,
        &path,
        &people[1],
        json!({"kind": "fixed", "amount_fen": 1}),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

async fn a_department_sees_its_subordinate_units_and_officials_rank_them(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let people = app.new_buyers(2).await;
    let (head, school) = (&people[0], &people[1]);
    let department = approved_unit(
        &app,
        head,
        json!({"name": "四川省教育厅", "kind": "budget_unit", "region_code": "510000",
               "contact_name": "张处长", "contact_phone": "028-86110000"}),
    )
    .await;
    let canteen = approved_unit(
        &app,
        school,
        json!({"name": "四川省教育厅机关食堂", "kind": "canteen", "region_code": "510104", "parent_id": department,
               "contact_name": "李师傅", "contact_phone": "028-86110001"}),
    )
    .await;
    let year = this_year();
    for (token, unit, body) in [
        (
            head,
            department,
            json!({"kind": "share", "purchases_fen": 10_000_000, "share_bp": 1000}),
        ),
        (
            school,
            canteen,
            json!({"kind": "share", "purchases_fen": 2_000_000, "share_bp": 1500}),
        ),
    ] {
        let r = put(
            &app,
            &format!("/api/v1/units/{unit}/obligations/{year}"),
            token,
            body,
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }
    let (_, canteen_fen) = buy(&app, school, "d-1", "80", Some(canteen)).await;
    let (_, head_fen) = buy(&app, head, "d-2", "50", Some(department)).await;
    let p = progress(&app, head, department, year).await;
    assert_eq!(p["unit"]["done_fen"], head_fen);
    assert_eq!(p["subordinates"][0]["unit_id"], canteen);
    assert_eq!(p["subordinates"][0]["done_fen"], canteen_fen);
    assert_eq!(p["with_subordinates_fen"], head_fen + canteen_fen);
    assert_eq!(p["with_subordinates_target_fen"], 1_000_000 + 300_000);
    let unit = app
        .get(&format!("/api/v1/units/{canteen}"), Some(head))
        .await;
    assert_eq!(unit.body["parent"]["id"], department);

    // The province ranks both, the more complete first; 开江's official may not look.
    let official = app.login("official-sichuan").await;
    let r = app
        .get(
            &format!("/api/v1/stats/regions/510000/units?year={year}"),
            Some(&official),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let ranked: Vec<(i64, i64)> = r.body["units"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (
                u["unit_id"].as_i64().unwrap(),
                u["done_fen"].as_i64().unwrap(),
            )
        })
        // The demo's own canteen is in the province too.
        .filter(|(id, _)| [canteen, department].contains(id))
        .collect();
    let mut expected = vec![(canteen, canteen_fen), (department, head_fen)];
    expected.sort_by_key(|(id, fen)| {
        let target = if *id == canteen { 300_000 } else { 1_000_000 };
        (std::cmp::Reverse(fen * 10_000 / target), *id)
    });
    assert_eq!(ranked, expected);
    let kaijiang = app.login("official-kaijiang").await;
    let r = app
        .get("/api/v1/stats/regions/510000/units", Some(&kaijiang))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = app
        .get(
            "/api/v1/stats/regions/510000/units?year=soon",
            Some(&official),
        )
        .await;
    assert_eq!(
        (r.status, r.fields()),
        (StatusCode::UNPROCESSABLE_ENTITY, vec!["year".to_string()])
    );

    // The quarter's table, as a spreadsheet and as CSV, names both units with their figures.
    let quarter = {
        let d = qudao::days::local_date(chrono::Utc::now());
        format!("{}Q{}", d.year(), (d.month() - 1) / 3 + 1)
    };
    let r = app
        .get(
            &format!("/api/v1/stats/regions/510000/units/report?quarter={quarter}"),
            Some(&official),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.headers["content-type"]
            .to_str()
            .unwrap()
            .contains("spreadsheetml")
    );
    let r = app
        .get(
            &format!("/api/v1/stats/regions/510000/units/report?quarter={quarter}&format=csv"),
            Some(&official),
        )
        .await;
    let csv = r.text;
    let line = csv
        .lines()
        .find(|l| l.contains("四川省教育厅机关食堂"))
        .expect("the canteen's row");
    assert!(
        line.contains(&format!(",{canteen_fen},0,{canteen_fen},")),
        "{csv}"
    );
    let r = app
        .get(
            "/api/v1/stats/regions/510000/units/report?quarter=2026",
            Some(&official),
        )
        .await;
    assert_eq!(
        (r.status, r.fields()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            vec!["quarter".to_string()]
        )
    );
}

async fn relate(app: &TestApp, token: &str, body: Value) -> Reply {
    app.post("/api/v1/help-relations", Some(token), body).await
}

async fn helpers_purchases_from_the_counties_they_help_are_theirs_on_both_sides(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let people = app.new_buyers(1).await;
    let cook = &people[0];
    // A canteen in 杭州's 西湖区, approved by the platform (no official of 浙江 here).
    let canteen = approved_by(
        &app,
        cook,
        "admin",
        json!({"name": "杭州市西湖区机关食堂", "kind": "canteen", "region_code": "330106",
               "contact_name": "陈师傅", "contact_phone": "0571-87000000"}),
    )
    .await;
    let admin = app.login("admin").await;

    let today = qudao::days::local_date(chrono::Utc::now());
    let official = app.login("official-sichuan").await;
    let kaijiang = app.login("official-kaijiang").await;
    // The demo has 杭州 helping 道孚 (东西部协作) since last year. The province over 道孚 records
    // 宁波's 对口支援 of 道孚, and the canteen twinning with 开江 from tomorrow only.
    let r = relate(
        &app,
        &official,
        json!({"kind": "paired", "helper_region_code": "330200",
        "helped_county_code": "513326", "starts_on": format!("{}-01-01", today.year() - 1)}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["helper_name"], "宁波市");
    let r = relate(&app, &official, json!({"kind": "twinning", "helper_unit_id": canteen,
        "helped_county_code": "511723", "starts_on": (today + chrono::Duration::days(1)).to_string()})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    // 开江's official has no say over 道孚 or 杭州.
    let r = relate(
        &app,
        &kaijiang,
        json!({"kind": "designated", "helper_region_code": "330100",
        "helped_county_code": "513326", "starts_on": "2026-01-01"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    for (body, field) in [
        (
            json!({"kind": "charity", "helper_region_code": "330100", "helped_county_code": "513326", "starts_on": "2026-01-01"}),
            "kind",
        ),
        (
            json!({"kind": "paired", "helper_region_code": "330100", "helped_county_code": "510000", "starts_on": "2026-01-01"}),
            "helped_county_code",
        ),
        (
            json!({"kind": "paired", "helper_region_code": "510000", "helped_county_code": "513326", "starts_on": "2026-01-01"}),
            "helped_county_code",
        ),
        (
            json!({"kind": "paired", "helper_region_code": "330100", "helper_unit_id": canteen, "helped_county_code": "513326", "starts_on": "2026-01-01"}),
            "helper_region_code",
        ),
        (
            json!({"kind": "paired", "helped_county_code": "513326", "starts_on": "2026-01-01"}),
            "helper_unit_id",
        ),
        (
            json!({"kind": "paired", "helper_region_code": "330100", "helped_county_code": "513326", "starts_on": "2026-01-01", "ends_on": "2025-12-31"}),
            "ends_on",
        ),
        (
            json!({"kind": "paired", "helper_region_code": "330100", "helped_county_code": "513326", "starts_on": "soon"}),
            "starts_on",
        ),
    ] {
        let r = relate(&app, &official, body.clone()).await;
        assert_eq!(
            (r.status, r.fields()),
            (StatusCode::UNPROCESSABLE_ENTITY, vec![field.to_string()]),
            "{body}"
        );
    }

    // The canteen's cook orders for it: apples from 道孚 (counted for 杭州's relation), rice from
    // 开江 (the twinning has not begun), and apples again, cancelled.
    let unit = Some(canteen);
    let (_, apples_fen) = buy(&app, cook, "h-1", "50", unit).await;
    buy_titled(&app, cook, "h-2", "开江盘石村生态大米", "100", unit).await;
    let (gone, _) = buy(&app, cook, "h-3", "60", unit).await;
    app.advance(gone, "cancel").await;
    // The statistics book them, as the server's projector would within moments.
    app.project().await;
    let year = today.year();
    let figures = |rows: &Value| -> Vec<(String, i64, i64)> {
        rows.as_array()
            .unwrap()
            .iter()
            .map(|h| {
                (
                    h["relation"]["kind"].as_str().unwrap().to_string(),
                    h["bought_fen"].as_i64().unwrap(),
                    h["orders"].as_i64().unwrap(),
                )
            })
            .collect()
    };
    // 道孚's side, seen by the province; 浙江's side, seen by the platform: the same figures.
    let r = app
        .get(
            &format!("/api/v1/stats/regions/513326/help?year={year}"),
            Some(&official),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let f = |kind: &str, fen: i64, n: i64| (kind.to_string(), fen, n);
    assert_eq!(
        figures(&r.body),
        [f("east_west", apples_fen, 1), f("paired", 0, 0)]
    );
    let r = app
        .get(
            &format!("/api/v1/stats/regions/330000/help?year={year}"),
            Some(&admin),
        )
        .await;
    // The demo's 余杭 unit helps 乡城, and bought nothing there.
    assert_eq!(
        figures(&r.body),
        [
            f("east_west", apples_fen, 1),
            f("east_west", 0, 0),
            f("paired", 0, 0),
            f("twinning", 0, 0)
        ]
    );
    // 开江 sees its two twinnings (the demo canteen's; this one, empty until it begins), and
    // nothing of 道孚.
    let r = app
        .get(
            &format!("/api/v1/stats/regions/511723/help?year={year}"),
            Some(&kaijiang),
        )
        .await;
    assert_eq!(figures(&r.body), [f("twinning", 0, 0), f("twinning", 0, 0)]);
    let r = app
        .get("/api/v1/stats/regions/513326/help", Some(&kaijiang))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // Last year the canteen bought nothing from 道孚.
    let r = app
        .get(
            &format!("/api/v1/stats/regions/513326/help?year={}", year - 1),
            Some(&official),
        )
        .await;
    assert_eq!(figures(&r.body), [f("east_west", 0, 0), f("paired", 0, 0)]);
}

async fn a_campaign_keeps_each_order_once_and_its_report_adds_up_to_the_fen(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let today = qudao::days::local_date(chrono::Utc::now());
    let day = |n: i64| (today + chrono::Duration::days(n)).to_string();
    let official = app.login("official-sichuan").await;
    let kaijiang = app.login("official-kaijiang").await;
    let new_year = json!({"name": "2027 四川年货节", "kind": "new_year", "starts_on": day(-1),
        "ends_on": day(10), "counties": ["513326", "511723"], "description": "川货年货节"});
    let r = app
        .post("/api/v1/campaigns", Some(&official), new_year.clone())
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let first = r.body["id"].as_i64().unwrap();
    // A later fair over the same days and 道孚: an order keeps the earlier campaign only.
    let r = app
        .post(
            "/api/v1/campaigns",
            Some(&official),
            json!({"name": "道孚特产展销会", "kind": "fair", "starts_on": day(0), "ends_on": day(3), "counties": ["513326"]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let second = r.body["id"].as_i64().unwrap();
    // 开江's official reaches only 开江; dates and kinds are checked; buyers organize nothing.
    let r = app
        .post("/api/v1/campaigns", Some(&kaijiang), new_year.clone())
        .await;
    assert_eq!(
        (r.status, r.fields()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            vec!["counties".to_string()]
        )
    );
    let r = app
        .post(
            "/api/v1/campaigns",
            Some(&official),
            json!({"name": "x", "kind": "party", "starts_on": day(5), "ends_on": day(1), "counties": []}),
        )
        .await;
    let mut fields = r.fields();
    fields.sort();
    assert_eq!(fields, ["counties", "ends_on", "kind", "name"]);
    let buyers = app.new_buyers(3).await;
    let r = app
        .post("/api/v1/campaigns", Some(&buyers[0]), new_year.clone())
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    // 孜龙村 signs its apples up for both; 盘石村 cannot sign them up; 乡城 takes no part.
    let zilong = app.login("coop-zilong").await;
    let panshi = app.login("coop-panshi").await;
    let apples = listing_titled(&app, APPLES).await;
    for id in [first, second] {
        let r = app
            .post(
                &format!("/api/v1/campaigns/{id}/listings"),
                Some(&zilong),
                json!({"listing_id": apples}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }
    let r = app
        .post(
            &format!("/api/v1/campaigns/{first}/listings"),
            Some(&zilong),
            json!({"listing_id": apples}),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::CONFLICT, "already_signed_up")
    );
    let r = app
        .post(
            &format!("/api/v1/campaigns/{first}/listings"),
            Some(&panshi),
            json!({"listing_id": apples}),
        )
        .await;
    assert_eq!(r.body["error"]["fields"]["listing_id"]["code"], "not_yours");
    let admin = app.login("admin").await;
    let matsutake = listing_titled(&app, "乡城野生松茸 鲜品").await;
    let r = app
        .post(
            &format!("/api/v1/campaigns/{first}/listings"),
            Some(&admin),
            json!({"listing_id": matsutake}),
        )
        .await;
    assert_eq!(
        r.body["error"]["fields"]["listing_id"]["code"],
        "county_not_taking_part"
    );

    // A union pledges 2 000 yuan; its purchaser, a stranger and a cancelled order buy apples;
    // rice from 开江, not signed up, is sold outside the campaign.
    let unit = approved_unit(&app, &buyers[0], union_body("成都市总工会")).await;
    let r = app
        .post(
            &format!("/api/v1/campaigns/{first}/pledges"),
            Some(&buyers[0]),
            json!({"unit_id": unit, "amount_fen": 200_000}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = app
        .post(
            &format!("/api/v1/campaigns/{first}/pledges"),
            Some(&buyers[1]),
            json!({"unit_id": unit, "amount_fen": 1}),
        )
        .await;
    assert_eq!(
        r.body["error"]["fields"]["unit_id"]["code"],
        "not_your_unit"
    );
    let (_, by_unit) = buy(&app, &buyers[0], "c-1", "50", Some(unit)).await;
    let (_, by_stranger) = buy(&app, &buyers[1], "c-2", "70", None).await;
    let (gone, _) = buy(&app, &buyers[2], "c-3", "60", None).await;
    app.advance(gone, "cancel").await;
    buy_titled(&app, &buyers[2], "c-4", "开江盘石村生态大米", "100", None).await;

    let report = app.get(&format!("/api/v1/campaigns/{first}"), None).await;
    assert_eq!(report.status, StatusCode::OK, "{}", report.text);
    assert_eq!(report.body["total_fen"], by_unit + by_stranger);
    assert_eq!(report.body["orders"], 2);
    let counties: Vec<(String, i64)> = report.body["counties"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["county_code"].as_str().unwrap().to_string(),
                c["sold_fen"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        counties,
        [
            ("511723".to_string(), 0),
            ("513326".to_string(), by_unit + by_stranger)
        ]
    );
    assert_eq!(report.body["pledges"][0]["pledged_fen"], 200_000);
    assert_eq!(report.body["pledges"][0]["bought_fen"], by_unit);
    let later = app.get(&format!("/api/v1/campaigns/{second}"), None).await;
    assert_eq!(
        later.body["total_fen"], 0,
        "an order belongs to one campaign"
    );
    // The campaign's page says the same.
    let page = app
        .call_raw(
            Method::GET,
            &format!("/campaigns/{first}"),
            None,
            "text/html",
            Vec::new(),
        )
        .await;
    assert!(
        page.text.contains("2027 四川年货节")
            && page
                .text
                .contains(&qudao::catalog::domain::format_yuan(by_unit + by_stranger)),
        "{}",
        page.text
    );
}
