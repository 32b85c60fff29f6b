//! `/api/v1/regions` and `/api/v1/categories`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::views::RegionView;
use crate::accounts::Actor;
use crate::catalog::categories;
use crate::catalog::domain::{AliasKind, region_level};
use crate::catalog::regions;
use crate::catalog::standing::{self, StandingInput};
use crate::db::in_write_txn;
use crate::error::{AppError, AppResult, ErrorBody};
use crate::http::api::extract::{ApiId, ApiJson, ApiQuery};
use crate::http::auth::Admin;
use crate::http::state::AppState;

/// The routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_regions))
        .routes(routes!(get_region))
        .routes(routes!(record_standing))
        .routes(routes!(list_categories))
        .routes(routes!(add_alias))
}

/// `?parent=CODE`; without it, the provinces.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RegionQuery {
    pub parent: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/regions", tag = "reference", params(RegionQuery),
    responses((status = 200, body = Vec<RegionView>), (status = 404, body = ErrorBody)))]
async fn list_regions(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<RegionQuery>,
) -> AppResult<Json<Vec<RegionView>>> {
    if let Some(p) = &q.parent
        && regions::find(&state.db, p).await?.is_none()
    {
        return Err(AppError::NotFound("region"));
    }
    let rows = regions::children(&state.db, q.parent.as_deref()).await?;
    Ok(Json(rows.into_iter().map(Into::into).collect()))
}

/// A region with the path from its province down.
#[derive(Debug, Serialize, ToSchema)]
pub struct RegionDetail {
    pub region: RegionView,
    pub path: Vec<RegionView>,
    pub children: Vec<RegionView>,
}

#[utoipa::path(get, path = "/api/v1/regions/{code}", tag = "reference", params(("code" = String, Path)),
    responses((status = 200, body = RegionDetail), (status = 404, body = ErrorBody)))]
async fn get_region(
    State(state): State<AppState>,
    Path(code): Path<String>,
) -> AppResult<Json<RegionDetail>> {
    if region_level(&code).is_none() {
        return Err(AppError::NotFound("region"));
    }
    let region = regions::find(&state.db, &code)
        .await?
        .ok_or(AppError::NotFound("region"))?;
    let path = regions::path(&state.db, &code).await?;
    let children = regions::children(&state.db, Some(&code)).await?;
    Ok(Json(RegionDetail {
        region: region.into(),
        path: path.into_iter().map(Into::into).collect(),
        children: children.into_iter().map(Into::into).collect(),
    }))
}

/// Records a county's standing under 消费帮扶 policy: the year a former poverty county
/// exited, and whether it is a 乡村振兴重点帮扶县 (`national` or `provincial`). For the
/// counties of provinces whose standing qudao's reference lists do not give; admins only,
/// audited. Purchases from a county so recorded count for buyer units' obligations and in
/// the officials' assisted figures.
#[utoipa::path(put, path = "/api/v1/regions/{code}/standing", tag = "reference", params(("code" = String, Path)), request_body = StandingInput,
    responses((status = 200, body = RegionView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "`reference_standing`: the county's province has its standing from the reference lists"),
        (status = 422, body = ErrorBody, description = "`code`: `not_a_county`; `poverty_exit`: `out_of_range`; `assistance_key`: `unknown_value`")),
    security(("bearer" = [])))]
async fn record_standing(
    State(state): State<AppState>,
    Admin(actor): Admin,
    Path(code): Path<String>,
    ApiJson(input): ApiJson<StandingInput>,
) -> AppResult<Json<RegionView>> {
    let saved = in_write_txn(&state.db, async |txn| {
        standing::record(txn, &actor, &code, &input).await
    })
    .await?;
    Ok(Json(saved.into()))
}

/// A category with its other names.
#[derive(Debug, Serialize, ToSchema)]
pub struct CategoryView {
    pub id: i64,
    pub parent_id: Option<i64>,
    pub slug: String,
    pub name_zh: String,
    pub name_en: String,
    pub aliases: Vec<AliasView>,
}

/// Another name for a category.
#[derive(Debug, Serialize, ToSchema)]
pub struct AliasView {
    pub alias: String,
    pub kind: AliasKind,
}

#[utoipa::path(get, path = "/api/v1/categories", tag = "reference",
    responses((status = 200, body = Vec<CategoryView>)))]
async fn list_categories(State(state): State<AppState>) -> AppResult<Json<Vec<CategoryView>>> {
    let rows = categories::all_with_aliases(&state.db).await?;
    Ok(Json(
        rows.into_iter()
            .map(|(c, aliases)| CategoryView {
                id: c.id,
                parent_id: c.parent_id,
                slug: c.slug,
                name_zh: c.name_zh,
                name_en: c.name_en,
                aliases: aliases
                    .into_iter()
                    .map(|a| AliasView {
                        alias: a.alias,
                        kind: a.kind,
                    })
                    .collect(),
            })
            .collect(),
    ))
}

/// A synonym to add.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AliasRequest {
    pub alias: String,
    /// `alias` (default) or `english`.
    pub kind: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/categories/{id}/aliases", tag = "reference", params(("id" = i64, Path)), request_body = AliasRequest,
    responses((status = 201, body = AliasView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn add_alias(
    State(state): State<AppState>,
    Admin(actor): Admin,
    ApiId(id): ApiId,
    ApiJson(req): ApiJson<AliasRequest>,
) -> AppResult<(StatusCode, Json<AliasView>)> {
    let view = add_alias_to(&state, &actor, id, req).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// Adds a synonym to a category (admins), for search to pick up.
pub(crate) async fn add_alias_to(
    state: &AppState,
    actor: &Actor,
    id: i64,
    req: AliasRequest,
) -> AppResult<AliasView> {
    let added =
        categories::add_alias(&state.db, actor, id, &req.alias, req.kind.as_deref()).await?;
    Ok(AliasView {
        alias: added.alias,
        kind: added.kind,
    })
}
