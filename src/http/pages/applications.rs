//! `/officials/organizations`: the applications to sell on qudao waiting for the county's
//! recommendation, each with its recommend and reject buttons.

use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::{Value, context};

use super::Viewer;
use super::admin::NoteForm;
use crate::catalog::organizations::{self, Decision};
use crate::error::AppError;
use crate::http::api::catalog::organizations::decide;
use crate::http::api::catalog::views::organization_views;
use crate::http::lang::NameFor;
use crate::http::state::AppState;

const HERE: &str = "/officials/organizations";

/// The queue of applications in the official's region.
pub async fn queue(State(state): State<AppState>, viewer: Viewer) -> Response {
    let actor = match viewer.require(HERE) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let lang = viewer.lang;
    let found = async {
        let waiting = organizations::awaiting_recommendation(&state.db, actor).await?;
        Ok::<_, AppError>(organization_views(&state.db, waiting).await?)
    }
    .await;
    let waiting = match found {
        Ok(w) => w,
        Err(e) => return viewer.error(&state, e),
    };
    let waiting: Vec<Value> = waiting
        .iter()
        .map(|o| {
            context! {
                id => o.id,
                name => &o.name,
                kind => o.kind.name_for(lang),
                region => o.region.name_in(lang == super::Lang::En),
                description => &o.description,
                contact => format!("{} {}", o.contact_name, o.contact_phone),
                applied => crate::stats::domain::local_date(o.created_at).to_string(),
            }
        })
        .collect();
    viewer.render(&state, "applications.html", context! { waiting })
}

/// Recommends or rejects an application, back to the queue.
pub async fn decide_application(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((id, decision)): Path<(i64, String)>,
    Form(form): Form<NoteForm>,
) -> Response {
    answer(&state, &viewer, HERE, (id, &decision), &form).await
}

/// Takes `decision` (`recommend`, `approve` or `reject`) on organization `id` from a page's
/// form, and goes back to `here`; the decision must be the viewer's to take.
pub(super) async fn answer(
    state: &AppState,
    viewer: &Viewer,
    here: &str,
    (id, decision): (i64, &str),
    form: &NoteForm,
) -> Response {
    let actor = match viewer.check_form(state, here, &form.csrf_token) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let decision = match decision {
        "recommend" => Decision::Recommend,
        "approve" => Decision::Approve,
        "reject" => Decision::Reject,
        _ => return viewer.error(state, AppError::NotFound("decision")),
    };
    match decide(state, actor, id, decision, form.note()).await {
        Ok(_) => Redirect::to(here).into_response(),
        Err(e) => viewer.error(state, e),
    }
}
