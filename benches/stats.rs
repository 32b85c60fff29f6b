//! Officials' roll-ups over 1 000 000 generated order lines spread over five years, next to the
//! same aggregate computed by a plain SQL `GROUP BY` over the raw order lines in the same run.
//!
//! `cargo bench --bench stats` runs it on SQLite, and on PostgreSQL too when
//! `QUDAO_BENCH_POSTGRES_URL` (or `QUDAO_TEST_POSTGRES_URL`) names a server where it may create
//! a database. `QUDAO_BENCH_LINES` sets the number of lines (default 1 000 000),
//! `QUDAO_BENCH_ROUNDS` the repetitions of each query (default 50).

use std::time::{Duration, Instant};

use qudao::Settings;
use qudao::catalog::domain::RegionLevel;
use qudao::stats::aggregates;
use qudao::stats::domain::{Basis, Granularity, Period, RegionPath, child_level, split_income};
use qudao::stats::rollup::{self, Group, Scope};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement, TransactionTrait};

mod common;
use common::percentile;

/// A producer of the demo market with what it sells and its households' shares.
struct Seller {
    org: i64,
    region: String,
    listing: i64,
    category: i64,
    unit: String,
    price: i64,
    households: Vec<(i64, i32)>,
}

async fn rows(db: &DatabaseConnection, sql: &str) -> Vec<sea_orm::QueryResult> {
    db.query_all_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap()
}

async fn sellers(db: &DatabaseConnection) -> Vec<Seller> {
    let mut out = Vec::new();
    for r in rows(
        db,
        "SELECT o.id, o.region_code, MIN(l.id) AS listing FROM organizations o \
         JOIN listings l ON l.organization_id = o.id GROUP BY o.id, o.region_code ORDER BY o.id",
    )
    .await
    {
        let org: i64 = r.try_get("", "id").unwrap();
        let listing: i64 = r.try_get("", "listing").unwrap();
        let l = &rows(
            db,
            &format!("SELECT category_id, unit, price_fen FROM listings WHERE id = {listing}"),
        )
        .await[0];
        let households = rows(
            db,
            &format!(
                "SELECT id, benefit_share_bp FROM households WHERE organization_id = {org} \
                 AND registered = TRUE ORDER BY id"
            ),
        )
        .await
        .iter()
        .map(|h| {
            (
                h.try_get("", "id").unwrap(),
                h.try_get("", "benefit_share_bp").unwrap(),
            )
        })
        .collect();
        out.push(Seller {
            org,
            region: r.try_get("", "region_code").unwrap(),
            listing,
            category: l.try_get("", "category_id").unwrap(),
            unit: l.try_get("", "unit").unwrap(),
            price: l.try_get("", "price_fen").unwrap(),
            households,
        });
    }
    out
}

/// Writes `lines` completed order lines (two per order) from 1000 buyers over five years,
/// with their facts and household parts, as the app would have recorded them (the month
/// aggregates are then built from the facts by `aggregates::rebuild`).
async fn generate(db: &DatabaseConnection, lines: usize) {
    let sellers = sellers(db).await;
    let buyer_base: i64 = rows(db, "SELECT MAX(id) AS m FROM users").await[0]
        .try_get("", "m")
        .unwrap();
    let mut users = String::from(
        "INSERT INTO users (id, username, password_hash, display_name, role, language, disabled, created_at) VALUES ",
    );
    for b in 1..=1000 {
        if b > 1 {
            users.push(',');
        }
        users.push_str(&format!(
            "({id}, 'bench-buyer-{b}', 'x', 'bench', 'buyer', 'zh', FALSE, '2021-01-01T00:00:00+00:00')",
            id = buyer_base + b
        ));
    }
    db.execute_unprepared(&users).await.unwrap();
    let mut rng = StdRng::seed_from_u64(2019);
    let start = chrono::NaiveDate::from_ymd_opt(2021, 12, 1).unwrap();
    let days = 5 * 365;
    let (mut orders, mut olines, mut facts, mut parts) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut fact_id = 0i64;
    let mut part_id = 0i64;
    let flush = |orders: &mut Vec<String>,
                 olines: &mut Vec<String>,
                 facts: &mut Vec<String>,
                 parts: &mut Vec<String>| {
        let sql = [
            (
                "INSERT INTO orders (id, checkout_id, buyer_id, organization_id, seller_name, seller_region_code, status, payment_status, total_fen, recipient_name, recipient_phone, address_region_code, address_line, note, stock_returned, version, placed_at, completed_at, updated_at) VALUES ",
                std::mem::take(orders),
            ),
            (
                "INSERT INTO order_lines (id, order_id, listing_id, category_id, title, unit, unit_price_fen, quantity_milli, amount_fen, seller_region_code) VALUES ",
                std::mem::take(olines),
            ),
            (
                "INSERT INTO stats_facts (id, order_line_id, order_id, kind, sign, organization_id, buyer_id, buyer_type, category_id, unit, quantity_milli, amount_fen, household_fen, region_code, province_code, prefecture_code, county_code, township_code, village_code, day, origin_quarter, recorded_at) VALUES ",
                std::mem::take(facts),
            ),
            (
                "INSERT INTO stats_household_income (id, fact_id, kind, sign, household_id, organization_id, province_code, prefecture_code, county_code, township_code, village_code, day, amount_fen) VALUES ",
                std::mem::take(parts),
            ),
        ];
        sql.into_iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(head, v)| format!("{head}{}", v.join(",")))
            .collect::<Vec<_>>()
    };
    for order in 1..=(lines as i64 / 2) {
        let s = &sellers[rng.gen_range(0..sellers.len())];
        let buyer = buyer_base + rng.gen_range(1..=1000);
        let date = start + chrono::Duration::days(rng.gen_range(0..days));
        let day = qudao::stats::domain::day_key(date);
        let quarter = qudao::stats::domain::quarter_of_day(day);
        let at = format!("{}T04:00:00+00:00", date.format("%Y-%m-%d"));
        let path = RegionPath::of(&s.region).unwrap();
        let mut total = 0;
        for k in 0..2 {
            let line = order * 2 - 1 + k;
            let q = rng.gen_range(1..=200) * 1000;
            let amount = s.price * q / 1000;
            total += amount;
            olines.push(format!(
                "({line}, {order}, {}, {}, 'bench', '{}', {}, {q}, {amount}, '{}')",
                s.listing, s.category, s.unit, s.price, s.region
            ));
            let shares: Vec<i32> = s.households.iter().map(|h| h.1).collect();
            let split = split_income(amount, &shares);
            fact_id += 1;
            facts.push(format!(
                "({fact_id}, {line}, {order}, 'completed', 1, {}, {buyer}, 'buyer', {}, '{}', {q}, {amount}, {}, '{}', '{}', '{}', '{}', '{}', '{}', {day}, {quarter}, '{at}')",
                s.org, s.category, s.unit, split.iter().sum::<i64>(), s.region,
                path.province, path.prefecture, path.county, path.township, path.village
            ));
            for ((h, _), fen) in s.households.iter().zip(split) {
                part_id += 1;
                parts.push(format!(
                    "({part_id}, {fact_id}, 'completed', 1, {h}, {}, '{}', '{}', '{}', '{}', '{}', {day}, {fen})",
                    s.org, path.province, path.prefecture, path.county, path.township, path.village
                ));
            }
        }
        orders.push(format!(
            "({order}, 'bench-{order}', {buyer}, {}, 'bench', '{}', 'completed', 'paid_offline', {total}, 'r', 'p', '510104', 'a', '', FALSE, 1, '{at}', '{at}', '{at}')",
            s.org, s.region
        ));
        if orders.len() == 500 {
            for sql in flush(&mut orders, &mut olines, &mut facts, &mut parts) {
                db.execute_unprepared(&sql).await.unwrap();
            }
        }
    }
    for sql in flush(&mut orders, &mut olines, &mut facts, &mut parts) {
        db.execute_unprepared(&sql).await.unwrap();
    }
}

async fn time<F, Fut>(rounds: usize, f: F) -> (Duration, Duration)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    f().await; // warm the cache
    let mut l = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let t = Instant::now();
        f().await;
        l.push(t.elapsed());
    }
    (percentile(&mut l, 0.5), percentile(&mut l, 0.99))
}

/// The plain aggregate over raw order lines, matching what the roll-up returns.
fn baseline_sql(
    pg: bool,
    code: &str,
    level: RegionLevel,
    group: Group,
    from: &str,
    to: &str,
) -> String {
    let region = match level {
        RegionLevel::Village => format!("l.seller_region_code = '{code}'"),
        l => format!("l.seller_region_code LIKE '{}%'", &code[..l.prefix_len()]),
    };
    let key = match (group, pg) {
        (Group::Category, _) => "CAST(l.category_id AS TEXT)".to_string(),
        (Group::Region(child), _) => {
            format!("SUBSTR(l.seller_region_code, 1, {})", child.prefix_len())
        }
        (_, true) => "CAST(EXTRACT(YEAR FROM o.completed_at) * 10 + EXTRACT(QUARTER FROM o.completed_at) AS TEXT)".to_string(),
        (_, false) => "strftime('%Y', o.completed_at) || ((CAST(strftime('%m', o.completed_at) AS INTEGER) + 2) / 3)".to_string(),
    };
    format!(
        "SELECT {key} AS k, SUM(l.amount_fen), SUM(l.quantity_milli), COUNT(DISTINCT l.order_id), \
         COUNT(DISTINCT o.buyer_id), COUNT(DISTINCT o.organization_id) \
         FROM order_lines l JOIN orders o ON o.id = l.order_id \
         WHERE o.status = 'completed' AND o.completed_at >= '{from}' AND o.completed_at < '{to}' \
         AND {region} GROUP BY {key}"
    )
}

async fn bench(name: &str, settings: Settings, lines: usize, rounds: usize) {
    let state = qudao::startup::prepare(settings).await.unwrap();
    let db = state.db.clone();
    let pg = db.get_database_backend() == sea_orm::DatabaseBackend::Postgres;
    let t = Instant::now();
    generate(&db, lines).await;
    let generated = t.elapsed();
    let t = Instant::now();
    let txn = db.begin().await.unwrap();
    aggregates::rebuild(&txn).await.unwrap();
    txn.commit().await.unwrap();
    let aggregated = t.elapsed();
    // What autovacuum does to freshly written tables on PostgreSQL (visibility map, statistics).
    db.execute_unprepared(if pg { "VACUUM ANALYZE" } else { "ANALYZE" })
        .await
        .unwrap();
    eprintln!(
        "{name}: generated {lines} lines in {generated:.1?}, built the month aggregates from \
         their facts in {aggregated:.1?}"
    );
    let quarter = Period::Quarter(2025, 3);
    let cases = [
        ("province", "510000", RegionLevel::Province),
        ("county", "511723", RegionLevel::County),
        ("village", "511723102210", RegionLevel::Village),
    ];
    println!("\n### {name}: {lines} order lines\n");
    println!("| roll-up | p50 | p99 | plain GROUP BY p50 | p99 | ratio (p50) |");
    println!("|---|---|---|---|---|---|");
    for (label, code, level) in cases {
        let mut groups = vec![
            ("2025Q3 by category", Group::Category, false),
            (
                "2021Q4–2026Q4 by quarter",
                Group::Period(Granularity::Quarter),
                true,
            ),
        ];
        if let Some(child) = child_level(level) {
            groups.push(("2025Q3 by child region", Group::Region(child), false));
        }
        for (what, group, five_years) in groups {
            let (scope, from, to) = if five_years {
                (
                    Scope::span(
                        Basis::Completed,
                        level,
                        code,
                        Period::Quarter(2021, 4),
                        Period::Quarter(2026, 4),
                    ),
                    "2021-10-01",
                    "2027-01-01",
                )
            } else {
                (
                    Scope::of(Basis::Completed, level, code, quarter),
                    "2025-07-01",
                    "2025-10-01",
                )
            };
            let (p50, p99) = time(rounds, || async {
                rollup::aggregate(&db, &scope, group).await.unwrap();
            })
            .await;
            let sql = baseline_sql(pg, code, level, group, from, to);
            let (b50, b99) = time(rounds.min(10), || async {
                rows(&db, &sql).await;
            })
            .await;
            println!(
                "| {label} {what} | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} ms | {:.1}× |",
                p50.as_secs_f64() * 1e3,
                p99.as_secs_f64() * 1e3,
                b50.as_secs_f64() * 1e3,
                b99.as_secs_f64() * 1e3,
                b50.as_secs_f64() / p50.as_secs_f64()
            );
        }
    }
}

#[tokio::main]
async fn main() {
    let lines: usize = std::env::var("QUDAO_BENCH_LINES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let rounds: usize = std::env::var("QUDAO_BENCH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(50);
    let dir = tempfile::tempdir().unwrap();
    let mut settings = Settings::embedded(dir.path());
    settings.demo = true;
    bench("SQLite", settings, lines, rounds).await;
    if let Some(pg) = common::BenchDatabase::create("qudao_bench_stats").await {
        let mut settings = Settings::embedded(dir.path());
        settings.database_url = pg.url.clone();
        settings.demo = true;
        bench("PostgreSQL", settings, lines, rounds).await;
        pg.drop().await;
    }
}
