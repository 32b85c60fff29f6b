//! Sellers' delivery methods and their rate tables, listings' shipping needs, and the
//! freight of a checkout's orders: quoted from what was read before the order's transaction,
//! kept on each order as a snapshot that reproduces the charge.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, ModelTrait,
    PaginatorTrait, QueryFilter, QueryOrder, Set,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::entity::{delivery_method, delivery_rate, listing_shipping};
use super::freight::{self, Destination, MethodKind, Parcel, Quote, Rate, Terms, Unfit};
use crate::accounts::{Actor, Role};
use crate::catalog::domain::{MAX_PRICE_FEN, Unit};
use crate::catalog::entity::{listing, region};
use crate::catalog::regions;
use crate::division::{RegionLevel, region_level};
use crate::error::{AppError, AppResult, Validator};
use crate::fields::text;

/// Most delivery methods one seller keeps.
pub const MAX_METHODS: u64 = 20;
/// Most rows one rate table holds: one per province and a default.
pub const MAX_RATES: usize = 40;
/// Most regions own delivery names.
pub const MAX_AREA: usize = 30;
/// The heaviest weight any field takes, in grams (1 000 t).
pub const MAX_WEIGHT_G: i64 = 1_000_000_000;

/// A delivery method as a seller sends it.
#[derive(Debug, Default, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MethodRequest {
    /// `express` (快递), `own` (自送), `pickup` (自提点) or `warehouse` (集采仓).
    pub kind: String,
    #[schema(max_length = 60)]
    pub name: String,
    /// Carries goods that need the cold chain.
    #[serde(default)]
    pub cold_chain: bool,
    /// The flat fee of own delivery, a pickup point or a warehouse, in fen.
    #[serde(default)]
    pub fee_fen: i64,
    /// Express: added when the parcel holds cold-chain goods, in fen.
    #[serde(default)]
    pub cold_surcharge_fen: i64,
    /// Own delivery: the division codes of the regions served.
    #[serde(default)]
    pub area: Vec<String>,
    /// Own delivery: also within this many kilometres of the seller.
    pub radius_km: Option<i32>,
    /// Pickup point or warehouse: its county, township or village.
    #[serde(default)]
    pub region_code: String,
    #[serde(default)]
    pub address: String,
    /// Pickup point: opening hours, e.g. "每天 8:00–18:00".
    #[serde(default)]
    pub hours: String,
    /// Warehouse: the smallest lot it takes, in grams.
    #[serde(default)]
    pub min_weight_g: i64,
    /// Express: the rate table, one row per destination province and at most one default row
    /// (empty `province_code`).
    #[serde(default)]
    pub rates: Vec<Rate>,
}

/// A delivery method as anyone reads it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MethodView {
    pub id: i64,
    pub organization_id: i64,
    pub kind: MethodKind,
    pub name: String,
    pub cold_chain: bool,
    pub fee_fen: i64,
    pub cold_surcharge_fen: i64,
    pub area: Vec<String>,
    pub radius_km: Option<i32>,
    pub region_code: String,
    pub address: String,
    pub hours: String,
    pub min_weight_g: i64,
    pub rates: Vec<Rate>,
}

impl MethodView {
    fn of(m: delivery_method::Model, rates: Vec<delivery_rate::Model>) -> MethodView {
        let mut rates: Vec<Rate> = rates
            .into_iter()
            .map(|r| Rate {
                province_code: r.province_code,
                first_weight_g: r.first_weight_g,
                first_fee_fen: r.first_fee_fen,
                step_weight_g: r.step_weight_g,
                step_fee_fen: r.step_fee_fen,
            })
            .collect();
        // Provinces in code order, the default row last.
        rates.sort_by_key(|r| (r.province_code.is_empty(), r.province_code.clone()));
        MethodView {
            id: m.id,
            organization_id: m.organization_id,
            kind: m.kind,
            name: m.name,
            cold_chain: m.cold_chain,
            fee_fen: m.fee_fen,
            cold_surcharge_fen: m.cold_surcharge_fen,
            area: split_area(&m.area),
            radius_km: m.radius_km,
            region_code: m.region_code,
            address: m.address,
            hours: m.hours,
            min_weight_g: m.min_weight_g,
            rates,
        }
    }

    /// What a quote reads.
    pub fn terms(&self) -> Terms {
        Terms {
            kind: self.kind,
            cold_chain: self.cold_chain,
            fee_fen: self.fee_fen,
            cold_surcharge_fen: self.cold_surcharge_fen,
            area: self.area.clone(),
            radius_km: self.radius_km,
            min_weight_g: self.min_weight_g,
            rates: self.rates.clone(),
        }
    }
}

fn split_area(area: &str) -> Vec<String> {
    area.split(',')
        .filter(|c| !c.is_empty())
        .map(str::to_string)
        .collect()
}

fn money(v: &mut Validator, field: &str, fen: i64) {
    if !(0..=MAX_PRICE_FEN).contains(&fen) {
        v.add(
            field,
            "out_of_range",
            format!("must be between 0 and {MAX_PRICE_FEN} fen"),
        );
    }
}

fn weight(v: &mut Validator, field: &str, grams: i64, min: i64) {
    if !(min..=MAX_WEIGHT_G).contains(&grams) {
        v.add(
            field,
            "out_of_range",
            format!("must be between {min} and {MAX_WEIGHT_G} grams"),
        );
    }
}

/// A region code that exists at one of `levels`, or a field error.
async fn known_region(
    db: &impl ConnectionTrait,
    v: &mut Validator,
    field: &str,
    code: &str,
    levels: &[RegionLevel],
    what: &str,
) -> AppResult<()> {
    let level_ok = region_level(code).is_some_and(|l| levels.contains(&l));
    if !level_ok || regions::find(db, code).await?.is_none() {
        v.add(
            field,
            "unknown",
            format!("must be the code of an existing {what}"),
        );
    }
    Ok(())
}

impl MethodRequest {
    /// Checks every field for the method's kind, reporting all problems at once.
    async fn check(&self, db: &impl ConnectionTrait) -> AppResult<MethodKind> {
        let mut v = Validator::default();
        let kind = crate::catalog::draft::code_of(
            "kind",
            &self.kind,
            MethodKind::from_code,
            MethodKind::codes(),
            &mut v,
        );
        v.check("name", text(&self.name, 1, 60));
        money(&mut v, "fee_fen", self.fee_fen);
        money(&mut v, "cold_surcharge_fen", self.cold_surcharge_fen);
        match kind {
            Some(MethodKind::Express) => self.check_rates(db, &mut v).await?,
            Some(MethodKind::Own) => self.check_area(db, &mut v).await?,
            Some(MethodKind::Pickup | MethodKind::Warehouse) => {
                known_region(
                    db,
                    &mut v,
                    "region_code",
                    &self.region_code,
                    &[
                        RegionLevel::County,
                        RegionLevel::Township,
                        RegionLevel::Village,
                    ],
                    "county, township or village",
                )
                .await?;
                v.check("address", text(&self.address, 2, 200));
                let min_hours = usize::from(kind == Some(MethodKind::Pickup));
                v.check("hours", text(&self.hours, min_hours, 100));
                weight(&mut v, "min_weight_g", self.min_weight_g, 0);
            }
            None => {}
        }
        v.finish()?;
        Ok(kind.unwrap_or(MethodKind::Express))
    }

    async fn check_rates(&self, db: &impl ConnectionTrait, v: &mut Validator) -> AppResult<()> {
        if self.rates.is_empty() {
            v.add(
                "rates",
                "required",
                "an express method needs its rate table: at least one row",
            );
        }
        if self.rates.len() > MAX_RATES {
            v.add("rates", "too_many", format!("at most {MAX_RATES} rows"));
        }
        let mut seen = HashSet::new();
        for (i, r) in self.rates.iter().enumerate().take(MAX_RATES) {
            let field = |f: &str| format!("rates[{i}].{f}");
            if !r.province_code.is_empty() {
                known_region(
                    db,
                    v,
                    &field("province_code"),
                    &r.province_code,
                    &[RegionLevel::Province],
                    "province (or empty for the default row)",
                )
                .await?;
            }
            if !seen.insert(r.province_code.as_str()) {
                v.add(
                    &field("province_code"),
                    "duplicate",
                    "the table already has a row for this province",
                );
            }
            weight(v, &field("first_weight_g"), r.first_weight_g, 1);
            weight(v, &field("step_weight_g"), r.step_weight_g, 1);
            money(v, &field("first_fee_fen"), r.first_fee_fen);
            money(v, &field("step_fee_fen"), r.step_fee_fen);
        }
        Ok(())
    }

    async fn check_area(&self, db: &impl ConnectionTrait, v: &mut Validator) -> AppResult<()> {
        if self.area.is_empty() && self.radius_km.is_none() {
            v.add(
                "area",
                "required",
                "name the regions delivered to, or a radius",
            );
        }
        if self.area.len() > MAX_AREA {
            v.add("area", "too_many", format!("at most {MAX_AREA} regions"));
        }
        for (i, code) in self.area.iter().enumerate().take(MAX_AREA) {
            known_region(
                db,
                v,
                &format!("area[{i}]"),
                code,
                &[
                    RegionLevel::Province,
                    RegionLevel::Prefecture,
                    RegionLevel::County,
                    RegionLevel::Township,
                    RegionLevel::Village,
                ],
                "region",
            )
            .await?;
        }
        if let Some(km) = self.radius_km
            && !(1..=500).contains(&km)
        {
            v.add("radius_km", "out_of_range", "between 1 and 500 km");
        }
        Ok(())
    }
}

/// The producer's organization, or 403 for anyone else.
pub fn sellers_org(actor: &Actor) -> AppResult<i64> {
    if actor.role != Role::Producer {
        return Err(AppError::Forbidden(
            "only producer staff keep delivery methods".into(),
        ));
    }
    actor
        .organization_id()
        .ok_or_else(|| AppError::Forbidden("your account belongs to no organization".into()))
}

/// A seller's delivery methods, oldest first.
pub async fn list(db: &impl ConnectionTrait, organization_id: i64) -> AppResult<Vec<MethodView>> {
    Ok(methods_of(db, &[organization_id])
        .await?
        .remove(&organization_id)
        .unwrap_or_default())
}

/// The delivery methods of several sellers, oldest first: two statements.
pub async fn methods_of(
    db: &impl ConnectionTrait,
    organization_ids: &[i64],
) -> AppResult<HashMap<i64, Vec<MethodView>>> {
    let methods = delivery_method::Entity::find()
        .filter(delivery_method::Column::OrganizationId.is_in(organization_ids.iter().copied()))
        .order_by_asc(delivery_method::Column::Id)
        .find_with_related(delivery_rate::Entity)
        .all(db)
        .await?;
    let mut out: HashMap<i64, Vec<MethodView>> = HashMap::new();
    for (m, rates) in methods {
        out.entry(m.organization_id)
            .or_default()
            .push(MethodView::of(m, rates));
    }
    for list in out.values_mut() {
        list.sort_by_key(|m| m.id);
    }
    Ok(out)
}

fn apply(m: &mut delivery_method::ActiveModel, req: &MethodRequest, kind: MethodKind) {
    let keep = |on: bool, s: &str| {
        if on {
            s.trim().to_string()
        } else {
            String::new()
        }
    };
    let placed = matches!(kind, MethodKind::Pickup | MethodKind::Warehouse);
    m.kind = Set(kind);
    m.name = Set(req.name.trim().to_string());
    m.cold_chain = Set(req.cold_chain);
    m.fee_fen = Set(if kind == MethodKind::Express {
        0
    } else {
        req.fee_fen
    });
    m.cold_surcharge_fen = Set(if kind == MethodKind::Express {
        req.cold_surcharge_fen
    } else {
        0
    });
    m.area = Set(if kind == MethodKind::Own {
        req.area.join(",")
    } else {
        String::new()
    });
    m.radius_km = Set(req.radius_km.filter(|_| kind == MethodKind::Own));
    m.region_code = Set(keep(placed, &req.region_code));
    m.address = Set(keep(placed, &req.address));
    m.hours = Set(keep(placed, &req.hours));
    m.min_weight_g = Set(if kind == MethodKind::Warehouse {
        req.min_weight_g
    } else {
        0
    });
    m.updated_at = Set(Utc::now());
}

async fn write_rates(
    db: &impl ConnectionTrait,
    method_id: i64,
    kind: MethodKind,
    rates: &[Rate],
) -> AppResult<()> {
    delivery_rate::Entity::delete_many()
        .filter(delivery_rate::Column::MethodId.eq(method_id))
        .exec(db)
        .await?;
    if kind != MethodKind::Express || rates.is_empty() {
        return Ok(());
    }
    delivery_rate::Entity::insert_many(rates.iter().map(|r| delivery_rate::ActiveModel {
        method_id: Set(method_id),
        province_code: Set(r.province_code.clone()),
        first_weight_g: Set(r.first_weight_g),
        first_fee_fen: Set(r.first_fee_fen),
        step_weight_g: Set(r.step_weight_g),
        step_fee_fen: Set(r.step_fee_fen),
        ..Default::default()
    }))
    .exec(db)
    .await?;
    Ok(())
}

async fn view(db: &impl ConnectionTrait, id: i64) -> AppResult<MethodView> {
    let m = delivery_method::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("delivery method"))?;
    let rates = m.find_related(delivery_rate::Entity).all(db).await?;
    Ok(MethodView::of(m, rates))
}

/// Adds a delivery method to the producer's organization (audited).
pub async fn create(
    db: &impl ConnectionTrait,
    actor: &Actor,
    req: &MethodRequest,
) -> AppResult<MethodView> {
    let org = sellers_org(actor)?;
    let kind = req.check(db).await?;
    let count = delivery_method::Entity::find()
        .filter(delivery_method::Column::OrganizationId.eq(org))
        .count(db)
        .await?;
    if count >= MAX_METHODS {
        return Err(AppError::Conflict(
            "too_many_methods",
            format!("a seller keeps at most {MAX_METHODS} delivery methods"),
        ));
    }
    let mut m = delivery_method::ActiveModel {
        organization_id: Set(org),
        created_at: Set(Utc::now()),
        ..Default::default()
    };
    apply(&mut m, req, kind);
    let m = m.insert(db).await?;
    write_rates(db, m.id, kind, &req.rates).await?;
    audit(db, actor, "delivery_method.create", m.id, req).await?;
    view(db, m.id).await
}

async fn own(
    db: &impl ConnectionTrait,
    actor: &Actor,
    id: i64,
) -> AppResult<delivery_method::Model> {
    let org = sellers_org(actor)?;
    delivery_method::Entity::find_by_id(id)
        .filter(delivery_method::Column::OrganizationId.eq(org))
        .one(db)
        .await?
        .ok_or(AppError::NotFound("delivery method"))
}

/// Replaces one of the producer's methods (audited). Orders already placed keep the terms
/// they were charged by.
pub async fn update(
    db: &impl ConnectionTrait,
    actor: &Actor,
    id: i64,
    req: &MethodRequest,
) -> AppResult<MethodView> {
    let m = own(db, actor, id).await?;
    let kind = req.check(db).await?;
    let mut m = m.into_active_model();
    apply(&mut m, req, kind);
    let m = m.update(db).await?;
    write_rates(db, m.id, kind, &req.rates).await?;
    audit(db, actor, "delivery_method.update", m.id, req).await?;
    view(db, m.id).await
}

/// Removes one of the producer's methods (audited).
pub async fn delete(db: &impl ConnectionTrait, actor: &Actor, id: i64) -> AppResult<()> {
    let m = own(db, actor, id).await?;
    delivery_rate::Entity::delete_many()
        .filter(delivery_rate::Column::MethodId.eq(m.id))
        .exec(db)
        .await?;
    delivery_method::Entity::delete_by_id(m.id).exec(db).await?;
    crate::audit::record(
        db,
        Some(actor.id()),
        "delivery_method.delete",
        "delivery_method",
        m.id,
        serde_json::json!({"organization": m.organization_id, "name": m.name}),
    )
    .await?;
    Ok(())
}

async fn audit(
    db: &impl ConnectionTrait,
    actor: &Actor,
    action: &str,
    id: i64,
    req: &MethodRequest,
) -> AppResult<()> {
    crate::audit::record(
        db,
        Some(actor.id()),
        action,
        "delivery_method",
        id,
        serde_json::json!({
            "organization": actor.organization_id(),
            "kind": req.kind,
            "name": req.name,
            "fee_fen": req.fee_fen,
            "rates": req.rates.len(),
        }),
    )
    .await?;
    Ok(())
}

// ---------------------------------------------------------------- shipping

/// What a listing needs to travel.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Shipping {
    /// Perishable: only methods with the cold chain may carry it.
    #[serde(default)]
    pub cold_chain: bool,
    /// Grams per piece, for listings sold by the piece; express and warehouses weigh by it.
    pub piece_weight_g: Option<i64>,
}

/// Sets a listing's shipping needs; its own producer only.
pub async fn set_shipping(
    db: &impl ConnectionTrait,
    actor: &Actor,
    listing_id: i64,
    s: &Shipping,
) -> AppResult<Shipping> {
    let l = crate::catalog::listings::find_own(db, actor, listing_id).await?;
    if let Some(g) = s.piece_weight_g {
        let mut v = Validator::default();
        weight(&mut v, "piece_weight_g", g, 1);
        v.finish()?;
    }
    let row = listing_shipping::ActiveModel {
        listing_id: Set(l.id),
        cold_chain: Set(s.cold_chain),
        piece_weight_g: Set(s.piece_weight_g),
        updated_at: Set(Utc::now()),
    };
    let found = listing_shipping::Entity::find_by_id(l.id).one(db).await?;
    if found.is_some() {
        row.update(db).await?;
    } else {
        row.insert(db).await?;
    }
    crate::audit::record(
        db,
        Some(actor.id()),
        "listing.shipping",
        "listing",
        l.id,
        serde_json::json!({"cold_chain": s.cold_chain, "piece_weight_g": s.piece_weight_g}),
    )
    .await?;
    Ok(s.clone())
}

/// The shipping needs of listings (none recorded: not cold, no piece weight).
pub async fn shipping_of(
    db: &impl ConnectionTrait,
    listing_ids: &[i64],
) -> AppResult<HashMap<i64, Shipping>> {
    Ok(listing_shipping::Entity::find()
        .filter(listing_shipping::Column::ListingId.is_in(listing_ids.iter().copied()))
        .all(db)
        .await?
        .into_iter()
        .map(|s| {
            (
                s.listing_id,
                Shipping {
                    cold_chain: s.cold_chain,
                    piece_weight_g: s.piece_weight_g,
                },
            )
        })
        .collect())
}

// ---------------------------------------------------------------- quotes

/// A buyer's choice of method for one seller's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Choice {
    pub organization_id: i64,
    pub method_id: i64,
}

/// One method offered for one seller's order, with its freight or why it cannot carry it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MethodOption {
    pub method: MethodView,
    /// The freight, when the method can carry the order.
    pub quote: Option<Quote>,
    /// Why not, as a stable code.
    pub unfit: Option<Unfit>,
}

/// The method that carries an order for the least freight (the oldest among equals), if any
/// can: what a buyer who chooses none gets.
pub fn cheapest(options: &[MethodOption]) -> Option<&MethodOption> {
    options
        .iter()
        .filter_map(|o| o.quote.as_ref().map(|q| (q.fee_fen, o.method.id, o)))
        .min_by_key(|(fee, id, _)| (*fee, *id))
        .map(|(_, _, o)| o)
}

/// What an order records of its delivery: the method as it was, and the quote.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Snapshot {
    pub method_id: i64,
    pub kind: MethodKind,
    pub name: String,
    pub cold_chain: bool,
    pub region_code: String,
    pub address: String,
    pub hours: String,
    pub quote: Quote,
}

/// Everything checkout needs to charge freight, read before its transaction: the sellers'
/// methods, the listings' shipping needs and where the sellers and the address are.
#[derive(Debug, Clone, Default)]
pub struct Freight {
    methods: HashMap<i64, Vec<MethodView>>,
    shipping: HashMap<i64, Shipping>,
    /// Each seller's distance from the address in metres, where both places are known.
    distance_m: HashMap<i64, i64>,
}

/// A seller's order as freight sees it: the lines' listings and quantities.
pub struct OrderLines<'a> {
    pub organization_id: i64,
    pub lines: Vec<(&'a listing::Model, i64)>,
}

impl Freight {
    /// Reads what the sellers of `listings` charge to deliver to `region_code`.
    pub async fn read(
        db: &impl ConnectionTrait,
        listings: &[&listing::Model],
        seller_regions: &HashMap<i64, String>,
        region_code: &str,
    ) -> AppResult<Freight> {
        let orgs: Vec<i64> = seller_regions.keys().copied().collect();
        let methods = methods_of(db, &orgs).await?;
        let ids: Vec<i64> = listings.iter().map(|l| l.id).collect();
        let shipping = shipping_of(db, &ids).await?;
        let radius = methods.values().flatten().any(|m| m.radius_km.is_some());
        let mut distance_m = HashMap::new();
        if radius {
            let mut codes: HashSet<String> = seller_regions.values().cloned().collect();
            codes.insert(region_code.to_string());
            let points: HashMap<String, crate::geo::Point> = region::Entity::find()
                .filter(region::Column::Code.is_in(codes))
                .all(db)
                .await?
                .into_iter()
                .filter_map(|r| {
                    let p = crate::geo::Point::new(r.latitude?, r.longitude?);
                    Some((r.code, p))
                })
                .collect();
            if let Some(to) = points.get(region_code) {
                for (org, code) in seller_regions {
                    if let Some(from) = points.get(code) {
                        distance_m.insert(*org, from.distance_m(to));
                    }
                }
            }
        }
        Ok(Freight {
            methods,
            shipping,
            distance_m,
        })
    }

    /// The parcel one seller's order makes.
    pub fn parcel(&self, order: &OrderLines<'_>) -> Parcel {
        let mut p = Parcel::empty();
        for (l, milli) in &order.lines {
            let s = self.shipping.get(&l.id).cloned().unwrap_or_default();
            let piece = s.piece_weight_g.filter(|_| l.unit == Unit::Piece);
            p.add(l.unit, *milli, piece, s.cold_chain);
        }
        p
    }

    /// Every method of the order's seller, each with its freight or why not.
    pub fn options(&self, order: &OrderLines<'_>, region_code: &str) -> Vec<MethodOption> {
        let parcel = self.parcel(order);
        let to = Destination {
            region_code,
            distance_m: self.distance_m.get(&order.organization_id).copied(),
        };
        self.methods
            .get(&order.organization_id)
            .into_iter()
            .flatten()
            .map(|m| match freight::quote(&m.terms(), parcel, to) {
                Ok(q) => MethodOption {
                    method: m.clone(),
                    quote: Some(q),
                    unfit: None,
                },
                Err(u) => MethodOption {
                    method: m.clone(),
                    quote: None,
                    unfit: Some(u),
                },
            })
            .collect()
    }

    /// The delivery of each seller's order: the method the buyer chose, else the cheapest
    /// that can carry it; none for a seller who keeps no methods (delivery arranged with the
    /// seller, no freight). Refusals name the field: `delivery[i].method_id` for a choice,
    /// `delivery` for a seller none of whose methods fits.
    pub fn choose(
        &self,
        orders: &[OrderLines<'_>],
        region_code: &str,
        choices: &[Choice],
    ) -> AppResult<BTreeMap<i64, Snapshot>> {
        let mut v = Validator::default();
        let sellers: HashSet<i64> = orders.iter().map(|o| o.organization_id).collect();
        let mut chosen: HashMap<i64, (usize, i64)> = HashMap::new();
        for (i, c) in choices.iter().enumerate() {
            if !sellers.contains(&c.organization_id) {
                v.add(
                    &format!("delivery[{i}].organization_id"),
                    "not_in_order",
                    "no line of this checkout is sold by this seller",
                );
            } else if chosen.insert(c.organization_id, (i, c.method_id)).is_some() {
                v.add(
                    &format!("delivery[{i}].organization_id"),
                    "duplicate",
                    "one method per seller",
                );
            }
        }
        let mut out = BTreeMap::new();
        for order in orders {
            let options = self.options(order, region_code);
            if options.is_empty() {
                if let Some((i, _)) = chosen.get(&order.organization_id) {
                    v.add(
                        &format!("delivery[{i}].method_id"),
                        "unknown",
                        "this seller keeps no delivery methods; delivery is arranged with them",
                    );
                }
                continue;
            }
            let fitting = |o: &'_ MethodOption| o.quote.clone().map(|q| (o.method.clone(), q));
            let picked = match chosen.get(&order.organization_id) {
                Some(&(i, id)) => {
                    let field = format!("delivery[{i}].method_id");
                    match options.iter().find(|o| o.method.id == id) {
                        None => {
                            v.add(&field, "unknown", "not a delivery method of this seller");
                            None
                        }
                        Some(o) => {
                            if let Some(u) = o.unfit {
                                v.add(&field, u.code(), u.reason());
                            }
                            fitting(o)
                        }
                    }
                }
                None => {
                    let cheapest = cheapest(&options).and_then(fitting);
                    if cheapest.is_none() {
                        let why = options
                            .iter()
                            .filter_map(|o| {
                                o.unfit
                                    .map(|u| format!("{}: {}", o.method.name, u.reason()))
                            })
                            .collect::<Vec<_>>()
                            .join("; ");
                        v.add(
                            "delivery",
                            "no_delivery_method",
                            format!(
                                "no delivery method of seller {} can carry this order ({why})",
                                order.organization_id
                            ),
                        );
                    }
                    cheapest
                }
            };
            if let Some((m, quote)) = picked {
                out.insert(
                    order.organization_id,
                    Snapshot {
                        method_id: m.id,
                        kind: m.kind,
                        name: m.name,
                        cold_chain: m.cold_chain,
                        region_code: m.region_code,
                        address: m.address,
                        hours: m.hours,
                        quote,
                    },
                );
            }
        }
        v.finish()?;
        Ok(out)
    }
}
