//! Purchase requests (采购需求) on the pages: buyers post them and answer the proposals that
//! matching makes; producers see the open requests near them and answer for their side.

use crate::http::lang::NameFor;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::{Value, context};
use serde::Deserialize;

use super::{Lang, Viewer, errors_value};
use crate::accounts::Role;
use crate::catalog::domain::{Grade, QuantityInput, Unit};
use crate::catalog::import::fen_of;
use crate::error::{AppError, AppResult, FieldError, FieldErrors};
use crate::http::state::AppState;
use crate::matching::domain::{ProposalStatus, RequestStatus};
use crate::matching::requests::{
    ProposalView, RequestInput, RequestView, changeable, post, proposals_for, request_for,
    requests_for,
};
use crate::matching::service::{self, Rules};

fn request_value(r: &RequestView, lang: Lang) -> Value {
    context! {
        id => r.id,
        title => &r.title,
        note => &r.note,
        quantity => r.quantity.to_string(),
        filled => r.filled.to_string(),
        unit => r.unit.name_for(lang),
        max_price => &r.max_price_display,
        deliver_by => r.deliver_by.to_string(),
        open => r.status == RequestStatus::Open,
        status_name => r.status.name_for(lang),
        contact => r.contact.as_ref().map(|c| format!("{} · {} · {}", c.name, c.phone, c.address_line)),
    }
}

fn proposal_value(p: &ProposalView, lang: Lang, role: Role) -> Value {
    let mine_accepted = match role {
        Role::Buyer => p.buyer_accepted,
        _ => p.producer_accepted,
    };
    context! {
        id => p.id,
        request_id => p.request_id,
        listing_id => p.listing_id,
        seller => &p.organization_name,
        quantity => p.listing_quantity.to_string(),
        unit => p.listing_unit.name_for(lang),
        amount => &p.amount_display,
        distance_km => &p.distance_km,
        status => p.status.code(),
        status_name => p.status.name_for(lang),
        can_answer => p.status == ProposalStatus::Pending && !mine_accepted,
        waiting_other => p.status == ProposalStatus::Pending && mine_accepted,
        order_id => p.order_id,
        contract_id => p.contract_id,
        window_start => p.window_start.map(|d| d.to_string()),
        window_end => p.window_end.map(|d| d.to_string()),
    }
}

/// The new-request form as typed.
#[derive(Debug, Default, Deserialize)]
pub struct RequestForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    category_id: String,
    #[serde(default)]
    unit: String,
    #[serde(default)]
    quantity: String,
    #[serde(default)]
    max_price_yuan: String,
    #[serde(default)]
    deliver_by: String,
    #[serde(default)]
    region_code: String,
    #[serde(default)]
    address_line: String,
    #[serde(default)]
    contact_name: String,
    #[serde(default)]
    contact_phone: String,
    #[serde(default)]
    note: String,
    /// The lowest grade accepted; empty for any.
    #[serde(default)]
    min_grade: String,
    #[serde(default)]
    min_fill: String,
    #[serde(default)]
    min_lot: String,
    #[serde(default)]
    max_distance_km: String,
    /// 扶贫优先, ticked or absent.
    #[serde(default)]
    prefer_benefit: Option<String>,
}

impl RequestForm {
    fn input(&self) -> Result<RequestInput, FieldErrors> {
        let mut errors = FieldErrors::new();
        let category_id = self.category_id.trim().parse::<i64>().ok();
        if category_id.is_none() {
            errors.insert(
                "category_id".into(),
                FieldError {
                    code: "required",
                    message: "choose a category".into(),
                },
            );
        }
        let max_price_fen = fen_of(self.max_price_yuan.trim());
        if max_price_fen.is_none() {
            errors.insert(
                "max_price_yuan".into(),
                FieldError {
                    code: "invalid",
                    message: "a price in yuan, such as 3.50".into(),
                },
            );
        }
        let min_grade = match self.min_grade.trim() {
            "" => None,
            code => {
                let grade = Grade::from_code(code);
                if grade.is_none() {
                    errors.insert(
                        "min_grade".into(),
                        FieldError::new("unknown_value", "a grade from the list"),
                    );
                }
                grade
            }
        };
        let max_distance_km = match self.max_distance_km.trim() {
            "" => None,
            km => {
                let parsed = km.parse::<i32>().ok();
                if parsed.is_none() {
                    errors.insert(
                        "max_distance_km".into(),
                        FieldError::new("invalid", "a whole number of kilometres"),
                    );
                }
                parsed
            }
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        let text = |s: &str| Some(s.trim().to_string());
        // A minimum left empty is none (0), on a new request and when one is changed.
        let quantity = |s: &str| {
            let s = s.trim();
            Some(QuantityInput::Text(
                if s.is_empty() { "0" } else { s }.to_string(),
            ))
        };
        Ok(RequestInput {
            title: text(&self.title),
            note: text(&self.note),
            category_id,
            unit: Unit::from_code(self.unit.trim()),
            quantity: Some(QuantityInput::Text(self.quantity.trim().to_string())),
            max_price_fen,
            region_code: text(&self.region_code),
            address_line: text(&self.address_line),
            contact_name: text(&self.contact_name),
            contact_phone: text(&self.contact_phone),
            deliver_by: text(&self.deliver_by),
            min_grade,
            min_fill: quantity(&self.min_fill),
            min_lot: quantity(&self.min_lot),
            max_distance_km,
            prefer_benefit: Some(self.prefer_benefit.is_some()),
            latitude: None,
            longitude: None,
        })
    }
}

/// What the request form needs around what was typed: the categories, the places, units and
/// grades to choose from, and the typed values.
async fn form_context(
    state: &AppState,
    lang: Lang,
    form: &RequestForm,
    province: Option<&str>,
) -> AppResult<Value> {
    let categories = super::my_listings::category_options(state, lang).await?;
    let places = super::shop::address_places(state, lang, province, &form.region_code).await?;
    let units: Vec<Value> = Unit::ALL
        .iter()
        .map(|u| context! { code => u.code(), name => u.name_for(lang) })
        .collect();
    let grades: Vec<Value> = Grade::ALL
        .iter()
        .map(|g| context! { code => g.code(), name => g.name_for(lang) })
        .collect();
    Ok(context! {
        categories,
        places,
        units,
        grades,
        f => context! {
            title => &form.title,
            category_id => &form.category_id,
            unit => if form.unit.is_empty() { "jin" } else { &form.unit },
            quantity => &form.quantity,
            max_price_yuan => &form.max_price_yuan,
            deliver_by => &form.deliver_by,
            region_code => &form.region_code,
            address_line => &form.address_line,
            contact_name => &form.contact_name,
            contact_phone => &form.contact_phone,
            note => &form.note,
            min_grade => &form.min_grade,
            min_fill => &form.min_fill,
            min_lot => &form.min_lot,
            max_distance_km => &form.max_distance_km,
            prefer_benefit => form.prefer_benefit.is_some(),
        },
    })
}

async fn list_with(
    state: &AppState,
    viewer: &Viewer,
    form: &RequestForm,
    province: Option<&str>,
    errors: Value,
    status: StatusCode,
) -> Response {
    let actor = match viewer.require("/requests") {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let lang = viewer.lang;
    let found = async {
        let requests = requests_for(&state.db, actor).await?;
        let proposals = proposals_for(&state.db, actor).await?;
        let form = if actor.role == Role::Buyer {
            form_context(state, lang, form, province).await?
        } else {
            Value::from(())
        };
        Ok::<_, AppError>((requests, proposals, form))
    }
    .await;
    let (requests, proposals, form) = match found {
        Ok(f) => f,
        Err(e) => return viewer.error(state, e),
    };
    let requests: Vec<Value> = requests.iter().map(|r| request_value(r, lang)).collect();
    let proposals: Vec<Value> = proposals
        .iter()
        .map(|p| proposal_value(p, lang, actor.role))
        .collect();
    viewer.render_with(
        state,
        "requests.html",
        context! {
            buying => actor.role == Role::Buyer,
            requests,
            proposals,
            errors,
            ..form
        },
        status,
    )
}

impl RequestForm {
    /// The form filled in with what request `r` holds now.
    fn of(r: &RequestView) -> RequestForm {
        let quantity = |q: &crate::catalog::domain::Quantity| {
            if q.milli() == 0 {
                String::new()
            } else {
                q.to_string()
            }
        };
        let contact = r.contact.as_ref();
        RequestForm {
            csrf_token: String::new(),
            title: r.title.clone(),
            category_id: r.category_id.to_string(),
            unit: r.unit.code().to_string(),
            quantity: r.quantity.to_string(),
            max_price_yuan: super::plain_yuan(r.max_price_fen),
            deliver_by: r.deliver_by.to_string(),
            region_code: r.region_code.clone(),
            address_line: contact.map(|c| c.address_line.clone()).unwrap_or_default(),
            contact_name: contact.map(|c| c.name.clone()).unwrap_or_default(),
            contact_phone: contact.map(|c| c.phone.clone()).unwrap_or_default(),
            note: r.note.clone(),
            min_grade: r.min_grade.code().to_string(),
            min_fill: quantity(&r.min_fill),
            min_lot: quantity(&r.min_lot),
            max_distance_km: r.max_distance_km.to_string(),
            prefer_benefit: r.prefer_benefit.then(|| "on".to_string()),
        }
    }
}

/// The form changing request `id`, filled with `form`, with `errors` beside its fields.
async fn edit_with(
    state: &AppState,
    viewer: &Viewer,
    (id, title): (i64, &str),
    form: &RequestForm,
    province: Option<&str>,
    errors: Value,
    status: StatusCode,
) -> Response {
    match form_context(state, viewer.lang, form, province).await {
        Ok(ctx) => viewer.render_with(
            state,
            "request_edit.html",
            context! { r => context! { id, title }, errors, ..ctx },
            status,
        ),
        Err(e) => viewer.error(state, e),
    }
}

/// `/requests/{id}/edit`: the buyer's open request in the form it was posted with.
pub async fn edit_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    Query(choice): Query<super::shop::ProvinceChoice>,
) -> Response {
    let here = format!("/requests/{id}/edit");
    let actor = match viewer.require(&here) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let found = async {
        changeable(&state.db, actor, id).await?;
        request_for(&state.db, actor, id).await
    }
    .await;
    match found {
        Ok(found) => {
            let r = &found.request;
            let form = RequestForm::of(r);
            let province = choice.province.as_deref();
            let ok = StatusCode::OK;
            let nothing = Value::from(());
            edit_with(
                &state,
                &viewer,
                (id, &r.title),
                &form,
                province,
                nothing,
                ok,
            )
            .await
        }
        Err(e) => viewer.error(&state, e),
    }
}

/// Saves the changed request: its waiting proposals are withdrawn and it is matched again.
pub async fn edit(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    Form(form): Form<RequestForm>,
) -> Response {
    let here = format!("/requests/{id}/edit");
    let actor = match viewer.check_form(&state, &here, &form.csrf_token) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let rules = Rules::of(&state.settings);
    let changed = match form.input() {
        Ok(input) => crate::matching::requests::change(&state.db, &rules, actor, id, input).await,
        Err(fields) => Err(AppError::Validation(fields)),
    };
    match changed {
        Ok(r) => Redirect::to(&format!("/requests/{}", r.request.id)).into_response(),
        Err(AppError::Validation(fields)) => {
            let fields = super::renamed(fields, "max_price_fen", "max_price_yuan");
            let title = form.title.clone();
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            let errors = errors_value(&fields);
            edit_with(&state, &viewer, (id, &title), &form, None, errors, status).await
        }
        Err(e) => viewer.error(&state, e),
    }
}

/// `/requests`: a buyer's requests and the form for a new one; for producers, the open
/// requests near them and their proposals.
pub async fn list_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(choice): Query<super::shop::ProvinceChoice>,
) -> Response {
    list_with(
        &state,
        &viewer,
        &RequestForm::default(),
        choice.province.as_deref(),
        Value::from(()),
        StatusCode::OK,
    )
    .await
}

pub async fn create(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<RequestForm>,
) -> Response {
    let actor = match viewer.check_form(&state, "/requests", &form.csrf_token) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let posted = match form.input() {
        Ok(input) => post(&state.db, &Rules::of(&state.settings), actor, input).await,
        Err(fields) => Err(AppError::Validation(fields)),
    };
    match posted {
        Ok(r) => Redirect::to(&format!("/requests/{}", r.request.id)).into_response(),
        Err(AppError::Validation(fields)) => {
            let fields = super::renamed(fields, "max_price_fen", "max_price_yuan");
            list_with(
                &state,
                &viewer,
                &form,
                None,
                errors_value(&fields),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => viewer.error(&state, e),
    }
}

/// `/requests/{id}`: one request with its proposals and the buttons to answer them.
pub async fn request_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
) -> Response {
    let actor = match viewer.require(&format!("/requests/{id}")) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    match request_for(&state.db, actor, id).await {
        Ok(found) => {
            let lang = viewer.lang;
            let proposals: Vec<Value> = found
                .proposals
                .iter()
                .map(|p| proposal_value(p, lang, actor.role))
                .collect();
            viewer.render(
                &state,
                "request.html",
                context! {
                    r => request_value(&found.request, lang),
                    proposals,
                    // Buyers see only their own requests.
                    mine => actor.role == Role::Buyer,
                },
            )
        }
        Err(e) => viewer.error(&state, e),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct AnswerForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    reason: String,
}

/// The buyer cancels an open request; its waiting proposals are withdrawn.
pub async fn cancel_request(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    Form(form): Form<super::TokenForm>,
) -> Response {
    let here = format!("/requests/{id}");
    let actor = match viewer.check_form(&state, &here, &form.csrf_token) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    match crate::matching::requests::cancel(&state.db, actor, id).await {
        Ok(_) => Redirect::to(&here).into_response(),
        Err(e) => viewer.error(&state, e),
    }
}

/// Accepts or declines a proposal for the viewer's side.
pub async fn answer(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((id, answer)): Path<(i64, String)>,
    Form(form): Form<AnswerForm>,
) -> Response {
    let actor = match viewer.check_form(&state, "/requests", &form.csrf_token) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let rules = Rules::of(&state.settings);
    let done = match answer.as_str() {
        "accept" => service::accept(&state.db, actor, id, &rules)
            .await
            .map(|a| match a {
                service::Accepted::Waiting(p) | service::Accepted::Ordered(p) => p,
            }),
        "decline" => {
            let reason: String = form.reason.trim().chars().take(500).collect();
            service::decline(&state.db, actor, id, &reason, &rules).await
        }
        _ => Err(AppError::NotFound("action")),
    };
    match done {
        Ok(p) => Redirect::to(&format!("/requests/{}", p.request_id)).into_response(),
        Err(e) => viewer.error(&state, e),
    }
}
