//! The day's packing list and pick list for a seller: every order waiting to go out (placed
//! or confirmed, placed by the end of the day), what to pack for each, and what to pick per
//! listing, from its oldest lots with goods left first.

use std::collections::{BTreeMap, HashMap};

use chrono::{NaiveDate, TimeZone};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::Serialize;
use utoipa::ToSchema;

use crate::accounts::{Actor, Role};
use crate::catalog::domain::{Quantity, Unit};
use crate::catalog::entity::{lot, region};
use crate::delivery::methods::Snapshot;
use crate::error::{AppError, AppResult};
use crate::orders::domain::OrderStatus;
use crate::orders::entity::{order, order_line};
use crate::stats::reports::Cell;

/// One line to pack.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PackLine {
    pub listing_id: i64,
    pub title: String,
    pub unit: Unit,
    #[schema(value_type = String)]
    pub quantity: Quantity,
}

/// One order to pack, with where it goes.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PackOrder {
    pub order_id: i64,
    pub status: OrderStatus,
    pub placed_at: chrono::DateTime<chrono::Utc>,
    pub recipient_name: String,
    pub recipient_phone: String,
    pub address_region_code: String,
    /// The address's region by name, in Chinese and English.
    pub address_region_name: String,
    pub address_region_name_en: String,
    pub address_line: String,
    pub note: String,
    /// The delivery method charged; absent when delivery is arranged with the buyer.
    pub delivery: Option<Snapshot>,
    pub lines: Vec<PackLine>,
}

/// How much to take from one lot.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PickLot {
    pub code: String,
    pub harvested_on: NaiveDate,
    /// What the lot has left before this pick.
    #[schema(value_type = String)]
    pub left: Quantity,
    #[schema(value_type = String)]
    pub take: Quantity,
}

/// One listing to pick, for all the day's orders.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PickLine {
    pub listing_id: i64,
    pub title: String,
    pub unit: Unit,
    #[schema(value_type = String)]
    pub quantity: Quantity,
    pub orders: i64,
    /// The lots to take it from, oldest first; short when the lots recorded do not cover it.
    pub lots: Vec<PickLot>,
    /// What no recorded lot covers.
    #[schema(value_type = String)]
    pub uncovered: Quantity,
}

/// A seller's day: what to pack and what to pick.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PackingList {
    pub day: NaiveDate,
    pub orders: Vec<PackOrder>,
    pub picks: Vec<PickLine>,
}

/// The packing list of the producer's organization for `day` (Beijing).
pub async fn for_day(
    db: &impl ConnectionTrait,
    actor: &Actor,
    day: NaiveDate,
) -> AppResult<PackingList> {
    let org = match (actor.role, actor.organization_id()) {
        (Role::Producer, Some(org)) => org,
        _ => {
            return Err(AppError::Forbidden(
                "only producer staff pack their organization's orders".into(),
            ));
        }
    };
    let end = crate::days::china()
        .from_local_datetime(
            &day.succ_opt()
                .unwrap_or(day)
                .and_hms_opt(0, 0, 0)
                .unwrap_or_default(),
        )
        .single()
        .map(|t| t.with_timezone(&chrono::Utc))
        .ok_or(AppError::NotFound("day"))?;
    let orders = order::Entity::find()
        .filter(order::Column::OrganizationId.eq(org))
        .filter(order::Column::Status.is_in([OrderStatus::Placed, OrderStatus::Confirmed]))
        .filter(order::Column::PlacedAt.lt(end))
        .order_by_asc(order::Column::PlacedAt)
        .order_by_asc(order::Column::Id)
        .all(db)
        .await?;
    let ids: Vec<i64> = orders.iter().map(|o| o.id).collect();
    let places: HashMap<String, region::Model> = region::Entity::find()
        .filter(region::Column::Code.is_in(orders.iter().map(|o| o.address_region_code.clone())))
        .all(db)
        .await?
        .into_iter()
        .map(|r| (r.code.clone(), r))
        .collect();
    let mut lines: BTreeMap<i64, Vec<order_line::Model>> = BTreeMap::new();
    for l in order_line::Entity::find()
        .filter(order_line::Column::OrderId.is_in(ids))
        .order_by_asc(order_line::Column::Id)
        .all(db)
        .await?
    {
        lines.entry(l.order_id).or_default().push(l);
    }
    let mut wanted: BTreeMap<i64, (String, Unit, i64, i64)> = BTreeMap::new();
    let packed: Vec<PackOrder> = orders
        .into_iter()
        .map(|o| {
            let mine = lines.remove(&o.id).unwrap_or_default();
            for l in &mine {
                let w = wanted
                    .entry(l.listing_id)
                    .or_insert_with(|| (l.title.clone(), l.unit, 0, 0));
                w.2 += l.quantity_milli;
                w.3 += 1;
            }
            let place = places.get(&o.address_region_code);
            PackOrder {
                address_region_name: place.map(|r| r.name.clone()).unwrap_or_default(),
                address_region_name_en: place.map(|r| r.name_en.clone()).unwrap_or_default(),
                order_id: o.id,
                status: o.status,
                placed_at: o.placed_at,
                recipient_name: o.recipient_name,
                recipient_phone: o.recipient_phone,
                address_region_code: o.address_region_code,
                address_line: o.address_line,
                note: o.note,
                delivery: serde_json::from_str(&o.delivery).ok(),
                lines: mine
                    .into_iter()
                    .map(|l| PackLine {
                        listing_id: l.listing_id,
                        title: l.title,
                        unit: l.unit,
                        quantity: Quantity::from_milli(l.quantity_milli),
                    })
                    .collect(),
            }
        })
        .collect();
    let picks = picks(db, wanted).await?;
    Ok(PackingList {
        day,
        orders: packed,
        picks,
    })
}

/// Each listing's pick from its lots with goods left, oldest harvest first.
async fn picks(
    db: &impl ConnectionTrait,
    wanted: BTreeMap<i64, (String, Unit, i64, i64)>,
) -> AppResult<Vec<PickLine>> {
    let lots = lot::Entity::find()
        .filter(lot::Column::ListingId.is_in(wanted.keys().copied()))
        .order_by_asc(lot::Column::HarvestedOn)
        .order_by_asc(lot::Column::Id)
        .all(db)
        .await?;
    let ids: Vec<i64> = lots.iter().map(|l| l.id).collect();
    let used = crate::orders::lots::shipped_from(db, &ids).await?;
    Ok(wanted
        .into_iter()
        .map(|(listing_id, (title, unit, milli, orders))| {
            let mut need = milli;
            let mut from = Vec::new();
            for l in lots.iter().filter(|l| l.listing_id == listing_id) {
                let left = l.quantity_milli - used.get(&l.id).copied().unwrap_or(0);
                if need == 0 || left <= 0 {
                    continue;
                }
                let take = left.min(need);
                need -= take;
                from.push(PickLot {
                    code: l.code.clone(),
                    harvested_on: l.harvested_on,
                    left: Quantity::from_milli(left),
                    take: Quantity::from_milli(take),
                });
            }
            PickLine {
                listing_id,
                title,
                unit,
                quantity: Quantity::from_milli(milli),
                orders,
                lots: from,
                uncovered: Quantity::from_milli(need),
            }
        })
        .collect())
}

impl PackingList {
    /// The packing list as a sheet: one row per line to pack, with its order and address.
    pub fn packing_table(&self) -> Vec<Vec<Cell>> {
        let mut out = vec![
            [
                "订单 order",
                "收货人 recipient",
                "电话 phone",
                "地区 region",
                "地址 address",
                "配送 delivery",
                "商品 listing",
                "数量 quantity",
                "单位 unit",
                "备注 note",
            ]
            .iter()
            .map(|h| Cell::Text(h.to_string()))
            .collect(),
        ];
        for o in &self.orders {
            for l in &o.lines {
                out.push(vec![
                    Cell::Int(o.order_id),
                    Cell::Text(o.recipient_name.clone()),
                    Cell::Text(o.recipient_phone.clone()),
                    Cell::Text(format!(
                        "{} {}",
                        o.address_region_code, o.address_region_name
                    )),
                    Cell::Text(o.address_line.clone()),
                    Cell::Text(
                        o.delivery
                            .as_ref()
                            .map(|d| d.name.clone())
                            .unwrap_or_default(),
                    ),
                    Cell::Text(l.title.clone()),
                    Cell::Text(l.quantity.to_string()),
                    Cell::Text(l.unit.code().into()),
                    Cell::Text(o.note.clone()),
                ]);
            }
        }
        out
    }

    /// The pick list as a sheet: one row per listing and lot.
    pub fn picking_table(&self) -> Vec<Vec<Cell>> {
        let mut out = vec![
            [
                "商品 listing",
                "单位 unit",
                "合计 total",
                "订单数 orders",
                "批次 lot",
                "采收日期 harvested",
                "取 take",
            ]
            .iter()
            .map(|h| Cell::Text(h.to_string()))
            .collect(),
        ];
        for p in &self.picks {
            let row = |lot: &str, day: String, take: String| {
                vec![
                    Cell::Text(p.title.clone()),
                    Cell::Text(p.unit.code().into()),
                    Cell::Text(p.quantity.to_string()),
                    Cell::Int(p.orders),
                    Cell::Text(lot.into()),
                    Cell::Text(day),
                    Cell::Text(take),
                ]
            };
            for l in &p.lots {
                out.push(row(&l.code, l.harvested_on.to_string(), l.take.to_string()));
            }
            if p.uncovered > Quantity::default() || p.lots.is_empty() {
                out.push(row("", String::new(), p.uncovered.to_string()));
            }
        }
        out
    }
}
