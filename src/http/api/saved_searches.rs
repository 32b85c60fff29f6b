//! `/api/v1/saved-searches`: a buyer's saved searches and their alerts.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter,
    QueryOrder, Set,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::accounts::Actor;
use crate::accounts::role::require_buyer;
use crate::error::{AppError, AppResult, ErrorBody, Validator};
use crate::http::api::extract::{ApiId, ApiJson};
use crate::http::auth::Buyer;
use crate::http::state::AppState;
use crate::search::saved::entity::{hit, saved_search};
use crate::search::saved::{Alert, MAX_PER_USER, SavedQuery, check_name};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_saved, list_saved))
        .routes(routes!(update_saved, delete_saved))
}

/// A saved search.
#[derive(Debug, Serialize, ToSchema)]
pub struct SavedSearchView {
    pub id: i64,
    pub name: String,
    pub alert: Alert,
    pub query: SavedQuery,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn view(m: saved_search::Model) -> SavedSearchView {
    SavedSearchView {
        id: m.id,
        alert: m.alert,
        query: SavedQuery::from_column(&m.query),
        name: m.name,
        created_at: m.created_at,
        updated_at: m.updated_at,
    }
}

/// A new saved search.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSavedSearch {
    /// What to call it, e.g. 道孚苹果 (1–60 characters).
    pub name: String,
    /// `instant` (the default), `daily` or `off`.
    #[serde(default)]
    pub alert: Option<Alert>,
    pub query: SavedQuery,
}

/// Changes to a saved search; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SavedSearchChange {
    pub name: Option<String>,
    pub alert: Option<Alert>,
    pub query: Option<SavedQuery>,
}

/// Checks a name and a query together, so every problem is reported at once.
fn check(
    state: &AppState,
    name: Option<&str>,
    query: Option<&SavedQuery>,
) -> AppResult<Option<String>> {
    let mut v = Validator::default();
    let name = name.and_then(|n| v.check("name", check_name(n)));
    if let Some(q) = query
        && let Err(e) = q.check(&state.search.vocabulary())
    {
        match e {
            AppError::Validation(fields) => {
                for (f, e) in fields {
                    v.add(&f, e.code, e.message);
                }
            }
            other => return Err(other),
        }
    }
    v.finish()?;
    Ok(name)
}

/// Saves a search; new listings that match it are then announced by its alert.
#[utoipa::path(post, path = "/api/v1/saved-searches", tag = "search", request_body = NewSavedSearch,
    responses((status = 201, body = SavedSearchView), (status = 403, body = ErrorBody),
        (status = 409, description = "the most saved searches are kept already", body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn create_saved(
    State(state): State<AppState>,
    Buyer(actor): Buyer,
    ApiJson(input): ApiJson<NewSavedSearch>,
) -> AppResult<(StatusCode, Json<SavedSearchView>)> {
    Ok((
        StatusCode::CREATED,
        Json(save(&state, &actor, input).await?),
    ))
}

/// Checks and keeps a buyer's search.
pub(crate) async fn save(
    state: &AppState,
    actor: &Actor,
    input: NewSavedSearch,
) -> AppResult<SavedSearchView> {
    require_buyer(actor, "save searches")?;
    let name = check(state, Some(&input.name), Some(&input.query))?.unwrap_or_default();
    let txn = crate::db::write_txn(&state.db).await?;
    let kept = saved_search::Entity::find()
        .filter(saved_search::Column::UserId.eq(actor.id()))
        .count(&txn)
        .await?;
    if kept >= MAX_PER_USER {
        return Err(AppError::Conflict(
            "too_many_saved_searches",
            format!("at most {MAX_PER_USER} saved searches; delete one first"),
        ));
    }
    let now = Utc::now();
    let m = saved_search::ActiveModel {
        user_id: Set(actor.id()),
        name: Set(name),
        query: Set(input.query.to_column()),
        alert: Set(input.alert.unwrap_or(Alert::Instant)),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    Ok(view(m))
}

/// The buyer's saved searches, oldest first.
#[utoipa::path(get, path = "/api/v1/saved-searches", tag = "search",
    responses((status = 200, body = Vec<SavedSearchView>), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
async fn list_saved(
    State(state): State<AppState>,
    actor: Actor,
) -> AppResult<Json<Vec<SavedSearchView>>> {
    saved_of(&state, &actor).await.map(Json)
}

/// A buyer's saved searches, oldest first.
pub(crate) async fn saved_of(state: &AppState, actor: &Actor) -> AppResult<Vec<SavedSearchView>> {
    require_buyer(actor, "save searches")?;
    let all = saved_search::Entity::find()
        .filter(saved_search::Column::UserId.eq(actor.id()))
        .order_by_asc(saved_search::Column::Id)
        .all(&state.db)
        .await?;
    Ok(all.into_iter().map(view).collect())
}

/// The actor's own saved search; anyone else's is not found.
async fn find_own(
    db: &impl sea_orm::ConnectionTrait,
    actor: &Actor,
    id: i64,
) -> AppResult<saved_search::Model> {
    saved_search::Entity::find_by_id(id)
        .filter(saved_search::Column::UserId.eq(actor.id()))
        .one(db)
        .await?
        .ok_or(AppError::NotFound("saved search"))
}

/// Renames a saved search, changes its alert or what it looks for.
#[utoipa::path(patch, path = "/api/v1/saved-searches/{id}", tag = "search", params(("id" = i64, Path)),
    request_body = SavedSearchChange,
    responses((status = 200, body = SavedSearchView), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn update_saved(
    State(state): State<AppState>,
    Buyer(actor): Buyer,
    ApiId(id): ApiId,
    ApiJson(input): ApiJson<SavedSearchChange>,
) -> AppResult<Json<SavedSearchView>> {
    change(&state, &actor, id, input).await.map(Json)
}

/// Applies `change` to the actor's saved search `id`: the API's and the page's way.
pub(crate) async fn change(
    state: &AppState,
    actor: &Actor,
    id: i64,
    change: SavedSearchChange,
) -> AppResult<SavedSearchView> {
    require_buyer(actor, "save searches")?;
    let name = check(state, change.name.as_deref(), change.query.as_ref())?;
    let txn = crate::db::write_txn(&state.db).await?;
    let mut m = find_own(&txn, actor, id).await?.into_active_model();
    if let Some(name) = name {
        m.name = Set(name);
    }
    if let Some(alert) = change.alert {
        m.alert = Set(alert);
    }
    if let Some(query) = &change.query {
        m.query = Set(query.to_column());
    }
    m.updated_at = Set(Utc::now());
    let m = m.update(&txn).await?;
    txn.commit().await?;
    Ok(view(m))
}

/// Deletes a saved search with the alerts it has waiting.
#[utoipa::path(delete, path = "/api/v1/saved-searches/{id}", tag = "search", params(("id" = i64, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn delete_saved(
    State(state): State<AppState>,
    actor: Actor,
    ApiId(id): ApiId,
) -> AppResult<StatusCode> {
    forget(&state, &actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Deletes one of the buyer's saved searches with the alerts it has waiting.
pub(crate) async fn forget(state: &AppState, actor: &Actor, id: i64) -> AppResult<()> {
    require_buyer(actor, "save searches")?;
    let txn = crate::db::write_txn(&state.db).await?;
    let m = find_own(&txn, actor, id).await?;
    hit::Entity::delete_many()
        .filter(hit::Column::SavedSearchId.eq(m.id))
        .exec(&txn)
        .await?;
    saved_search::Entity::delete_by_id(m.id).exec(&txn).await?;
    txn.commit().await?;
    Ok(())
}
