//! Officials' statistics end to end: facts from real orders, reconciliation at every level,
//! frozen quarters, exports read back, targets and scope.

mod access;
mod buyers;
mod dashboard;
mod exports;
mod figures;
mod filings;
mod prices;
mod projection;
mod warnings;

use std::collections::BTreeMap;

use chrono::Utc;
use qudao::stats::domain::local_date;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::StatusCode;
use serde_json::{Value, json};

use qudao::orders::domain::OrderStatus;
use qudao::orders::entity::{order, order_line};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use crate::helpers::TestApp;

/// The sheet of the XLSX workbook at `path`, read as `token`, as rows of cells.
pub(crate) async fn xlsx_rows(app: &TestApp, token: &str, path: &str) -> Vec<Vec<calamine::Data>> {
    let r = app
        .client
        .get(format!("{}{path}", app.address))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{path}");
    let bytes = r.bytes().await.unwrap().to_vec();
    let mut book: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
    let sheet = calamine::Reader::worksheet_range(&mut book, "成效统计").unwrap();
    sheet.rows().map(|r| r.to_vec()).collect()
}

/// A spreadsheet cell's whole number.
pub(crate) fn cell_i64(c: &calamine::Data) -> i64 {
    match c {
        calamine::Data::Float(f) => *f as i64,
        calamine::Data::Int(i) => *i,
        other => panic!("not a number: {other:?}"),
    }
}

pub(crate) fn today() -> chrono::NaiveDate {
    local_date(Utc::now())
}

pub(crate) fn milli_to_text(m: i64) -> String {
    format!("{}.{:03}", m / 1000, m % 1000)
}

pub(crate) fn parse_milli(s: &str) -> i64 {
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    let frac = format!("{frac:0<3}");
    whole.parse::<i64>().unwrap() * 1000 + frac[..3].parse::<i64>().unwrap()
}

/// The listings on sale, as the public sees them (the demo's fit on one page).
pub(crate) async fn public_listings(app: &TestApp) -> Vec<Value> {
    app.get("/api/v1/listings?per_page=100", None).await.body["items"]
        .as_array()
        .unwrap()
        .clone()
}

/// One to three random lines of `listings` (as the API lists them), each one to three times
/// its minimum order.
pub(crate) fn random_lines(rng: &mut StdRng, listings: &[Value]) -> Vec<Value> {
    (0..rng.gen_range(1..=3))
        .map(|_| {
            let l = &listings[rng.gen_range(0..listings.len())];
            let min = parse_milli(l["min_order"].as_str().unwrap()).max(1000);
            json!({"listing_id": l["id"], "quantity": milli_to_text(min * rng.gen_range(1..=3))})
        })
        .collect()
}

/// A random fate for an order, as [`TestApp::advance`] takes it: left as placed, confirmed,
/// cancelled by either side, completed (twice as likely), refunded, or delivered short and then
/// completed or refunded.
pub(crate) fn random_fate(rng: &mut StdRng) -> &'static str {
    const FATES: [&str; 9] = [
        "",
        "confirm",
        "cancel",
        "seller_cancel",
        "complete",
        "complete",
        "refund",
        "short",
        "short_refund",
    ];
    FATES[rng.gen_range(0..FATES.len())]
}

/// A random market: new buyers order random listings of every cooperative, and each order meets
/// a random fate. Returns the ids of the orders placed.
pub(crate) async fn random_market(app: &TestApp, seed: u64, orders: usize) -> Vec<i64> {
    let mut rng = StdRng::seed_from_u64(seed);
    let buyers = app.new_buyers(3).await;
    let listings = public_listings(app).await;
    let mut placed = Vec::new();
    for i in 0..orders {
        let buyer = &buyers[rng.gen_range(0..buyers.len())];
        let lines = random_lines(&mut rng, &listings);
        let r = app
            .checkout(buyer, &format!("market-{seed}-{i}"), json!(lines))
            .await;
        if r.status != StatusCode::CREATED {
            continue;
        }
        for o in r.body["orders"].as_array().unwrap() {
            let id = o["id"].as_i64().unwrap();
            app.advance(id, random_fate(&mut rng)).await;
            placed.push(id);
        }
    }
    // The statistics' projector books them all, as the server's would within moments.
    app.project().await;
    placed
}

pub(crate) fn fen(v: &Value) -> i64 {
    v.as_i64().unwrap_or_else(|| panic!("not a number: {v}"))
}

pub(crate) fn quantities(v: &Value) -> BTreeMap<String, i64> {
    v.as_object()
        .unwrap()
        .iter()
        .map(|(k, q)| (k.clone(), parse_milli(q.as_str().unwrap())))
        .filter(|(_, q)| *q != 0)
        .collect()
}

/// Places one order of `quantity` of a demo listing and returns its id and amount.
pub(crate) async fn order_of(
    app: &TestApp,
    buyer: &str,
    title: &str,
    quantity: &str,
    key: &str,
) -> (i64, i64) {
    let listings = public_listings(app).await;
    let l = listings
        .iter()
        .find(|l| l["title"] == title)
        .unwrap_or_else(|| panic!("{title}"));
    let r = app
        .checkout(
            buyer,
            key,
            json!([{"listing_id": l["id"], "quantity": quantity}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    (
        r.body["orders"][0]["id"].as_i64().unwrap(),
        r.body["orders"][0]["total_fen"].as_i64().unwrap(),
    )
}

/// Whether an order in `status` counts on the basis `completed` (else as placed): a refund
/// cancels its order.
pub(crate) fn counts(status: OrderStatus, completed: bool) -> bool {
    if completed {
        status == OrderStatus::Completed
    } else {
        status != OrderStatus::Cancelled
    }
}

/// What the order lines say, independently of the facts.
pub(crate) async fn ground_truth(app: &TestApp, completed: bool) -> (i64, i64) {
    let orders = order::Entity::find().all(&app.db).await.unwrap();
    let households = qudao::catalog::entity::household::Entity::find()
        .all(&app.db)
        .await
        .unwrap();
    let mut sales = 0;
    let mut household = 0;
    for o in orders {
        if !counts(o.status, completed) {
            continue;
        }
        let share: i64 = households
            .iter()
            .filter(|h| h.organization_id == o.organization_id && h.registered)
            .map(|h| h.benefit_share_bp as i64)
            .sum();
        for l in order_line::Entity::find()
            .filter(order_line::Column::OrderId.eq(o.id))
            .all(&app.db)
            .await
            .unwrap()
        {
            // A line delivered short counts what arrived; on the placed basis its households
            // give back their share of the shortfall, on the completed basis they are paid on
            // what arrived.
            let kept = l.amount_fen - l.short_fen;
            sales += kept;
            household += if completed {
                kept * share.min(10_000) / 10_000
            } else {
                let whole = l.amount_fen * share.min(10_000) / 10_000;
                whole - l.short_fen * whole / l.amount_fen.max(1)
            };
        }
    }
    (sales, household)
}
