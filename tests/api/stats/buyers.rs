//! The buyer side over random markets: units of several kinds and places, their members,
//! purchasers and people buying for themselves order at random and their orders meet random
//! fates; for every period and basis, what the buyers bought adds up, by unit, kind and the
//! buyer's province, prefecture and county, to what the sellers sold, to the fen, at the
//! province and in each county sold from; what each unit bought, and its quota's completion,
//! is what its orders say; a county's officials see who bought from the county and nothing
//! else; no person is ever named.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::Datelike;

use qudao::buyers::entity::unit;
use qudao::catalog::entity::region;
use qudao::orders::domain::OrderStatus;
use qudao::orders::entity::{order, order_line};
use qudao::stats::domain::{Granularity, Period};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::{Method, StatusCode};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, TransactionTrait};
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, spawn_app, spawn_app_with};
use crate::on_both_databases;

use super::{counts, fen, public_listings, random_fate, random_lines, today};

on_both_databases!(
    what_buyers_bought_adds_up_to_what_sellers_sold_over_random_markets,
    a_county_sees_who_bought_from_it_and_nobody_is_named,
    a_county_outside_sichuan_counts_as_assisted_once_an_admin_records_its_standing,
    the_demo_s_year_of_orders_adds_up_on_both_sides,
);

/// Where buyers have their goods delivered: 成都, 杭州, 道孚 and 深圳.
const PLACES: [&str; 4] = ["510104", "330106", "513326", "440305"];

/// A unit applied for by `token` and approved by `decider`: its id.
async fn unit_of(app: &TestApp, token: &str, decider: &str, body: Value) -> i64 {
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

fn unit_body(name: &str, kind: &str, region: &str, parent: Option<i64>) -> Value {
    json!({"name": name, "kind": kind, "region_code": region, "parent_id": parent,
           "contact_name": "张主任", "contact_phone": "028-86110000"})
}

/// A market of units and people: the people's tokens, each with the unit they may order for,
/// and the units' ids with the token of their admin.
struct Market {
    people: Vec<(String, Option<i64>)>,
    units: Vec<(i64, String)>,
}

async fn market(app: &TestApp) -> Market {
    let p = app.new_buyers(7).await;
    let union = unit_of(
        app,
        &p[0],
        "official-sichuan",
        unit_body("成都市锦江区总工会", "union", "510104", None),
    )
    .await;
    for member in ["canteen-1", "canteen-2"] {
        let r = app
            .post(
                &format!("/api/v1/units/{union}/members"),
                Some(&p[0]),
                json!({"username": member, "role": "member"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    }
    let department = unit_of(
        app,
        &p[3],
        "official-sichuan",
        unit_body("四川省农业农村厅", "budget_unit", "510000", None),
    )
    .await;
    let canteen = unit_of(
        app,
        &p[4],
        "official-sichuan",
        unit_body(
            "四川省农业农村厅机关食堂",
            "canteen",
            "510104",
            Some(department),
        ),
    )
    .await;
    let hangzhou = unit_of(
        app,
        &p[5],
        "admin",
        unit_body("杭州市西湖区机关事务管理局", "budget_unit", "330106", None),
    )
    .await;
    Market {
        people: vec![
            (p[0].clone(), Some(union)),
            (p[1].clone(), None),
            (p[2].clone(), None),
            (p[3].clone(), Some(department)),
            (p[4].clone(), Some(canteen)),
            (p[5].clone(), Some(hangzhou)),
            (p[6].clone(), None),
        ],
        units: vec![
            (union, p[0].clone()),
            (department, p[3].clone()),
            (canteen, p[4].clone()),
            (hangzhou, p[5].clone()),
        ],
    }
}

/// Random orders over the demo's listings, for units or not, delivered anywhere, each meeting
/// a random fate; projected into the statistics as the server would within moments.
async fn trade(app: &TestApp, m: &Market, seed: u64, orders: usize) {
    let mut rng = StdRng::seed_from_u64(seed);
    let listings = public_listings(app).await;
    for i in 0..orders {
        let (token, unit) = &m.people[rng.gen_range(0..m.people.len())];
        let unit = unit.filter(|_| rng.gen_bool(0.7));
        let lines = random_lines(&mut rng, &listings);
        let place = PLACES[rng.gen_range(0..PLACES.len())];
        let r = app
            .call_with(
                Method::POST,
                "/api/v1/checkout",
                Some(token),
                Some(json!({
                    "address": {"recipient_name": "王师傅", "phone": "028-86630890", "region_code": place, "line": "人民路 1 号"},
                    "lines": lines,
                    "unit_id": unit,
                })),
                &[("idempotency-key", &format!("b-{seed}-{i}"))],
            )
            .await;
        if r.status != StatusCode::CREATED {
            continue;
        }
        for o in r.body["orders"].as_array().unwrap() {
            let fate = random_fate(&mut rng);
            app.advance(o["id"].as_i64().unwrap(), fate).await;
        }
    }
    app.project().await;
}

/// One order as the buyer side should count it, read from the orders themselves.
struct Bought {
    unit: Option<i64>,
    kind: String,
    /// The unit's region, or the delivery address's for a person buying for themselves.
    buyer_region: String,
    seller_county: String,
    /// The lines as received: their amounts less what short deliveries refunded.
    lines_fen: i64,
    /// The goods: what statistics count as sales, freight left out.
    goods_fen: i64,
    status: OrderStatus,
    /// The day it was placed, in Beijing, as a day key (20261204).
    placed: i32,
    /// Refunded for goods that did not arrive, and the day the goods arrived (the day the
    /// placed figures take the refund back).
    refund: Option<(i64, i32)>,
}

async fn orders_bought(app: &TestApp) -> Vec<Bought> {
    let units: HashMap<i64, unit::Model> = unit::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|u| (u.id, u))
        .collect();
    let mut out = Vec::new();
    for o in order::Entity::find().all(&app.db).await.unwrap() {
        let lines_fen = order_line::Entity::find()
            .filter(order_line::Column::OrderId.eq(o.id))
            .all(&app.db)
            .await
            .unwrap()
            .iter()
            .map(|l| l.amount_fen - l.short_fen)
            .sum();
        let unit = o.buyer_unit_id.map(|id| &units[&id]);
        out.push(Bought {
            unit: o.buyer_unit_id,
            kind: unit.map_or("individual".into(), |u| u.kind.code().to_string()),
            buyer_region: unit.map_or(o.address_region_code.clone(), |u| u.region_code.clone()),
            seller_county: o.seller_region_code[..6].to_string(),
            lines_fen,
            goods_fen: o.goods_fen,
            status: o.status,
            placed: qudao::stats::domain::day_key(qudao::days::local_date(o.placed_at)),
            refund: o.delivered_at.filter(|_| o.refund_fen > 0).map(|at| {
                (
                    o.refund_fen,
                    qudao::stats::domain::day_key(qudao::days::local_date(at)),
                )
            }),
        });
    }
    out
}

/// A code cut to a level: `2` keeps the province, `4` the prefecture, `6` the county; empty
/// for a place above the level (a province's unit has no prefecture or county).
fn cut(code: &str, keep: usize) -> String {
    if keep > 2 && code[keep - 2..keep] == *"00" {
        return String::new();
    }
    format!("{:0<6}", &code[..keep])
}

/// What a reading by `by` should show: `(key → (fen, orders))`, groups of nothing left out.
fn expected(
    orders: &[&Bought],
    by: &str,
    completed: bool,
    assisted: &HashSet<String>,
) -> (BTreeMap<String, (i64, i64)>, i64) {
    let mut groups: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    let mut assisted_fen = 0;
    for b in orders {
        if !counts(b.status, completed) {
            continue;
        }
        let key = match by {
            "unit" => b.unit.map_or("individuals".into(), |u| u.to_string()),
            "kind" => b.kind.clone(),
            "province" => cut(&b.buyer_region, 2),
            "prefecture" => cut(&b.buyer_region, 4),
            "county" => cut(&b.buyer_region, 6),
            "seller_county" => b.seller_county.clone(),
            _ => unreachable!("{by}"),
        };
        let g = groups.entry(key).or_default();
        g.0 += b.lines_fen;
        g.1 += 1;
        if assisted.contains(&b.seller_county) {
            assisted_fen += b.lines_fen;
        }
    }
    (groups, assisted_fen)
}

/// A reading's rows as `(key → (fen, orders))`, rows that net to nothing left out, after
/// checking that they add up to its totals.
fn shown(body: &Value) -> BTreeMap<String, (i64, i64)> {
    let rows = body["rows"].as_array().unwrap_or_else(|| panic!("{body}"));
    let sum: i64 = rows.iter().map(|r| fen(&r["sales_fen"])).sum();
    assert_eq!(sum, fen(&body["sales_fen"]), "{body}");
    let assisted: i64 = rows.iter().map(|r| fen(&r["assisted_fen"])).sum();
    assert_eq!(assisted, fen(&body["assisted_fen"]), "{body}");
    rows.iter()
        .map(|r| {
            (
                r["key"].as_str().unwrap().to_string(),
                (fen(&r["sales_fen"]), fen(&r["orders"])),
            )
        })
        .filter(|(_, v)| *v != (0, 0))
        .collect()
}

async fn assisted_counties(app: &TestApp) -> HashSet<String> {
    region::Entity::find()
        .filter(
            Condition::any()
                .add(region::Column::PovertyExit.is_not_null())
                .add(region::Column::AssistanceKey.is_not_null()),
        )
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.code)
        .collect()
}

async fn what_buyers_bought_adds_up_to_what_sellers_sold_over_random_markets(backend: Backend) {
    for seed in [5, 2026] {
        let Some(app) = spawn_app(backend).await else {
            return;
        };
        let m = market(&app).await;
        trade(&app, &m, seed, 14).await;
        let admin = app.login("admin").await;
        let all = orders_bought(&app).await;
        assert!(all.len() >= 8, "the market placed too few orders");
        let assisted = assisted_counties(&app).await;
        let day = today();
        let now = [
            Period::containing(Granularity::Month, day),
            Period::containing(Granularity::Quarter, day),
            Period::containing(Granularity::Year, day),
        ];
        let before = Period::containing(Granularity::Quarter, day).prev();
        let everything: Vec<&Bought> = all.iter().collect();
        let counties: HashSet<&str> = all.iter().map(|b| b.seller_county.as_str()).collect();
        for basis in ["completed", "placed"] {
            let completed = basis == "completed";
            for p in now.iter().chain([&before]) {
                // Last quarter nothing was bought.
                let orders = if *p == before {
                    &[][..]
                } else {
                    &everything[..]
                };
                let read = |code: &str, query: String| {
                    let path = format!("/api/v1/stats/regions/{code}{query}");
                    let app = &app;
                    let admin = &admin;
                    async move {
                        let r = app.get(&path, Some(admin)).await;
                        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text);
                        r.body
                    }
                };
                let sold = read("510000", format!("?period={p}&basis={basis}")).await;
                let sold = fen(&sold["figures"]["sales_fen"]);
                for by in ["unit", "kind", "province", "prefecture", "county"] {
                    let body = read(
                        "510000",
                        format!("/buyers?period={p}&basis={basis}&by={by}"),
                    )
                    .await;
                    assert_eq!(fen(&body["sales_fen"]), sold, "{by} {p} {basis} {seed}");
                    let (want, assisted_fen) = expected(orders, by, completed, &assisted);
                    assert_eq!(shown(&body), want, "{by} {p} {basis} seed {seed}");
                    assert_eq!(fen(&body["assisted_fen"]), assisted_fen, "{by} {p} {basis}");
                }
                // Each county sold from: its buyers add up to its sales.
                for county in &counties {
                    let sold = read(county, format!("?period={p}&basis={basis}")).await;
                    let body = read(county, format!("/buyers?period={p}&basis={basis}")).await;
                    assert_eq!(
                        fen(&body["sales_fen"]),
                        fen(&sold["figures"]["sales_fen"]),
                        "{county} {p} {basis} seed {seed}"
                    );
                    let from: Vec<&Bought> = orders
                        .iter()
                        .copied()
                        .filter(|b| b.seller_county == *county)
                        .collect();
                    let (want, _) = expected(&from, "unit", completed, &assisted);
                    assert_eq!(shown(&body), want, "{county} {p} {basis} seed {seed}");
                }
                // The buyers of each province, by the county they bought from.
                for province in ["510000", "330000", "440000"] {
                    let body = read(
                        province,
                        format!("/buyers?period={p}&basis={basis}&side=purchases&by=seller_county"),
                    )
                    .await;
                    let within: Vec<&Bought> = orders
                        .iter()
                        .copied()
                        .filter(|b| b.buyer_region[..2] == province[..2])
                        .collect();
                    let (want, _) = expected(&within, "seller_county", completed, &assisted);
                    assert_eq!(shown(&body), want, "{province} {p} {basis} seed {seed}");
                }
            }
        }
        // Each unit's quota is completed by its orders from assisted counties that still
        // stand, to the fen.
        let year = Period::containing(Granularity::Year, day);
        for (unit, token) in &m.units {
            let r = app
                .get(
                    &format!(
                        "/api/v1/units/{unit}/progress?year={}",
                        year.start_day() / 10_000
                    ),
                    Some(token),
                )
                .await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text);
            let done: i64 = all
                .iter()
                .filter(|b| b.unit == Some(*unit) && b.status != OrderStatus::Cancelled)
                .filter(|b| assisted.contains(&b.seller_county))
                .map(|b| b.goods_fen)
                .sum();
            assert_eq!(
                fen(&r.body["unit"]["done_fen"]),
                done,
                "unit {unit} seed {seed}"
            );
        }
        // The sums kept order by order are what recomputing them from the facts gives.
        let kept = app.aggregate_rows().await;
        assert!(
            kept.iter().any(|r| r.starts_with("stats_buyer_sums")),
            "{kept:?}"
        );
        let txn = app.db.begin().await.unwrap();
        qudao::stats::aggregates::rebuild(&txn).await.unwrap();
        txn.commit().await.unwrap();
        assert_eq!(kept, app.aggregate_rows().await, "seed {seed}");
    }
}

async fn a_county_sees_who_bought_from_it_and_nobody_is_named(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let m = market(&app).await;
    trade(&app, &m, 31, 12).await;
    let all = orders_bought(&app).await;
    let assisted = assisted_counties(&app).await;
    let quarter = Period::containing(Granularity::Quarter, today());
    let kaijiang = app.login("official-kaijiang").await;
    // 开江's officials: the province is not theirs; their county is.
    let r = app
        .get("/api/v1/stats/regions/510000/buyers", Some(&kaijiang))
        .await;
    assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "forbidden"));
    for by in ["unit", "kind", "province"] {
        let r = app
            .get(
                &format!(
                    "/api/v1/stats/regions/511723/buyers?period={quarter}&by={by}&basis=placed"
                ),
                Some(&kaijiang),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        let from: Vec<&Bought> = all.iter().filter(|b| b.seller_county == "511723").collect();
        assert_eq!(
            shown(&r.body),
            expected(&from, by, false, &assisted).0,
            "{by}"
        );
        // No person is named or counted apart: units by their ids, people as one row.
        for row in r.body["rows"].as_array().unwrap() {
            let key = row["key"].as_str().unwrap();
            if by == "unit" && key == "individuals" {
                assert_eq!(row["name"], "个人买家");
            } else if by == "unit" {
                let id: i64 = key.parse().unwrap_or_else(|_| panic!("{key}"));
                assert!(m.units.iter().any(|(u, _)| *u == id), "{key}");
            }
        }
        assert!(!r.text.contains("canteen-"), "{}", r.text);
    }
    // Bad words in the address are refused by field.
    for (query, field) in [
        ("by=person", "by"),
        ("side=sellers", "side"),
        ("period=2026Q5", "period"),
        ("basis=paid", "basis"),
        ("colour=red", "colour"),
    ] {
        let r = app
            .get(
                &format!("/api/v1/stats/regions/511723/buyers?{query}"),
                Some(&kaijiang),
            )
            .await;
        assert_eq!(
            (r.status, r.fields()),
            (StatusCode::UNPROCESSABLE_ENTITY, vec![field.to_string()]),
            "{query}: {}",
            r.text
        );
    }
    // The page: the same figures, the units by name, people as 个人买家.
    let official = app.login("official-sichuan").await;
    let api = app
        .get(
            &format!("/api/v1/stats/regions/510000/buyers?period={quarter}&basis=placed"),
            Some(&official),
        )
        .await;
    let page = app
        .get(
            &format!("/officials/regions/510000/buyers?period={quarter}&basis=placed"),
            Some(&official),
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    let total = qudao::catalog::domain::format_yuan(fen(&api.body["sales_fen"]));
    assert!(page.text.contains(&total), "{total} in {}", page.text);
    for row in api.body["rows"].as_array().unwrap() {
        let name = row["name"].as_str().unwrap();
        assert!(page.text.contains(name), "{name}");
    }
    assert!(!page.text.contains("canteen-"));
    let r = app
        .get(
            "/officials/regions/510000/buyers?side=sellers",
            Some(&official),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(r.text.contains("<code>side</code>"), "{}", r.text);
    let r = app
        .get("/officials/regions/510000/buyers", Some(&kaijiang))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

async fn a_county_outside_sichuan_counts_as_assisted_once_an_admin_records_its_standing(
    backend: Backend,
) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    // A cooperative in 册亨县, 贵州, lists rice; an admin approves it.
    let r = app
        .post("/api/v1/auth/register", None, json!({"username": "ceheng-rice", "password": "册亨县糯米合作社2026", "display_name": "韦光明", "role": "producer"}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let producer = app.login_with("ceheng-rice", "册亨县糯米合作社2026").await;
    let r = app
        .post(
            "/api/v1/organizations",
            Some(&producer),
            json!({"name": "册亨县糯米种植专业合作社", "kind": "cooperative", "region_code": "522327",
                   "contact_name": "韦光明", "contact_phone": "0859-4211000"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let org = r.body["id"].as_i64().unwrap();
    // 册亨's officials recommend it, made by the platform's admin; the admin approves it.
    let admin = app.login("admin").await;
    let r = app
        .post(
            "/api/v1/users",
            Some(&admin),
            json!({"username": "official-ceheng", "password": "册亨县经信局2026", "display_name": "册亨县经信局",
                   "role": "official", "region_code": "522327"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let official = app.login_with("official-ceheng", "册亨县经信局2026").await;
    for (step, token) in [("recommend", &official), ("approve", &admin)] {
        let r = app
            .post(
                &format!("/api/v1/organizations/{org}/{step}"),
                Some(token),
                json!({"note": "县经信局核实"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{step}: {}", r.text);
    }
    let rice = app.category_id("rice").await;
    let r = app
        .post("/api/v1/listings", Some(&producer), json!({"category_id": rice, "title": "册亨糯米", "unit": "jin", "price_fen": 850, "stock": 1000}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let listing = r.body["id"].as_i64().unwrap();
    // A 杭州 unit with a fixed obligation buys it.
    let people = app.new_buyers(1).await;
    let unit = unit_of(
        &app,
        &people[0],
        "admin",
        unit_body("杭州市上城区机关事务管理局", "budget_unit", "330102", None),
    )
    .await;
    let r = app
        .call_with(
            Method::POST,
            "/api/v1/checkout",
            Some(&people[0]),
            Some(json!({
                "address": {"recipient_name": "沈主任", "phone": "0571-86220000", "region_code": "330102", "line": "解放路 1 号"},
                "lines": [{"listing_id": listing, "quantity": "40"}],
                "unit_id": unit,
            })),
            &[("idempotency-key", "ceheng-1")],
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let total = fen(&r.body["orders"][0]["total_fen"]);
    app.project().await;
    let year = Period::containing(Granularity::Year, today());
    let progress = format!(
        "/api/v1/units/{unit}/progress?year={}",
        year.start_day() / 10_000
    );
    let buyers = format!("/api/v1/stats/regions/520000/buyers?period={year}&basis=placed");
    let done = || {
        let (progress, buyers, token, admin) = (
            progress.clone(),
            buyers.clone(),
            people[0].clone(),
            admin.clone(),
        );
        let app = &app;
        async move {
            let p = app.get(&progress, Some(&token)).await;
            let b = app.get(&buyers, Some(&admin)).await;
            (
                fen(&p.body["unit"]["done_fen"]),
                fen(&b.body["sales_fen"]),
                fen(&b.body["assisted_fen"]),
            )
        }
    };
    // Until its standing is recorded, 册亨 is not an assisted county: nothing counts.
    assert_eq!(done().await, (0, total, 0));

    // Refusals, each by its code, leaving the county as it was.
    let put = |path: &str, token: Option<&str>, body: Value| {
        let path = format!("/api/v1/regions/{path}/standing");
        let token = token.map(str::to_string);
        let app = &app;
        async move {
            app.call(Method::PUT, &path, token.as_deref(), Some(body))
                .await
        }
    };
    let good = json!({"poverty_exit": 2020, "assistance_key": "national"});
    let r = put("522327", None, good.clone()).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = put("522327", Some(&producer), good.clone()).await;
    assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "forbidden"));
    let r = put("511723", Some(&admin), good.clone()).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::CONFLICT, "reference_standing")
    );
    let r = put("999999", Some(&admin), good.clone()).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    for (body, field) in [
        (good.clone(), "code"),
        (json!({"poverty_exit": 2030}), "poverty_exit"),
        (json!({"assistance_key": "global"}), "assistance_key"),
    ] {
        let code = if field == "code" { "520000" } else { "522327" };
        let r = put(code, Some(&admin), body.clone()).await;
        assert_eq!(
            (r.status, r.fields()),
            (StatusCode::UNPROCESSABLE_ENTITY, vec![field.to_string()]),
            "{body}: {}",
            r.text
        );
    }
    let region = app.get("/api/v1/regions/522327", None).await;
    assert_eq!(region.body["region"]["poverty_exit"], Value::Null);
    assert_eq!(region.body["region"]["assistance_key"], Value::Null);

    // Recorded, audited, and from then on the purchase counts, on both sides.
    let r = put("522327", Some(&admin), good).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        (
            r.body["poverty_exit"].clone(),
            r.body["assistance_key"].clone()
        ),
        (json!(2020), json!("national"))
    );
    assert_eq!(done().await, (total, total, total));
    let audit = app
        .get(
            "/api/v1/admin/audit-log?action=region.standing",
            Some(&admin),
        )
        .await;
    assert!(audit.text.contains("522327"), "{}", audit.text);

    // The admin's page lists it and records another from its form; a bad year comes back
    // beside its field.
    let url = &app.address;
    let signed = crate::pages::signed_in(url, "admin").await;
    let (admin_page, action) = (
        format!("{url}/admin"),
        format!("{url}/admin/regions/standing"),
    );
    let (status, html) = super::filings::post_form(
        &signed,
        &action,
        &admin_page,
        &[
            ("code", "522328"),
            ("poverty_exit", "20x9"),
            ("assistance_key", "national"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    assert!(
        html.contains("id=\"standing-poverty_exit-error\""),
        "{html}"
    );
    assert!(html.contains("value=\"522328\""), "{html}");
    let (status, html) = super::filings::post_form(
        &signed,
        &action,
        &admin_page,
        &[
            ("code", "522328"),
            ("poverty_exit", "2019"),
            ("assistance_key", ""),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
    let (_, html) = crate::forms::page(&signed, &admin_page).await;
    let list = &html[html
        .find("id=\"standing-list\"")
        .expect("the recorded counties")..];
    assert!(
        list.contains("册亨县 522327") && list.contains("2020"),
        "{list}"
    );
    let region = app.get("/api/v1/regions/522328", None).await;
    assert_eq!(region.body["region"]["poverty_exit"], 2019);
    assert_eq!(region.body["region"]["assistance_key"], Value::Null);
}

async fn the_demo_s_year_of_orders_adds_up_on_both_sides(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |s| s.demo_history = true).await else {
        return;
    };
    app.project().await;
    let all = orders_bought(&app).await;
    // Eighteen months of its buyers' orders, month after month; most completed, a few
    // cancelled.
    let months: HashSet<i32> = all.iter().map(|b| b.placed / 100).collect();
    assert!(months.len() >= 16, "{months:?}");
    let first = chrono::NaiveDate::from_ymd_opt(
        months.iter().min().unwrap() / 100,
        (months.iter().min().unwrap() % 100) as u32,
        1,
    )
    .unwrap();
    assert!(
        first.checked_add_months(chrono::Months::new(19)).unwrap() > today()
            && first.checked_add_months(chrono::Months::new(17)).unwrap() <= today(),
        "the first orders were placed in {first}"
    );
    // A few were disputed: the platform settled the older ones, and last month's first still
    // waits in the admins' queue.
    let events = qudao::orders::entity::order_event::Entity::find()
        .all(&app.db)
        .await
        .unwrap();
    let settled = events
        .iter()
        .filter(|e| {
            e.from_status == Some(OrderStatus::Disputed) && e.to_status == OrderStatus::Completed
        })
        .count();
    assert!(settled >= 2, "{settled} disputes settled");
    let open = all
        .iter()
        .filter(|b| b.status == OrderStatus::Disputed)
        .count();
    assert!(open >= 1, "an open dispute");
    let admin = app.login("admin").await;
    let queue = app.get("/admin", Some(&admin)).await;
    assert!(
        queue.text.contains("href=\"/orders?status=disputed\""),
        "{}",
        queue.text
    );
    // The quarter before last is closed, its figures frozen.
    let closing = qudao::stats::domain::Period::containing(
        qudao::stats::domain::Granularity::Quarter,
        today(),
    )
    .prev()
    .prev();
    let report = app
        .get(
            &format!("/api/v1/stats/regions/510000/report?quarter={closing}&basis=completed"),
            Some(&admin),
        )
        .await;
    assert_eq!(report.status, StatusCode::OK, "{}", report.text);
    assert_eq!(report.body["closed"], true, "{}", report.text);
    assert!(report.body["total"]["sales_fen"].as_i64().unwrap() > 0);
    let completed = all
        .iter()
        .filter(|b| b.status == OrderStatus::Completed)
        .count();
    let cancelled = all
        .iter()
        .filter(|b| b.status == OrderStatus::Cancelled)
        .count();
    assert!(
        completed * 2 > all.len() && cancelled > 0,
        "{completed} {cancelled}"
    );
    // Now and then the goods arrived short and the buyer was refunded the difference.
    assert!(all.iter().any(|b| b.refund.is_some()));
    // The canteen's Monday potatoes came by its recurring order, and its rice by a season
    // contract, delivered month by month.
    let weekly = order::Entity::find()
        .filter(order::Column::Note.contains("定期订单"))
        .all(&app.db)
        .await
        .unwrap();
    assert!(weekly.len() >= 8, "{} recurring orders", weekly.len());
    let contracted = order::Entity::find()
        .filter(order::Column::ContractId.is_not_null())
        .all(&app.db)
        .await
        .unwrap();
    assert!(
        contracted.len() >= 3,
        "{} contract deliveries",
        contracted.len()
    );
    // The union asked for the harvest whose season comes next, and matching proposed it as
    // a season contract over a window inside that season, waiting for both sides.
    let union = app.login("union-dazhou").await;
    let requests = app.get("/api/v1/purchase-requests", Some(&union)).await;
    assert_eq!(requests.status, StatusCode::OK, "{}", requests.text);
    let request = requests.body.as_array().unwrap()[0]["id"].as_i64().unwrap();
    let one = app
        .get(
            &format!("/api/v1/purchase-requests/{request}"),
            Some(&union),
        )
        .await;
    let proposal = one.body["proposals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["kind"] == "contract")
        .unwrap_or_else(|| panic!("a contract proposal: {}", one.text));
    assert_eq!(proposal["status"], "pending");
    assert_eq!(proposal["window_end"], one.body["request"]["deliver_by"]);
    let start =
        chrono::NaiveDate::parse_from_str(proposal["window_start"].as_str().unwrap(), "%Y-%m-%d")
            .unwrap();
    assert!(start > today() && start.day() == 1, "{start}");
    let listing = app
        .listing_row(proposal["listing_id"].as_i64().unwrap())
        .await;
    let (first, last) = (listing.season_start.unwrap(), listing.season_end.unwrap());
    let month = start.month() as i32;
    assert_eq!(month, first, "the window opens with the listing's season");
    let now = today().month() as i32;
    let in_season = if first <= last {
        (first..=last).contains(&now)
    } else {
        now >= first || now <= last
    };
    assert!(!in_season, "its season has not begun");
    // The union's member bought for themselves, counted for the union.
    let member = qudao::accounts::entity::user::Entity::find()
        .filter(qudao::accounts::entity::user::Column::Username.eq("union-member"))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let own = order::Entity::find()
        .filter(order::Column::BuyerId.eq(member.id))
        .all(&app.db)
        .await
        .unwrap();
    assert!(!own.is_empty());
    assert!(
        own.iter()
            .all(|o| o.buyer_basis == Some(qudao::buyers::domain::BuyerBasis::Member))
    );
    // Each of the last four quarters: what the province's sellers sold as placed is what
    // the buyers bought, and what the orders say.
    let admin = app.login("admin").await;
    let assisted = assisted_counties(&app).await;
    let mut p = Period::containing(Granularity::Quarter, today());
    for _ in 0..4 {
        p = p.prev();
        let within: Vec<&Bought> = all
            .iter()
            .filter(|b| (p.start_day()..=p.end_day()).contains(&b.placed))
            .collect();
        let (mut want, _) = expected(&within, "unit", false, &assisted);
        assert!(!want.is_empty(), "{p}");
        // A refund for goods that arrived short is taken back on the day they arrived, which
        // may lie in the quarter after the order's.
        let days = p.start_day()..=p.end_day();
        for b in all.iter().filter(|b| b.status != OrderStatus::Cancelled) {
            let Some((refund, arrived)) = b.refund else {
                continue;
            };
            let key = b.unit.map_or("individuals".into(), |u| u.to_string());
            match (days.contains(&b.placed), days.contains(&arrived)) {
                (true, false) => want.entry(key).or_default().0 += refund,
                (false, true) => want.entry(key).or_default().0 -= refund,
                _ => {}
            }
        }
        want.retain(|_, (fen, orders)| *fen != 0 || *orders != 0);
        let sold = app
            .get(
                &format!("/api/v1/stats/regions/510000?period={p}&basis=placed"),
                Some(&admin),
            )
            .await;
        let bought = app
            .get(
                &format!("/api/v1/stats/regions/510000/buyers?period={p}&basis=placed"),
                Some(&admin),
            )
            .await;
        assert_eq!(shown(&bought.body), want, "{p}");
        assert_eq!(
            fen(&sold.body["figures"]["sales_fen"]),
            want.values().map(|v| v.0).sum::<i64>(),
            "{p}"
        );
    }
    // The units' progress this year shows their orders from assisted counties, to the fen.
    let year = today().year();
    let units = unit::Entity::find().all(&app.db).await.unwrap();
    let mut counted = 0;
    for u in &units {
        let done: i64 = all
            .iter()
            .filter(|b| b.unit == Some(u.id) && b.status != OrderStatus::Cancelled)
            .filter(|b| b.placed / 10_000 == year && assisted.contains(&b.seller_county))
            .map(|b| b.goods_fen)
            .sum();
        let r = app
            .get(
                &format!("/api/v1/units/{}/progress?year={year}", u.id),
                Some(&admin),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(fen(&r.body["unit"]["done_fen"]), done, "{}", u.name);
        counted += usize::from(done > 0);
    }
    assert!(counted >= 4, "{counted} units have progress");
}
