//! 行情: the weekly price quartiles equal an independent SQL computation over random markets,
//! planted outliers are flagged for admins only, the listing form shows what its category sold
//! for, and every bad query gets a clear 422 or 404.

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, TimeZone, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::StatusCode;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Statement, Value as Sql};
use serde_json::{Value, json};

use qudao::catalog::entity::listing;
use qudao::orders::domain::OrderStatus;
use qudao::orders::entity::order;

use crate::helpers::{Backend, TestApp, spawn_app};
use crate::on_both_databases;

use super::{fen, milli_to_text, parse_milli, public_listings};

on_both_databases!(
    weekly_price_quartiles_are_what_sql_computes_over_random_markets,
    listings_priced_far_from_their_comparables_are_flagged_for_admins,
    the_listing_form_shows_what_its_category_sold_for,
    bad_price_queries_are_refused_with_the_field_and_reason,
);

/// The instant a Beijing day begins.
fn beijing_midnight(day: NaiveDate) -> DateTime<Utc> {
    FixedOffset::east_opt(8 * 3600)
        .unwrap()
        .from_local_datetime(&day.and_hms_opt(0, 0, 0).unwrap())
        .unwrap()
        .with_timezone(&Utc)
}

fn sql(app: &TestApp, text: &str, values: Vec<Sql>) -> Statement {
    let backend = app.db.get_database_backend();
    let text = if backend == sea_orm::DatabaseBackend::Postgres {
        let mut n = 0;
        text.chars()
            .map(|c| {
                if c == '?' {
                    n += 1;
                    format!("${n}")
                } else {
                    c.to_string()
                }
            })
            .collect()
    } else {
        text.to_string()
    };
    Statement::from_sql_and_values(backend, text, values)
}

/// Count, min, q1, median, q3 and max per (category, unit slug) of the rows `inner` selects as
/// (category_id, unit, price), the quartiles at rank ⌈n·k/4⌉ found with window functions.
async fn quartiles_in_sql(
    app: &TestApp,
    inner: &str,
    values: Vec<Sql>,
) -> std::collections::BTreeMap<(i64, String), [i64; 6]> {
    let text = format!(
        "SELECT category_id, unit, MAX(n) AS n, MIN(price) AS lo, \
           MAX(CASE WHEN rn = (n + 3) / 4 THEN price END) AS q1, \
           MAX(CASE WHEN rn = (2 * n + 3) / 4 THEN price END) AS q2, \
           MAX(CASE WHEN rn = (3 * n + 3) / 4 THEN price END) AS q3, \
           MAX(price) AS hi \
         FROM (SELECT category_id, unit, price, \
                 ROW_NUMBER() OVER (PARTITION BY category_id, unit ORDER BY price) AS rn, \
                 COUNT(*) OVER (PARTITION BY category_id, unit) AS n \
               FROM ({inner}) s) t \
         GROUP BY category_id, unit"
    );
    let rows = app.db.query_all_raw(sql(app, &text, values)).await.unwrap();
    rows.into_iter()
        .map(|r| {
            let get = |c: &str| r.try_get::<i64>("", c).unwrap();
            (
                (get("category_id"), r.try_get::<String>("", "unit").unwrap()),
                [
                    get("n"),
                    get("lo"),
                    get("q1"),
                    get("q2"),
                    get("q3"),
                    get("hi"),
                ],
            )
        })
        .collect()
}

fn spread_of(v: &Value) -> [i64; 6] {
    [
        fen(&v["count"]),
        fen(&v["min_fen"]),
        fen(&v["q1_fen"]),
        fen(&v["median_fen"]),
        fen(&v["q3_fen"]),
        fen(&v["max_fen"]),
    ]
}

/// A market over four weeks: every listing's price changes before each round of orders, and
/// each completed order is moved back by zero to three weeks.
async fn priced_market(app: &TestApp, seed: u64) -> usize {
    let mut rng = StdRng::seed_from_u64(seed);
    let buyers = app.new_buyers(3).await;
    let listings = public_listings(app).await;
    let mut completed = 0;
    for round in 0..4 {
        for l in &listings {
            let id = l["id"].as_i64().unwrap();
            // A few prices repeat, so that ties are ranked too.
            let price: i64 = rng.gen_range(1..=12) * 50 + rng.gen_range(0..2);
            listing::Entity::update_many()
                .col_expr(listing::Column::PriceFen, Expr::value(price))
                .filter(listing::Column::Id.eq(id))
                .exec(&app.db)
                .await
                .unwrap();
        }
        for i in 0..8 {
            let buyer = &buyers[rng.gen_range(0..buyers.len())];
            let l = &listings[rng.gen_range(0..listings.len())];
            let min = parse_milli(l["min_order"].as_str().unwrap()).max(1000);
            let lines = json!([{"listing_id": l["id"], "quantity": milli_to_text(min)}]);
            let r = app
                .checkout(buyer, &format!("prices-{seed}-{round}-{i}"), lines)
                .await;
            if r.status != StatusCode::CREATED {
                continue;
            }
            for o in r.body["orders"].as_array().unwrap() {
                let id = o["id"].as_i64().unwrap();
                let fate = ["complete", "complete", "complete", "refund", "", "cancel"]
                    [rng.gen_range(0..6)];
                app.advance(id, fate).await;
                if fate == "complete" {
                    completed += 1;
                    let back = Duration::weeks(rng.gen_range(0..4));
                    let row = order::Entity::find_by_id(id)
                        .one(&app.db)
                        .await
                        .unwrap()
                        .unwrap();
                    order::Entity::update_many()
                        .col_expr(
                            order::Column::CompletedAt,
                            Expr::value(row.completed_at.unwrap() - back),
                        )
                        .filter(order::Column::Id.eq(id))
                        .exec(&app.db)
                        .await
                        .unwrap();
                }
            }
        }
    }
    completed
}

async fn weekly_price_quartiles_are_what_sql_computes_over_random_markets(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let completed = priced_market(&app, 2026).await;
    assert!(completed >= 8, "the market completed too few orders");
    let refunded = order::Entity::find()
        .filter(order::Column::Status.ne(OrderStatus::Completed))
        .all(&app.db)
        .await
        .unwrap();
    assert!(!refunded.is_empty(), "some orders were not completed");

    // The province, and each county the demo's cooperatives sell from.
    for region in ["510000", "511723", "513326"] {
        let r = app
            .get(&format!("/api/v1/prices?region={region}&weeks=5"), None)
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        let from = NaiveDate::parse_from_str(r.body["from"].as_str().unwrap(), "%Y-%m-%d").unwrap();
        let to = NaiveDate::parse_from_str(r.body["to"].as_str().unwrap(), "%Y-%m-%d").unwrap();
        assert_eq!((to - from).num_days(), 34, "five whole weeks");
        let prefix = match region {
            "510000" => "51",
            code => code,
        };
        let mut checked = 0;
        for w in 0..5 {
            let monday = from + Duration::weeks(w);
            let inner = "SELECT ol.category_id, ol.unit, ol.unit_price_fen AS price \
                 FROM order_lines ol JOIN orders o ON o.id = ol.order_id \
                 WHERE o.status = 'completed' AND o.payment_status <> 'refunded' \
                   AND o.completed_at >= ? AND o.completed_at < ? AND ol.seller_region_code LIKE ?";
            let want = quartiles_in_sql(
                &app,
                inner,
                vec![
                    beijing_midnight(monday).into(),
                    beijing_midnight(monday + Duration::weeks(1)).into(),
                    format!("{prefix}%").into(),
                ],
            )
            .await;
            let mut got = std::collections::BTreeMap::new();
            for s in r.body["series"].as_array().unwrap() {
                for week in s["sales"].as_array().unwrap() {
                    if week["week"] == monday.to_string() {
                        let key = (
                            s["category_id"].as_i64().unwrap(),
                            s["unit"].as_str().unwrap().to_string(),
                        );
                        got.insert(key, spread_of(week));
                    }
                }
            }
            assert_eq!(got, want, "{region}, week of {monday}");
            checked += want.len();
        }
        if region == "510000" {
            assert!(
                checked >= 4,
                "the province's weeks held too few sales: {checked}"
            );
        }
        // What is on offer now.
        let inner = "SELECT l.category_id, l.unit, l.price_fen AS price \
             FROM listings l JOIN organizations g ON g.id = l.organization_id \
             WHERE l.status = 'active' AND l.deleted_at IS NULL AND g.status = 'approved' \
               AND l.origin_region_code LIKE ?";
        let want = quartiles_in_sql(&app, inner, vec![format!("{prefix}%").into()]).await;
        let got: std::collections::BTreeMap<_, _> = r.body["series"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| !s["offers"].is_null())
            .map(|s| {
                (
                    (
                        s["category_id"].as_i64().unwrap(),
                        s["unit"].as_str().unwrap().to_string(),
                    ),
                    spread_of(&s["offers"]),
                )
            })
            .collect();
        assert_eq!(got, want, "offers in {region}");
        assert!(!want.is_empty(), "{region} has listings on offer");
    }

    // One category only: the same series as in the whole report.
    let all = app.get("/api/v1/prices?weeks=5", None).await;
    let rice = all.body["series"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["category_slug"] == "rice")
        .expect("rice is on offer")
        .clone();
    let only = app.get("/api/v1/prices?weeks=5&category=rice", None).await;
    assert_eq!(only.body["series"].as_array().unwrap(), &vec![rice]);

    // The public page shows the province's categories in both languages.
    let zh = app.get("/prices?weeks=5", None).await;
    assert_eq!(zh.status, StatusCode::OK);
    assert!(
        zh.text.contains("农产品行情") && zh.text.contains("大米"),
        "{}",
        zh.text
    );
    assert!(zh.text.contains("<svg"), "a trend chart per category");
    let en = app
        .call_with(
            reqwest::Method::GET,
            "/prices?region=513326",
            None,
            None,
            &[("cookie", "qudao_lang=en")],
        )
        .await;
    assert!(en.text.contains("Market prices"), "{}", en.text);
}

async fn listings_priced_far_from_their_comparables_are_flagged_for_admins(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let mut normal = Vec::new();
    for (i, price) in [500, 520, 540, 560, 580].into_iter().enumerate() {
        let r = app
            .panshi_lists_rice(&format!("盘石村新米 {i} 号"), price)
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        normal.push(r.body["id"].as_i64().unwrap());
    }
    let high = app.panshi_lists_rice("盘石村贡米(礼盒)", 60_000).await.body["id"]
        .as_i64()
        .unwrap();
    let low = app.panshi_lists_rice("盘石村大米(清仓)", 9).await.body["id"]
        .as_i64()
        .unwrap();

    let admin = app.login("admin").await;
    let r = app.get("/api/v1/admin/price-outliers", Some(&admin)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let flagged = r.body.as_array().unwrap();
    let rice = app.category_id("rice").await;
    // The comparables, as the public listings show them: every rice listing sold by the 斤.
    let rice_prices: Vec<(i64, i64)> = app
        .get(
            &format!("/api/v1/listings?category_id={rice}&per_page=100"),
            None,
        )
        .await
        .body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["unit"] == "jin")
        .map(|l| (l["id"].as_i64().unwrap(), fen(&l["price_fen"])))
        .collect();
    assert!(rice_prices.len() >= 7, "{rice_prices:?}");
    let median_without = |id: i64| {
        let mut others: Vec<i64> = rice_prices
            .iter()
            .filter(|(l, _)| *l != id)
            .map(|(_, p)| *p)
            .collect();
        others.sort();
        others[others.len().div_ceil(2) - 1]
    };
    for (id, off) in [(high, "high"), (low, "low")] {
        let f = flagged
            .iter()
            .find(|f| f["listing_id"] == id)
            .unwrap_or_else(|| panic!("listing {id} is not flagged: {flagged:?}"));
        assert_eq!(f["off"], off);
        assert_eq!(fen(&f["median_fen"]), median_without(id));
        assert_eq!(fen(&f["comparables"]), rice_prices.len() as i64 - 1);
        let price = fen(&f["price_fen"]);
        assert!(price > 3 * median_without(id) || price * 3 < median_without(id));
    }
    for id in normal {
        assert!(
            flagged.iter().all(|f| f["listing_id"] != id),
            "listing {id} is priced like its comparables"
        );
    }
    // The admin page lists them; nobody else may read them.
    let page = app
        .call_with(reqwest::Method::GET, "/admin", Some(&admin), None, &[])
        .await;
    assert!(
        page.text.contains(&format!("outlier-{high}")),
        "{}",
        page.text
    );
    let buyer = app.login("buyer").await;
    let r = app.get("/api/v1/admin/price-outliers", Some(&buyer)).await;
    assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "forbidden"));
    let r = app.get("/api/v1/admin/price-outliers", None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    // Paused, the high one is no longer on offer and no longer flagged.
    let panshi = app.login("coop-panshi").await;
    let r = app
        .patch(
            &format!("/api/v1/listings/{high}"),
            Some(&panshi),
            json!({"status": "paused"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = app.get("/api/v1/admin/price-outliers", Some(&admin)).await;
    assert!(
        r.body
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["listing_id"] != high)
    );
}

async fn the_listing_form_shows_what_its_category_sold_for(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let rice = app.category_id("rice").await;
    let r = app
        .get(
            &format!("/api/v1/prices/hint?category={rice}&unit=jin"),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.body["sales"].is_null(), "nothing sold yet: {}", r.body);

    // Three sales of 盘石村's rice at three prices.
    let buyer = app.login("buyer").await;
    let title = "开江盘石村生态大米";
    let listing_id = app.get("/api/v1/listings?per_page=100", None).await.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["title"] == title)
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let mut sold = Vec::new();
    for (i, price) in [400_i64, 800, 600].into_iter().enumerate() {
        listing::Entity::update_many()
            .col_expr(listing::Column::PriceFen, Expr::value(price))
            .filter(listing::Column::Id.eq(listing_id))
            .exec(&app.db)
            .await
            .unwrap();
        let (id, _) = super::order_of(&app, &buyer, title, "100", &format!("hint-{i}")).await;
        app.advance(id, "complete").await;
        sold.push(id);
    }
    let hint = || async {
        app.get(
            &format!("/api/v1/prices/hint?category={rice}&unit=jin"),
            None,
        )
        .await
        .body["sales"]
            .clone()
    };
    let h = hint().await;
    assert_eq!((fen(&h["count"]), fen(&h["median_fen"])), (3, 600), "{h}");
    assert_eq!((fen(&h["min_fen"]), fen(&h["max_fen"])), (400, 800), "{h}");
    // A sale completed more than four weeks ago no longer counts.
    order::Entity::update_many()
        .col_expr(
            order::Column::CompletedAt,
            Expr::value(Utc::now() - Duration::weeks(6)),
        )
        .filter(order::Column::Id.eq(sold[1]))
        .exec(&app.db)
        .await
        .unwrap();
    let h = hint().await;
    assert_eq!((fen(&h["count"]), fen(&h["median_fen"])), (2, 400), "{h}");

    // The producer editing the listing sees it beside the price.
    let panshi = app.login("coop-panshi").await;
    let page = app
        .call_with(
            reqwest::Method::GET,
            &format!("/producer/listings/{listing_id}"),
            Some(&panshi),
            None,
            &[],
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    let hint_text = page
        .text
        .split("id=\"price-hint\">")
        .nth(1)
        .and_then(|rest| rest.split("</small>").next())
        .unwrap_or_else(|| panic!("no price hint: {}", page.text));
    assert!(
        hint_text.contains("¥4.00") && hint_text.contains("斤") && hint_text.contains('2'),
        "{hint_text}"
    );
}

async fn bad_price_queries_are_refused_with_the_field_and_reason(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    for (query, field, code) in [
        ("weeks=0", "weeks", "out_of_range"),
        ("weeks=105", "weeks", "out_of_range"),
        ("weeks=many", "weeks", ""),
        ("region=abc", "region", "invalid_format"),
        ("region=5100", "region", "invalid_format"),
        ("until=2026-13-01", "until", "invalid_format"),
        ("category=no-such-thing", "category", "unknown"),
    ] {
        let r = app.get(&format!("/api/v1/prices?{query}"), None).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{query}: {}",
            r.text
        );
        assert!(
            r.fields().contains(&field.to_string()),
            "{query}: {}",
            r.text
        );
        if !code.is_empty() {
            assert_eq!(
                r.body["error"]["fields"][field]["code"], code,
                "{query}: {}",
                r.text
            );
        }
    }
    let r = app.get("/api/v1/prices?colour=red", None).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    // A well-formed code of a division qudao does not know.
    let r = app.get("/api/v1/prices?region=659999", None).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::NOT_FOUND, "not_found"),
        "{}",
        r.text
    );
    let r = app
        .get("/api/v1/prices/hint?category=999999&unit=jin", None)
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(r.body["error"]["fields"]["category"]["code"], "unknown");
    let r = app
        .get("/api/v1/prices/hint?category=1&unit=bushel", None)
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(r.fields().contains(&"unit".to_string()));
    // The page answers a bad query with the same status, as a page.
    let r = app.get("/prices?weeks=0", None).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
}
