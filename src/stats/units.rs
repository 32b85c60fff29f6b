//! What buyer units bought from 脱贫地区 and how far their yearly obligations are met.
//!
//! An order counts for the unit it was placed for (bought by the unit, or by a member for
//! themselves when the unit counts its members' purchases), in the year and quarter of the
//! day it was placed (Beijing time), when its seller is in a former poverty county or a
//! 乡村振兴重点帮扶县, and unless it was cancelled (a refund cancels the order: net of
//! cancellations and refunds). Amounts are the goods' totals, to the fen.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::Datelike;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use serde::Serialize;
use utoipa::ToSchema;

use super::domain::{Period, day_key};
use super::reports::Cell;
use crate::accounts::Actor;
use crate::buyers::campaigns::{self, CampaignView};
use crate::buyers::domain::{BuyerBasis, UnitKind, UnitRole, completion_bp};
use crate::buyers::entity::unit;
use crate::buyers::obligations::{self, ObligationView};
use crate::buyers::relations::{self, RelationView};
use crate::buyers::units;
use crate::catalog::entity::region;
use crate::error::{AppError, AppResult};
use crate::orders::domain::OrderStatus;
use crate::orders::entity::order;

/// What one unit bought in a period, by basis.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct Bought {
    /// Orders the unit placed in its own name.
    pub purchase_fen: i64,
    /// Its members' own purchases, as one total: no member is named.
    pub member_fen: i64,
    pub orders: i64,
}

impl Bought {
    /// Both together.
    pub fn total_fen(self) -> i64 {
        self.purchase_fen + self.member_fen
    }
}

/// An order as counting reads it: unit, basis, total, seller's region, when placed.
type OrderRow = (
    Option<i64>,
    Option<BuyerBasis>,
    i64,
    String,
    chrono::DateTime<chrono::Utc>,
);

/// What each of `units` bought in `period`, counted as the module says.
pub async fn bought(
    db: &impl ConnectionTrait,
    units: &[i64],
    period: Period,
) -> AppResult<HashMap<i64, Bought>> {
    let counties = super::buyers::assisted_counties(db).await?;
    // A day in Beijing may start the evening before in UTC: read a day either side, then
    // keep the orders whose Beijing date lies in the period.
    let (from, to) = (period.start_day(), period.end_day());
    let day = |d: i32| chrono::NaiveDate::from_ymd_opt(d / 10_000, (d / 100 % 100) as u32, 1);
    let start = day(from).ok_or(AppError::NotFound("period"))?;
    let start = start.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc() - chrono::Days::new(1);
    let end = start + chrono::Days::new(u64::from(period.months()) * 31 + 2);
    let rows: Vec<OrderRow> = order::Entity::find()
        .select_only()
        .column(order::Column::BuyerUnitId)
        .column(order::Column::BuyerBasis)
        .column(order::Column::GoodsFen)
        .column(order::Column::SellerRegionCode)
        .column(order::Column::PlacedAt)
        .filter(order::Column::BuyerUnitId.is_in(units.iter().copied()))
        .filter(order::Column::Status.ne(OrderStatus::Cancelled))
        .filter(order::Column::PlacedAt.gte(start))
        .filter(order::Column::PlacedAt.lt(end))
        .into_tuple()
        .all(db)
        .await?;
    let mut out: HashMap<i64, Bought> = HashMap::new();
    for (unit_id, basis, total, seller, placed) in rows {
        let key = day_key(crate::days::local_date(placed));
        let county = seller.get(..6).unwrap_or_default();
        let (Some(unit_id), true, true) = (
            unit_id,
            (from..=to).contains(&key),
            counties.contains(county),
        ) else {
            continue;
        };
        let b = out.entry(unit_id).or_default();
        match basis {
            Some(BuyerBasis::Member) => b.member_fen += total,
            _ => b.purchase_fen += total,
        }
        b.orders += 1;
    }
    Ok(out)
}

/// One unit's year: its obligation, what it bought, how far that goes.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProgressRow {
    pub unit_id: i64,
    pub name: String,
    pub kind: UnitKind,
    pub region_code: String,
    pub obligation: Option<ObligationView>,
    pub target_fen: Option<i64>,
    pub bought: Bought,
    pub done_fen: i64,
    /// Basis points of the target (10 000 = met); none without a target.
    pub completion_bp: Option<i64>,
}

/// A unit's progress in a year, with its subordinate units' and the sum of all.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Progress {
    pub year: i32,
    pub unit: ProgressRow,
    pub subordinates: Vec<ProgressRow>,
    /// The unit and every unit under it, to any depth.
    pub with_subordinates_fen: i64,
    /// Targets of the unit and every unit under it that declared one.
    pub with_subordinates_target_fen: i64,
    /// Orders the unit placed in its own name, for those who manage it.
    pub orders: Option<Vec<UnitOrder>>,
}

/// An order a unit placed, as its admins see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UnitOrder {
    pub id: i64,
    pub placed_at: chrono::DateTime<chrono::Utc>,
    pub seller_name: String,
    pub total_fen: i64,
    pub status: OrderStatus,
}

fn row(
    u: &unit::Model,
    ob: Option<&crate::buyers::entity::obligation::Model>,
    b: Bought,
) -> ProgressRow {
    let target = ob.map(|o| o.target_fen);
    ProgressRow {
        unit_id: u.id,
        name: u.name.clone(),
        kind: u.kind,
        region_code: u.region_code.clone(),
        obligation: ob.cloned().map(Into::into),
        target_fen: target,
        bought: b,
        done_fen: b.total_fen(),
        completion_bp: target.and_then(|t| completion_bp(b.total_fen(), t)),
    }
}

/// Every approved unit under `id`, to any depth (a unit never lists itself twice).
async fn descendants(db: &impl ConnectionTrait, id: i64) -> AppResult<Vec<unit::Model>> {
    let mut out: Vec<unit::Model> = Vec::new();
    let mut seen = HashSet::from([id]);
    let mut next = vec![id];
    while let Some(parent) = next.pop() {
        for s in units::subordinates(db, parent).await? {
            if seen.insert(s.id) {
                next.push(s.id);
                out.push(s);
            }
        }
    }
    Ok(out)
}

/// A unit's progress in `year`: for its people, admins, and the officials over its region.
/// Its own orders are listed for its admins; members' purchases only ever as a total.
pub async fn progress(
    db: &impl ConnectionTrait,
    actor: &Actor,
    unit_id: i64,
    year: i32,
) -> AppResult<Progress> {
    let u = units::visible(db, actor, unit_id).await?;
    let role = units::role_in(db, actor, unit_id).await?;
    if role.is_none() && !units::decides(actor, &u.region_code) {
        return Err(AppError::Forbidden(
            "a unit's progress is for its people and the officials over it".into(),
        ));
    }
    let below = descendants(db, unit_id).await?;
    let ids: Vec<i64> = std::iter::once(unit_id)
        .chain(below.iter().map(|b| b.id))
        .collect();
    let period = Period::Year(year);
    let got = bought(db, &ids, period).await?;
    let obs = obligations::of_units(db, &ids, year).await?;
    let of = |u: &unit::Model| {
        row(
            u,
            obs.get(&u.id),
            got.get(&u.id).copied().unwrap_or_default(),
        )
    };
    let direct: Vec<ProgressRow> = below
        .iter()
        .filter(|b| b.parent_id == Some(unit_id))
        .map(of)
        .collect();
    let manages = actor.is_admin() || role == Some(UnitRole::Admin);
    let orders = if manages {
        Some(own_orders(db, unit_id, year).await?)
    } else {
        None
    };
    Ok(Progress {
        year,
        unit: of(&u),
        subordinates: direct,
        with_subordinates_fen: ids
            .iter()
            .map(|id| got.get(id).copied().unwrap_or_default().total_fen())
            .sum(),
        with_subordinates_target_fen: obs.values().map(|o| o.target_fen).sum(),
        orders,
    })
}

async fn own_orders(
    db: &impl ConnectionTrait,
    unit_id: i64,
    year: i32,
) -> AppResult<Vec<UnitOrder>> {
    let rows = order::Entity::find()
        .filter(order::Column::BuyerUnitId.eq(unit_id))
        .filter(order::Column::BuyerBasis.eq(BuyerBasis::Purchase))
        .all(db)
        .await?;
    let mut out: Vec<UnitOrder> = rows
        .into_iter()
        .filter(|o| crate::days::local_date(o.placed_at).year() == year)
        .map(|o| UnitOrder {
            id: o.id,
            placed_at: o.placed_at,
            seller_name: o.seller_name,
            total_fen: o.total_fen,
            status: o.status,
        })
        .collect();
    out.sort_by_key(|o| std::cmp::Reverse(o.placed_at));
    Ok(out)
}

/// The units within a region, most complete first, for the officials over it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Ranking {
    pub region_code: String,
    pub year: i32,
    pub units: Vec<ProgressRow>,
}

/// Ranks the approved units within `region_code` by completion in `year` (units without a
/// declared obligation last, by what they bought).
pub async fn ranking(
    db: &impl ConnectionTrait,
    actor: &Actor,
    region_code: &str,
    year: i32,
) -> AppResult<Ranking> {
    let rows = ranked(db, actor, region_code, Period::Year(year)).await?;
    Ok(Ranking {
        region_code: region_code.to_string(),
        year,
        units: rows.into_iter().map(|(r, _)| r).collect(),
    })
}

/// The units within the region ranked for the year of `period`, each with what it bought
/// in `period` itself.
async fn ranked(
    db: &impl ConnectionTrait,
    actor: &Actor,
    region_code: &str,
    period: Period,
) -> AppResult<Vec<(ProgressRow, Bought)>> {
    if !(actor.is_admin() || actor.official_covers(region_code)) {
        return Err(AppError::Forbidden(
            "only the officials over a region see its units".into(),
        ));
    }
    let year = period.year();
    let list = units::within(db, region_code, true).await?;
    let ids: Vec<i64> = list.iter().map(|u| u.id).collect();
    let got = bought(db, &ids, Period::Year(year)).await?;
    let within = if period == Period::Year(year) {
        got.clone()
    } else {
        bought(db, &ids, period).await?
    };
    let obs = obligations::of_units(db, &ids, year).await?;
    let mut rows: Vec<(ProgressRow, Bought)> = list
        .iter()
        .map(|u| {
            (
                row(
                    u,
                    obs.get(&u.id),
                    got.get(&u.id).copied().unwrap_or_default(),
                ),
                within.get(&u.id).copied().unwrap_or_default(),
            )
        })
        .collect();
    rows.sort_by(|(a, _), (b, _)| {
        b.completion_bp
            .is_some()
            .cmp(&a.completion_bp.is_some())
            .then(b.completion_bp.cmp(&a.completion_bp))
            .then(b.done_fen.cmp(&a.done_fen))
            .then(a.unit_id.cmp(&b.unit_id))
    });
    Ok(rows)
}

/// The quarterly 完成情况表 of the units within a region: each unit's year target, what it
/// bought in the quarter and in the year to the quarter's end, and its completion.
pub async fn quarter_table(
    db: &impl ConnectionTrait,
    actor: &Actor,
    region_code: &str,
    quarter: Period,
) -> AppResult<Vec<Vec<Cell>>> {
    let Period::Quarter(year, q) = quarter else {
        return Err(AppError::field(
            "quarter",
            "invalid",
            "a quarter such as 2026Q3",
        ));
    };
    let rows = ranked(db, actor, region_code, quarter).await?;
    let ids: Vec<i64> = rows.iter().map(|(r, _)| r.unit_id).collect();
    // The year to the quarter's end: each quarter so far.
    let mut to_date: BTreeMap<i64, i64> = BTreeMap::new();
    for k in 1..=q {
        for (id, b) in bought(db, &ids, Period::Quarter(year, k)).await? {
            *to_date.entry(id).or_default() += b.total_fen();
        }
    }
    let names: HashMap<String, String> = region::Entity::find()
        .filter(region::Column::Code.is_in(rows.iter().map(|(r, _)| r.region_code.clone())))
        .all(db)
        .await?
        .into_iter()
        .map(|r| (r.code, r.name))
        .collect();
    let mut table = vec![
        [
            "排名 Rank",
            "单位 Unit",
            "类型 Kind",
            "地区 Region",
            "年度目标(分) Year target (fen)",
            "本季度采购(分) Bought in the quarter (fen)",
            "其中成员个人(分) Of which members' own (fen)",
            "年累计(分) Year to date (fen)",
            "完成率(万分比) Completion (bp)",
        ]
        .iter()
        .map(|h| Cell::Text((*h).to_string()))
        .collect::<Vec<_>>(),
    ];
    for (i, (r, in_quarter)) in rows.iter().enumerate() {
        let ytd = to_date.get(&r.unit_id).copied().unwrap_or_default();
        table.push(vec![
            Cell::Int(i as i64 + 1),
            Cell::Text(r.name.clone()),
            Cell::Text(r.kind.name_zh().to_string()),
            Cell::Text(names.get(&r.region_code).cloned().unwrap_or_default()),
            r.target_fen.map_or(Cell::Text(String::new()), Cell::Int),
            Cell::Int(in_quarter.total_fen()),
            Cell::Int(in_quarter.member_fen),
            Cell::Int(ytd),
            r.target_fen
                .and_then(|t| completion_bp(ytd, t))
                .map_or(Cell::Text(String::new()), Cell::Int),
        ]);
    }
    Ok(table)
}

/// What a helper bought from the county it helps in a period.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HelpFigures {
    pub relation: RelationView,
    /// What the statistics booked as placed within both the period and the relation's own,
    /// net of the cancellations and refunds booked there: the same facts as the sellers' side.
    pub bought_fen: i64,
    pub orders: i64,
}

/// Every help relation touching a region (helping a county in it, or with the helper in it),
/// with what the helper bought from the helped county in `period`: by the helping unit, or
/// for a region, by the units within it. For the officials over the region.
pub async fn help(
    db: &impl ConnectionTrait,
    actor: &Actor,
    region_code: &str,
    period: Period,
) -> AppResult<Vec<HelpFigures>> {
    if !(actor.is_admin() || actor.official_covers(region_code)) {
        return Err(AppError::Forbidden(
            "only the officials over a region see its help relations".into(),
        ));
    }
    let rows = relations::touching(db, region_code).await?;
    let shown = relations::views(db, rows.clone()).await?;
    let mut out = Vec::with_capacity(rows.len());
    for (r, view) in rows.iter().zip(shown) {
        let (bought_fen, orders) = super::buyers::helped(db, r, period).await?;
        out.push(HelpFigures {
            relation: view,
            bought_fen,
            orders,
        });
    }
    Ok(out)
}

/// A county's sales in a campaign.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CampaignCounty {
    pub county_code: String,
    pub county_name: String,
    pub sold_fen: i64,
    pub orders: i64,
}

/// A unit's pledge and what it bought in the campaign.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CampaignPledge {
    pub unit_id: i64,
    pub unit_name: String,
    pub pledged_fen: i64,
    pub bought_fen: i64,
}

/// A campaign and what was sold under it: public, in sums (no buyer is named but the units
/// that pledged).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CampaignReport {
    pub campaign: CampaignView,
    /// Orders placed under the campaign that stand (net of cancellations and refunds).
    pub total_fen: i64,
    pub orders: i64,
    /// Every county taking part, with what it sold.
    pub counties: Vec<CampaignCounty>,
    pub pledges: Vec<CampaignPledge>,
}

/// The report of a campaign, to the fen: the counties' sums add up to the total.
pub async fn campaign_report(db: &impl ConnectionTrait, id: i64) -> AppResult<CampaignReport> {
    let campaign = campaigns::view(db, id).await?;
    let rows: Vec<(i64, String, Option<i64>)> = order::Entity::find()
        .select_only()
        .column(order::Column::GoodsFen)
        .column(order::Column::SellerRegionCode)
        .column(order::Column::BuyerUnitId)
        .filter(order::Column::CampaignId.eq(id))
        .filter(order::Column::Status.ne(OrderStatus::Cancelled))
        .into_tuple()
        .all(db)
        .await?;
    let names: HashMap<String, String> = region::Entity::find()
        .filter(region::Column::Code.is_in(campaign.counties.clone()))
        .all(db)
        .await?
        .into_iter()
        .map(|r| (r.code, r.name))
        .collect();
    let mut counties: BTreeMap<String, CampaignCounty> = campaign
        .counties
        .iter()
        .map(|c| {
            let county = CampaignCounty {
                county_code: c.clone(),
                county_name: names.get(c).cloned().unwrap_or_default(),
                sold_fen: 0,
                orders: 0,
            };
            (c.clone(), county)
        })
        .collect();
    let mut by_unit: HashMap<i64, i64> = HashMap::new();
    let (mut total_fen, mut orders) = (0, 0);
    for (total, seller, unit) in rows {
        total_fen += total;
        orders += 1;
        let county = seller.get(..6).unwrap_or_default().to_string();
        let c = counties.entry(county.clone()).or_insert(CampaignCounty {
            county_code: county,
            county_name: String::new(),
            sold_fen: 0,
            orders: 0,
        });
        c.sold_fen += total;
        c.orders += 1;
        if let Some(u) = unit {
            *by_unit.entry(u).or_default() += total;
        }
    }
    let mut pledges = Vec::new();
    for p in campaigns::pledges(db, id).await? {
        let name = units::get(db, p.unit_id)
            .await
            .map(|u| u.name)
            .unwrap_or_default();
        pledges.push(CampaignPledge {
            unit_id: p.unit_id,
            unit_name: name,
            pledged_fen: p.amount_fen,
            bought_fen: by_unit.get(&p.unit_id).copied().unwrap_or_default(),
        });
    }
    Ok(CampaignReport {
        campaign,
        total_fen,
        orders,
        counties: counties.into_values().collect(),
        pledges,
    })
}
