//! `/api/v1/auth/*` and `/api/v1/users/*`.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sea_orm::{EntityTrait, PaginatorTrait, QueryOrder};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::accounts::entity::user;
use crate::accounts::role::{Actor, Language, Role};
use crate::accounts::service::{self, RegisterRequest};
use crate::administration::{self as admin, CreateUserRequest, UpdateUserRequest};
use crate::error::{AppResult, ErrorBody};
use crate::http::api::extract::{ApiId, ApiJson, ApiQuery};
use crate::http::auth::Admin;
use crate::http::auth::SESSION_COOKIE;
use crate::http::state::AppState;
use crate::page::{Page, PageQuery};

/// The routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(me))
        .routes(routes!(list_users, create_user))
        .routes(routes!(update_user))
}

/// A user as others may see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub organization_id: Option<i64>,
    pub region_code: Option<String>,
    pub language: Language,
    pub email: Option<String>,
    pub disabled: bool,
    /// Reporting staff: an official who may fill in, submit, review or sign off the quarterly
    /// 成效统计表 at their region's level.
    pub reporter: bool,
}

impl From<user::Model> for UserView {
    fn from(u: user::Model) -> Self {
        UserView {
            id: u.id,
            role: u.role,
            username: u.username,
            display_name: u.display_name,
            organization_id: u.organization_id,
            region_code: u.region_code,
            language: u.language,
            email: u.email,
            disabled: u.disabled,
            reporter: u.reporter,
        }
    }
}

#[utoipa::path(post, path = "/api/v1/auth/register", tag = "accounts", request_body = RegisterRequest,
    responses((status = 201, body = UserView), (status = 422, body = ErrorBody)))]
async fn register(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<RegisterRequest>,
) -> AppResult<(StatusCode, Json<UserView>)> {
    let user = service::register(&state.db, req).await?;
    Ok((StatusCode::CREATED, Json(user.into())))
}

/// Username and password.
#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

/// A bearer token for programs; the same response sets the session cookie for browsers.
#[derive(Debug, Serialize, ToSchema)]
pub struct LoginResponse {
    pub token: String,
    /// Echo this in `X-CSRF-Token` when writing with the session cookie.
    pub csrf_token: String,
    pub expires_at: chrono::DateTime<chrono::Utc>,
    pub user: UserView,
}

/// Builds a `Set-Cookie` value: HttpOnly, and Secure when the request came over TLS.
pub fn set_cookie(
    headers: &HeaderMap,
    name: &str,
    value: &str,
    path: &str,
    same_site: &str,
    max_age_secs: i64,
) -> HeaderValue {
    let secure = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|p| p.eq_ignore_ascii_case("https"));
    let value = format!(
        "{name}={value}; Path={path}; HttpOnly; SameSite={same_site}; Max-Age={max_age_secs}{}",
        if secure { "; Secure" } else { "" }
    );
    HeaderValue::from_str(&value).expect("cookie value is ASCII")
}

/// Builds the `Set-Cookie` value of a session.
pub fn session_cookie(headers: &HeaderMap, secret: &str, max_age_secs: i64) -> HeaderValue {
    set_cookie(headers, SESSION_COOKIE, secret, "/", "Lax", max_age_secs)
}

#[utoipa::path(post, path = "/api/v1/auth/login", tag = "accounts", request_body = LoginRequest,
    responses((status = 200, body = LoginResponse), (status = 401, body = ErrorBody),
        (status = 429, body = ErrorBody, description = "too many attempts; wait `Retry-After` seconds")))]
async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiJson(req): ApiJson<LoginRequest>,
) -> AppResult<Response> {
    let grant = service::sign_in(
        &state.db,
        &state.throttle,
        state.settings.session_hours,
        &req.username,
        &req.password,
    )
    .await?;
    let cookie = session_cookie(
        &headers,
        &grant.session_secret,
        state.settings.session_hours * 3600,
    );
    let body = LoginResponse {
        token: grant.token,
        csrf_token: grant.csrf_token,
        expires_at: grant.expires_at,
        user: grant.user.into(),
    };
    Ok(([(header::SET_COOKIE, cookie)], Json(body)).into_response())
}

#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "accounts",
    responses((status = 204), (status = 401, body = ErrorBody)), security(("bearer" = [])))]
async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    actor: Actor,
) -> AppResult<Response> {
    service::logout(&state.db, &actor.credential).await?;
    let clear = session_cookie(&headers, "", 0);
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, clear)]).into_response())
}

#[utoipa::path(get, path = "/api/v1/auth/me", tag = "accounts",
    responses((status = 200, body = UserView), (status = 401, body = ErrorBody)), security(("bearer" = [])))]
async fn me(actor: Actor) -> Json<UserView> {
    Json(actor.user.into())
}

pub use crate::administration::require_admin;

#[utoipa::path(get, path = "/api/v1/users", tag = "accounts", params(PageQuery),
    responses((status = 200, body = Page<UserView>), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
async fn list_users(
    State(state): State<AppState>,
    actor: Actor,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> AppResult<Json<Page<UserView>>> {
    require_admin(&actor)?;
    let (page, per_page) = q.resolve()?;
    let pages = user::Entity::find()
        .order_by_asc(user::Column::Id)
        .paginate(&state.db, per_page);
    let total = pages.num_items().await?;
    let items = pages.fetch_page(page - 1).await?;
    Ok(Json(Page::new(
        items.into_iter().map(Into::into).collect(),
        page,
        per_page,
        total,
    )))
}

#[utoipa::path(post, path = "/api/v1/users", tag = "accounts", request_body = CreateUserRequest,
    responses((status = 201, body = UserView), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
async fn create_user(
    State(state): State<AppState>,
    Admin(actor): Admin,
    ApiJson(req): ApiJson<CreateUserRequest>,
) -> AppResult<(StatusCode, Json<UserView>)> {
    let user = admin::create_account(&state.db, &actor, req).await?;
    Ok((StatusCode::CREATED, Json(user.into())))
}

#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "accounts", request_body = UpdateUserRequest,
    params(("id" = i64, Path)),
    responses((status = 200, body = UserView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn update_user(
    State(state): State<AppState>,
    Admin(actor): Admin,
    ApiId(id): ApiId,
    ApiJson(req): ApiJson<UpdateUserRequest>,
) -> AppResult<Json<UserView>> {
    let user = admin::change_account(&state.db, &actor, id, req).await?;
    Ok(Json(user.into()))
}
