//! Loading the engine's view of the market from the database: listings on sale with what
//! open proposals do not already hold, and open purchase requests with what they still want.

use std::collections::{HashMap, HashSet};

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, ModelTrait, QueryFilter, QuerySelect};

use super::domain::{ProposalKind, ProposalStatus, RequestStatus};
use super::engine::{Categories, Demand, Point, Supply};
use super::entity::{proposal, purchase_request};
use crate::catalog::domain::{Certification, Quantity};
use crate::catalog::entity::{category, household, listing, region};
use crate::error::AppResult;

/// The category tree.
pub async fn categories(db: &impl ConnectionTrait) -> AppResult<Categories> {
    let rows = category::Entity::find().all(db).await?;
    Ok(Categories::new(
        rows.into_iter().map(|c| (c.id, c.parent_id)),
    ))
}

/// Coordinates of regions by code.
async fn region_points(
    db: &impl ConnectionTrait,
    codes: &HashSet<String>,
) -> AppResult<HashMap<String, Point>> {
    if codes.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = region::Entity::find()
        .filter(region::Column::Code.is_in(codes.iter().cloned()))
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| Some((r.code, Point::new(r.latitude?, r.longitude?))))
        .collect())
}

/// Where each listing is: its own coordinates, else its origin region's.
pub async fn listing_points(
    db: &impl ConnectionTrait,
    listings: &[listing::Model],
) -> AppResult<HashMap<i64, Point>> {
    let missing: HashSet<String> = listings
        .iter()
        .filter(|l| l.latitude.is_none() || l.longitude.is_none())
        .map(|l| l.origin_region_code.clone())
        .collect();
    let regions = region_points(db, &missing).await?;
    Ok(listings
        .iter()
        .filter_map(|l| {
            let at = match (l.latitude, l.longitude) {
                (Some(lat), Some(lng)) => Point::new(lat, lng),
                _ => *regions.get(&l.origin_region_code)?,
            };
            Some((l.id, at))
        })
        .collect())
}

/// Where a purchase request is delivered: its own coordinates, else its region's.
pub async fn delivery_point(
    db: &impl ConnectionTrait,
    r: &purchase_request::Model,
) -> AppResult<Option<Point>> {
    if let (Some(lat), Some(lng)) = (r.latitude, r.longitude) {
        return Ok(Some(Point::new(lat, lng)));
    }
    let codes = HashSet::from([r.region_code.clone()]);
    Ok(region_points(db, &codes).await?.remove(&r.region_code))
}

/// Quantities held by pending proposals of stock, per listing (in the listing's unit); a
/// contract's proposal holds nothing of today's stock.
async fn held_by_listing(db: &impl ConnectionTrait) -> AppResult<HashMap<i64, i64>> {
    let q = proposal::Entity::find()
        .select_only()
        .column(proposal::Column::ListingId)
        .column(proposal::Column::ListingQuantityMilli)
        .filter(proposal::Column::Status.eq(ProposalStatus::Pending.code()))
        .filter(proposal::Column::Kind.eq(ProposalKind::Order.code()));
    let rows: Vec<(i64, i64)> = q.into_tuple().all(db).await?;
    let mut held: HashMap<i64, i64> = HashMap::new();
    for (id, milli) in rows {
        *held.entry(id).or_default() += milli;
    }
    Ok(held)
}

/// Listings on sale, as supplies with what is not held by pending proposals.
/// `categories` limits the load to those categories.
pub async fn supplies(
    db: &impl ConnectionTrait,
    categories: Option<&[i64]>,
) -> AppResult<Vec<Supply>> {
    // What the public sees on sale, with stock.
    let q = crate::catalog::listings::visible(None).filter(listing::Column::StockMilli.gt(0));
    let listings = within(q, categories).all(db).await?;
    let held = held_by_listing(db).await?;
    as_supplies(db, listings, |l| {
        l.stock_milli - held.get(&l.id).copied().unwrap_or(0)
    })
    .await
}

/// Listings on sale with a season, stock or none, for season contracts: their harvest may
/// be contracted before it is in (see [`super::engine::contract_offer`]).
pub async fn seasonal_supplies(
    db: &impl ConnectionTrait,
    categories: Option<&[i64]>,
) -> AppResult<Vec<Supply>> {
    let q = crate::catalog::listings::visible(None)
        .filter(listing::Column::SeasonStart.is_not_null())
        .filter(listing::Column::SeasonEnd.is_not_null());
    let listings = within(q, categories).all(db).await?;
    as_supplies(db, listings, |_| 0).await
}

fn within(
    q: sea_orm::Select<listing::Entity>,
    categories: Option<&[i64]>,
) -> sea_orm::Select<listing::Entity> {
    match categories {
        Some(cats) => q.filter(listing::Column::CategoryId.is_in(cats.iter().copied())),
        None => q,
    }
}

/// The engine's view of `listings`, each with `available(listing)` (in milli of its unit).
async fn as_supplies(
    db: &impl ConnectionTrait,
    listings: Vec<listing::Model>,
    available: impl Fn(&listing::Model) -> i64,
) -> AppResult<Vec<Supply>> {
    let org_ids: HashSet<i64> = listings.iter().map(|l| l.organization_id).collect();
    let benefit = benefit_by_organization(db, &org_ids).await?;
    let points = listing_points(db, &listings).await?;
    Ok(listings
        .into_iter()
        .filter_map(|l| {
            let at = *points.get(&l.id)?;
            Some(Supply {
                id: l.id,
                organization_id: l.organization_id,
                category_id: l.category_id,
                grade: l.grade,
                unit: l.unit,
                available: Quantity::from_milli(available(&l).max(0)),
                min_order: Quantity::from_milli(l.min_order_milli),
                price_fen: l.price_fen,
                season: match (l.season_start, l.season_end) {
                    (Some(a), Some(b)) => Some((a as u32, b as u32)),
                    _ => None,
                },
                at,
                // 扶贫优先 counts a producer's households only for listings recognised by a
                // 消费帮扶产品认定 in effect.
                benefit_bp: if l
                    .certifications
                    .list()
                    .contains(&Certification::PovertyAlleviation)
                {
                    benefit.get(&l.organization_id).copied().unwrap_or(0)
                } else {
                    0
                },
            })
        })
        .collect())
}

/// Share of each organization's income going to registered poor households, in basis points.
async fn benefit_by_organization(
    db: &impl ConnectionTrait,
    orgs: &HashSet<i64>,
) -> AppResult<HashMap<i64, u32>> {
    if orgs.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = household::Entity::find()
        .filter(household::Column::OrganizationId.is_in(orgs.iter().copied()))
        .filter(household::Column::Registered.eq(true))
        .all(db)
        .await?;
    let mut out: HashMap<i64, u32> = HashMap::new();
    for h in rows {
        let e = out.entry(h.organization_id).or_default();
        *e = (*e + h.benefit_share_bp.max(0) as u32).min(10_000);
    }
    Ok(out)
}

/// What an open request still wants, as a demand for the engine; `None` when it wants
/// nothing more or has no place to deliver to.
pub async fn demand_of(
    db: &impl ConnectionTrait,
    r: &purchase_request::Model,
) -> AppResult<Option<Demand>> {
    if r.status != RequestStatus::Open {
        return Ok(None);
    }
    let proposals = r.find_related(proposal::Entity).all(db).await?;
    let pending: i64 = proposals
        .iter()
        .filter(|p| p.status == ProposalStatus::Pending)
        .map(|p| p.quantity_milli)
        .sum();
    // A listing already proposed, declined, lapsed or ordered for this request is not
    // proposed again.
    let excluded: Vec<i64> = proposals.iter().map(|p| p.listing_id).collect();
    let wanted = r.quantity_milli - r.filled_milli - pending;
    let Some(at) = delivery_point(db, r).await? else {
        return Ok(None);
    };
    if wanted <= 0 {
        return Ok(None);
    }
    Ok(Some(Demand {
        id: r.id,
        category_id: r.category_id,
        min_grade: r.min_grade,
        unit: r.unit,
        quantity: Quantity::from_milli(wanted),
        min_fill: Quantity::from_milli((r.min_fill_milli - r.filled_milli - pending).max(0)),
        min_lot: Quantity::from_milli(r.min_lot_milli),
        max_price_fen: r.max_price_fen,
        at,
        max_distance_m: i64::from(r.max_distance_km) * 1_000,
        delivery_month: chrono::Datelike::month(&r.deliver_by),
        prefer_benefit: r.prefer_benefit,
        excluded,
    }))
}
