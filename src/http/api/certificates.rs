//! `/api/v1/organizations/{id}/certificates` and `/api/v1/certificates`: certificates recorded
//! by producers, verified by their county's officials, 认定 on public notice with objections.

use axum::Json;
use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::Utc;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::accounts::Actor;
use crate::catalog::certificates::{
    self, CertificateInput, CertificateView, Decision, FileView, ObjectionView, Queue,
};
use crate::db::in_write_txn;
use crate::error::{AppError, AppResult, ErrorBody};
use crate::http::api::extract::{ApiId, ApiQuery, LaterJson, read_body};
use crate::http::auth::MaybeActor;
use crate::http::state::AppState;

/// The routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(add_file))
        // Evidence files are larger than any other body.
        .layer(DefaultBodyLimit::max(
            crate::evidence::MAX_BYTES + 64 * 1024,
        ))
        .routes(routes!(organization_certificates, record_certificate))
        .routes(routes!(certificate_notices))
        .routes(routes!(certificate_queue))
        .routes(routes!(get_certificate, change_certificate))
        .routes(routes!(get_file, delete_file))
        .routes(routes!(submit_certificate))
        .routes(routes!(approve_certificate))
        .routes(routes!(reject_certificate))
        .routes(routes!(object_to_certificate))
        .routes(routes!(decide_objection))
}

/// Two ids of a path, any that is not a positive number being not found.
fn ids(raw: (String, String), what: &'static str) -> AppResult<(i64, i64)> {
    let id = |s: &str| s.parse::<i64>().ok().filter(|n| *n > 0);
    match (id(&raw.0), id(&raw.1)) {
        (Some(a), Some(b)) => Ok((a, b)),
        _ => Err(AppError::NotFound(what)),
    }
}

/// An organization's certificates: all of them for its staff, the officials over its county
/// and admins; the verified ones (on notice, in effect, run out) for everyone else.
#[utoipa::path(get, path = "/api/v1/organizations/{id}/certificates", tag = "certificates",
    params(("id" = i64, Path)),
    responses((status = 200, body = [CertificateView]), (status = 404, body = ErrorBody)))]
async fn organization_certificates(
    State(state): State<AppState>,
    MaybeActor(actor): MaybeActor,
    ApiId(id): ApiId,
) -> AppResult<Json<Vec<CertificateView>>> {
    certificates::of_organization(&state.db, actor.as_ref(), id)
        .await
        .map(Json)
}

/// Records a certificate as a draft: kind, number, issuer, the products and bases it covers,
/// the organization's listings it covers and its validity. It has no effect until submitted
/// with a scan and verified. The organization's staff, or an admin for it.
#[utoipa::path(post, path = "/api/v1/organizations/{id}/certificates", tag = "certificates",
    params(("id" = i64, Path)), request_body = CertificateInput,
    responses((status = 201, body = CertificateView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody, description = "`kind`: `required`, `unknown_value` or `abolished`; `number`, `issuer`, `products`: `required` or `too_long`; `valid_from`: `invalid_date` or `in_future`; `valid_until`: `invalid_date` or `expired`; `listing_ids`: `not_yours` or `too_many`")),
    security(("bearer" = []), ("session" = [])))]
async fn record_certificate(
    State(state): State<AppState>,
    actor: Actor,
    ApiId(id): ApiId,
    body: LaterJson<CertificateInput>,
) -> AppResult<(StatusCode, Json<CertificateView>)> {
    certificates::holder(&state.db, &actor, id).await?;
    let input = body.parse()?;
    let view = in_write_txn(&state.db, async |txn| {
        certificates::record(txn, &actor, id, &input, Utc::now()).await
    })
    .await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// One certificate: verified ones are public; drafts, submissions and rejections only for the
/// organization's staff, the officials over its county and admins, who also see its evidence
/// files and objections.
#[utoipa::path(get, path = "/api/v1/certificates/{id}", tag = "certificates",
    params(("id" = i64, Path)),
    responses((status = 200, body = CertificateView), (status = 404, body = ErrorBody)))]
async fn get_certificate(
    State(state): State<AppState>,
    MaybeActor(actor): MaybeActor,
    ApiId(id): ApiId,
) -> AppResult<Json<CertificateView>> {
    certificates::view(&state.db, actor.as_ref(), id)
        .await
        .map(Json)
}

/// Changes a certificate while it is a draft, awaits review or was rejected (a rejected one
/// goes back to draft); what is left out stays. 409 `certificate_locked` once verified.
#[utoipa::path(patch, path = "/api/v1/certificates/{id}", tag = "certificates",
    params(("id" = i64, Path)), request_body = CertificateInput,
    responses((status = 200, body = CertificateView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
async fn change_certificate(
    State(state): State<AppState>,
    actor: Actor,
    ApiId(id): ApiId,
    body: LaterJson<CertificateInput>,
) -> AppResult<Json<CertificateView>> {
    certificates::editable(&state.db, &actor, id).await?;
    let input = body.parse()?;
    in_write_txn(&state.db, async |txn| {
        certificates::change(txn, &actor, id, &input, Utc::now()).await
    })
    .await
    .map(Json)
}

/// `?name=`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct FileQuery {
    /// The file's name, as readers will see it.
    pub name: Option<String>,
}

/// Attaches a scan of the certificate while it may change. The body is the file itself: a
/// PDF, JPEG or PNG (judged by its content), up to 10 MiB; at most five per certificate.
#[utoipa::path(post, path = "/api/v1/certificates/{id}/files", tag = "certificates",
    params(("id" = i64, Path), FileQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "the file: a PDF, JPEG or PNG, whatever the Content-Type says"),
    responses((status = 201, body = FileView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody, description = "`file`: `unsupported_file`, `too_large` or `required`")),
    security(("bearer" = []), ("session" = [])))]
async fn add_file(
    State(state): State<AppState>,
    actor: Actor,
    ApiId(id): ApiId,
    ApiQuery(q): ApiQuery<FileQuery>,
    request: Request,
) -> AppResult<(StatusCode, Json<FileView>)> {
    // Who may is settled before the body is read.
    certificates::editable(&state.db, &actor, id).await?;
    let body = read_body(request, &state, |reason| {
        AppError::BadRequest("unreadable_body", reason)
    })
    .await?;
    let name = q.name.unwrap_or_default();
    let f = in_write_txn(&state.db, async |txn| {
        certificates::add_file(txn, &actor, id, &name, body.to_vec(), Utc::now()).await
    })
    .await?;
    Ok((StatusCode::CREATED, Json(f)))
}

/// A certificate's evidence file, for its organization's staff, the officials over its
/// county and admins; 404 for anyone else.
#[utoipa::path(get, path = "/api/v1/certificates/{id}/files/{file_id}", tag = "certificates",
    params(("id" = i64, Path), ("file_id" = i64, Path)),
    responses((status = 200, content_type = "application/octet-stream", description = "the file as uploaded"), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
async fn get_file(
    State(state): State<AppState>,
    actor: Actor,
    Path(raw): Path<(String, String)>,
) -> AppResult<Response> {
    let (id, file_id) = ids(raw, "file")?;
    let f = certificates::file(&state.db, &actor, id, file_id).await?;
    Ok(super::kept_file(f.id, &f.name, f.content_type, f.data))
}

/// Removes an evidence file while the certificate may change.
#[utoipa::path(delete, path = "/api/v1/certificates/{id}/files/{file_id}", tag = "certificates",
    params(("id" = i64, Path), ("file_id" = i64, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
async fn delete_file(
    State(state): State<AppState>,
    actor: Actor,
    Path(raw): Path<(String, String)>,
) -> AppResult<StatusCode> {
    let (id, file_id) = ids(raw, "file")?;
    in_write_txn(&state.db, async |txn| {
        certificates::remove_file(txn, &actor, id, file_id).await
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sends the certificate for review by the officials over the organization's county: every
/// field but the bases filled in, at least one scan, still valid.
#[utoipa::path(post, path = "/api/v1/certificates/{id}/submit", tag = "certificates",
    params(("id" = i64, Path)),
    responses((status = 200, body = CertificateView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "`already_submitted`, `certificate_locked`, `organization_not_approved`, `certificate_changed`"),
        (status = 422, body = ErrorBody, description = "each missing field `required`; `file`: `required`; `valid_until`: `expired`")),
    security(("bearer" = []), ("session" = [])))]
async fn submit_certificate(
    State(state): State<AppState>,
    actor: Actor,
    ApiId(id): ApiId,
) -> AppResult<Json<CertificateView>> {
    in_write_txn(&state.db, async |txn| {
        certificates::submit(txn, &actor, id, Utc::now()).await
    })
    .await
    .map(Json)
}

/// Verifies a submitted certificate: in effect at once, or for 消费帮扶产品认定 on public
/// notice for seven days first. An official over the organization's county.
#[utoipa::path(post, path = "/api/v1/certificates/{id}/approve", tag = "certificates",
    params(("id" = i64, Path)),
    responses((status = 200, body = CertificateView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "`not_submitted`, `certificate_expired`, `certificate_changed`")),
    security(("bearer" = []), ("session" = [])))]
async fn approve_certificate(
    State(state): State<AppState>,
    actor: Actor,
    ApiId(id): ApiId,
) -> AppResult<Json<CertificateView>> {
    in_write_txn(&state.db, async |txn| {
        certificates::decide(txn, &actor, id, Decision::Approve, Utc::now()).await
    })
    .await
    .map(Json)
}

/// A reason, for a rejection, an objection or a decision on one.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonRequest {
    /// At most 500 characters.
    pub reason: Option<String>,
}

/// Rejects a submitted certificate with the reason its producer reads. An official over the
/// organization's county.
#[utoipa::path(post, path = "/api/v1/certificates/{id}/reject", tag = "certificates",
    params(("id" = i64, Path)), request_body = ReasonRequest,
    responses((status = 200, body = CertificateView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody, description = "`reason`: `required` or `too_long`")),
    security(("bearer" = []), ("session" = [])))]
async fn reject_certificate(
    State(state): State<AppState>,
    actor: Actor,
    ApiId(id): ApiId,
    body: LaterJson<ReasonRequest>,
) -> AppResult<Json<CertificateView>> {
    certificates::reviewed(&state.db, &actor, id).await?;
    let reason = body.parse()?.reason.unwrap_or_default();
    in_write_txn(&state.db, async |txn| {
        certificates::decide(txn, &actor, id, Decision::Reject(reason), Utc::now()).await
    })
    .await
    .map(Json)
}

/// Lodges an objection to a certificate on public notice, with a reason: anyone signed in but
/// its own organization, once until decided.
#[utoipa::path(post, path = "/api/v1/certificates/{id}/objections", tag = "certificates",
    params(("id" = i64, Path)), request_body = ReasonRequest,
    responses((status = 201, body = ObjectionView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "`not_on_notice`, `already_objected`"), (status = 422, body = ErrorBody, description = "`reason`: `required` or `too_long`")),
    security(("bearer" = []), ("session" = [])))]
async fn object_to_certificate(
    State(state): State<AppState>,
    actor: Actor,
    ApiId(id): ApiId,
    body: LaterJson<ReasonRequest>,
) -> AppResult<(StatusCode, Json<ObjectionView>)> {
    certificates::objector(&state.db, &actor, id).await?;
    let reason = body.parse()?.reason.unwrap_or_default();
    let o = in_write_txn(&state.db, async |txn| {
        certificates::object(txn, &actor, id, &reason, Utc::now()).await
    })
    .await?;
    Ok((StatusCode::CREATED, Json(o)))
}

/// The decision on an objection.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ObjectionDecision {
    /// True when the objection stands (the certificate is rejected), false when it does not.
    pub uphold: bool,
    /// The reasons, at most 500 characters.
    pub reason: Option<String>,
}

/// Decides an objection: upheld, the certificate is rejected; dismissed, it takes effect once
/// its notice is over and no other objection is open. An official over the county.
#[utoipa::path(post, path = "/api/v1/certificates/{id}/objections/{objection_id}/decide", tag = "certificates",
    params(("id" = i64, Path), ("objection_id" = i64, Path)), request_body = ObjectionDecision,
    responses((status = 200, body = CertificateView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "`objection_decided`"), (status = 422, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
async fn decide_objection(
    State(state): State<AppState>,
    actor: Actor,
    Path(raw): Path<(String, String)>,
    body: LaterJson<ObjectionDecision>,
) -> AppResult<Json<CertificateView>> {
    let (id, objection_id) = ids(raw, "objection")?;
    certificates::reviewed(&state.db, &actor, id).await?;
    let d = body.parse()?;
    let reason = d.reason.unwrap_or_default();
    in_write_txn(&state.db, async |txn| {
        certificates::decide_objection(txn, &actor, id, objection_id, d.uphold, &reason, Utc::now())
            .await
    })
    .await
    .map(Json)
}

/// Every certificate on public notice (公示) now, for anyone to read and object to.
#[utoipa::path(get, path = "/api/v1/certificates/notices", tag = "certificates",
    responses((status = 200, body = [CertificateView])))]
async fn certificate_notices(
    State(state): State<AppState>,
    MaybeActor(actor): MaybeActor,
) -> AppResult<Json<Vec<CertificateView>>> {
    certificates::notices(&state.db, actor.as_ref())
        .await
        .map(Json)
}

/// An official's certificates to look at in their region: awaiting review, with objections
/// to decide, on notice, and in effect but running out within 60 days.
#[utoipa::path(get, path = "/api/v1/certificates/queue", tag = "certificates",
    responses((status = 200, body = Queue), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
async fn certificate_queue(State(state): State<AppState>, actor: Actor) -> AppResult<Json<Queue>> {
    certificates::queue(&state.db, &actor, Utc::now())
        .await
        .map(Json)
}
