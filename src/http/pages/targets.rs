//! `/officials/regions/{code}/targets`, where a region's officials set its year's targets, and
//! `/officials/quarters`, where admins and province officials close a quarter.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::{Value, context};
use serde::Deserialize;

use super::{Viewer, errors_value};
use crate::error::{AppError, FieldError, FieldErrors};
use crate::stats::access::{may_close_quarters, official_region};
use crate::stats::domain::{Granularity, Period, local_date};
use crate::stats::targets::{self, TargetsRequest};

use crate::http::state::AppState;

/// The targets form as typed.
#[derive(Debug, Default, Deserialize)]
pub struct TargetsForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    year: String,
    #[serde(default)]
    sales_yuan: String,
    #[serde(default)]
    households: String,
    #[serde(default)]
    new_organizations: String,
}

/// `?year=`: the year whose targets the form shows.
#[derive(Debug, Default, Deserialize)]
pub struct YearChoice {
    year: Option<i32>,
}

fn this_year() -> i32 {
    Period::containing(Granularity::Year, local_date(chrono::Utc::now())).year()
}

async fn targets_page(
    state: &AppState,
    viewer: &Viewer,
    code: &str,
    form: Option<&TargetsForm>,
    (errors, status): (Value, StatusCode),
    year: i32,
) -> Response {
    let Some(actor) = viewer.actor.as_ref() else {
        return viewer.error(state, AppError::Unauthenticated);
    };
    let found = async {
        let (region, level) = official_region(&state.db, actor, code).await?;
        let progress = targets::progress(&state.db, &region.code, level, year).await?;
        Ok::<_, AppError>((region, progress))
    }
    .await;
    let (region, progress) = match found {
        Ok(f) => f,
        Err(e) => return viewer.error(state, e),
    };
    let goals = progress.targets.unwrap_or_default();
    let f = match form {
        Some(f) => context! {
            year => &f.year, sales_yuan => &f.sales_yuan, households => &f.households,
            new_organizations => &f.new_organizations,
        },
        None => context! {
            year => year,
            sales_yuan => super::plain_yuan(goals.sales_fen),
            households => goals.households,
            new_organizations => goals.new_organizations,
        },
    };
    let name = if viewer.lang == super::Lang::En {
        region.name_en
    } else {
        region.name
    };
    let ctx = context! { region => context! { code => region.code, name }, f, errors };
    viewer.render_with(state, "targets.html", ctx, status)
}

/// The form, showing the year's targets as set.
pub async fn targets_form(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(code): Path<String>,
    Query(choice): Query<YearChoice>,
) -> Response {
    if let Err(r) = viewer.require(&format!("/officials/regions/{code}/targets")) {
        return *r;
    }
    let year = choice.year.unwrap_or_else(this_year);
    let ok = (Value::from(()), StatusCode::OK);
    targets_page(&state, &viewer, &code, None, ok, year).await
}

/// Sets the targets and goes back to the region's page; slips come back beside their fields.
pub async fn set_targets(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(code): Path<String>,
    Form(form): Form<TargetsForm>,
) -> Response {
    let here = format!("/officials/regions/{code}/targets");
    let actor = match viewer.check_form(&state, &here, &form.csrf_token) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let mut errors = FieldErrors::new();
    let whole = |field: &str, raw: &str, errors: &mut FieldErrors| {
        raw.trim().parse::<i64>().unwrap_or_else(|_| {
            errors.insert(field.into(), FieldError::new("invalid", "a whole number"));
            0
        })
    };
    let year = whole("year", &form.year, &mut errors);
    let req = TargetsRequest {
        year: i32::try_from(year).unwrap_or(0),
        sales_fen: super::yuan("sales_yuan", &form.sales_yuan, &mut errors),
        households: whole("households", &form.households, &mut errors),
        new_organizations: whole("new_organizations", &form.new_organizations, &mut errors),
    };
    let done = if errors.is_empty() {
        targets::set_checked(&state.db, actor, &code, &req).await
    } else {
        Err(AppError::Validation(errors))
    };
    match done {
        Ok(_) => Redirect::to(&format!("/officials/regions/{code}")).into_response(),
        Err(AppError::Validation(fields)) => {
            let fields = crate::error::renamed(fields, "sales_fen", "sales_yuan");
            let bad = (errors_value(&fields), StatusCode::UNPROCESSABLE_ENTITY);
            targets_page(&state, &viewer, &code, Some(&form), bad, req.year).await
        }
        Err(e) => viewer.error(&state, e),
    }
}

/// The close-quarter form as typed.
#[derive(Debug, Default, Deserialize)]
pub struct CloseForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    quarter: String,
}

const QUARTERS: &str = "/officials/quarters";

async fn quarters_page(
    state: &AppState,
    viewer: &Viewer,
    quarter: &str,
    (errors, status): (Value, StatusCode),
) -> Response {
    let Some(actor) = viewer.actor.as_ref() else {
        return viewer.error(state, AppError::Unauthenticated);
    };
    if !matches!(
        actor.role,
        crate::accounts::Role::Official | crate::accounts::Role::Admin
    ) {
        return viewer.error(state, AppError::Forbidden("for officials".into()));
    }
    let closed = match crate::stats::reports::closed_quarters(&state.db).await {
        Ok(c) => c,
        Err(e) => return viewer.error(state, e),
    };
    let closed: Vec<Value> = closed
        .iter()
        .map(|m| {
            context! {
                quarter => Period::from_quarter_key(m.quarter).map(|p| p.to_string()),
                closed_at => local_date(m.closed_at).to_string(),
            }
        })
        .collect();
    let ctx = context! { may_close => may_close_quarters(actor), quarter, closed, errors };
    viewer.render_with(state, "quarters.html", ctx, status)
}

/// The quarters closed, and the form to close the last one that ended.
pub async fn quarters(State(state): State<AppState>, viewer: Viewer) -> Response {
    if let Err(r) = viewer.require(QUARTERS) {
        return *r;
    }
    let last = Period::containing(Granularity::Quarter, local_date(chrono::Utc::now()))
        .prev()
        .to_string();
    quarters_page(&state, &viewer, &last, (Value::from(()), StatusCode::OK)).await
}

/// Closes the quarter typed; a quarter not ended or already closed comes back beside it.
pub async fn close(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<CloseForm>,
) -> Response {
    let actor = match viewer.check_form(&state, QUARTERS, &form.csrf_token) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let fields = match crate::stats::reports::close_checked(&state.db, actor, &form.quarter).await {
        Ok(_) => return Redirect::to(QUARTERS).into_response(),
        Err(AppError::Validation(fields)) => fields,
        Err(AppError::Conflict(code, message)) => {
            FieldErrors::from([("quarter".to_string(), FieldError::new(code, message))])
        }
        Err(e) => return viewer.error(&state, e),
    };
    let bad = (errors_value(&fields), StatusCode::UNPROCESSABLE_ENTITY);
    quarters_page(&state, &viewer, &form.quarter, bad).await
}
