//! `/api/v1/recurring-orders`: a buyer's standing orders (weekly or monthly), the periods they
//! ran, and pausing, resuming, changing and ending them.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::Utc;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::accounts::Actor;
use crate::db::in_write_txn;
use crate::error::{AppResult, ErrorBody};
use crate::http::api::extract::{ApiId, ApiJson, LaterJson};
use crate::http::auth::Buyer;
use crate::http::state::AppState;
use crate::orders::recurring::{self, RecurringRequest, RecurringView, Standing};

/// The routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_recurring, create_recurring))
        .routes(routes!(get_recurring, update_recurring, end_recurring))
        .routes(routes!(pause_recurring))
        .routes(routes!(resume_recurring))
}

const REFUSALS: &str = "`listing_id`: `required`, `unknown` or `immutable`; `quantity`: `required`, `out_of_range`, `below_minimum` or a quantity's code; `period`: `unknown_value`; `next_on`: `invalid_date`, `in_past`, `too_far` or `already_run`; `max_price_fen`: `out_of_range`; `delivery_method_id`: `unknown`; `address.*` and `unit_id` as at checkout";

/// The recurring orders the caller sees: a buyer's own, a producer's on its listings, all for
/// admins; each with the periods it ran.
#[utoipa::path(get, path = "/api/v1/recurring-orders", tag = "orders",
    responses((status = 200, body = [RecurringView]), (status = 401, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
async fn list_recurring(
    State(state): State<AppState>,
    actor: Actor,
) -> AppResult<Json<Vec<RecurringView>>> {
    Ok(Json(recurring::list(&state.db, &actor).await?))
}

/// Sets up a recurring order: a listing, a quantity, `weekly` or `monthly`, the first day, a
/// price limit (the listing's price by default), the delivery method and the address. On
/// each period's day it is placed as an ordinary order; a period whose price, stock or
/// delivery no longer fit is skipped, and both sides are told.
#[utoipa::path(post, path = "/api/v1/recurring-orders", tag = "orders", request_body = RecurringRequest,
    responses((status = 201, body = RecurringView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody, description = REFUSALS)),
    security(("bearer" = []), ("session" = [])))]
async fn create_recurring(
    State(state): State<AppState>,
    Buyer(actor): Buyer,
    ApiJson(req): ApiJson<RecurringRequest>,
) -> AppResult<(StatusCode, Json<RecurringView>)> {
    let view = in_write_txn(&state.db, async |txn| {
        recurring::create(txn, &actor, &req, Utc::now()).await
    })
    .await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// One recurring order with its periods, for its buyer, the seller's staff and admins.
#[utoipa::path(get, path = "/api/v1/recurring-orders/{id}", tag = "orders", params(("id" = i64, Path)),
    responses((status = 200, body = RecurringView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
async fn get_recurring(
    State(state): State<AppState>,
    actor: Actor,
    ApiId(id): ApiId,
) -> AppResult<Json<RecurringView>> {
    let r = recurring::find_for(&state.db, &actor, id).await?;
    Ok(Json(recurring::view(&state.db, r).await?))
}

/// Changes the buyer's recurring order: everything but its listing. Periods start again from
/// the new next day.
#[utoipa::path(put, path = "/api/v1/recurring-orders/{id}", tag = "orders", params(("id" = i64, Path)),
    request_body = RecurringRequest,
    responses((status = 200, body = RecurringView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "`recurring_ended` or `version_conflict`"),
        (status = 422, body = ErrorBody, description = REFUSALS)),
    security(("bearer" = []), ("session" = [])))]
async fn update_recurring(
    State(state): State<AppState>,
    actor: Actor,
    ApiId(id): ApiId,
    body: LaterJson<RecurringRequest>,
) -> AppResult<Json<RecurringView>> {
    recurring::may_change(&state.db, &actor, id).await?;
    let req = body.parse()?;
    in_write_txn(&state.db, async |txn| {
        recurring::update(txn, &actor, id, &req, Utc::now()).await
    })
    .await
    .map(Json)
}

/// Ends the buyer's recurring order; the periods it ran stay on record.
#[utoipa::path(delete, path = "/api/v1/recurring-orders/{id}", tag = "orders", params(("id" = i64, Path)),
    responses((status = 200, body = RecurringView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "`invalid_transition`")),
    security(("bearer" = []), ("session" = [])))]
async fn end_recurring(
    State(state): State<AppState>,
    actor: Actor,
    ApiId(id): ApiId,
) -> AppResult<Json<RecurringView>> {
    step(&state, &actor, id, Standing::Ended).await
}

/// Pauses the buyer's recurring order: no period runs until it is resumed.
#[utoipa::path(post, path = "/api/v1/recurring-orders/{id}/pause", tag = "orders", params(("id" = i64, Path)),
    responses((status = 200, body = RecurringView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "`invalid_transition`")),
    security(("bearer" = []), ("session" = [])))]
async fn pause_recurring(
    State(state): State<AppState>,
    actor: Actor,
    ApiId(id): ApiId,
) -> AppResult<Json<RecurringView>> {
    step(&state, &actor, id, Standing::Paused).await
}

/// Resumes the buyer's paused recurring order from the first period today or later.
#[utoipa::path(post, path = "/api/v1/recurring-orders/{id}/resume", tag = "orders", params(("id" = i64, Path)),
    responses((status = 200, body = RecurringView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "`invalid_transition`")),
    security(("bearer" = []), ("session" = [])))]
async fn resume_recurring(
    State(state): State<AppState>,
    actor: Actor,
    ApiId(id): ApiId,
) -> AppResult<Json<RecurringView>> {
    step(&state, &actor, id, Standing::Active).await
}

async fn step(
    state: &AppState,
    actor: &Actor,
    id: i64,
    to: Standing,
) -> AppResult<Json<RecurringView>> {
    in_write_txn(&state.db, async |txn| {
        recurring::set_status(txn, actor, id, to, Utc::now()).await
    })
    .await
    .map(Json)
}
