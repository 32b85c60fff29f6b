//! `/api/v1/orders/{id}/invoice`: the invoice (发票) a seller records for an order, and its
//! file.

use axum::Json;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::response::Response;
use chrono::Utc;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::accounts::Actor;
use crate::db::in_write_txn;
use crate::error::{AppError, AppResult, ErrorBody};
use crate::http::api::certificates::FileQuery;
use crate::http::api::extract::{ApiId, ApiQuery, LaterJson, read_body};
use crate::http::state::AppState;
use crate::orders::invoices::{self, InvoiceRequest, InvoiceView};

/// The routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(attach_invoice_file, invoice_file))
        .layer(DefaultBodyLimit::max(
            crate::evidence::MAX_BYTES + 64 * 1024,
        ))
        .routes(routes!(record_invoice))
}

/// Records the order's invoice, or corrects it: kind, number, amount and date. The seller's
/// staff, or an admin for them; a budget unit's order is completed only once it has one.
#[utoipa::path(put, path = "/api/v1/orders/{id}/invoice", tag = "orders", params(("id" = i64, Path)),
    request_body = InvoiceRequest,
    responses((status = 200, body = InvoiceView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "`order_cancelled`"),
        (status = 422, body = ErrorBody, description = "`kind`: `unknown_value`; `number`: `invalid`; `amount_fen`: `out_of_range`; `issued_on`: `invalid_date`, `in_future` or `before_order`")),
    security(("bearer" = []), ("session" = [])))]
async fn record_invoice(
    State(state): State<AppState>,
    actor: Actor,
    ApiId(id): ApiId,
    body: LaterJson<InvoiceRequest>,
) -> AppResult<Json<InvoiceView>> {
    // Who may is settled before the body is read.
    invoices::sellers_order(&state.db, &actor, id).await?;
    let req = body.parse()?;
    in_write_txn(&state.db, async |txn| {
        invoices::record(txn, &actor, id, &req, Utc::now()).await
    })
    .await
    .map(Json)
}

/// Attaches the invoice's file once the invoice is recorded. The body is the file itself: a
/// PDF, JPEG or PNG (judged by its content), up to 10 MiB.
#[utoipa::path(post, path = "/api/v1/orders/{id}/invoice/file", tag = "orders",
    params(("id" = i64, Path), FileQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "the file: a PDF, JPEG or PNG, whatever the Content-Type says"),
    responses((status = 200, body = InvoiceView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "`no_invoice`"), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody, description = "`file`: `unsupported_file`, `too_large` or `required`")),
    security(("bearer" = []), ("session" = [])))]
async fn attach_invoice_file(
    State(state): State<AppState>,
    actor: Actor,
    ApiId(id): ApiId,
    ApiQuery(q): ApiQuery<FileQuery>,
    request: Request,
) -> AppResult<Json<InvoiceView>> {
    invoices::sellers_order(&state.db, &actor, id).await?;
    let body = read_body(request, &state, |reason| {
        AppError::BadRequest("unreadable_body", reason)
    })
    .await?;
    let name = q.name.unwrap_or_default();
    in_write_txn(&state.db, async |txn| {
        invoices::attach_file(txn, &actor, id, &name, body.to_vec()).await
    })
    .await
    .map(Json)
}

/// The invoice's file, for the order's buyer, the seller's staff, admins and the officials
/// over the seller's region.
#[utoipa::path(get, path = "/api/v1/orders/{id}/invoice/file", tag = "orders", params(("id" = i64, Path)),
    responses((status = 200, content_type = "application/octet-stream", description = "the file as uploaded"), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
async fn invoice_file(
    State(state): State<AppState>,
    actor: Actor,
    ApiId(id): ApiId,
) -> AppResult<Response> {
    let (invoice, data) = invoices::file(&state.db, &actor, id).await?;
    Ok(super::kept_file(
        invoice.id,
        &invoice.file_name,
        invoice.file_type,
        data,
    ))
}
