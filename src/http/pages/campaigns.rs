//! Campaigns on the pages: `/campaigns` (every campaign, and the form officials organize one
//! with) and `/campaigns/{id}` (the campaign: its counties and listings, what each county
//! sold under it, the units' pledges; producers sign their listings up, unit admins pledge).

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::Utc;
use minijinja::context;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde::Deserialize;

use crate::accounts::Role;
use crate::buyers::campaigns::{self, CampaignInput};
use crate::buyers::domain::{CampaignKind, UnitRole, UnitStatus};
use crate::catalog::domain::format_yuan;
use crate::catalog::entity::listing;
use crate::db::in_write_txn;
use crate::error::{AppError, FieldErrors};
use crate::http::lang::NameFor;
use crate::http::pages::{Viewer, errors_value};
use crate::http::state::AppState;

/// Page routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/campaigns", get(list_page).post(organize_form))
        .route("/campaigns/{id}", get(campaign_page))
        .route("/campaigns/{id}/listings", post(sign_up_form))
        .route("/campaigns/{id}/pledges", post(pledge_form))
}

/// The organize form as typed; counties one code per line or separated by spaces.
#[derive(Debug, Default, Deserialize)]
pub struct OrganizeForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    starts_on: String,
    #[serde(default)]
    ends_on: String,
    #[serde(default)]
    counties: String,
}

async fn list_page(State(state): State<AppState>, viewer: Viewer) -> Response {
    list_with(
        &state,
        &viewer,
        &OrganizeForm::default(),
        FieldErrors::new(),
        StatusCode::OK,
    )
    .await
}

async fn list_with(
    state: &AppState,
    viewer: &Viewer,
    form: &OrganizeForm,
    errors: FieldErrors,
    status: StatusCode,
) -> Response {
    let lang = viewer.lang;
    let all = match campaigns::all(&state.db).await {
        Ok(a) => a,
        Err(e) => return viewer.error(state, e.into()),
    };
    let organizing = viewer
        .actor
        .as_ref()
        .is_some_and(|a| a.is_admin() || a.role == Role::Official);
    viewer.render_with(
        state,
        "campaigns.html",
        context! {
            campaigns => all.iter().map(|c| context! {
                id => c.id, name => &c.name, kind => c.kind.name_for(lang),
                starts_on => c.starts_on.to_string(), ends_on => c.ends_on.to_string(),
            }).collect::<Vec<_>>(),
            organizing,
            kinds => CampaignKind::ALL.iter().map(|k| context! { code => k.code(), name => k.name_for(lang) }).collect::<Vec<_>>(),
            f => context! {
                name => &form.name, kind => &form.kind, description => &form.description,
                starts_on => &form.starts_on, ends_on => &form.ends_on, counties => &form.counties,
            },
            errors => errors_value(&errors),
        },
        status,
    )
}

async fn organize_form(
    State(state): State<AppState>,
    viewer: Viewer,
    axum::Form(form): axum::Form<OrganizeForm>,
) -> Response {
    let actor = match viewer.check_form(&state, "/campaigns", &form.csrf_token) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let input = CampaignInput {
        name: form.name.clone(),
        kind: form.kind.clone(),
        description: Some(form.description.clone()),
        starts_on: form.starts_on.clone(),
        ends_on: form.ends_on.clone(),
        counties: form
            .counties
            .split(|c: char| c.is_whitespace() || c == ',' || c == '，')
            .filter(|c| !c.is_empty())
            .map(str::to_string)
            .collect(),
    };
    let done = in_write_txn(&state.db, async |txn| {
        campaigns::organize(txn, actor, &input, Utc::now()).await
    })
    .await;
    match done {
        Ok(c) => Redirect::to(&format!("/campaigns/{}", c.id)).into_response(),
        Err(AppError::Validation(fields)) => {
            list_with(
                &state,
                &viewer,
                &form,
                fields,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => viewer.error(&state, e),
    }
}

async fn campaign_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
) -> Response {
    campaign_with(&state, &viewer, id, FieldErrors::new(), StatusCode::OK).await
}

async fn campaign_with(
    state: &AppState,
    viewer: &Viewer,
    id: i64,
    errors: FieldErrors,
    status: StatusCode,
) -> Response {
    let lang = viewer.lang;
    let read = async {
        let report = crate::stats::units::campaign_report(&state.db, id).await?;
        let signed = listing::Entity::find()
            .filter(listing::Column::Id.is_in(report.campaign.listing_ids.clone()))
            .all(&state.db)
            .await?;
        // What the reader may add: their organization's listings, their units to pledge for.
        let (mine, units) = match viewer.actor.as_ref() {
            Some(a) => {
                let mine = match a.organization_id() {
                    Some(org) => {
                        listing::Entity::find()
                            .filter(listing::Column::OrganizationId.eq(org))
                            .filter(listing::Column::DeletedAt.is_null())
                            .all(&state.db)
                            .await?
                    }
                    None => Vec::new(),
                };
                let units: Vec<_> = crate::buyers::units::mine(&state.db, a)
                    .await?
                    .into_iter()
                    .filter(|u| u.role == UnitRole::Admin && u.status == UnitStatus::Approved)
                    .collect();
                (mine, units)
            }
            None => (Vec::new(), Vec::new()),
        };
        Ok::<_, AppError>((report, signed, mine, units))
    }
    .await;
    let (report, signed, mine, units) = match read {
        Ok(r) => r,
        Err(e) => return viewer.error(state, e),
    };
    let c = &report.campaign;
    viewer.render_with(
        state,
        "campaign.html",
        context! {
            campaign => context! {
                id => c.id, name => &c.name, kind => c.kind.name_for(lang), description => &c.description,
                starts_on => c.starts_on.to_string(), ends_on => c.ends_on.to_string(),
            },
            total => format_yuan(report.total_fen),
            orders => report.orders,
            counties => report.counties.iter().map(|k| context! {
                code => &k.county_code, name => &k.county_name, sold => format_yuan(k.sold_fen), orders => k.orders,
            }).collect::<Vec<_>>(),
            pledges => report.pledges.iter().map(|p| context! {
                unit => &p.unit_name, pledged => format_yuan(p.pledged_fen), bought => format_yuan(p.bought_fen),
            }).collect::<Vec<_>>(),
            listings => signed.iter().map(|l| context! { id => l.id, title => &l.title }).collect::<Vec<_>>(),
            mine => mine.iter().filter(|l| !c.listing_ids.contains(&l.id)).map(|l| context! { id => l.id, title => &l.title }).collect::<Vec<_>>(),
            units => units.iter().map(|u| context! { id => u.id, name => &u.name }).collect::<Vec<_>>(),
            errors => errors_value(&errors),
        },
        status,
    )
}

/// A listing to sign up, as chosen.
#[derive(Debug, Default, Deserialize)]
pub struct SignUpForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    listing_id: String,
}

async fn sign_up_form(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    axum::Form(form): axum::Form<SignUpForm>,
) -> Response {
    let here = format!("/campaigns/{id}");
    let actor = match viewer.check_form(&state, &here, &form.csrf_token) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let listing_id = form.listing_id.trim().parse().unwrap_or(0);
    let done = in_write_txn(&state.db, async |txn| {
        campaigns::sign_up(txn, actor, id, listing_id, Utc::now()).await
    })
    .await;
    back(&state, &viewer, id, done.map(|_| ())).await
}

/// A pledge as typed, in yuan.
#[derive(Debug, Default, Deserialize)]
pub struct PledgeForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    unit_id: String,
    #[serde(default)]
    amount_yuan: String,
}

async fn pledge_form(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    axum::Form(form): axum::Form<PledgeForm>,
) -> Response {
    let here = format!("/campaigns/{id}");
    let actor = match viewer.check_form(&state, &here, &form.csrf_token) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let unit_id = form.unit_id.trim().parse().unwrap_or(0);
    let amount = crate::catalog::import::fen_of(form.amount_yuan.trim()).unwrap_or(-1);
    let done = in_write_txn(&state.db, async |txn| {
        campaigns::pledge(txn, actor, id, unit_id, amount, Utc::now()).await
    })
    .await;
    let done = done.map_err(|e| match e {
        AppError::Validation(f) => {
            AppError::Validation(crate::http::pages::renamed(f, "amount_fen", "amount_yuan"))
        }
        other => other,
    });
    back(&state, &viewer, id, done).await
}

/// Back to the campaign's page, or the page with the form's errors.
async fn back(state: &AppState, viewer: &Viewer, id: i64, done: Result<(), AppError>) -> Response {
    match done {
        Ok(()) => Redirect::to(&format!("/campaigns/{id}")).into_response(),
        Err(AppError::Validation(fields)) => {
            campaign_with(state, viewer, id, fields, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => viewer.error(state, e),
    }
}
