//! `/api/v1/orders/{id}/receipt-photo`: the photo a buyer takes of a delivery when confirming
//! it.

use axum::Json;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::response::Response;
use chrono::Utc;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::accounts::Actor;
use crate::db::in_write_txn;
use crate::error::{AppError, AppResult, ErrorBody};
use crate::http::api::certificates::FileQuery;
use crate::http::api::extract::{ApiId, ApiQuery, read_body};
use crate::http::state::AppState;
use crate::orders::lifecycle;
use crate::orders::short::{self, ReceiptPhoto};

/// The routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(attach_receipt_photo, receipt_photo))
        .layer(DefaultBodyLimit::max(
            crate::evidence::MAX_BYTES + 64 * 1024,
        ))
}

/// The buyer's photo of the delivery, once receipt is confirmed: a JPEG or PNG (judged by its
/// content), up to 10 MiB, replacing any before.
#[utoipa::path(post, path = "/api/v1/orders/{id}/receipt-photo", tag = "orders",
    params(("id" = i64, Path), FileQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "the photo: a JPEG or PNG, whatever the Content-Type says"),
    responses((status = 200, body = ReceiptPhoto), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "`not_delivered`"), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody, description = "`file`: `unsupported_file`, `too_large` or `required`")),
    security(("bearer" = []), ("session" = [])))]
async fn attach_receipt_photo(
    State(state): State<AppState>,
    actor: Actor,
    ApiId(id): ApiId,
    ApiQuery(q): ApiQuery<FileQuery>,
    request: Request,
) -> AppResult<Json<ReceiptPhoto>> {
    // Who may is settled before the body is read.
    let (_, party) = lifecycle::find_for(&state.db, &actor, id).await?;
    if party != crate::orders::domain::Party::Buyer {
        return Err(AppError::Forbidden(
            "only the buyer confirms a delivery with a photo".into(),
        ));
    }
    let body = read_body(request, &state, |reason| {
        AppError::BadRequest("unreadable_body", reason)
    })
    .await?;
    let name = q.name.unwrap_or_default();
    in_write_txn(&state.db, async |txn| {
        short::attach_photo(txn, &actor, id, &name, body.to_vec(), Utc::now()).await
    })
    .await
    .map(Json)
}

/// The photo of the delivery, for the order's buyer and seller, admins and the officials over
/// the seller's region.
#[utoipa::path(get, path = "/api/v1/orders/{id}/receipt-photo", tag = "orders", params(("id" = i64, Path)),
    responses((status = 200, content_type = "application/octet-stream", description = "the photo as uploaded"), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
async fn receipt_photo(
    State(state): State<AppState>,
    actor: Actor,
    ApiId(id): ApiId,
) -> AppResult<Response> {
    let p = short::photo(&state.db, &actor, id).await?;
    Ok(super::kept_file(
        p.order_id,
        &p.file_name,
        p.file_type,
        p.data,
    ))
}
