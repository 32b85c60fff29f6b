//! `/api/v1/purchase-requests`, `/api/v1/proposals` and `/api/v1/matching/runs`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::accounts::Actor;
use crate::error::{AppResult, ErrorBody, Validator};
use crate::fields::text;
use crate::http::api::extract::{ApiId, ApiJson, LaterJson, MaybeJson};
use crate::http::auth::Buyer;
use crate::http::state::AppState;
use crate::matching::requests::{
    self, DeclineInput, ProposalView, RequestInput, RequestView, RequestWithProposals,
};
use crate::matching::service::{self, Accepted, BatchSummary, Rules};

/// The routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_request, list_requests))
        .routes(routes!(get_request, update_request))
        .routes(routes!(cancel_request))
        .routes(routes!(list_proposals))
        .routes(routes!(get_proposal))
        .routes(routes!(accept_proposal))
        .routes(routes!(decline_proposal))
        .routes(routes!(run_matching))
}

#[utoipa::path(post, path = "/api/v1/purchase-requests", tag = "matching", request_body = RequestInput,
    responses((status = 201, body = RequestWithProposals), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn create_request(
    State(state): State<AppState>,
    Buyer(actor): Buyer,
    ApiJson(input): ApiJson<RequestInput>,
) -> AppResult<(StatusCode, Json<RequestWithProposals>)> {
    Ok((
        StatusCode::CREATED,
        Json(requests::post(&state.db, &Rules::of(&state.settings), &actor, input).await?),
    ))
}

#[utoipa::path(get, path = "/api/v1/purchase-requests", tag = "matching",
    responses((status = 200, body = Vec<RequestView>), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
async fn list_requests(
    State(state): State<AppState>,
    actor: Actor,
) -> AppResult<Json<Vec<RequestView>>> {
    Ok(Json(requests::requests_for(&state.db, &actor).await?))
}

/// One request with the proposals its viewer may see.
#[utoipa::path(get, path = "/api/v1/purchase-requests/{id}", tag = "matching", params(("id" = i64, Path)),
    responses((status = 200, body = RequestWithProposals), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn get_request(
    State(state): State<AppState>,
    actor: Actor,
    ApiId(id): ApiId,
) -> AppResult<Json<RequestWithProposals>> {
    Ok(Json(requests::request_for(&state.db, &actor, id).await?))
}

/// Changes an open request; its pending proposals are withdrawn and it is matched again.
#[utoipa::path(patch, path = "/api/v1/purchase-requests/{id}", tag = "matching", params(("id" = i64, Path)), request_body = RequestInput,
    responses((status = 200, body = RequestWithProposals), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn update_request(
    State(state): State<AppState>,
    actor: Actor,
    ApiId(id): ApiId,
    body: LaterJson<RequestInput>,
) -> AppResult<Json<RequestWithProposals>> {
    requests::changeable(&state.db, &actor, id).await?;
    let rules = Rules::of(&state.settings);
    requests::change(&state.db, &rules, &actor, id, body.parse()?)
        .await
        .map(Json)
}

/// Closes an open request; pending proposals are withdrawn.
#[utoipa::path(post, path = "/api/v1/purchase-requests/{id}/cancel", tag = "matching", params(("id" = i64, Path)),
    responses((status = 200, body = RequestView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
async fn cancel_request(
    State(state): State<AppState>,
    actor: Actor,
    ApiId(id): ApiId,
) -> AppResult<Json<RequestView>> {
    requests::cancel(&state.db, &actor, id).await.map(Json)
}

#[utoipa::path(get, path = "/api/v1/proposals", tag = "matching",
    responses((status = 200, body = Vec<ProposalView>), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
async fn list_proposals(
    State(state): State<AppState>,
    actor: Actor,
) -> AppResult<Json<Vec<ProposalView>>> {
    Ok(Json(requests::proposals_for(&state.db, &actor).await?))
}

#[utoipa::path(get, path = "/api/v1/proposals/{id}", tag = "matching", params(("id" = i64, Path)),
    responses((status = 200, body = ProposalView), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn get_proposal(
    State(state): State<AppState>,
    actor: Actor,
    ApiId(id): ApiId,
) -> AppResult<Json<ProposalView>> {
    let (p, _, _) = service::find_for(&state.db, &actor, id).await?;
    let mut v = requests::proposal_views(&state.db, vec![p]).await?;
    Ok(Json(v.remove(0)))
}

/// Accepts for the caller's side; when both sides have, the proposal becomes an order.
#[utoipa::path(post, path = "/api/v1/proposals/{id}/accept", tag = "matching", params(("id" = i64, Path)),
    responses((status = 200, body = ProposalView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
async fn accept_proposal(
    State(state): State<AppState>,
    actor: Actor,
    ApiId(id): ApiId,
) -> AppResult<Json<ProposalView>> {
    let p = match service::accept(&state.db, &actor, id, &Rules::of(&state.settings)).await? {
        Accepted::Waiting(p) | Accepted::Ordered(p) => p,
    };
    let mut v = requests::proposal_views(&state.db, vec![p]).await?;
    Ok(Json(v.remove(0)))
}

/// Declines; the request's remainder is matched again without this listing.
#[utoipa::path(post, path = "/api/v1/proposals/{id}/decline", tag = "matching", params(("id" = i64, Path)), request_body = DeclineInput,
    responses((status = 200, body = ProposalView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn decline_proposal(
    State(state): State<AppState>,
    actor: Actor,
    ApiId(id): ApiId,
    MaybeJson(input): MaybeJson<DeclineInput>,
) -> AppResult<Json<ProposalView>> {
    let input = input.unwrap_or_default();
    let mut v = Validator::default();
    let reason = v.check(
        "reason",
        text(input.reason.as_deref().unwrap_or(""), 0, 500),
    );
    v.finish()?;
    let p = service::decline(
        &state.db,
        &actor,
        id,
        &reason.unwrap_or_default(),
        &Rules::of(&state.settings),
    )
    .await?;
    let mut v = requests::proposal_views(&state.db, vec![p]).await?;
    Ok(Json(v.remove(0)))
}

/// Matches every open request against the whole market at once (admins).
#[utoipa::path(post, path = "/api/v1/matching/runs", tag = "matching",
    responses((status = 200, body = BatchSummary), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
async fn run_matching(
    State(state): State<AppState>,
    actor: Actor,
) -> AppResult<Json<BatchSummary>> {
    Ok(Json(
        service::run_batch(&state.db, &actor, &Rules::of(&state.settings)).await?,
    ))
}
