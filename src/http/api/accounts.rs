//! `/api/v1/auth/*` and `/api/v1/users/*`.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sea_orm::{ActiveModelTrait, EntityTrait, IntoActiveModel, PaginatorTrait, QueryOrder, Set};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::accounts::entity::user;
use crate::accounts::password;
use crate::accounts::role::{Actor, Language, Role};
use crate::accounts::service::{self, NewUser};
use crate::catalog::regions;
use crate::error::{AppError, AppResult, ErrorBody, Validator};
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

/// An optional email field: absent or blank is none, anything else must be an address.
fn optional_email(v: &mut Validator, raw: Option<&str>) -> Option<String> {
    match raw.map(str::trim) {
        None | Some("") => None,
        Some(e) => v.check("email", service::parse_email(e)),
    }
}

/// Self-service registration as a buyer or as producer staff (who then applies for an organization).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    pub username: String,
    pub password: String,
    pub display_name: String,
    /// `buyer` (default) or `producer`.
    pub role: Option<Role>,
    /// `zh` (default) or `en`.
    pub language: Option<String>,
    /// Where email notifications go (optional).
    pub email: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/auth/register", tag = "accounts", request_body = RegisterRequest,
    responses((status = 201, body = UserView), (status = 422, body = ErrorBody)))]
async fn register(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<RegisterRequest>,
) -> AppResult<(StatusCode, Json<UserView>)> {
    let mut v = Validator::default();
    let username = v.check("username", service::parse_username(&req.username));
    if let Some(u) = &username {
        v.check("password", password::check_new(&req.password, u));
    }
    let display_name = v.check(
        "display_name",
        service::parse_display_name(&req.display_name),
    );
    let language = v.check("language", service::parse_language(req.language.as_deref()));
    let email = optional_email(&mut v, req.email.as_deref());
    let role = req.role.unwrap_or(Role::Buyer);
    if !matches!(role, Role::Buyer | Role::Producer) {
        v.add(
            "role",
            "not_allowed",
            "only buyer or producer accounts can be registered",
        );
    }
    v.finish()?;
    let (Some(username), Some(display_name), Some(language)) = (username, display_name, language)
    else {
        unreachable!("validation passed")
    };
    let user = service::create_user(
        &state.db,
        NewUser {
            username,
            password: req.password,
            display_name,
            role,
            organization_id: None,
            region_code: None,
            language,
            email,
            reporter: false,
        },
    )
    .await?;
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

/// Refuses anyone but a platform admin.
pub fn require_admin(actor: &Actor) -> AppResult<()> {
    if actor.is_admin() {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "only platform admins may do this".into(),
        ))
    }
}

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

/// An account made by an admin: any role, with an organization for producers and a region for officials.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUserRequest {
    pub username: String,
    pub password: String,
    pub display_name: String,
    pub role: Role,
    pub organization_id: Option<i64>,
    pub region_code: Option<String>,
    pub language: Option<String>,
    /// Where email notifications go (optional).
    pub email: Option<String>,
    /// For officials: reporting staff, who fill in and send the quarterly 成效统计表; no by
    /// default (officials read only).
    pub reporter: Option<bool>,
}

#[utoipa::path(post, path = "/api/v1/users", tag = "accounts", request_body = CreateUserRequest,
    responses((status = 201, body = UserView), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
async fn create_user(
    State(state): State<AppState>,
    Admin(actor): Admin,
    ApiJson(req): ApiJson<CreateUserRequest>,
) -> AppResult<(StatusCode, Json<UserView>)> {
    require_admin(&actor)?;
    let mut v = Validator::default();
    let username = v.check("username", service::parse_username(&req.username));
    if let Some(u) = &username {
        v.check("password", password::check_new(&req.password, u));
    }
    let display_name = v.check(
        "display_name",
        service::parse_display_name(&req.display_name),
    );
    let language = v.check("language", service::parse_language(req.language.as_deref()));
    let email = optional_email(&mut v, req.email.as_deref());
    match (req.role, &req.region_code) {
        (Role::Official, None) => v.add(
            "region_code",
            "required",
            "an official needs a region scope",
        ),
        (Role::Official, Some(code)) if regions::find(&state.db, code).await?.is_none() => {
            v.add("region_code", "unknown", "no region has this code")
        }
        (Role::Official, Some(_)) => {}
        (_, Some(_)) => v.add(
            "region_code",
            "not_allowed",
            "only officials have a region scope",
        ),
        (_, None) => {}
    }
    match (req.role, req.organization_id) {
        (Role::Producer, Some(id))
            if crate::catalog::entity::organization::Entity::find_by_id(id)
                .one(&state.db)
                .await?
                .is_none() =>
        {
            v.add("organization_id", "unknown", "no organization has this id")
        }
        (Role::Producer, _) => {}
        (_, Some(_)) => v.add(
            "organization_id",
            "not_allowed",
            "only producers belong to an organization",
        ),
        (_, None) => {}
    }
    let reporter = req.reporter.unwrap_or(false);
    if reporter && req.role != Role::Official {
        v.add(
            "reporter",
            "not_allowed",
            "only officials are reporting staff",
        );
    }
    v.finish()?;
    let (Some(username), Some(display_name), Some(language)) = (username, display_name, language)
    else {
        unreachable!("validation passed")
    };
    let txn = crate::db::write_txn(&state.db).await?;
    let user = service::create_user(
        &txn,
        NewUser {
            username,
            password: req.password,
            display_name,
            role: req.role,
            organization_id: req.organization_id,
            region_code: req.region_code,
            language,
            email,
            reporter,
        },
    )
    .await?;
    crate::audit::record(
        &txn,
        Some(actor.id()),
        "user.create",
        "user",
        user.id,
        serde_json::json!({"role": req.role.code(), "reporter": reporter}),
    )
    .await?;
    txn.commit().await?;
    Ok((StatusCode::CREATED, Json(user.into())))
}

/// What an admin can change on an account.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUserRequest {
    pub disabled: Option<bool>,
    pub display_name: Option<String>,
    /// Makes an official reporting staff, or read-only again.
    pub reporter: Option<bool>,
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
    require_admin(&actor)?;
    let mut v = Validator::default();
    let display_name = req
        .display_name
        .as_deref()
        .map(|d| v.check("display_name", service::parse_display_name(d)));
    if req.disabled == Some(true) && id == actor.id() {
        v.add(
            "disabled",
            "not_allowed",
            "admins cannot disable their own account",
        );
    }
    v.finish()?;
    let txn = crate::db::write_txn(&state.db).await?;
    let found = user::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound("user"))?;
    if req.reporter == Some(true) && found.role != Role::Official {
        let mut v = Validator::default();
        v.add(
            "reporter",
            "not_allowed",
            "only officials are reporting staff",
        );
        v.finish()?;
    }
    let mut model = found.into_active_model();
    if let Some(reporter) = req.reporter {
        model.reporter = Set(reporter);
    }
    if let Some(Some(name)) = display_name {
        model.display_name = Set(name);
    }
    if let Some(disabled) = req.disabled {
        model.disabled = Set(disabled);
        if disabled {
            service::end_all_sessions(&txn, id).await?;
        }
    }
    let updated = model.update(&txn).await?;
    crate::audit::record(
        &txn,
        Some(actor.id()),
        "user.update",
        "user",
        id,
        serde_json::json!({"disabled": req.disabled, "reporter": req.reporter}),
    )
    .await?;
    txn.commit().await?;
    Ok(Json(updated.into()))
}
