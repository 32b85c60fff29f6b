//! Roll-ups: the figures of one region over a span of months, whole or grouped by child region,
//! category or period, read from the month aggregates (see [`super::aggregates`]).

use std::collections::BTreeMap;

use sea_orm::{ConnectionTrait, DatabaseBackend, DbErr, Statement, Value};
use serde::Serialize;
use utoipa::ToSchema;

use super::aggregates;
use super::domain::{Basis, Granularity, Period, change_bp};
use crate::catalog::domain::{Quantity, RegionLevel};

/// The figures officials read for a region and period. Amounts are net of reversals; counts
/// (orders, buyers, organizations, households) count what was sold, not what was reversed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct Figures {
    /// Sales in fen.
    pub sales_fen: i64,
    /// The part of `sales_fen` booked here that corrects an earlier, closed quarter.
    pub adjustment_fen: i64,
    /// Quantity sold per unit code, as exact decimal strings.
    #[schema(value_type = BTreeMap<String, String>)]
    pub quantities: BTreeMap<String, Quantity>,
    pub orders: i64,
    pub buyers: i64,
    /// Producer organizations with sales.
    pub organizations: i64,
    /// Registered households with attributed income.
    pub households: i64,
    /// Income attributed to registered households, in fen.
    pub household_fen: i64,
}

/// Changes against the previous period, in basis points (absent when that figure was zero).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct Change {
    pub sales_fen: i64,
    pub sales_bp: Option<i64>,
    pub household_fen: i64,
    pub household_bp: Option<i64>,
    pub orders_bp: Option<i64>,
    pub households_bp: Option<i64>,
}

impl Change {
    /// From `previous` to `current`.
    pub fn between(current: &Figures, previous: &Figures) -> Change {
        Change {
            sales_fen: current.sales_fen - previous.sales_fen,
            sales_bp: change_bp(current.sales_fen, previous.sales_fen),
            household_fen: current.household_fen - previous.household_fen,
            household_bp: change_bp(current.household_fen, previous.household_fen),
            orders_bp: change_bp(current.orders, previous.orders),
            households_bp: change_bp(current.households, previous.households),
        }
    }
}

/// What a roll-up covers: one region over whole months.
#[derive(Debug, Clone)]
pub struct Scope {
    pub basis: Basis,
    pub level: RegionLevel,
    pub code: String,
    /// First and last month, `yyyymm`, both included.
    pub from_month: i32,
    pub to_month: i32,
}

impl Scope {
    /// `code` (of `level`) over one period.
    pub fn of(basis: Basis, level: RegionLevel, code: &str, period: Period) -> Scope {
        Scope::span(basis, level, code, period, period)
    }

    /// `code` (of `level`) from the start of `first` to the end of `last`.
    pub fn span(
        basis: Basis,
        level: RegionLevel,
        code: &str,
        first: Period,
        last: Period,
    ) -> Scope {
        Scope {
            basis,
            level,
            code: code.to_string(),
            from_month: first.start_month(),
            to_month: last.end_month(),
        }
    }
}

/// How a roll-up is split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    Total,
    Region(RegionLevel),
    Category,
    Period(Granularity),
}

/// The column holding the code of `level`, in the facts and in the aggregates.
pub fn level_column(level: RegionLevel) -> &'static str {
    match level {
        RegionLevel::Province => "province_code",
        RegionLevel::Prefecture => "prefecture_code",
        RegionLevel::County => "county_code",
        RegionLevel::Township => "township_code",
        RegionLevel::Village => "village_code",
    }
}

/// The key of a period of `g` (`yyyy`, `yyyy * 10 + q`, `yyyymm`) computed from a month
/// column (`yyyymm`).
fn period_key(g: Granularity, month: &str) -> String {
    match g {
        Granularity::Year => format!("{month} / 100"),
        Granularity::Month => month.to_string(),
        Granularity::Quarter => format!("({month} / 100) * 10 + ({month} % 100 - 1) / 3 + 1"),
    }
}

/// True if the scope's months are whole periods of `g`.
fn aligned(scope: &Scope, g: Granularity) -> bool {
    let (first, last) = (scope.from_month % 100, scope.to_month % 100);
    match g {
        Granularity::Month => true,
        Granularity::Quarter => first % 3 == 1 && last % 3 == 0,
        Granularity::Year => first == 1 && last == 12,
    }
}

/// Builds a statement, numbering `?` placeholders for PostgreSQL.
pub fn statement(backend: DatabaseBackend, sql: &str, values: Vec<Value>) -> Statement {
    let sql = if backend == DatabaseBackend::Postgres {
        let mut out = String::with_capacity(sql.len() + 8);
        let mut n = 0;
        for ch in sql.chars() {
            if ch == '?' {
                n += 1;
                out.push_str(&format!("${n}"));
            } else {
                out.push(ch);
            }
        }
        out
    } else {
        sql.to_string()
    };
    Statement::from_sql_and_values(backend, sql, values)
}

fn scope_values(scope: &Scope) -> Vec<Value> {
    vec![
        scope.basis.code().into(),
        scope.code.clone().into(),
        scope.from_month.into(),
        scope.to_month.into(),
    ]
}

/// At most this many regions per `IN (…)` list.
const REGIONS_PER_QUERY: usize = 500;

/// The figures of `scope`, split by `group` (one entry keyed `""` for [`Group::Total`]). Reads
/// the month aggregates only: one indexed range scan of the region's sums and one of its
/// members, whatever the number of order lines.
pub async fn aggregate(
    db: &impl ConnectionTrait,
    scope: &Scope,
    group: Group,
) -> Result<BTreeMap<String, Figures>, DbErr> {
    let mut out = summed(db, scope, group).await?;
    count_members(db, scope, group, &mut out).await?;
    if group == Group::Total {
        // A total is one row, also when nothing was sold.
        let total = out.into_values().next().unwrap_or_default();
        return Ok(BTreeMap::from([(String::new(), total)]));
    }
    Ok(out)
}

/// The month sums of `scope` by `group`: sales, adjustments, household income, quantities
/// and orders.
async fn summed(
    db: &impl ConnectionTrait,
    scope: &Scope,
    group: Group,
) -> Result<BTreeMap<String, Figures>, DbErr> {
    let backend = db.get_database_backend();
    let col = level_column(scope.level);
    let (key, orders, extra) = match group {
        Group::Total => ("''".to_string(), "orders", String::new()),
        Group::Region(l) => (
            level_column(l).to_string(),
            "orders",
            format!(" AND {} <> ''", level_column(l)),
        ),
        Group::Category => (
            "CAST(category_id AS TEXT)".into(),
            "category_orders",
            String::new(),
        ),
        Group::Period(g) => (
            format!("CAST({} AS TEXT)", period_key(g, "month")),
            "orders",
            String::new(),
        ),
    };
    let sql = format!(
        "SELECT {key} AS k, unit, CAST(SUM(sales_fen) AS BIGINT) AS sales, \
         CAST(SUM(adjustment_fen) AS BIGINT) AS adj, CAST(SUM(household_fen) AS BIGINT) AS hh, \
         CAST(SUM(quantity_milli) AS BIGINT) AS q, CAST(SUM({orders}) AS BIGINT) AS orders \
         FROM stats_month_sums WHERE kind = ? AND {col} = ? AND month BETWEEN ? AND ?{extra} \
         GROUP BY {}unit",
        if group == Group::Total {
            String::new()
        } else {
            format!("{key}, ")
        }
    );
    let mut out: BTreeMap<String, Figures> = BTreeMap::new();
    for row in db
        .query_all_raw(statement(backend, &sql, scope_values(scope)))
        .await?
    {
        let k: String = row.try_get("", "k")?;
        let f = out.entry(k).or_default();
        let sum = |c: &str| {
            row.try_get::<Option<i64>>("", c)
                .map(Option::unwrap_or_default)
        };
        f.sales_fen += sum("sales")?;
        f.adjustment_fen += sum("adj")?;
        f.household_fen += sum("hh")?;
        f.orders += sum("orders")?;
        f.quantities
            .insert(row.try_get("", "unit")?, Quantity::from_milli(sum("q")?));
    }
    Ok(out)
}

/// Adds the distinct buyers, organizations and households of each group to `out`.
async fn count_members(
    db: &impl ConnectionTrait,
    scope: &Scope,
    group: Group,
    out: &mut BTreeMap<String, Figures>,
) -> Result<(), DbErr> {
    let backend = db.get_database_backend();
    // Distinct buyers, organizations and households, from the members of the coarsest periods
    // that tile the span (one row per member and period), counted once per group.
    let grain = match group {
        Group::Period(g) if aligned(scope, g) => g,
        Group::Period(_) => Granularity::Month,
        _ => [Granularity::Year, Granularity::Quarter]
            .into_iter()
            .find(|g| aligned(scope, *g))
            .unwrap_or(Granularity::Month),
    };
    let span = [scope.from_month, scope.to_month]
        .map(|m| Value::from(aggregates::period_of_day(grain, m * 100 + 1)));
    let counts = |key: &str, filter: &str| {
        format!(
            "SELECT CAST(k AS TEXT) AS k, \
             CAST(SUM(CASE WHEN member_type = 'b' THEN 1 ELSE 0 END) AS BIGINT) AS buyers, \
             CAST(SUM(CASE WHEN member_type = 'o' THEN 1 ELSE 0 END) AS BIGINT) AS orgs, \
             CAST(SUM(CASE WHEN member_type = 'h' THEN 1 ELSE 0 END) AS BIGINT) AS households \
             FROM (SELECT DISTINCT {key} AS k, member_type, member_id FROM stats_period_members \
             WHERE kind = ? AND level = ? AND {filter} AND split = ? AND grain = ? \
             AND period BETWEEN ? AND ?) d GROUP BY k"
        )
    };
    let values = |level: RegionLevel, regions: &[String], split: i32| {
        let mut v: Vec<Value> = vec![scope.basis.code().into(), (level as i32).into()];
        v.extend(regions.iter().map(|c| Value::from(c.clone())));
        v.extend([split, aggregates::grain_code(grain)].map(Value::from));
        v.extend(span.clone());
        v
    };
    let queries: Vec<(String, Vec<Value>)> = match group {
        Group::Region(l) => {
            let children: Vec<String> = out.keys().cloned().collect();
            children
                .chunks(REGIONS_PER_QUERY)
                .map(|chunk| {
                    let filter = format!("region_code IN ({})", vec!["?"; chunk.len()].join(", "));
                    (counts("region_code", &filter), values(l, chunk, 0))
                })
                .collect()
        }
        _ => {
            let (key, split) = match group {
                Group::Category => ("category_id".to_string(), 1),
                Group::Period(g) if grain == g => ("period".into(), 0),
                Group::Period(g) => (period_key(g, "period"), 0),
                _ => ("0".into(), 0),
            };
            let own = std::slice::from_ref(&scope.code);
            vec![(
                counts(&key, "region_code = ?"),
                values(scope.level, own, split),
            )]
        }
    };
    for (sql, values) in queries {
        for row in db.query_all_raw(statement(backend, &sql, values)).await? {
            let k: String = if group == Group::Total {
                String::new()
            } else {
                row.try_get("", "k")?
            };
            let f = out.entry(k).or_default();
            f.buyers = row.try_get("", "buyers")?;
            f.organizations = row.try_get("", "orgs")?;
            f.households = row.try_get("", "households")?;
        }
    }
    Ok(())
}

/// The whole figures of `scope`.
pub async fn total(db: &impl ConnectionTrait, scope: &Scope) -> Result<Figures, DbErr> {
    Ok(aggregate(db, scope, Group::Total)
        .await?
        .into_values()
        .next()
        .unwrap_or_default())
}

/// One registered household's attributed income, by internal id only.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HouseholdIncome {
    pub household_id: i64,
    pub organization_id: i64,
    pub village_code: String,
    pub income_fen: i64,
}

/// The registered households that benefited in `scope`, with their income, largest first.
pub async fn households(
    db: &impl ConnectionTrait,
    scope: &Scope,
) -> Result<Vec<HouseholdIncome>, DbErr> {
    let col = level_column(scope.level);
    let sql = format!(
        "SELECT household_id, organization_id, MAX(village_code) AS village, CAST(SUM(amount_fen) AS BIGINT) AS fen \
         FROM stats_household_months WHERE kind = ? AND {col} = ? AND month BETWEEN ? AND ? \
         GROUP BY household_id, organization_id ORDER BY fen DESC, household_id"
    );
    let rows = db
        .query_all_raw(statement(
            db.get_database_backend(),
            &sql,
            scope_values(scope),
        ))
        .await?;
    rows.into_iter()
        .map(|row| {
            Ok(HouseholdIncome {
                household_id: row.try_get("", "household_id")?,
                organization_id: row.try_get("", "organization_id")?,
                village_code: row.try_get("", "village")?,
                income_fen: row.try_get::<Option<i64>>("", "fen")?.unwrap_or(0),
            })
        })
        .collect()
}
