//! `/api/v1/units`: buyer units, their people and yearly obligations, their progress; and
//! `/api/v1/stats/regions/{code}/units`, the completion ranking officials read.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{Datelike, Utc};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::stats::{Format, download, log_export};
use crate::accounts::Actor;
use crate::buyers::campaigns::{self, CampaignInput, CampaignView};
use crate::buyers::obligations::{self, ObligationInput, ObligationView};
use crate::buyers::relations::{self, RelationInput, RelationView};
use crate::buyers::units::{self, MemberInput, MyUnit, UnitInput, UnitView};
use crate::db::in_write_txn;
use crate::error::{AppError, AppResult, ErrorBody};
use crate::http::api::extract::{ApiId, ApiQuery, LaterJson};
use crate::http::state::AppState;
use crate::stats::buyers::{BuyerQuery, BuyerRollup};
use crate::stats::domain::Period;
use crate::stats::units::{CampaignReport, HelpFigures, Progress, Ranking};

/// The routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(my_units, apply))
        .routes(routes!(unit_queue))
        .routes(routes!(get_unit))
        .routes(routes!(decide_unit))
        .routes(routes!(add_member))
        .routes(routes!(remove_member))
        .routes(routes!(declare))
        .routes(routes!(unit_progress))
        .routes(routes!(region_units))
        .routes(routes!(region_units_report))
        .routes(routes!(record_relation))
        .routes(routes!(region_help))
        .routes(routes!(region_buyers))
        .routes(routes!(list_campaigns, organize_campaign))
        .routes(routes!(get_campaign))
        .routes(routes!(sign_up_listing))
        .routes(routes!(pledge_to_campaign))
}

/// The units the caller belongs to, with their role in each.
#[utoipa::path(get, path = "/api/v1/units", tag = "units",
    responses((status = 200, body = [MyUnit]), (status = 401, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
async fn my_units(State(state): State<AppState>, actor: Actor) -> AppResult<Json<Vec<MyUnit>>> {
    units::mine(&state.db, &actor).await.map(Json)
}

/// A buyer account applies for a unit and becomes its first admin. An admin or an official
/// over the unit's region approves it.
#[utoipa::path(post, path = "/api/v1/units", tag = "units", request_body = UnitInput,
    responses((status = 201, body = UnitView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody, description = "`name`, `contact_name`: `required` or `too_long`; `kind`: `unknown_value`; `region_code`: `unknown`; `parent_id`: `unknown` (not an approved unit); `contact_phone`: `invalid_phone`")),
    security(("bearer" = []), ("session" = [])))]
async fn apply(
    State(state): State<AppState>,
    actor: Actor,
    body: LaterJson<UnitInput>,
) -> AppResult<(StatusCode, Json<UnitView>)> {
    if actor.role != crate::accounts::Role::Buyer {
        return Err(AppError::Forbidden(
            "only buyer accounts apply for a buyer unit".into(),
        ));
    }
    let input = body.parse()?;
    let id = in_write_txn(&state.db, async |txn| {
        units::apply(txn, &actor, &input, Utc::now())
            .await
            .map(|u| u.id)
    })
    .await?;
    let view = units::view(&state.db, &actor, id).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// Applications waiting for the caller: all for an admin, those in an official's region.
#[utoipa::path(get, path = "/api/v1/units/queue", tag = "units",
    responses((status = 200, body = [UnitView]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
async fn unit_queue(State(state): State<AppState>, actor: Actor) -> AppResult<Json<Vec<UnitView>>> {
    if !(actor.is_admin() || actor.role == crate::accounts::Role::Official) {
        return Err(AppError::Forbidden(
            "the queue is for admins and officials".into(),
        ));
    }
    let mut out = Vec::new();
    for u in units::queue(&state.db, &actor).await? {
        out.push(units::view(&state.db, &actor, u.id).await?);
    }
    Ok(Json(out))
}

/// A unit: approved ones for everyone signed in; one applying only for its people and those
/// who decide on it. Its people are listed for those who manage it.
#[utoipa::path(get, path = "/api/v1/units/{id}", tag = "units", params(("id" = i64, Path)),
    responses((status = 200, body = UnitView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
async fn get_unit(
    State(state): State<AppState>,
    actor: Actor,
    ApiId(id): ApiId,
) -> AppResult<Json<UnitView>> {
    units::view(&state.db, &actor, id).await.map(Json)
}

/// Approve (`approve: true`) or reject (with a `note`) an application.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UnitDecision {
    pub approve: bool,
    pub note: Option<String>,
}

/// Decides on an application: admins, and the officials over the unit's region.
#[utoipa::path(post, path = "/api/v1/units/{id}/decision", tag = "units", params(("id" = i64, Path)), request_body = UnitDecision,
    responses((status = 200, body = UnitView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "`already_decided`"), (status = 422, body = ErrorBody, description = "`note`: `required` to reject, or `too_long`")),
    security(("bearer" = []), ("session" = [])))]
async fn decide_unit(
    State(state): State<AppState>,
    actor: Actor,
    ApiId(id): ApiId,
    body: LaterJson<UnitDecision>,
) -> AppResult<Json<UnitView>> {
    let u = units::visible(&state.db, &actor, id).await?;
    if !units::decides(&actor, &u.region_code) {
        return Err(AppError::Forbidden(
            "only admins and the officials over the unit's region decide on it".into(),
        ));
    }
    let d = body.parse()?;
    in_write_txn(&state.db, async |txn| {
        units::decide(txn, &actor, id, d.approve, d.note.as_deref(), Utc::now()).await
    })
    .await?;
    units::view(&state.db, &actor, id).await.map(Json)
}

/// Adds a buyer account to the unit as `admin`, `purchaser` or `member`: the unit's admins.
#[utoipa::path(post, path = "/api/v1/units/{id}/members", tag = "units", params(("id" = i64, Path)), request_body = MemberInput,
    responses((status = 201, body = UnitView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "`already_member`, `unit_not_approved`"),
        (status = 422, body = ErrorBody, description = "`username`: `unknown` or `not_a_buyer`; `role`: `unknown_value`")),
    security(("bearer" = []), ("session" = [])))]
async fn add_member(
    State(state): State<AppState>,
    actor: Actor,
    ApiId(id): ApiId,
    body: LaterJson<MemberInput>,
) -> AppResult<(StatusCode, Json<UnitView>)> {
    units::managed(&state.db, &actor, id).await?;
    let input = body.parse()?;
    in_write_txn(&state.db, async |txn| {
        units::add_member(txn, &actor, id, &input, Utc::now()).await
    })
    .await?;
    let view = units::view(&state.db, &actor, id).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// Takes someone out of the unit; its last admin stays (409 `last_admin`).
#[utoipa::path(delete, path = "/api/v1/units/{id}/members/{user_id}", tag = "units",
    params(("id" = i64, Path), ("user_id" = i64, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
async fn remove_member(
    State(state): State<AppState>,
    actor: Actor,
    Path((id, user_id)): Path<(String, String)>,
) -> AppResult<StatusCode> {
    let n = |s: &str| s.parse::<i64>().ok().filter(|n| *n > 0);
    let (Some(id), Some(user_id)) = (n(&id), n(&user_id)) else {
        return Err(AppError::NotFound("member"));
    };
    in_write_txn(&state.db, async |txn| {
        units::remove_member(txn, &actor, id, user_id).await
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Declares the unit's obligation for a year (last, this or next), replacing an earlier
/// declaration: a `share` of the farm products it will buy (`purchases_fen`, `share_bp`), or a
/// `fixed` amount (`amount_fen`, or `per_member_fen` for `members`). The unit's admins.
#[utoipa::path(put, path = "/api/v1/units/{id}/obligations/{year}", tag = "units",
    params(("id" = i64, Path), ("year" = i32, Path)), request_body = ObligationInput,
    responses((status = 200, body = ObligationView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "`unit_not_approved`"),
        (status = 422, body = ErrorBody, description = "`year`: `out_of_range`; `kind`: `unknown_value`; `purchases_fen`, `amount_fen`, `per_member_fen`: `required` or `out_of_range`; `share_bp`: 1–10000; `members`: 1–1000000; `amount_fen`: `conflict` with `per_member_fen`")),
    security(("bearer" = []), ("session" = [])))]
async fn declare(
    State(state): State<AppState>,
    actor: Actor,
    Path((id, year)): Path<(String, String)>,
    body: LaterJson<ObligationInput>,
) -> AppResult<Json<ObligationView>> {
    let Some(id) = id.parse::<i64>().ok().filter(|n| *n > 0) else {
        return Err(AppError::NotFound("unit"));
    };
    units::managed(&state.db, &actor, id).await?;
    let year = year
        .parse::<i32>()
        .map_err(|_| AppError::field("year", "invalid_format", "a year such as 2026"))?;
    let input = body.parse()?;
    in_write_txn(&state.db, async |txn| {
        obligations::declare(txn, &actor, id, year, &input, Utc::now()).await
    })
    .await
    .map(Json)
}

/// `?year=`; this year by default.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct YearQuery {
    pub year: Option<String>,
}

fn year_of(q: Option<&str>) -> AppResult<i32> {
    match q {
        None => Ok(crate::days::local_date(Utc::now()).year()),
        Some(s) => match Period::parse(s) {
            Some(Period::Year(y)) => Ok(y),
            _ => Err(AppError::field(
                "year",
                "invalid_format",
                "a year such as 2026",
            )),
        },
    }
}

/// A unit's progress in a year: its obligation and what it bought (by the unit, and by its
/// members as one total), its subordinate units', and its own orders for its admins.
#[utoipa::path(get, path = "/api/v1/units/{id}/progress", tag = "units", params(("id" = i64, Path), YearQuery),
    responses((status = 200, body = Progress), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
async fn unit_progress(
    State(state): State<AppState>,
    actor: Actor,
    ApiId(id): ApiId,
    ApiQuery(q): ApiQuery<YearQuery>,
) -> AppResult<Json<Progress>> {
    let year = year_of(q.year.as_deref())?;
    crate::stats::units::progress(&state.db, &actor, id, year)
        .await
        .map(Json)
}

/// The units within a region, most complete first: for the officials over it.
#[utoipa::path(get, path = "/api/v1/stats/regions/{code}/units", tag = "stats", params(("code" = String, Path), YearQuery),
    responses((status = 200, body = Ranking), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
async fn region_units(
    State(state): State<AppState>,
    actor: Actor,
    Path(code): Path<String>,
    ApiQuery(q): ApiQuery<YearQuery>,
) -> AppResult<Json<Ranking>> {
    let (region, _) = crate::stats::access::readable_region(&state.db, &actor, &code).await?;
    let year = year_of(q.year.as_deref())?;
    crate::stats::units::ranking(&state.db, &actor, &region.code, year)
        .await
        .map(Json)
}

/// `?quarter=&format=`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct UnitReportQuery {
    /// `2026Q3`; the current quarter by default.
    pub quarter: Option<String>,
    /// `xlsx` (the default) or `csv`.
    pub format: Option<Format>,
}

/// The quarterly 完成情况表 of the units within a region, as XLSX or CSV; recorded in the
/// audit log.
#[utoipa::path(get, path = "/api/v1/stats/regions/{code}/units/report", tag = "stats", params(("code" = String, Path), UnitReportQuery),
    responses((status = 200, description = "the table"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
async fn region_units_report(
    State(state): State<AppState>,
    actor: Actor,
    Path(code): Path<String>,
    ApiQuery(q): ApiQuery<UnitReportQuery>,
) -> AppResult<Response> {
    let (region, _) = crate::stats::access::readable_region(&state.db, &actor, &code).await?;
    let quarter = crate::stats::views::period_of("quarter", q.quarter.as_deref())?;
    let Some(key) = quarter.quarter_key() else {
        return Err(AppError::field(
            "quarter",
            "invalid_format",
            "a quarter such as 2026Q3",
        ));
    };
    let table =
        crate::stats::units::quarter_table(&state.db, &actor, &region.code, quarter).await?;
    let format = match q.format.unwrap_or(Format::Xlsx) {
        Format::Json => Format::Xlsx,
        f => f,
    };
    log_export(
        &state,
        &actor,
        "stats.export_units",
        &region.code,
        serde_json::json!({"quarter": key, "format": format.code()}),
    )
    .await?;
    Ok(download(
        format,
        &format!("完成情况表-{}-{}Q{}", region.code, key / 10, key % 10),
        &table,
    )?
    .into_response())
}

/// Records a help relation: a helper unit (`helper_unit_id`) or region
/// (`helper_region_code`), the county it helps, the kind and the period. Admins, and the
/// officials over the helped county or the helper.
#[utoipa::path(post, path = "/api/v1/help-relations", tag = "units", request_body = RelationInput,
    responses((status = 201, body = RelationView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody, description = "`kind`: `unknown_value`; `helped_county_code`: `unknown` or `within_helper`; `helper_unit_id`: `required` or `unknown`; `helper_region_code`: `unknown` or `conflict`; `starts_on`, `ends_on`: `invalid_date`; `ends_on`: `before_start`")),
    security(("bearer" = []), ("session" = [])))]
async fn record_relation(
    State(state): State<AppState>,
    actor: Actor,
    body: LaterJson<RelationInput>,
) -> AppResult<(StatusCode, Json<RelationView>)> {
    if !(actor.is_admin() || actor.role == crate::accounts::Role::Official) {
        return Err(AppError::Forbidden(
            "admins and officials record help relations".into(),
        ));
    }
    let input = body.parse()?;
    let view = in_write_txn(&state.db, async |txn| {
        relations::record(txn, &actor, &input, Utc::now()).await
    })
    .await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// The help relations touching a region (helping a county in it, or with the helper in it),
/// each with what the helper bought from the helped county in the year: for the officials
/// over the region.
#[utoipa::path(get, path = "/api/v1/stats/regions/{code}/help", tag = "stats", params(("code" = String, Path), YearQuery),
    responses((status = 200, body = [HelpFigures]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
async fn region_help(
    State(state): State<AppState>,
    actor: Actor,
    Path(code): Path<String>,
    ApiQuery(q): ApiQuery<YearQuery>,
) -> AppResult<Json<Vec<HelpFigures>>> {
    let (region, _) = crate::stats::access::readable_region(&state.db, &actor, &code).await?;
    let year = year_of(q.year.as_deref())?;
    crate::stats::units::help(&state.db, &actor, &region.code, Period::Year(year))
        .await
        .map(Json)
}

/// A region's trades by buyer for a period, from the same facts as its sales: what its sellers
/// sold by who bought it (`side=sales`: by unit, kind, or the buyer's province, prefecture or
/// county), or what the buyers within it bought from anywhere (`side=purchases`, by unit, kind
/// or the county sold from). People buying for themselves are one row, never named. For the
/// officials over the region.
#[utoipa::path(get, path = "/api/v1/stats/regions/{code}/buyers", tag = "stats", params(("code" = String, Path), BuyerQuery),
    responses((status = 200, body = BuyerRollup), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody, description = "`period`: `invalid_format`; `basis`, `side`, `by`: `unknown_value`")),
    security(("bearer" = []), ("session" = [])))]
async fn region_buyers(
    State(state): State<AppState>,
    actor: Actor,
    Path(code): Path<String>,
    ApiQuery(q): ApiQuery<BuyerQuery>,
) -> AppResult<Json<BuyerRollup>> {
    crate::stats::buyers::rollup(&state.db, &actor, &code, &q)
        .await
        .map(Json)
}

/// Every campaign, the latest first: public.
#[utoipa::path(get, path = "/api/v1/campaigns", tag = "units",
    responses((status = 200, body = [CampaignView])))]
async fn list_campaigns(State(state): State<AppState>) -> AppResult<Json<Vec<CampaignView>>> {
    let mut out = Vec::new();
    for c in campaigns::all(&state.db).await? {
        out.push(campaigns::view(&state.db, c.id).await?);
    }
    Ok(Json(out))
}

/// Organizes a campaign for counties within the organizer's region: officials and admins.
#[utoipa::path(post, path = "/api/v1/campaigns", tag = "units", request_body = CampaignInput,
    responses((status = 201, body = CampaignView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody, description = "`name`: `required` or `too_long`; `kind`: `unknown_value`; `starts_on`, `ends_on`: `invalid_date`; `ends_on`: `out_of_range`; `counties`: `out_of_range` or `unknown`")),
    security(("bearer" = []), ("session" = [])))]
async fn organize_campaign(
    State(state): State<AppState>,
    actor: Actor,
    body: LaterJson<CampaignInput>,
) -> AppResult<(StatusCode, Json<CampaignView>)> {
    if !(actor.is_admin() || actor.role == crate::accounts::Role::Official) {
        return Err(AppError::Forbidden(
            "officials and admins organize campaigns".into(),
        ));
    }
    let input = body.parse()?;
    let view = in_write_txn(&state.db, async |txn| {
        campaigns::organize(txn, &actor, &input, Utc::now()).await
    })
    .await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// A campaign and its report: what each county taking part sold under it and what each
/// pledging unit bought, net of cancellations and refunds. Public.
#[utoipa::path(get, path = "/api/v1/campaigns/{id}", tag = "units", params(("id" = i64, Path)),
    responses((status = 200, body = CampaignReport), (status = 404, body = ErrorBody)))]
async fn get_campaign(
    State(state): State<AppState>,
    ApiId(id): ApiId,
) -> AppResult<Json<CampaignReport>> {
    crate::stats::units::campaign_report(&state.db, id)
        .await
        .map(Json)
}

/// A listing to sign up.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignUp {
    pub listing_id: i64,
}

/// Signs a listing up for the campaign: its organization's staff, when its county takes part
/// and the campaign has not ended.
#[utoipa::path(post, path = "/api/v1/campaigns/{id}/listings", tag = "units", params(("id" = i64, Path)), request_body = SignUp,
    responses((status = 200, body = CampaignView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "`campaign_over`, `already_signed_up`"),
        (status = 422, body = ErrorBody, description = "`listing_id`: `unknown`, `not_yours` or `county_not_taking_part`")),
    security(("bearer" = []), ("session" = [])))]
async fn sign_up_listing(
    State(state): State<AppState>,
    actor: Actor,
    ApiId(id): ApiId,
    body: LaterJson<SignUp>,
) -> AppResult<Json<CampaignView>> {
    if !(actor.is_admin() || actor.role == crate::accounts::Role::Producer) {
        return Err(AppError::Forbidden(
            "producers sign their listings up".into(),
        ));
    }
    campaigns::get(&state.db, id).await?;
    let s = body.parse()?;
    in_write_txn(&state.db, async |txn| {
        campaigns::sign_up(txn, &actor, id, s.listing_id, Utc::now()).await
    })
    .await
    .map(Json)
}

/// A pledge.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PledgeInput {
    pub unit_id: i64,
    pub amount_fen: i64,
}

/// Pledges what a unit will buy in the campaign (again: the new amount): the unit's admins.
#[utoipa::path(post, path = "/api/v1/campaigns/{id}/pledges", tag = "units", params(("id" = i64, Path)), request_body = PledgeInput,
    responses((status = 200, body = CampaignReport), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "`unit_not_approved`"),
        (status = 422, body = ErrorBody, description = "`unit_id`: `unknown` or `not_your_unit`; `amount_fen`: `out_of_range`")),
    security(("bearer" = []), ("session" = [])))]
async fn pledge_to_campaign(
    State(state): State<AppState>,
    actor: Actor,
    ApiId(id): ApiId,
    body: LaterJson<PledgeInput>,
) -> AppResult<Json<CampaignReport>> {
    if !(actor.is_admin() || actor.role == crate::accounts::Role::Buyer) {
        return Err(AppError::Forbidden("buyer units pledge".into()));
    }
    campaigns::get(&state.db, id).await?;
    let p = body.parse()?;
    in_write_txn(&state.db, async |txn| {
        campaigns::pledge(txn, &actor, id, p.unit_id, p.amount_fen, Utc::now()).await
    })
    .await?;
    crate::stats::units::campaign_report(&state.db, id)
        .await
        .map(Json)
}
