//! `/api/v1/cart`, `/api/v1/checkout` and `/api/v1/orders`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::idempotent;
use crate::accounts::{Actor, Role};
use crate::catalog::domain::{Quantity, QuantityInput, Unit, format_yuan};
use crate::error::{AppError, AppResult, ErrorBody, Validator};
use crate::fields::text;
use crate::http::api::catalog::views::{ListingView, listing_views};
use crate::http::api::extract::{ApiId, ApiJson, ApiQuery, parse_json};
use crate::http::auth::Buyer;
use crate::http::state::AppState;
use crate::orders::domain::{Action, OrderStatus, Party};
use crate::orders::entity::order;
use crate::orders::idempotency::{self, Stored};
use crate::orders::lifecycle::{self, Details};
use crate::orders::request::{self, CheckoutRequest, CheckoutResponse, positive_quantity};
use crate::orders::short::{self, LineQuantityInput};
use crate::orders::views::{OrderView, order_page, order_views};
use crate::orders::{cart, domain};
use crate::page::{self, Page};

/// The routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_cart))
        .routes(routes!(add_to_cart))
        .routes(routes!(update_cart_line, remove_cart_line))
        .routes(routes!(checkout_handler))
        .routes(routes!(list_orders))
        .routes(routes!(get_order))
        .routes(routes!(confirm))
        .routes(routes!(ship))
        .routes(routes!(receive))
        .routes(routes!(complete))
        .routes(routes!(cancel))
        .routes(routes!(dispute))
        .routes(routes!(resolve))
        .routes(routes!(payment))
}

/// Parses an optional JSON body: empty means `T::default()`; also returns the body's canonical value.
fn body_of<T: DeserializeOwned + Default>(bytes: &Bytes) -> AppResult<(T, serde_json::Value)> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok((T::default(), serde_json::Value::Null));
    }
    let typed = parse_json::<T>(bytes)?;
    let value = serde_json::from_slice(bytes).map_err(|e| AppError::InvalidJson(e.to_string()))?;
    Ok((typed, value))
}

// ---------------------------------------------------------------- cart

/// The cart with current prices.
#[derive(Debug, Serialize, ToSchema)]
pub struct CartView {
    pub lines: Vec<CartLineView>,
    /// At today's prices; checkout charges the price at that moment.
    pub total_fen: i64,
    pub total_display: String,
}

/// One cart line.
#[derive(Debug, Serialize, ToSchema)]
pub struct CartLineView {
    pub id: i64,
    #[schema(value_type = String)]
    pub quantity: Quantity,
    pub unit: Unit,
    pub amount_fen: i64,
    /// The listing now; absent when it is no longer on sale.
    pub listing: Option<ListingView>,
}

pub(crate) async fn cart_view(state: &AppState, actor: &Actor) -> AppResult<CartView> {
    let lines = cart::lines(&state.db, actor).await?;
    let mut listings = Vec::new();
    for l in &lines {
        if let Ok(found) =
            crate::catalog::listings::get_visible(&state.db, Some(actor), l.listing_id).await
        {
            listings.push(found);
        }
    }
    let views = listing_views(&state.db, &state.search.vocabulary(), listings).await?;
    let mut out = Vec::new();
    let mut total = 0;
    for l in lines {
        let listing = views
            .iter()
            .position(|v| v.id == l.listing_id)
            .map(|i| views[i].clone());
        let quantity = Quantity::from_milli(l.quantity_milli);
        let amount = listing
            .as_ref()
            .and_then(|v| domain::line_amount(v.price_fen, quantity))
            .unwrap_or(0);
        total += amount;
        out.push(CartLineView {
            id: l.id,
            quantity,
            unit: l.unit,
            amount_fen: amount,
            listing,
        });
    }
    Ok(CartView {
        lines: out,
        total_fen: total,
        total_display: format_yuan(total),
    })
}

#[utoipa::path(get, path = "/api/v1/cart", tag = "orders",
    responses((status = 200, body = CartView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
async fn get_cart(State(state): State<AppState>, actor: Actor) -> AppResult<Json<CartView>> {
    cart_view(&state, &actor).await.map(Json)
}

/// A listing and how much of it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CartLineRequest {
    pub listing_id: i64,
    #[schema(value_type = String, example = "100")]
    pub quantity: QuantityInput,
}

#[utoipa::path(post, path = "/api/v1/cart/items", tag = "orders", request_body = CartLineRequest,
    responses((status = 200, body = CartView), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
async fn add_to_cart(
    State(state): State<AppState>,
    Buyer(actor): Buyer,
    ApiJson(req): ApiJson<CartLineRequest>,
) -> AppResult<Json<CartView>> {
    let mut v = Validator::default();
    let q = positive_quantity("quantity", &req.quantity, &mut v);
    v.finish()?;
    let txn = crate::db::write_txn(&state.db).await?;
    cart::add(&txn, &actor, req.listing_id, q.unwrap_or_default()).await?;
    txn.commit().await?;
    cart_view(&state, &actor).await.map(Json)
}

/// A new quantity.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CartQuantityRequest {
    #[schema(value_type = String, example = "50")]
    pub quantity: QuantityInput,
}

#[utoipa::path(patch, path = "/api/v1/cart/items/{id}", tag = "orders", params(("id" = i64, Path)), request_body = CartQuantityRequest,
    responses((status = 200, body = CartView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
async fn update_cart_line(
    State(state): State<AppState>,
    Buyer(actor): Buyer,
    ApiId(id): ApiId,
    ApiJson(req): ApiJson<CartQuantityRequest>,
) -> AppResult<Json<CartView>> {
    let mut v = Validator::default();
    let q = positive_quantity("quantity", &req.quantity, &mut v);
    v.finish()?;
    cart::set_quantity(&state.db, &actor, id, q.unwrap_or_default()).await?;
    cart_view(&state, &actor).await.map(Json)
}

#[utoipa::path(delete, path = "/api/v1/cart/items/{id}", tag = "orders", params(("id" = i64, Path)),
    responses((status = 200, body = CartView), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn remove_cart_line(
    State(state): State<AppState>,
    actor: Actor,
    ApiId(id): ApiId,
) -> AppResult<Json<CartView>> {
    cart::remove(&state.db, &actor, id).await?;
    cart_view(&state, &actor).await.map(Json)
}

// ---------------------------------------------------------------- checkout

#[utoipa::path(post, path = "/api/v1/checkout", tag = "orders", request_body = CheckoutRequest,
    params(("Idempotency-Key" = String, Header, description = "Unique per checkout; reuse it only to retry")),
    responses((status = 201, body = CheckoutResponse), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn checkout_handler(
    State(state): State<AppState>,
    actor: Actor,
    headers: HeaderMap,
    body: Bytes,
) -> AppResult<Response> {
    cart::require_buyer(&actor)?;
    let key = idempotent::required_key(&headers)?;
    require_json(&headers)?;
    let (req, value): (CheckoutRequest, _) = body_of(&body)?;
    if value.is_null() {
        return Err(AppError::field(
            "address",
            "required",
            "an address is required",
        ));
    }
    let fingerprint = idempotency::fingerprint("POST", "/api/v1/checkout", &value);
    request::checkout_once(&state.db, &actor, key, fingerprint, req)
        .await
        .map(idempotent::response)
}

fn require_json(headers: &HeaderMap) -> AppResult<()> {
    let ok = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim()
                .to_ascii_lowercase()
                .starts_with("application/json")
        });
    if ok {
        Ok(())
    } else {
        Err(AppError::UnsupportedMediaType)
    }
}

// ---------------------------------------------------------------- orders

/// `?status=&page=&per_page=`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct OrderQuery {
    pub page: Option<u64>,
    pub per_page: Option<u64>,
    pub status: Option<String>,
}

pub(crate) fn viewer_party(actor: &Actor) -> AppResult<Party> {
    match actor.role {
        Role::Buyer => Ok(Party::Buyer),
        Role::Producer if actor.organization_id().is_some() => Ok(Party::Seller),
        Role::Admin => Ok(Party::Admin),
        _ => Err(AppError::Forbidden(
            "orders are visible to their buyers, their sellers and admins".into(),
        )),
    }
}

#[utoipa::path(get, path = "/api/v1/orders", tag = "orders", params(OrderQuery),
    responses((status = 200, body = Page<OrderView>), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
async fn list_orders(
    State(state): State<AppState>,
    actor: Actor,
    ApiQuery(q): ApiQuery<OrderQuery>,
) -> AppResult<Json<Page<OrderView>>> {
    let party = viewer_party(&actor)?;
    let (page, per_page) = page::resolve(q.page, q.per_page)?;
    let mut query = order::Entity::find();
    query = match party {
        Party::Buyer => query.filter(order::Column::BuyerId.eq(actor.id())),
        Party::Seller => query.filter(order::Column::OrganizationId.eq(actor.organization_id())),
        _ => query,
    };
    if let Some(s) = q.status.as_deref() {
        let status = OrderStatus::from_code(s).ok_or_else(|| {
            AppError::field(
                "status",
                "unknown_value",
                format!("must be one of: {}", OrderStatus::codes()),
            )
        })?;
        query = query.filter(order::Column::Status.eq(status.code()));
    }
    let (items, total) = order_page(&state.db, query, page, per_page, party).await?;
    Ok(Json(Page::new(items, page, per_page, total)))
}

#[utoipa::path(get, path = "/api/v1/orders/{id}", tag = "orders", params(("id" = i64, Path)),
    responses((status = 200, body = OrderView), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn get_order(
    State(state): State<AppState>,
    actor: Actor,
    ApiId(id): ApiId,
) -> AppResult<Json<OrderView>> {
    let (o, party) = lifecycle::find_for(&state.db, &actor, id).await?;
    Ok(Json(
        order_views(&state.db, &[o.id], party).await?.remove(0),
    ))
}

/// A reason for a step in the timeline.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonRequest {
    pub reason: Option<String>,
}

/// Shipping details.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShipRequest {
    #[serde(default)]
    pub carrier: String,
    #[serde(default)]
    pub tracking_number: String,
    pub reason: Option<String>,
    /// The lots each line was filled from; a line whose listing has lots on record must be
    /// covered by them exactly.
    #[serde(default)]
    pub lots: Vec<crate::orders::lots::LotShareInput>,
    /// What shipped of each line, when less than ordered: a line not named ships in full, and
    /// what stays behind goes back in stock. The buyer pays only for what arrives.
    #[serde(default)]
    pub lines: Vec<LineQuantityInput>,
}

/// The buyer's confirmation of receipt.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReceiveRequest {
    pub reason: Option<String>,
    /// What arrived of each line, when less than shipped (accepting a short delivery): a line
    /// not named arrived as shipped. What was ordered and did not arrive is refunded.
    #[serde(default)]
    pub lines: Vec<LineQuantityInput>,
}

/// A dispute's outcome.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveRequest {
    /// `complete` (the seller keeps the sale) or `refund` (the buyer is refunded).
    pub outcome: String,
    pub reason: Option<String>,
}

/// A payment change.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentRequest {
    /// `paid_offline` or `refunded`.
    pub status: String,
}

/// An action on an order through its idempotent API. Who may take it is checked first, from
/// the order and the caller alone; then the body is read (`details`), so a caller who may not
/// act is told 403 whatever they sent.
#[allow(clippy::too_many_arguments)]
async fn order_action<R: DeserializeOwned + Default>(
    state: AppState,
    actor: Actor,
    headers: HeaderMap,
    id: i64,
    path: &str,
    body: Bytes,
    pick: impl FnOnce(Party) -> Action,
    details: impl FnOnce(Party, R) -> AppResult<(Action, Details)>,
) -> AppResult<Response> {
    let key = idempotent::key(&headers)?;
    let (o, party) = lifecycle::find_for(&state.db, &actor, id).await?;
    lifecycle::may_take(pick(party), party)?;
    let (req, value): (R, _) = body_of(&body)?;
    let (action, details) = details(party, req)?;
    lifecycle::may_take(action, party)?;
    let fingerprint = idempotency::fingerprint("POST", path, &value);
    let user_id = actor.id();
    let actor_id = actor.id();
    let work: idempotency::Work = Box::new(move |txn| {
        let details = details.clone();
        Box::pin(async move {
            let updated = lifecycle::act(txn, o.id, action, party, Some(actor_id), details).await?;
            let view = order_views(txn, &[updated.id], party).await?.remove(0);
            Ok(Stored::json(200, &view))
        })
    });
    idempotency::run(&state.db, user_id, key, fingerprint, work)
        .await
        .map(idempotent::response)
}

fn reason(r: Option<String>, required: bool) -> AppResult<String> {
    let r = r.unwrap_or_default();
    text(&r, usize::from(required), 500).map_err(|e| AppError::field("reason", e.code, e.message))
}

macro_rules! simple_action {
    ($name:ident, $path:literal, $doc:literal, $pick:expr) => {
        #[doc = $doc]
        #[utoipa::path(post, path = $path, tag = "orders", params(("id" = i64, Path), ("Idempotency-Key" = Option<String>, Header)), request_body = ReasonRequest,
            responses((status = 200, body = OrderView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
            security(("bearer" = [])))]
        async fn $name(State(state): State<AppState>, actor: Actor, ApiId(id): ApiId, headers: HeaderMap, body: Bytes) -> AppResult<Response> {
            let pick: fn(Party) -> Action = $pick;
            order_action(state, actor, headers, id, $path, body, pick, move |party, req: ReasonRequest| {
                Ok((pick(party), Details::because(reason(req.reason, false)?)))
            })
            .await
        }
    };
}

simple_action!(
    confirm,
    "/api/v1/orders/{id}/confirm",
    "The seller confirms an order.",
    |_| Action::Confirm
);
simple_action!(
    complete,
    "/api/v1/orders/{id}/complete",
    "The buyer completes a delivered order.",
    |_| Action::Complete
);
simple_action!(
    cancel,
    "/api/v1/orders/{id}/cancel",
    "The buyer (before confirmation) or the seller (before shipping) cancels; the stock returns.",
    |party| {
        if party == Party::Seller {
            Action::SellerCancel
        } else {
            Action::BuyerCancel
        }
    }
);

#[utoipa::path(post, path = "/api/v1/orders/{id}/ship", tag = "orders", params(("id" = i64, Path), ("Idempotency-Key" = Option<String>, Header)), request_body = ShipRequest,
    responses((status = 200, body = OrderView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn ship(
    State(state): State<AppState>,
    actor: Actor,
    ApiId(id): ApiId,
    headers: HeaderMap,
    body: Bytes,
) -> AppResult<Response> {
    let path = "/api/v1/orders/{id}/ship";
    order_action(
        state,
        actor,
        headers,
        id,
        path,
        body,
        |_| Action::Ship,
        |_, req: ShipRequest| {
            let mut v = Validator::default();
            let carrier = v.check("carrier", text(&req.carrier, 1, 64));
            let tracking = v.check("tracking_number", text(&req.tracking_number, 1, 64));
            v.finish()?;
            let reason = reason(req.reason, false)?;
            Ok((
                Action::Ship,
                Details {
                    reason,
                    carrier,
                    tracking_number: tracking,
                    lots: crate::orders::lots::parse(&req.lots)?,
                    lines: short::parse("lines", &req.lines)?,
                },
            ))
        },
    )
    .await
}

/// The buyer confirms receipt, of all that shipped or, accepting a short delivery, of less:
/// what was ordered and did not arrive is refunded to the fen.
#[utoipa::path(post, path = "/api/v1/orders/{id}/receive", tag = "orders", params(("id" = i64, Path), ("Idempotency-Key" = Option<String>, Header)), request_body = ReceiveRequest,
    responses((status = 200, body = OrderView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody, description = "`lines[i].line_id`: `unknown`; `lines[i].quantity`: `exceeds_line` (more than shipped) or a quantity's code; `lines[i]`: `duplicate`")),
    security(("bearer" = [])))]
async fn receive(
    State(state): State<AppState>,
    actor: Actor,
    ApiId(id): ApiId,
    headers: HeaderMap,
    body: Bytes,
) -> AppResult<Response> {
    let path = "/api/v1/orders/{id}/receive";
    order_action(
        state,
        actor,
        headers,
        id,
        path,
        body,
        |_| Action::Receive,
        |_, req: ReceiveRequest| {
            Ok((
                Action::Receive,
                Details {
                    reason: reason(req.reason, false)?,
                    lines: short::parse("lines", &req.lines)?,
                    ..Default::default()
                },
            ))
        },
    )
    .await
}

#[utoipa::path(post, path = "/api/v1/orders/{id}/dispute", tag = "orders", params(("id" = i64, Path), ("Idempotency-Key" = Option<String>, Header)), request_body = ReasonRequest,
    responses((status = 200, body = OrderView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn dispute(
    State(state): State<AppState>,
    actor: Actor,
    ApiId(id): ApiId,
    headers: HeaderMap,
    body: Bytes,
) -> AppResult<Response> {
    let path = "/api/v1/orders/{id}/dispute";
    order_action(
        state,
        actor,
        headers,
        id,
        path,
        body,
        |_| Action::Dispute,
        |_, req: ReasonRequest| {
            let needed = Action::Dispute.needs_reason();
            Ok((
                Action::Dispute,
                Details::because(reason(req.reason, needed)?),
            ))
        },
    )
    .await
}

#[utoipa::path(post, path = "/api/v1/orders/{id}/resolve", tag = "orders", params(("id" = i64, Path), ("Idempotency-Key" = Option<String>, Header)), request_body = ResolveRequest,
    responses((status = 200, body = OrderView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn resolve(
    State(state): State<AppState>,
    actor: Actor,
    ApiId(id): ApiId,
    headers: HeaderMap,
    body: Bytes,
) -> AppResult<Response> {
    let path = "/api/v1/orders/{id}/resolve";
    // Both outcomes are the admin's: who may resolve is known before the outcome is read.
    let pick = |_| Action::ResolveComplete;
    order_action(
        state,
        actor,
        headers,
        id,
        path,
        body,
        pick,
        |_, req: ResolveRequest| {
            let action = match req.outcome.as_str() {
                "complete" => Action::ResolveComplete,
                "refund" => Action::ResolveRefund,
                _ => {
                    return Err(AppError::field(
                        "outcome",
                        "unknown_value",
                        "must be one of: complete, refund",
                    ));
                }
            };
            Ok((
                action,
                Details::because(reason(req.reason, action.needs_reason())?),
            ))
        },
    )
    .await
}

#[utoipa::path(post, path = "/api/v1/orders/{id}/payment", tag = "orders", params(("id" = i64, Path), ("Idempotency-Key" = Option<String>, Header)), request_body = PaymentRequest,
    responses((status = 200, body = OrderView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn payment(
    State(state): State<AppState>,
    actor: Actor,
    ApiId(id): ApiId,
    headers: HeaderMap,
    body: Bytes,
) -> AppResult<Response> {
    let key = idempotent::key(&headers)?;
    let (o, party) = lifecycle::find_for(&state.db, &actor, id).await?;
    if party != Party::Seller {
        return Err(AppError::Forbidden(
            "only the seller records payments".into(),
        ));
    }
    let (req, value): (PaymentRequest, _) = body_of(&body)?;
    let to = lifecycle::payment_target(party, &req.status)?;
    let fingerprint = idempotency::fingerprint("POST", "/api/v1/orders/{id}/payment", &value);
    let user_id = actor.id();
    let work: idempotency::Work = Box::new(move |txn| {
        let o = o.clone();
        Box::pin(async move {
            let updated = lifecycle::set_payment(txn, &o, user_id, to).await?;
            let view = order_views(txn, &[updated.id], party).await?.remove(0);
            Ok(Stored::json(200, &view))
        })
    });
    idempotency::run(&state.db, user_id, key, fingerprint, work)
        .await
        .map(idempotent::response)
}
