//! The pre-aggregated tables every roll-up reads, kept in the same transaction as the facts.
//!
//! Facts are the record; these tables are sums of them that a roll-up can read in a few
//! thousand rows whatever the number of order lines:
//!
//! - `stats_month_sums`: amounts, quantities and order counts per (basis, seller region,
//!   category, unit, month). An order is counted on its first line (for all categories) and on
//!   its first line of each category (for a split by category), so both counts add up.
//! - `stats_period_members`: the buyers, producer organizations and registered households that
//!   took part in a region's month, quarter and year (`grain`), at every level, for all
//!   categories (`split` 0) and per category (`split` 1): a distinct count over a period reads
//!   one row per member, and over any span of whole periods stays exact.
//! - `stats_household_months`: each household's attributed income per place of sale and month.
//!
//! [`add`] folds newly written facts in; [`rebuild`] recomputes everything from the facts with
//! set-based SQL, an independent second route to the same rows that the tests compare.

use std::collections::{BTreeMap, BTreeSet};

use sea_orm::{ConnectionTrait, DbErr, Value};

use super::domain::{Basis, Granularity, quarter_of_day};
use super::entity::fact;
use super::rollup::{level_column, statement};
use crate::catalog::domain::{RegionLevel, Unit};

/// Every level, highest first.
pub const LEVELS: [RegionLevel; 5] = [
    RegionLevel::Province,
    RegionLevel::Prefecture,
    RegionLevel::County,
    RegionLevel::Township,
    RegionLevel::Village,
];

/// The periods members are kept for, finest first.
pub const GRAINS: [Granularity; 3] = [Granularity::Month, Granularity::Quarter, Granularity::Year];

/// The stored code of a grain.
pub fn grain_code(g: Granularity) -> i32 {
    match g {
        Granularity::Month => 1,
        Granularity::Quarter => 2,
        Granularity::Year => 3,
    }
}

/// The key of the period of `g` holding `day` (`yyyymmdd`): `yyyymm`, `yyyy * 10 + q` or `yyyy`.
pub fn period_of_day(g: Granularity, day: i32) -> i32 {
    match g {
        Granularity::Month => day / 100,
        Granularity::Quarter => quarter_of_day(day),
        Granularity::Year => day / 10_000,
    }
}

/// [`period_of_day`] in SQL, over an integer `day` expression.
fn period_sql(g: Granularity, day: &str) -> String {
    match g {
        Granularity::Month => format!("{day} / 100"),
        Granularity::Quarter => format!("({day} / 10000) * 10 + ({day} / 100 % 100 - 1) / 3 + 1"),
        Granularity::Year => format!("{day} / 10000"),
    }
}

/// Member types in `stats_period_members`.
pub const BUYER: &str = "b";
pub const ORGANIZATION: &str = "o";
pub const HOUSEHOLD: &str = "h";

/// Parameters per statement, well under SQLite's and PostgreSQL's limits.
const MAX_PARAMS: usize = 8_000;

/// A fact just written, with the household parts (household id, signed fen) booked with it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub fact: fact::Model,
    pub parts: Vec<(i64, i64)>,
}

fn code_at(f: &fact::Model, level: RegionLevel) -> &str {
    match level {
        RegionLevel::Province => &f.province_code,
        RegionLevel::Prefecture => &f.prefecture_code,
        RegionLevel::County => &f.county_code,
        RegionLevel::Township => &f.township_code,
        RegionLevel::Village => &f.village_code,
    }
}

fn path_values(f: &fact::Model) -> Vec<Value> {
    LEVELS
        .iter()
        .map(|l| code_at(f, *l).to_string().into())
        .collect()
}

#[derive(Default)]
struct Sums {
    path: Vec<Value>,
    sales_fen: i64,
    adjustment_fen: i64,
    household_fen: i64,
    quantity_milli: i64,
    orders: i64,
    category_orders: i64,
}

type SumsKey = (Basis, String, i64, Unit, i32);
type MemberKey = (Basis, i16, String, i16, i32, i32, i64, &'static str, i64);
type HouseholdKey = (Basis, i64, String, i32);
/// (basis, day, seller region, buyer unit, basis of attribution, buyer kind, buyer region,
/// campaign).
type BuyerKey = (Basis, i32, String, i64, String, String, String, i64);

/// A row of `stats_buyer_sums` being folded: both regions' paths (province, prefecture,
/// county), the amount and the orders.
#[derive(Default)]
struct BuyerSums {
    path: Vec<Value>,
    sales_fen: i64,
    orders: i64,
}

fn buyer_key(f: &fact::Model) -> BuyerKey {
    (
        f.kind,
        f.day,
        f.region_code.clone(),
        f.buyer_unit_id,
        f.buyer_basis.clone(),
        f.buyer_kind.clone(),
        f.buyer_region_code.clone(),
        f.campaign_id,
    )
}

fn buyer_paths(f: &fact::Model) -> Vec<Value> {
    [
        &f.province_code,
        &f.prefecture_code,
        &f.county_code,
        &f.buyer_province_code,
        &f.buyer_prefecture_code,
        &f.buyer_county_code,
    ]
    .map(|c| Value::from(c.clone()))
    .to_vec()
}

/// Folds facts written in this transaction into the aggregates. All positive facts of an order
/// and basis must come in the same call (they are written together), so that the order is
/// counted once. Rows are written in key order, so concurrent writers lock in the same order.
pub async fn add(db: &impl ConnectionTrait, recorded: &[Recorded]) -> Result<(), DbErr> {
    let Folded {
        sums,
        members,
        households,
        buyers,
    } = Folded::of(recorded);
    write_sums(db, sums).await?;
    write_members(db, members).await?;
    write_households(db, households).await?;
    write_buyers(db, buyers).await
}

/// What a batch of facts adds to each aggregate, folded in memory before it is written.
struct Folded {
    sums: BTreeMap<SumsKey, Sums>,
    members: BTreeSet<MemberKey>,
    households: BTreeMap<HouseholdKey, (i64, Vec<Value>, i64)>,
    buyers: BTreeMap<BuyerKey, BuyerSums>,
}

impl Folded {
    fn of(recorded: &[Recorded]) -> Folded {
        let mut first_line: BTreeMap<(i64, Basis), i64> = BTreeMap::new();
        let mut first_of_category: BTreeMap<(i64, Basis, i64), i64> = BTreeMap::new();
        // A reversal reverses every line of its order: its first line is the order's. A
        // shortfall takes back part of a line and leaves the order standing.
        let mut first_any: BTreeMap<(i64, Basis), i64> = BTreeMap::new();
        for f in recorded.iter().map(|r| &r.fact).filter(|f| f.part == 0) {
            first_any
                .entry((f.order_id, f.kind))
                .and_modify(|l| *l = (*l).min(f.order_line_id))
                .or_insert(f.order_line_id);
        }
        for f in recorded.iter().map(|r| &r.fact).filter(|f| f.sign > 0) {
            let line = f.order_line_id;
            first_line
                .entry((f.order_id, f.kind))
                .and_modify(|l| *l = (*l).min(line))
                .or_insert(line);
            first_of_category
                .entry((f.order_id, f.kind, f.category_id))
                .and_modify(|l| *l = (*l).min(line))
                .or_insert(line);
        }
        let mut sums: BTreeMap<SumsKey, Sums> = BTreeMap::new();
        let mut members: BTreeSet<MemberKey> = BTreeSet::new();
        let mut households: BTreeMap<HouseholdKey, (i64, Vec<Value>, i64)> = BTreeMap::new();
        let mut buyers: BTreeMap<BuyerKey, BuyerSums> = BTreeMap::new();
        for Recorded { fact: f, parts } in recorded {
            let b = buyers.entry(buyer_key(f)).or_insert_with(|| BuyerSums {
                path: buyer_paths(f),
                ..Default::default()
            });
            b.sales_fen += f.amount_fen;
            // Orders that stand: a cancellation or refund takes its order off again.
            if f.part == 0 && first_any.get(&(f.order_id, f.kind)) == Some(&f.order_line_id) {
                b.orders += i64::from(f.sign);
            }
            let month = f.day / 100;
            let s = sums
                .entry((f.kind, f.region_code.clone(), f.category_id, f.unit, month))
                .or_insert_with(|| Sums {
                    path: path_values(f),
                    ..Default::default()
                });
            s.sales_fen += f.amount_fen;
            if f.origin_quarter < quarter_of_day(f.day) {
                s.adjustment_fen += f.amount_fen;
            }
            s.household_fen += f.household_fen;
            s.quantity_milli += f.quantity_milli;
            for (household, fen) in parts {
                households
                    .entry((f.kind, *household, f.region_code.clone(), month))
                    .or_insert_with(|| (f.organization_id, path_values(f), 0))
                    .2 += fen;
            }
            if f.sign <= 0 {
                continue;
            }
            let line = Some(&f.order_line_id);
            s.orders += i64::from(first_line.get(&(f.order_id, f.kind)) == line);
            s.category_orders +=
                i64::from(first_of_category.get(&(f.order_id, f.kind, f.category_id)) == line);
            let who = [(BUYER, f.buyer_id), (ORGANIZATION, f.organization_id)]
                .into_iter()
                .chain(parts.iter().map(|(h, _)| (HOUSEHOLD, *h)));
            for (member_type, id) in who {
                for level in LEVELS {
                    let code = code_at(f, level);
                    if code.is_empty() {
                        continue;
                    }
                    for (split, category) in [(0, 0), (1, f.category_id)] {
                        for g in GRAINS {
                            members.insert((
                                f.kind,
                                level as i16,
                                code.to_string(),
                                split,
                                grain_code(g),
                                period_of_day(g, f.day),
                                category,
                                member_type,
                                id,
                            ));
                        }
                    }
                }
            }
        }
        Folded {
            sums,
            members,
            households,
            buyers,
        }
    }
}

/// Adds month sums onto the stored ones.
async fn write_sums(db: &impl ConnectionTrait, sums: BTreeMap<SumsKey, Sums>) -> Result<(), DbErr> {
    let rows = sums
        .into_iter()
        .map(|((kind, region, category, unit, month), s)| {
            let mut row: Vec<Value> = vec![
                kind.into(),
                region.into(),
                category.into(),
                unit.into(),
                month.into(),
            ];
            row.extend(s.path);
            row.extend(
                [
                    s.sales_fen,
                    s.adjustment_fen,
                    s.household_fen,
                    s.quantity_milli,
                    s.orders,
                    s.category_orders,
                ]
                .map(Value::from),
            );
            row
        })
        .collect();
    let added = [
        "sales_fen",
        "adjustment_fen",
        "household_fen",
        "quantity_milli",
        "orders",
        "category_orders",
    ]
    .map(|c| format!("{c} = stats_month_sums.{c} + excluded.{c}"))
    .join(", ");
    insert_rows(
        db,
        "INSERT INTO stats_month_sums (kind, region_code, category_id, unit, month, province_code, \
         prefecture_code, county_code, township_code, village_code, sales_fen, adjustment_fen, \
         household_fen, quantity_milli, orders, category_orders)",
        &format!("ON CONFLICT (kind, region_code, category_id, unit, month) DO UPDATE SET {added}"),
        rows,
    )
    .await
}

/// Adds the period members not yet stored.
async fn write_members(
    db: &impl ConnectionTrait,
    members: BTreeSet<MemberKey>,
) -> Result<(), DbErr> {
    let rows = members
        .into_iter()
        .map(
            |(kind, level, code, split, grain, period, category, member_type, id)| {
                vec![
                    kind.into(),
                    i32::from(level).into(),
                    code.into(),
                    i32::from(split).into(),
                    grain.into(),
                    period.into(),
                    category.into(),
                    member_type.into(),
                    id.into(),
                ]
            },
        )
        .collect();
    insert_rows(
        db,
        "INSERT INTO stats_period_members (kind, level, region_code, split, grain, period, \
         category_id, member_type, member_id)",
        "ON CONFLICT (kind, level, region_code, split, grain, period, category_id, member_type, \
         member_id) DO NOTHING",
        rows,
    )
    .await
}

/// Adds households' month amounts onto the stored ones.
async fn write_households(
    db: &impl ConnectionTrait,
    households: BTreeMap<HouseholdKey, (i64, Vec<Value>, i64)>,
) -> Result<(), DbErr> {
    let rows = households
        .into_iter()
        .map(|((kind, household, region, month), (org, path, fen))| {
            let mut row: Vec<Value> = vec![
                kind.into(),
                household.into(),
                region.into(),
                month.into(),
                org.into(),
            ];
            row.extend(path);
            row.push(fen.into());
            row
        })
        .collect();
    insert_rows(
        db,
        "INSERT INTO stats_household_months (kind, household_id, region_code, month, \
         organization_id, province_code, prefecture_code, county_code, township_code, \
         village_code, amount_fen)",
        "ON CONFLICT (kind, household_id, region_code, month) DO UPDATE SET \
         amount_fen = stats_household_months.amount_fen + excluded.amount_fen",
        rows,
    )
    .await
}

/// The columns of `stats_buyer_sums` a row is written with, in order.
const BUYER_COLUMNS: &str = "kind, day, seller_region_code, buyer_unit_id, buyer_basis, \
     buyer_kind, buyer_region_code, campaign_id, seller_province_code, seller_prefecture_code, \
     seller_county_code, buyer_province_code, buyer_prefecture_code, buyer_county_code, \
     sales_fen, orders";

/// Adds buyer sums onto the stored ones.
async fn write_buyers(
    db: &impl ConnectionTrait,
    buyers: BTreeMap<BuyerKey, BuyerSums>,
) -> Result<(), DbErr> {
    let rows = buyers
        .into_iter()
        .map(
            |((kind, day, seller, unit, basis, buyer_kind, region, campaign), b)| {
                let mut row: Vec<Value> = vec![
                    kind.into(),
                    day.into(),
                    seller.into(),
                    unit.into(),
                    basis.into(),
                    buyer_kind.into(),
                    region.into(),
                    campaign.into(),
                ];
                row.extend(b.path);
                row.extend([b.sales_fen, b.orders].map(Value::from));
                row
            },
        )
        .collect();
    insert_rows(
        db,
        &format!("INSERT INTO stats_buyer_sums ({BUYER_COLUMNS})"),
        "ON CONFLICT (kind, day, seller_region_code, buyer_unit_id, buyer_basis, buyer_kind, \
         buyer_region_code, campaign_id) DO UPDATE SET \
         sales_fen = stats_buyer_sums.sales_fen + excluded.sales_fen, \
         orders = stats_buyer_sums.orders + excluded.orders",
        rows,
    )
    .await
}

/// Writes `rows` (all of one width) as multi-row `INSERT`s of bounded size.
async fn insert_rows(
    db: &impl ConnectionTrait,
    head: &str,
    tail: &str,
    rows: Vec<Vec<Value>>,
) -> Result<(), DbErr> {
    let Some(width) = rows.first().map(Vec::len) else {
        return Ok(());
    };
    let tuple = format!("({})", vec!["?"; width].join(", "));
    for chunk in rows.chunks((MAX_PARAMS / width).max(1)) {
        let sql = format!(
            "{head} VALUES {} {tail}",
            vec![tuple.as_str(); chunk.len()].join(", ")
        );
        let values = chunk.iter().flatten().cloned().collect();
        db.execute_raw(statement(db.get_database_backend(), &sql, values))
            .await?;
    }
    Ok(())
}

/// Recomputes every aggregate from the facts. Run it in a transaction.
pub async fn rebuild(db: &impl ConnectionTrait) -> Result<(), DbErr> {
    for table in [
        "stats_month_sums",
        "stats_period_members",
        "stats_household_months",
        "stats_buyer_sums",
    ] {
        db.execute_unprepared(&format!("DELETE FROM {table}"))
            .await?;
    }
    let booked_quarter = "((f.day / 10000) * 10 + ((f.day / 100) % 100 - 1) / 3 + 1)";
    let paths = LEVELS
        .map(|l| format!("MAX(f.{})", level_column(l)))
        .join(", ");
    db.execute_unprepared(&format!(
        "INSERT INTO stats_month_sums (kind, region_code, category_id, unit, month, province_code, \
         prefecture_code, county_code, township_code, village_code, sales_fen, adjustment_fen, \
         household_fen, quantity_milli, orders, category_orders) \
         SELECT f.kind, f.region_code, f.category_id, f.unit, f.day / 100, {paths}, \
         SUM(f.amount_fen), SUM(CASE WHEN f.origin_quarter < {booked_quarter} THEN f.amount_fen ELSE 0 END), \
         SUM(f.household_fen), SUM(f.quantity_milli), \
         SUM(CASE WHEN f.order_line_id = o.first_line THEN 1 ELSE 0 END), \
         SUM(CASE WHEN f.order_line_id = c.first_line THEN 1 ELSE 0 END) \
         FROM stats_facts f \
         LEFT JOIN (SELECT order_id, kind, MIN(order_line_id) AS first_line FROM stats_facts \
           WHERE sign > 0 GROUP BY order_id, kind) o \
           ON f.sign > 0 AND o.order_id = f.order_id AND o.kind = f.kind \
         LEFT JOIN (SELECT order_id, kind, category_id, MIN(order_line_id) AS first_line \
           FROM stats_facts WHERE sign > 0 GROUP BY order_id, kind, category_id) c \
           ON f.sign > 0 AND c.order_id = f.order_id AND c.kind = f.kind AND c.category_id = f.category_id \
         GROUP BY f.kind, f.region_code, f.category_id, f.unit, f.day / 100"
    ))
    .await?;
    for (level, g) in LEVELS.into_iter().flat_map(|l| GRAINS.map(|g| (l, g))) {
        let col = level_column(level);
        let n = level as i16;
        let (grain, period) = (grain_code(g), period_sql(g, "f.day"));
        for (split, category) in [(0, "0"), (1, "f.category_id")] {
            let head = "INSERT INTO stats_period_members (kind, level, region_code, split, grain, \
                        period, category_id, member_type, member_id)";
            let fields = format!("f.kind, {n}, f.{col}, {split}, {grain}, {period}, {category}");
            db.execute_unprepared(&format!(
                "{head} SELECT DISTINCT {fields}, '{BUYER}', f.buyer_id FROM stats_facts f \
                 WHERE f.sign > 0 AND f.{col} <> '' \
                 UNION SELECT DISTINCT {fields}, '{ORGANIZATION}', f.organization_id \
                 FROM stats_facts f WHERE f.sign > 0 AND f.{col} <> '' \
                 UNION SELECT DISTINCT {fields}, '{HOUSEHOLD}', h.household_id \
                 FROM stats_household_income h JOIN stats_facts f ON f.id = h.fact_id \
                 WHERE h.sign > 0 AND f.{col} <> ''"
            ))
            .await?;
        }
    }
    db.execute_unprepared(&format!(
        "INSERT INTO stats_household_months (kind, household_id, region_code, month, \
         organization_id, province_code, prefecture_code, county_code, township_code, \
         village_code, amount_fen) \
         SELECT f.kind, h.household_id, f.region_code, f.day / 100, MAX(h.organization_id), \
         {paths}, SUM(h.amount_fen) FROM stats_household_income h \
         JOIN stats_facts f ON f.id = h.fact_id \
         GROUP BY f.kind, h.household_id, f.region_code, f.day / 100"
    ))
    .await?;
    db.execute_unprepared(&format!(
        "INSERT INTO stats_buyer_sums ({BUYER_COLUMNS}) \
         SELECT f.kind, f.day, f.region_code, f.buyer_unit_id, f.buyer_basis, f.buyer_kind, \
         f.buyer_region_code, f.campaign_id, MAX(f.province_code), MAX(f.prefecture_code), \
         MAX(f.county_code), MAX(f.buyer_province_code), MAX(f.buyer_prefecture_code), \
         MAX(f.buyer_county_code), SUM(f.amount_fen), \
         SUM(CASE WHEN f.order_line_id = o.first_line AND f.part = 0 THEN f.sign ELSE 0 END) \
         FROM stats_facts f \
         LEFT JOIN (SELECT order_id, kind, MIN(order_line_id) AS first_line FROM stats_facts \
           WHERE part = 0 GROUP BY order_id, kind) o \
           ON o.order_id = f.order_id AND o.kind = f.kind \
         GROUP BY f.kind, f.day, f.region_code, f.buyer_unit_id, f.buyer_basis, f.buyer_kind, \
         f.buyer_region_code, f.campaign_id"
    ))
    .await?;
    Ok(())
}

/// Fills the aggregates from the facts when a database has facts but no aggregates yet (one
/// written before the aggregates existed), or facts without their buyer (written before buyers
/// were recorded), which are filled in from their orders first.
pub async fn rebuild_if_missing(db: &impl ConnectionTrait) -> Result<bool, DbErr> {
    let backend = db.get_database_backend();
    let has = |table: &str| format!("SELECT 1 AS x FROM {table} LIMIT 1");
    let facts = db
        .query_one_raw(statement(backend, &has("stats_facts"), vec![]))
        .await?
        .is_some();
    if !facts {
        return Ok(false);
    }
    let filled = super::buyers::fill_missing(db).await?;
    let mut complete = filled == 0;
    for table in ["stats_month_sums", "stats_buyer_sums"] {
        complete &= db
            .query_one_raw(statement(backend, &has(table), vec![]))
            .await?
            .is_some();
    }
    if complete {
        return Ok(false);
    }
    rebuild(db).await?;
    Ok(true)
}
