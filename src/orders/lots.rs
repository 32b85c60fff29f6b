//! Which lots an order was filled from: bound line by line when it ships. A line whose listing
//! has lots on record must be covered by them exactly; a lot never gives more than it holds.

use std::collections::{BTreeMap, BTreeSet};

use sea_orm::sea_query::LockType;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::entity::{order_line, order_line_lot};
use crate::catalog::domain::{Quantity, QuantityInput};
use crate::catalog::entity::lot;
use crate::error::{AppResult, Validator};

/// Part of an order line filled from one lot, as the seller says when shipping.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LotShareInput {
    pub line_id: i64,
    pub lot_id: i64,
    /// In the line's unit, an exact decimal.
    #[schema(value_type = String)]
    pub quantity: QuantityInput,
}

/// Part of an order line filled from one lot, checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LotShare {
    pub line_id: i64,
    pub lot_id: i64,
    pub quantity: Quantity,
}

/// A line's lot as the order shows it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LineLot {
    pub line_id: i64,
    pub lot_id: i64,
    /// The lot's public code: its trace page is `/t/{code}`.
    pub code: String,
    pub quantity: String,
}

/// The shares as sent, each quantity read; refusals name `lots[i].quantity`.
pub fn parse(input: &[LotShareInput]) -> AppResult<Vec<LotShare>> {
    let mut v = Validator::default();
    let shares = input
        .iter()
        .enumerate()
        .filter_map(|(i, s)| {
            let q = v.check(
                &format!("lots[{i}].quantity"),
                s.quantity.parse().map_err(|e| e.field_error()),
            )?;
            Some(LotShare {
                line_id: s.line_id,
                lot_id: s.lot_id,
                quantity: q,
            })
        })
        .collect();
    v.finish()?;
    Ok(shares)
}

/// The quantity already bound from each of `lots`, in thousandths.
pub async fn shipped_from(
    db: &impl ConnectionTrait,
    lots: &[i64],
) -> Result<BTreeMap<i64, i64>, sea_orm::DbErr> {
    let mut out = BTreeMap::new();
    for b in order_line_lot::Entity::find()
        .filter(order_line_lot::Column::LotId.is_in(lots.iter().copied()))
        .all(db)
        .await?
    {
        *out.entry(b.lot_id).or_default() += b.quantity_milli;
    }
    Ok(out)
}

/// Checks each share against the order's lines and what its lot has left, taking it from
/// `left`; what the good shares cover of each line.
fn take_shares(
    v: &mut Validator,
    shares: &[LotShare],
    lines: &BTreeMap<i64, order_line::Model>,
    lots: &BTreeMap<i64, lot::Model>,
    left: &mut BTreeMap<i64, i64>,
) -> BTreeMap<i64, i64> {
    let mut covered: BTreeMap<i64, i64> = BTreeMap::new();
    let mut seen = BTreeSet::new();
    for (i, s) in shares.iter().enumerate() {
        let Some(line) = lines.get(&s.line_id) else {
            v.add(
                &format!("lots[{i}].line_id"),
                "unknown",
                "not a line of this order",
            );
            continue;
        };
        let Some(lot) = lots
            .get(&s.lot_id)
            .filter(|l| l.listing_id == line.listing_id)
        else {
            v.add(
                &format!("lots[{i}].lot_id"),
                "not_this_listing",
                "not a lot of this line's listing",
            );
            continue;
        };
        if !seen.insert((s.line_id, s.lot_id)) {
            v.add(
                &format!("lots[{i}]"),
                "duplicate",
                "this line and lot are named twice",
            );
            continue;
        }
        if s.quantity.milli() <= 0 {
            v.add(
                &format!("lots[{i}].quantity"),
                "out_of_range",
                "more than zero",
            );
            continue;
        }
        let remaining = left.entry(lot.id).or_insert(lot.quantity_milli);
        if s.quantity.milli() > *remaining {
            v.add(
                &format!("lots[{i}].quantity"),
                "exceeds_lot",
                format!(
                    "lot {} has {} left",
                    lot.code,
                    Quantity::from_milli((*remaining).max(0))
                ),
            );
            continue;
        }
        *remaining -= s.quantity.milli();
        *covered.entry(line.id).or_default() += s.quantity.milli();
    }
    covered
}

/// Binds the lines of order `order_id` to the lots they were filled from. Every line whose
/// listing has lots must be covered exactly as far as it shipped (`shipped`, by line); each share must name a line of this order and a
/// lot of that line's listing with enough left. The lots are locked (on PostgreSQL, in id
/// order) so two shipments cannot both take a lot's last units.
pub async fn bind(
    db: &impl ConnectionTrait,
    order_id: i64,
    shares: &[LotShare],
    shipped: &BTreeMap<i64, i64>,
) -> AppResult<()> {
    let lines: BTreeMap<i64, order_line::Model> = order_line::Entity::find()
        .filter(order_line::Column::OrderId.eq(order_id))
        .all(db)
        .await?
        .into_iter()
        .map(|l| (l.id, l))
        .collect();
    let listings: BTreeSet<i64> = lines.values().map(|l| l.listing_id).collect();
    let mut query = lot::Entity::find()
        .filter(lot::Column::ListingId.is_in(listings))
        .order_by_asc(lot::Column::Id);
    if db.get_database_backend() == DbBackend::Postgres {
        query = query.lock(LockType::Update);
    }
    let lots: BTreeMap<i64, lot::Model> = query
        .all(db)
        .await?
        .into_iter()
        .map(|l| (l.id, l))
        .collect();
    let ids: Vec<i64> = lots.keys().copied().collect();
    let mut left: BTreeMap<i64, i64> = shipped_from(db, &ids)
        .await?
        .into_iter()
        .map(|(lot, used)| (lot, lots[&lot].quantity_milli - used))
        .collect();
    let mut v = Validator::default();
    let covered = take_shares(&mut v, shares, &lines, &lots, &mut left);
    let with_lots: BTreeSet<i64> = lots.values().map(|l| l.listing_id).collect();
    for line in lines.values() {
        let got = covered.get(&line.id).copied().unwrap_or(0);
        let want = shipped
            .get(&line.id)
            .copied()
            .unwrap_or(line.quantity_milli);
        if with_lots.contains(&line.listing_id) && got != want {
            v.add(
                &format!("lots.{}", line.id),
                "not_covered",
                format!(
                    "{}: the lots cover {} of {} {}",
                    line.title,
                    Quantity::from_milli(got),
                    Quantity::from_milli(want),
                    line.unit.name_zh()
                ),
            );
        }
    }
    v.finish()?;
    if shares.is_empty() {
        return Ok(());
    }
    order_line_lot::Entity::insert_many(shares.iter().map(|s| order_line_lot::ActiveModel {
        order_line_id: Set(s.line_id),
        lot_id: Set(s.lot_id),
        quantity_milli: Set(s.quantity.milli()),
    }))
    .exec(db)
    .await?;
    Ok(())
}

/// The lots each of `lines` was filled from.
pub async fn of_lines(
    db: &impl ConnectionTrait,
    lines: &[i64],
) -> Result<Vec<LineLot>, sea_orm::DbErr> {
    let bound = order_line_lot::Entity::find()
        .filter(order_line_lot::Column::OrderLineId.is_in(lines.iter().copied()))
        .all(db)
        .await?;
    let codes: BTreeMap<i64, String> = lot::Entity::find()
        .filter(lot::Column::Id.is_in(bound.iter().map(|b| b.lot_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|l| (l.id, l.code))
        .collect();
    Ok(bound
        .into_iter()
        .map(|b| LineLot {
            line_id: b.order_line_id,
            lot_id: b.lot_id,
            code: codes.get(&b.lot_id).cloned().unwrap_or_default(),
            quantity: Quantity::from_milli(b.quantity_milli).to_string(),
        })
        .collect())
}
