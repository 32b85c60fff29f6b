//! Roll-ups: the figures of one region over a span of days, whole or grouped by child region,
//! category or period. Every roll-up is one indexed range scan of the region's facts.

use std::collections::BTreeMap;

use sea_orm::{ConnectionTrait, DatabaseBackend, DbErr, Statement, Value};
use serde::Serialize;
use utoipa::ToSchema;

use super::domain::{Basis, Granularity, change_bp};
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

/// What a roll-up covers.
#[derive(Debug, Clone)]
pub struct Scope {
    pub basis: Basis,
    pub level: RegionLevel,
    pub code: String,
    /// First and last day, `yyyymmdd`, both included.
    pub from_day: i32,
    pub to_day: i32,
}

/// How a roll-up is split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    Total,
    Region(RegionLevel),
    Category,
    Period(Granularity),
}

/// The fact column holding the code of `level`.
pub fn level_column(level: RegionLevel) -> &'static str {
    match level {
        RegionLevel::Province => "province_code",
        RegionLevel::Prefecture => "prefecture_code",
        RegionLevel::County => "county_code",
        RegionLevel::Township => "township_code",
        RegionLevel::Village => "village_code",
    }
}

fn group_key(group: Group) -> String {
    match group {
        Group::Total => "''".into(),
        Group::Region(l) => level_column(l).into(),
        Group::Category => "CAST(category_id AS TEXT)".into(),
        Group::Period(Granularity::Year) => "CAST(day / 10000 AS TEXT)".into(),
        Group::Period(Granularity::Month) => "CAST(day / 100 AS TEXT)".into(),
        Group::Period(Granularity::Quarter) => {
            "CAST((day / 10000) * 10 + ((day / 100) % 100 - 1) / 3 + 1 AS TEXT)".into()
        }
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
        scope.from_day.into(),
        scope.to_day.into(),
    ]
}

/// The figures of `scope`, split by `group` (one entry keyed `""` for [`Group::Total`]).
pub async fn aggregate(
    db: &impl ConnectionTrait,
    scope: &Scope,
    group: Group,
) -> Result<BTreeMap<String, Figures>, DbErr> {
    let backend = db.get_database_backend();
    let key = group_key(group);
    // PostgreSQL refuses a constant in GROUP BY; a total needs no grouping anyway.
    let (by, by_comma) = if group == Group::Total {
        (String::new(), String::new())
    } else {
        (format!(" GROUP BY {key}"), format!("{key}, "))
    };
    let col = level_column(scope.level);
    let filter = format!("kind = ? AND {col} = ? AND day BETWEEN ? AND ?");
    let booked_quarter = "((day / 10000) * 10 + ((day / 100) % 100 - 1) / 3 + 1)";
    let sql = format!(
        "SELECT {key} AS k, CAST(SUM(amount_fen) AS BIGINT) AS sales, CAST(SUM(household_fen) AS BIGINT) AS hh, \
         CAST(SUM(CASE WHEN origin_quarter < {booked_quarter} THEN amount_fen ELSE 0 END) AS BIGINT) AS adj, \
         COUNT(DISTINCT CASE WHEN sign > 0 THEN order_id END) AS orders, \
         COUNT(DISTINCT CASE WHEN sign > 0 THEN buyer_id END) AS buyers, \
         COUNT(DISTINCT CASE WHEN sign > 0 THEN organization_id END) AS orgs \
         FROM stats_facts WHERE {filter}{by}"
    );
    let mut out: BTreeMap<String, Figures> = BTreeMap::new();
    for row in db
        .query_all_raw(statement(backend, &sql, scope_values(scope)))
        .await?
    {
        let k: String = row.try_get("", "k")?;
        let f = out.entry(k).or_default();
        f.sales_fen = row.try_get::<Option<i64>>("", "sales")?.unwrap_or(0);
        f.household_fen = row.try_get::<Option<i64>>("", "hh")?.unwrap_or(0);
        f.adjustment_fen = row.try_get::<Option<i64>>("", "adj")?.unwrap_or(0);
        f.orders = row.try_get("", "orders")?;
        f.buyers = row.try_get("", "buyers")?;
        f.organizations = row.try_get("", "orgs")?;
    }
    let sql = format!(
        "SELECT {key} AS k, unit, CAST(SUM(quantity_milli) AS BIGINT) AS q FROM stats_facts \
         WHERE {filter} GROUP BY {by_comma}unit"
    );
    for row in db
        .query_all_raw(statement(backend, &sql, scope_values(scope)))
        .await?
    {
        let k: String = row.try_get("", "k")?;
        let unit: String = row.try_get("", "unit")?;
        let q: i64 = row.try_get::<Option<i64>>("", "q")?.unwrap_or(0);
        out.entry(k)
            .or_default()
            .quantities
            .insert(unit, Quantity::from_milli(q));
    }
    // Households benefit from a sale where it was made; a category split goes through the fact.
    let sql = if group == Group::Category {
        format!(
            "SELECT CAST(f.category_id AS TEXT) AS k, COUNT(DISTINCT h.household_id) AS n \
             FROM stats_household_income h JOIN stats_facts f ON f.id = h.fact_id \
             WHERE h.sign > 0 AND h.kind = ? AND h.{col} = ? AND h.day BETWEEN ? AND ? \
             GROUP BY f.category_id"
        )
    } else {
        format!(
            "SELECT {key} AS k, COUNT(DISTINCT household_id) AS n FROM stats_household_income \
             WHERE sign > 0 AND {filter}{by}"
        )
    };
    for row in db
        .query_all_raw(statement(backend, &sql, scope_values(scope)))
        .await?
    {
        let k: String = row.try_get("", "k")?;
        out.entry(k).or_default().households = row.try_get("", "n")?;
    }
    if group == Group::Total && out.is_empty() {
        out.insert(String::new(), Figures::default());
    }
    Ok(out)
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
         FROM stats_household_income WHERE kind = ? AND {col} = ? AND day BETWEEN ? AND ? \
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
