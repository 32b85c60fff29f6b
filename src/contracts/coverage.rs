//! 订单农业覆盖: what season contracts cover in a region and year, per county and product
//! category: the contracts signed, the volume and value contracted, what has been delivered,
//! and the registered households of the cooperatives that contracted.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use serde::Serialize;
use utoipa::ToSchema;

use super::{ContractStatus, entity};
use crate::catalog::domain::{Quantity, Unit, county_of, region_contains};
use crate::catalog::entity::household;
use crate::error::AppResult;
use crate::orders::domain::line_amount;

/// One county's contracts in one category and unit.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct CoverageRow {
    pub county_code: String,
    pub category_id: i64,
    pub unit: Unit,
    pub contracts: i64,
    #[schema(value_type = String)]
    pub quantity: Quantity,
    /// The contracts' value at their prices (a floor contract's least value).
    pub value_fen: i64,
    /// What the deliveries that stand came to.
    pub delivered_fen: i64,
    /// Registered households of the cooperatives that contracted, each counted once.
    pub households: i64,
}

/// A region's coverage in a year.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Coverage {
    pub region_code: String,
    pub year: i32,
    pub rows: Vec<CoverageRow>,
    pub contracts: i64,
    pub value_fen: i64,
    pub delivered_fen: i64,
    /// Across the region, each household counted once.
    pub households: i64,
}

/// The signed contracts whose delivery window meets `year`, of sellers within `region`.
pub async fn of_region(db: &impl ConnectionTrait, region: &str, year: i32) -> AppResult<Coverage> {
    let first = NaiveDate::from_ymd_opt(year, 1, 1).unwrap_or_default();
    let last = NaiveDate::from_ymd_opt(year, 12, 31).unwrap_or_default();
    let contracts: Vec<entity::Model> = entity::Entity::find()
        .filter(entity::Column::Status.eq(ContractStatus::Signed.code()))
        .filter(entity::Column::WindowStart.lte(last))
        .filter(entity::Column::WindowEnd.gte(first))
        .all(db)
        .await?
        .into_iter()
        .filter(|c| region_contains(region, &c.region_code))
        .collect();
    let orgs: BTreeSet<i64> = contracts.iter().map(|c| c.organization_id).collect();
    let mut households: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    for h in household::Entity::find()
        .filter(household::Column::OrganizationId.is_in(orgs))
        .filter(household::Column::Registered.eq(true))
        .all(db)
        .await?
    {
        households.entry(h.organization_id).or_default().push(h.id);
    }
    let ids: Vec<i64> = contracts.iter().map(|c| c.id).collect();
    let delivered = super::deliveries(db, &ids).await?;
    let mut rows: BTreeMap<(String, i64, Unit), (CoverageRow, BTreeSet<i64>)> = BTreeMap::new();
    let mut everyone: BTreeSet<i64> = BTreeSet::new();
    for c in &contracts {
        let county = county_of(&c.region_code)
            .unwrap_or(&c.region_code)
            .to_string();
        let (row, covered) = rows
            .entry((county.clone(), c.category_id, c.unit))
            .or_insert_with(|| {
                (
                    CoverageRow {
                        county_code: county,
                        category_id: c.category_id,
                        unit: c.unit,
                        contracts: 0,
                        quantity: Quantity::default(),
                        value_fen: 0,
                        delivered_fen: 0,
                        households: 0,
                    },
                    BTreeSet::new(),
                )
            });
        row.contracts += 1;
        row.quantity = Quantity::from_milli(row.quantity.milli() + c.quantity_milli);
        row.value_fen +=
            line_amount(c.price_fen, Quantity::from_milli(c.quantity_milli)).unwrap_or(0);
        row.delivered_fen += delivered
            .get(&c.id)
            .into_iter()
            .flatten()
            .filter(|d| d.status != crate::orders::domain::OrderStatus::Cancelled)
            .map(|d| d.goods_fen)
            .sum::<i64>();
        let theirs = households.get(&c.organization_id).into_iter().flatten();
        covered.extend(theirs.clone());
        everyone.extend(theirs);
    }
    let rows: Vec<CoverageRow> = rows
        .into_values()
        .map(|(mut row, covered)| {
            row.households = covered.len() as i64;
            row
        })
        .collect();
    Ok(Coverage {
        region_code: region.to_string(),
        year,
        contracts: rows.iter().map(|r| r.contracts).sum(),
        value_fen: rows.iter().map(|r| r.value_fen).sum(),
        delivered_fen: rows.iter().map(|r| r.delivered_fen).sum(),
        households: everyone.len() as i64,
        rows,
    })
}
