//! The buyer side of the statistics: who bought what the sellers sold.
//!
//! Every fact keeps its buyer (the unit the order counts for and why, the buyer's kind and
//! region, the campaign) and `stats_buyer_sums` adds facts up per day, seller region and buyer,
//! so what was bought and what was sold are read from the same facts: over any period and
//! region, the buyer-side rows of a region's sales add up to the region's sales.
//!
//! Two readings, both for the officials over the region named:
//! - `sales`: what the region's sellers sold, by who bought it (unit, kind, the buyer's
//!   province, prefecture or county). A county's officials see which units bought from the
//!   county, never what those units bought elsewhere.
//! - `purchases`: what the buyers within the region bought, from anywhere (by unit, kind or
//!   the county sold from): the helper region's view.
//!
//! People buying for themselves alone are one row, 个人买家, in every reading: no person is named.

use std::collections::{BTreeMap, HashMap, HashSet};

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect, Value};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::access::readable_region;
use super::domain::{Basis, Period, RegionPath, day_key};
use super::entity::fact;
use super::rollup::{level_column, statement};
use super::views::period_of;
use crate::accounts::Actor;
use crate::buyers::domain::{BuyerBasis, UnitKind};
use crate::buyers::entity::{relation, unit};
use crate::catalog::domain::RegionLevel;
use crate::catalog::entity::region;
use crate::error::AppResult;
use crate::orders::entity::order;

/// Who bought an order, as its facts record it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BoughtBy {
    /// The unit the order counts for, 0 for none.
    pub unit_id: i64,
    /// Why it counts for the unit; empty for none.
    pub basis: &'static str,
    pub kind: &'static str,
    /// The unit's region, or the delivery address's for a person buying for themselves.
    pub region_code: String,
    pub path: RegionPath,
    pub campaign_id: i64,
}

impl BoughtBy {
    /// The buyer of `o`, counting for `unit` when the order does.
    pub fn of(o: &order::Model, unit: Option<&unit::Model>) -> BoughtBy {
        let (unit_id, basis, kind, region_code) = match unit {
            Some(u) => (
                u.id,
                o.buyer_basis.unwrap_or(BuyerBasis::Purchase).code(),
                u.kind.code(),
                u.region_code.clone(),
            ),
            None => (
                0,
                "",
                UnitKind::Individual.code(),
                o.address_region_code.clone(),
            ),
        };
        BoughtBy {
            unit_id,
            basis,
            kind,
            path: RegionPath::of(&region_code).unwrap_or_default(),
            region_code,
            campaign_id: o.campaign_id.unwrap_or(0),
        }
    }
}

/// Fills in the buyer of facts written before buyers were recorded, from their orders.
/// Returns the number of orders whose facts were filled in.
pub async fn fill_missing(db: &impl ConnectionTrait) -> Result<usize, DbErr> {
    let ids: Vec<i64> = fact::Entity::find()
        .select_only()
        .column(fact::Column::OrderId)
        .filter(fact::Column::BuyerKind.eq(""))
        .distinct()
        .into_tuple()
        .all(db)
        .await?;
    for chunk in ids.chunks(500) {
        let orders = order::Entity::find()
            .filter(order::Column::Id.is_in(chunk.iter().copied()))
            .all(db)
            .await?;
        let units: HashMap<i64, unit::Model> = unit::Entity::find()
            .filter(unit::Column::Id.is_in(orders.iter().filter_map(|o| o.buyer_unit_id)))
            .all(db)
            .await?
            .into_iter()
            .map(|u| (u.id, u))
            .collect();
        for o in &orders {
            let b = BoughtBy::of(o, o.buyer_unit_id.and_then(|id| units.get(&id)));
            fact::Entity::update_many()
                .col_expr(fact::Column::BuyerUnitId, Expr::value(b.unit_id))
                .col_expr(fact::Column::BuyerBasis, Expr::value(b.basis))
                .col_expr(fact::Column::BuyerKind, Expr::value(b.kind))
                .col_expr(fact::Column::BuyerRegionCode, Expr::value(b.region_code))
                .col_expr(
                    fact::Column::BuyerProvinceCode,
                    Expr::value(b.path.province),
                )
                .col_expr(
                    fact::Column::BuyerPrefectureCode,
                    Expr::value(b.path.prefecture),
                )
                .col_expr(fact::Column::BuyerCountyCode, Expr::value(b.path.county))
                .col_expr(fact::Column::CampaignId, Expr::value(b.campaign_id))
                .filter(fact::Column::OrderId.eq(o.id))
                .exec(db)
                .await?;
        }
    }
    Ok(ids.len())
}

/// Which of a region's trades a buyer-side reading takes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// What the region's sellers sold (the default).
    #[default]
    Sales,
    /// What the buyers within the region bought.
    Purchases,
}

/// How a buyer-side reading is split.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BuyerBy {
    /// By buyer unit; people buying for themselves in one row (the default).
    #[default]
    Unit,
    /// By the buyer's kind.
    Kind,
    /// By the buyer's province, prefecture or county.
    Province,
    Prefecture,
    County,
    /// By the county the goods were sold from.
    SellerCounty,
}

impl BuyerBy {
    /// The column of `stats_buyer_sums` rows are grouped by.
    fn column(self) -> &'static str {
        match self {
            BuyerBy::Unit => "buyer_unit_id",
            BuyerBy::Kind => "buyer_kind",
            BuyerBy::Province => "buyer_province_code",
            BuyerBy::Prefecture => "buyer_prefecture_code",
            BuyerBy::County => "buyer_county_code",
            BuyerBy::SellerCounty => "seller_county_code",
        }
    }
}

/// `?period=&basis=&side=&by=`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct BuyerQuery {
    /// `2026`, `2026Q3` or `2026-07`; the current quarter by default.
    pub period: Option<String>,
    /// `completed` (default) or `placed`.
    pub basis: Option<Basis>,
    /// `sales` (default) or `purchases`.
    pub side: Option<Side>,
    /// `unit` (default), `kind`, `province`, `prefecture`, `county` or `seller_county`.
    pub by: Option<BuyerBy>,
}

/// One group of buyers and what it bought.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct BuyerRow {
    /// The unit's id, the kind's code or the region's code; `individuals` for people buying
    /// for themselves alone.
    pub key: String,
    pub name: String,
    pub name_en: String,
    pub sales_fen: i64,
    /// Orders that stand: those booked in the period less those cancelled or refunded there.
    pub orders: i64,
    /// Of which from former poverty counties and 乡村振兴重点帮扶县.
    pub assisted_fen: i64,
}

/// A region's trades by buyer, for a period.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BuyerRollup {
    pub region_code: String,
    pub region_name: String,
    pub region_name_en: String,
    #[schema(value_type = String)]
    pub period: Period,
    pub basis: Basis,
    pub side: Side,
    pub by: BuyerBy,
    pub sales_fen: i64,
    pub orders: i64,
    pub assisted_fen: i64,
    /// Largest first; they add up to the totals.
    pub rows: Vec<BuyerRow>,
}

/// The condition on the region columns of `prefix` (`seller_`, `buyer_`) picking the places
/// within `code` (at `level`): the path's column down to counties, the full code below.
fn within(prefix: &str, level: RegionLevel, code: &str) -> (String, Vec<Value>) {
    match level {
        RegionLevel::Township | RegionLevel::Village => {
            let keep = if level == RegionLevel::Township {
                9
            } else {
                12
            };
            (
                format!("{prefix}region_code LIKE ?"),
                vec![format!("{}%", &code[..keep.min(code.len())]).into()],
            )
        }
        _ => (
            format!("{prefix}{} = ?", level_column(level)),
            vec![code.to_string().into()],
        ),
    }
}

/// Sums of `stats_buyer_sums` over `[from, to]` (days) where `conditions` hold, by `group`
/// and the county sold from: `(group, seller county, fen, orders)`.
async fn sums(
    db: &impl ConnectionTrait,
    basis: Basis,
    (from, to): (i32, i32),
    group: &str,
    conditions: Vec<(String, Vec<Value>)>,
) -> Result<Vec<(String, String, i64, i64)>, DbErr> {
    let mut sql = format!(
        "SELECT CAST({group} AS TEXT) AS k, seller_county_code AS c, \
         CAST(SUM(sales_fen) AS BIGINT) AS fen, CAST(SUM(orders) AS BIGINT) AS n \
         FROM stats_buyer_sums WHERE kind = ? AND day >= ? AND day <= ?"
    );
    let mut values: Vec<Value> = vec![basis.code().into(), from.into(), to.into()];
    for (c, v) in conditions {
        sql.push_str(" AND ");
        sql.push_str(&c);
        values.extend(v);
    }
    sql.push_str(&format!(" GROUP BY {group}, seller_county_code"));
    let rows = db
        .query_all_raw(statement(db.get_database_backend(), &sql, values))
        .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get::<String>("", "k")?,
                r.try_get::<String>("", "c")?,
                r.try_get::<i64>("", "fen")?,
                r.try_get::<i64>("", "n")?,
            ))
        })
        .collect()
}

/// The counties whose products count as 消费帮扶: former poverty counties and
/// 乡村振兴重点帮扶县.
pub async fn assisted_counties(db: &impl ConnectionTrait) -> Result<HashSet<String>, DbErr> {
    use sea_orm::Condition;
    Ok(region::Entity::find()
        .select_only()
        .column(region::Column::Code)
        .filter(
            Condition::any()
                .add(region::Column::PovertyExit.is_not_null())
                .add(region::Column::AssistanceKey.is_not_null()),
        )
        .into_tuple::<String>()
        .all(db)
        .await?
        .into_iter()
        .collect())
}

/// A region's trades by buyer, for the officials over it.
pub async fn rollup(
    db: &impl ConnectionTrait,
    actor: &Actor,
    code: &str,
    q: &BuyerQuery,
) -> AppResult<BuyerRollup> {
    let (region, level) = readable_region(db, actor, code).await?;
    let period = period_of("period", q.period.as_deref())?;
    let basis = q.basis.unwrap_or(Basis::Completed);
    let side = q.side.unwrap_or_default();
    let by = q.by.unwrap_or_default();
    let prefix = match side {
        Side::Sales => "seller_",
        Side::Purchases => "buyer_",
    };
    // The buyer's region is kept down to the county; below, its full code is matched.
    let condition = within(prefix, level, &region.code);
    let found = sums(
        db,
        basis,
        (period.start_day(), period.end_day()),
        by.column(),
        vec![condition],
    )
    .await?;
    let assisted = assisted_counties(db).await?;
    let mut groups: BTreeMap<String, (i64, i64, i64)> = BTreeMap::new();
    for (key, county, fen, orders) in found {
        let g = groups.entry(key).or_default();
        g.0 += fen;
        g.1 += orders;
        if assisted.contains(&county) {
            g.2 += fen;
        }
    }
    let names = names_of(db, by, groups.keys()).await?;
    let mut rows: Vec<BuyerRow> = groups
        .into_iter()
        .map(|(key, (sales_fen, orders, assisted_fen))| {
            let (name, name_en) = names.get(&key).cloned().unwrap_or_default();
            BuyerRow {
                key: if by == BuyerBy::Unit && key == "0" {
                    "individuals".into()
                } else {
                    key
                },
                name,
                name_en,
                sales_fen,
                orders,
                assisted_fen,
            }
        })
        .collect();
    rows.sort_by(|a, b| b.sales_fen.cmp(&a.sales_fen).then(a.key.cmp(&b.key)));
    Ok(BuyerRollup {
        region_code: region.code,
        region_name: region.name,
        region_name_en: region.name_en,
        period,
        basis,
        side,
        by,
        sales_fen: rows.iter().map(|r| r.sales_fen).sum(),
        orders: rows.iter().map(|r| r.orders).sum(),
        assisted_fen: rows.iter().map(|r| r.assisted_fen).sum(),
        rows,
    })
}

/// The Chinese and English names of the groups a reading found.
async fn names_of<'a>(
    db: &impl ConnectionTrait,
    by: BuyerBy,
    keys: impl Iterator<Item = &'a String>,
) -> Result<HashMap<String, (String, String)>, DbErr> {
    let keys: Vec<String> = keys.cloned().collect();
    Ok(match by {
        BuyerBy::Unit => {
            let ids: Vec<i64> = keys.iter().filter_map(|k| k.parse().ok()).collect();
            let mut names: HashMap<String, (String, String)> = unit::Entity::find()
                .filter(unit::Column::Id.is_in(ids))
                .all(db)
                .await?
                .into_iter()
                .map(|u| (u.id.to_string(), (u.name.clone(), u.name)))
                .collect();
            names.insert(
                "0".into(),
                ("个人买家".into(), "people buying for themselves".into()),
            );
            names
        }
        BuyerBy::Kind => keys
            .iter()
            .filter_map(|k| {
                let kind = UnitKind::from_code(k)?;
                Some((k.clone(), (kind.name_zh().into(), kind.name_en().into())))
            })
            .collect(),
        _ => {
            let mut names: HashMap<String, (String, String)> = region::Entity::find()
                .filter(region::Column::Code.is_in(keys))
                .all(db)
                .await?
                .into_iter()
                .map(|r| (r.code, (r.name, r.name_en)))
                .collect();
            // Units of a province or prefecture have no place below it.
            names.insert(
                String::new(),
                ("上级直属".into(), "directly under a higher level".into()),
            );
            names
        }
    })
}

/// What a help relation's helper bought from the county it helps within `period` and the
/// relation's own period, net of cancellations and refunds: `(fen, orders)`, from the facts
/// as placed. A unit helps through its own orders; a region through its units'.
pub async fn helped(
    db: &impl ConnectionTrait,
    r: &relation::Model,
    period: Period,
) -> Result<(i64, i64), DbErr> {
    let first = period.start_day().max(day_key(r.starts_on));
    let last = r
        .ends_on
        .map_or(period.end_day(), |e| period.end_day().min(day_key(e)));
    if first > last {
        return Ok((0, 0));
    }
    let mut conditions = vec![(
        "seller_county_code = ?".to_string(),
        vec![Value::from(r.helped_county_code.clone())],
    )];
    match r.helper_unit_id {
        Some(id) => conditions.push(("buyer_unit_id = ?".into(), vec![id.into()])),
        None => {
            conditions.push(("buyer_unit_id <> 0".into(), Vec::new()));
            let level = crate::catalog::domain::region_level(&r.helper_region_code)
                .unwrap_or(RegionLevel::Province);
            conditions.push(within("buyer_", level, &r.helper_region_code));
        }
    }
    let found = sums(db, Basis::Placed, (first, last), "kind", conditions).await?;
    Ok(found
        .iter()
        .fold((0, 0), |(fen, n), (_, _, f, o)| (fen + f, n + o)))
}
