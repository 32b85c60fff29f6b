//! `/recurring`: a buyer's recurring orders (定期订单): set one up from a listing, see each
//! with the periods it ran, change, pause, resume or end it. Sellers see the ones on their
//! listings.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use chrono::{Days, Utc};
use minijinja::{Value, context};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use super::{Viewer, errors_value};
use crate::catalog::domain::{QuantityInput, format_yuan};
use crate::catalog::entity::listing;
use crate::catalog::import::fen_of;
use crate::db::in_write_txn;
use crate::delivery::entity::delivery_method;
use crate::error::{AppError, FieldError};
use crate::http::lang::NameFor;
use crate::http::pages::shop::address_places;
use crate::http::state::AppState;
use crate::orders::recurring::{self, Every, RecurringRequest, RecurringView, Standing};
use crate::orders::request::AddressRequest;

/// Page routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/recurring", get(list_page).post(create_form))
        .route("/recurring/{id}", get(one_page).post(update_form))
        .route("/recurring/{id}/{step}", post(step_form))
}

/// `?listing_id=&province=`: the listing to set a recurring order up for, and the province
/// whose counties the address offers.
#[derive(Debug, Default, serde::Deserialize)]
pub struct NewChoice {
    listing_id: Option<i64>,
    province: Option<String>,
}

/// The recurring order form as typed.
#[derive(Debug, Default, Clone, serde::Deserialize)]
pub struct RecurringForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    listing_id: String,
    #[serde(default)]
    quantity: String,
    #[serde(default)]
    period: String,
    #[serde(default)]
    next_on: String,
    #[serde(default)]
    max_price_yuan: String,
    #[serde(default)]
    delivery_method_id: String,
    #[serde(default)]
    recipient_name: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    region_code: String,
    #[serde(default)]
    line: String,
    #[serde(default)]
    note: String,
}

impl RecurringForm {
    /// The request the form stands for; a price that is not an amount is refused by name.
    fn request(&self) -> Result<RecurringRequest, AppError> {
        let max_price_fen = match self.max_price_yuan.trim() {
            "" => None,
            yuan => Some(fen_of(yuan).ok_or_else(|| {
                AppError::Validation(
                    [(
                        "max_price_yuan".to_string(),
                        FieldError::new("invalid", "an amount in yuan, such as 4.80"),
                    )]
                    .into(),
                )
            })?),
        };
        Ok(RecurringRequest {
            listing_id: self.listing_id.trim().parse().ok(),
            quantity: Some(QuantityInput::Text(self.quantity.trim().to_string())),
            period: self.period.clone(),
            next_on: self.next_on.trim().to_string(),
            max_price_fen,
            delivery_method_id: self.delivery_method_id.trim().parse().ok(),
            unit_id: None,
            address: AddressRequest {
                recipient_name: self.recipient_name.clone(),
                phone: self.phone.clone(),
                region_code: self.region_code.clone(),
                line: self.line.clone(),
            },
            note: Some(self.note.clone()).filter(|n| !n.trim().is_empty()),
        })
    }

    /// The form showing a recurring order as it is.
    fn of(r: &RecurringView) -> RecurringForm {
        RecurringForm {
            csrf_token: String::new(),
            listing_id: r.listing_id.to_string(),
            quantity: r.quantity.to_string(),
            period: r.period.code().into(),
            next_on: r.next_on.to_string(),
            max_price_yuan: format_yuan(r.max_price_fen)
                .trim_start_matches('¥')
                .to_string(),
            delivery_method_id: r
                .delivery_method_id
                .map(|m| m.to_string())
                .unwrap_or_default(),
            recipient_name: r.recipient_name.clone(),
            phone: r.phone.clone(),
            region_code: r.region_code.clone(),
            line: r.line.clone(),
            note: r.note.clone(),
        }
    }
}

/// Field errors as the form names them: the address's fields without their `address.` and
/// the price in yuan.
fn form_errors(e: AppError) -> Result<Value, AppError> {
    match e {
        AppError::Validation(fields) => {
            let fields = fields
                .into_iter()
                .map(|(k, e)| {
                    let k = match k.strip_prefix("address.") {
                        Some(rest) => rest.to_string(),
                        None if k == "max_price_fen" => "max_price_yuan".into(),
                        None => k,
                    };
                    (k, e)
                })
                .collect();
            Ok(errors_value(&fields))
        }
        e => Err(e),
    }
}

/// What the form for `listing_id` offers: the listing, its seller's delivery methods and the
/// address's places.
async fn form_context(
    state: &AppState,
    viewer: &Viewer,
    listing_id: i64,
    form: &RecurringForm,
    province: Option<&str>,
) -> Result<Value, AppError> {
    let l = listing::Entity::find_by_id(listing_id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound("listing"))?;
    let methods: Vec<Value> = delivery_method::Entity::find()
        .filter(delivery_method::Column::OrganizationId.eq(l.organization_id))
        .order_by_asc(delivery_method::Column::Id)
        .all(&state.db)
        .await?
        .into_iter()
        .map(|m| {
            context! {
                id => m.id.to_string(),
                name => format!("{} · {}", m.kind.name_for(viewer.lang), m.name),
                on => m.id.to_string() == form.delivery_method_id,
            }
        })
        .collect();
    let places = address_places(state, viewer.lang, province, &form.region_code).await?;
    let periods: Vec<Value> = Every::ALL
        .iter()
        .map(|p| context! { code => p.code(), name => p.name_for(viewer.lang), on => p.code() == form.period })
        .collect();
    Ok(context! {
        listing => context! {
            id => l.id, title => l.title, price => format_yuan(l.price_fen),
            unit => l.unit.name_for(viewer.lang),
        },
        methods,
        places,
        periods,
        f => context! {
            listing_id => listing_id.to_string(),
            quantity => &form.quantity, next_on => &form.next_on,
            max_price_yuan => &form.max_price_yuan, recipient_name => &form.recipient_name,
            phone => &form.phone, region_code => &form.region_code, line => &form.line,
            note => &form.note,
        },
    })
}

/// A recurring order as the page shows it.
fn shown(r: &RecurringView, viewer: &Viewer) -> Value {
    let lang = viewer.lang;
    let mine = viewer.actor.as_ref().is_some_and(|a| a.id() == r.buyer_id);
    let steps: Vec<Value> = match r.status {
        Standing::Active => vec![("pause", Standing::Paused), ("end", Standing::Ended)],
        Standing::Paused => vec![("resume", Standing::Active), ("end", Standing::Ended)],
        Standing::Ended => vec![],
    }
    .into_iter()
    .filter(|_| mine)
    .map(|(code, to)| context! { code, name => step_name(to, lang) })
    .collect();
    context! {
        id => r.id, listing_id => r.listing_id, listing => &r.listing_title, seller => &r.seller_name,
        quantity => r.quantity.to_string(), unit => r.unit.name_for(lang),
        period => r.period.name_for(lang), next_on => r.next_on.to_string(),
        status => r.status.code(), status_name => r.status.name_for(lang),
        max_price => format_yuan(r.max_price_fen),
        address => format!("{} · {} · {}", r.recipient_name, r.phone, r.line),
        mine, steps,
        runs => r.runs.iter().map(|run| {
            let reason = recurring::reason_names(&run.reason);
            context! {
                period_on => run.period_on.to_string(), outcome => run.outcome.code(),
                outcome_name => run.outcome.name_for(lang), order_id => run.order_id,
                reason => if run.reason.is_empty() { "" } else if lang == super::Lang::Zh { reason.0 } else { reason.1 },
                detail => &run.detail,
            }
        }).collect::<Vec<_>>(),
    }
}

fn step_name(to: Standing, lang: super::Lang) -> &'static str {
    match (to, lang) {
        (Standing::Paused, super::Lang::Zh) => "暂停",
        (Standing::Paused, super::Lang::En) => "Pause",
        (Standing::Active, super::Lang::Zh) => "恢复",
        (Standing::Active, super::Lang::En) => "Resume",
        (Standing::Ended, super::Lang::Zh) => "结束",
        (Standing::Ended, super::Lang::En) => "End",
    }
}

/// `/recurring`: the viewer's recurring orders, and with `?listing_id=` the form to set one up.
async fn list_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<NewChoice>,
) -> Response {
    let tomorrow = crate::days::local_date(Utc::now()) + Days::new(1);
    let form = RecurringForm {
        period: Every::Weekly.code().into(),
        next_on: tomorrow.to_string(),
        ..Default::default()
    };
    list_with(&state, &viewer, q, form, Value::UNDEFINED, StatusCode::OK).await
}

async fn list_with(
    state: &AppState,
    viewer: &Viewer,
    q: NewChoice,
    mut form: RecurringForm,
    errors: Value,
    status: StatusCode,
) -> Response {
    let here = match q.listing_id {
        Some(id) => format!("/recurring?listing_id={id}"),
        None => "/recurring".into(),
    };
    let actor = match viewer.require(&here) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let found = async {
        let list = recurring::list(&state.db, actor).await?;
        let new = match q.listing_id {
            Some(id) if crate::orders::cart::require_buyer(actor).is_ok() => {
                if form.max_price_yuan.is_empty()
                    && let Some(l) = listing::Entity::find_by_id(id).one(&state.db).await?
                {
                    form.max_price_yuan = format_yuan(l.price_fen).trim_start_matches('¥').into();
                    form.quantity =
                        crate::catalog::domain::Quantity::from_milli(l.min_order_milli.max(1000))
                            .to_string();
                }
                Some(form_context(state, viewer, id, &form, q.province.as_deref()).await?)
            }
            _ => None,
        };
        Ok::<_, AppError>((list, new))
    }
    .await;
    match found {
        Ok((list, new)) => viewer.render_with(
            state,
            "recurring.html",
            context! {
                list => list.iter().map(|r| shown(r, viewer)).collect::<Vec<_>>(),
                new,
                errors,
            },
            status,
        ),
        Err(e) => viewer.error(state, e),
    }
}

/// `POST /recurring`: sets one up from the form.
async fn create_form(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<RecurringForm>,
) -> Response {
    let actor = match viewer.check_form(&state, "/recurring", &form.csrf_token) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let done = async {
        let req = form.request()?;
        in_write_txn(&state.db, async |txn| {
            recurring::create(txn, actor, &req, Utc::now()).await
        })
        .await
    }
    .await;
    match done {
        Ok(r) => Redirect::to(&format!("/recurring/{}", r.id)).into_response(),
        Err(e) => match form_errors(e) {
            Ok(errors) => {
                let q = NewChoice {
                    listing_id: form.listing_id.trim().parse().ok(),
                    province: None,
                };
                list_with(
                    &state,
                    &viewer,
                    q,
                    form,
                    errors,
                    StatusCode::UNPROCESSABLE_ENTITY,
                )
                .await
            }
            Err(e) => viewer.error(&state, e),
        },
    }
}

/// `/recurring/{id}`: one recurring order with its periods, and for its buyer the form to
/// change it and the buttons to pause, resume or end it.
async fn one_page(State(state): State<AppState>, viewer: Viewer, Path(id): Path<i64>) -> Response {
    one_with(&state, &viewer, id, None, Value::UNDEFINED, StatusCode::OK).await
}

async fn one_with(
    state: &AppState,
    viewer: &Viewer,
    id: i64,
    typed: Option<RecurringForm>,
    errors: Value,
    status: StatusCode,
) -> Response {
    let actor = match viewer.require(&format!("/recurring/{id}")) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let found = async {
        let r = recurring::find_for(&state.db, actor, id).await?;
        let r = recurring::view(&state.db, r).await?;
        let form = typed.unwrap_or_else(|| RecurringForm::of(&r));
        let edit = if r.buyer_id == actor.id() && r.status != Standing::Ended {
            Some(form_context(state, viewer, r.listing_id, &form, None).await?)
        } else {
            None
        };
        Ok::<_, AppError>((r, edit))
    }
    .await;
    match found {
        Ok((r, edit)) => viewer.render_with(
            state,
            "recurring.html",
            context! { r => shown(&r, viewer), edit, errors },
            status,
        ),
        Err(e) => viewer.error(state, e),
    }
}

/// `POST /recurring/{id}`: changes it from the form.
async fn update_form(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    Form(form): Form<RecurringForm>,
) -> Response {
    let here = format!("/recurring/{id}");
    let actor = match viewer.check_form(&state, &here, &form.csrf_token) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let done = async {
        let req = form.request()?;
        in_write_txn(&state.db, async |txn| {
            recurring::update(txn, actor, id, &req, Utc::now()).await
        })
        .await
    }
    .await;
    match done {
        Ok(_) => Redirect::to(&here).into_response(),
        Err(e) => match form_errors(e) {
            Ok(errors) => {
                one_with(
                    &state,
                    &viewer,
                    id,
                    Some(form),
                    errors,
                    StatusCode::UNPROCESSABLE_ENTITY,
                )
                .await
            }
            Err(e) => viewer.error(&state, e),
        },
    }
}

/// `POST /recurring/{id}/pause|resume|end`.
async fn step_form(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((id, step)): Path<(i64, String)>,
    Form(form): Form<super::TokenForm>,
) -> Response {
    let here = format!("/recurring/{id}");
    let actor = match viewer.check_form(&state, &here, &form.csrf_token) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let to = match step.as_str() {
        "pause" => Standing::Paused,
        "resume" => Standing::Active,
        "end" => Standing::Ended,
        _ => return viewer.error(&state, AppError::NotFound("step")),
    };
    let done = in_write_txn(&state.db, async |txn| {
        recurring::set_status(txn, actor, id, to, Utc::now()).await
    })
    .await;
    match done {
        Ok(_) => Redirect::to(&here).into_response(),
        Err(e) => viewer.error(&state, e),
    }
}
