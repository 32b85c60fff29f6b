//! `/contracts`: season contracts (订单农业). A buyer proposes one from a listing's page; the
//! cooperative signs or declines it and records the deposit; either side calls deliveries
//! within the window and both follow them. `/officials/contracts`: what contracts cover in the
//! official's region.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use chrono::{Datelike, Utc};
use minijinja::{Value, context};
use sea_orm::EntityTrait;

use super::{Lang, Viewer, errors_value, yuan};
use crate::catalog::domain::{QuantityInput, format_yuan};
use crate::catalog::entity::{category, listing};
use crate::contracts::{
    self, ContractRequest, ContractStatus, ContractView, DeliveryRequest, DepositRequest, Pricing,
};
use crate::db::in_write_txn;
use crate::error::{AppError, FieldErrors};
use crate::http::lang::NameFor;
use crate::http::pages::shop::address_places;
use crate::http::state::AppState;
use crate::orders::request::AddressRequest;

/// Page routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/contracts", get(list_page).post(propose_form))
        .route("/contracts/{id}", get(one_page))
        .route("/contracts/{id}/deposit", post(deposit_form))
        .route("/contracts/{id}/deliveries", post(delivery_form))
        .route("/contracts/{id}/{step}", post(step_form))
        .route("/officials/contracts", get(coverage_page))
}

/// `?listing_id=&province=`: the listing to propose a contract for, and the province whose
/// counties the address offers.
#[derive(Debug, Default, serde::Deserialize)]
pub struct NewChoice {
    listing_id: Option<i64>,
    province: Option<String>,
}

/// The proposal form as typed: prices in yuan.
#[derive(Debug, Default, Clone, serde::Deserialize)]
pub struct ContractForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    listing_id: String,
    #[serde(default)]
    quantity: String,
    #[serde(default)]
    window_start: String,
    #[serde(default)]
    window_end: String,
    #[serde(default)]
    pricing: String,
    #[serde(default)]
    price_yuan: String,
    #[serde(default)]
    deposit_yuan: String,
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

impl ContractForm {
    fn request(&self) -> Result<ContractRequest, AppError> {
        let mut errors = FieldErrors::new();
        let price_fen = yuan("price_yuan", &self.price_yuan, &mut errors);
        let deposit_fen = yuan("deposit_yuan", &self.deposit_yuan, &mut errors);
        if !errors.is_empty() {
            return Err(AppError::Validation(errors));
        }
        Ok(ContractRequest {
            listing_id: self.listing_id.trim().parse().unwrap_or_default(),
            quantity: Some(QuantityInput::Text(self.quantity.trim().to_string())),
            window_start: self.window_start.clone(),
            window_end: self.window_end.clone(),
            pricing: self.pricing.clone(),
            price_fen,
            deposit_fen,
            address: AddressRequest {
                recipient_name: self.recipient_name.clone(),
                phone: self.phone.clone(),
                region_code: self.region_code.clone(),
                line: self.line.clone(),
            },
            note: Some(self.note.clone()).filter(|n| !n.trim().is_empty()),
        })
    }
}

/// Field errors as the forms name them: the address's without `address.`, money in yuan.
fn form_errors(fields: FieldErrors) -> Value {
    let fields: FieldErrors = fields
        .into_iter()
        .map(|(k, e)| {
            let k = match k.as_str() {
                "price_fen" => "price_yuan".to_string(),
                "deposit_fen" => "deposit_yuan".to_string(),
                "amount_fen" => "amount_yuan".to_string(),
                other => other.strip_prefix("address.").unwrap_or(other).to_string(),
            };
            (k, e)
        })
        .collect();
    errors_value(&fields)
}

/// A contract as the pages show it.
fn shown(c: &ContractView, viewer: &Viewer) -> Value {
    let lang = viewer.lang;
    let actor = viewer.actor.as_ref();
    let is_buyer = actor.is_some_and(|a| a.id() == c.buyer_id);
    let is_seller = actor.is_some_and(|a| a.organization_id() == Some(c.organization_id));
    let proposed = c.status == ContractStatus::Proposed;
    let signed = c.status == ContractStatus::Signed;
    let mut steps = Vec::new();
    if proposed && is_seller {
        steps.push(context! { code => "sign", name => step_name("sign", lang) });
        steps.push(context! { code => "decline", name => step_name("decline", lang) });
    }
    if proposed && is_buyer {
        steps.push(context! { code => "cancel", name => step_name("cancel", lang) });
    }
    context! {
        id => c.id, title => &c.title, listing_id => c.listing_id, buyer => &c.buyer_name,
        seller => &c.seller_name, unit => c.unit.name_for(lang), grade => c.grade.name_for(lang),
        quantity => c.quantity.to_string(), delivered => c.delivered.to_string(),
        remaining => c.remaining.to_string(),
        window => format!("{} – {}", c.window_start, c.window_end),
        pricing => c.pricing.name_for(lang), price => format_yuan(c.price_fen),
        value => format_yuan(c.value_fen), delivered_value => format_yuan(c.delivered_fen),
        deposit => format_yuan(c.deposit_fen), deposit_paid => format_yuan(c.deposit_paid_fen),
        deposit_paid_on => c.deposit_paid_on.map(|d| d.to_string()),
        status => c.status.code(), status_name => c.status.name_for(lang),
        address => format!("{} · {} · {}", c.recipient_name, c.phone, c.line),
        note => &c.note, steps,
        may_deposit => signed && is_seller && c.deposit_fen > 0,
        may_deliver => signed && (is_buyer || is_seller),
        deliveries => c.deliveries.iter().map(|d| context! {
            order_id => d.order_id, status => d.status.name_for(lang),
            placed_at => d.placed_at.with_timezone(&crate::days::china()).format("%Y-%m-%d").to_string(),
            price => format_yuan(d.unit_price_fen), quantity => d.quantity.to_string(),
            received => d.received.map(|q| q.to_string()), goods => format_yuan(d.goods_fen),
            refund => (d.refund_fen > 0).then(|| format_yuan(d.refund_fen)),
        }).collect::<Vec<_>>(),
    }
}

fn step_name(step: &str, lang: Lang) -> &'static str {
    match (step, lang) {
        ("sign", Lang::Zh) => "签约",
        ("sign", Lang::En) => "Sign",
        ("decline", Lang::Zh) => "拒绝",
        ("decline", Lang::En) => "Decline",
        (_, Lang::Zh) => "撤回",
        (_, Lang::En) => "Withdraw",
    }
}

/// `/contracts`: the viewer's contracts, and with `?listing_id=` the form to propose one.
async fn list_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<NewChoice>,
) -> Response {
    let form = ContractForm {
        pricing: Pricing::Fixed.code().into(),
        ..Default::default()
    };
    list_with(&state, &viewer, q, form, Value::UNDEFINED, StatusCode::OK).await
}

async fn list_with(
    state: &AppState,
    viewer: &Viewer,
    q: NewChoice,
    mut form: ContractForm,
    errors: Value,
    status: StatusCode,
) -> Response {
    let here = match q.listing_id {
        Some(id) => format!("/contracts?listing_id={id}"),
        None => "/contracts".into(),
    };
    let actor = match viewer.require(&here) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let found = async {
        let list = contracts::list(&state.db, actor).await?;
        let new = match q.listing_id {
            Some(id) if crate::orders::cart::require_buyer(actor).is_ok() => {
                let l = listing::Entity::find_by_id(id)
                    .one(&state.db)
                    .await?
                    .ok_or(AppError::NotFound("listing"))?;
                if form.price_yuan.is_empty() {
                    form.price_yuan = format_yuan(l.price_fen).trim_start_matches('¥').into();
                }
                form.listing_id = id.to_string();
                let places =
                    address_places(state, viewer.lang, q.province.as_deref(), &form.region_code)
                        .await?;
                let pricings: Vec<Value> = Pricing::ALL
                    .iter()
                    .map(|p| context! { code => p.code(), name => p.name_for(viewer.lang), on => p.code() == form.pricing })
                    .collect();
                Some(context! {
                    listing => context! { id => l.id, title => l.title, unit => l.unit.name_for(viewer.lang), price => format_yuan(l.price_fen) },
                    places, pricings,
                    f => context! {
                        listing_id => &form.listing_id, quantity => &form.quantity,
                        window_start => &form.window_start, window_end => &form.window_end,
                        price_yuan => &form.price_yuan, deposit_yuan => &form.deposit_yuan,
                        recipient_name => &form.recipient_name, phone => &form.phone,
                        region_code => &form.region_code, line => &form.line, note => &form.note,
                    },
                })
            }
            _ => None,
        };
        Ok::<_, AppError>((list, new))
    }
    .await;
    match found {
        Ok((list, new)) => viewer.render_with(
            state,
            "contracts.html",
            context! { list => list.iter().map(|c| shown(c, viewer)).collect::<Vec<_>>(), new, errors },
            status,
        ),
        Err(e) => viewer.error(state, e),
    }
}

/// `POST /contracts`: proposes one from the form.
async fn propose_form(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<ContractForm>,
) -> Response {
    let actor = match viewer.check_form(&state, "/contracts", &form.csrf_token) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let done = async {
        let req = form.request()?;
        in_write_txn(&state.db, async |txn| {
            contracts::propose(txn, actor, &req, Utc::now()).await
        })
        .await
    }
    .await;
    match done {
        Ok(c) => Redirect::to(&format!("/contracts/{}", c.id)).into_response(),
        Err(AppError::Validation(fields)) => {
            let q = NewChoice {
                listing_id: form.listing_id.trim().parse().ok(),
                province: None,
            };
            let errors = form_errors(fields);
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
    }
}

/// `/contracts/{id}`: one contract with its deliveries and the steps the viewer may take.
async fn one_page(State(state): State<AppState>, viewer: Viewer, Path(id): Path<i64>) -> Response {
    one_with(&state, &viewer, id, Value::UNDEFINED, StatusCode::OK).await
}

async fn one_with(
    state: &AppState,
    viewer: &Viewer,
    id: i64,
    errors: Value,
    status: StatusCode,
) -> Response {
    let actor = match viewer.require(&format!("/contracts/{id}")) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let found = async {
        let c = contracts::find_for(&state.db, actor, id).await?;
        contracts::view(&state.db, c).await
    }
    .await;
    match found {
        Ok(c) => viewer.render_with(
            state,
            "contracts.html",
            context! {
                c => shown(&c, viewer),
                today => crate::days::local_date(Utc::now()).to_string(),
                errors,
            },
            status,
        ),
        Err(e) => viewer.error(state, e),
    }
}

/// Back to the contract once a step is done; a refused form comes back beside its fields.
async fn answer<T>(
    state: &AppState,
    viewer: &Viewer,
    id: i64,
    done: Result<T, AppError>,
) -> Response {
    match done {
        Ok(_) => Redirect::to(&format!("/contracts/{id}")).into_response(),
        Err(AppError::Validation(fields)) => {
            one_with(
                state,
                viewer,
                id,
                form_errors(fields),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => viewer.error(state, e),
    }
}

/// `POST /contracts/{id}/sign|decline|cancel`.
async fn step_form(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((id, step)): Path<(i64, String)>,
    Form(form): Form<super::TokenForm>,
) -> Response {
    let here = format!("/contracts/{id}");
    let actor = match viewer.check_form(&state, &here, &form.csrf_token) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let to = match step.as_str() {
        "sign" => ContractStatus::Signed,
        "decline" => ContractStatus::Declined,
        "cancel" => ContractStatus::Cancelled,
        _ => return viewer.error(&state, AppError::NotFound("step")),
    };
    let done = in_write_txn(&state.db, async |txn| {
        contracts::decide(txn, actor, id, to, Utc::now()).await
    })
    .await;
    answer(&state, &viewer, id, done).await
}

/// The deposit form: yuan and the day paid.
#[derive(Debug, Default, serde::Deserialize)]
pub struct DepositForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    amount_yuan: String,
    #[serde(default)]
    paid_on: String,
}

/// `POST /contracts/{id}/deposit`.
async fn deposit_form(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    Form(form): Form<DepositForm>,
) -> Response {
    let here = format!("/contracts/{id}");
    let actor = match viewer.check_form(&state, &here, &form.csrf_token) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let mut errors = FieldErrors::new();
    let amount_fen = yuan("amount_yuan", &form.amount_yuan, &mut errors);
    let done = if errors.is_empty() {
        let req = DepositRequest {
            amount_fen,
            paid_on: form.paid_on.clone(),
        };
        in_write_txn(&state.db, async |txn| {
            contracts::record_deposit(txn, actor, id, &req, Utc::now()).await
        })
        .await
        .map(|_| ())
    } else {
        Err(AppError::Validation(errors))
    };
    answer(&state, &viewer, id, done).await
}

/// The delivery form: a quantity.
#[derive(Debug, Default, serde::Deserialize)]
pub struct DeliveryForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    quantity: String,
}

/// `POST /contracts/{id}/deliveries`: places the delivery's order, then shows the contract.
async fn delivery_form(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    Form(form): Form<DeliveryForm>,
) -> Response {
    let here = format!("/contracts/{id}");
    let actor = match viewer.check_form(&state, &here, &form.csrf_token) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let req = DeliveryRequest {
        quantity: Some(QuantityInput::Text(form.quantity.trim().to_string())),
    };
    let done = in_write_txn(&state.db, async |txn| {
        contracts::deliver(txn, actor, id, &req, Utc::now()).await
    })
    .await;
    answer(&state, &viewer, id, done).await
}

/// `?region=&year=`: the region (the official's own by default) and year of the coverage.
#[derive(Debug, Default, serde::Deserialize)]
pub struct CoverageChoice {
    region: Option<String>,
    year: Option<i32>,
}

/// `/officials/contracts`: 订单农业覆盖 in the official's region, per county and product.
async fn coverage_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<CoverageChoice>,
) -> Response {
    let actor = match viewer.require("/officials/contracts") {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let found =
        async {
            let code = q
                .region
                .clone()
                .or_else(|| actor.user.region_code.clone())
                .unwrap_or_else(|| "510000".into());
            let (region, _) =
                crate::stats::access::readable_region(&state.db, actor, &code).await?;
            let year = q
                .year
                .unwrap_or_else(|| crate::days::local_date(Utc::now()).year());
            let cover =
                crate::contracts::coverage::of_region(&state.db, &region.code, year).await?;
            let categories = category::Entity::find().all(&state.db).await?;
            let counties = crate::catalog::entity::region::Entity::find()
                .all(&state.db)
                .await?;
            let lang = viewer.lang;
            let name_of = |code: &str| {
                counties
                    .iter()
                    .find(|r| r.code == code)
                    .map(|r| {
                        if lang == Lang::Zh {
                            r.name.clone()
                        } else {
                            r.name_en.clone()
                        }
                    })
                    .unwrap_or_else(|| code.to_string())
            };
            let rows: Vec<Value> = cover
            .rows
            .iter()
            .map(|r| {
                let category = categories
                    .iter()
                    .find(|c| c.id == r.category_id)
                    .map(|c| if lang == Lang::Zh { c.name_zh.clone() } else { c.name_en.clone() })
                    .unwrap_or_default();
                context! {
                    county => name_of(&r.county_code), category, contracts => r.contracts,
                    quantity => format!("{} {}", r.quantity, r.unit.name_for(lang)),
                    value => format_yuan(r.value_fen), delivered => format_yuan(r.delivered_fen),
                    households => r.households,
                }
            })
            .collect();
            Ok::<_, AppError>(context! {
                coverage => context! {
                    region => name_of(&region.code), code => region.code, year,
                    contracts => cover.contracts, value => format_yuan(cover.value_fen),
                    delivered => format_yuan(cover.delivered_fen), households => cover.households,
                    rows,
                },
            })
        }
        .await;
    match found {
        Ok(ctx) => viewer.render(&state, "contracts.html", ctx),
        Err(e) => viewer.error(&state, e),
    }
}
