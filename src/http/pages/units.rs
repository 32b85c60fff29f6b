//! Buyer units on the pages: `/units` (a buyer's units and the form to apply for one; the
//! applications an official or admin decides), `/units/{id}` (the unit: its people, its
//! year's obligation and progress, the decision), and `/officials/units` (the ranking of the
//! units in an official's region, with the quarter's 完成情况表 to download).

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::{Datelike, Utc};
use minijinja::{Value, context};
use serde::Deserialize;

use crate::accounts::Role;
use crate::buyers::domain::{ObligationKind, UnitKind, UnitRole, UnitStatus};
use crate::buyers::obligations::{self, ObligationInput, ObligationView};
use crate::buyers::units::{self, MemberInput, UnitInput};
use crate::catalog::domain::format_yuan;
use crate::db::in_write_txn;
use crate::error::{AppError, FieldErrors};
use crate::http::lang::NameFor;
use crate::http::pages::{Lang, Viewer, errors_value};
use crate::http::state::AppState;
use crate::stats::units::{Progress, ProgressRow};

/// Page routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/units", get(units_page).post(apply_form))
        .route("/units/{id}", get(unit_page))
        .route("/units/{id}/decision", post(decide_form))
        .route("/units/{id}/members", post(member_form))
        .route("/units/{id}/members/{user_id}/remove", post(remove_form))
        .route("/units/{id}/obligation", post(obligation_form))
        .route("/officials/units", get(ranking_page))
        .route("/officials/help-relations", post(relation_form))
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
    parent_id: String,
    #[serde(default)]
    counts_members: Option<String>,
    #[serde(default)]
    contact_name: String,
    #[serde(default)]
    contact_phone: String,
    /// The province whose counties the form offers.
    #[serde(default)]
    province: Option<String>,
}

fn kinds(lang: Lang) -> Vec<Value> {
    UnitKind::ALL
        .iter()
        .map(|k| context! { code => k.code(), name => k.name_for(lang) })
        .collect()
}

async fn units_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(choice): Query<crate::http::pages::shop::ProvinceChoice>,
) -> Response {
    let form = ApplyForm {
        province: choice.province,
        ..ApplyForm::default()
    };
    units_with(&state, &viewer, &form, Value::from(()), StatusCode::OK).await
}

async fn units_with(
    state: &AppState,
    viewer: &Viewer,
    form: &ApplyForm,
    errors: Value,
    status: StatusCode,
) -> Response {
    let actor = match viewer.require("/units") {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let lang = viewer.lang;
    let read = async {
        let mine = units::mine(&state.db, actor).await?;
        let queue = units::queue(&state.db, actor).await?;
        let places = crate::http::pages::shop::address_places(
            state,
            lang,
            form.province.as_deref(),
            &form.region_code,
        )
        .await?;
        // Parents to choose from: the approved units of the province the form shows.
        let province = form
            .province
            .clone()
            .or_else(|| form.region_code.get(..2).map(str::to_string))
            .unwrap_or_else(|| "51".into());
        let parents = units::within(&state.db, &format!("{province:0<6}"), true).await?;
        Ok::<_, AppError>((mine, queue, places, parents))
    }
    .await;
    let (mine, queue, places, parents) = match read {
        Ok(r) => r,
        Err(e) => return viewer.error(state, e),
    };
    viewer.render_with(
        state,
        "units.html",
        context! {
            buying => actor.role == Role::Buyer,
            deciding => actor.is_admin() || actor.role == Role::Official,
            mine => mine.iter().map(|u| context! {
                id => u.id, name => &u.name, kind => u.kind.name_for(lang),
                status => u.status.name_for(lang), role => u.role.name_for(lang),
            }).collect::<Vec<_>>(),
            queue => queue.iter().map(|u| context! {
                id => u.id, name => &u.name, kind => u.kind.name_for(lang), region => &u.region_code,
            }).collect::<Vec<_>>(),
            kinds => kinds(lang),
            places,
            parents => parents.iter().map(|u| context! { id => u.id.to_string(), name => &u.name }).collect::<Vec<_>>(),
            f => context! {
                name => &form.name, kind => &form.kind, region_code => &form.region_code,
                parent_id => &form.parent_id, counts_members => form.counts_members.is_some(),
                contact_name => &form.contact_name, contact_phone => &form.contact_phone,
            },
            errors,
        },
        status,
    )
}

/// `POST /units`: applies for a unit; a refused form comes back with its errors.
async fn apply_form(
    State(state): State<AppState>,
    viewer: Viewer,
    axum::Form(form): axum::Form<ApplyForm>,
) -> Response {
    let actor = match viewer.check_form(&state, "/units", &form.csrf_token) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let parent_id = form.parent_id.trim();
    let input = UnitInput {
        name: form.name.clone(),
        kind: form.kind.clone(),
        region_code: form.region_code.clone(),
        parent_id: (!parent_id.is_empty()).then(|| parent_id.parse().unwrap_or(0)),
        counts_members: Some(form.counts_members.is_some()),
        contact_name: form.contact_name.clone(),
        contact_phone: form.contact_phone.clone(),
    };
    let done = in_write_txn(&state.db, async |txn| {
        units::apply(txn, actor, &input, Utc::now()).await
    })
    .await;
    match done {
        Ok(u) => Redirect::to(&format!("/units/{}", u.id)).into_response(),
        Err(AppError::Validation(fields)) => {
            units_with(
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

/// `?year=`.
#[derive(Debug, Default, Deserialize)]
pub struct YearChoice {
    #[serde(default)]
    year: Option<String>,
    #[serde(default)]
    region: Option<String>,
}

fn year_of(raw: Option<&str>) -> i32 {
    let now = crate::days::local_date(Utc::now()).year();
    raw.and_then(|y| y.parse().ok())
        .filter(|y| (2000..=2100).contains(y))
        .unwrap_or(now)
}

/// A unit's figures in the reader's language.
fn row_ctx(r: &ProgressRow, lang: Lang) -> Value {
    context! {
        id => r.unit_id,
        name => &r.name,
        kind => r.kind.name_for(lang),
        region => &r.region_code,
        target => r.target_fen.map(format_yuan),
        purchase => format_yuan(r.bought.purchase_fen),
        members => format_yuan(r.bought.member_fen),
        done => format_yuan(r.done_fen),
        completion => r.completion_bp.map(|bp| format!("{}.{:02}%", bp / 100, bp % 100)),
    }
}

fn progress_ctx(p: &Progress, lang: Lang) -> Value {
    context! {
        unit => row_ctx(&p.unit, lang),
        subordinates => p.subordinates.iter().map(|r| row_ctx(r, lang)).collect::<Vec<_>>(),
        with_subordinates => format_yuan(p.with_subordinates_fen),
        with_subordinates_target => format_yuan(p.with_subordinates_target_fen),
        orders => p.orders.as_ref().map(|os| os.iter().map(|o| context! {
            id => o.id,
            placed => crate::days::local_date(o.placed_at).to_string(),
            seller => &o.seller_name,
            total => format_yuan(o.total_fen),
            status => o.status.name_for(lang),
        }).collect::<Vec<_>>()),
    }
}

/// The forms on a unit's page as typed, for one that comes back refused.
#[derive(Debug, Default)]
struct Typed {
    member: Option<MemberForm>,
    obligation: Option<ObligationForm>,
}

async fn unit_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    Query(choice): Query<YearChoice>,
) -> Response {
    let year = year_of(choice.year.as_deref());
    unit_with(
        &state,
        &viewer,
        id,
        year,
        Typed::default(),
        FieldErrors::new(),
        StatusCode::OK,
    )
    .await
}

/// The obligation form filled with what was declared, if anything.
fn declared(ob: Option<&ObligationView>) -> ObligationForm {
    ObligationForm {
        kind: ob.map_or("share", |o| o.kind.code()).to_string(),
        purchases_yuan: ob
            .as_ref()
            .and_then(|o| o.purchases_fen)
            .map(super::plain_yuan)
            .unwrap_or_default(),
        share_percent: ob
            .as_ref()
            .and_then(|o| o.share_bp)
            .map(|bp| format!("{}.{:02}", bp / 100, bp % 100))
            .unwrap_or_default(),
        amount_yuan: ob
            .as_ref()
            .filter(|o| o.kind == ObligationKind::Fixed && o.per_member_fen.is_none())
            .map(|o| super::plain_yuan(o.target_fen))
            .unwrap_or_default(),
        per_member_yuan: ob
            .as_ref()
            .and_then(|o| o.per_member_fen)
            .map(super::plain_yuan)
            .unwrap_or_default(),
        members: ob
            .as_ref()
            .and_then(|o| o.members)
            .map(|n| n.to_string())
            .unwrap_or_default(),
        note: ob.map(|o| o.note.clone()).unwrap_or_default(),
        ..ObligationForm::default()
    }
}

async fn unit_with(
    state: &AppState,
    viewer: &Viewer,
    id: i64,
    year: i32,
    typed: Typed,
    errors: FieldErrors,
    status: StatusCode,
) -> Response {
    let here = format!("/units/{id}");
    let actor = match viewer.require(&here) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let lang = viewer.lang;
    let read = async {
        let view = units::view(&state.db, actor, id).await?;
        let follows = view.my_role.is_some() || units::decides(actor, &view.region_code);
        let progress = if follows && view.status == UnitStatus::Approved {
            Some(crate::stats::units::progress(&state.db, actor, id, year).await?)
        } else {
            None
        };
        Ok::<_, AppError>((view, progress))
    }
    .await;
    let (view, progress) = match read {
        Ok(r) => r,
        Err(e) => return viewer.error(state, e),
    };
    let manages = actor.is_admin() || view.my_role == Some(UnitRole::Admin);
    let ob = progress.as_ref().and_then(|p| p.unit.obligation.clone());
    let m = typed.member.unwrap_or_default();
    let o = typed.obligation.unwrap_or_else(|| declared(ob.as_ref()));
    viewer.render_with(
        state,
        "unit.html",
        context! {
            unit => context! {
                id => view.id, name => &view.name, kind => view.kind.name_for(lang),
                region => if lang == Lang::Zh { &view.region_name } else { &view.region_name_en },
                region_code => &view.region_code,
                parent => view.parent.as_ref().map(|p| context! { id => p.id, name => &p.name }),
                status => view.status.name_for(lang), approved => view.status == UnitStatus::Approved,
                counts_members => view.counts_members,
                note => &view.decision_note,
                role => view.my_role.map(|r| r.name_for(lang)),
            },
            can_decide => view.can_decide,
            manages,
            members => view.members.as_ref().map(|ms| ms.iter().map(|p| context! {
                user_id => p.user_id, username => &p.username, name => &p.display_name,
                role => p.role.name_for(lang),
            }).collect::<Vec<_>>()),
            roles => UnitRole::ALL.iter().map(|r| context! { code => r.code(), name => r.name_for(lang) }).collect::<Vec<_>>(),
            year,
            years => [year - 1, year, year + 1],
            obligation => ob.as_ref().map(|o| context! {
                kind => o.kind.name_for(lang),
                target => format_yuan(o.target_fen),
                note => &o.note,
            }),
            progress => progress.as_ref().map(|p| progress_ctx(p, lang)),
            mf => context! { username => &m.username, role => &m.role },
            of => context! {
                kind => &o.kind, purchases_yuan => &o.purchases_yuan, share_percent => &o.share_percent,
                amount_yuan => &o.amount_yuan, per_member_yuan => &o.per_member_yuan,
                members => &o.members, note => &o.note,
            },
            errors => errors_value(&errors),
        },
        status,
    )
}

/// A decision as typed.
#[derive(Debug, Default, Deserialize)]
pub struct DecisionForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    decision: String,
    #[serde(default)]
    note: String,
}

async fn decide_form(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    axum::Form(form): axum::Form<DecisionForm>,
) -> Response {
    let here = format!("/units/{id}");
    let actor = match viewer.check_form(&state, &here, &form.csrf_token) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let approve = form.decision == "approve";
    let done = in_write_txn(&state.db, async |txn| {
        units::decide(txn, actor, id, approve, Some(&form.note), Utc::now()).await
    })
    .await;
    after(&state, &viewer, id, Typed::default(), done.map(|_| ())).await
}

/// What happens after a form on a unit's page: back to the page, or the page with the
/// form's errors beside its fields.
async fn after(
    state: &AppState,
    viewer: &Viewer,
    id: i64,
    typed: Typed,
    done: Result<(), AppError>,
) -> Response {
    match done {
        Ok(()) => Redirect::to(&format!("/units/{id}")).into_response(),
        Err(AppError::Validation(fields)) => {
            let year = year_of(typed.obligation.as_ref().map(|o| o.year.as_str()));
            unit_with(
                state,
                viewer,
                id,
                year,
                typed,
                fields,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => viewer.error(state, e),
    }
}

/// Someone to add, as typed.
#[derive(Debug, Default, Deserialize)]
pub struct MemberForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    role: String,
}

async fn member_form(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    axum::Form(form): axum::Form<MemberForm>,
) -> Response {
    let here = format!("/units/{id}");
    let actor = match viewer.check_form(&state, &here, &form.csrf_token) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let input = MemberInput {
        username: form.username.clone(),
        role: form.role.clone(),
    };
    let done = in_write_txn(&state.db, async |txn| {
        units::add_member(txn, actor, id, &input, Utc::now()).await
    })
    .await;
    let typed = Typed {
        member: Some(form),
        obligation: None,
    };
    after(&state, &viewer, id, typed, done.map(|_| ())).await
}

async fn remove_form(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((id, user_id)): Path<(i64, i64)>,
    axum::Form(form): axum::Form<crate::http::pages::TokenForm>,
) -> Response {
    let here = format!("/units/{id}");
    let actor = match viewer.check_form(&state, &here, &form.csrf_token) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let done = in_write_txn(&state.db, async |txn| {
        units::remove_member(txn, actor, id, user_id).await
    })
    .await;
    after(&state, &viewer, id, Typed::default(), done).await
}

/// An obligation as typed: yuan and percent, as people write them.
#[derive(Debug, Default, Deserialize)]
pub struct ObligationForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    year: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    purchases_yuan: String,
    #[serde(default)]
    share_percent: String,
    #[serde(default)]
    amount_yuan: String,
    #[serde(default)]
    per_member_yuan: String,
    #[serde(default)]
    members: String,
    #[serde(default)]
    note: String,
}

/// Yuan as typed (up to two decimals) in fen; -1 for what is not an amount, so the check
/// names the field.
fn fen_of(raw: &str) -> Option<i64> {
    let raw = raw.trim();
    (!raw.is_empty()).then(|| crate::catalog::import::fen_of(raw).unwrap_or(-1))
}

async fn obligation_form(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    axum::Form(form): axum::Form<ObligationForm>,
) -> Response {
    let here = format!("/units/{id}");
    let actor = match viewer.check_form(&state, &here, &form.csrf_token) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let year = year_of(Some(&form.year));
    // Percent with up to two decimals, in basis points.
    let share_bp = (!form.share_percent.trim().is_empty()).then(|| {
        crate::catalog::import::fen_of(form.share_percent.trim())
            .and_then(|n| i32::try_from(n).ok())
            .unwrap_or(-1)
    });
    let input = ObligationInput {
        kind: form.kind.clone(),
        purchases_fen: fen_of(&form.purchases_yuan),
        share_bp,
        amount_fen: fen_of(&form.amount_yuan),
        per_member_fen: fen_of(&form.per_member_yuan),
        members: (!form.members.trim().is_empty())
            .then(|| form.members.trim().parse().unwrap_or(-1)),
        note: Some(form.note.clone()),
    };
    let done = in_write_txn(&state.db, async |txn| {
        obligations::declare(txn, actor, id, year, &input, Utc::now()).await
    })
    .await;
    let done = done.map(|_| ()).map_err(|e| match e {
        AppError::Validation(fields) => AppError::Validation(crate::http::pages::renamed(
            crate::http::pages::renamed(
                crate::http::pages::renamed(
                    crate::http::pages::renamed(fields, "purchases_fen", "purchases_yuan"),
                    "share_bp",
                    "share_percent",
                ),
                "amount_fen",
                "amount_yuan",
            ),
            "per_member_fen",
            "per_member_yuan",
        )),
        other => other,
    });
    let typed = Typed {
        member: None,
        obligation: Some(form),
    };
    after(&state, &viewer, id, typed, done).await
}

/// `/officials/units`: the units of the official's region, most complete first, and the
/// help relations touching it with what each helper bought.
async fn ranking_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(choice): Query<YearChoice>,
) -> Response {
    ranking_with(&state, &viewer, choice, None, StatusCode::OK).await
}

async fn ranking_with(
    state: &AppState,
    viewer: &Viewer,
    choice: YearChoice,
    errors: Option<FieldErrors>,
    status: StatusCode,
) -> Response {
    let actor = match viewer.require("/officials/units") {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let lang = viewer.lang;
    let year = year_of(choice.year.as_deref());
    let region = choice
        .region
        .clone()
        .or_else(|| actor.user.region_code.clone())
        .unwrap_or_else(|| "510000".into());
    let read = async {
        let (r, _) = crate::stats::access::readable_region(&state.db, actor, &region).await?;
        let ranking = crate::stats::units::ranking(&state.db, actor, &r.code, year).await?;
        let help = crate::stats::units::help(
            &state.db,
            actor,
            &r.code,
            crate::stats::domain::Period::Year(year),
        )
        .await?;
        Ok::<_, AppError>((r, ranking, help))
    }
    .await;
    let (r, ranking, help) = match read {
        Ok(x) => x,
        Err(e) => return viewer.error(state, e),
    };
    let today = crate::days::local_date(Utc::now());
    let quarter = if year == today.year() {
        format!("{year}Q{}", (today.month() - 1) / 3 + 1)
    } else {
        format!("{year}Q4")
    };
    viewer.render_with(
        state,
        "unit_ranking.html",
        context! {
            region => context! {
                code => &r.code,
                name => if lang == Lang::Zh { &r.name } else { &r.name_en },
            },
            year,
            years => [year - 1, year, year + 1],
            quarter,
            units => ranking.units.iter().map(|u| row_ctx(u, lang)).collect::<Vec<_>>(),
            help => help.iter().map(|h| context! {
                kind => h.relation.kind.name_for(lang),
                helper => &h.relation.helper_name,
                helped => &h.relation.helped_county_name,
                since => h.relation.starts_on.to_string(),
                until => h.relation.ends_on.map(|d| d.to_string()),
                bought => format_yuan(h.bought_fen),
                orders => h.orders,
            }).collect::<Vec<_>>(),
            help_kinds => crate::buyers::domain::HelpKind::ALL.iter()
                .map(|k| context! { code => k.code(), name => k.name_for(lang) })
                .collect::<Vec<_>>(),
            units_to_choose => ranking.units.iter()
                .map(|u| context! { id => u.unit_id, name => &u.name })
                .collect::<Vec<_>>(),
            hf => context! { helped_county_code => if r.code.len() == 6 && !r.code.ends_with("00") { r.code.as_str() } else { "" } },
            errors => errors.map(|e| errors_value(&e)),
        },
        status,
    )
}

/// A help relation as typed.
#[derive(Debug, Default, Deserialize)]
pub struct RelationForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    helper_unit_id: String,
    #[serde(default)]
    helper_region_code: String,
    #[serde(default)]
    helped_county_code: String,
    #[serde(default)]
    starts_on: String,
    #[serde(default)]
    ends_on: String,
}

/// `POST /officials/help-relations`: records a relation; back to the ranking page.
async fn relation_form(
    State(state): State<AppState>,
    viewer: Viewer,
    axum::Form(form): axum::Form<RelationForm>,
) -> Response {
    let actor = match viewer.check_form(&state, "/officials/units", &form.csrf_token) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let input = crate::buyers::relations::RelationInput {
        kind: form.kind.clone(),
        helper_unit_id: form.helper_unit_id.trim().parse().ok(),
        helper_region_code: Some(form.helper_region_code.trim().to_string())
            .filter(|c| !c.is_empty()),
        helped_county_code: form.helped_county_code.trim().to_string(),
        starts_on: form.starts_on.clone(),
        ends_on: Some(form.ends_on.clone()),
    };
    let done = in_write_txn(&state.db, async |txn| {
        crate::buyers::relations::record(txn, actor, &input, Utc::now()).await
    })
    .await;
    match done {
        Ok(_) => Redirect::to("/officials/units").into_response(),
        Err(AppError::Validation(fields)) => {
            ranking_with(
                &state,
                &viewer,
                YearChoice::default(),
                Some(fields),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => viewer.error(&state, e),
    }
}
