//! Who is calling, read from a request: bearer tokens for programs, session cookies for
//! browsers, and the CSRF check for cookie-authenticated writes.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use chrono::Utc;

use super::state::AppState;
use crate::accounts::auth;
use crate::accounts::{Actor, Role};
use crate::error::AppError;

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "qudao_session";
/// Header a cookie-authenticated API write must carry.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The value of a cookie in the request, if any.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn bearer(headers: &HeaderMap) -> Option<Result<&str, AppError>> {
    let value = headers.get(header::AUTHORIZATION)?;
    let parsed = value
        .to_str()
        .ok()
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty());
    Some(parsed.ok_or(AppError::Unauthenticated))
}

/// Finds the actor of a request. A bad bearer token is an error; a stale cookie is just anonymous.
pub async fn authenticate(parts: &Parts, state: &AppState) -> Result<Option<Actor>, AppError> {
    let now = Utc::now();
    if let Some(token) = bearer(&parts.headers) {
        return auth::by_token(&state.db, token?, now).await.map(Some);
    }
    let Some(secret) = cookie(&parts.headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    let Some(actor) = auth::by_session(&state.db, secret, now).await? else {
        return Ok(None);
    };
    check_csrf(parts, &actor)?;
    Ok(Some(actor))
}

/// Cookie-authenticated API writes must echo the session's CSRF token in a header.
fn check_csrf(parts: &Parts, actor: &Actor) -> Result<(), AppError> {
    let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
    if safe || !parts.uri.path().starts_with("/api/") {
        return Ok(());
    }
    if actor.session_csrf().is_none() {
        return Ok(());
    }
    let sent = parts
        .headers
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if actor.sent_session_csrf(sent) {
        Ok(())
    } else {
        Err(AppError::CsrfFailed)
    }
}

impl FromRequestParts<AppState> for Actor {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        authenticate(parts, state)
            .await?
            .ok_or(AppError::Unauthenticated)
    }
}

/// The actor if someone is signed in; anonymous requests pass.
#[derive(Debug, Clone)]
pub struct MaybeActor(pub Option<Actor>);

impl FromRequestParts<AppState> for MaybeActor {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        authenticate(parts, state).await.map(MaybeActor)
    }
}

/// Declares an extractor for a signed-in caller of one role. It refuses any other role with
/// 403 from the credentials alone, before the body is read: who may not do something is told
/// so whatever they sent, never a list of fields to fix first.
macro_rules! one_role {
    ($(#[$doc:meta])* $name:ident, $role:expr, $refusal:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $name(pub Actor);

        impl FromRequestParts<AppState> for $name {
            type Rejection = AppError;

            async fn from_request_parts(
                parts: &mut Parts,
                state: &AppState,
            ) -> Result<Self, Self::Rejection> {
                let actor = Actor::from_request_parts(parts, state).await?;
                if actor.role == $role {
                    Ok($name(actor))
                } else {
                    Err(AppError::Forbidden($refusal.into()))
                }
            }
        }
    };
}

one_role!(
    /// A signed-in buyer.
    Buyer,
    Role::Buyer,
    "only buyer accounts may do this"
);
one_role!(
    /// A signed-in producer.
    Producer,
    Role::Producer,
    "only producer accounts may do this"
);
one_role!(
    /// A signed-in platform admin.
    Admin,
    Role::Admin,
    "only platform admins may do this"
);
one_role!(
    /// A signed-in official.
    Official,
    Role::Official,
    "only officials may do this"
);
