//! What officials read of a region: its figures for a period against the previous one, with
//! a breakdown, and its trend; the roll-ups the API and the officials' pages share.

use std::collections::BTreeMap;

use chrono::Utc;
use sea_orm::{ConnectionTrait, EntityTrait};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::access::readable_region;
use super::domain::{Basis, Granularity, Period, local_date};
use super::reports::{self, ReportRow};
use super::rollup::{self, Change, Figures, Group, Scope};
use crate::accounts::Actor;
use crate::catalog::domain::RegionLevel;
use crate::catalog::entity::category;
use crate::error::{AppError, AppResult, Validator};

/// The period a query names (a year, quarter or month), or the current quarter when it names
/// none.
pub fn period_of(field: &str, raw: Option<&str>) -> AppResult<Period> {
    match raw {
        None => Ok(Period::containing(
            Granularity::Quarter,
            local_date(Utc::now()),
        )),
        Some(s) => Period::parse(s).ok_or_else(|| {
            AppError::field(
                field,
                "invalid_format",
                "a year (2026), quarter (2026Q3) or month (2026-07)",
            )
        }),
    }
}

/// How figures are split in a roll-up.
#[derive(Debug, Clone, Copy, Default, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum By {
    /// By child region (the default).
    #[default]
    Region,
    Category,
}

/// `?period=&basis=&by=`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RollupQuery {
    /// `2026`, `2026Q3` or `2026-07`; the current quarter by default.
    pub period: Option<String>,
    /// `completed` (default) or `placed`.
    pub basis: Option<Basis>,
    /// `region` (default) or `category`.
    pub by: Option<By>,
}

/// The region a roll-up is about.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RegionRef {
    pub code: String,
    pub name: String,
    pub name_en: String,
    pub level: RegionLevel,
}

/// A region's figures for a period, the previous period's, and a breakdown.
#[derive(Debug, Serialize, ToSchema)]
pub struct RollupView {
    pub region: RegionRef,
    #[schema(value_type = String)]
    pub period: Period,
    pub basis: Basis,
    /// True when the figures are the frozen ones of a closed quarter.
    pub closed: bool,
    pub figures: Figures,
    #[schema(value_type = String)]
    pub previous_period: Period,
    pub previous: Figures,
    pub change: Change,
    /// By child region (sales made at the region itself in a `direct` row) or by category.
    pub breakdown: Vec<ReportRow>,
}

/// Reads the roll-up a region's page shows.
pub async fn rollup_view(
    db: &impl ConnectionTrait,
    actor: &Actor,
    code: &str,
    q: &RollupQuery,
) -> AppResult<RollupView> {
    let (region, level) = readable_region(db, actor, code).await?;
    let period = period_of("period", q.period.as_deref())?;
    let basis = q.basis.unwrap_or(Basis::Completed);
    let (closed, mut breakdown, figures) =
        reports::breakdown(db, &region, level, period, basis).await?;
    if q.by == Some(By::Category) {
        let scope = Scope::of(basis, level, &region.code, period);
        let names: std::collections::HashMap<String, (String, String)> = category::Entity::find()
            .all(db)
            .await?
            .into_iter()
            .map(|c| (c.id.to_string(), (c.name_zh, c.name_en)))
            .collect();
        breakdown = rollup::aggregate(db, &scope, Group::Category)
            .await?
            .into_iter()
            .map(|(k, f)| {
                let (name, name_en) = names
                    .get(&k)
                    .cloned()
                    .unwrap_or_else(|| (k.clone(), k.clone()));
                ReportRow {
                    name,
                    name_en,
                    code: k,
                    direct: false,
                    figures: f,
                }
            })
            .collect();
    }
    let (_, _, previous) = reports::breakdown(db, &region, level, period.prev(), basis).await?;
    Ok(RollupView {
        change: Change::between(&figures, &previous),
        region: RegionRef {
            code: region.code,
            name: region.name,
            name_en: region.name_en,
            level,
        },
        period,
        previous_period: period.prev(),
        basis,
        closed,
        figures,
        previous,
        breakdown,
    })
}

/// `?granularity=&periods=&end=&basis=`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TrendQuery {
    /// `month`, `quarter` (default) or `year`.
    pub granularity: Option<Granularity>,
    /// How many periods, 1 to 60 (default 8).
    pub periods: Option<usize>,
    /// The last period, of the chosen granularity; the current one by default.
    pub end: Option<String>,
    pub basis: Option<Basis>,
}

/// One point of a trend.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TrendPoint {
    pub period: String,
    pub figures: Figures,
}

/// A region's figures period by period.
#[derive(Debug, Serialize, ToSchema)]
pub struct TrendView {
    pub region: RegionRef,
    pub granularity: Granularity,
    pub basis: Basis,
    pub points: Vec<TrendPoint>,
}

/// Reads a region's trend.
pub async fn trend_view(
    db: &impl ConnectionTrait,
    actor: &Actor,
    code: &str,
    q: &TrendQuery,
) -> AppResult<TrendView> {
    let (region, level) = readable_region(db, actor, code).await?;
    let g = q.granularity.unwrap_or(Granularity::Quarter);
    let mut v = Validator::default();
    let count = q.periods.unwrap_or(8);
    if !(1..=60).contains(&count) {
        v.add("periods", "out_of_range", "between 1 and 60");
    }
    let end = match q.end.as_deref() {
        None => Some(Period::containing(g, local_date(Utc::now()))),
        Some(s) => {
            let p = Period::parse(s).filter(|p| p.granularity() == g);
            if p.is_none() {
                v.add(
                    "end",
                    "invalid_format",
                    "a period of the chosen granularity",
                );
            }
            p
        }
    };
    v.finish()?;
    let periods = end.map(|e| e.trailing(count)).unwrap_or_default();
    let basis = q.basis.unwrap_or(Basis::Completed);
    let mut by = match (periods.first(), periods.last()) {
        (Some(first), Some(last)) => {
            let scope = Scope::span(basis, level, &region.code, *first, *last);
            rollup::aggregate(db, &scope, Group::Period(g)).await?
        }
        _ => BTreeMap::new(),
    };
    let key = |p: &Period| match *p {
        Period::Year(y) => y.to_string(),
        Period::Quarter(y, q) => (y * 10 + q as i32).to_string(),
        Period::Month(y, m) => (y * 100 + m as i32).to_string(),
    };
    Ok(TrendView {
        points: periods
            .iter()
            .map(|p| TrendPoint {
                period: p.to_string(),
                figures: by.remove(&key(p)).unwrap_or_default(),
            })
            .collect(),
        region: RegionRef {
            code: region.code,
            name: region.name,
            name_en: region.name_en,
            level,
        },
        granularity: g,
        basis,
    })
}

/// Household-level figures are personal: every reading of them, through the API or the
/// officials' pages, is on record.
pub async fn audit_households_view(
    db: &impl sea_orm::ConnectionTrait,
    actor: &Actor,
    scope: &Scope,
    households: usize,
) -> AppResult<()> {
    crate::audit::record(
        db,
        Some(actor.id()),
        "stats.households_view",
        "region",
        &scope.code,
        serde_json::json!({
            "from_month": scope.from_month,
            "to_month": scope.to_month,
            "basis": scope.basis,
            "households": households,
        }),
    )
    .await?;
    Ok(())
}
