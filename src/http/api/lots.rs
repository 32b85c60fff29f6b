//! `/api/v1/listings/{id}/lots`, `/api/v1/lots/{code}` and `/api/v1/orders/{id}/lots`: the lots
//! a listing's goods come from, what each lot's trace page tells, and which lots filled an order.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::Utc;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::accounts::Actor;
use crate::catalog::lots::{self, LotInput, LotView, Trace};
use crate::db::in_write_txn;
use crate::error::{AppError, AppResult, ErrorBody};
use crate::http::api::extract::{ApiId, LaterJson};
use crate::http::auth::MaybeActor;
use crate::http::state::AppState;
use crate::orders::lots::LineLot;

/// The routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(listing_lots, record_lot))
        .routes(routes!(lot_trace))
        .routes(routes!(order_lots))
}

/// A listing's lots, newest first, for whoever may see the listing.
#[utoipa::path(get, path = "/api/v1/listings/{id}/lots", tag = "listings",
    params(("id" = i64, Path)),
    responses((status = 200, body = [LotView]), (status = 404, body = ErrorBody)))]
async fn listing_lots(
    State(state): State<AppState>,
    MaybeActor(actor): MaybeActor,
    ApiId(id): ApiId,
) -> AppResult<Json<Vec<LotView>>> {
    lots::of_listing(&state.db, actor.as_ref(), id)
        .await
        .map(Json)
}

/// Records a lot of the listing: harvest or production date, base or plot, village, member
/// households involved and quantity. A lot records origin; it does not change stock. The
/// organization's staff, or an admin for it.
#[utoipa::path(post, path = "/api/v1/listings/{id}/lots", tag = "listings",
    params(("id" = i64, Path)), request_body = LotInput,
    responses((status = 201, body = LotView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody, description = "`harvested_on`: `required`, `invalid_date` or `in_future`; `village_code`: `unknown` or `out_of_scope`; `households`: `out_of_range`; `quantity`: `required`, `out_of_range` or a quantity's codes; `base`: `too_long`")),
    security(("bearer" = []), ("session" = [])))]
async fn record_lot(
    State(state): State<AppState>,
    actor: Actor,
    ApiId(id): ApiId,
    body: LaterJson<LotInput>,
) -> AppResult<(StatusCode, Json<LotView>)> {
    lots::recordable(&state.db, &actor, id).await?;
    let input = body.parse()?;
    let lot = in_write_txn(&state.db, async |txn| {
        lots::record(txn, &actor, id, &input, Utc::now()).await
    })
    .await?;
    Ok((StatusCode::CREATED, Json(lot)))
}

/// What a lot's trace page tells, by its public code: the product, the cooperative, the
/// village, the harvest, the certificates in effect and how many registered households took
/// part. Reading it here does not count as a scan.
#[utoipa::path(get, path = "/api/v1/lots/{code}", tag = "listings",
    params(("code" = String, Path)),
    responses((status = 200, body = Trace), (status = 404, body = ErrorBody)))]
async fn lot_trace(
    State(state): State<AppState>,
    axum::extract::Path(code): axum::extract::Path<String>,
) -> AppResult<Json<Trace>> {
    lots::trace(&state.db, &code, false).await.map(Json)
}

/// The lots an order's lines were filled from, bound when it shipped: for its buyer, its
/// seller and admins.
#[utoipa::path(get, path = "/api/v1/orders/{id}/lots", tag = "orders",
    params(("id" = i64, Path)),
    responses((status = 200, body = [LineLot]), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
async fn order_lots(
    State(state): State<AppState>,
    actor: Actor,
    ApiId(id): ApiId,
) -> AppResult<Json<Vec<LineLot>>> {
    let (o, _) = crate::orders::lifecycle::find_for(&state.db, &actor, id).await?;
    let lines: Vec<i64> = crate::orders::entity::order_line::Entity::find()
        .filter(crate::orders::entity::order_line::Column::OrderId.eq(o.id))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|l| l.id)
        .collect();
    Ok(Json(
        crate::orders::lots::of_lines(&state.db, &lines)
            .await
            .map_err(AppError::from)?,
    ))
}
