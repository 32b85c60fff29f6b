//! `/api/v1/listings`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::views::{ListingView, listing_views};
use crate::accounts::Actor;
use crate::catalog::domain::{Certification, ListingStatus, region_level};
use crate::catalog::draft::{ListingRequest, code_of};
use crate::catalog::listings::{self, ListFilter, ListSort};
use crate::error::{AppResult, ErrorBody, Validator};
use crate::http::api::extract::{ApiId, ApiJson, ApiQuery};
use crate::http::auth::MaybeActor;
use crate::http::auth::Producer;
use crate::http::state::AppState;
use crate::page::{self, Page};

/// The routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_listings, create_listing))
        .routes(routes!(get_listing, update_listing, delete_listing))
        .routes(routes!(pause_listing))
        .routes(routes!(resume_listing))
}

/// Filters, sorting and paging for `GET /api/v1/listings`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListingQuery {
    pub page: Option<u64>,
    pub per_page: Option<u64>,
    /// A category id; its sub-categories are included.
    pub category_id: Option<i64>,
    pub organization_id: Option<i64>,
    /// A region code at any level (province to village).
    pub region: Option<String>,
    pub min_price_fen: Option<i64>,
    pub max_price_fen: Option<i64>,
    pub in_stock: Option<bool>,
    pub certification: Option<String>,
    /// `active` or `paused` (paused ones only reach their own organization, officials and admins).
    pub status: Option<String>,
    /// Words in the title or description.
    pub q: Option<String>,
    /// `newest` (default), `price_asc` or `price_desc`.
    pub sort: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/listings", tag = "listings", params(ListingQuery),
    responses((status = 200, body = Page<ListingView>), (status = 422, body = ErrorBody)))]
async fn list_listings(
    State(state): State<AppState>,
    MaybeActor(actor): MaybeActor,
    ApiQuery(q): ApiQuery<ListingQuery>,
) -> AppResult<Json<Page<ListingView>>> {
    let (page, per_page) = page::resolve(q.page, q.per_page)?;
    let mut v = Validator::default();
    let mut f = ListFilter {
        organization_id: q.organization_id,
        min_price_fen: q.min_price_fen,
        max_price_fen: q.max_price_fen,
        in_stock: q.in_stock,
        ..Default::default()
    };
    if let Some(id) = q.category_id {
        f.category_ids = Some(listings::category_and_descendants(&state.db, id).await?);
    }
    if let Some(code) = q.region {
        if region_level(&code).is_none() {
            v.add("region", "unknown", "not a region code");
        }
        f.region_code = Some(code);
    }
    f.certification = q.certification.as_deref().and_then(|c| {
        code_of(
            "certification",
            c,
            Certification::from_code,
            Certification::codes(),
            &mut v,
        )
    });
    f.status = q.status.as_deref().and_then(|s| {
        code_of(
            "status",
            s,
            ListingStatus::from_code,
            ListingStatus::codes(),
            &mut v,
        )
    });
    f.sort = match q.sort.as_deref() {
        None | Some("newest") => ListSort::Newest,
        Some("price_asc") => ListSort::PriceAsc,
        Some("price_desc") => ListSort::PriceDesc,
        Some(_) => {
            v.add(
                "sort",
                "unknown_value",
                "must be one of: newest, price_asc, price_desc",
            );
            ListSort::Newest
        }
    };
    if let Some(t) = q.q.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        if t.chars().count() > 100 {
            v.add("q", "too_long", "at most 100 characters");
        }
        f.text = Some(t.to_string());
    }
    if let (Some(lo), Some(hi)) = (f.min_price_fen, f.max_price_fen)
        && lo > hi
    {
        v.add(
            "max_price_fen",
            "out_of_range",
            "must not be below min_price_fen",
        );
    }
    v.finish()?;
    let (items, total) = listings::list(
        &state.db,
        &state.listing_counts,
        actor.as_ref(),
        &f,
        page,
        per_page,
    )
    .await?;
    let views = listing_views(&state.db, &state.search.vocabulary(), items).await?;
    Ok(Json(Page::new(views, page, per_page, total)))
}

#[utoipa::path(post, path = "/api/v1/listings", tag = "listings", request_body = ListingRequest,
    responses((status = 201, body = ListingView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn create_listing(
    State(state): State<AppState>,
    Producer(actor): Producer,
    ApiJson(req): ApiJson<ListingRequest>,
) -> AppResult<(StatusCode, Json<ListingView>)> {
    let view = create(&state, &actor, req).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// Checks and creates a listing, then lets matching see it.
pub(crate) async fn create(
    state: &AppState,
    actor: &Actor,
    req: ListingRequest,
) -> AppResult<ListingView> {
    let draft = req.into_draft(None)?;
    let txn = crate::db::write_txn(&state.db).await?;
    let l = listings::create(&txn, actor, draft).await?;
    txn.commit().await?;
    crate::matching::service::after_listing_change(&state.db, &state.settings, l.id).await;
    Ok(
        listing_views(&state.db, &state.search.vocabulary(), vec![l])
            .await?
            .remove(0),
    )
}

#[utoipa::path(get, path = "/api/v1/listings/{id}", tag = "listings", params(("id" = i64, Path)),
    responses((status = 200, body = ListingView), (status = 404, body = ErrorBody)))]
async fn get_listing(
    State(state): State<AppState>,
    MaybeActor(actor): MaybeActor,
    ApiId(id): ApiId,
) -> AppResult<Json<ListingView>> {
    let l = listings::get_visible(&state.db, actor.as_ref(), id).await?;
    Ok(Json(
        listing_views(&state.db, &state.search.vocabulary(), vec![l])
            .await?
            .remove(0),
    ))
}

/// Checks and applies changes to one of the producer's listings.
pub(crate) async fn change(
    state: &AppState,
    actor: &Actor,
    id: i64,
    req: ListingRequest,
) -> AppResult<ListingView> {
    let txn = crate::db::write_txn(&state.db).await?;
    let current = listings::find_own(&txn, actor, id).await?;
    let draft = req.into_draft(Some(listings::to_draft(&current)))?;
    let l = listings::update(&txn, actor, current, draft).await?;
    txn.commit().await?;
    crate::matching::service::after_listing_change(&state.db, &state.settings, l.id).await;
    Ok(
        listing_views(&state.db, &state.search.vocabulary(), vec![l])
            .await?
            .remove(0),
    )
}

#[utoipa::path(patch, path = "/api/v1/listings/{id}", tag = "listings", params(("id" = i64, Path)), request_body = ListingRequest,
    responses((status = 200, body = ListingView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn update_listing(
    State(state): State<AppState>,
    Producer(actor): Producer,
    ApiId(id): ApiId,
    ApiJson(req): ApiJson<ListingRequest>,
) -> AppResult<Json<ListingView>> {
    change(&state, &actor, id, req).await.map(Json)
}

#[utoipa::path(post, path = "/api/v1/listings/{id}/pause", tag = "listings", params(("id" = i64, Path)),
    responses((status = 200, body = ListingView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn pause_listing(
    State(state): State<AppState>,
    actor: Actor,
    ApiId(id): ApiId,
) -> AppResult<Json<ListingView>> {
    let req = ListingRequest {
        status: Some("paused".into()),
        ..Default::default()
    };
    change(&state, &actor, id, req).await.map(Json)
}

#[utoipa::path(post, path = "/api/v1/listings/{id}/resume", tag = "listings", params(("id" = i64, Path)),
    responses((status = 200, body = ListingView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn resume_listing(
    State(state): State<AppState>,
    actor: Actor,
    ApiId(id): ApiId,
) -> AppResult<Json<ListingView>> {
    let req = ListingRequest {
        status: Some("active".into()),
        ..Default::default()
    };
    change(&state, &actor, id, req).await.map(Json)
}

#[utoipa::path(delete, path = "/api/v1/listings/{id}", tag = "listings", params(("id" = i64, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn delete_listing(
    State(state): State<AppState>,
    actor: Actor,
    ApiId(id): ApiId,
) -> AppResult<StatusCode> {
    let txn = crate::db::write_txn(&state.db).await?;
    listings::delete(&txn, &actor, id).await?;
    txn.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
