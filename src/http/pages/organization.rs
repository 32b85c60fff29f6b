//! `/producer/organization`: the producer's organization as the platform knows it, its staff,
//! and its member households (成员农户), whose share of sales officials follow.

use crate::http::lang::NameFor;
use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::{Value, context};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::Deserialize;

use super::{Viewer, errors_value};
use crate::accounts::entity::user;
use crate::catalog::entity::{household, organization, region};
use crate::catalog::import::fen_of;
use crate::error::{AppError, FieldError, FieldErrors};
use crate::http::api::catalog::organizations::{HouseholdRequest, add_household_to};
use crate::http::api::catalog::views::organization_views;
use crate::http::state::AppState;

/// The household form as typed.
#[derive(Debug, Default, Deserialize)]
pub struct HouseholdForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    head_name: String,
    #[serde(default)]
    region_code: String,
    #[serde(default)]
    members: String,
    #[serde(default)]
    registered: Option<String>,
    /// Percent of the organization's sales income, such as 12.5.
    #[serde(default)]
    share_percent: String,
}

async fn page_with(
    state: &AppState,
    viewer: &Viewer,
    form: &HouseholdForm,
    errors: Value,
    status: StatusCode,
) -> Response {
    let actor = match viewer.require("/producer/organization") {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let lang = viewer.lang;
    let found = async {
        let org_id = super::producer::producer_of(actor)?;
        let org = organization::Entity::find_by_id(org_id)
            .one(&state.db)
            .await?
            .ok_or(AppError::NotFound("organization"))?;
        let view = organization_views(&state.db, vec![org]).await?.remove(0);
        let staff = user::Entity::find()
            .filter(user::Column::OrganizationId.eq(org_id))
            .order_by_asc(user::Column::Id)
            .all(&state.db)
            .await?;
        let households = household::Entity::find()
            .filter(household::Column::OrganizationId.eq(org_id))
            .order_by_asc(household::Column::Id)
            .all(&state.db)
            .await?;
        let codes: Vec<String> = households.iter().map(|h| h.region_code.clone()).collect();
        let places = region::Entity::find()
            .filter(region::Column::Code.is_in(codes))
            .all(&state.db)
            .await?;
        Ok::<_, AppError>((view, staff, households, places))
    }
    .await;
    let (org, staff, households, places) = match found {
        Ok(f) => f,
        Err(e) => return viewer.error(state, e),
    };
    let percent = |bp: i32| format!("{}.{:02}%", bp / 100, bp % 100);
    let households: Vec<Value> = households
        .iter()
        .map(|h| {
            let place = places
                .iter()
                .find(|p| p.code == h.region_code)
                .map_or(h.region_code.clone(), |p| p.name.clone());
            context! {
                head_name => &h.head_name,
                place,
                members => h.members,
                registered => h.registered,
                share => percent(h.benefit_share_bp),
            }
        })
        .collect();
    let count = households.len();
    let staff: Vec<Value> = staff
        .iter()
        .map(|u| context! { username => &u.username, display_name => &u.display_name })
        .collect();
    viewer.render_with(
        state,
        "organization_profile.html",
        context! {
            o => context! {
                name => &org.name,
                kind => org.kind.name_for(lang),
                region => org.region.name_in(lang == crate::http::pages::Lang::En),
                region_code => &org.region.code,
                status => org.status.name_for(lang),
                description => &org.description,
                contact => format!("{} {}", org.contact_name, org.contact_phone),
                id => org.id,
            },
            staff,
            households,
            count,
            f => context! {
                head_name => &form.head_name,
                region_code => &form.region_code,
                members => &form.members,
                registered => form.registered.is_some(),
                share_percent => &form.share_percent,
            },
            errors,
        },
        status,
    )
}

pub async fn page(State(state): State<AppState>, viewer: Viewer) -> Response {
    page_with(
        &state,
        &viewer,
        &HouseholdForm::default(),
        Value::from(()),
        StatusCode::OK,
    )
    .await
}

pub async fn add_household(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<HouseholdForm>,
) -> Response {
    let actor = match viewer.check_form(&state, "/producer/organization", &form.csrf_token) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let mut errors = FieldErrors::new();
    let members = form.members.trim().parse::<i32>().ok();
    if members.is_none() {
        errors.insert(
            "members".into(),
            FieldError {
                code: "invalid",
                message: "a whole number of people".into(),
            },
        );
    }
    // Percent with up to two decimals is basis points the way yuan are fen.
    let share = fen_of(form.share_percent.trim()).and_then(|bp| i32::try_from(bp).ok());
    if share.is_none() {
        errors.insert(
            "share_percent".into(),
            FieldError {
                code: "invalid",
                message: "a percent such as 12.5".into(),
            },
        );
    }
    let added = match (members, share, actor.organization_id()) {
        (Some(members), Some(share), Some(org)) if errors.is_empty() => {
            let req = HouseholdRequest {
                head_name: form.head_name.clone(),
                region_code: form.region_code.trim().to_string(),
                members,
                registered: form.registered.is_some(),
                benefit_share_bp: share,
            };
            add_household_to(&state, actor, org, req).await.map(|_| ())
        }
        (_, _, None) => Err(AppError::Forbidden(
            "these pages are for producers of a cooperative or enterprise".into(),
        )),
        _ => Err(AppError::Validation(errors)),
    };
    match added {
        Ok(()) => Redirect::to("/producer/organization#households").into_response(),
        Err(AppError::Validation(fields)) => {
            let fields = super::renamed(fields, "benefit_share_bp", "share_percent");
            page_with(
                &state,
                &viewer,
                &form,
                errors_value(&fields),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => viewer.error(&state, e),
    }
}
