//! Writing sales facts: the projector ([`super::projector`]) brings an order's facts up to
//! date with the order as stored, each booked on the day its change happened.
//!
//! Every order line becomes at most one `placed` fact, one `placed` reversal of its shortfall
//! (when it arrived short), one `placed` reversal of the rest (when the order is cancelled or
//! refunded) and one `completed` fact of what arrived; the unique key (line, kind, sign, part)
//! makes a second count impossible even if a change were recorded twice.

use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};

use super::aggregates::{self, Recorded};
use super::buyers::BoughtBy;
use super::domain::{
    Basis, RegionPath, booking_day, day_key, local_date, minus, quarter_of_day, split_income,
    split_like,
};
use super::entity::{fact, household_income, quarter_close};
use crate::accounts::entity::user;
use crate::buyers::entity::unit;
use crate::catalog::entity::household;
use crate::orders::domain::OrderStatus;
use crate::orders::entity::{order, order_event, order_line};

/// The last closed quarter (`yyyy * 10 + q`), if any.
pub async fn last_closed_quarter(db: &impl ConnectionTrait) -> Result<Option<i32>, sea_orm::DbErr> {
    quarter_close::Entity::find()
        .select_only()
        .column(quarter_close::Column::Quarter)
        .order_by_desc(quarter_close::Column::Quarter)
        .limit(1)
        .into_tuple::<i32>()
        .one(db)
        .await
}

/// Brings the facts of `orders` up to date with their status (placed lines are counted as
/// placed, completed orders as completed, cancelled orders reverse their placed facts) and
/// folds the new ones into the aggregates in one call, whose rows are written in key order, the
/// same order every transaction takes. Bringing an order up to date twice writes nothing the
/// second time. Returns the number of facts written.
pub async fn record_order_changes(
    db: &impl ConnectionTrait,
    orders: &[order::Model],
) -> Result<usize, sea_orm::DbErr> {
    let closed = last_closed_quarter(db).await?;
    let batch = Batch::read(db, orders).await?;
    let mut recorded = Vec::new();
    for o in orders {
        recorded.extend(new_facts(db, o, closed, &batch).await?);
    }
    aggregates::add(db, &recorded).await?;
    Ok(recorded.len())
}

/// What the facts of a batch of orders are written from, read with one statement per table.
struct Batch {
    existing: HashSet<FactKey>,
    /// Each order's lines, in id order.
    lines: HashMap<i64, Vec<order_line::Model>>,
    /// Each order's moves to `completed` or `cancelled`, in id order.
    reached: HashMap<i64, Vec<order_event::Model>>,
    buyer_types: HashMap<i64, &'static str>,
    /// The units the orders count for.
    units: HashMap<i64, unit::Model>,
    /// Each organization's registered households, in id order.
    households: HashMap<i64, Vec<household::Model>>,
}

impl Batch {
    async fn read(
        db: &impl ConnectionTrait,
        orders: &[order::Model],
    ) -> Result<Batch, sea_orm::DbErr> {
        let ids: BTreeSet<i64> = orders.iter().map(|o| o.id).collect();
        let buyers: BTreeSet<i64> = orders.iter().map(|o| o.buyer_id).collect();
        let orgs: BTreeSet<i64> = orders.iter().map(|o| o.organization_id).collect();
        let unit_ids: BTreeSet<i64> = orders.iter().filter_map(|o| o.buyer_unit_id).collect();
        let existing = fact::Entity::find()
            .filter(fact::Column::OrderId.is_in(ids.iter().copied()))
            .all(db)
            .await?
            .into_iter()
            .map(|f| (f.order_line_id, f.kind, f.sign, f.part))
            .collect();
        let mut lines: HashMap<i64, Vec<order_line::Model>> = HashMap::new();
        for l in order_line::Entity::find()
            .filter(order_line::Column::OrderId.is_in(ids.iter().copied()))
            .order_by_asc(order_line::Column::Id)
            .all(db)
            .await?
        {
            lines.entry(l.order_id).or_default().push(l);
        }
        let mut reached: HashMap<i64, Vec<order_event::Model>> = HashMap::new();
        for e in order_event::Entity::find()
            .filter(order_event::Column::OrderId.is_in(ids.iter().copied()))
            .filter(
                order_event::Column::ToStatus
                    .is_in([OrderStatus::Completed.code(), OrderStatus::Cancelled.code()]),
            )
            .order_by_asc(order_event::Column::Id)
            .all(db)
            .await?
        {
            reached.entry(e.order_id).or_default().push(e);
        }
        let buyer_types = user::Entity::find()
            .filter(user::Column::Id.is_in(buyers))
            .all(db)
            .await?
            .into_iter()
            .map(|u| (u.id, u.role.code()))
            .collect();
        let units = if unit_ids.is_empty() {
            HashMap::new()
        } else {
            unit::Entity::find()
                .filter(unit::Column::Id.is_in(unit_ids))
                .all(db)
                .await?
                .into_iter()
                .map(|u| (u.id, u))
                .collect()
        };
        let mut households: HashMap<i64, Vec<household::Model>> = HashMap::new();
        for h in household::Entity::find()
            .filter(household::Column::OrganizationId.is_in(orgs))
            .filter(household::Column::Registered.eq(true))
            .order_by_asc(household::Column::Id)
            .all(db)
            .await?
        {
            households.entry(h.organization_id).or_default().push(h);
        }
        Ok(Batch {
            existing,
            lines,
            reached,
            buyer_types,
            units,
            households,
        })
    }
}

/// When each of an order's sales changes happened: placed (`placed_at`), and the times its
/// timeline gives for reaching `completed` and `cancelled`, if it did.
struct Moments {
    placed: DateTime<Utc>,
    /// When the goods arrived: when a shortfall was accepted.
    delivered: Option<DateTime<Utc>>,
    completed: Option<DateTime<Utc>>,
    cancelled: Option<DateTime<Utc>>,
}

impl Moments {
    /// The moments of `o`, from its moves to `completed` or `cancelled` (`reached`, in order).
    fn of(o: &order::Model, reached: &[order_event::Model]) -> Moments {
        let first = |status: OrderStatus| {
            reached
                .iter()
                .find(|e| e.to_status == status)
                .map(|e| e.created_at)
        };
        Moments {
            placed: o.placed_at,
            delivered: o.delivered_at,
            completed: first(OrderStatus::Completed),
            cancelled: first(OrderStatus::Cancelled),
        }
    }

    /// When the change that fact `m` records happened; a change the timeline lacks counts
    /// as happening now.
    fn of_fact(&self, m: &Missing) -> DateTime<Utc> {
        match (m.basis, m.sign, m.part) {
            (Basis::Placed, 1, _) => Some(self.placed),
            (Basis::Placed, _, SHORT) => self.delivered,
            (Basis::Completed, _, _) => self.completed,
            _ => self.cancelled,
        }
        .unwrap_or_else(Utc::now)
    }
}

/// Writes the facts `o` is missing and returns them, each booked on the day its change
/// happened (or, when that day's quarter is closed, the first day after it).
async fn new_facts(
    db: &impl ConnectionTrait,
    o: &order::Model,
    closed: Option<i32>,
    batch: &Batch,
) -> Result<Vec<Recorded>, sea_orm::DbErr> {
    let lines = batch.lines.get(&o.id).map_or(&[][..], Vec::as_slice);
    let reached = batch.reached.get(&o.id).map_or(&[][..], Vec::as_slice);
    let moments = Moments::of(o, reached);
    let missing: Vec<Missing> = lines
        .iter()
        .flat_map(|line| wanted(o.status, line))
        .filter(|m| !batch.existing.contains(&m.key()))
        .map(|mut m| {
            m.day = booking_day(day_key(local_date(moments.of_fact(&m))), closed);
            m
        })
        .collect();
    if missing.is_empty() {
        return Ok(Vec::new());
    }
    let buyer_type = batch
        .buyer_types
        .get(&o.buyer_id)
        .copied()
        .unwrap_or_default();
    let households = batch
        .households
        .get(&o.organization_id)
        .map_or(&[][..], Vec::as_slice);
    let unit = o.buyer_unit_id.and_then(|id| batch.units.get(&id));
    let buyer = BoughtBy::of(o, unit);
    write_facts(db, o, missing, (buyer_type, &buyer), households).await
}

/// The facts a line of an order in `status` should have: placed; its shortfall taken back
/// when it arrived short; completed with what arrived, or, cancelled, the rest taken back.
fn wanted(status: OrderStatus, line: &order_line::Model) -> Vec<Missing<'_>> {
    let short_milli = line
        .received_milli
        .map_or(0, |r| (line.quantity_milli - r).max(0));
    let kept = (
        line.quantity_milli - short_milli,
        line.amount_fen - line.short_fen,
    );
    let fact = |basis, sign, part, (quantity_milli, amount_fen)| Missing {
        line,
        basis,
        sign,
        part,
        quantity_milli,
        amount_fen,
        day: 0,
    };
    let mut facts = vec![fact(
        Basis::Placed,
        1,
        WHOLE,
        (line.quantity_milli, line.amount_fen),
    )];
    if short_milli > 0 {
        facts.push(fact(
            Basis::Placed,
            -1,
            SHORT,
            (short_milli, line.short_fen),
        ));
    }
    match status {
        OrderStatus::Completed => facts.push(fact(Basis::Completed, 1, WHOLE, kept)),
        OrderStatus::Cancelled => facts.push(fact(Basis::Placed, -1, WHOLE, kept)),
        _ => {}
    }
    facts
}

/// The part of a line a fact counts: the line as ordered, or the shortfall a short delivery
/// took back.
const WHOLE: i32 = 0;
const SHORT: i32 = 1;

/// A fact's unique key: its order line, basis, sign and part.
type FactKey = (i64, Basis, i32, i32);

/// The household parts of a fact: (household id, fen).
type Parts = Vec<(i64, i64)>;

/// A fact an order line is missing: its quantity and amount (unsigned), and the day it is
/// booked on.
struct Missing<'a> {
    line: &'a order_line::Model,
    basis: Basis,
    sign: i32,
    part: i32,
    quantity_milli: i64,
    amount_fen: i64,
    day: i32,
}

impl Missing<'_> {
    fn key(&self) -> FactKey {
        (self.line.id, self.basis, self.sign, self.part)
    }
}

/// Writes the facts of `o`'s lines in `missing` (each with its basis and sign) and their
/// households' parts, two statements in all, and returns them.
async fn write_facts(
    db: &impl ConnectionTrait,
    o: &order::Model,
    missing: Vec<Missing<'_>>,
    (buyer_type, buyer): (&str, &BoughtBy),
    households: &[household::Model],
) -> Result<Vec<Recorded>, sea_orm::DbErr> {
    if missing.is_empty() {
        return Ok(Vec::new());
    }
    let shares: Vec<i32> = households.iter().map(|h| h.benefit_share_bp).collect();
    let now = Utc::now();
    let placed_quarter = quarter_of_day(day_key(local_date(o.placed_at)));
    let mut rows = Vec::with_capacity(missing.len());
    let mut parts_of: HashMap<FactKey, (Parts, RegionPath)> = HashMap::with_capacity(missing.len());
    for m in missing {
        let Missing {
            line,
            basis,
            sign,
            day,
            ..
        } = m;
        let key = m.key();
        let path = RegionPath::of(&line.seller_region_code).unwrap_or_default();
        let origin_quarter = match basis {
            Basis::Placed => placed_quarter,
            Basis::Completed => quarter_of_day(day),
        };
        let parts = if sign < 0 {
            let written = parts_of.get(&(line.id, basis, 1, WHOLE)).map(|(p, _)| p);
            taken_back(db, &m, written).await?
        } else {
            households
                .iter()
                .map(|h| h.id)
                .zip(split_income(m.amount_fen, &shares))
                .filter(|(_, fen)| *fen != 0)
                .collect()
        };
        let household_fen: i64 = parts.iter().map(|(_, fen)| fen).sum();
        let mut row = fact_row(o, &m, &path, (buyer_type, buyer));
        row.household_fen = Set(sign as i64 * household_fen);
        row.origin_quarter = Set(origin_quarter);
        row.recorded_at = Set(now);
        rows.push(row);
        parts_of.insert(key, (parts, path));
    }
    let mut facts = fact::Entity::insert_many(rows)
        .exec_with_returning(db)
        .await?;
    // Rows come back in no promised order: in the order of their ids, which is the order written.
    facts.sort_by_key(|f| f.id);
    let mut incomes = Vec::new();
    let mut recorded = Vec::with_capacity(facts.len());
    for f in facts {
        let day = f.day;
        let (parts, path) = parts_of
            .remove(&(f.order_line_id, f.kind, f.sign, f.part))
            .unwrap_or_default();
        let mut signed = Vec::with_capacity(parts.len());
        for (household_id, fen) in parts {
            signed.push((household_id, f.sign as i64 * fen));
            incomes.push(household_income::ActiveModel {
                fact_id: Set(f.id),
                kind: Set(f.kind),
                sign: Set(f.sign),
                household_id: Set(household_id),
                organization_id: Set(o.organization_id),
                province_code: Set(path.province.clone()),
                prefecture_code: Set(path.prefecture.clone()),
                county_code: Set(path.county.clone()),
                township_code: Set(path.township.clone()),
                village_code: Set(path.village.clone()),
                day: Set(day),
                amount_fen: Set(f.sign as i64 * fen),
                ..Default::default()
            });
        }
        recorded.push(Recorded {
            fact: f,
            parts: signed,
        });
    }
    household_income::Entity::insert_many(incomes)
        .exec_without_returning(db)
        .await?;
    Ok(recorded)
}

/// The fact `m` of `o`'s line as written, with its seller's places and its buyer; its household
/// income, origin quarter and time of writing are the caller's to fill in.
fn fact_row(
    o: &order::Model,
    m: &Missing<'_>,
    path: &RegionPath,
    (buyer_type, buyer): (&str, &BoughtBy),
) -> fact::ActiveModel {
    let (line, sign) = (m.line, i64::from(m.sign));
    fact::ActiveModel {
        order_line_id: Set(line.id),
        order_id: Set(o.id),
        kind: Set(m.basis),
        sign: Set(m.sign),
        organization_id: Set(o.organization_id),
        buyer_id: Set(o.buyer_id),
        buyer_type: Set(buyer_type.to_string()),
        category_id: Set(line.category_id),
        unit: Set(line.unit),
        quantity_milli: Set(sign * m.quantity_milli),
        amount_fen: Set(sign * m.amount_fen),
        region_code: Set(line.seller_region_code.clone()),
        province_code: Set(path.province.clone()),
        prefecture_code: Set(path.prefecture.clone()),
        county_code: Set(path.county.clone()),
        township_code: Set(path.township.clone()),
        village_code: Set(path.village.clone()),
        day: Set(m.day),
        buyer_unit_id: Set(buyer.unit_id),
        buyer_basis: Set(buyer.basis.to_string()),
        buyer_kind: Set(buyer.kind.to_string()),
        buyer_region_code: Set(buyer.region_code.clone()),
        buyer_province_code: Set(buyer.path.province.clone()),
        buyer_prefecture_code: Set(buyer.path.prefecture.clone()),
        buyer_county_code: Set(buyer.path.county.clone()),
        campaign_id: Set(buyer.campaign_id),
        part: Set(m.part),
        ..Default::default()
    }
}

/// The household parts a reversal `m` takes back: its share of the split of the fact it
/// reverses (`written` with it in this batch, when an order was placed and cancelled before the
/// projector met it, else read): a shortfall its proportion, a cancellation all that the
/// shortfall left.
async fn taken_back(
    db: &impl ConnectionTrait,
    m: &Missing<'_>,
    written: Option<&Parts>,
) -> Result<Parts, sea_orm::DbErr> {
    let line = m.line;
    let original = match written {
        Some(parts) => parts.clone(),
        None => reversed_parts(db, line.id, m.basis).await?,
    };
    let short = split_like(line.short_fen, line.amount_fen, &original);
    Ok(if m.part == SHORT {
        short
    } else {
        minus(&original, &short)
    })
}

/// The household parts (as positive amounts) of a line's positive fact of `basis`.
async fn reversed_parts(
    db: &impl ConnectionTrait,
    line_id: i64,
    basis: Basis,
) -> Result<Vec<(i64, i64)>, sea_orm::DbErr> {
    let Some(original) = fact::Entity::find()
        .filter(fact::Column::OrderLineId.eq(line_id))
        .filter(fact::Column::Kind.eq(basis.code()))
        .filter(fact::Column::Sign.eq(1))
        .filter(fact::Column::Part.eq(WHOLE))
        .one(db)
        .await?
    else {
        return Ok(Vec::new());
    };
    Ok(household_income::Entity::find()
        .filter(household_income::Column::FactId.eq(original.id))
        .order_by_asc(household_income::Column::HouseholdId)
        .all(db)
        .await?
        .into_iter()
        .map(|p| (p.household_id, p.amount_fen))
        .collect())
}
