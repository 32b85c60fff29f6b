//! Purchase requests (采购需求) as buyers post and change them, and as each party sees them
//! and their proposals: the checks, the views and the use-cases the API and the pages share.

use chrono::{NaiveDate, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, ModelTrait, QueryFilter,
    QueryOrder, Set,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::domain::{ClosedReason, ProposalKind, ProposalStatus, RequestStatus};
use super::entity::{proposal, purchase_request};
use super::service::{self, Rules};
use crate::accounts::role::require_buyer;
use crate::accounts::{Actor, Role};
use crate::catalog::domain::{
    Grade, MAX_PRICE_FEN, Quantity, QuantityInput, Unit, county_of, format_yuan,
};
use crate::catalog::entity::{category, organization};
use crate::catalog::regions;
use crate::error::{AppError, AppResult, Validator};
use crate::fields::{phone, text};
use crate::outbox::events::RequestNews;

/// A purchase request (采购需求) as its buyer, an admin or a producer sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct RequestView {
    pub id: i64,
    pub title: String,
    pub note: String,
    pub category_id: i64,
    pub min_grade: Grade,
    pub unit: Unit,
    #[schema(value_type = String)]
    pub quantity: Quantity,
    #[schema(value_type = String)]
    pub min_fill: Quantity,
    #[schema(value_type = String)]
    pub min_lot: Quantity,
    /// Already turned into orders.
    #[schema(value_type = String)]
    pub filled: Quantity,
    pub max_price_fen: i64,
    pub max_price_display: String,
    pub region_code: String,
    pub deliver_by: NaiveDate,
    pub max_distance_km: i32,
    pub prefer_benefit: bool,
    pub status: RequestStatus,
    pub closed_reason: Option<ClosedReason>,
    /// The buyer's contact and address: for the buyer, admins, and producers with an order
    /// from this request.
    pub contact: Option<ContactView>,
    pub created_at: chrono::DateTime<Utc>,
    pub updated_at: chrono::DateTime<Utc>,
}

/// Who receives the goods, and where.
#[derive(Debug, Serialize, ToSchema)]
pub struct ContactView {
    pub name: String,
    pub phone: String,
    pub address_line: String,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
}

fn request_view(r: purchase_request::Model, with_contact: bool) -> RequestView {
    RequestView {
        id: r.id,
        title: r.title,
        note: r.note,
        category_id: r.category_id,
        min_grade: r.min_grade,
        unit: r.unit,
        quantity: Quantity::from_milli(r.quantity_milli),
        min_fill: Quantity::from_milli(r.min_fill_milli),
        min_lot: Quantity::from_milli(r.min_lot_milli),
        filled: Quantity::from_milli(r.filled_milli),
        max_price_fen: r.max_price_fen,
        max_price_display: format_yuan(r.max_price_fen),
        region_code: r.region_code,
        deliver_by: r.deliver_by,
        max_distance_km: r.max_distance_km,
        prefer_benefit: r.prefer_benefit,
        status: r.status,
        closed_reason: r.closed_reason,
        contact: with_contact.then_some(ContactView {
            name: r.contact_name,
            phone: r.contact_phone,
            address_line: r.address_line,
            latitude: r.latitude,
            longitude: r.longitude,
        }),
        created_at: r.created_at,
        updated_at: r.updated_at,
    }
}

/// A proposed allocation of one listing to one request.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProposalView {
    pub id: i64,
    pub request_id: i64,
    pub listing_id: i64,
    pub organization_id: i64,
    pub organization_name: String,
    /// In the request's unit.
    #[schema(value_type = String)]
    pub quantity: Quantity,
    /// The same quantity in the listing's unit, as it will be ordered.
    #[schema(value_type = String)]
    pub listing_quantity: Quantity,
    pub listing_unit: Unit,
    pub unit_price_fen: i64,
    pub amount_fen: i64,
    pub amount_display: String,
    pub distance_km: String,
    pub status: ProposalStatus,
    pub buyer_accepted: bool,
    pub producer_accepted: bool,
    pub reason: String,
    pub order_id: Option<i64>,
    /// `order` from stock, or `contract`: a season contract for a request dated in the
    /// listing's coming season, signed once both sides accept.
    pub kind: ProposalKind,
    /// A contract's delivery window.
    pub window_start: Option<NaiveDate>,
    pub window_end: Option<NaiveDate>,
    /// The season contract it became.
    pub contract_id: Option<i64>,
    pub expires_at: chrono::DateTime<Utc>,
}

/// Proposals as their parties see them, with the listing and seller names.
pub async fn proposal_views(
    db: &impl sea_orm::ConnectionTrait,
    ps: Vec<proposal::Model>,
) -> AppResult<Vec<ProposalView>> {
    let ids: Vec<i64> = ps.iter().map(|p| p.organization_id).collect();
    let orgs: std::collections::HashMap<i64, String> = organization::Entity::find()
        .filter(organization::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|o| (o.id, o.name))
        .collect();
    Ok(ps
        .into_iter()
        .map(|p| ProposalView {
            id: p.id,
            request_id: p.request_id,
            listing_id: p.listing_id,
            organization_id: p.organization_id,
            organization_name: orgs.get(&p.organization_id).cloned().unwrap_or_default(),
            quantity: Quantity::from_milli(p.quantity_milli),
            listing_quantity: Quantity::from_milli(p.listing_quantity_milli),
            listing_unit: p.listing_unit,
            unit_price_fen: p.unit_price_fen,
            amount_fen: p.amount_fen,
            amount_display: format_yuan(p.amount_fen),
            distance_km: Quantity::from_milli(p.distance_m).to_string(),
            status: p.status,
            buyer_accepted: p.buyer_accepted_at.is_some(),
            producer_accepted: p.producer_accepted_at.is_some(),
            reason: p.reason,
            order_id: p.order_id,
            kind: p.kind,
            window_start: p.window_start,
            window_end: p.window_end,
            contract_id: p.contract_id,
            expires_at: p.expires_at,
        })
        .collect())
}

/// A new purchase request, or the fields to change in one.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestInput {
    pub title: Option<String>,
    pub note: Option<String>,
    /// The category; a parent category accepts its children.
    pub category_id: Option<i64>,
    /// The lowest grade accepted (default: any).
    pub min_grade: Option<Grade>,
    pub unit: Option<Unit>,
    #[schema(value_type = Option<String>, example = "20")]
    pub quantity: Option<QuantityInput>,
    /// The smallest total worth ordering; equal to `quantity` for all or nothing (default 0).
    #[schema(value_type = Option<String>)]
    pub min_fill: Option<QuantityInput>,
    /// The smallest quantity worth taking from one producer (default 0).
    #[schema(value_type = Option<String>)]
    pub min_lot: Option<QuantityInput>,
    /// Highest price per `unit`, in fen.
    pub max_price_fen: Option<i64>,
    /// County, township or village of delivery.
    pub region_code: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub address_line: Option<String>,
    pub contact_name: Option<String>,
    pub contact_phone: Option<String>,
    /// Last day of delivery, `YYYY-MM-DD`.
    pub deliver_by: Option<String>,
    /// How far producers may be, 1–3000 km (default 500).
    pub max_distance_km: Option<i32>,
    /// Prefer producers whose sales benefit registered poor households (扶贫优先).
    pub prefer_benefit: Option<bool>,
}

/// The request as created, with the proposals matching made at once.
#[derive(Debug, Serialize, ToSchema)]
pub struct RequestWithProposals {
    pub request: RequestView,
    pub proposals: Vec<ProposalView>,
}

/// Applies `input` over `base` (a new request when `None`), checking every field.
async fn apply(
    db: &impl sea_orm::ConnectionTrait,
    input: RequestInput,
    base: Option<&purchase_request::Model>,
) -> AppResult<purchase_request::ActiveModel> {
    let mut v = Validator::default();
    let now = Utc::now();
    let mut m: purchase_request::ActiveModel = match base {
        Some(b) => b.clone().into(),
        None => purchase_request::ActiveModel {
            note: Set(String::new()),
            min_grade: Set(Grade::Ungraded),
            min_fill_milli: Set(0),
            min_lot_milli: Set(0),
            filled_milli: Set(0),
            max_distance_km: Set(500),
            prefer_benefit: Set(false),
            latitude: Set(None),
            longitude: Set(None),
            status: Set(RequestStatus::Open),
            closed_reason: Set(None),
            version: Set(1),
            created_at: Set(now),
            ..Default::default()
        },
    };
    let new = base.is_none();
    let required = |v: &mut Validator, field: &str, present: bool| {
        if new && !present {
            v.add(field, "required", format!("{field} is required"));
        }
    };
    required(&mut v, "title", input.title.is_some());
    required(&mut v, "category_id", input.category_id.is_some());
    required(&mut v, "unit", input.unit.is_some());
    required(&mut v, "quantity", input.quantity.is_some());
    required(&mut v, "max_price_fen", input.max_price_fen.is_some());
    required(&mut v, "region_code", input.region_code.is_some());
    required(&mut v, "address_line", input.address_line.is_some());
    required(&mut v, "contact_name", input.contact_name.is_some());
    required(&mut v, "contact_phone", input.contact_phone.is_some());
    required(&mut v, "deliver_by", input.deliver_by.is_some());
    if let Some(t) = &input.title
        && let Some(t) = v.check("title", text(t, 2, 100))
    {
        m.title = Set(t);
    }
    if let Some(t) = &input.note
        && let Some(t) = v.check("note", text(t, 0, 1000))
    {
        m.note = Set(t);
    }
    if let Some(id) = input.category_id {
        match category::Entity::find_by_id(id).one(db).await? {
            Some(c) => m.category_id = Set(c.id),
            None => v.add("category_id", "unknown", "no such category"),
        }
    }
    if let Some(g) = input.min_grade {
        m.min_grade = Set(g);
    }
    if let Some(u) = input.unit {
        m.unit = Set(u);
    }
    let mut q = |field: &str, input: &Option<QuantityInput>| {
        input
            .as_ref()
            .and_then(|q| v.check(field, q.parse().map_err(|e| e.field_error())))
    };
    let quantity = q("quantity", &input.quantity);
    let min_fill = q("min_fill", &input.min_fill);
    let min_lot = q("min_lot", &input.min_lot);
    if let Some(x) = quantity {
        m.quantity_milli = Set(x.milli());
    }
    if let Some(x) = min_fill {
        m.min_fill_milli = Set(x.milli());
    }
    if let Some(x) = min_lot {
        m.min_lot_milli = Set(x.milli());
    }
    if let Some(p) = input.max_price_fen {
        if !(1..=MAX_PRICE_FEN).contains(&p) {
            v.add(
                "max_price_fen",
                "out_of_range",
                format!("must be between 1 and {MAX_PRICE_FEN} fen"),
            );
        } else {
            m.max_price_fen = Set(p);
        }
    }
    check_delivery(db, &input, &mut m, &mut v, now).await?;
    if let Some(km) = input.max_distance_km {
        if !(1..=3000).contains(&km) {
            v.add(
                "max_distance_km",
                "out_of_range",
                "must be between 1 and 3000",
            );
        } else {
            m.max_distance_km = Set(km);
        }
    }
    if let Some(b) = input.prefer_benefit {
        m.prefer_benefit = Set(b);
    }
    v.finish()?;

    check_across(&m, base)?;
    m.updated_at = Set(now);
    Ok(m)
}

/// Checks and posts a buyer's request, matching it at once.
pub async fn post(
    db: &DatabaseConnection,
    rules: &Rules,
    actor: &Actor,
    input: RequestInput,
) -> AppResult<RequestWithProposals> {
    require_buyer(actor, "post purchase requests")?;
    let txn = crate::db::write_txn(db).await?;
    let posted = post_in(&txn, rules, actor, input).await?;
    txn.commit().await?;
    Ok(posted)
}

/// [`post`] within the write transaction `txn`, which takes the matching lock.
pub async fn post_in(
    txn: &impl sea_orm::ConnectionTrait,
    rules: &Rules,
    actor: &Actor,
    input: RequestInput,
) -> AppResult<RequestWithProposals> {
    require_buyer(actor, "post purchase requests")?;
    let mut m = apply(txn, input, None).await?;
    m.buyer_id = Set(actor.id());
    let r = m.insert(txn).await?;
    service::request_event(txn, RequestNews::Created, &r).await?;
    let proposals = service::match_request(txn, r.id, rules).await?;
    let proposals = proposal_views(txn, proposals).await?;
    Ok(RequestWithProposals {
        request: request_view(r, true),
        proposals,
    })
}

/// Requests `actor` may see: their own (buyers), all (admins), or, for producers, open
/// requests in the categories their organization sells within reach of its listings, and
/// those it was proposed for.
async fn visible_requests(
    db: &DatabaseConnection,
    actor: &Actor,
) -> AppResult<Vec<(purchase_request::Model, bool)>> {
    let q = purchase_request::Entity::find().order_by_desc(purchase_request::Column::Id);
    match actor.role {
        Role::Buyer => Ok(q
            .filter(purchase_request::Column::BuyerId.eq(actor.id()))
            .all(db)
            .await?
            .into_iter()
            .map(|r| (r, true))
            .collect()),
        Role::Admin => Ok(q.all(db).await?.into_iter().map(|r| (r, true)).collect()),
        Role::Producer => {
            let Some(org) = actor.organization_id() else {
                return Ok(Vec::new());
            };
            let listings = crate::catalog::entity::listing::Entity::find()
                .filter(crate::catalog::entity::listing::Column::OrganizationId.eq(org))
                .filter(crate::catalog::entity::listing::Column::DeletedAt.is_null())
                .all(db)
                .await?;
            // A request for a category or any category above one the organization sells.
            let cats = crate::matching::market::categories(db).await?;
            let mut all: Vec<i64> = listings
                .iter()
                .flat_map(|l| cats.ancestors(l.category_id))
                .collect();
            all.sort_unstable();
            all.dedup();
            let mine = proposal::Entity::find()
                .filter(proposal::Column::OrganizationId.eq(org))
                .all(db)
                .await?;
            let proposed: Vec<i64> = mine.iter().map(|p| p.request_id).collect();
            let ordered: Vec<i64> = mine
                .iter()
                .filter(|p| p.status == ProposalStatus::Ordered)
                .map(|p| p.request_id)
                .collect();
            let rows = q
                .filter(
                    sea_orm::Condition::any()
                        .add(
                            sea_orm::Condition::all()
                                .add(
                                    purchase_request::Column::Status.eq(RequestStatus::Open.code()),
                                )
                                .add(purchase_request::Column::CategoryId.is_in(all)),
                        )
                        .add(purchase_request::Column::Id.is_in(proposed.clone())),
                )
                .all(db)
                .await?;
            // Open requests only within reach of one of the organization's listings.
            let points: Vec<_> = crate::matching::market::listing_points(db, &listings)
                .await?
                .into_values()
                .collect();
            let mut out = Vec::new();
            for r in rows {
                let near = match crate::matching::market::delivery_point(db, &r).await? {
                    Some(at) => points
                        .iter()
                        .any(|p| p.distance_m(&at) <= i64::from(r.max_distance_km) * 1_000),
                    None => false,
                };
                if near || proposed.contains(&r.id) {
                    let contact = ordered.contains(&r.id);
                    out.push((r, contact));
                }
            }
            Ok(out)
        }
        Role::Official => Err(AppError::Forbidden(
            "purchase requests are for buyers, producers and admins".into(),
        )),
    }
}

/// The requests `actor` may see, newest first, at most 200.
pub async fn requests_for(db: &DatabaseConnection, actor: &Actor) -> AppResult<Vec<RequestView>> {
    let rows = visible_requests(db, actor).await?;
    Ok(rows
        .into_iter()
        .take(200)
        .map(|(r, contact)| request_view(r, contact))
        .collect())
}

async fn find_request(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i64,
) -> AppResult<(purchase_request::Model, bool)> {
    visible_requests(db, actor)
        .await?
        .into_iter()
        .find(|(r, _)| r.id == id)
        .ok_or(AppError::NotFound("purchase request"))
}

/// One request `actor` may see, with the proposals they may see.
pub async fn request_for(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i64,
) -> AppResult<RequestWithProposals> {
    let (r, contact) = find_request(db, actor, id).await?;
    let mut q = r
        .find_related(proposal::Entity)
        .order_by_asc(proposal::Column::Id);
    if actor.role == Role::Producer {
        q = q.filter(proposal::Column::OrganizationId.eq(actor.organization_id()));
    }
    let proposals = proposal_views(db, q.all(db).await?).await?;
    Ok(RequestWithProposals {
        request: request_view(r, contact),
        proposals,
    })
}

fn own_open(actor: &Actor, r: &purchase_request::Model) -> AppResult<()> {
    if r.buyer_id != actor.id() {
        return Err(AppError::Forbidden(
            "only the buyer who posted a request changes it".into(),
        ));
    }
    if r.status != RequestStatus::Open {
        return Err(AppError::Conflict(
            "request_closed",
            format!("this request is {}", r.status),
        ));
    }
    Ok(())
}

/// The proposals `actor` takes part in, newest first, at most 200.
pub async fn proposals_for(db: &DatabaseConnection, actor: &Actor) -> AppResult<Vec<ProposalView>> {
    let q = proposal::Entity::find().order_by_desc(proposal::Column::Id);
    let rows = match actor.role {
        Role::Buyer => {
            let mine: Vec<i64> = purchase_request::Entity::find()
                .filter(purchase_request::Column::BuyerId.eq(actor.id()))
                .all(db)
                .await?
                .into_iter()
                .map(|r| r.id)
                .collect();
            q.filter(proposal::Column::RequestId.is_in(mine))
                .all(db)
                .await?
        }
        Role::Producer => {
            q.filter(proposal::Column::OrganizationId.eq(actor.organization_id()))
                .all(db)
                .await?
        }
        Role::Admin => q.all(db).await?,
        Role::Official => {
            return Err(AppError::Forbidden(
                "proposals are for buyers, producers and admins".into(),
            ));
        }
    };
    proposal_views(db, rows.into_iter().take(200).collect()).await
}

/// Why a proposal is declined.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeclineInput {
    pub reason: Option<String>,
}

/// Changes an open request of the buyer's; its pending proposals are withdrawn and it is
/// matched again.
/// Whether `actor` may change request `id` now: 404 when they cannot see it, 403 when it is
/// not theirs, 409 when it is closed.
pub async fn changeable(db: &DatabaseConnection, actor: &Actor, id: i64) -> AppResult<()> {
    let (r, _) = find_request(db, actor, id).await?;
    own_open(actor, &r)
}

pub async fn change(
    db: &DatabaseConnection,
    rules: &Rules,
    actor: &Actor,
    id: i64,
    input: RequestInput,
) -> AppResult<RequestWithProposals> {
    let (r, _) = find_request(db, actor, id).await?;
    own_open(actor, &r)?;
    let mut m = apply(db, input, Some(&r)).await?;
    m.version = Set(r.version + 1);
    let txn = crate::db::write_txn(db).await?;
    service::withdraw_pending(&txn, &r, "request_changed").await?;
    let r = m.update(&txn).await?;
    service::request_event(&txn, RequestNews::Updated, &r).await?;
    let proposals = service::match_request(&txn, r.id, rules).await?;
    let proposals = proposal_views(&txn, proposals).await?;
    txn.commit().await?;
    Ok(RequestWithProposals {
        request: request_view(r, true),
        proposals,
    })
}

/// Closes an open request of the buyer's; pending proposals are withdrawn.
pub async fn cancel(db: &DatabaseConnection, actor: &Actor, id: i64) -> AppResult<RequestView> {
    let (r, _) = find_request(db, actor, id).await?;
    own_open(actor, &r)?;
    let txn = crate::db::write_txn(db).await?;
    service::withdraw_pending(&txn, &r, "request_cancelled").await?;
    let mut m: purchase_request::ActiveModel = r.clone().into();
    m.status = Set(RequestStatus::Closed);
    m.closed_reason = Set(Some(ClosedReason::Cancelled));
    m.version = Set(r.version + 1);
    m.updated_at = Set(Utc::now());
    let r = m.update(&txn).await?;
    service::request_event(&txn, RequestNews::Cancelled, &r).await?;
    txn.commit().await?;
    Ok(request_view(r, true))
}

/// Checks across fields, on the values the request will have: the quantity against its
/// minimums, its unit and what is already ordered.
fn check_across(
    m: &purchase_request::ActiveModel,
    base: Option<&purchase_request::Model>,
) -> AppResult<()> {
    let mut v = Validator::default();
    let get = |a: &sea_orm::ActiveValue<i64>| a.clone().unwrap();
    let (qty, fill, lot) = (
        get(&m.quantity_milli),
        get(&m.min_fill_milli),
        get(&m.min_lot_milli),
    );
    let unit = m.unit.clone().unwrap();
    if qty <= 0 {
        v.add("quantity", "out_of_range", "must be greater than zero");
    }
    if unit == Unit::Piece && qty % 1000 != 0 {
        v.add("quantity", "not_whole", "pieces need a whole number");
    }
    if fill > qty {
        v.add("min_fill", "out_of_range", "must not exceed the quantity");
    }
    if lot > qty {
        v.add("min_lot", "out_of_range", "must not exceed the quantity");
    }
    if let Some(b) = base
        && qty < b.filled_milli
    {
        v.add(
            "quantity",
            "below_filled",
            format!(
                "{} are already ordered",
                Quantity::from_milli(b.filled_milli)
            ),
        );
    }
    v.finish()
}

/// Checks where, to whom and by when the goods go, setting what is valid onto `m`.
async fn check_delivery(
    db: &impl sea_orm::ConnectionTrait,
    input: &RequestInput,
    m: &mut purchase_request::ActiveModel,
    v: &mut Validator,
    now: chrono::DateTime<Utc>,
) -> Result<(), sea_orm::DbErr> {
    if let Some(code) = &input.region_code {
        if county_of(code).is_none() || regions::find(db, code).await?.is_none() {
            v.add(
                "region_code",
                "unknown",
                "must be the code of an existing county, township or village",
            );
        } else {
            m.region_code = Set(code.clone());
        }
    }
    match (input.latitude, input.longitude) {
        (Some(lat), Some(lng)) => {
            if !(-90.0..=90.0).contains(&lat) {
                v.add("latitude", "out_of_range", "must be between -90 and 90");
            } else if !(-180.0..=180.0).contains(&lng) {
                v.add("longitude", "out_of_range", "must be between -180 and 180");
            } else {
                m.latitude = Set(Some(lat));
                m.longitude = Set(Some(lng));
            }
        }
        (None, None) => {}
        (None, Some(_)) => v.add("latitude", "required", "give latitude with longitude"),
        (Some(_), None) => v.add("longitude", "required", "give longitude with latitude"),
    }
    if let Some(a) = &input.address_line
        && let Some(a) = v.check("address_line", text(a, 2, 200))
    {
        m.address_line = Set(a);
    }
    if let Some(a) = &input.contact_name
        && let Some(a) = v.check("contact_name", text(a, 1, 32))
    {
        m.contact_name = Set(a);
    }
    if let Some(a) = &input.contact_phone
        && let Some(a) = v.check("contact_phone", phone(a))
    {
        m.contact_phone = Set(a);
    }
    if let Some(d) = &input.deliver_by {
        let today = now.date_naive();
        match NaiveDate::parse_from_str(d, "%Y-%m-%d") {
            Err(_) => v.add("deliver_by", "invalid", "must be a date such as 2026-10-10"),
            Ok(d) if d < today => v.add("deliver_by", "in_the_past", "must be today or later"),
            Ok(d) if d > today + chrono::Duration::days(366) => {
                v.add("deliver_by", "out_of_range", "must be within a year")
            }
            Ok(d) => m.deliver_by = Set(d),
        }
    }
    Ok(())
}
