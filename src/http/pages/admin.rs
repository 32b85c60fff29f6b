//! `/admin`: the platform admins' page: organizations waiting for approval, the newest
//! users, categories and their synonyms, and notifications that ran out of attempts.

use crate::http::lang::NameFor;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::{Value, context};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::Deserialize;

use super::{Lang, TokenForm, Viewer, errors_value};
use crate::accounts::entity::user;
use crate::catalog::categories;
use crate::catalog::domain::VerificationStatus;
use crate::catalog::entity::organization;
use crate::error::AppError;
use crate::http::api::catalog::reference::{AliasRequest, add_alias_to};
use crate::http::api::catalog::views::organization_views;
use crate::http::state::AppState;

fn require_admin(viewer: &Viewer) -> Result<(), AppError> {
    match &viewer.actor {
        Some(a) if a.is_admin() => Ok(()),
        _ => Err(AppError::Forbidden(
            "this page is for platform admins".into(),
        )),
    }
}

async fn page_with(
    state: &AppState,
    viewer: &Viewer,
    errors: Value,
    typed: Value,
    status: StatusCode,
) -> Response {
    if let Err(r) = viewer.require("/admin") {
        return *r;
    }
    if let Err(e) = require_admin(viewer) {
        return viewer.error(state, e);
    }
    let Some(actor) = viewer.actor.as_ref() else {
        return viewer.error(state, AppError::Unauthenticated);
    };
    let lang = viewer.lang;
    let found = async {
        let waiting = organization::Entity::find()
            .filter(organization::Column::Status.is_in([
                VerificationStatus::Applied.code(),
                VerificationStatus::Recommended.code(),
            ]))
            .order_by_asc(organization::Column::Id)
            .limit(100)
            .all(&state.db)
            .await?;
        let waiting = organization_views(&state.db, waiting).await?;
        let users = user::Entity::find()
            .order_by_desc(user::Column::Id)
            .limit(50)
            .all(&state.db)
            .await?;
        let cats = categories::all_with_aliases(&state.db).await?;
        let dead = crate::http::api::notify::dead_events(state, actor).await?;
        let outliers = crate::stats::prices::outliers(&state.db).await?;
        let regions = crate::catalog::regions::for_choice(&state.db).await?;
        let standing = crate::catalog::standing::recorded(&state.db).await?;
        let disputed = {
            use crate::orders::{domain::OrderStatus, entity::order};
            use sea_orm::PaginatorTrait;
            order::Entity::find()
                .filter(order::Column::Status.eq(OrderStatus::Disputed.code()))
                .count(&state.db)
                .await?
        };
        let lists = (cats, dead, outliers, regions, standing);
        Ok::<_, AppError>((waiting, users, disputed, lists))
    }
    .await;
    let (waiting, users, disputed, (cats, dead, outliers, regions, standing)) = match found {
        Ok(f) => f,
        Err(e) => return viewer.error(state, e),
    };
    let waiting: Vec<Value> = waiting
        .iter()
        .map(|o| {
            context! {
                id => o.id,
                name => &o.name,
                region => &o.region.name,
                contact => format!("{} {}", o.contact_name, o.contact_phone),
                status_name => o.status.name_for(lang),
                recommended => o.status == VerificationStatus::Recommended,
            }
        })
        .collect();
    let users: Vec<Value> = users
        .iter()
        .map(|u| {
            context! {
                id => u.id,
                username => &u.username,
                display_name => &u.display_name,
                role => &u.role,
                region => &u.region_code,
                disabled => u.disabled,
                reporter => u.reporter,
                official => u.role == crate::accounts::Role::Official,
                me => u.id == actor.id(),
                created_at => crate::stats::domain::local_date(u.created_at).to_string(),
            }
        })
        .collect();
    let categories: Vec<Value> = cats
        .iter()
        .map(|(c, aliases)| {
            context! {
                id => c.id,
                name => if lang == Lang::Zh { &c.name_zh } else { &c.name_en },
                child => c.parent_id.is_some(),
                aliases => aliases.iter().map(|a| a.alias.clone()).collect::<Vec<_>>().join("、"),
            }
        })
        .collect();
    let dead: Vec<Value> = dead
        .iter()
        .map(|d| {
            context! {
                id => d.id,
                channel => &d.channel,
                topic => &d.topic,
                attempts => d.attempts,
                last_error => &d.last_error,
            }
        })
        .collect();
    let outliers: Vec<Value> = outliers
        .iter()
        .map(|o| {
            context! {
                listing_id => o.listing_id,
                title => &o.title,
                price => crate::catalog::domain::format_yuan(o.price_fen),
                median => crate::catalog::domain::format_yuan(o.median_fen),
                unit => o.unit.name_for(lang),
                comparables => o.comparables,
                high => o.off == crate::stats::prices::Off::High,
            }
        })
        .collect();
    viewer.render_with(
        state,
        "admin.html",
        context! {
            waiting, users, categories, dead, outliers, errors, typed,
            regions => regions.iter().map(|r| context! {
                code => &r.code,
                name => if lang == Lang::Zh { &r.name } else { &r.name_en },
            }).collect::<Vec<_>>(),
            disputed,
            standing => standing.iter().map(|r| context! {
                code => &r.code,
                name => if lang == Lang::Zh { &r.name } else { &r.name_en },
                poverty_exit => r.poverty_exit,
                key => &r.assistance_key,
            }).collect::<Vec<_>>(),
        },
        status,
    )
}

/// The page again after a form was refused: each field's reason under the name the form
/// gives the field, what was typed kept.
async fn refused(
    state: &AppState,
    viewer: &Viewer,
    fields: crate::error::FieldErrors,
    name: impl Fn(&str) -> String,
    typed: Value,
) -> Response {
    let fields = fields.into_iter().map(|(k, e)| (name(&k), e)).collect();
    let errors = errors_value(&fields);
    page_with(
        state,
        viewer,
        errors,
        typed,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await
}

/// Matches every open purchase request against the whole market at once, and shows what the
/// run found.
pub async fn run_matching(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<TokenForm>,
) -> Response {
    let actor = match viewer.check_form(&state, "/admin", &form.csrf_token) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let rules = crate::matching::service::Rules::of(&state.settings);
    match crate::matching::service::run_batch(&state.db, actor, &rules).await {
        Ok(summary) => {
            let typed = context! { matched => Value::from_serialize(&summary) };
            page_with(&state, &viewer, Value::from(()), typed, StatusCode::OK).await
        }
        Err(e) => viewer.error(&state, e),
    }
}

pub async fn page(State(state): State<AppState>, viewer: Viewer) -> Response {
    page_with(
        &state,
        &viewer,
        Value::from(()),
        Value::from(()),
        StatusCode::OK,
    )
    .await
}

#[derive(Debug, Default, Deserialize)]
pub struct NoteForm {
    #[serde(default)]
    pub(super) csrf_token: String,
    #[serde(default)]
    note: String,
}

impl NoteForm {
    /// The note typed, if any.
    pub(super) fn note(&self) -> Option<String> {
        Some(self.note.trim().to_string()).filter(|n| !n.is_empty())
    }
}

/// Approves or rejects an organization's application.
pub async fn decide_organization(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((id, decision)): Path<(i64, String)>,
    Form(form): Form<NoteForm>,
) -> Response {
    super::applications::answer(&state, &viewer, "/admin", (id, &decision), &form).await
}

#[derive(Debug, Default, Deserialize)]
pub struct AliasForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    alias: String,
}

/// Adds a synonym that search then understands.
pub async fn add_alias(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    Form(form): Form<AliasForm>,
) -> Response {
    let actor = match viewer.check_form(&state, "/admin", &form.csrf_token) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let req = AliasRequest {
        alias: form.alias,
        kind: None,
    };
    match add_alias_to(&state, actor, id, req).await {
        Ok(_) => Redirect::to("/admin#categories").into_response(),
        Err(AppError::Validation(fields)) => {
            refused(
                &state,
                &viewer,
                fields,
                |k| format!("{k}-{id}"),
                Value::from(()),
            )
            .await
        }
        Err(e) => viewer.error(&state, e),
    }
}

#[derive(Debug, Default, Deserialize, serde::Serialize)]
pub struct StandingForm {
    #[serde(default, skip_serializing)]
    csrf_token: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    poverty_exit: String,
    #[serde(default)]
    assistance_key: String,
}

/// Records a county's standing under 消费帮扶 policy.
pub async fn record_standing(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<StandingForm>,
) -> Response {
    use crate::catalog::standing::{self, StandingInput};
    let actor = match viewer.check_form(&state, "/admin", &form.csrf_token) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let code = form.code.trim().to_string();
    let exit = form.poverty_exit.trim();
    let result = match exit.parse::<i32>() {
        Err(_) if !exit.is_empty() => Err(AppError::field(
            "poverty_exit",
            "not_whole",
            "a year, such as 2019",
        )),
        parsed => {
            let input = StandingInput {
                poverty_exit: parsed.ok(),
                assistance_key: Some(form.assistance_key.clone()),
            };
            crate::db::in_write_txn(&state.db, async |txn| {
                standing::record(txn, actor, &code, &input).await
            })
            .await
        }
    };
    match result {
        Ok(_) => Redirect::to("/admin#standing").into_response(),
        Err(AppError::Validation(fields)) => {
            let typed = Value::from_serialize(&form);
            refused(&state, &viewer, fields, |k| format!("standing-{k}"), typed).await
        }
        Err(e) => viewer.error(&state, e),
    }
}

/// Puts a dead notification back in line.
pub async fn retry_dead(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    Form(form): Form<TokenForm>,
) -> Response {
    let actor = match viewer.check_form(&state, "/admin", &form.csrf_token) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    match crate::http::api::notify::retry(&state, actor, id).await {
        Ok(()) => Redirect::to("/admin#dead").into_response(),
        Err(e) => viewer.error(&state, e),
    }
}

/// The new-account form's fields.
#[derive(Debug, Default, Deserialize, serde::Serialize)]
pub struct NewUserForm {
    #[serde(default, skip_serializing)]
    csrf_token: String,
    #[serde(default)]
    username: String,
    #[serde(default, skip_serializing)]
    password: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    region_code: String,
    #[serde(default)]
    organization_id: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    reporter: Option<String>,
}

/// Makes an account; errors come back beside the fields, with what was typed (but the
/// password).
pub async fn create_user(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<NewUserForm>,
) -> Response {
    let actor = match viewer.check_form(&state, "/admin", &form.csrf_token) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let blank = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
    let made = async {
        let role = crate::accounts::Role::from_code(&form.role)
            .ok_or_else(|| AppError::field("role", "unknown", "choose a role"))?;
        let organization_id = match blank(&form.organization_id) {
            None => None,
            Some(id) => Some(id.parse::<i64>().map_err(|_| {
                AppError::field(
                    "organization_id",
                    "invalid_format",
                    "an organization's number",
                )
            })?),
        };
        let req = crate::administration::CreateUserRequest {
            username: form.username.clone(),
            password: form.password.clone(),
            display_name: form.display_name.clone(),
            role,
            organization_id,
            region_code: blank(&form.region_code),
            language: None,
            email: blank(&form.email),
            reporter: Some(form.reporter.is_some()),
        };
        crate::administration::create_account(&state.db, actor, req).await
    }
    .await;
    match made {
        Ok(u) => Redirect::to(&format!("/admin#user-{}", u.id)).into_response(),
        Err(AppError::Validation(fields)) => {
            page_with(
                &state,
                &viewer,
                errors_value(&fields),
                Value::from_serialize(&form),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => viewer.error(&state, e),
    }
}

/// One change to an account: `disabled` or `reporter`, `true` or `false`.
#[derive(Debug, Default, Deserialize)]
pub struct ChangeUserForm {
    #[serde(default)]
    csrf_token: String,
    disabled: Option<bool>,
    reporter: Option<bool>,
}

/// Disables or enables an account, or makes an official reporting staff or read-only.
pub async fn change_user(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    Form(form): Form<ChangeUserForm>,
) -> Response {
    let actor = match viewer.check_form(&state, "/admin", &form.csrf_token) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let req = crate::administration::UpdateUserRequest {
        disabled: form.disabled,
        display_name: None,
        reporter: form.reporter,
    };
    match crate::administration::change_account(&state.db, actor, id, req).await {
        Ok(_) => Redirect::to(&format!("/admin#user-{id}")).into_response(),
        Err(e) => viewer.error(&state, e),
    }
}
