//! Listings (商品): checked input, authorization in the queries themselves, and
//! an outbox event for every change.

use chrono::Utc;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, IntoActiveModel,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait, Select, Set,
};

use super::certificates;
use super::domain::{
    Certification, Certifications, Fen, Grade, ListingStatus, Quantity, Unit, VerificationStatus,
    county_of, region_contains, region_level,
};
use super::entity::{category, listing, organization};
use super::{organizations, regions};
use crate::accounts::{Actor, Role};
use crate::error::{AppError, AppResult};
use crate::outbox::events::{ListingNews, LowStock, NotifyEvent, SearchEvent};
use crate::outbox::{self, Event};

/// Longest title, in characters.
pub const TITLE_MAX: usize = 60;
/// Longest description, in characters.
pub const DESCRIPTION_MAX: usize = 5000;
/// Most certifications on one listing.
pub const CERTIFICATIONS_MAX: usize = 8;

/// Where a listing comes from.
#[derive(Debug, Clone, PartialEq)]
pub struct Origin {
    pub region_code: String,
    pub coordinates: Option<(f64, f64)>,
}

/// Every field of a listing, checked (creating one, or after a change is applied).
#[derive(Debug, Clone, PartialEq)]
pub struct ListingDraft {
    pub category_id: i64,
    pub title: String,
    pub description: String,
    pub unit: Unit,
    pub price_fen: Fen,
    pub stock: Quantity,
    pub min_order: Quantity,
    pub grade: Grade,
    pub season: Option<(u8, u8)>,
    pub certifications: Vec<Certification>,
    pub origin: Option<Origin>,
    pub status: ListingStatus,
}

/// The producer's organization, which must be approved to publish.
async fn publishing_org(
    db: &impl ConnectionTrait,
    actor: &Actor,
) -> AppResult<organization::Model> {
    if actor.role != Role::Producer {
        return Err(AppError::Forbidden(
            "only producer staff can change listings".into(),
        ));
    }
    let org_id = actor.organization_id().ok_or_else(|| {
        AppError::Forbidden("this account does not belong to an organization yet".into())
    })?;
    let org = organization::Entity::find_by_id(org_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("organization"))?;
    if organizations::status(&org) != VerificationStatus::Approved {
        return Err(AppError::Forbidden(
            "the organization must be approved before it can publish listings".into(),
        ));
    }
    Ok(org)
}

/// Checks what only the database can tell: the category and the origin region exist,
/// and the origin lies in the organization's county.
async fn check_references(
    db: &impl ConnectionTrait,
    org: &organization::Model,
    draft: &ListingDraft,
) -> AppResult<String> {
    let mut v = crate::error::Validator::default();
    if category::Entity::find_by_id(draft.category_id)
        .one(db)
        .await?
        .is_none()
    {
        v.add("category_id", "unknown", "no category has this id");
    }
    let origin = draft
        .origin
        .as_ref()
        .map(|o| o.region_code.clone())
        .unwrap_or_else(|| org.region_code.clone());
    let home = county_of(&org.region_code)
        .unwrap_or(&org.region_code)
        .to_string();
    if region_level(&origin).is_none() || regions::find(db, &origin).await?.is_none() {
        v.add("origin_region_code", "unknown", "no region has this code");
    } else if !region_contains(&home, &origin) {
        v.add(
            "origin_region_code",
            "out_of_scope",
            "the origin must lie in the organization's own county",
        );
    }
    v.finish()?;
    Ok(origin)
}

async fn coordinates_of(
    db: &impl ConnectionTrait,
    draft: &ListingDraft,
    origin: &str,
) -> AppResult<(Option<f64>, Option<f64>)> {
    if let Some((lat, lng)) = draft.origin.as_ref().and_then(|o| o.coordinates) {
        return Ok((Some(lat), Some(lng)));
    }
    let region = regions::find(db, origin).await?;
    Ok((
        region.as_ref().and_then(|r| r.latitude),
        region.and_then(|r| r.longitude),
    ))
}

fn apply_draft(
    m: &mut listing::ActiveModel,
    draft: &ListingDraft,
    origin: String,
    coords: (Option<f64>, Option<f64>),
) {
    m.category_id = Set(draft.category_id);
    m.title = Set(draft.title.clone());
    m.description = Set(draft.description.clone());
    m.unit = Set(draft.unit);
    m.price_fen = Set(draft.price_fen);
    m.stock_milli = Set(draft.stock.milli());
    m.min_order_milli = Set(draft.min_order.milli());
    m.grade = Set(draft.grade);
    m.season_start = Set(draft.season.map(|s| i32::from(s.0)));
    m.season_end = Set(draft.season.map(|s| i32::from(s.1)));
    m.origin_region_code = Set(origin);
    m.latitude = Set(coords.0);
    m.longitude = Set(coords.1);
    m.status = Set(draft.status);
}

/// Whether at least a minimum order (and something at all) is left in stock.
pub fn in_stock(l: &listing::Model) -> bool {
    l.stock_milli > 0 && l.stock_milli >= l.min_order_milli
}

/// Whether buyers can order the listing now: on sale, not deleted and in stock. (Its
/// organization's standing is the search document's business.)
pub fn on_offer(l: &listing::Model) -> bool {
    l.status == ListingStatus::Active && l.deleted_at.is_none() && in_stock(l)
}

/// Tells the search index of a change; `offered` when the change put the listing on offer
/// (new, back on sale or restocked), which is what saved searches alert to.
async fn changed(
    db: &impl ConnectionTrait,
    l: &listing::Model,
    news: ListingNews,
    offered: bool,
) -> Result<(), sea_orm::DbErr> {
    let event = SearchEvent::Listing {
        news,
        listing_id: l.id,
        version: l.version,
        offered,
    };
    outbox::enqueue(db, &event).await
}

/// Tells the search index that a listing's stock changed (an order reserved or returned it).
pub async fn stock_changed(
    db: &impl ConnectionTrait,
    listing_id: i64,
) -> Result<(), sea_orm::DbErr> {
    outbox::enqueue(db, &SearchEvent::Stock { listing_id }).await
}

/// Stock is low when fewer than this many minimum orders (or units) are left.
pub const LOW_STOCK_ORDERS: i64 = 3;

/// The stock below which a listing counts as running low, in thousandths of its unit.
pub fn low_stock_below(l: &listing::Model) -> i64 {
    LOW_STOCK_ORDERS * Ord::max(l.min_order_milli, 1000)
}

/// The events of a sale of `taken_milli` of a listing, `l` as the sale left it: search is
/// kept in step and, when this sale took the stock below the low mark, the producer is told
/// (once per crossing).
pub fn stock_taken(l: &listing::Model, taken_milli: i64) -> Vec<Event> {
    let mut events = vec![Event::of(&SearchEvent::Stock { listing_id: l.id })];
    let low = low_stock_below(l);
    if l.stock_milli < low && l.stock_milli + taken_milli >= low {
        events.push(Event::of(&NotifyEvent::LowStock(LowStock {
            listing_id: l.id,
            organization_id: l.organization_id,
            stock: Quantity::from_milli(l.stock_milli).to_string(),
            unit: l.unit.code().into(),
        })));
    }
    events
}

/// Creates a listing for the producer's own (approved) organization.
pub async fn create(
    db: &impl ConnectionTrait,
    actor: &Actor,
    draft: ListingDraft,
) -> AppResult<listing::Model> {
    let org = publishing_org(db, actor).await?;
    let origin = check_references(db, &org, &draft).await?;
    let coords = coordinates_of(db, &draft, &origin).await?;
    let now = Utc::now();
    let mut m = listing::ActiveModel {
        organization_id: Set(org.id),
        sold_milli: Set(0),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        deleted_at: Set(None),
        // Only certificates in effect give a listing certifications; its ticks are claims.
        certifications: Set(Certifications::default()),
        ..Default::default()
    };
    apply_draft(&mut m, &draft, origin, coords);
    let l = m.insert(db).await?;
    certificates::claim(db, org.id, l.id, &draft.certifications, now).await?;
    changed(db, &l, ListingNews::Created, on_offer(&l)).await?;
    Ok(l)
}

/// A listing the producer may change: its own organization's, not deleted. Anything else is not found.
pub async fn find_own(
    db: &impl ConnectionTrait,
    actor: &Actor,
    id: i64,
) -> AppResult<listing::Model> {
    if actor.role != Role::Producer {
        return Err(AppError::Forbidden(
            "only producer staff can change listings".into(),
        ));
    }
    let org_id = actor
        .organization_id()
        .ok_or(AppError::NotFound("listing"))?;
    listing::Entity::find()
        .filter(listing::Column::Id.eq(id))
        .filter(listing::Column::OrganizationId.eq(org_id))
        .filter(listing::Column::DeletedAt.is_null())
        .one(db)
        .await?
        .ok_or(AppError::NotFound("listing"))
}

/// The current listing as a draft, to apply a partial change to.
pub fn to_draft(l: &listing::Model) -> ListingDraft {
    ListingDraft {
        category_id: l.category_id,
        title: l.title.clone(),
        description: l.description.clone(),
        unit: l.unit,
        price_fen: l.price_fen,
        stock: Quantity::from_milli(l.stock_milli),
        min_order: Quantity::from_milli(l.min_order_milli),
        grade: l.grade,
        season: l
            .season_start
            .zip(l.season_end)
            .map(|(a, b)| (a as u8, b as u8)),
        certifications: l.certifications.list().to_vec(),
        origin: Some(Origin {
            region_code: l.origin_region_code.clone(),
            coordinates: l.latitude.zip(l.longitude),
        }),
        status: l.status,
    }
}

/// Replaces a listing's fields with `draft`, bumping its version.
pub async fn update(
    db: &impl ConnectionTrait,
    actor: &Actor,
    current: listing::Model,
    draft: ListingDraft,
) -> AppResult<listing::Model> {
    let org = publishing_org(db, actor).await?;
    if org.id != current.organization_id {
        return Err(AppError::NotFound("listing"));
    }
    let origin = check_references(db, &org, &draft).await?;
    let coords = coordinates_of(db, &draft, &origin).await?;
    let version = current.version;
    let was_on_offer = on_offer(&current);
    // Kinds ticked that no certificate in effect gives it yet are claims to complete.
    let claimed: Vec<Certification> = draft
        .certifications
        .iter()
        .copied()
        .filter(|k| !current.certifications.list().contains(k))
        .collect();
    let now = Utc::now();
    let mut m = current.into_active_model();
    apply_draft(&mut m, &draft, origin, coords);
    m.version = Set(version + 1);
    m.updated_at = Set(now);
    let l = m.update(db).await?;
    certificates::claim(db, org.id, l.id, &claimed, now).await?;
    changed(db, &l, ListingNews::Updated, !was_on_offer && on_offer(&l)).await?;
    Ok(l)
}

/// Soft-deletes a listing: it disappears everywhere but history keeps it.
pub async fn delete(db: &impl ConnectionTrait, actor: &Actor, id: i64) -> AppResult<()> {
    let current = find_own(db, actor, id).await?;
    let version = current.version;
    let mut m = current.into_active_model();
    m.deleted_at = Set(Some(Utc::now()));
    m.updated_at = Set(Utc::now());
    m.version = Set(version + 1);
    let l = m.update(db).await?;
    changed(db, &l, ListingNews::Deleted, false).await?;
    Ok(())
}

/// Listings `actor` may see: on-sale listings of approved organizations for everyone,
/// plus paused ones for their own staff, officials in scope and admins.
pub fn visible(actor: Option<&Actor>) -> Select<listing::Entity> {
    let public = Condition::all()
        .add(listing::Column::Status.eq(ListingStatus::Active.code()))
        // EXISTS rather than IN: the planner then walks the listings in the order asked for
        // instead of gathering every listing of the approved organizations to sort them.
        .add(Expr::exists(
            sea_orm::sea_query::Query::select()
                .expr(Expr::val(1))
                .from(organization::Entity)
                .and_where(
                    Expr::col((organization::Entity, organization::Column::Id))
                        .equals((listing::Entity, listing::Column::OrganizationId)),
                )
                .and_where(
                    Expr::col((organization::Entity, organization::Column::Status))
                        .eq(VerificationStatus::Approved.code()),
                )
                .to_owned(),
        ));
    let base = listing::Entity::find().filter(listing::Column::DeletedAt.is_null());
    if actor.is_some_and(Actor::is_admin) {
        return base;
    }
    let mut cond = Condition::any().add(public);
    if let Some(a) = actor {
        if let Some(org) = a.organization_id() {
            cond = cond.add(listing::Column::OrganizationId.eq(org));
        } else if a.role == Role::Official
            && let Some(scope) = a.user.region_code.as_deref()
        {
            cond = cond
                .add(listing::Column::OriginRegionCode.like(format!("{}%", region_prefix(scope))));
        }
    }
    base.filter(cond)
}

/// The leading digits shared by every code inside a region.
pub fn region_prefix(code: &str) -> &str {
    match region_level(code) {
        Some(level) => &code[..level.prefix_len()],
        None => code,
    }
}

/// Filters for listing listings.
#[derive(Debug, Default, Clone)]
pub struct ListFilter {
    pub category_ids: Option<Vec<i64>>,
    pub organization_id: Option<i64>,
    pub region_code: Option<String>,
    pub min_price_fen: Option<Fen>,
    pub max_price_fen: Option<Fen>,
    pub in_stock: Option<bool>,
    pub certification: Option<Certification>,
    pub status: Option<ListingStatus>,
    pub text: Option<String>,
    pub sort: ListSort,
}

/// Orderings for listing listings.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub enum ListSort {
    #[default]
    Newest,
    PriceAsc,
    PriceDesc,
}

/// One page of visible listings and the total that match (see [`ListingCounts`]).
pub async fn list(
    db: &impl ConnectionTrait,
    counts: &ListingCounts,
    actor: Option<&Actor>,
    f: &ListFilter,
    page: u64,
    per_page: u64,
) -> AppResult<(Vec<listing::Model>, u64)> {
    let mut q = visible(actor);
    if let Some(ids) = &f.category_ids {
        q = q.filter(listing::Column::CategoryId.is_in(ids.clone()));
    }
    if let Some(id) = f.organization_id {
        q = q.filter(listing::Column::OrganizationId.eq(id));
    }
    if let Some(code) = &f.region_code {
        q = q.filter(listing::Column::OriginRegionCode.like(format!("{}%", region_prefix(code))));
    }
    if let Some(p) = f.min_price_fen {
        q = q.filter(listing::Column::PriceFen.gte(p));
    }
    if let Some(p) = f.max_price_fen {
        q = q.filter(listing::Column::PriceFen.lte(p));
    }
    match f.in_stock {
        Some(true) => {
            q = q.filter(
                Expr::col(listing::Column::StockMilli)
                    .gte(Expr::col(listing::Column::MinOrderMilli)),
            )
        }
        Some(false) => {
            q = q.filter(
                Expr::col(listing::Column::StockMilli)
                    .lt(Expr::col(listing::Column::MinOrderMilli)),
            )
        }
        None => {}
    }
    if let Some(c) = f.certification {
        q = q.filter(listing::Column::Certifications.like(format!("%{}%", c.code())));
    }
    if let Some(s) = f.status {
        q = q.filter(listing::Column::Status.eq(s.code()));
    }
    if let Some(t) = &f.text {
        let escaped = t
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        q =
            q.filter(
                Condition::any()
                    .add(Expr::col(listing::Column::Title).like(
                        sea_orm::sea_query::LikeExpr::new(format!("%{escaped}%")).escape('\\'),
                    ))
                    .add(Expr::col(listing::Column::Description).like(
                        sea_orm::sea_query::LikeExpr::new(format!("%{escaped}%")).escape('\\'),
                    )),
            );
    }
    let total = counts.count(db, &q).await?;
    q = match f.sort {
        ListSort::Newest => q
            .order_by_desc(listing::Column::CreatedAt)
            .order_by_desc(listing::Column::Id),
        ListSort::PriceAsc => q
            .order_by_asc(listing::Column::PriceFen)
            .order_by_asc(listing::Column::Id),
        ListSort::PriceDesc => q
            .order_by_desc(listing::Column::PriceFen)
            .order_by_desc(listing::Column::Id),
    };
    let items = q.paginate(db, per_page).fetch_page(page - 1).await?;
    Ok((items, total))
}

/// Up to this many matches, every list counts its total exactly.
pub const EXACT_TOTAL_UP_TO: u64 = 1000;

/// How long a large total, once counted, serves the same filter.
const LARGE_TOTAL_FRESH: std::time::Duration = std::time::Duration::from_secs(5);

/// The totals of listing lists with more than [`EXACT_TOTAL_UP_TO`] matches, by query.
///
/// A small total costs a bounded read and is counted on every request, so a new or sold-out
/// listing shows at once. Counting a large one reads every match, so each instance counts it
/// at most once per [`LARGE_TOTAL_FRESH`] and shows that figure meanwhile, without reading
/// anything; one request recounts while the others keep the previous figure.
#[derive(Debug, Default)]
pub struct ListingCounts {
    large: std::sync::Mutex<std::collections::HashMap<String, (std::time::Instant, u64)>>,
}

/// How many rows `rows` gives, counted by the database (one row comes back, not `rows`).
async fn count_rows(
    db: &impl ConnectionTrait,
    rows: sea_orm::sea_query::SelectStatement,
) -> AppResult<u64> {
    let count = sea_orm::sea_query::Query::select()
        .expr_as(Expr::cust("COUNT(*)"), "n")
        .from_subquery(rows, "capped")
        .to_owned();
    let n: i64 = match db.query_one(&count).await? {
        Some(row) => row.try_get("", "n")?,
        None => 0,
    };
    Ok(u64::try_from(n).unwrap_or(0))
}

/// Most distinct queries whose totals are kept; past it the memory starts afresh.
const COUNTS_KEPT: usize = 10_000;

impl ListingCounts {
    /// How many listings `q` matches.
    pub async fn count(
        &self,
        db: &impl ConnectionTrait,
        q: &Select<listing::Entity>,
    ) -> AppResult<u64> {
        // A total found large stands for its period without even the bounded read.
        let key = q.build(db.get_database_backend()).to_string();
        if let Some(total) = self.kept(&key) {
            return Ok(total);
        }
        let first = count_rows(
            db,
            q.clone()
                .select_only()
                .column(listing::Column::Id)
                .limit(EXACT_TOTAL_UP_TO + 1)
                .into_query(),
        )
        .await?;
        if first <= EXACT_TOTAL_UP_TO {
            self.forget(&key);
            return Ok(first);
        }
        let total = q.clone().count(db).await?;
        let mut large = self.large.lock().expect("listing counts lock");
        if large.len() >= COUNTS_KEPT {
            large.clear();
        }
        large.insert(key, (std::time::Instant::now(), total));
        Ok(total)
    }

    /// Drops the total kept for `key`, which is no longer large.
    fn forget(&self, key: &str) {
        let mut large = self.large.lock().expect("listing counts lock");
        if !large.is_empty() {
            large.remove(key);
        }
    }

    /// The kept total if it is fresh. A stale one is marked fresh for the others while the
    /// caller recounts.
    fn kept(&self, key: &str) -> Option<u64> {
        let mut large = self.large.lock().expect("listing counts lock");
        crate::kept::fresh(large.get_mut(key)?, LARGE_TOTAL_FRESH)
    }
}

/// A visible listing by id.
pub async fn get_visible(
    db: &impl ConnectionTrait,
    actor: Option<&Actor>,
    id: i64,
) -> AppResult<listing::Model> {
    visible(actor)
        .filter(listing::Column::Id.eq(id))
        .one(db)
        .await?
        .ok_or(AppError::NotFound("listing"))
}

/// The ids of a category and all categories below it.
pub async fn category_and_descendants(
    db: &impl ConnectionTrait,
    id: i64,
) -> Result<Vec<i64>, sea_orm::DbErr> {
    let all = category::Entity::find().all(db).await?;
    let mut out = vec![id];
    let mut i = 0;
    while i < out.len() {
        let parent = out[i];
        out.extend(
            all.iter()
                .filter(|c| c.parent_id == Some(parent))
                .map(|c| c.id),
        );
        i += 1;
    }
    Ok(out)
}
