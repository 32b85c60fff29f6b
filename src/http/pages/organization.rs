//! `/producer/organization`: the producer's organization as the platform knows it, its staff,
//! and its member households (成员农户), whose share of sales officials follow.

use crate::http::lang::NameFor;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::{Value, context};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::Deserialize;

use super::shop::{ProvinceChoice, address_places};
use super::{Viewer, errors_value};
use crate::accounts::Role;
use crate::accounts::entity::user;
use crate::catalog::domain::{OrganizationKind, VerificationStatus};
use crate::catalog::entity::{household, organization, region};
use crate::catalog::import::fen_of;
use crate::catalog::organizations::{self, ApplyRequest};
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
                waiting => org.status != VerificationStatus::Approved
                    && org.status != VerificationStatus::Rejected,
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

/// The application form as typed.
#[derive(Debug, Default, Deserialize)]
pub struct ApplyForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    region_code: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    contact_name: String,
    #[serde(default)]
    contact_phone: String,
}

/// The application form of a producer without an organization; `province` chooses the
/// counties it offers.
async fn apply_page(
    state: &AppState,
    viewer: &Viewer,
    form: &ApplyForm,
    province: Option<&str>,
    errors: Value,
    status: StatusCode,
) -> Response {
    let lang = viewer.lang;
    let places = match address_places(state, lang, province, &form.region_code).await {
        Ok(p) => p,
        Err(e) => return viewer.error(state, e.into()),
    };
    let kinds: Vec<Value> = OrganizationKind::ALL
        .iter()
        .map(|k| context! { code => k.code(), name => k.name_for(lang) })
        .collect();
    let kind = if form.kind.is_empty() {
        OrganizationKind::Cooperative.code()
    } else {
        form.kind.as_str()
    };
    viewer.render_with(
        state,
        "organization_apply.html",
        context! {
            places,
            kinds,
            f => context! {
                name => &form.name,
                kind,
                region_code => &form.region_code,
                description => &form.description,
                contact_name => &form.contact_name,
                contact_phone => &form.contact_phone,
            },
            errors,
        },
        status,
    )
}

/// Files the application of a producer without an organization; refusals come back beside
/// their fields, and a producer who already has one is told so.
pub async fn apply(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<ApplyForm>,
) -> Response {
    let actor = match viewer.check_form(&state, "/producer/organization", &form.csrf_token) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let req = ApplyRequest {
        name: form.name.clone(),
        kind: form.kind.clone(),
        region_code: form.region_code.trim().to_string(),
        description: Some(form.description.clone()),
        contact_name: form.contact_name.clone(),
        contact_phone: form.contact_phone.clone(),
    };
    match organizations::submit(&state.db, actor, req).await {
        Ok(_) => Redirect::to("/producer/organization").into_response(),
        Err(AppError::Validation(fields)) => {
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            apply_page(&state, &viewer, &form, None, errors_value(&fields), status).await
        }
        Err(e) => viewer.error(&state, e),
    }
}

/// `/producer/organization`: the organization, or the form to apply for one.
pub async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(choice): Query<ProvinceChoice>,
) -> Response {
    if let Some(a) = &viewer.actor
        && a.role == Role::Producer
        && a.organization_id().is_none()
    {
        let form = ApplyForm::default();
        let province = choice.province.as_deref();
        return apply_page(
            &state,
            &viewer,
            &form,
            province,
            Value::from(()),
            StatusCode::OK,
        )
        .await;
    }
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
