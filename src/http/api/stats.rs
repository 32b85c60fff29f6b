//! `/api/v1/stats`: roll-ups, drill-down, targets, quarterly reports and exports for officials.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::accounts::Actor;
use crate::catalog::domain::{RegionLevel, region_level};
use crate::error::{AppError, AppResult, ErrorBody, Validator};
use crate::http::api::extract::{ApiQuery, LaterJson};
use crate::http::auth::Official;
use crate::http::state::AppState;
use crate::stats::access::{may_close_quarters, readable_region};
use crate::stats::domain::{Basis, Granularity, Period, child_level, local_date};
use crate::stats::entity::quarter_close;
use crate::stats::reports::{self, Report};
use crate::stats::rollup::{self, HouseholdIncome, Scope};
use crate::stats::targets::{self, Progress, TargetsRequest};
use crate::stats::views::{
    RollupQuery, RollupView, TrendQuery, TrendView, audit_households_view, period_of, rollup_view,
    trend_view,
};
use crate::stats::warnings::{self, WarningQuery, WarningView};

/// The routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(region_rollup))
        .routes(routes!(region_trend))
        .routes(routes!(region_households))
        .routes(routes!(region_trust))
        .routes(routes!(get_targets, put_targets))
        .routes(routes!(quarterly_report))
        .routes(routes!(county_ledger))
        .routes(routes!(list_quarters, close_quarter))
        .routes(routes!(region_warnings))
        .routes(routes!(acknowledge_warning))
}

/// The early warnings of a region and the regions below it: 滞销 listings, regions behind
/// their target's pace, and (for the county's own officials only) households whose income
/// fell. Unacknowledged first.
#[utoipa::path(get, path = "/api/v1/stats/regions/{code}/warnings", tag = "stats", params(("code" = String, Path), WarningQuery),
    responses((status = 200, body = Vec<WarningView>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
async fn region_warnings(
    State(state): State<AppState>,
    actor: Actor,
    Path(code): Path<String>,
    ApiQuery(q): ApiQuery<WarningQuery>,
) -> AppResult<Json<Vec<WarningView>>> {
    let (region, _) = readable_region(&state.db, &actor, &code).await?;
    Ok(Json(
        warnings::list(&state.db, &actor, &region.code, &q).await?,
    ))
}

/// What an official says about a warning.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcknowledgeRequest {
    /// What is being done about it; 1 to 500 characters.
    pub note: String,
}

/// Acknowledges a warning with a note, once; the acknowledgement is audited. For the
/// officials who see the warning.
#[utoipa::path(post, path = "/api/v1/stats/warnings/{id}/acknowledge", tag = "stats", params(("id" = i64, Path)), request_body = AcknowledgeRequest,
    responses((status = 200, body = WarningView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
async fn acknowledge_warning(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
    body: LaterJson<AcknowledgeRequest>,
) -> AppResult<Json<WarningView>> {
    let note = || body.parse().map(|r| r.note);
    Ok(Json(
        warnings::acknowledge(&state.db, &actor, id, note, Utc::now()).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/stats/regions/{code}", tag = "stats", params(("code" = String, Path), RollupQuery),
    responses((status = 200, body = RollupView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
async fn region_rollup(
    State(state): State<AppState>,
    actor: Actor,
    Path(code): Path<String>,
    ApiQuery(q): ApiQuery<RollupQuery>,
) -> AppResult<Json<RollupView>> {
    rollup_view(&state.db, &actor, &code, &q).await.map(Json)
}

#[utoipa::path(get, path = "/api/v1/stats/regions/{code}/trend", tag = "stats", params(("code" = String, Path), TrendQuery),
    responses((status = 200, body = TrendView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
async fn region_trend(
    State(state): State<AppState>,
    actor: Actor,
    Path(code): Path<String>,
    ApiQuery(q): ApiQuery<TrendQuery>,
) -> AppResult<Json<TrendView>> {
    trend_view(&state.db, &actor, &code, &q).await.map(Json)
}

/// `?period=&basis=`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PeriodQuery {
    pub period: Option<String>,
    pub basis: Option<Basis>,
}

/// The registered households that benefited, by internal id only (never by name).
#[utoipa::path(get, path = "/api/v1/stats/regions/{code}/households", tag = "stats", params(("code" = String, Path), PeriodQuery),
    responses((status = 200, body = Vec<HouseholdIncome>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
async fn region_households(
    State(state): State<AppState>,
    actor: Actor,
    Path(code): Path<String>,
    ApiQuery(q): ApiQuery<PeriodQuery>,
) -> AppResult<Json<Vec<HouseholdIncome>>> {
    let (region, level) = readable_region(&state.db, &actor, &code).await?;
    let period = period_of("period", q.period.as_deref())?;
    let basis = q.basis.unwrap_or(Basis::Completed);
    let scope = Scope::of(basis, level, &region.code, period);
    let households = rollup::households(&state.db, &scope).await?;
    audit_households_view(&state.db, &actor, &scope, households.len()).await?;
    Ok(Json(households))
}

/// Trust in a region's sales for a period: the share placed on listings that carried a verified
/// certificate when bought, and how often its lots' trace pages were opened.
#[utoipa::path(get, path = "/api/v1/stats/regions/{code}/trust", tag = "stats", params(("code" = String, Path), PeriodQuery),
    responses((status = 200, body = crate::stats::trust::Trust), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
async fn region_trust(
    State(state): State<AppState>,
    actor: Actor,
    Path(code): Path<String>,
    ApiQuery(q): ApiQuery<PeriodQuery>,
) -> AppResult<Json<crate::stats::trust::Trust>> {
    let (region, _) = readable_region(&state.db, &actor, &code).await?;
    let period = period_of("period", q.period.as_deref())?;
    Ok(Json(
        crate::stats::trust::trust(&state.db, &region.code, period).await?,
    ))
}

/// `?year=`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct YearQuery {
    /// The current year by default.
    pub year: Option<i32>,
}

#[utoipa::path(get, path = "/api/v1/stats/regions/{code}/targets", tag = "stats", params(("code" = String, Path), YearQuery),
    responses((status = 200, body = Progress), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
async fn get_targets(
    State(state): State<AppState>,
    actor: Actor,
    Path(code): Path<String>,
    ApiQuery(q): ApiQuery<YearQuery>,
) -> AppResult<Json<Progress>> {
    let (region, level) = readable_region(&state.db, &actor, &code).await?;
    let year = q
        .year
        .unwrap_or_else(|| Period::containing(Granularity::Year, local_date(Utc::now())).year());
    let mut v = Validator::default();
    targets::check_year(&mut v, year);
    v.finish()?;
    Ok(Json(
        targets::progress(&state.db, &region.code, level, year).await?,
    ))
}

/// Sets a year's targets; only an official of the region (or a region above it) may.
#[utoipa::path(put, path = "/api/v1/stats/regions/{code}/targets", tag = "stats", params(("code" = String, Path)), request_body = TargetsRequest,
    responses((status = 200, body = Progress), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
async fn put_targets(
    State(state): State<AppState>,
    Official(actor): Official,
    Path(code): Path<String>,
    body: LaterJson<TargetsRequest>,
) -> AppResult<Json<Progress>> {
    let req = body.parse()?;
    Ok(Json(
        targets::set_checked(&state.db, &actor, &code, &req).await?,
    ))
}

/// The form of an export.
#[derive(Debug, Clone, Copy, Default, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    #[default]
    Json,
    Csv,
    Xlsx,
}

impl Format {
    /// The format's name in a query and in the audit log.
    pub fn code(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Csv => "csv",
            Format::Xlsx => "xlsx",
        }
    }
}

/// `?quarter=&basis=&format=`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ReportQuery {
    /// `2026Q3`; the current quarter by default.
    pub quarter: Option<String>,
    pub basis: Option<Basis>,
    pub format: Option<Format>,
}

pub(crate) fn download(
    format: Format,
    name: &str,
    table: &[Vec<reports::Cell>],
) -> AppResult<Response> {
    download_sheet(format, name, "成效统计", table)
}

/// A table as a CSV or XLSX download; `sheet` names the workbook's sheet.
pub(crate) fn download_sheet(
    format: Format,
    name: &str,
    sheet: &str,
    table: &[Vec<reports::Cell>],
) -> AppResult<Response> {
    let (bytes, mime, ext) = match format {
        Format::Csv => (reports::to_csv(table), "text/csv; charset=utf-8", "csv"),
        _ => (
            reports::to_xlsx(sheet, table)?,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "xlsx",
        ),
    };
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, mime.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}.{ext}\""),
            ),
        ],
        bytes,
    )
        .into_response())
}

pub(crate) async fn log_export(
    state: &AppState,
    actor: &Actor,
    what: &str,
    code: &str,
    detail: serde_json::Value,
) -> AppResult<()> {
    crate::audit::record(&state.db, Some(actor.id()), what, "region", code, detail).await?;
    Ok(())
}

/// The quarterly effectiveness table (成效统计表) of a region: frozen figures once the quarter is
/// closed. Exports (`format=csv|xlsx`) are recorded in the audit log.
#[utoipa::path(get, path = "/api/v1/stats/regions/{code}/report", tag = "stats", params(("code" = String, Path), ReportQuery),
    responses((status = 200, body = Report), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
async fn quarterly_report(
    State(state): State<AppState>,
    actor: Actor,
    Path(code): Path<String>,
    ApiQuery(q): ApiQuery<ReportQuery>,
) -> AppResult<Response> {
    let (region, level) = readable_region(&state.db, &actor, &code).await?;
    let quarter = period_of("quarter", q.quarter.as_deref())?;
    if quarter.quarter_key().is_none() {
        return Err(AppError::field(
            "quarter",
            "invalid_format",
            "a quarter such as 2026Q3",
        ));
    }
    let basis = q.basis.unwrap_or(Basis::Completed);
    let report = reports::quarterly_report(&state.db, &region, level, quarter, basis).await?;
    let format = q.format.unwrap_or_default();
    if format == Format::Json {
        return Ok(Json(report).into_response());
    }
    log_export(
        &state,
        &actor,
        "stats.export_report",
        &region.code,
        serde_json::json!({"quarter": report.quarter, "basis": basis.code(), "format": format.code()}),
    )
    .await?;
    download(
        format,
        &format!("成效统计表-{}-{}", region.code, report.quarter),
        &reports::report_table(&report),
    )
}

/// `?from=&to=&format=`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LedgerQuery {
    /// First day, `2026-07-01`; the start of the current quarter by default.
    pub from: Option<String>,
    /// Last day, included; the end of the current quarter by default.
    pub to: Option<String>,
    pub format: Option<Format>,
}

fn parse_day(v: &mut Validator, field: &str, raw: Option<&str>, default: i32) -> i32 {
    match raw {
        None => default,
        Some(s) => match chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
            Ok(d) => crate::stats::domain::day_key(d),
            Err(_) => {
                v.add(field, "invalid_format", "a date such as 2026-07-01");
                default
            }
        },
    }
}

/// The county ledger (台账): every fact of a county between two days. Exports are audited.
#[utoipa::path(get, path = "/api/v1/stats/regions/{code}/ledger", tag = "stats", params(("code" = String, Path), LedgerQuery),
    responses((status = 200, body = Vec<reports::LedgerEntry>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
async fn county_ledger(
    State(state): State<AppState>,
    actor: Actor,
    Path(code): Path<String>,
    ApiQuery(q): ApiQuery<LedgerQuery>,
) -> AppResult<Response> {
    let (region, level) = readable_region(&state.db, &actor, &code).await?;
    let mut v = Validator::default();
    if level != RegionLevel::County {
        v.add("code", "not_a_county", "the ledger is kept by counties");
    }
    let current = Period::containing(Granularity::Quarter, local_date(Utc::now()));
    let from = parse_day(&mut v, "from", q.from.as_deref(), current.start_day());
    let to = parse_day(&mut v, "to", q.to.as_deref(), current.end_day());
    if from > to {
        v.add("to", "out_of_range", "must not be before from");
    }
    v.finish()?;
    let entries = reports::ledger(&state.db, &region.code, from, to).await?;
    let format = q.format.unwrap_or_default();
    if format == Format::Json {
        return Ok(Json(entries).into_response());
    }
    log_export(
        &state,
        &actor,
        "stats.export_ledger",
        &region.code,
        serde_json::json!({"from": from, "to": to, "format": format.code()}),
    )
    .await?;
    download(
        format,
        &format!("台账-{}-{from}-{to}", region.code),
        &reports::ledger_table(&entries),
    )
}

/// A closed quarter.
#[derive(Debug, Serialize, ToSchema)]
pub struct QuarterView {
    pub quarter: String,
    pub closed_by: i64,
    pub closed_at: chrono::DateTime<Utc>,
}

impl From<quarter_close::Model> for QuarterView {
    fn from(m: quarter_close::Model) -> Self {
        QuarterView {
            quarter: Period::from_quarter_key(m.quarter)
                .map(|p| p.to_string())
                .unwrap_or_default(),
            closed_by: m.closed_by,
            closed_at: m.closed_at,
        }
    }
}

#[utoipa::path(get, path = "/api/v1/stats/quarters", tag = "stats",
    responses((status = 200, body = Vec<QuarterView>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
async fn list_quarters(
    State(state): State<AppState>,
    actor: Actor,
) -> AppResult<Json<Vec<QuarterView>>> {
    let scope = actor
        .user
        .region_code
        .clone()
        .unwrap_or_else(|| "510000".into());
    readable_region(&state.db, &actor, &scope).await?;
    let rows = reports::closed_quarters(&state.db).await?;
    Ok(Json(rows.into_iter().map(Into::into).collect()))
}

/// The quarter to close.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CloseRequest {
    /// `2026Q3`.
    pub quarter: String,
}

/// Closes an ended quarter for every region at once; admins and province officials only.
#[utoipa::path(post, path = "/api/v1/stats/quarters", tag = "stats", request_body = CloseRequest,
    responses((status = 201, body = QuarterView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
async fn close_quarter(
    State(state): State<AppState>,
    actor: Actor,
    body: LaterJson<CloseRequest>,
) -> AppResult<(StatusCode, Json<QuarterView>)> {
    if !may_close_quarters(&actor) {
        return Err(AppError::Forbidden(
            "only admins and province officials close quarters".into(),
        ));
    }
    let req = body.parse()?;
    let closed = reports::close_checked(&state.db, &actor, &req.quarter).await?;
    Ok((StatusCode::CREATED, Json(closed.into())))
}

/// The level a code is at, for pages.
pub fn level_of(code: &str) -> Option<RegionLevel> {
    region_level(code)
}

/// The level below, for pages.
pub fn below(level: RegionLevel) -> Option<RegionLevel> {
    child_level(level)
}
