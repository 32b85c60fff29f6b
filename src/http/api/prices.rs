//! `/api/v1/prices`: 行情, what products sell for, for anyone; the price hint the listing form
//! shows; and, for admins, the listings priced far from their comparables.

use axum::Json;
use axum::extract::State;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::accounts::Actor;
use crate::catalog::domain::Unit;
use crate::error::{AppResult, ErrorBody};
use crate::http::api::accounts::require_admin;
use crate::http::api::extract::ApiQuery;
use crate::http::state::AppState;
use crate::stats::domain::local_date;
use crate::stats::prices::{self, HINT_WEEKS, Outlier, PriceQuery, PriceView, Spread};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(market))
        .routes(routes!(hint))
        .routes(routes!(outliers))
}

/// Weekly quartiles of unit prices per category and unit, from completed sales, and the prices
/// of the listings on offer now, for a region.
#[utoipa::path(get, path = "/api/v1/prices", tag = "stats", params(PriceQuery),
    responses((status = 200, body = PriceView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn market(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<PriceQuery>,
) -> AppResult<Json<PriceView>> {
    prices::price_view(&state.db, &q, local_date(Utc::now()))
        .await
        .map(Json)
}

/// `?category=&unit=`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct HintQuery {
    /// The category's id.
    pub category: i64,
    pub unit: Unit,
}

/// What a category sold for in one unit over the last four weeks, everywhere.
#[derive(Debug, Serialize, ToSchema)]
pub struct PriceHint {
    pub category_id: i64,
    pub unit: Unit,
    pub weeks: u32,
    /// Absent when nothing sold.
    pub sales: Option<Spread>,
}

/// The price hint a producer sees when setting a listing's price.
#[utoipa::path(get, path = "/api/v1/prices/hint", tag = "stats", params(HintQuery),
    responses((status = 200, body = PriceHint), (status = 422, body = ErrorBody)))]
async fn hint(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<HintQuery>,
) -> AppResult<Json<PriceHint>> {
    let today = local_date(Utc::now());
    Ok(Json(PriceHint {
        category_id: q.category,
        unit: q.unit,
        weeks: HINT_WEEKS,
        sales: prices::hint(&state.db, q.category, q.unit, today).await?,
    }))
}

/// Listings on offer priced above 3× or below ⅓ of the median of the listings of the same
/// category and unit (a typo, gouging or dumping), most off first. For admins.
#[utoipa::path(get, path = "/api/v1/admin/price-outliers", tag = "stats",
    responses((status = 200, body = Vec<Outlier>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
async fn outliers(State(state): State<AppState>, actor: Actor) -> AppResult<Json<Vec<Outlier>>> {
    require_admin(&actor)?;
    Ok(Json(prices::outliers(&state.db).await?))
}
