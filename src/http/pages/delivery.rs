//! `/producer/delivery`: a seller's delivery methods (add, change, delete) with their rate
//! tables, and what each of its listings needs to travel.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use minijinja::{Value, context};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use super::{Lang, TokenForm, Viewer, errors_value, yuan};
use crate::catalog::domain::{RegionLevel, format_yuan};
use crate::catalog::entity::{listing, region};
use crate::catalog::import::fen_of;
use crate::db::in_write_txn;
use crate::delivery::freight::{MethodKind, Rate};
use crate::delivery::methods::{self, MethodRequest, MethodView, Shipping};
use crate::error::{AppError, FieldError, FieldErrors};
use crate::http::lang::NameFor;
use crate::http::state::AppState;

const HERE: &str = "/producer/delivery";

/// Page routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(HERE, get(delivery_page).post(create_form))
        .route("/producer/delivery/{id}", get(edit_page).post(update_form))
        .route("/producer/delivery/{id}/delete", post(delete_form))
        .route("/producer/listings/{id}/shipping", post(shipping_form))
        .route("/producer/packing", get(packing_page))
}

/// `?day=&print=`: the day of a packing list, and whether to show it for printing.
#[derive(Debug, Default, serde::Deserialize)]
pub struct PackingChoice {
    #[serde(default)]
    day: Option<String>,
    #[serde(default)]
    print: Option<String>,
}

/// `/producer/packing`: the day's packing list and pick list, with their downloads; `print=1`
/// shows them alone, for paper.
async fn packing_page(
    State(state): State<AppState>,
    viewer: Viewer,
    axum::extract::Query(q): axum::extract::Query<PackingChoice>,
) -> Response {
    let actor = match viewer.require("/producer/packing") {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let list = async {
        let day = crate::http::api::delivery::day_of(q.day.as_deref())?;
        crate::fulfilment::packing::for_day(&state.db, actor, day).await
    }
    .await;
    let list = match list {
        Ok(l) => l,
        Err(e) => return viewer.error(&state, e),
    };
    let lang = viewer.lang;
    let when = |t: chrono::DateTime<chrono::Utc>| {
        t.with_timezone(&crate::days::china())
            .format("%m-%d %H:%M")
            .to_string()
    };
    viewer.render(
        &state,
        "packing.html",
        context! {
            day => list.day.to_string(),
            print => q.print.is_some(),
            orders => list.orders.iter().map(|o| context! {
                id => o.order_id, status => o.status.name_for(lang), placed_at => when(o.placed_at),
                recipient => &o.recipient_name, phone => &o.recipient_phone,
                region => if lang == Lang::Zh { &o.address_region_name } else { &o.address_region_name_en },
                address => &o.address_line, note => &o.note,
                delivery => o.delivery.as_ref().map(|d| format!("{} · {}", d.kind.name_for(lang), d.name)),
                lines => o.lines.iter().map(|l| context! { title => &l.title, quantity => l.quantity.to_string(), unit => l.unit.name_for(lang) }).collect::<Vec<_>>(),
            }).collect::<Vec<_>>(),
            picks => list.picks.iter().map(|p| context! {
                title => &p.title, unit => p.unit.name_for(lang), quantity => p.quantity.to_string(), orders => p.orders,
                uncovered => (p.uncovered > crate::catalog::domain::Quantity::default()).then(|| p.uncovered.to_string()),
                lots => p.lots.iter().map(|l| context! { code => &l.code, harvested_on => l.harvested_on.to_string(), take => l.take.to_string(), left => l.left.to_string() }).collect::<Vec<_>>(),
            }).collect::<Vec<_>>(),
        },
    )
}

/// The method form as typed.
#[derive(Debug, Default, Clone, serde::Deserialize)]
pub struct MethodForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    cold_chain: Option<String>,
    #[serde(default)]
    fee_yuan: String,
    #[serde(default)]
    cold_surcharge_yuan: String,
    #[serde(default)]
    area: String,
    #[serde(default)]
    radius_km: String,
    #[serde(default)]
    region_code: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    hours: String,
    #[serde(default)]
    min_weight_kg: String,
    #[serde(default)]
    rates: String,
}

/// A whole number typed on a form: empty is `None`.
fn whole(field: &str, raw: &str, errors: &mut FieldErrors) -> Option<i64> {
    let raw = raw.trim();
    if raw.is_empty() {
        return None;
    }
    raw.parse::<i64>().map(Some).unwrap_or_else(|_| {
        errors.insert(field.into(), FieldError::new("invalid", "a whole number"));
        None
    })
}

impl MethodForm {
    /// The request the form stands for, with what could not even be read as errors.
    fn request(&self, provinces: &[region::Model]) -> (MethodRequest, FieldErrors) {
        let mut errors = FieldErrors::new();
        let rates = self.parse_rates(provinces, &mut errors);
        let req = MethodRequest {
            kind: self.kind.clone(),
            name: self.name.clone(),
            cold_chain: self.cold_chain.is_some(),
            fee_fen: yuan("fee_yuan", &self.fee_yuan, &mut errors),
            cold_surcharge_fen: yuan(
                "cold_surcharge_yuan",
                &self.cold_surcharge_yuan,
                &mut errors,
            ),
            area: self
                .area
                .split(|c: char| c.is_whitespace() || c == ',' || c == '，' || c == '、')
                .filter(|c| !c.is_empty())
                .map(str::to_string)
                .collect(),
            radius_km: whole("radius_km", &self.radius_km, &mut errors)
                .map(|km| i32::try_from(km).unwrap_or(i32::MAX)),
            region_code: self.region_code.trim().to_string(),
            address: self.address.clone(),
            hours: self.hours.clone(),
            min_weight_g: whole("min_weight_kg", &self.min_weight_kg, &mut errors)
                .map_or(0, |kg| kg.saturating_mul(1000)),
            rates,
        };
        (req, errors)
    }

    /// The rate table's lines: province (code, name, or 其他/other for the default row), first
    /// weight in grams, its fee in yuan, step in grams, its fee in yuan.
    fn parse_rates(&self, provinces: &[region::Model], errors: &mut FieldErrors) -> Vec<Rate> {
        let mut rates = Vec::new();
        for (n, line) in self.rates.lines().enumerate() {
            let parts: Vec<&str> = line
                .split(|c: char| c.is_whitespace() || c == ',' || c == '，')
                .filter(|p| !p.is_empty())
                .collect();
            if parts.is_empty() {
                continue;
            }
            let bad = |why: &str| FieldError::new("invalid", format!("line {}: {why}", n + 1));
            let [place, first_g, first, step_g, step] = parts[..] else {
                errors.insert("rates".into(), bad("give five values"));
                continue;
            };
            let province_code = match place {
                "其他" | "other" | "*" | "默认" => String::new(),
                code if code.bytes().all(|b| b.is_ascii_digit()) => code.to_string(),
                name => match provinces.iter().find(|p| {
                    p.name == name
                        || p.name.starts_with(name)
                        || p.name_en.eq_ignore_ascii_case(name)
                }) {
                    Some(p) => p.code.clone(),
                    None => {
                        errors.insert("rates".into(), bad("an unknown province"));
                        continue;
                    }
                },
            };
            let grams = |g: &str| g.parse::<i64>().ok();
            match (grams(first_g), fen_of(first), grams(step_g), fen_of(step)) {
                (
                    Some(first_weight_g),
                    Some(first_fee_fen),
                    Some(step_weight_g),
                    Some(step_fee_fen),
                ) => rates.push(Rate {
                    province_code,
                    first_weight_g,
                    first_fee_fen,
                    step_weight_g,
                    step_fee_fen,
                }),
                _ => {
                    errors.insert("rates".into(), bad("weights in whole grams, fees in yuan"));
                }
            }
        }
        rates
    }

    /// The form showing a method as it is.
    fn of(m: &MethodView, provinces: &[region::Model]) -> MethodForm {
        let yuan = |fen: i64| {
            if fen == 0 {
                String::new()
            } else {
                format!("{}.{:02}", fen / 100, fen % 100)
            }
        };
        let rates = m
            .rates
            .iter()
            .map(|r| {
                let place = provinces
                    .iter()
                    .find(|p| p.code == r.province_code)
                    .map_or_else(|| "其他".to_string(), |p| p.name.clone());
                format!(
                    "{place} {} {} {} {}",
                    r.first_weight_g,
                    format_yuan(r.first_fee_fen).trim_start_matches('¥'),
                    r.step_weight_g,
                    format_yuan(r.step_fee_fen).trim_start_matches('¥'),
                )
            })
            .collect::<Vec<_>>()
            .join("\n");
        MethodForm {
            csrf_token: String::new(),
            kind: m.kind.code().into(),
            name: m.name.clone(),
            cold_chain: m.cold_chain.then(|| "on".into()),
            fee_yuan: yuan(m.fee_fen),
            cold_surcharge_yuan: yuan(m.cold_surcharge_fen),
            area: m.area.join(" "),
            radius_km: m.radius_km.map(|k| k.to_string()).unwrap_or_default(),
            region_code: m.region_code.clone(),
            address: m.address.clone(),
            hours: m.hours.clone(),
            min_weight_kg: if m.min_weight_g == 0 {
                String::new()
            } else {
                (m.min_weight_g / 1000).to_string()
            },
            rates,
        }
    }
}

async fn provinces(state: &AppState) -> Result<Vec<region::Model>, sea_orm::DbErr> {
    region::Entity::find()
        .filter(region::Column::Level.eq(RegionLevel::Province as i16))
        .order_by_asc(region::Column::Code)
        .all(&state.db)
        .await
}

fn method_value(m: &MethodView, lang: Lang, provinces: &[region::Model]) -> Value {
    let place = |code: &str| {
        provinces.iter().find(|p| p.code == code).map_or_else(
            || "其他 · other".to_string(),
            |p| match lang {
                Lang::Zh => p.name.clone(),
                Lang::En => p.name_en.clone(),
            },
        )
    };
    context! {
        id => m.id,
        kind => m.kind.name_for(lang),
        name => &m.name,
        cold_chain => m.cold_chain,
        fee => format_yuan(m.fee_fen),
        cold_surcharge => format_yuan(m.cold_surcharge_fen),
        area => m.area.join(" "),
        radius_km => m.radius_km,
        address => &m.address,
        hours => &m.hours,
        min_weight_kg => m.min_weight_g / 1000,
        express => m.kind == MethodKind::Express,
        rates => m.rates.iter().map(|r| context! {
            place => place(&r.province_code),
            first_weight_g => r.first_weight_g,
            first => format_yuan(r.first_fee_fen),
            step_weight_g => r.step_weight_g,
            step => format_yuan(r.step_fee_fen),
        }).collect::<Vec<_>>(),
    }
}

/// The page: the methods, the form (a new method, or `editing` one), the listings' needs.
async fn page_with(
    state: &AppState,
    viewer: &Viewer,
    editing: Option<i64>,
    form: Option<MethodForm>,
    errors: Value,
    status: StatusCode,
) -> Response {
    let here = editing.map_or_else(|| HERE.to_string(), |id| format!("{HERE}/{id}"));
    let actor = match viewer.require(&here) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let read = async {
        let org = methods::sellers_org(actor)?;
        let methods = methods::list(&state.db, org).await?;
        let provinces = provinces(state).await?;
        let listings = listing::Entity::find()
            .filter(listing::Column::OrganizationId.eq(org))
            .filter(listing::Column::DeletedAt.is_null())
            .order_by_asc(listing::Column::Id)
            .all(&state.db)
            .await?;
        let ids: Vec<i64> = listings.iter().map(|l| l.id).collect();
        let shipping = methods::shipping_of(&state.db, &ids).await?;
        Ok::<_, AppError>((methods, provinces, listings, shipping))
    }
    .await;
    let (methods, provinces, listings, shipping) = match read {
        Ok(r) => r,
        Err(e) => return viewer.error(state, e),
    };
    let form = match (form, editing) {
        (Some(f), _) => f,
        (None, Some(id)) => match methods.iter().find(|m| m.id == id) {
            Some(m) => MethodForm::of(m, &provinces),
            None => return viewer.error(state, AppError::NotFound("delivery method")),
        },
        (None, None) => MethodForm {
            kind: "express".into(),
            ..MethodForm::default()
        },
    };
    let lang = viewer.lang;
    viewer.render_with(
        state,
        "delivery.html",
        context! {
            methods => methods.iter().map(|m| method_value(m, lang, &provinces)).collect::<Vec<_>>(),
            kinds => MethodKind::ALL.iter().map(|k| context! { code => k.code(), name => k.name_for(lang), on => k.code() == form.kind }).collect::<Vec<_>>(),
            action => here,
            editing,
            f => context! {
                name => &form.name, cold_chain => form.cold_chain.is_some(), fee_yuan => &form.fee_yuan,
                cold_surcharge_yuan => &form.cold_surcharge_yuan, area => &form.area, radius_km => &form.radius_km,
                region_code => &form.region_code, address => &form.address, hours => &form.hours,
                min_weight_kg => &form.min_weight_kg, rates => &form.rates,
            },
            listings => listings.iter().map(|l| {
                let s = shipping.get(&l.id).cloned().unwrap_or_default();
                context! { id => l.id, title => &l.title, unit => l.unit.name_for(lang), piece => l.unit == crate::catalog::domain::Unit::Piece,
                    cold_chain => s.cold_chain, piece_weight_g => s.piece_weight_g }
            }).collect::<Vec<_>>(),
            errors,
        },
        status,
    )
}

async fn delivery_page(State(state): State<AppState>, viewer: Viewer) -> Response {
    page_with(&state, &viewer, None, None, Value::from(()), StatusCode::OK).await
}

async fn edit_page(State(state): State<AppState>, viewer: Viewer, Path(id): Path<i64>) -> Response {
    page_with(
        &state,
        &viewer,
        Some(id),
        None,
        Value::from(()),
        StatusCode::OK,
    )
    .await
}

/// Adds or changes a method from the form; a refused form comes back beside its fields, the
/// rate table's rows folded into the table's field.
async fn save(state: AppState, viewer: Viewer, editing: Option<i64>, form: MethodForm) -> Response {
    let here = editing.map_or_else(|| HERE.to_string(), |id| format!("{HERE}/{id}"));
    let actor = match viewer.check_form(&state, &here, &form.csrf_token) {
        Ok(a) => a.clone(),
        Err(r) => return *r,
    };
    let provinces = match provinces(&state).await {
        Ok(p) => p,
        Err(e) => return viewer.error(&state, e.into()),
    };
    let (req, mut errors) = form.request(&provinces);
    let done = if errors.is_empty() {
        in_write_txn(&state.db, async |txn| match editing {
            Some(id) => methods::update(txn, &actor, id, &req).await,
            None => methods::create(txn, &actor, &req).await,
        })
        .await
        .map(|_| ())
    } else {
        Err(AppError::Validation(FieldErrors::new()))
    };
    match done {
        Ok(()) => Redirect::to(HERE).into_response(),
        Err(AppError::Validation(fields)) => {
            for (k, e) in fields {
                let (field, e) = match k.strip_prefix("rates[") {
                    Some(rest) => {
                        let row = rest
                            .split(']')
                            .next()
                            .and_then(|n| n.parse::<usize>().ok())
                            .unwrap_or(0);
                        (
                            "rates".to_string(),
                            FieldError::new(e.code, format!("line {}: {}", row + 1, e.message)),
                        )
                    }
                    None => match k.as_str() {
                        "fee_fen" => ("fee_yuan".into(), e),
                        "cold_surcharge_fen" => ("cold_surcharge_yuan".into(), e),
                        "min_weight_g" => ("min_weight_kg".into(), e),
                        k if k.starts_with("area") => ("area".into(), e),
                        _ => (k, e),
                    },
                };
                errors.entry(field).or_insert(e);
            }
            page_with(
                &state,
                &viewer,
                editing,
                Some(form),
                errors_value(&errors),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => viewer.error(&state, e),
    }
}

async fn create_form(
    State(state): State<AppState>,
    viewer: Viewer,
    axum::Form(form): axum::Form<MethodForm>,
) -> Response {
    save(state, viewer, None, form).await
}

async fn update_form(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    axum::Form(form): axum::Form<MethodForm>,
) -> Response {
    save(state, viewer, Some(id), form).await
}

async fn delete_form(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    axum::Form(form): axum::Form<TokenForm>,
) -> Response {
    let actor = match viewer.check_form(&state, HERE, &form.csrf_token) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    match in_write_txn(&state.db, async |txn| methods::delete(txn, actor, id).await).await {
        Ok(()) => Redirect::to(HERE).into_response(),
        Err(e) => viewer.error(&state, e),
    }
}

/// A listing's shipping form as typed.
#[derive(Debug, Default, serde::Deserialize)]
pub struct ShippingForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    cold_chain: Option<String>,
    #[serde(default)]
    piece_weight_g: String,
}

async fn shipping_form(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    axum::Form(form): axum::Form<ShippingForm>,
) -> Response {
    let actor = match viewer.check_form(&state, HERE, &form.csrf_token) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let mut errors = FieldErrors::new();
    let piece_weight_g = whole("piece_weight_g", &form.piece_weight_g, &mut errors);
    let s = Shipping {
        cold_chain: form.cold_chain.is_some(),
        piece_weight_g,
    };
    let done = if errors.is_empty() {
        in_write_txn(&state.db, async |txn| {
            methods::set_shipping(txn, actor, id, &s).await
        })
        .await
    } else {
        Err(AppError::Validation(errors))
    };
    match done {
        Ok(_) => Redirect::to(HERE).into_response(),
        Err(e) => viewer.error(&state, e),
    }
}
