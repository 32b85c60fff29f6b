//! A checkout as a buyer sends it, from the API or the cart page: checked, then placed once
//! per idempotency key, its answer (or its refusal) stored for retries.

use sea_orm::{ConnectionTrait, DatabaseConnection};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::cart;
use super::checkout::{self, Address, Checkout, LineInput};
use super::domain::Party;
use super::idempotency::{self, Answer, Key, Stored};
use super::views::{OrderView, placed_views};
use crate::accounts::Actor;
use crate::catalog::domain::{Quantity, QuantityInput, Unit, county_of};
use crate::catalog::regions;
use crate::delivery::methods::Choice;
use crate::error::{AppResult, Validator};
use crate::fields::{phone, text};

/// A quantity greater than zero, or a field error under `field`.
pub fn positive_quantity(field: &str, q: &QuantityInput, v: &mut Validator) -> Option<Quantity> {
    let parsed = v.check(field, q.parse().map_err(|e| e.field_error()));
    if parsed == Some(Quantity::default()) {
        v.add(field, "out_of_range", "must be greater than zero");
        return None;
    }
    parsed
}

/// Where the goods go.
#[derive(Debug, Default, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddressRequest {
    pub recipient_name: String,
    pub phone: String,
    /// The county, township or village of the address.
    pub region_code: String,
    pub line: String,
}

/// One line to buy at checkout.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckoutLineRequest {
    pub listing_id: i64,
    #[schema(value_type = String, example = "100")]
    pub quantity: QuantityInput,
    /// The unit the buyer expects; the line is refused if the listing now sells in another.
    pub unit: Option<Unit>,
}

/// Checkout: the cart, or the given `lines`, becomes one order per seller. Needs an `Idempotency-Key` header.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckoutRequest {
    pub address: AddressRequest,
    pub note: Option<String>,
    /// Lines to buy instead of the cart's.
    pub lines: Option<Vec<CheckoutLineRequest>>,
    /// Order in the name of this buyer unit (its admin or purchaser). Without it, the orders
    /// are the buyer's own, counted for their unit when it counts its members' purchases.
    pub unit_id: Option<i64>,
    /// The delivery method chosen per seller. A seller left out gets its cheapest method
    /// that can carry the order; a seller with no methods arranges delivery, with no freight.
    #[serde(default)]
    pub delivery: Vec<Choice>,
}

/// The orders a checkout placed.
#[derive(Debug, Serialize, ToSchema)]
pub struct CheckoutResponse {
    pub checkout_id: String,
    pub orders: Vec<OrderView>,
    pub total_fen: i64,
}

/// Checks a checkout request: the address, the note and the lines (the cart's when none are
/// given). Also says whether the lines came from the cart, which is then emptied.
pub async fn parse_checkout(
    db: &impl ConnectionTrait,
    actor: &Actor,
    req: CheckoutRequest,
    now: chrono::DateTime<chrono::Utc>,
) -> AppResult<(Checkout, bool)> {
    let mut v = Validator::default();
    let a = &req.address;
    let recipient_name = v.check("address.recipient_name", text(&a.recipient_name, 1, 32));
    let phone = v.check("address.phone", phone(&a.phone));
    let line = v.check("address.line", text(&a.line, 2, 200));
    if county_of(&a.region_code).is_none() || regions::find(db, &a.region_code).await?.is_none() {
        v.add(
            "address.region_code",
            "unknown",
            "must be the code of an existing county, township or village",
        );
    }
    let note = v.check("note", text(req.note.as_deref().unwrap_or(""), 0, 500));
    let from_cart = req.lines.is_none();
    let lines: Vec<LineInput> = match req.lines {
        Some(lines) => {
            if lines.len() > cart::MAX_LINES as usize {
                v.add(
                    "lines",
                    "too_many",
                    format!("at most {} lines", cart::MAX_LINES),
                );
            }
            lines
                .iter()
                .enumerate()
                .filter_map(|(i, l)| {
                    positive_quantity(&format!("lines[{i}].quantity"), &l.quantity, &mut v).map(
                        |q| LineInput {
                            listing_id: l.listing_id,
                            quantity: q,
                            unit: l.unit,
                            agreed_price_fen: None,
                        },
                    )
                })
                .collect()
        }
        None => cart_lines(db, actor).await?,
    };
    if req.delivery.len() > cart::MAX_LINES as usize {
        v.add(
            "delivery",
            "too_many",
            format!("at most {} choices", cart::MAX_LINES),
        );
    }
    v.finish()?;
    let unit = crate::buyers::units::attribution(db, actor.id(), req.unit_id).await?;
    let ids: Vec<i64> = lines.iter().map(|l| l.listing_id).collect();
    let today = crate::days::local_date(now);
    let campaigns = crate::buyers::campaigns::running_for(db, &ids, today).await?;
    let address = Address {
        recipient_name: recipient_name.unwrap_or_default(),
        phone: phone.unwrap_or_default(),
        region_code: req.address.region_code,
        line: line.unwrap_or_default(),
    };
    Ok((
        Checkout {
            address,
            note: note.unwrap_or_default(),
            lines,
            unit,
            campaigns,
            delivery: req.delivery,
            contract_id: None,
        },
        from_cart,
    ))
}

/// The checkout request for `quantity` of listing `l` alone, at the unit it sells in now: what
/// a recurring order's period places, and what a standing agreement is checked against.
pub fn one_line(
    address: AddressRequest,
    note: Option<String>,
    l: &crate::catalog::entity::listing::Model,
    quantity: Quantity,
    unit_id: Option<i64>,
) -> CheckoutRequest {
    CheckoutRequest {
        address,
        note,
        lines: Some(vec![CheckoutLineRequest {
            listing_id: l.id,
            quantity: QuantityInput::Text(quantity.to_string()),
            unit: Some(l.unit),
        }]),
        unit_id,
        delivery: Vec::new(),
    }
}

/// Checks `req` as its checkout would (address, note, quantity, buyer unit) without placing
/// anything: for an agreement to order later, set up now. Its one line's quantity is refused
/// as `quantity`.
pub async fn dry_run(
    db: &impl ConnectionTrait,
    actor: &Actor,
    req: CheckoutRequest,
    now: chrono::DateTime<chrono::Utc>,
) -> AppResult<()> {
    parse_checkout(db, actor, req, now)
        .await
        .map(|_| ())
        .map_err(|e| match e {
            crate::error::AppError::Validation(fields) => crate::error::AppError::Validation(
                crate::error::renamed(fields, "lines[0].quantity", "quantity"),
            ),
            e => e,
        })
}

/// Checks and places `req`'s lines (never the cart's) for `actor` at `now`, inside `db`'s
/// transaction: what the demo's past goes through, as a buyer's checkout would have then.
pub async fn place_at(
    db: &impl ConnectionTrait,
    actor: &Actor,
    req: CheckoutRequest,
    now: chrono::DateTime<chrono::Utc>,
) -> AppResult<Vec<checkout::Placed>> {
    cart::require_buyer(actor)?;
    if req.lines.is_none() {
        return Err(crate::error::AppError::field(
            "lines",
            "required",
            "name the lines to buy",
        ));
    }
    let (checkout, _) = parse_checkout(db, actor, req, now).await?;
    let offers = checkout::Offers::for_checkout(db, &checkout).await?;
    checkout::place_offered_at(db, &actor.user, checkout, &offers, now).await
}

/// Places a checkout once per `key`: the orders are placed, the cart emptied when the lines
/// came from it, and the answer (`201` with a [`CheckoutResponse`]) or a refusal kept with
/// the key, all in one transaction. A retry with the same key and `fingerprint` gets the kept
/// answer back.
pub async fn checkout_once(
    db: &DatabaseConnection,
    actor: &Actor,
    key: Key,
    fingerprint: String,
    req: CheckoutRequest,
) -> AppResult<Answer> {
    cart::require_buyer(actor)?;
    let (checkout, from_cart) = parse_checkout(db, actor, req, chrono::Utc::now()).await?;
    crate::db::retrying(|| async {
        // The listings are read before the transaction, and sold only on the terms read.
        let offers = checkout::Offers::for_checkout(db, &checkout).await?;
        let (buyer, checkout) = (actor.clone(), checkout.clone());
        let work: idempotency::Work = Box::new(move |txn| {
            let (buyer, checkout, offers) = (buyer.clone(), checkout.clone(), offers.clone());
            Box::pin(async move {
                let placed = checkout::place_offered(txn, &buyer.user, checkout, &offers).await?;
                if from_cart {
                    cart::clear(txn, buyer.id()).await?;
                }
                let checkout_id = placed
                    .first()
                    .map(|p| p.order.checkout_id.clone())
                    .unwrap_or_default();
                let total_fen = placed.iter().map(|p| p.order.total_fen).sum();
                let orders = placed_views(placed, &buyer.user, Party::Buyer);
                Ok(Stored::json(
                    201,
                    &CheckoutResponse {
                        checkout_id,
                        orders,
                        total_fen,
                    },
                ))
            })
        });
        idempotency::attempt(db, actor.id(), Some(&key), &fingerprint, &work).await
    })
    .await
}

/// The buyer's cart split by seller, with each seller's methods and their freight to
/// `region_code` (a county, township or village).
pub async fn cart_freight(
    db: &impl ConnectionTrait,
    actor: &Actor,
    region_code: &str,
) -> AppResult<Vec<checkout::SellerFreight>> {
    let lines = cart_lines(db, actor).await?;
    if county_of(region_code).is_none() || regions::find(db, region_code).await?.is_none() {
        return Err(crate::error::AppError::field(
            "region_code",
            "unknown",
            "must be the code of an existing county, township or village",
        ));
    }
    let offers = checkout::Offers::delivered(db, &lines, region_code).await?;
    Ok(offers.quotes(&lines, region_code))
}

/// The buyer's cart as lines to buy, each at the unit it was put in the cart with.
async fn cart_lines(db: &impl ConnectionTrait, actor: &Actor) -> AppResult<Vec<LineInput>> {
    Ok(cart::lines(db, actor)
        .await?
        .into_iter()
        .map(|c| LineInput {
            listing_id: c.listing_id,
            quantity: Quantity::from_milli(c.quantity_milli),
            unit: Some(c.unit),
            agreed_price_fen: None,
        })
        .collect())
}
