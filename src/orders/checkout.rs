//! Checkout: the cart (or the given lines) becomes one order per seller organization,
//! with every line's stock reserved by a conditional update, all in one transaction.

use std::collections::{BTreeMap, HashMap};

use chrono::Utc;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set,
};

use super::domain::{OrderStatus, Party, PaymentStatus, Step, line_amount};
use super::entity::{order, order_event, order_line};
use super::events;
use crate::accounts::Actor;
use crate::accounts::entity::user;
use crate::catalog::domain::{ListingStatus, Quantity, Unit, VerificationStatus};
use crate::catalog::entity::{listing, organization};
use crate::error::{AppError, AppResult, Validator};
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
}

/// A checked checkout.
#[derive(Debug, Clone)]
pub struct Checkout {
    pub address: Address,
    pub note: String,
    pub lines: Vec<LineInput>,
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

/// Reserves stock and writes the orders. Any refusal leaves the transaction to be rolled back.
pub async fn place(
    db: &impl ConnectionTrait,
    actor: &Actor,
    checkout: Checkout,
) -> AppResult<Vec<Placed>> {
    super::cart::require_buyer(actor)?;
    place_for(db, &actor.user, checkout).await
}

/// Places `checkout` for `buyer`, who has already been checked to be one (checkout itself, or
/// both sides accepting a matching proposal). A checkout holds the write lock from its first
/// write to its commit, so what it writes goes in as few statements as it can.
pub async fn place_for(
    db: &impl ConnectionTrait,
    buyer: &user::Model,
    checkout: Checkout,
) -> AppResult<Vec<Placed>> {
    if checkout.lines.is_empty() {
        return Err(AppError::field(
            "lines",
            "required",
            "nothing to check out: the cart is empty",
        ));
    }
    let offers = Offers::read(db, &checkout.lines).await?;
    offers.check(&checkout.lines)?;
    let now = Utc::now();
    let after = reserve(db, &checkout.lines, now).await?;

    // One order per seller organization, in a stable order.
    let checkout_id = uuid::Uuid::new_v4().to_string();
    let mut by_org: BTreeMap<i64, Vec<&LineInput>> = BTreeMap::new();
    for line in &checkout.lines {
        by_org
            .entry(offers.listings[&line.listing_id].organization_id)
            .or_default()
            .push(line);
    }
    let mut placed = Vec::new();
    let mut announced = Vec::new();
    for (org_id, lines) in by_org {
        let seller = Seller {
            org: &offers.orgs[&org_id],
            lines,
        };
        let p = write_order(db, buyer.id, &checkout_id, &checkout, &offers, seller, now).await?;
        announced.push(events::order_event(&p.order, OrderNews::Placed));
        announced.push(events::sales_event(&p.order));
        placed.push(p);
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

/// The listings a checkout names and their sellers, as they were before it.
struct Offers {
    listings: HashMap<i64, listing::Model>,
    orgs: HashMap<i64, organization::Model>,
}

impl Offers {
    async fn read(db: &impl ConnectionTrait, lines: &[LineInput]) -> Result<Offers, DbErr> {
        let ids: Vec<i64> = lines.iter().map(|l| l.listing_id).collect();
        let listings: HashMap<i64, listing::Model> = listing::Entity::find()
            .filter(listing::Column::Id.is_in(ids))
            .all(db)
            .await?
            .into_iter()
            .map(|l| (l.id, l))
            .collect();
        let org_ids: Vec<i64> = listings.values().map(|l| l.organization_id).collect();
        let orgs = organization::Entity::find()
            .filter(organization::Column::Id.is_in(org_ids))
            .all(db)
            .await?
            .into_iter()
            .map(|o| (o.id, o))
            .collect();
        Ok(Offers { listings, orgs })
    }

    /// Checks every line against its listing, and reports all the problems together.
    fn check(&self, lines: &[LineInput]) -> AppResult<()> {
        let mut v = Validator::default();
        for (i, line) in lines.iter().enumerate() {
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
    } else if line_amount(l.price_fen, line.quantity).is_none() {
        v.add(&line_field(i, "quantity"), "out_of_range", "too large");
    }
}

/// Takes each line's quantity from its listing's stock with one conditional update per line
/// (the database refuses to go below zero); the listings as the updates left them, or every
/// line there was not enough for.
async fn reserve(
    db: &impl ConnectionTrait,
    lines: &[LineInput],
    now: chrono::DateTime<Utc>,
) -> AppResult<BTreeMap<i64, listing::Model>> {
    let mut short = Validator::default();
    let mut after: BTreeMap<i64, listing::Model> = BTreeMap::new();
    // Every writer locks listings in one global order, listing id ascending, so two checkouts
    // (or a checkout and a cancel) naming the same listings in other orders never deadlock.
    let mut in_lock_order: Vec<(usize, &LineInput)> = lines.iter().enumerate().collect();
    in_lock_order.sort_by_key(|(i, line)| (line.listing_id, *i));
    for (i, line) in in_lock_order {
        let q = line.quantity.milli();
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
            .filter(listing::Column::Id.eq(line.listing_id))
            .filter(listing::Column::StockMilli.gte(q))
            .filter(listing::Column::Status.eq(ListingStatus::Active.code()))
            .filter(listing::Column::DeletedAt.is_null())
            .exec_with_returning(db)
            .await?;
        if let Some(l) = updated.into_iter().next() {
            after.insert(l.id, l);
        } else {
            let left = listing::Entity::find_by_id(line.listing_id)
                .one(db)
                .await?
                .map(|l| Quantity::from_milli(l.stock_milli))
                .unwrap_or_default();
            short.add(
                &line_field(i, "quantity"),
                "insufficient_stock",
                format!("only {left} left"),
            );
        }
    }
    match short.finish() {
        Err(AppError::Validation(fields)) => Err(AppError::InsufficientStock(fields)),
        other => other.map(|()| after),
    }
}

/// One seller's part of a checkout.
struct Seller<'a> {
    org: &'a organization::Model,
    lines: Vec<&'a LineInput>,
}

/// Writes one seller's order: the order, its lines (one statement) and its first timeline
/// entry.
async fn write_order(
    db: &impl ConnectionTrait,
    buyer_id: i64,
    checkout_id: &str,
    checkout: &Checkout,
    offers: &Offers,
    seller: Seller<'_>,
    now: chrono::DateTime<Utc>,
) -> Result<Placed, DbErr> {
    let found = &offers.listings;
    let amounts: Vec<i64> = seller
        .lines
        .iter()
        .map(|l| line_amount(found[&l.listing_id].price_fen, l.quantity).unwrap_or(0))
        .collect();
    let o = order::ActiveModel {
        checkout_id: Set(checkout_id.to_string()),
        buyer_id: Set(buyer_id),
        organization_id: Set(seller.org.id),
        seller_name: Set(seller.org.name.clone()),
        seller_region_code: Set(seller.org.region_code.clone()),
        status: Set(OrderStatus::Placed),
        payment_status: Set(PaymentStatus::Unpaid),
        total_fen: Set(amounts.iter().sum()),
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
        ..Default::default()
    }
    .insert(db)
    .await?;
    let rows = seller.lines.iter().zip(amounts).map(|(line, amount)| {
        let l = &found[&line.listing_id];
        order_line::ActiveModel {
            order_id: Set(o.id),
            listing_id: Set(l.id),
            category_id: Set(l.category_id),
            title: Set(l.title.clone()),
            unit: Set(l.unit),
            unit_price_fen: Set(l.price_fen),
            quantity_milli: Set(line.quantity.milli()),
            amount_fen: Set(amount),
            seller_region_code: Set(l.origin_region_code.clone()),
            ..Default::default()
        }
    });
    let mut written = order_line::Entity::insert_many(rows)
        .exec_with_returning(db)
        .await?;
    // Rows come back in no promised order: in the order of their ids, the order written.
    written.sort_by_key(|l| l.id);
    let event = order_event::ActiveModel {
        order_id: Set(o.id),
        from_status: Set(None),
        to_status: Set(OrderStatus::Placed),
        action: Set(Step::Place),
        actor_id: Set(Some(buyer_id)),
        actor_role: Set(Party::Buyer),
        reason: Set(String::new()),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(Placed {
        order: o,
        lines: written,
        events: vec![event],
    })
}
