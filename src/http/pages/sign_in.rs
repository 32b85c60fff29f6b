//! `/login` and `/logout` for the pages: forms that work without JavaScript, errors beside the
//! field in the reader's language, what was typed kept. The sign-in form carries a token that
//! must match a cookie set with the form (so no other site can sign someone in); signing out
//! carries the session's own CSRF token.

use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use serde::Deserialize;

use super::Lang;
use crate::accounts::{Role, service, token};
use crate::error::AppError;
use crate::http::api::accounts::{session_cookie, set_cookie};
use crate::http::auth::{MaybeActor, cookie};
use crate::http::state::AppState;

/// The cookie holding the sign-in form's token.
const FORM_COOKIE: &str = "qudao_form";

#[derive(Debug, Default, Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

/// The sign-in form; every field optional so a missing one is reported beside it.
#[derive(Debug, Default, Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    form_token: String,
    next: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct SignOutForm {
    #[serde(default)]
    csrf_token: String,
}

/// A path on this site to go back to, never another site.
fn local_path(next: Option<&str>) -> Option<String> {
    next.filter(|n| {
        n.starts_with('/')
            && !n.starts_with("//")
            && n.len() <= 512
            && !n.chars().any(|c| c == '\\' || c.is_control())
    })
    .map(str::to_string)
}

/// Where someone goes after signing in when nothing else was asked.
fn home_of(role: Role) -> &'static str {
    match role {
        Role::Official => "/officials",
        Role::Admin => "/admin",
        Role::Producer => "/producer",
        _ => "/",
    }
}

/// The sign-in page with a fresh form token.
fn form_page(
    state: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    username: &str,
    next: Option<String>,
    errors: minijinja::Value,
) -> Response {
    let lang = Lang::of_request(headers);
    let form_token = token::generate();
    let mut r = state.pages.render(
        "sign_in.html",
        lang,
        context! { username, next, form_token => &form_token, ..errors },
    );
    *r.status_mut() = status;
    r.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(headers, FORM_COOKIE, &form_token, "/login", "Strict", 3600),
    );
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    r
}

pub async fn sign_in_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<NextQuery>,
) -> Response {
    form_page(
        &state,
        &headers,
        StatusCode::OK,
        "",
        local_path(q.next.as_deref()),
        context! {},
    )
}

pub async fn sign_in(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<SignInForm>,
) -> Response {
    let next = local_path(form.next.as_deref());
    let username = form.username.trim();
    let expected = cookie(&headers, FORM_COOKIE).unwrap_or("");
    if expected.is_empty() || !token::constant_time_eq(&form.form_token, expected) {
        return form_page(
            &state,
            &headers,
            StatusCode::FORBIDDEN,
            username,
            next,
            context! { form_error => "form_expired" },
        );
    }
    let (missing_user, missing_password) = (username.is_empty(), form.password.is_empty());
    if missing_user || missing_password {
        return form_page(
            &state,
            &headers,
            StatusCode::UNPROCESSABLE_ENTITY,
            username,
            next,
            context! { username_error => missing_user, password_error => missing_password },
        );
    }
    match service::sign_in(
        &state.db,
        &state.throttle,
        state.settings.session_hours,
        username,
        &form.password,
    )
    .await
    {
        Ok(grant) => {
            let role = grant.user.role;
            let to = next.unwrap_or_else(|| home_of(role).to_string());
            let mut r = Redirect::to(&to).into_response();
            let h = r.headers_mut();
            h.append(
                header::SET_COOKIE,
                session_cookie(
                    &headers,
                    &grant.session_secret,
                    state.settings.session_hours * 3600,
                ),
            );
            h.append(
                header::SET_COOKIE,
                set_cookie(&headers, FORM_COOKIE, "", "/login", "Strict", 0),
            );
            r
        }
        Err(AppError::InvalidCredentials) => form_page(
            &state,
            &headers,
            StatusCode::UNAUTHORIZED,
            username,
            next,
            context! { form_error => "sign_in_failed" },
        ),
        Err(AppError::RateLimited(secs)) => {
            let mut r = form_page(
                &state,
                &headers,
                StatusCode::TOO_MANY_REQUESTS,
                username,
                next,
                context! { form_error => "too_many_attempts", retry_minutes => secs.div_ceil(60) },
            );
            r.headers_mut().insert(header::RETRY_AFTER, secs.into());
            r
        }
        Err(e) => e.into_response(),
    }
}

pub async fn sign_out(
    State(state): State<AppState>,
    headers: HeaderMap,
    MaybeActor(actor): MaybeActor,
    Form(form): Form<SignOutForm>,
) -> Response {
    if let Some(actor) = actor {
        if actor.session_csrf().is_none() {
            return AppError::Forbidden("signing out from the pages ends a browser session".into())
                .into_response();
        }
        if !actor.sent_session_csrf(&form.csrf_token) {
            return AppError::CsrfFailed.into_response();
        }
        if let Err(e) = service::logout(&state.db, &actor.credential).await {
            return e.into_response();
        }
    }
    let mut r = Redirect::to("/").into_response();
    r.headers_mut()
        .append(header::SET_COOKIE, session_cookie(&headers, "", 0));
    r
}
