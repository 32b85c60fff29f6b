//! `/api/v1/organizations` with onboarding and households.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::Utc;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, EntityTrait, ModelTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::views::{HouseholdView, OrganizationView, organization_views};
use crate::accounts::{Actor, Role};
use crate::catalog::domain::{VerificationStatus, county_of, region_contains, region_level};
use crate::catalog::entity::{household, organization};
use crate::catalog::listings::region_prefix;
use crate::catalog::organizations::{self, ApplyRequest, Decision};
use crate::catalog::regions;
use crate::error::{AppError, AppResult, ErrorBody, Validator};
use crate::fields::text;
use crate::http::api::extract::{ApiId, ApiJson, ApiQuery, LaterJson};
use crate::http::auth::MaybeActor;
use crate::http::auth::Producer;
use crate::http::state::AppState;
use crate::page::{self, Page};

/// The routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_organizations, apply))
        .routes(routes!(get_organization))
        .routes(routes!(recommend))
        .routes(routes!(approve))
        .routes(routes!(reject))
        .routes(routes!(list_households, add_household))
}

/// `?status=&region=&page=&per_page=`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct OrganizationQuery {
    pub page: Option<u64>,
    pub per_page: Option<u64>,
    /// `applied`, `recommended`, `approved` or `rejected`; only approved ones are public.
    pub status: Option<String>,
    /// A region code at any level.
    pub region: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/organizations", tag = "organizations", params(OrganizationQuery),
    responses((status = 200, body = Page<OrganizationView>), (status = 422, body = ErrorBody)))]
async fn list_organizations(
    State(state): State<AppState>,
    MaybeActor(actor): MaybeActor,
    ApiQuery(q): ApiQuery<OrganizationQuery>,
) -> AppResult<Json<Page<OrganizationView>>> {
    let (page, per_page) = page::resolve(q.page, q.per_page)?;
    let mut v = Validator::default();
    let status = q.status.as_deref().and_then(|s| {
        let parsed = VerificationStatus::from_code(s);
        if parsed.is_none() {
            v.add(
                "status",
                "unknown_value",
                format!("must be one of: {}", VerificationStatus::codes()),
            );
        }
        parsed
    });
    if q.region
        .as_deref()
        .is_some_and(|r| region_level(r).is_none())
    {
        v.add("region", "unknown", "not a region code");
    }
    v.finish()?;
    let approved = organization::Column::Status.eq(VerificationStatus::Approved.code());
    let visible = match &actor {
        Some(a) if a.is_admin() => Condition::all(),
        Some(a) if a.role == Role::Official => {
            let scope = a.user.region_code.clone().unwrap_or_default();
            Condition::any()
                .add(approved)
                .add(organization::Column::RegionCode.like(format!("{}%", region_prefix(&scope))))
        }
        Some(a) if a.organization_id().is_some() => Condition::any()
            .add(approved)
            .add(organization::Column::Id.eq(a.organization_id())),
        _ => Condition::all().add(approved),
    };
    let mut query = organization::Entity::find().filter(visible);
    if let Some(s) = status {
        query = query.filter(organization::Column::Status.eq(s.code()));
    }
    if let Some(r) = &q.region {
        query =
            query.filter(organization::Column::RegionCode.like(format!("{}%", region_prefix(r))));
    }
    let pages = query
        .order_by_asc(organization::Column::Id)
        .paginate(&state.db, per_page);
    let total = pages.num_items().await?;
    let items = organization_views(&state.db, pages.fetch_page(page - 1).await?).await?;
    Ok(Json(Page::new(items, page, per_page, total)))
}

#[utoipa::path(post, path = "/api/v1/organizations", tag = "organizations", request_body = ApplyRequest,
    responses((status = 201, body = OrganizationView), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn apply(
    State(state): State<AppState>,
    Producer(actor): Producer,
    ApiJson(req): ApiJson<ApplyRequest>,
) -> AppResult<(StatusCode, Json<OrganizationView>)> {
    let org = organizations::submit(&state.db, &actor, req).await?;
    Ok((
        StatusCode::CREATED,
        Json(organization_views(&state.db, vec![org]).await?.remove(0)),
    ))
}

pub(crate) async fn visible_org(
    state: &AppState,
    actor: Option<&Actor>,
    id: i64,
) -> AppResult<organization::Model> {
    organization::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .filter(|o| organizations::can_view(actor, o))
        .ok_or(AppError::NotFound("organization"))
}

#[utoipa::path(get, path = "/api/v1/organizations/{id}", tag = "organizations", params(("id" = i64, Path)),
    responses((status = 200, body = OrganizationView), (status = 404, body = ErrorBody)))]
async fn get_organization(
    State(state): State<AppState>,
    MaybeActor(actor): MaybeActor,
    ApiId(id): ApiId,
) -> AppResult<Json<OrganizationView>> {
    let org = visible_org(&state, actor.as_ref(), id).await?;
    Ok(Json(
        organization_views(&state.db, vec![org]).await?.remove(0),
    ))
}

/// An optional note on a decision.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionRequest {
    pub note: Option<String>,
}

/// Records a decision on an organization's application.
pub(crate) async fn decide(
    state: &AppState,
    actor: &Actor,
    id: i64,
    decision: Decision,
    note: Option<String>,
) -> AppResult<Json<OrganizationView>> {
    let note = match note {
        Some(n) => Some(text(&n, 0, 500).map_err(|e| AppError::field("note", e.code, e.message))?),
        None => None,
    };
    let txn = crate::db::write_txn(&state.db).await?;
    let org = organizations::decide(&txn, actor, id, decision, note).await?;
    txn.commit().await?;
    Ok(Json(
        organization_views(&state.db, vec![org]).await?.remove(0),
    ))
}

#[utoipa::path(post, path = "/api/v1/organizations/{id}/recommend", tag = "organizations", params(("id" = i64, Path)), request_body = DecisionRequest,
    responses((status = 200, body = OrganizationView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
async fn recommend(
    State(state): State<AppState>,
    actor: Actor,
    ApiId(id): ApiId,
    body: LaterJson<DecisionRequest>,
) -> AppResult<Json<OrganizationView>> {
    organizations::decider(&state.db, &actor, id, Decision::Recommend).await?;
    let note = body.parse_optional()?.and_then(|b| b.note);
    decide(&state, &actor, id, Decision::Recommend, note).await
}

#[utoipa::path(post, path = "/api/v1/organizations/{id}/approve", tag = "organizations", params(("id" = i64, Path)), request_body = DecisionRequest,
    responses((status = 200, body = OrganizationView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
async fn approve(
    State(state): State<AppState>,
    actor: Actor,
    ApiId(id): ApiId,
    body: LaterJson<DecisionRequest>,
) -> AppResult<Json<OrganizationView>> {
    organizations::decider(&state.db, &actor, id, Decision::Approve).await?;
    let note = body.parse_optional()?.and_then(|b| b.note);
    decide(&state, &actor, id, Decision::Approve, note).await
}

#[utoipa::path(post, path = "/api/v1/organizations/{id}/reject", tag = "organizations", params(("id" = i64, Path)), request_body = DecisionRequest,
    responses((status = 200, body = OrganizationView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
async fn reject(
    State(state): State<AppState>,
    actor: Actor,
    ApiId(id): ApiId,
    body: LaterJson<DecisionRequest>,
) -> AppResult<Json<OrganizationView>> {
    organizations::decider(&state.db, &actor, id, Decision::Reject).await?;
    let note = body.parse_optional()?.and_then(|b| b.note);
    decide(&state, &actor, id, Decision::Reject, note).await
}

async fn private_org(state: &AppState, actor: &Actor, id: i64) -> AppResult<organization::Model> {
    let org = visible_org(state, Some(actor), id).await?;
    if organizations::can_view_private(actor, &org) {
        Ok(org)
    } else {
        Err(AppError::Forbidden(
            "households are visible only to the organization, officials of its region and admins"
                .into(),
        ))
    }
}

#[utoipa::path(get, path = "/api/v1/organizations/{id}/households", tag = "organizations", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<HouseholdView>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn list_households(
    State(state): State<AppState>,
    actor: Actor,
    ApiId(id): ApiId,
) -> AppResult<Json<Vec<HouseholdView>>> {
    let org = private_org(&state, &actor, id).await?;
    let own = actor.organization_id() == Some(org.id);
    let rows = org
        .find_related(household::Entity)
        .order_by_asc(household::Column::Id)
        .all(&state.db)
        .await?;
    if actor.role == Role::Official {
        crate::audit::record(
            &state.db,
            Some(actor.id()),
            "households.view",
            "organization",
            org.id,
            serde_json::json!({}),
        )
        .await?;
    }
    Ok(Json(
        rows.into_iter()
            .map(|h| HouseholdView::new(h, own))
            .collect(),
    ))
}

/// A member household.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HouseholdRequest {
    pub head_name: String,
    /// The household's village (inside the organization's county).
    pub region_code: String,
    pub members: i32,
    /// 建档立卡: registered as a poverty-alleviation household.
    pub registered: bool,
    /// Share of the organization's sales income, in basis points; all households together at most 10000.
    pub benefit_share_bp: i32,
}

#[utoipa::path(post, path = "/api/v1/organizations/{id}/households", tag = "organizations", params(("id" = i64, Path)), request_body = HouseholdRequest,
    responses((status = 201, body = HouseholdView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn add_household(
    State(state): State<AppState>,
    Producer(actor): Producer,
    ApiId(id): ApiId,
    body: LaterJson<HouseholdRequest>,
) -> AppResult<(StatusCode, Json<HouseholdView>)> {
    own_org(&state, &actor, id).await?;
    let view = add_household_to(&state, &actor, id, body.parse()?).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// The actor's own organization `id`: 403 for anyone else's.
async fn own_org(state: &AppState, actor: &Actor, id: i64) -> AppResult<organization::Model> {
    let org = visible_org(state, Some(actor), id).await?;
    if actor.organization_id() == Some(org.id) {
        Ok(org)
    } else {
        Err(AppError::Forbidden(
            "only the organization's own staff can add households".into(),
        ))
    }
}

/// Checks and adds a member household to the actor's own organization.
pub(crate) async fn add_household_to(
    state: &AppState,
    actor: &Actor,
    id: i64,
    req: HouseholdRequest,
) -> AppResult<HouseholdView> {
    let org = own_org(state, actor, id).await?;
    let mut v = Validator::default();
    let head_name = v.check("head_name", text(&req.head_name, 1, 32));
    if !(1..=50).contains(&req.members) {
        v.add("members", "out_of_range", "between 1 and 50");
    }
    if !(0..=10_000).contains(&req.benefit_share_bp) {
        v.add(
            "benefit_share_bp",
            "out_of_range",
            "between 0 and 10000 basis points",
        );
    }
    let county = county_of(&org.region_code)
        .unwrap_or(&org.region_code)
        .to_string();
    if region_level(&req.region_code).is_none()
        || regions::find(&state.db, &req.region_code).await?.is_none()
    {
        v.add("region_code", "unknown", "no region has this code");
    } else if !region_contains(&county, &req.region_code) {
        v.add(
            "region_code",
            "out_of_scope",
            "the household must live in the organization's county",
        );
    }
    v.finish()?;
    let txn = crate::db::write_txn(&state.db).await?;
    let used: Option<i64> = household::Entity::find()
        .select_only()
        .column_as(Expr::col(household::Column::BenefitShareBp).sum(), "total")
        .filter(household::Column::OrganizationId.eq(org.id))
        .into_tuple()
        .one(&txn)
        .await?
        .flatten();
    if used.unwrap_or(0) + i64::from(req.benefit_share_bp) > 10_000 {
        return Err(AppError::field(
            "benefit_share_bp",
            "over_allocated",
            format!(
                "the organization's households already hold {} of 10000 basis points",
                used.unwrap_or(0)
            ),
        ));
    }
    let h = household::ActiveModel {
        organization_id: Set(org.id),
        region_code: Set(req.region_code),
        head_name: Set(head_name.unwrap_or_default()),
        members: Set(req.members),
        registered: Set(req.registered),
        benefit_share_bp: Set(req.benefit_share_bp),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    Ok(HouseholdView::new(h, true))
}
