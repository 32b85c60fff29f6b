//! `GET /api/v1/admin/audit-log`: what admins, approvers and officials did, newest first, for
//! admins only.

use axum::Json;
use axum::extract::State;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::accounts::Actor;
use crate::audit::entity;
use crate::error::{AppError, AppResult, ErrorBody};
use crate::http::api::accounts::require_admin;
use crate::http::api::extract::ApiQuery;
use crate::http::state::AppState;
use crate::page::{self, Page};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list))
}

/// `?action=&actor_id=&page=&per_page=`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Only this action, such as `households.view` or `stats.report_export`.
    pub action: Option<String>,
    /// Only what this user did.
    pub actor_id: Option<i64>,
    pub page: Option<u64>,
    pub per_page: Option<u64>,
}

/// One audited action.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEntry {
    pub id: i64,
    /// Who did it (none for the system).
    pub actor_id: Option<i64>,
    pub action: String,
    pub target_type: String,
    pub target_id: String,
    /// What else was recorded, as JSON.
    pub detail: serde_json::Value,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

#[utoipa::path(get, path = "/api/v1/admin/audit-log", tag = "accounts", params(AuditQuery),
    responses((status = 200, body = Page<AuditEntry>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
async fn list(
    State(state): State<AppState>,
    actor: Actor,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> AppResult<Json<Page<AuditEntry>>> {
    require_admin(&actor)?;
    let (page, per_page) = page::resolve(q.page, q.per_page)?;
    if q.action.as_deref().is_some_and(|a| a.len() > 64) {
        return Err(AppError::field(
            "action",
            "too_long",
            "at most 64 characters",
        ));
    }
    let mut query = entity::Entity::find().order_by_desc(entity::Column::Id);
    if let Some(action) = &q.action {
        query = query.filter(entity::Column::Action.eq(action.trim()));
    }
    if let Some(id) = q.actor_id {
        query = query.filter(entity::Column::ActorId.eq(id));
    }
    let pages = query.paginate(&state.db, per_page);
    let total = pages.num_items().await?;
    let items = pages
        .fetch_page(page - 1)
        .await?
        .into_iter()
        .map(|m| AuditEntry {
            id: m.id,
            actor_id: m.actor_id,
            action: m.action,
            target_type: m.target_type,
            target_id: m.target_id,
            detail: serde_json::from_str(&m.detail).unwrap_or(serde_json::Value::Null),
            created_at: m.created_at,
        })
        .collect();
    Ok(Json(Page::new(items, page, per_page, total)))
}
