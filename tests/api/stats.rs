//! Officials' statistics end to end: facts from real orders, reconciliation at every level,
//! frozen quarters, exports read back, targets and scope.

use std::collections::BTreeMap;
use std::io::Cursor;

use chrono::{TimeZone, Utc};
use qudao::orders::domain::OrderStatus;
use qudao::orders::entity::{order, order_line};
use qudao::stats::domain::{Granularity, Period, local_date};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::{Method, StatusCode};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, TransactionTrait};
use serde_json::{Value, json};

use crate::helpers::{
    Backend, TestApp, form_of, hidden, send_sign_in, set_cookie_value, spawn_app,
};
use crate::on_both_databases;

on_both_databases!(
    every_level_adds_up_to_the_fen_over_random_markets,
    a_closed_quarter_never_changes_and_corrections_go_to_the_next,
    exports_open_and_match_the_screen,
    an_official_reads_only_their_own_region,
    officials_set_targets_and_see_progress,
    an_official_signs_in_on_the_page_and_reads_the_county,
    reading_household_figures_and_exporting_are_on_record_for_admins,
);

fn today() -> chrono::NaiveDate {
    local_date(Utc::now())
}

fn milli_to_text(m: i64) -> String {
    format!("{}.{:03}", m / 1000, m % 1000)
}

fn parse_milli(s: &str) -> i64 {
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    let frac = format!("{frac:0<3}");
    whole.parse::<i64>().unwrap() * 1000 + frac[..3].parse::<i64>().unwrap()
}

/// A random market: new buyers order random listings of every cooperative, and each order meets
/// a random fate. Returns the ids of the orders placed.
async fn random_market(app: &TestApp, seed: u64, orders: usize) -> Vec<i64> {
    let mut rng = StdRng::seed_from_u64(seed);
    let buyers = app.new_buyers(3).await;
    let listings = app.get("/api/v1/listings?per_page=100", None).await.body["items"]
        .as_array()
        .unwrap()
        .clone();
    let mut placed = Vec::new();
    for i in 0..orders {
        let buyer = &buyers[rng.gen_range(0..buyers.len())];
        let lines: Vec<Value> = (0..rng.gen_range(1..=3))
            .map(|_| {
                let l = &listings[rng.gen_range(0..listings.len())];
                let min = parse_milli(l["min_order"].as_str().unwrap()).max(1000);
                json!({"listing_id": l["id"], "quantity": milli_to_text(min * rng.gen_range(1..=3))})
            })
            .collect();
        let r = app
            .checkout(buyer, &format!("market-{seed}-{i}"), json!(lines))
            .await;
        if r.status != StatusCode::CREATED {
            continue;
        }
        for o in r.body["orders"].as_array().unwrap() {
            let id = o["id"].as_i64().unwrap();
            let fate = [
                "",
                "confirm",
                "cancel",
                "seller_cancel",
                "complete",
                "complete",
                "refund",
            ][rng.gen_range(0..7)];
            app.advance(id, fate).await;
            placed.push(id);
        }
    }
    placed
}

fn fen(v: &Value) -> i64 {
    v.as_i64().unwrap_or_else(|| panic!("not a number: {v}"))
}

fn quantities(v: &Value) -> BTreeMap<String, i64> {
    v.as_object()
        .unwrap()
        .iter()
        .map(|(k, q)| (k.clone(), parse_milli(q.as_str().unwrap())))
        .filter(|(_, q)| *q != 0)
        .collect()
}

/// Walks the tree from `code` down, checking that the children add up to their parent.
async fn check_tree(app: &TestApp, token: &str, code: &str, period: &str, basis: &str) -> usize {
    let mut checked = 0;
    let mut todo = vec![code.to_string()];
    while let Some(code) = todo.pop() {
        let r = app
            .get(
                &format!("/api/v1/stats/regions/{code}?period={period}&basis={basis}"),
                Some(token),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        let total = &r.body["figures"];
        let rows = r.body["breakdown"].as_array().unwrap();
        if r.body["region"]["level"] == "village" {
            continue;
        }
        let mut sales = 0;
        let mut household = 0;
        let mut qty: BTreeMap<String, i64> = BTreeMap::new();
        for row in rows {
            sales += fen(&row["figures"]["sales_fen"]);
            household += fen(&row["figures"]["household_fen"]);
            for (u, q) in quantities(&row["figures"]["quantities"]) {
                *qty.entry(u).or_default() += q;
            }
            if row["direct"] == false {
                todo.push(row["code"].as_str().unwrap().to_string());
            }
        }
        let what = format!("{code} {period} {basis}");
        assert_eq!(sales, fen(&total["sales_fen"]), "sales of {what}");
        assert_eq!(
            household,
            fen(&total["household_fen"]),
            "household income of {what}"
        );
        qty.retain(|_, q| *q != 0);
        assert_eq!(
            qty,
            quantities(&total["quantities"]),
            "quantities of {what}"
        );
        checked += 1;
    }
    checked
}

/// What the order lines say about the counts, independently of the facts: orders, distinct
/// buyers and distinct producer organizations that placed (or completed) a sale.
async fn counted(app: &TestApp, completed: bool) -> (i64, i64, i64) {
    let orders: Vec<order::Model> = order::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .filter(|o| !completed || o.status == OrderStatus::Completed)
        .collect();
    let buyers: std::collections::BTreeSet<i64> = orders.iter().map(|o| o.buyer_id).collect();
    let orgs: std::collections::BTreeSet<i64> = orders.iter().map(|o| o.organization_id).collect();
    (orders.len() as i64, buyers.len() as i64, orgs.len() as i64)
}

/// What the order lines say, independently of the facts.
async fn ground_truth(app: &TestApp, completed: bool) -> (i64, i64) {
    let orders = order::Entity::find().all(&app.db).await.unwrap();
    let households = qudao::catalog::entity::household::Entity::find()
        .all(&app.db)
        .await
        .unwrap();
    let mut sales = 0;
    let mut household = 0;
    for o in orders {
        let counts = if completed {
            o.status == OrderStatus::Completed
        } else {
            o.status != OrderStatus::Cancelled
        };
        if !counts {
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
            sales += l.amount_fen;
            household += l.amount_fen * share.min(10_000) / 10_000;
        }
    }
    (sales, household)
}

async fn every_level_adds_up_to_the_fen_over_random_markets(backend: Backend) {
    for seed in [7, 2026] {
        let Some(app) = spawn_app(backend).await else {
            return;
        };
        let placed = random_market(&app, seed, 10).await;
        assert!(placed.len() >= 5, "the market placed too few orders");
        let admin = app.login("admin").await;
        let day = today();
        let periods = [
            Period::containing(Granularity::Month, day),
            Period::containing(Granularity::Quarter, day),
            Period::containing(Granularity::Year, day),
            Period::containing(Granularity::Quarter, day).prev(),
        ];
        for basis in ["completed", "placed"] {
            for p in periods {
                let checked = check_tree(&app, &admin, "510000", &p.to_string(), basis).await;
                assert!(checked >= 1);
            }
            let year = Period::containing(Granularity::Year, day).to_string();
            let r = app
                .get(
                    &format!("/api/v1/stats/regions/510000?period={year}&basis={basis}"),
                    Some(&admin),
                )
                .await;
            let (sales, household) = ground_truth(&app, basis == "completed").await;
            assert_eq!(
                fen(&r.body["figures"]["sales_fen"]),
                sales,
                "{basis} seed {seed}"
            );
            assert_eq!(
                fen(&r.body["figures"]["household_fen"]),
                household,
                "{basis} seed {seed}"
            );
            let (orders, buyers, orgs) = counted(&app, basis == "completed").await;
            let f = &r.body["figures"];
            assert_eq!(
                (
                    fen(&f["orders"]),
                    fen(&f["buyers"]),
                    fen(&f["organizations"])
                ),
                (orders, buyers, orgs),
                "orders, buyers and organizations, {basis} seed {seed}"
            );
        }
        // The aggregates kept order by order are exactly what recomputing them from the facts
        // gives.
        let kept = app.aggregate_rows().await;
        assert!(!kept.is_empty());
        let txn = app.db.begin().await.unwrap();
        qudao::stats::aggregates::rebuild(&txn).await.unwrap();
        txn.commit().await.unwrap();
        assert_eq!(kept, app.aggregate_rows().await, "seed {seed}");
        // Recording an order's change again never counts a line twice.
        let facts_before = qudao::stats::entity::fact::Entity::find()
            .count(&app.db)
            .await
            .unwrap();
        for id in &placed {
            let o = order::Entity::find_by_id(*id)
                .one(&app.db)
                .await
                .unwrap()
                .unwrap();
            qudao::stats::record_order_change(&app.db, &o)
                .await
                .unwrap();
        }
        let facts_after = qudao::stats::entity::fact::Entity::find()
            .count(&app.db)
            .await
            .unwrap();
        assert_eq!(facts_before, facts_after);
    }
}

/// Places one order of `quantity` of a demo listing and returns its id and amount.
async fn order_of(
    app: &TestApp,
    buyer: &str,
    title: &str,
    quantity: &str,
    key: &str,
) -> (i64, i64) {
    let listings = app.get("/api/v1/listings?per_page=100", None).await.body["items"]
        .as_array()
        .unwrap()
        .clone();
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

/// Makes everything recorded so far look as if it happened on the 15th of the previous quarter.
async fn move_to_previous_quarter(app: &TestApp) -> Period {
    let prev = Period::containing(Granularity::Quarter, today()).prev();
    let day = prev.start_day() + 14;
    let q = prev.quarter_key().unwrap();
    let db = &app.db;
    qudao::stats::entity::fact::Entity::update_many()
        .col_expr(qudao::stats::entity::fact::Column::Day, Expr::value(day))
        .col_expr(
            qudao::stats::entity::fact::Column::OriginQuarter,
            Expr::value(q),
        )
        .exec(db)
        .await
        .unwrap();
    qudao::stats::entity::household_income::Entity::update_many()
        .col_expr(
            qudao::stats::entity::household_income::Column::Day,
            Expr::value(day),
        )
        .exec(db)
        .await
        .unwrap();
    let at = Utc
        .with_ymd_and_hms(day / 10_000, (day / 100 % 100) as u32, 15, 4, 0, 0)
        .unwrap();
    order::Entity::update_many()
        .col_expr(order::Column::PlacedAt, Expr::value(at))
        .exec(db)
        .await
        .unwrap();
    let txn = db.begin().await.unwrap();
    qudao::stats::aggregates::rebuild(&txn).await.unwrap();
    txn.commit().await.unwrap();
    prev
}

async fn a_closed_quarter_never_changes_and_corrections_go_to_the_next(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let buyer = app.login("buyer").await;
    let (rice, _) = order_of(&app, &buyer, "开江盘石村生态大米", "100", "q1").await;
    let (apples, _) = order_of(&app, &buyer, "列瓦村高原红富士苹果", "50", "q2").await;
    let (late, late_fen) = order_of(&app, &buyer, "开江盘石村生态大米", "200", "q3").await;
    app.advance(rice, "complete").await;
    app.advance(apples, "complete").await;
    let prev = move_to_previous_quarter(&app).await;

    let admin = app.login("admin").await;
    let report = |basis: &'static str, code: &'static str, q: Period| {
        let app = &app;
        let admin = admin.clone();
        async move {
            let r = app
                .get(
                    &format!("/api/v1/stats/regions/{code}/report?quarter={q}&basis={basis}"),
                    Some(&admin),
                )
                .await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text);
            r.body
        }
    };
    let before_completed = report("completed", "510000", prev).await;
    let before_placed = report("placed", "510000", prev).await;
    let before_county = report("placed", "511723", prev).await;
    assert_eq!(before_placed["closed"], false);
    assert!(fen(&before_placed["total"]["sales_fen"]) > 0);

    // Only admins and province officials close quarters, and only quarters that have ended.
    let county = app.login("official-kaijiang").await;
    let province = app.login("official-sichuan").await;
    let r = app
        .post(
            "/api/v1/stats/quarters",
            Some(&county),
            json!({"quarter": prev.to_string()}),
        )
        .await;
    assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "forbidden"));
    let current = Period::containing(Granularity::Quarter, today());
    let r = app
        .post(
            "/api/v1/stats/quarters",
            Some(&province),
            json!({"quarter": current.to_string()}),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::CONFLICT, "quarter_not_ended")
    );
    let r = app
        .post(
            "/api/v1/stats/quarters",
            Some(&province),
            json!({"quarter": prev.to_string()}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let r = app
        .post(
            "/api/v1/stats/quarters",
            Some(&province),
            json!({"quarter": prev.to_string()}),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::CONFLICT, "quarter_closed")
    );

    // Later: the late order is cancelled, new orders complete.
    let r = app
        .call_with(
            Method::POST,
            &format!("/api/v1/orders/{late}/cancel"),
            Some(&buyer),
            None,
            &[("idempotency-key", "cancel-late")],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let (more, more_fen) = order_of(&app, &buyer, "开江盘石村生态大米", "300", "q4").await;
    app.advance(more, "complete").await;

    for (basis, code, before) in [
        ("completed", "510000", &before_completed),
        ("placed", "510000", &before_placed),
        ("placed", "511723", &before_county),
    ] {
        let after = report(basis, code, prev).await;
        assert_eq!(after["closed"], true);
        assert_eq!(after["rows"], before["rows"], "{basis} {code}");
        assert_eq!(after["total"], before["total"], "{basis} {code}");
        // The live roll-up of a closed quarter shows the frozen figures too.
        let live = app
            .get(
                &format!("/api/v1/stats/regions/{code}?period={prev}&basis={basis}"),
                Some(&admin),
            )
            .await;
        assert_eq!(live.body["figures"], before["total"]);
    }
    // The cancellation is an adjustment of the current quarter.
    let now = report("placed", "511723", current).await;
    assert_eq!(fen(&now["total"]["adjustment_fen"]), -late_fen);
    assert_eq!(fen(&now["total"]["sales_fen"]), more_fen - late_fen);
    let now = report("completed", "511723", current).await;
    assert_eq!(fen(&now["total"]["sales_fen"]), more_fen);
    assert_eq!(fen(&now["total"]["adjustment_fen"]), 0);
}

fn cell_i64(c: &calamine::Data) -> i64 {
    match c {
        calamine::Data::Float(f) => *f as i64,
        calamine::Data::Int(i) => *i,
        other => panic!("not a number: {other:?}"),
    }
}

async fn exports_open_and_match_the_screen(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    random_market(&app, 11, 8).await;
    let buyer = app.login("buyer").await;
    let (rice, _) = order_of(&app, &buyer, "开江盘石村生态大米", "100", "x1").await;
    app.advance(rice, "complete").await;
    let official = app.login("official-kaijiang").await;
    let quarter = Period::containing(Granularity::Quarter, today());
    let base = format!("/api/v1/stats/regions/511723/report?quarter={quarter}&basis=completed");
    let screen = app.get(&base, Some(&official)).await.body;
    let rows = screen["rows"].as_array().unwrap();
    assert!(!rows.is_empty());

    let xlsx = app
        .client
        .get(format!("{}{base}&format=xlsx", app.address))
        .bearer_auth(&official)
        .send()
        .await
        .unwrap();
    assert_eq!(xlsx.status(), StatusCode::OK);
    let bytes = xlsx.bytes().await.unwrap().to_vec();
    let mut book: calamine::Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(bytes)).unwrap();
    let sheet = calamine::Reader::worksheet_range(&mut book, "成效统计").unwrap();
    let table: Vec<Vec<calamine::Data>> = sheet.rows().map(|r| r.to_vec()).collect();
    assert_eq!(table[0][1], calamine::Data::String("地区".into()));
    assert_eq!(
        table.len(),
        rows.len() + 2,
        "headings, one row per child, the total"
    );
    for (row, on_screen) in table[1..].iter().zip(rows) {
        assert_eq!(
            row[0],
            calamine::Data::String(on_screen["code"].as_str().unwrap().into())
        );
        assert_eq!(cell_i64(&row[3]), fen(&on_screen["figures"]["sales_fen"]));
        assert_eq!(cell_i64(&row[5]), fen(&on_screen["figures"]["orders"]));
        assert_eq!(cell_i64(&row[8]), fen(&on_screen["figures"]["households"]));
        assert_eq!(
            cell_i64(&row[9]),
            fen(&on_screen["figures"]["household_fen"])
        );
    }
    let last = &table[table.len() - 1];
    assert_eq!(cell_i64(&last[3]), fen(&screen["total"]["sales_fen"]));

    let csv = app
        .get(&format!("{base}&format=csv"), Some(&official))
        .await;
    assert_eq!(csv.status, StatusCode::OK);
    let lines: Vec<&str> = csv.text.trim_start_matches('\u{feff}').lines().collect();
    assert_eq!(lines.len(), rows.len() + 2);
    let total: Vec<&str> = lines[lines.len() - 1].split(',').collect();
    assert_eq!(
        total[3].parse::<i64>().unwrap(),
        fen(&screen["total"]["sales_fen"])
    );

    // The ledger lists every fact of the county; its amounts add up to the figures.
    let ledger_path = format!(
        "/api/v1/stats/regions/511723/ledger?from={}&to={}",
        quarter_start(quarter),
        quarter_end(quarter)
    );
    let ledger = app.get(&ledger_path, Some(&official)).await;
    assert_eq!(ledger.status, StatusCode::OK, "{}", ledger.text);
    let entries = ledger.body.as_array().unwrap();
    let completed: i64 = entries
        .iter()
        .filter(|e| e["kind"] == "completed")
        .map(|e| fen(&e["amount_fen"]))
        .sum();
    assert_eq!(completed, fen(&screen["total"]["sales_fen"]));
    let csv = app
        .get(&format!("{ledger_path}&format=csv"), Some(&official))
        .await;
    assert_eq!(
        csv.text.trim_start_matches('\u{feff}').lines().count(),
        entries.len() + 1
    );
    let xlsx = app
        .client
        .get(format!("{}{ledger_path}&format=xlsx", app.address))
        .bearer_auth(&official)
        .send()
        .await
        .unwrap();
    let bytes = xlsx.bytes().await.unwrap().to_vec();
    let mut book: calamine::Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(bytes)).unwrap();
    let sheet = calamine::Reader::worksheet_range_at(&mut book, 0)
        .unwrap()
        .unwrap();
    assert_eq!(sheet.rows().count(), entries.len() + 1);

    // The page shows the same figures with server-drawn charts, and households by number only.
    let page = app
        .get(
            &format!("/officials/regions/511723?period={quarter}"),
            Some(&official),
        )
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text.contains("<svg"), "charts are inline SVG");
    assert!(
        !page.text.contains("<script"),
        "the page needs no JavaScript"
    );
    let total = fen(&screen["total"]["sales_fen"]);
    assert!(
        page.text
            .contains(&format!("¥{}.{:02}", total / 100, total % 100))
    );
    for h in qudao::catalog::entity::household::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
    {
        assert!(
            !page.text.contains(&h.head_name),
            "a household's name on the page"
        );
    }

    // Every export, and only exports, is in the audit log.
    let logged = qudao::audit::entity::Entity::find()
        .filter(qudao::audit::entity::Column::Action.starts_with("stats.export"))
        .count(&app.db)
        .await
        .unwrap();
    assert_eq!(logged, 4);
}

fn quarter_start(q: Period) -> String {
    let d = q.start_day();
    format!("{}-{:02}-{:02}", d / 10_000, d / 100 % 100, d % 100)
}

fn quarter_end(q: Period) -> String {
    let d = q.next().start_day();
    let date = chrono::NaiveDate::from_ymd_opt(d / 10_000, (d / 100 % 100) as u32, 1)
        .unwrap()
        .pred_opt()
        .unwrap();
    date.format("%Y-%m-%d").to_string()
}

async fn an_official_reads_only_their_own_region(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let official = app.login("official-kaijiang").await;
    let buyer = app.login("buyer").await;
    let producer = app.login("coop-panshi").await;
    let admin = app.login("admin").await;
    let paths = |code: &str| {
        vec![
            format!("/api/v1/stats/regions/{code}"),
            format!("/api/v1/stats/regions/{code}?by=category"),
            format!("/api/v1/stats/regions/{code}/trend?granularity=month"),
            format!("/api/v1/stats/regions/{code}/households"),
            format!("/api/v1/stats/regions/{code}/targets"),
            format!("/api/v1/stats/regions/{code}/report"),
            format!("/api/v1/stats/regions/{code}/report?format=csv"),
            format!("/api/v1/stats/regions/{code}/report?format=xlsx"),
            format!("/api/v1/stats/regions/{code}/ledger"),
            format!("/api/v1/stats/regions/{code}/ledger?format=csv"),
            format!("/api/v1/stats/regions/{code}/ledger?format=xlsx"),
            format!("/officials/regions/{code}"),
        ]
    };
    for code in ["513326", "510000", "511700", "513326100201", "511381"] {
        for path in paths(code) {
            let r = app.get(&path, Some(&official)).await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}: {}", r.text);
            if path.starts_with("/api/") {
                assert_eq!(r.code(), "forbidden", "{path}");
            }
        }
        let r = app
            .call(
                Method::PUT,
                &format!("/api/v1/stats/regions/{code}/targets"),
                Some(&official),
                Some(
                    json!({"year": 2026, "sales_fen": 1, "households": 1, "new_organizations": 1}),
                ),
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{code}");
    }
    for path in paths("511723").into_iter().chain(
        paths("511723104201")
            .into_iter()
            .filter(|p| !p.contains("ledger")),
    ) {
        let r = app.get(&path, Some(&official)).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text);
        for (who, token) in [("buyer", &buyer), ("producer", &producer)] {
            let r = app.get(&path, Some(token)).await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{path} as {who}");
        }
        let r = app.get(&path, None).await;
        assert!(
            matches!(r.status, StatusCode::UNAUTHORIZED | StatusCode::SEE_OTHER),
            "{path} anonymously: {}",
            r.status
        );
    }
    // Refused exports leave no trace in the audit log; the allowed ones do.
    let logged = qudao::audit::entity::Entity::find()
        .filter(qudao::audit::entity::Column::Action.starts_with("stats.export"))
        .all(&app.db)
        .await
        .unwrap();
    assert!(
        logged.iter().all(|a| a.target_id.starts_with("511723")),
        "{logged:?}"
    );
    assert_eq!(logged.len(), 4 + 2);
    for (code, ledger) in [("510000", 422), ("513326", 200)] {
        for path in paths(code) {
            let r = app.get(&path, Some(&admin)).await;
            let expected = if path.contains("ledger") { ledger } else { 200 };
            assert_eq!(r.status.as_u16(), expected, "{path} as admin: {}", r.text);
        }
    }
    let r = app.get("/api/v1/stats/regions/519999", Some(&admin)).await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "not_found"));
    let r = app
        .get(
            "/api/v1/stats/regions/511723?period=2026Q9",
            Some(&official),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.fields(), vec!["period".to_string()]);
}

async fn officials_set_targets_and_see_progress(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let official = app.login("official-kaijiang").await;
    let admin = app.login("admin").await;
    let year = Period::containing(Granularity::Year, today()).year();
    let path = "/api/v1/stats/regions/511723/targets";
    let goals =
        json!({"year": year, "sales_fen": 100_000_000, "households": 10, "new_organizations": 2});
    let r = app
        .call(Method::PUT, path, Some(&admin), Some(goals.clone()))
        .await;
    assert_eq!(
        r.status,
        StatusCode::FORBIDDEN,
        "targets are the officials' to set"
    );
    let r = app
        .call(
            Method::PUT,
            path,
            Some(&official),
            Some(json!({"year": year, "sales_fen": -1, "households": 1, "new_organizations": 1})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.fields(), vec!["sales_fen".to_string()]);
    let r = app
        .call(Method::PUT, path, Some(&official), Some(goals))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["targets"]["sales_fen"], 100_000_000);
    assert_eq!(r.body["sales_bp"], 0);

    let buyer = app.login("buyer").await;
    let (id, amount) = order_of(&app, &buyer, "开江盘石村生态大米", "100", "t1").await;
    app.advance(id, "complete").await;
    let r = app
        .get(&format!("{path}?year={year}"), Some(&official))
        .await;
    assert_eq!(fen(&r.body["actual"]["sales_fen"]), amount);
    assert_eq!(fen(&r.body["sales_bp"]), amount * 10_000 / 100_000_000);
    assert!(fen(&r.body["actual"]["households"]) > 0);
    // The province sees the county's targets, read-only.
    let province = app.login("official-sichuan").await;
    let r = app.get(path, Some(&province)).await;
    assert_eq!(r.body["targets"]["households"], 10);
}

async fn an_official_signs_in_on_the_page_and_reads_the_county(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let page = |path: &str, cookie: Option<String>| {
        let mut req = app.client.get(format!("{}{path}", app.address));
        if let Some(c) = cookie {
            req = req.header("cookie", c);
        }
        req.send()
    };
    let r = page("/officials/regions/511723", None).await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.text().await.unwrap().contains("/login?next=/officials"));

    let (form, html) = form_of(page("/login", None).await.unwrap()).await;
    assert!(
        html.contains("<label for=\"username\">用户名</label>"),
        "{html}"
    );

    // A form sent without the cookie it came with is refused, and nobody is signed in.
    let r = app
        .client
        .post(format!("{}/login", app.address))
        .form(&[
            ("form_token", form.0.as_str()),
            ("username", "official-kaijiang"),
            ("password", crate::helpers::PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(set_cookie_value(&r, "qudao_session").is_none());
    assert!(r.text().await.unwrap().contains("表单已过期"));

    // A missing password is shown beside its field, and the username is kept.
    let r = send_sign_in(&app, form, &[("username", "official-kaijiang")]).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let (form, html) = form_of(r).await;
    assert!(html.contains("id=\"password-error\""), "{html}");
    assert!(!html.contains("id=\"username-error\""));
    assert!(html.contains("value=\"official-kaijiang\""));

    // A wrong password says so without telling whether the account exists.
    let r = send_sign_in(
        &app,
        form,
        &[
            ("username", "official-kaijiang"),
            ("password", "not-the-password"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(set_cookie_value(&r, "qudao_session").is_none());
    let (form, html) = form_of(r).await;
    assert!(html.contains("用户名或密码不正确"));

    // Signing in goes where the official was heading, never to another site.
    let r = send_sign_in(
        &app,
        form,
        &[
            ("username", "official-kaijiang"),
            ("password", crate::helpers::PASSWORD),
            ("next", "//elsewhere.example/"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/officials");
    let session = set_cookie_value(&r, "qudao_session").expect("a session cookie");
    let cookie = format!("qudao_session={session}");
    let r = page("/officials", Some(cookie.clone())).await.unwrap();
    assert_eq!(r.headers()["location"], "/officials/regions/511723");
    let r = page("/officials/regions/511723", Some(cookie.clone()))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    assert!(html.contains("开江县"), "{html}");
    let csrf = hidden(&html, "csrf_token");

    // In English too.
    let r = page("/login", Some("qudao_lang=en".into())).await.unwrap();
    assert!(r.text().await.unwrap().contains(">Sign in</button>"));

    // Signing out needs the session's token, then ends the session.
    let sign_out = |token: String| {
        app.client
            .post(format!("{}/logout", app.address))
            .header("cookie", cookie.clone())
            .form(&[("csrf_token", token)])
            .send()
    };
    let r = sign_out("forged".into()).await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = page("/officials/regions/511723", Some(cookie.clone()))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = sign_out(csrf).await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = page("/officials/regions/511723", Some(cookie.clone()))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

async fn reading_household_figures_and_exporting_are_on_record_for_admins(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let official = app.login("official-kaijiang").await;
    let official_id = app.get("/api/v1/auth/me", Some(&official)).await.body["id"]
        .as_i64()
        .unwrap();
    let admin = app.login("admin").await;
    let before = app.get("/api/v1/admin/audit-log", Some(&admin)).await;
    assert_eq!(before.status, StatusCode::OK, "{}", before.text);
    let before = before.body["total"].as_u64().unwrap();

    // Figures without households leave no record; household figures, on the API or the page,
    // and exports do.
    assert_eq!(
        app.get("/api/v1/stats/regions/511723", Some(&official))
            .await
            .status,
        StatusCode::OK
    );
    let r = app
        .get("/api/v1/stats/regions/511723/households", Some(&official))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let page = app
        .client
        .get(format!("{}/officials/regions/511723", app.address))
        .bearer_auth(&official)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let r = app
        .get(
            "/api/v1/stats/regions/511723/report?format=csv",
            Some(&official),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    // Refused readings leave none.
    let r = app
        .get("/api/v1/stats/regions/513326/households", Some(&official))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    let log = app
        .get(
            &format!("/api/v1/admin/audit-log?actor_id={official_id}&per_page=100"),
            Some(&admin),
        )
        .await;
    assert_eq!(log.status, StatusCode::OK);
    let actions: Vec<&str> = log.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "stats.export_report",
            "stats.households_view",
            "stats.households_view"
        ],
        "newest first"
    );
    let all = app.get("/api/v1/admin/audit-log", Some(&admin)).await.body;
    assert_eq!(all["total"].as_u64().unwrap(), before + 3);
    let views = app
        .get(
            "/api/v1/admin/audit-log?action=stats.households_view",
            Some(&admin),
        )
        .await;
    let entry = &views.body["items"][0];
    assert_eq!(entry["actor_id"], official_id);
    assert_eq!(
        (entry["target_type"].as_str(), entry["target_id"].as_str()),
        (Some("region"), Some("511723"))
    );
    assert!(entry["detail"]["households"].is_u64(), "{entry}");

    // Only admins read it, and bad paging is refused by field.
    for token in [&official, &app.login("buyer").await] {
        let r = app.get("/api/v1/admin/audit-log", Some(token)).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
    }
    let r = app
        .get("/api/v1/admin/audit-log?per_page=1000", Some(&admin))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.fields(), ["per_page"]);
}
