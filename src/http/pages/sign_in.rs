//! `/login`, `/register` and `/logout` for the pages: forms that work without JavaScript, errors beside the
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
    let ctx = context! { username, next, ..errors };
    tokened_page(state, headers, status, ("sign_in.html", "/login"), ctx)
}

/// Page `template` (posting to `path`) with a fresh form token, set also as a cookie for
/// `path` alone: a form no other site can send in someone's name, before anyone is signed in.
fn tokened_page(
    state: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    (template, path): (&str, &str),
    ctx: minijinja::Value,
) -> Response {
    let lang = Lang::of_request(headers);
    let form_token = token::generate();
    let mut r = state.pages.render(
        template,
        lang,
        context! { form_token => &form_token, ..ctx },
    );
    *r.status_mut() = status;
    r.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(headers, FORM_COOKIE, &form_token, path, "Strict", 3600),
    );
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    r
}

/// True when the form's token is the one its page set.
fn token_matches(headers: &HeaderMap, sent: &str) -> bool {
    let expected = cookie(headers, FORM_COOKIE).unwrap_or("");
    !expected.is_empty() && token::constant_time_eq(sent, expected)
}

/// Signs `grant`'s person in: the session cookie, the form's cookie for `path` cleared, and
/// a redirect to `to`.
fn signed_in(
    state: &AppState,
    headers: &HeaderMap,
    grant: &service::LoginGrant,
    path: &str,
    to: &str,
) -> Response {
    let mut r = Redirect::to(to).into_response();
    let h = r.headers_mut();
    h.append(
        header::SET_COOKIE,
        session_cookie(
            headers,
            &grant.session_secret,
            state.settings.session_hours * 3600,
        ),
    );
    h.append(
        header::SET_COOKIE,
        set_cookie(headers, FORM_COOKIE, "", path, "Strict", 0),
    );
    r
}

/// The registration form as typed; every field optional so a missing one is reported beside
/// it.
#[derive(Debug, Default, Deserialize)]
pub struct RegisterForm {
    #[serde(default)]
    form_token: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
}

fn register_form(
    state: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    form: &RegisterForm,
    errors: minijinja::Value,
) -> Response {
    let ctx = context! {
        f => context! {
            username => form.username.trim(),
            display_name => form.display_name.trim(),
            email => form.email.trim(),
            role => &form.role,
        },
        min_password => crate::accounts::password::MIN_LEN,
        ..errors
    };
    tokened_page(state, headers, status, ("register.html", "/register"), ctx)
}

/// `/register`: anyone may register as a buyer or as producer staff.
pub async fn register_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    register_form(
        &state,
        &headers,
        StatusCode::OK,
        &RegisterForm::default(),
        context! {},
    )
}

/// Registers, signs the new person in and sends them on: a buyer to the market, producer
/// staff to apply for their organization. Refusals come back beside their fields.
pub async fn register(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<RegisterForm>,
) -> Response {
    if !token_matches(&headers, &form.form_token) {
        let expired = context! { form_error => "form_expired" };
        return register_form(&state, &headers, StatusCode::FORBIDDEN, &form, expired);
    }
    let role = match form.role.as_str() {
        "" | "buyer" => Some(Role::Buyer),
        "producer" => Some(Role::Producer),
        _ => None,
    };
    let req = service::RegisterRequest {
        username: form.username.clone(),
        password: form.password.clone(),
        display_name: form.display_name.clone(),
        // An unknown role is refused beside its field.
        role: Some(role.unwrap_or(Role::Admin)),
        language: Some(Lang::of_request(&headers).code().into()),
        email: Some(form.email.clone()),
    };
    let done = async {
        let user = service::register(&state.db, req).await?;
        service::sign_in(
            &state.db,
            &state.throttle,
            state.settings.session_hours,
            &user.username,
            &form.password,
        )
        .await
    }
    .await;
    match done {
        Ok(grant) => {
            let to = match grant.user.role {
                Role::Producer => "/producer/organization",
                role => home_of(role),
            };
            signed_in(&state, &headers, &grant, "/register", to)
        }
        Err(AppError::Validation(fields)) => {
            let errors = context! { errors => super::errors_value(&fields) };
            register_form(
                &state,
                &headers,
                StatusCode::UNPROCESSABLE_ENTITY,
                &form,
                errors,
            )
        }
        Err(e) => e.into_response(),
    }
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
    if !token_matches(&headers, &form.form_token) {
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
            let to = next.unwrap_or_else(|| home_of(grant.user.role).to_string());
            signed_in(&state, &headers, &grant, "/login", &to)
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
