//! `/notifications/settings`: which kinds of notice a person gets by email, and which of them
//! gathered into one email a day.

use std::collections::HashMap;

use axum::Form;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::{Value, context};
use serde::Deserialize;

use super::Viewer;
use crate::http::state::AppState;
use crate::notify::preferences::{self, KINDS, PreferenceChange};

const HERE: &str = "/notifications/settings";

/// `?saved=1` after a change.
#[derive(Debug, Default, Deserialize)]
pub struct Saved {
    saved: Option<u8>,
}

/// The choices of each kind, as checkboxes.
pub async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<Saved>,
) -> Response {
    let actor = match viewer.require(HERE) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let kinds = match preferences::views(&state.db, actor.id()).await {
        Ok(k) => k,
        Err(e) => return viewer.error(&state, e),
    };
    let kinds: Vec<Value> = kinds.iter().map(Value::from_serialize).collect();
    let ctx = context! { kinds, saved => q.saved.is_some() };
    viewer.render(&state, "email_settings.html", ctx)
}

/// Saves every kind's boxes at once: a box left unticked is a choice too.
pub async fn save(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let token = form.get("csrf_token").map_or("", String::as_str);
    let actor = match viewer.check_form(&state, HERE, token) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let ticked = |name: String| form.contains_key(&name);
    let changes: Vec<PreferenceChange> = KINDS
        .iter()
        .map(|(kind, essential)| PreferenceChange {
            kind: (*kind).to_string(),
            email: Some(ticked(format!("email_{kind}"))),
            digest: (!essential).then(|| ticked(format!("digest_{kind}"))),
        })
        .collect();
    match preferences::change(&state.db, actor.id(), &changes).await {
        Ok(()) => Redirect::to(&format!("{HERE}?saved=1")).into_response(),
        Err(e) => viewer.error(&state, e),
    }
}
