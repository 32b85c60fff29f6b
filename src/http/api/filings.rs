//! `/api/v1/stats/filings` and `/api/v1/stats/regions/{code}/filings`: the quarterly
//! 成效统计表 reported up the chain, county by county, and its summaries.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::accounts::Actor;
use crate::error::{AppError, AppResult, ErrorBody};
use crate::http::api::extract::{ApiQuery, LaterJson, read_body};
use crate::http::api::stats::{Format, download, log_export};
use crate::http::state::AppState;
use crate::stats::filings::{
    self, Decision, Declared, Duty, EvidenceView, FilingView, Summary, parse_quarter,
};

/// The routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(add_evidence))
        // Evidence files are larger than any other body.
        .layer(DefaultBodyLimit::max(
            filings::EVIDENCE_MAX_BYTES + 64 * 1024,
        ))
        .routes(routes!(get_filing, save_filing))
        .routes(routes!(submit_filing))
        .routes(routes!(return_filing))
        .routes(routes!(accept_filing))
        .routes(routes!(revise_filing))
        .routes(routes!(filing_summary))
        .routes(routes!(sign_off))
        .routes(routes!(get_evidence, delete_evidence))
}

/// `?indicator=&name=`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct EvidenceQuery {
    /// The indicator's code.
    pub indicator: String,
    /// The file's name, as the reader will see it.
    pub name: Option<String>,
}

/// Attaches an evidence file to a declared indicator of the county's report while it may
/// change. The body is the file itself: a PDF, JPEG or PNG (judged by its content), up to
/// 10 MiB; at most five per indicator. It goes up with the next submission.
#[utoipa::path(post, path = "/api/v1/stats/filings/{county}/{quarter}/evidence", tag = "stats",
    params(("county" = String, Path), ("quarter" = String, Path), EvidenceQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "the file: a PDF, JPEG or PNG, whatever the Content-Type says"),
    responses((status = 201, body = EvidenceView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody, description = "`file`: `unsupported_file`, `too_large` or `required`; `indicator`: `unknown`")),
    security(("bearer" = []), ("session" = [])))]
async fn add_evidence(
    State(state): State<AppState>,
    actor: Actor,
    Path((county, quarter)): Path<(String, String)>,
    ApiQuery(q): ApiQuery<EvidenceQuery>,
    request: Request,
) -> AppResult<(StatusCode, Json<EvidenceView>)> {
    let quarter = parse_quarter(&quarter)?;
    // Who may is settled before the body is read.
    filings::authorize(&state.db, &actor, &county, Duty::File).await?;
    let body = read_body(request, &state, |reason| {
        AppError::BadRequest("unreadable_body", reason)
    })
    .await?;
    let e = filings::add_evidence(
        &state.db,
        &actor,
        &county,
        quarter,
        &q.indicator,
        q.name.as_deref().unwrap_or(""),
        body.into(),
        Utc::now(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(e)))
}

/// An evidence file, as uploaded: for the county's officials, and above once it went up with
/// a submitted version.
#[utoipa::path(get, path = "/api/v1/stats/filings/{county}/{quarter}/evidence/{id}", tag = "stats",
    params(("county" = String, Path), ("quarter" = String, Path), ("id" = i64, Path)),
    responses((status = 200, content_type = "application/pdf", body = Vec<u8>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
async fn get_evidence(
    State(state): State<AppState>,
    actor: Actor,
    Path((county, quarter, id)): Path<(String, String, String)>,
) -> AppResult<Response> {
    let quarter = parse_quarter(&quarter)?;
    let id = id
        .parse::<i64>()
        .map_err(|_| AppError::NotFound("evidence"))?;
    let e = filings::evidence_file(&state.db, &actor, &county, quarter, id).await?;
    Ok(super::kept_file(e.id, &e.name, e.content_type, e.data))
}

/// Removes an evidence file that has not gone up yet. The county's reporting staff only.
#[utoipa::path(delete, path = "/api/v1/stats/filings/{county}/{quarter}/evidence/{id}", tag = "stats",
    params(("county" = String, Path), ("quarter" = String, Path), ("id" = i64, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
async fn delete_evidence(
    State(state): State<AppState>,
    actor: Actor,
    Path((county, quarter, id)): Path<(String, String, String)>,
) -> AppResult<StatusCode> {
    let quarter = parse_quarter(&quarter)?;
    filings::authorize(&state.db, &actor, &county, Duty::File).await?;
    let id = id
        .parse::<i64>()
        .map_err(|_| AppError::NotFound("evidence"))?;
    filings::remove_evidence(&state.db, &actor, &county, quarter, id, Utc::now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `?format=`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    /// `json` (the default), `csv` or `xlsx`; downloads are audited.
    pub format: Option<Format>,
}

/// A county's report for a quarter (`2026Q3`): the platform's figures (read-only; the ledger
/// behind them is `/api/v1/stats/regions/{county}/ledger`), the declared indicators with their
/// notes, the prefecture's comments and every step. The county's own officials see its draft;
/// everyone above sees what was submitted.
#[utoipa::path(get, path = "/api/v1/stats/filings/{county}/{quarter}", tag = "stats",
    params(("county" = String, Path), ("quarter" = String, Path), ExportQuery),
    responses((status = 200, body = FilingView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
async fn get_filing(
    State(state): State<AppState>,
    actor: Actor,
    Path((county, quarter)): Path<(String, String)>,
    ApiQuery(q): ApiQuery<ExportQuery>,
) -> AppResult<Response> {
    let quarter = parse_quarter(&quarter)?;
    let view = filings::view(&state.db, &actor, &county, quarter, Utc::now()).await?;
    let format = q.format.unwrap_or_default();
    if format == Format::Json {
        return Ok(Json(view).into_response());
    }
    log_export(
        &state,
        &actor,
        "stats.export_filing",
        &view.county_code,
        serde_json::json!({"quarter": view.quarter, "version": view.version, "format": format.code()}),
    )
    .await?;
    download(
        format,
        &format!(
            "成效统计表-{}-{}-v{}",
            view.county_code, view.quarter, view.version
        ),
        &filings::filing_table(&view),
    )
}

/// The declared indicators, all at once.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SaveFilingRequest {
    /// Per indicator code (`wage_income_fen`, `dividend_income_fen`, `offline_sales_fen`,
    /// `collective_income_fen`, `new_jobs`, `new_enterprises`, `new_cooperatives`): the value,
    /// in fen for amounts, and a note of at most 500 characters. What is left out is not filled
    /// in yet.
    pub indicators: BTreeMap<String, Declared>,
}

/// Saves the county's declared indicators, replacing what was saved; while a draft, or while
/// returned. The county's reporting staff only.
#[utoipa::path(put, path = "/api/v1/stats/filings/{county}/{quarter}", tag = "stats",
    params(("county" = String, Path), ("quarter" = String, Path)), request_body = SaveFilingRequest,
    responses((status = 200, body = FilingView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
async fn save_filing(
    State(state): State<AppState>,
    actor: Actor,
    Path((county, quarter)): Path<(String, String)>,
    body: LaterJson<SaveFilingRequest>,
) -> AppResult<Json<FilingView>> {
    let quarter = parse_quarter(&quarter)?;
    filings::authorize(&state.db, &actor, &county, Duty::File).await?;
    let req = body.parse()?;
    filings::save(
        &state.db,
        &actor,
        &county,
        quarter,
        &req.indicators,
        Utc::now(),
    )
    .await
    .map(Json)
}

/// Submits the saved report up to the prefecture, once the quarter has ended and every
/// indicator is filled in; each submission is a new version.
#[utoipa::path(post, path = "/api/v1/stats/filings/{county}/{quarter}/submit", tag = "stats",
    params(("county" = String, Path), ("quarter" = String, Path)),
    responses((status = 200, body = FilingView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
async fn submit_filing(
    State(state): State<AppState>,
    actor: Actor,
    Path((county, quarter)): Path<(String, String)>,
) -> AppResult<Json<FilingView>> {
    let quarter = parse_quarter(&quarter)?;
    filings::submit(&state.db, &actor, &county, quarter, Utc::now())
        .await
        .map(Json)
}

/// The prefecture's comments when it returns a report.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReturnFilingRequest {
    /// Per indicator code, or `general`: what to change; at least one, each at most 500
    /// characters.
    pub comments: BTreeMap<String, String>,
}

/// Returns a submitted (or accepted, not yet signed-off) report to the county with comments.
/// The prefecture's reporting staff only.
#[utoipa::path(post, path = "/api/v1/stats/filings/{county}/{quarter}/return", tag = "stats",
    params(("county" = String, Path), ("quarter" = String, Path)), request_body = ReturnFilingRequest,
    responses((status = 200, body = FilingView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
async fn return_filing(
    State(state): State<AppState>,
    actor: Actor,
    Path((county, quarter)): Path<(String, String)>,
    body: LaterJson<ReturnFilingRequest>,
) -> AppResult<Json<FilingView>> {
    let quarter = parse_quarter(&quarter)?;
    filings::authorize(&state.db, &actor, &county, Duty::Review).await?;
    let req = body.parse()?;
    filings::decide(
        &state.db,
        &actor,
        &county,
        quarter,
        Decision::Return(req.comments),
        Utc::now(),
    )
    .await
    .map(Json)
}

/// Accepts a submitted report; the province's summary counts it from now on. The
/// prefecture's reporting staff only.
#[utoipa::path(post, path = "/api/v1/stats/filings/{county}/{quarter}/accept", tag = "stats",
    params(("county" = String, Path), ("quarter" = String, Path)),
    responses((status = 200, body = FilingView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
async fn accept_filing(
    State(state): State<AppState>,
    actor: Actor,
    Path((county, quarter)): Path<(String, String)>,
) -> AppResult<Json<FilingView>> {
    let quarter = parse_quarter(&quarter)?;
    filings::decide(
        &state.db,
        &actor,
        &county,
        quarter,
        Decision::Accept,
        Utc::now(),
    )
    .await
    .map(Json)
}

/// Why a report is reopened.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviseFilingRequest {
    /// What the new version corrects; 1 to 500 characters.
    pub reason: String,
}

/// Reopens an accepted or signed-off report for a new version, saying why; the accepted version
/// stays in the history and the summaries stop counting the county until the new version is
/// accepted. The county's reporting staff only.
#[utoipa::path(post, path = "/api/v1/stats/filings/{county}/{quarter}/revise", tag = "stats",
    params(("county" = String, Path), ("quarter" = String, Path)), request_body = ReviseFilingRequest,
    responses((status = 200, body = FilingView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
async fn revise_filing(
    State(state): State<AppState>,
    actor: Actor,
    Path((county, quarter)): Path<(String, String)>,
    body: LaterJson<ReviseFilingRequest>,
) -> AppResult<Json<FilingView>> {
    let quarter = parse_quarter(&quarter)?;
    filings::authorize(&state.db, &actor, &county, Duty::File).await?;
    let req = body.parse()?;
    filings::revise(&state.db, &actor, &county, quarter, &req.reason, Utc::now())
        .await
        .map(Json)
}

/// The reports of the counties under a province, prefecture or county for a quarter: each
/// one's status, version and days late, and the sums of the accepted ones. Exports
/// (`format=csv|xlsx`) are in the table's layout and audited.
#[utoipa::path(get, path = "/api/v1/stats/regions/{code}/filings/{quarter}", tag = "stats",
    params(("code" = String, Path), ("quarter" = String, Path), ExportQuery),
    responses((status = 200, body = Summary), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
async fn filing_summary(
    State(state): State<AppState>,
    actor: Actor,
    Path((code, quarter)): Path<(String, String)>,
    ApiQuery(q): ApiQuery<ExportQuery>,
) -> AppResult<Response> {
    let quarter = parse_quarter(&quarter)?;
    let summary = filings::summary(&state.db, &actor, &code, quarter, Utc::now()).await?;
    let format = q.format.unwrap_or_default();
    if format == Format::Json {
        return Ok(Json(summary).into_response());
    }
    log_export(
        &state,
        &actor,
        "stats.export_filings",
        &summary.region_code,
        serde_json::json!({"quarter": summary.quarter, "counted": summary.counted, "format": format.code()}),
    )
    .await?;
    download(
        format,
        &format!("成效统计表汇总-{}-{}", summary.region_code, summary.quarter),
        &filings::summary_table(&summary),
    )
}

/// Signs off every accepted county report of the province for the quarter. The province's
/// reporting staff only; 409 when none waits.
#[utoipa::path(post, path = "/api/v1/stats/regions/{code}/filings/{quarter}/sign-off", tag = "stats",
    params(("code" = String, Path), ("quarter" = String, Path)),
    responses((status = 200, body = Summary), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
async fn sign_off(
    State(state): State<AppState>,
    actor: Actor,
    Path((code, quarter)): Path<(String, String)>,
) -> AppResult<Json<Summary>> {
    let quarter = parse_quarter(&quarter)?;
    filings::sign_off(&state.db, &actor, &code, quarter, Utc::now())
        .await
        .map(Json)
}
