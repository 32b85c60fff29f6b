//! `/producer/webhooks`: the endpoints an organization's events are pushed to, registered and
//! removed on the page; a new endpoint's signing secret is shown this once.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::{Value, context};
use serde::Deserialize;

use super::{TokenForm, Viewer, errors_value};
use crate::error::AppError;
use crate::http::state::AppState;
use crate::notify::webhooks;

const HERE: &str = "/producer/webhooks";

/// The new-endpoint form as typed.
#[derive(Debug, Default, Deserialize)]
pub struct WebhookForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    url: String,
    /// Topics separated by spaces or commas; empty for every event.
    #[serde(default)]
    topics: String,
}

async fn render(
    state: &AppState,
    viewer: &Viewer,
    form: &WebhookForm,
    (secret, errors): (Option<String>, Value),
    status: StatusCode,
) -> Response {
    let Some(actor) = viewer.actor.as_ref() else {
        return viewer.error(state, AppError::Unauthenticated);
    };
    let hooks = match webhooks::list(&state.db, actor).await {
        Ok(h) => h,
        Err(e) => return viewer.error(state, e),
    };
    let hooks: Vec<Value> = hooks
        .iter()
        .map(|h| {
            context! {
                id => h.id,
                url => &h.url,
                topics => h.topics.replace(',', " "),
                created_at => crate::stats::domain::local_date(h.created_at).to_string(),
            }
        })
        .collect();
    let f = context! { url => &form.url, topics => &form.topics };
    let ctx = context! { hooks, f, secret, errors };
    viewer.render_with(state, "webhooks.html", ctx, status)
}

/// The organization's endpoints and the form to add one.
pub async fn page(State(state): State<AppState>, viewer: Viewer) -> Response {
    if let Err(r) = viewer.require(HERE) {
        return *r;
    }
    let none = (None, Value::from(()));
    render(
        &state,
        &viewer,
        &WebhookForm::default(),
        none,
        StatusCode::OK,
    )
    .await
}

/// Registers an endpoint and shows its secret; slips come back beside their fields.
pub async fn add(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<WebhookForm>,
) -> Response {
    let actor = match viewer.check_form(&state, HERE, &form.csrf_token) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let topics: Vec<String> = form
        .topics
        .split([' ', ',', '，'])
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect();
    let topics = (!topics.is_empty()).then_some(topics);
    match webhooks::create(&state.db, actor, form.url.trim(), topics).await {
        Ok((_, secret)) => {
            let done = (Some(secret), Value::from(()));
            render(
                &state,
                &viewer,
                &WebhookForm::default(),
                done,
                StatusCode::CREATED,
            )
            .await
        }
        Err(AppError::Validation(fields)) => {
            let bad = (None, errors_value(&fields));
            render(
                &state,
                &viewer,
                &form,
                bad,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => viewer.error(&state, e),
    }
}

/// Removes an endpoint of the organization.
pub async fn remove(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    Form(form): Form<TokenForm>,
) -> Response {
    let actor = match viewer.check_form(&state, HERE, &form.csrf_token) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    match webhooks::delete(&state.db, actor, id).await {
        Ok(()) => Redirect::to(HERE).into_response(),
        Err(e) => viewer.error(&state, e),
    }
}
