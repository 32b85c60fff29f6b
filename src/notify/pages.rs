//! `/unsubscribe`: the link at the foot of a non-essential email. Opening it shows what it
//! would turn off; the button confirms (so a mail scanner following links changes nothing).
//! The link's signature is the only credential: no login needed.

use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use minijinja::context;
use serde::Deserialize;

use super::preferences::{self, KINDS};
use crate::accounts::token;
use crate::state::AppState;
use crate::web::Lang;

/// `?user=&kind=&sig=`, or the same fields in the confirming form.
#[derive(Debug, Default, Deserialize)]
pub struct Link {
    #[serde(default)]
    user: i64,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    sig: String,
}

impl Link {
    fn valid(&self, state: &AppState) -> bool {
        let secret = state.settings.secret.clone().unwrap_or_default();
        !secret.is_empty()
            && KINDS.iter().any(|(k, _)| *k == self.kind)
            && token::constant_time_eq(
                &self.sig,
                &preferences::unsubscribe_signature(&secret, self.user, &self.kind),
            )
    }
}

fn page(
    state: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    link: &Link,
    done: bool,
) -> Response {
    let mut r = state.pages.render(
        "unsubscribe.html",
        Lang::of_request(headers),
        context! {
            invalid => status != StatusCode::OK,
            done,
            kind => &link.kind,
            user => link.user,
            sig => &link.sig,
        },
    );
    *r.status_mut() = status;
    r
}

pub async fn confirm_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(link): Query<Link>,
) -> Response {
    let status = if link.valid(&state) {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    page(&state, &headers, status, &link, false)
}

pub async fn unsubscribe(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(link): Form<Link>,
) -> Response {
    if !link.valid(&state) {
        return page(&state, &headers, StatusCode::BAD_REQUEST, &link, false);
    }
    match preferences::set_email(&state.db, link.user, &link.kind, false).await {
        Ok(()) => page(&state, &headers, StatusCode::OK, &link, true),
        Err(e) => crate::error::AppError::from(e).into_response(),
    }
}
