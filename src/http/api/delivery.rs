//! `/api/v1/delivery-methods`, `/api/v1/organizations/{id}/delivery-methods`,
//! `/api/v1/listings/{id}/shipping` and `/api/v1/cart/freight`: how sellers deliver, what a
//! listing needs to travel, and what the cart's freight comes to.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

use sea_orm::EntityTrait;

use crate::db::in_write_txn;
use crate::delivery::methods::{self, MethodRequest, MethodView, Shipping};
use crate::error::{AppResult, ErrorBody};
use crate::fulfilment::packing::{self, PackingList};
use crate::http::api::extract::{ApiId, ApiJson, ApiQuery};
use crate::http::auth::{Buyer, Producer};
use crate::http::state::AppState;
use crate::orders::checkout::SellerFreight;
use crate::orders::request;

/// The routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(organization_methods))
        .routes(routes!(my_methods, create_method))
        .routes(routes!(update_method, delete_method))
        .routes(routes!(set_shipping))
        .routes(routes!(cart_freight))
        .routes(routes!(packing_list))
}

const REFUSALS: &str = "`kind`: `unknown_value`; `name`, `address`, `hours`: `required` or `too_long`; `fee_fen`, `cold_surcharge_fen`, `min_weight_g`, `radius_km`: `out_of_range`; `rates`: `required` or `too_many`; `rates[i].province_code`: `unknown` or `duplicate`; `rates[i].*_weight_g`, `rates[i].*_fee_fen`: `out_of_range`; `area`: `required` or `too_many`; `area[i]`, `region_code`: `unknown`";

/// A seller's delivery methods, for anyone: what each costs and where it goes.
#[utoipa::path(get, path = "/api/v1/organizations/{id}/delivery-methods", tag = "orders",
    params(("id" = i64, Path)),
    responses((status = 200, body = [MethodView]), (status = 404, body = ErrorBody)))]
async fn organization_methods(
    State(state): State<AppState>,
    ApiId(id): ApiId,
) -> AppResult<Json<Vec<MethodView>>> {
    crate::catalog::entity::organization::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or(crate::error::AppError::NotFound("organization"))?;
    methods::list(&state.db, id).await.map(Json)
}

/// The producer's own organization's delivery methods.
#[utoipa::path(get, path = "/api/v1/delivery-methods", tag = "orders",
    responses((status = 200, body = [MethodView]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
async fn my_methods(
    State(state): State<AppState>,
    Producer(actor): Producer,
) -> AppResult<Json<Vec<MethodView>>> {
    let org = actor.organization_id().unwrap_or_default();
    methods::list(&state.db, org).await.map(Json)
}

/// Adds a delivery method: express with its rate table (first weight and each further step
/// by destination province, a default row for the rest, a cold-chain surcharge), the
/// seller's own delivery within named regions or a radius, a pickup point (自提点) with its
/// address and hours, or a consolidation warehouse (集采仓) taking lots from a weight.
#[utoipa::path(post, path = "/api/v1/delivery-methods", tag = "orders", request_body = MethodRequest,
    responses((status = 201, body = MethodView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "`too_many_methods`"),
        (status = 422, body = ErrorBody, description = REFUSALS)),
    security(("bearer" = []), ("session" = [])))]
async fn create_method(
    State(state): State<AppState>,
    Producer(actor): Producer,
    ApiJson(req): ApiJson<MethodRequest>,
) -> AppResult<(StatusCode, Json<MethodView>)> {
    let view = in_write_txn(&state.db, async |txn| {
        methods::create(txn, &actor, &req).await
    })
    .await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// Replaces one of the producer's delivery methods. Orders already placed keep what they
/// were charged.
#[utoipa::path(put, path = "/api/v1/delivery-methods/{id}", tag = "orders", params(("id" = i64, Path)),
    request_body = MethodRequest,
    responses((status = 200, body = MethodView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody, description = REFUSALS)),
    security(("bearer" = []), ("session" = [])))]
async fn update_method(
    State(state): State<AppState>,
    Producer(actor): Producer,
    ApiId(id): ApiId,
    ApiJson(req): ApiJson<MethodRequest>,
) -> AppResult<Json<MethodView>> {
    in_write_txn(&state.db, async |txn| {
        methods::update(txn, &actor, id, &req).await
    })
    .await
    .map(Json)
}

/// Removes one of the producer's delivery methods.
#[utoipa::path(delete, path = "/api/v1/delivery-methods/{id}", tag = "orders", params(("id" = i64, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
async fn delete_method(
    State(state): State<AppState>,
    Producer(actor): Producer,
    ApiId(id): ApiId,
) -> AppResult<StatusCode> {
    in_write_txn(&state.db, async |txn| {
        methods::delete(txn, &actor, id).await
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sets what one of the producer's listings needs to travel: the cold chain (only methods
/// with it may carry the listing) and the weight of a piece (for listings sold by the piece).
#[utoipa::path(put, path = "/api/v1/listings/{id}/shipping", tag = "listings", params(("id" = i64, Path)),
    request_body = Shipping,
    responses((status = 200, body = Shipping), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody, description = "`piece_weight_g`: `out_of_range`")),
    security(("bearer" = []), ("session" = [])))]
async fn set_shipping(
    State(state): State<AppState>,
    Producer(actor): Producer,
    ApiId(id): ApiId,
    ApiJson(req): ApiJson<Shipping>,
) -> AppResult<Json<Shipping>> {
    in_write_txn(&state.db, async |txn| {
        methods::set_shipping(txn, &actor, id, &req).await
    })
    .await
    .map(Json)
}

/// Where the cart would go.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FreightQuery {
    /// The delivery address's county, township or village.
    pub region_code: String,
}

/// The buyer's cart by seller, with every method each seller keeps and its freight to the
/// address, or why it cannot carry the order. Checkout charges the method chosen per seller,
/// else the cheapest that fits.
#[utoipa::path(get, path = "/api/v1/cart/freight", tag = "orders", params(FreightQuery),
    responses((status = 200, body = [SellerFreight]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody, description = "`region_code`: `unknown`")),
    security(("bearer" = []), ("session" = [])))]
async fn cart_freight(
    State(state): State<AppState>,
    Buyer(actor): Buyer,
    ApiQuery(q): ApiQuery<FreightQuery>,
) -> AppResult<Json<Vec<SellerFreight>>> {
    request::cart_freight(&state.db, &actor, &q.region_code)
        .await
        .map(Json)
}

/// Which list, for which day, in what form.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PackingQuery {
    /// `YYYY-MM-DD` (Beijing); today by default.
    pub day: Option<String>,
    /// `packing` (per order, the default) or `picking` (per listing and lot); for CSV and XLSX.
    pub list: Option<String>,
    pub format: Option<crate::http::api::stats::Format>,
}

/// The day as a query gives it, today by default; 422 on `day` otherwise.
pub(crate) fn day_of(raw: Option<&str>) -> AppResult<chrono::NaiveDate> {
    match raw.map(str::trim).filter(|d| !d.is_empty()) {
        None => Ok(crate::days::local_date(chrono::Utc::now())),
        Some(d) => chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|_| {
            crate::error::AppError::field("day", "invalid_date", "a date as YYYY-MM-DD")
        }),
    }
}

/// The producer's packing list for a day: every order waiting to go out (placed or
/// confirmed by the end of the day) with what to pack and where it goes, and the pick list
/// per listing from its oldest lots with goods left. JSON, or one list as CSV or XLSX.
#[utoipa::path(get, path = "/api/v1/packing-list", tag = "orders", params(PackingQuery),
    responses((status = 200, body = PackingList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody, description = "`day`: `invalid_date`; `list`: `unknown_value`")),
    security(("bearer" = []), ("session" = [])))]
async fn packing_list(
    State(state): State<AppState>,
    Producer(actor): Producer,
    ApiQuery(q): ApiQuery<PackingQuery>,
) -> AppResult<axum::response::Response> {
    use crate::http::api::stats::{Format, download_sheet};
    use axum::response::IntoResponse;
    let day = day_of(q.day.as_deref())?;
    let picking = match q.list.as_deref().unwrap_or("packing") {
        "packing" => false,
        "picking" => true,
        _ => {
            return Err(crate::error::AppError::field(
                "list",
                "unknown_value",
                "must be one of: packing, picking",
            ));
        }
    };
    let list = packing::for_day(&state.db, &actor, day).await?;
    match q.format.unwrap_or_default() {
        Format::Json => Ok(Json(list).into_response()),
        format if picking => download_sheet(
            format,
            &format!("picking-{day}"),
            "拣货单",
            &list.picking_table(),
        ),
        format => download_sheet(
            format,
            &format!("packing-{day}"),
            "打包单",
            &list.packing_table(),
        ),
    }
}
