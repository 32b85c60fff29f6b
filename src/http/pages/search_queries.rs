//! `/admin/search-queries`: what buyers searched for over the last 30 days, without who
//! searched: the queries that found nothing most often and those whose results were opened
//! least, each with a form that adds it, or a correction of it, to a category's synonyms.

use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::{Value, context};
use serde::Deserialize;

use super::{Lang, Viewer, errors_value};
use crate::catalog::categories;
use crate::error::{AppError, FieldError, FieldErrors};
use crate::http::api::catalog::reference::{AliasRequest, add_alias_to};
use crate::http::api::search::queries_report;
use crate::http::state::AppState;

/// The report and its forms.
pub async fn page(State(state): State<AppState>, viewer: Viewer) -> Response {
    render(
        &state,
        &viewer,
        Value::from(()),
        Value::from(()),
        StatusCode::OK,
    )
    .await
}

async fn render(
    state: &AppState,
    viewer: &Viewer,
    errors: Value,
    typed: Value,
    status: StatusCode,
) -> Response {
    if let Err(r) = viewer.require("/admin/search-queries") {
        return *r;
    }
    if !viewer.actor.as_ref().is_some_and(|a| a.is_admin()) {
        return viewer.error(
            state,
            AppError::Forbidden("this page is for platform admins".into()),
        );
    }
    let found = async {
        let report = queries_report(state).await?;
        let cats = categories::all_with_aliases(&state.db).await?;
        Ok::<_, AppError>((report, cats))
    }
    .await;
    let (report, cats) = match found {
        Ok(f) => f,
        Err(e) => return viewer.error(state, e),
    };
    let categories: Vec<Value> = cats
        .iter()
        .map(|(c, _)| {
            context! {
                id => c.id,
                name => if viewer.lang == Lang::Zh { &c.name_zh } else { &c.name_en },
                child => c.parent_id.is_some(),
            }
        })
        .collect();
    let mut response = viewer.render(
        state,
        "search_queries.html",
        context! {
            since => report.since.to_string(),
            sections => vec![
                context! { id => "zero", rows => report.zero_results },
                context! { id => "low", rows => report.low_clicks },
            ],
            categories,
            errors,
            typed,
        },
    );
    *response.status_mut() = status;
    response
}

#[derive(Debug, Default, Deserialize, serde::Serialize)]
pub struct QueryAliasForm {
    #[serde(default, skip_serializing)]
    csrf_token: String,
    #[serde(default)]
    category_id: String,
    #[serde(default)]
    alias: String,
}

/// Adds a query to a category's synonyms; the change reaches the index through the outbox.
pub async fn add_alias(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<QueryAliasForm>,
) -> Response {
    let actor = match viewer.check_form(&state, "/admin/search-queries", &form.csrf_token) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let category = |code: &'static str, message: &str| {
        let mut fields = FieldErrors::new();
        fields.insert("category_id".into(), FieldError::new(code, message));
        AppError::Validation(fields)
    };
    let added = match form.category_id.trim().parse::<i64>() {
        Ok(id) => {
            let req = AliasRequest {
                alias: form.alias.clone(),
                kind: None,
            };
            match add_alias_to(&state, actor, id, req).await {
                Err(AppError::NotFound(_)) => Err(category("not_found", "no such category")),
                other => other.map(|_| ()),
            }
        }
        Err(_) => Err(category("required", "choose the category the word names")),
    };
    match added {
        Ok(()) => Redirect::to("/admin/search-queries#added").into_response(),
        Err(AppError::Validation(fields)) => {
            let errors = errors_value(&fields);
            render(
                &state,
                &viewer,
                errors,
                Value::from_serialize(&form),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => viewer.error(&state, e),
    }
}
