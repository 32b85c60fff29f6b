//! `/saved-searches`: a buyer's saved searches, run again with one tap, with their alerts; the
//! search page saves the search shown.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::{Value, context};
use serde::Deserialize;

use super::{TokenForm, Viewer, errors_value};
use crate::error::AppError;
use crate::http::api::saved_searches::{
    NewSavedSearch, SavedSearchChange, change, forget, save, saved_of,
};
use crate::http::state::AppState;
use crate::search::saved::{Alert, SavedQuery};

/// The search page's link for a saved query.
fn search_link(q: &SavedQuery) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    if let Some(v) = &q.q {
        s.append_pair("q", v);
    }
    if let Some(v) = q.category_id {
        s.append_pair("category", &v.to_string());
    }
    if let Some(v) = &q.region {
        s.append_pair("county", v);
    }
    if let Some(v) = &q.certification {
        s.append_pair("certification", v);
    }
    format!("/search?{}", s.finish())
}

async fn page_with(
    state: &AppState,
    viewer: &Viewer,
    errors: Value,
    status: StatusCode,
) -> Response {
    let actor = match viewer.require("/saved-searches") {
        Ok(a) => a,
        Err(r) => return *r,
    };
    match saved_of(state, actor).await {
        Ok(all) => {
            let saved: Vec<Value> = all
                .iter()
                .map(|s| {
                    context! {
                        id => s.id,
                        name => &s.name,
                        alert => s.alert.code(),
                        href => search_link(&s.query),
                    }
                })
                .collect();
            viewer.render_with(state, "saved.html", context! { saved, errors }, status)
        }
        Err(e) => viewer.error(state, e),
    }
}

pub async fn page(State(state): State<AppState>, viewer: Viewer) -> Response {
    page_with(&state, &viewer, Value::from(()), StatusCode::OK).await
}

/// The search page's "save this search" form: the search's own fields, a name, an alert.
#[derive(Debug, Default, Deserialize)]
pub struct SaveForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    alert: String,
    q: Option<String>,
    category: Option<i64>,
    county: Option<String>,
    certification: Option<String>,
}

pub async fn create(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<SaveForm>,
) -> Response {
    let actor = match viewer.check_form(&state, "/saved-searches", &form.csrf_token) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let filled = |s: Option<String>| s.filter(|v| !v.trim().is_empty());
    let input = NewSavedSearch {
        name: form.name.clone(),
        alert: Alert::from_code(&form.alert),
        query: SavedQuery {
            q: filled(form.q.clone()),
            category_id: form.category,
            region: filled(form.county.clone()),
            certification: filled(form.certification.clone()),
            ..Default::default()
        },
    };
    match save(&state, actor, input).await {
        Ok(_) => Redirect::to("/saved-searches").into_response(),
        Err(AppError::Validation(fields)) => {
            page_with(
                &state,
                &viewer,
                errors_value(&fields),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => viewer.error(&state, e),
    }
}

/// A saved search's name and alert, as its row on the page changes them.
#[derive(Debug, Default, Deserialize)]
pub struct ChangeForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    alert: String,
}

/// Renames a saved search or changes how often it alerts.
pub async fn update(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    Form(form): Form<ChangeForm>,
) -> Response {
    let actor = match viewer.check_form(&state, "/saved-searches", &form.csrf_token) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    // An alert left out stays as it is; one not in the list is refused beside the others.
    let alert = match form.alert.trim() {
        "" => Ok(None),
        code => Alert::from_code(code).map(Some).ok_or_else(|| {
            crate::error::FieldErrors::from([(
                "alert".to_string(),
                crate::error::FieldError::new("unknown_value", "instant, daily or off"),
            )])
        }),
    };
    let changed = match alert {
        Ok(alert) => {
            let input = SavedSearchChange {
                name: Some(form.name),
                alert,
                query: None,
            };
            change(&state, actor, id, input).await
        }
        Err(fields) => Err(AppError::Validation(fields)),
    };
    match changed {
        Ok(_) => Redirect::to(&format!("/saved-searches#saved-{id}")).into_response(),
        Err(AppError::Validation(fields)) => {
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            page_with(&state, &viewer, errors_value(&fields), status).await
        }
        Err(e) => viewer.error(&state, e),
    }
}

pub async fn delete(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    Form(form): Form<TokenForm>,
) -> Response {
    let actor = match viewer.check_form(&state, "/saved-searches", &form.csrf_token) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    match forget(&state, actor, id).await {
        Ok(()) => Redirect::to("/saved-searches").into_response(),
        Err(e) => viewer.error(&state, e),
    }
}
