//! Checkout: the cart (or the given lines) becomes one order per seller organization,
//! with every line's stock reserved by a conditional update, all in one transaction.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect, QueryTrait, Set,
};

use super::domain::{OrderStatus, Party, PaymentStatus, Step, line_amount};
use super::entity::{order, order_event, order_line};
use super::events;
use crate::accounts::entity::user;
use crate::catalog::domain::{ListingStatus, Quantity, Unit, VerificationStatus};
use crate::catalog::entity::{listing, organization};
use crate::delivery::methods::{Choice, Freight, MethodOption, OrderLines, Snapshot};
use crate::error::{AppError, AppResult, Busy, Validator};
use crate::outbox::events::OrderNews;

/// Where the goods go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    pub recipient_name: String,
    pub phone: String,
    pub region_code: String,
    pub line: String,
}

/// One line to buy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineInput {
    pub listing_id: i64,
    pub quantity: Quantity,
    /// The unit the buyer agreed to; refused if the listing now sells in another.
    pub unit: Option<Unit>,
    /// A unit price agreed beforehand (a season contract's), charged instead of the listing's.
    pub agreed_price_fen: Option<i64>,
}

impl LineInput {
    /// The unit price this line is bought at: the agreed one, else the listing's.
    pub fn price_of(&self, l: &listing::Model) -> i64 {
        self.agreed_price_fen.unwrap_or(l.price_fen)
    }
}

/// A checked checkout.
#[derive(Debug, Clone)]
pub struct Checkout {
    pub address: Address,
    pub note: String,
    pub lines: Vec<LineInput>,
    /// The buyer unit its orders count for.
    pub unit: Option<crate::buyers::units::Attribution>,
    /// The campaign each listing is sold under today, if any: an order keeps the earliest
    /// organized among its lines'.
    pub campaigns: HashMap<i64, i64>,
    /// The delivery method the buyer chose per seller; a seller left out gets its cheapest
    /// method that can carry the order.
    pub delivery: Vec<Choice>,
    /// The season contract its orders deliver against, if any.
    pub contract_id: Option<i64>,
}

fn line_field(i: usize, field: &str) -> String {
    format!("lines[{i}].{field}")
}

/// An order just placed, with what was written for it.
#[derive(Debug, Clone)]
pub struct Placed {
    pub order: order::Model,
    pub lines: Vec<order_line::Model>,
    pub events: Vec<order_event::Model>,
}

/// Places `checkout` for `buyer`, who has already been checked to be one (both sides
/// accepting a matching proposal), reading the listings inside `db`'s transaction.
pub async fn place_for(
    db: &impl ConnectionTrait,
    buyer: &user::Model,
    checkout: Checkout,
) -> AppResult<Vec<Placed>> {
    let offers = Offers::for_checkout(db, &checkout).await?;
    place_offered(db, buyer, checkout, &offers).await
}

/// Places `checkout` at the terms of `offers`, the listings as read before the transaction
/// began (so that on SQLite the write lock is not held while they are read). What it writes
/// goes in as few statements as it can, the same number however many sellers and lines:
/// the orders, their lines, their timelines, then the stock (each listing's hot row locked
/// as late as possible, until the commit that follows), then the events.
///
/// Each line's stock is taken only while its listing still sells on the terms read; a
/// listing changed since gives [`Busy::Conflict`], so the checkout is tried again with the
/// listings as they now are.
pub async fn place_offered(
    db: &impl ConnectionTrait,
    buyer: &user::Model,
    checkout: Checkout,
    offers: &Offers,
) -> AppResult<Vec<Placed>> {
    place_offered_at(db, buyer, checkout, offers, Utc::now()).await
}

/// [`place_offered`] at `now`: the moment the orders and their timelines say they were placed.
pub async fn place_offered_at(
    db: &impl ConnectionTrait,
    buyer: &user::Model,
    checkout: Checkout,
    offers: &Offers,
    now: DateTime<Utc>,
) -> AppResult<Vec<Placed>> {
    if checkout.lines.is_empty() {
        return Err(AppError::field(
            "lines",
            "required",
            "nothing to check out: the cart is empty",
        ));
    }
    offers.check(&checkout.lines)?;
    let delivery = offers.delivery(&checkout)?;
    let placed = write_orders(db, buyer.id, &checkout, offers, &delivery, now).await?;
    let after = reserve(db, &checkout.lines, offers, now).await?;

    let mut announced = Vec::new();
    for p in &placed {
        announced.push(events::order_event(&p.order, OrderNews::Placed));
        announced.push(events::sales_event(&p.order));
    }
    let mut taken: BTreeMap<i64, i64> = BTreeMap::new();
    for line in &checkout.lines {
        *taken.entry(line.listing_id).or_default() += line.quantity.milli();
    }
    for (id, milli) in taken {
        if let Some(l) = after.get(&id) {
            announced.extend(crate::catalog::listings::stock_taken(l, milli));
        }
    }
    crate::outbox::enqueue_all(db, announced).await?;
    Ok(placed)
}

/// One seller's part of a cart: its goods and what each of its methods charges.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct SellerFreight {
    pub organization_id: i64,
    pub seller_name: String,
    pub goods_fen: i64,
    /// Every method the seller keeps, with its freight or why it cannot carry this order. None
    /// at all: delivery is arranged with the seller, with no freight.
    pub options: Vec<MethodOption>,
}

/// The listings a checkout names and their sellers, as they were before it.
#[derive(Debug, Clone)]
pub struct Offers {
    listings: HashMap<i64, listing::Model>,
    orgs: HashMap<i64, organization::Model>,
    /// What the sellers charge to deliver to the checkout's address.
    freight: Freight,
}

impl Offers {
    /// Reads the listings `lines` name, and their organizations, in one statement.
    pub async fn read(db: &impl ConnectionTrait, lines: &[LineInput]) -> Result<Offers, DbErr> {
        let ids: Vec<i64> = lines.iter().map(|l| l.listing_id).collect();
        let mut offers = Offers {
            listings: HashMap::new(),
            orgs: HashMap::new(),
            freight: Freight::default(),
        };
        let found = listing::Entity::find()
            .filter(listing::Column::Id.is_in(ids))
            .find_also_related(organization::Entity)
            .all(db)
            .await?;
        for (l, org) in found {
            if let Some(o) = org {
                offers.orgs.insert(o.id, o);
            }
            offers.listings.insert(l.id, l);
        }
        Ok(offers)
    }

    /// Reads the listings `checkout` names, their sellers, and what the sellers charge to
    /// deliver to its address.
    pub async fn for_checkout(db: &impl ConnectionTrait, checkout: &Checkout) -> AppResult<Offers> {
        Offers::delivered(db, &checkout.lines, &checkout.address.region_code).await
    }

    /// Reads the listings `lines` name, their sellers, and what the sellers charge to deliver
    /// to `region_code`.
    pub async fn delivered(
        db: &impl ConnectionTrait,
        lines: &[LineInput],
        region_code: &str,
    ) -> AppResult<Offers> {
        let mut offers = Offers::read(db, lines).await?;
        let listings: Vec<&listing::Model> = offers.listings.values().collect();
        let sellers: HashMap<i64, String> = offers
            .orgs
            .values()
            .map(|o| (o.id, o.region_code.clone()))
            .collect();
        offers.freight = Freight::read(db, &listings, &sellers, region_code).await?;
        Ok(offers)
    }

    /// Each seller's order as freight sees it, in seller order.
    pub fn orders<'a>(&'a self, lines: &[LineInput]) -> Vec<OrderLines<'a>> {
        let mut by_org: BTreeMap<i64, Vec<(&listing::Model, i64)>> = BTreeMap::new();
        for line in lines {
            if let Some(l) = self.listings.get(&line.listing_id) {
                by_org
                    .entry(l.organization_id)
                    .or_default()
                    .push((l, line.quantity.milli()));
            }
        }
        by_org
            .into_iter()
            .map(|(organization_id, lines)| OrderLines {
                organization_id,
                lines,
            })
            .collect()
    }

    /// The delivery each seller's order goes by, and its freight.
    pub fn delivery(&self, checkout: &Checkout) -> AppResult<BTreeMap<i64, Snapshot>> {
        self.freight.choose(
            &self.orders(&checkout.lines),
            &checkout.address.region_code,
            &checkout.delivery,
        )
    }

    /// Each seller's name, goods and methods with their freight to `region_code`, for the cart.
    pub fn quotes(&self, lines: &[LineInput], region_code: &str) -> Vec<SellerFreight> {
        self.orders(lines)
            .iter()
            .map(|o| SellerFreight {
                organization_id: o.organization_id,
                seller_name: self
                    .orgs
                    .get(&o.organization_id)
                    .map(|org| org.name.clone())
                    .unwrap_or_default(),
                goods_fen: o
                    .lines
                    .iter()
                    .map(|(l, milli)| {
                        line_amount(l.price_fen, Quantity::from_milli(*milli)).unwrap_or(0)
                    })
                    .sum(),
                options: self.freight.options(o, region_code),
            })
            .collect()
    }

    /// Checks every line against its listing, and reports all the problems together.
    pub fn check(&self, lines: &[LineInput]) -> AppResult<()> {
        self.check_at(lines.iter().enumerate())
    }

    /// Checks the lines given with their places in the checkout.
    fn check_at<'l>(&self, lines: impl Iterator<Item = (usize, &'l LineInput)>) -> AppResult<()> {
        let mut v = Validator::default();
        for (i, line) in lines {
            let Some(l) = self.listings.get(&line.listing_id) else {
                v.add(
                    &line_field(i, "listing_id"),
                    "unavailable",
                    "this listing does not exist",
                );
                continue;
            };
            let on_sale = l.deleted_at.is_none()
                && l.status == ListingStatus::Active
                && self
                    .orgs
                    .get(&l.organization_id)
                    .is_some_and(|o| o.status == VerificationStatus::Approved);
            if !on_sale {
                v.add(
                    &line_field(i, "listing_id"),
                    "unavailable",
                    format!("“{}” is paused or no longer on sale", l.title),
                );
                continue;
            }
            check_line(&mut v, i, line, l);
        }
        v.finish()
    }
}

/// Checks one line's unit and quantity against the listing on sale it names.
fn check_line(v: &mut Validator, i: usize, line: &LineInput, l: &listing::Model) {
    let unit = l.unit;
    if line.unit.is_some_and(|u| u != unit) {
        v.add(
            &line_field(i, "unit"),
            "unit_changed",
            format!(
                "“{}” is now sold by {}; check the quantity",
                l.title,
                unit.code()
            ),
        );
    }
    if line.quantity.milli() <= 0 {
        v.add(
            &line_field(i, "quantity"),
            "out_of_range",
            "must be greater than zero",
        );
    } else if line.quantity.milli() < l.min_order_milli {
        v.add(
            &line_field(i, "quantity"),
            "below_minimum",
            format!(
                "the minimum order of “{}” is {} {}",
                l.title,
                Quantity::from_milli(l.min_order_milli),
                unit.code()
            ),
        );
    } else if unit == Unit::Piece && !line.quantity.is_whole() {
        v.add(
            &line_field(i, "quantity"),
            "not_whole",
            "items sold by the piece need a whole number",
        );
    } else if line_amount(line.price_of(l), line.quantity).is_none() {
        v.add(&line_field(i, "quantity"), "out_of_range", "too large");
    }
}

/// Takes each line's quantity from its listing's stock with one conditional update per
/// listing: the database refuses to go below zero, and to sell a listing that is no longer on
/// sale on the terms in `offers`. The listings as the updates left them; or every line there
/// was not enough for; or why a line can no longer be sold.
async fn reserve(
    db: &impl ConnectionTrait,
    lines: &[LineInput],
    offers: &Offers,
    now: chrono::DateTime<Utc>,
) -> AppResult<BTreeMap<i64, listing::Model>> {
    // Every writer locks listings in one global order, listing id ascending, so two checkouts
    // (or a checkout and a cancel) naming the same listings in other orders never deadlock.
    // Lines naming one listing take their sum in one update.
    let mut wanted: BTreeMap<i64, (i64, Vec<usize>)> = BTreeMap::new();
    for (i, line) in lines.iter().enumerate() {
        let w = wanted.entry(line.listing_id).or_default();
        w.0 += line.quantity.milli();
        w.1.push(i);
    }
    let mut short = Validator::default();
    let mut after: BTreeMap<i64, listing::Model> = BTreeMap::new();
    for (id, (q, at)) in wanted {
        let seen = &offers.listings[&id];
        let on_sale_by = organization::Entity::find()
            .select_only()
            .column(organization::Column::Id)
            .filter(organization::Column::Id.eq(seen.organization_id))
            .filter(organization::Column::Status.eq(VerificationStatus::Approved.code()))
            .into_query();
        let updated = listing::Entity::update_many()
            .col_expr(
                listing::Column::StockMilli,
                Expr::col(listing::Column::StockMilli).sub(q),
            )
            .col_expr(
                listing::Column::SoldMilli,
                Expr::col(listing::Column::SoldMilli).add(q),
            )
            .col_expr(
                listing::Column::Version,
                Expr::col(listing::Column::Version).add(1),
            )
            .col_expr(listing::Column::UpdatedAt, Expr::value(now))
            .filter(listing::Column::Id.eq(id))
            .filter(listing::Column::StockMilli.gte(q))
            .filter(listing::Column::Status.eq(ListingStatus::Active.code()))
            .filter(listing::Column::DeletedAt.is_null())
            // The terms the orders were written on.
            .filter(listing::Column::PriceFen.eq(seen.price_fen))
            .filter(listing::Column::Unit.eq(seen.unit.code()))
            .filter(listing::Column::MinOrderMilli.eq(seen.min_order_milli))
            .filter(listing::Column::Title.eq(seen.title.as_str()))
            .filter(listing::Column::CategoryId.eq(seen.category_id))
            .filter(listing::Column::OriginRegionCode.eq(seen.origin_region_code.as_str()))
            .filter(listing::Column::OrganizationId.in_subquery(on_sale_by))
            .exec_with_returning(db)
            .await?;
        if let Some(l) = updated.into_iter().next() {
            after.insert(l.id, l);
            continue;
        }
        // Why not: read the listing as it now is.
        let now_on_sale = Offers::read(db, &lines[at[0]..=at[0]]).await?;
        let Some(l) = now_on_sale.listings.get(&id) else {
            return Err(anyhow::anyhow!("listing {id} vanished during a checkout").into());
        };
        now_on_sale.check_at(at.iter().map(|&i| (i, &lines[i])))?;
        if l.stock_milli >= q {
            // Still on sale with the stock, so on other terms than the orders were written
            // with: again, on these. Short of stock, it would be short on any terms.
            return Err(AppError::Busy(Busy::Conflict));
        }
        // The lines that do not fit, taking them in the order given.
        let mut left = l.stock_milli;
        for &i in &at {
            let q = lines[i].quantity.milli();
            if q <= left {
                left -= q;
                continue;
            }
            short.add(
                &line_field(i, "quantity"),
                "insufficient_stock",
                format!("only {} left", Quantity::from_milli(left)),
            );
        }
    }
    match short.finish() {
        Err(AppError::Validation(fields)) => Err(AppError::InsufficientStock(fields)),
        other => other.map(|()| after),
    }
}

/// A new order of `lines` from `org`, as a checkout writes it.
fn order_row(
    (checkout, checkout_id): (&Checkout, &str),
    buyer_id: i64,
    org: &organization::Model,
    lines: &[&LineInput],
    (goods_fen, delivery): (i64, Option<&Snapshot>),
    now: chrono::DateTime<Utc>,
) -> order::ActiveModel {
    let freight_fen = delivery.map_or(0, |d| d.quote.fee_fen);
    order::ActiveModel {
        checkout_id: Set(checkout_id.to_string()),
        buyer_id: Set(buyer_id),
        organization_id: Set(org.id),
        seller_name: Set(org.name.clone()),
        seller_region_code: Set(org.region_code.clone()),
        status: Set(OrderStatus::Placed),
        payment_status: Set(PaymentStatus::Unpaid),
        total_fen: Set(goods_fen.saturating_add(freight_fen)),
        goods_fen: Set(goods_fen),
        freight_fen: Set(freight_fen),
        delivery_method_id: Set(delivery.map(|d| d.method_id)),
        delivery: Set(delivery
            .and_then(|d| serde_json::to_string(d).ok())
            .unwrap_or_default()),
        recipient_name: Set(checkout.address.recipient_name.clone()),
        recipient_phone: Set(checkout.address.phone.clone()),
        address_region_code: Set(checkout.address.region_code.clone()),
        address_line: Set(checkout.address.line.clone()),
        note: Set(checkout.note.clone()),
        carrier: Set(None),
        tracking_number: Set(None),
        stock_returned: Set(false),
        version: Set(1),
        placed_at: Set(now),
        updated_at: Set(now),
        buyer_unit_id: Set(checkout.unit.map(|u| u.unit_id)),
        buyer_basis: Set(checkout.unit.map(|u| u.basis)),
        // The earliest organized campaign any of its lines is sold under.
        campaign_id: Set(lines
            .iter()
            .filter_map(|l| checkout.campaigns.get(&l.listing_id).copied())
            .min()),
        contract_id: Set(checkout.contract_id),
        ..Default::default()
    }
}

/// A line of order `order_id` as bought from listing `l`.
fn line_row(order_id: i64, l: &listing::Model, line: &LineInput) -> order_line::ActiveModel {
    order_line::ActiveModel {
        order_id: Set(order_id),
        listing_id: Set(l.id),
        category_id: Set(l.category_id),
        title: Set(l.title.clone()),
        unit: Set(l.unit),
        unit_price_fen: Set(line.price_of(l)),
        quantity_milli: Set(line.quantity.milli()),
        amount_fen: Set(line_amount(line.price_of(l), line.quantity).unwrap_or(0)),
        seller_region_code: Set(l.origin_region_code.clone()),
        certified: Set(!l.certifications.list().is_empty()),
        recognised: Set(l
            .certifications
            .list()
            .contains(&crate::catalog::domain::Certification::PovertyAlleviation)),
        ..Default::default()
    }
}

/// Writes the orders of a checkout, one per seller organization in a stable order: the
/// orders, then all their lines, then all their first timeline entries, one statement each.
async fn write_orders(
    db: &impl ConnectionTrait,
    buyer_id: i64,
    checkout: &Checkout,
    offers: &Offers,
    delivery: &BTreeMap<i64, Snapshot>,
    now: chrono::DateTime<Utc>,
) -> Result<Vec<Placed>, DbErr> {
    let found = &offers.listings;
    let checkout_id = uuid::Uuid::new_v4().to_string();
    let amount =
        |l: &LineInput| line_amount(l.price_of(&found[&l.listing_id]), l.quantity).unwrap_or(0);
    let mut by_org: BTreeMap<i64, Vec<&LineInput>> = BTreeMap::new();
    for line in &checkout.lines {
        by_org
            .entry(found[&line.listing_id].organization_id)
            .or_default()
            .push(line);
    }
    let orders = by_org.iter().map(|(org_id, lines)| {
        let total = lines.iter().map(|l| amount(l)).sum();
        order_row(
            (checkout, &checkout_id),
            buyer_id,
            &offers.orgs[org_id],
            lines,
            (total, delivery.get(org_id)),
            now,
        )
    });
    // Rows come back in no promised order: each order is known by its seller, and lines and
    // timeline entries by their ids, in the order written.
    let orders: HashMap<i64, order::Model> = order::Entity::insert_many(orders)
        .exec_with_returning(db)
        .await?
        .into_iter()
        .map(|o| (o.organization_id, o))
        .collect();
    let order_of = |org_id: &i64| -> Result<&order::Model, DbErr> {
        orders.get(org_id).ok_or_else(|| DbErr::RecordNotInserted)
    };
    let mut rows = Vec::new();
    for (org_id, lines) in &by_org {
        let o = order_of(org_id)?;
        rows.extend(
            lines
                .iter()
                .map(|line| line_row(o.id, &found[&line.listing_id], line)),
        );
    }
    let mut written = order_line::Entity::insert_many(rows)
        .exec_with_returning(db)
        .await?;
    written.sort_by_key(|l| l.id);
    let firsts = by_org.keys().map(|org_id| {
        order_of(org_id).map(|o| order_event::ActiveModel {
            order_id: Set(o.id),
            from_status: Set(None),
            to_status: Set(OrderStatus::Placed),
            action: Set(Step::Place),
            actor_id: Set(Some(buyer_id)),
            actor_role: Set(Party::Buyer),
            reason: Set(String::new()),
            created_at: Set(now),
            ..Default::default()
        })
    });
    let firsts = firsts.collect::<Result<Vec<_>, _>>()?;
    let mut timeline = order_event::Entity::insert_many(firsts)
        .exec_with_returning(db)
        .await?;
    timeline.sort_by_key(|e| e.id);
    by_org
        .keys()
        .map(|org_id| {
            let o = order_of(org_id)?.clone();
            Ok(Placed {
                lines: written
                    .iter()
                    .filter(|l| l.order_id == o.id)
                    .cloned()
                    .collect(),
                events: timeline
                    .iter()
                    .filter(|e| e.order_id == o.id)
                    .cloned()
                    .collect(),
                order: o,
            })
        })
        .collect()
}
