//! `/api/v1/contracts`: season contracts (订单农业) — proposed by buyers, signed or declined by
//! cooperatives, their deposits and deliveries — and `/api/v1/stats/regions/{code}/contracts`,
//! what they cover in a region.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::Utc;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::accounts::Actor;
use crate::contracts::coverage::{self, Coverage};
use crate::contracts::{
    self, ContractRequest, ContractStatus, ContractView, DeliveryRequest, DepositRequest,
};
use crate::db::in_write_txn;
use crate::error::{AppResult, ErrorBody};
use crate::http::api::extract::{ApiId, ApiJson, ApiQuery, LaterJson};
use crate::http::auth::Buyer;
use crate::http::state::AppState;
use crate::orders::views::{OrderView, order_views};

/// The routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_contracts, propose_contract))
        .routes(routes!(get_contract))
        .routes(routes!(sign_contract))
        .routes(routes!(decline_contract))
        .routes(routes!(cancel_contract))
        .routes(routes!(record_deposit))
        .routes(routes!(call_delivery))
        .routes(routes!(region_contracts))
}

const REFUSALS: &str = "`listing_id`: `unknown`; `quantity`: `required`, `out_of_range` or a quantity's code; `window_start`, `window_end`: `invalid_date`, `in_past`, `before_start` or `too_far`; `pricing`: `unknown_value`; `price_fen`, `deposit_fen`: `out_of_range`; `address.*` as at checkout";

/// The contracts the caller sees: a buyer's own, a cooperative's, those over an official's
/// region, all for admins; each with its deliveries.
#[utoipa::path(get, path = "/api/v1/contracts", tag = "orders",
    responses((status = 200, body = [ContractView]), (status = 401, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
async fn list_contracts(
    State(state): State<AppState>,
    actor: Actor,
) -> AppResult<Json<Vec<ContractView>>> {
    Ok(Json(contracts::list(&state.db, &actor).await?))
}

/// A buyer proposes a season contract (订单农业) to a listing's cooperative: the quantity, the
/// delivery window, a fixed price or a floor under the market's, and a deposit.
#[utoipa::path(post, path = "/api/v1/contracts", tag = "orders", request_body = ContractRequest,
    responses((status = 201, body = ContractView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody, description = REFUSALS)),
    security(("bearer" = []), ("session" = [])))]
async fn propose_contract(
    State(state): State<AppState>,
    Buyer(actor): Buyer,
    ApiJson(req): ApiJson<ContractRequest>,
) -> AppResult<(StatusCode, Json<ContractView>)> {
    let view = in_write_txn(&state.db, async |txn| {
        contracts::propose(txn, &actor, &req, Utc::now()).await
    })
    .await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// One contract with its deliveries, for its buyer, the cooperative's staff, admins and the
/// officials over the cooperative's region.
#[utoipa::path(get, path = "/api/v1/contracts/{id}", tag = "orders", params(("id" = i64, Path)),
    responses((status = 200, body = ContractView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
async fn get_contract(
    State(state): State<AppState>,
    actor: Actor,
    ApiId(id): ApiId,
) -> AppResult<Json<ContractView>> {
    let c = contracts::find_for(&state.db, &actor, id).await?;
    Ok(Json(contracts::view(&state.db, c).await?))
}

macro_rules! decision {
    ($name:ident, $path:literal, $doc:literal, $to:expr) => {
        #[doc = $doc]
        #[utoipa::path(post, path = $path, tag = "orders", params(("id" = i64, Path)),
            responses((status = 200, body = ContractView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
                (status = 409, body = ErrorBody, description = "`invalid_transition`")),
            security(("bearer" = []), ("session" = [])))]
        async fn $name(State(state): State<AppState>, actor: Actor, ApiId(id): ApiId) -> AppResult<Json<ContractView>> {
            in_write_txn(&state.db, async |txn| {
                contracts::decide(txn, &actor, id, $to, Utc::now()).await
            })
            .await
            .map(Json)
        }
    };
}

decision!(
    sign_contract,
    "/api/v1/contracts/{id}/sign",
    "The cooperative signs a proposed contract.",
    ContractStatus::Signed
);
decision!(
    decline_contract,
    "/api/v1/contracts/{id}/decline",
    "The cooperative declines a proposed contract.",
    ContractStatus::Declined
);
decision!(
    cancel_contract,
    "/api/v1/contracts/{id}/cancel",
    "The buyer withdraws a contract the cooperative has not signed.",
    ContractStatus::Cancelled
);

/// The cooperative records the deposit it received.
#[utoipa::path(post, path = "/api/v1/contracts/{id}/deposit", tag = "orders", params(("id" = i64, Path)),
    request_body = DepositRequest,
    responses((status = 200, body = ContractView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "`not_signed`"),
        (status = 422, body = ErrorBody, description = "`amount_fen`: `out_of_range`; `paid_on`: `invalid_date`, `in_future` or `before_contract`")),
    security(("bearer" = []), ("session" = [])))]
async fn record_deposit(
    State(state): State<AppState>,
    actor: Actor,
    ApiId(id): ApiId,
    body: LaterJson<DepositRequest>,
) -> AppResult<Json<ContractView>> {
    contracts::may_act(&state.db, &actor, id, true).await?;
    let req = body.parse()?;
    in_write_txn(&state.db, async |txn| {
        contracts::record_deposit(txn, &actor, id, &req, Utc::now()).await
    })
    .await
    .map(Json)
}

/// The buyer or the cooperative calls a delivery within the window: an ordinary order at the
/// contract's price (fixed, or the market price but not below the floor), up to what remains.
#[utoipa::path(post, path = "/api/v1/contracts/{id}/deliveries", tag = "orders", params(("id" = i64, Path)),
    request_body = DeliveryRequest,
    responses((status = 201, body = OrderView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "`not_signed`, `outside_window`, `insufficient_stock`, or `version_conflict` when another delivery was called at the same moment"),
        (status = 422, body = ErrorBody, description = "`quantity`: `required`, `out_of_range`, `exceeds_contract` or a quantity's code")),
    security(("bearer" = []), ("session" = [])))]
async fn call_delivery(
    State(state): State<AppState>,
    actor: Actor,
    ApiId(id): ApiId,
    body: LaterJson<DeliveryRequest>,
) -> AppResult<(StatusCode, Json<OrderView>)> {
    let c = contracts::find_for(&state.db, &actor, id).await?;
    if c.buyer_id != actor.id() {
        contracts::may_act(&state.db, &actor, id, true).await?;
    }
    let req = body.parse()?;
    let view = in_write_txn(&state.db, async |txn| {
        let order = contracts::deliver(txn, &actor, id, &req, Utc::now()).await?;
        let party = crate::http::api::orders::viewer_party(&actor)?;
        Ok(order_views(txn, &[order], party).await?.remove(0))
    })
    .await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// `?year=`: the year whose delivery windows count, this year by default.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct YearQuery {
    pub year: Option<i32>,
}

/// 订单农业覆盖: a region's season contracts in a year per county and category — signed
/// contracts, volume and value, deliveries, and the registered households of the contracting
/// cooperatives. For officials over the region and admins.
#[utoipa::path(get, path = "/api/v1/stats/regions/{code}/contracts", tag = "stats", params(("code" = String, Path), YearQuery),
    responses((status = 200, body = Coverage), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
async fn region_contracts(
    State(state): State<AppState>,
    actor: Actor,
    Path(code): Path<String>,
    ApiQuery(q): ApiQuery<YearQuery>,
) -> AppResult<Json<Coverage>> {
    let (region, _) = crate::stats::access::readable_region(&state.db, &actor, &code).await?;
    let year = q
        .year
        .unwrap_or_else(|| chrono::Datelike::year(&crate::days::local_date(Utc::now())));
    Ok(Json(
        coverage::of_region(&state.db, &region.code, year).await?,
    ))
}
