//! The buyers' pages: search with facets, the cart and checkout, and orders with their
//! timeline. Sellers share the order pages, with their own actions.

use std::collections::HashMap;

use crate::catalog::domain::Grade;
use crate::http::lang::NameFor;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::{Value, context};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::Deserialize;

use super::{Lang, TokenForm, Viewer, errors_value};
use crate::accounts::Actor;
use crate::catalog::domain::{Quantity, QuantityInput, RegionLevel, format_yuan};
use crate::catalog::entity::region;
use crate::delivery::methods::Choice;
use crate::error::{AppError, FieldError, FieldErrors};
use crate::http::api::orders as orders_http;
use crate::http::api::search::page_view;
use crate::http::state::AppState;
use crate::orders::cart;
use crate::orders::domain::{Action, OrderStatus, Party, PaymentStatus};
use crate::orders::entity::order;
use crate::orders::idempotency::{self, Key, Refusal};
use crate::orders::lifecycle::{self, Details};
use crate::orders::request::{self, AddressRequest, CheckoutRequest};
use crate::orders::short::LineQuantity;
use crate::orders::views::{OrderView, order_views};
use crate::search::query::SearchParams;

// ---------------------------------------------------------------- search

/// `/search`: what the search form sends.
#[derive(Debug, Default, Deserialize)]
pub struct SearchForm {
    q: Option<String>,
    category: Option<i64>,
    county: Option<String>,
    certification: Option<String>,
    /// The lowest grade shown.
    grade: Option<String>,
    sort: Option<String>,
    in_stock: Option<String>,
    /// `lat,lng` from the phone, when the buyer shares where they are.
    near: Option<String>,
    page: Option<u64>,
}

pub async fn search_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(form): Query<SearchForm>,
) -> Response {
    let empty = |s: Option<String>| s.filter(|v| !v.trim().is_empty());
    // Nearest first: from where the phone says, else from the buyer's own county or village.
    let mut near = empty(form.near.clone());
    if near.is_none()
        && form.sort.as_deref() == Some("distance")
        && let Some(code) = viewer
            .actor
            .as_ref()
            .and_then(|a| a.user.region_code.clone())
        && let Ok(Some(r)) = crate::catalog::regions::find(&state.db, &code).await
        && let (Some(lat), Some(lng)) = (r.latitude, r.longitude)
    {
        near = Some(format!("{lat},{lng}"));
    }
    let no_place = form.sort.as_deref() == Some("distance") && near.is_none();
    let params = SearchParams {
        q: empty(form.q.clone()),
        category_id: form.category,
        region: empty(form.county.clone()),
        certification: empty(form.certification.clone()),
        min_grade: empty(form.grade.clone()),
        // Without a place to measure from, best match first, and the page says why.
        sort: empty(form.sort.clone()).filter(|_| !no_place),
        near: near.clone(),
        in_stock: form.in_stock.as_deref().map(|v| v == "true" || v == "on"),
        page: form.page,
        per_page: Some(20),
        ..Default::default()
    };
    let (req, results) = match state.search.search(&params).await {
        Ok(r) => r,
        Err(e) => return viewer.error(&state, e),
    };
    let vocab = state.search.vocabulary();
    let found = page_view(&req, params.q.as_deref(), results, &vocab);
    let lang = viewer.lang;
    let ids: Vec<i64> = found.items.iter().map(|h| h.id).collect();
    let photos = match super::first_photos(&state.db, &ids).await {
        Ok(p) => p,
        Err(e) => return viewer.error(&state, e),
    };
    let hits: Vec<Value> = found
        .items
        .iter()
        .map(|h| {
            context! {
                id => h.id,
                image => super::picture(photos.get(&h.id).copied(), h.category.id),
                title => &h.title,
                price => &h.price_display,
                unit => h.unit.name_for(lang),
                origin => place_name(&vocab, &h.origin.code, &h.origin.name, lang),
                county => h.county.as_ref().map(|c| place_name(&vocab, &c.code, &c.name, lang)),
                seller => &h.organization.name,
                in_stock => h.in_stock,
                badges => h.certifications.iter().map(|c| c.name_for(lang)).collect::<Vec<_>>(),
                grade => (h.grade != Grade::Ungraded).then(|| h.grade.name_for(lang)),
            }
        })
        .collect();
    let (counties, categories, certifications) = facet_values(&form, &found, &vocab, lang);
    let grades = grade_filters(&form, lang);
    let understood_grade = found.understood.grade.map(|g| g.name_for(lang));
    let (show_reading, did_you_mean) = reading(&form, &found);
    let link = |key: &str, value: &str| form.link(key, value);
    let pages = found.total.div_ceil(found.per_page.max(1));
    let next_page = (found.page < pages).then(|| link("page", &(found.page + 1).to_string()));
    let prev_page = (found.page > 1).then(|| link("page", &(found.page - 1).to_string()));
    viewer.render(
        &state,
        "search.html",
        context! {
            q => form.q.unwrap_or_default(),
            sort => form.sort.unwrap_or_default(),
            county => form.county.unwrap_or_default(),
            grade => form.grade.unwrap_or_default(),
            category => form.category,
            hits,
            total => found.total,
            loose => found.strategy == "loose",
            understood => &found.understood,
            show_reading,
            did_you_mean,
            counties,
            categories,
            certifications,
            grades,
            understood_grade,
            no_place,
            near,
            next_page,
            prev_page,
        },
    )
}

/// The grades as filters of a search page, each a link that turns it on or off: 特级, then
/// 一级及以上 and the rest.
fn grade_filters(form: &SearchForm, lang: Lang) -> Vec<Value> {
    Grade::ALL
        .iter()
        .filter(|g| **g != Grade::Ungraded)
        .map(|g| {
            let on = form.grade.as_deref() == Some(g.code());
            context! {
                name => g.name_for(lang),
                best => *g == Grade::Special,
                on,
                href => form.link("grade", if on { "" } else { g.code() }),
            }
        })
        .collect()
}

/// Whether the page says how it read the query (only when the words read differ from the
/// words typed), and the suggestions of a search that found nothing, as links.
fn reading(form: &SearchForm, found: &crate::http::api::search::SearchPage) -> (bool, Vec<Value>) {
    let show = (found.understood.product.is_some() || found.understood.place.is_some())
        && found.understood.words.join(" ")
            != crate::search::text::fold(form.q.as_deref().unwrap_or_default());
    let suggestions = found
        .did_you_mean
        .iter()
        .map(|w| context! { word => w, href => form.link("q", w) })
        .collect();
    (show, suggestions)
}

/// A place's name in the reader's language, from the region table (as the search answered
/// it when the table does not know the code).
fn place_name(
    vocab: &crate::search::vocabulary::Vocabulary,
    code: &str,
    answered: &str,
    lang: Lang,
) -> String {
    vocab
        .place(code)
        .map_or(answered, |p| p.name_in(lang == Lang::En))
        .to_string()
}

/// The county, category and certification facets of a search page, each a link that turns
/// it on or off, in the reader's language.
fn facet_values(
    form: &SearchForm,
    found: &crate::http::api::search::SearchPage,
    vocab: &crate::search::vocabulary::Vocabulary,
    lang: Lang,
) -> (Vec<Value>, Vec<Value>, Vec<Value>) {
    let link = |key: &str, value: &str| form.link(key, value);
    let facet = |key: &str, list: &[crate::http::api::search::FacetCount], chosen: Option<&str>| {
        list.iter()
            .map(|f| {
                let on = chosen == Some(f.value.as_str());
                context! {
                    name => &f.name,
                    count => f.count,
                    on,
                    href => link(key, if on { "" } else { &f.value }),
                }
            })
            .collect::<Vec<_>>()
    };
    let county_facets: Vec<crate::http::api::search::FacetCount> = found
        .facets
        .county
        .iter()
        .map(|f| crate::http::api::search::FacetCount {
            name: place_name(vocab, &f.value, &f.name, lang),
            value: f.value.clone(),
            count: f.count,
        })
        .collect();
    let counties = facet("county", &county_facets, form.county.as_deref());
    let certifications: Vec<Value> = found
        .facets
        .certification
        .iter()
        .map(|f| {
            let on = form.certification.as_deref() == Some(f.value.as_str());
            let name = crate::catalog::domain::Certification::from_code(&f.value)
                .map_or(f.name.as_str(), |c| c.name_for(lang));
            context! {
                name,
                count => f.count,
                on,
                href => link("certification", if on { "" } else { &f.value }),
            }
        })
        .collect();
    // Category names in the reader's language (the search answers in Chinese).
    let category_facets: Vec<crate::http::api::search::FacetCount> = found
        .facets
        .category
        .iter()
        .map(|f| crate::http::api::search::FacetCount {
            name: f
                .value
                .parse()
                .ok()
                .and_then(|id| vocab.category(id))
                .filter(|_| lang == Lang::En)
                .map_or(f.name.clone(), |c| c.name_en.clone()),
            value: f.value.clone(),
            count: f.count,
        })
        .collect();
    let categories = facet(
        "category",
        &category_facets,
        form.category.map(|c| c.to_string()).as_deref(),
    );
    (counties, categories, certifications)
}

impl SearchForm {
    /// A link to this search with `key` set to `value` (left out when empty), the other
    /// filters kept.
    fn link(&self, key: &str, value: &str) -> String {
        let mut q = form_urlencoded::Serializer::new(String::new());
        let pairs = [
            ("q", self.q.clone()),
            ("category", self.category.map(|c| c.to_string())),
            ("county", self.county.clone()),
            ("certification", self.certification.clone()),
            ("grade", self.grade.clone()),
            ("sort", self.sort.clone()),
            ("near", self.near.clone()),
        ];
        for (k, v) in pairs {
            if k == key {
                continue;
            }
            if let Some(v) = v.filter(|v| !v.is_empty()) {
                q.append_pair(k, &v);
            }
        }
        if !value.is_empty() {
            q.append_pair(key, value);
        }
        format!("/search?{}", q.finish())
    }
}

// ---------------------------------------------------------------- cart

/// "Add to cart" on a listing page.
#[derive(Debug, Default, Deserialize)]
pub struct AddForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    listing_id: i64,
    #[serde(default)]
    quantity: String,
}

pub async fn add_to_cart(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<AddForm>,
) -> Response {
    let back = format!("/listings/{}", form.listing_id);
    let actor = match viewer.check_form(&state, &back, &form.csrf_token) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let added = async {
        let q = positive_quantity("quantity", &form.quantity)?;
        let txn = crate::db::write_txn(&state.db).await?;
        cart::add(&txn, actor, form.listing_id, q).await?;
        txn.commit().await?;
        Ok::<_, AppError>(())
    }
    .await;
    match added {
        Ok(()) => Redirect::to("/cart").into_response(),
        Err(AppError::Validation(fields)) => {
            super::listing_page_with(
                &state,
                &viewer,
                form.listing_id,
                &form.quantity,
                errors_value(&fields),
            )
            .await
        }
        Err(e) => viewer.error(&state, e),
    }
}

/// A quantity typed into a form, greater than zero; refused under `field`.
fn positive_quantity(field: &str, typed: &str) -> Result<Quantity, AppError> {
    QuantityInput::Text(typed.trim().to_string())
        .parse()
        .map_err(|e| e.field_error())
        .and_then(|q| {
            if q == Quantity::default() {
                Err(crate::error::FieldError {
                    code: "out_of_range",
                    message: "must be greater than zero".into(),
                })
            } else {
                Ok(q)
            }
        })
        .map_err(|e| AppError::field(field, e.code, e.message))
}

/// The cart line form: a new quantity.
#[derive(Debug, Default, Deserialize)]
pub struct QuantityForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    quantity: String,
}

/// Changes the quantity of one of the buyer's cart lines; a quantity that is not one comes
/// back beside that line.
pub async fn change_cart_line(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    Form(form): Form<QuantityForm>,
) -> Response {
    let actor = match viewer.check_form(&state, "/cart", &form.csrf_token) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let field = format!("quantity-{id}");
    let changed = async {
        cart::require_buyer(actor)?;
        let q = positive_quantity(&field, &form.quantity)?;
        cart::set_quantity(&state.db, actor, id, q).await?;
        Ok::<_, AppError>(())
    }
    .await;
    match changed {
        Ok(()) => Redirect::to("/cart").into_response(),
        Err(AppError::Validation(fields)) => {
            cart_page_with(
                &state,
                &viewer,
                &CheckoutForm::default(),
                errors_value(&fields),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => viewer.error(&state, e),
    }
}

/// The places an address form offers: every province, and the counties of one of them
/// (`province` as chosen, else the province of the county already chosen, else 四川).
pub(crate) async fn address_places(
    state: &AppState,
    lang: Lang,
    province: Option<&str>,
    county: &str,
) -> Result<Value, sea_orm::DbErr> {
    let provinces = region::Entity::find()
        .filter(region::Column::Level.eq(RegionLevel::Province as i16))
        .order_by_asc(region::Column::Code)
        .all(&state.db)
        .await?;
    let wanted = province
        .or_else(|| county.get(..2).map(|_| county))
        .and_then(|p| p.get(..2))
        .filter(|p| provinces.iter().any(|r| r.code.starts_with(p)))
        .unwrap_or("51")
        .to_string();
    let counties = region::Entity::find()
        .filter(region::Column::Level.eq(RegionLevel::County as i16))
        .filter(region::Column::Code.starts_with(&wanted))
        .order_by_asc(region::Column::Code)
        .all(&state.db)
        .await?;
    let named = |r: region::Model| {
        let on = r.code.starts_with(&wanted);
        let name = match lang {
            Lang::Zh => r.name,
            Lang::En => r.name_en,
        };
        context! { code => r.code, name, on }
    };
    Ok(context! {
        provinces => provinces.into_iter().map(named).collect::<Vec<_>>(),
        counties => counties.into_iter().map(named).collect::<Vec<_>>(),
    })
}

/// `?province=`: the province whose counties an address form offers.
#[derive(Debug, Default, Deserialize)]
pub struct ProvinceChoice {
    #[serde(default)]
    pub province: Option<String>,
}

/// The checkout form as typed.
#[derive(Debug, Default, Deserialize)]
pub struct CheckoutForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    key: String,
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
    /// The province whose counties the form offers.
    #[serde(default)]
    province: Option<String>,
    /// The buyer unit to order for; empty for the buyer's own order.
    #[serde(default)]
    unit_id: String,
    /// Set by the button that shows the freight to the address chosen, without ordering.
    #[serde(default)]
    quote: String,
    /// `delivery_{organization id}`: the method chosen for that seller's order.
    #[serde(flatten)]
    rest: std::collections::BTreeMap<String, String>,
}

impl CheckoutForm {
    /// The methods chosen per seller, from the `delivery_{organization id}` fields.
    fn choices(&self) -> Vec<Choice> {
        self.rest
            .iter()
            .filter_map(|(k, v)| {
                Some(Choice {
                    organization_id: k.strip_prefix("delivery_")?.parse().ok()?,
                    method_id: v.trim().parse().ok()?,
                })
            })
            .collect()
    }
}

/// Each seller's part of the cart with its methods and freight to the form's county, the
/// method chosen (or the cheapest that fits) marked.
async fn freight_choices(
    state: &AppState,
    actor: &Actor,
    form: &CheckoutForm,
    lang: Lang,
) -> Result<(Vec<Value>, Option<i64>), AppError> {
    if form.region_code.is_empty() {
        return Ok((Vec::new(), None));
    }
    let sellers = match request::cart_freight(&state.db, actor, &form.region_code).await {
        Ok(s) => s,
        Err(AppError::Validation(_)) => return Ok((Vec::new(), None)),
        Err(e) => return Err(e),
    };
    let chosen = form.choices();
    // What the buyer pays with the freight chosen: none when a seller's order cannot go.
    let mut to_pay = Some(0i64);
    let values = sellers
        .into_iter()
        .map(|s| {
            let pick = chosen
                .iter()
                .find(|c| c.organization_id == s.organization_id)
                .map(|c| c.method_id)
                .or_else(|| crate::delivery::methods::cheapest(&s.options).map(|o| o.method.id));
            let freight = match pick {
                None if s.options.is_empty() => Some(0),
                None => None,
                Some(id) => s
                    .options
                    .iter()
                    .find(|o| o.method.id == id)
                    .and_then(|o| o.quote.as_ref())
                    .map(|q| q.fee_fen),
            };
            to_pay = to_pay.zip(freight).map(|(sum, f)| sum + s.goods_fen + f);
            let options: Vec<Value> = s
                .options
                .iter()
                .map(|o| {
                    let m = &o.method;
                    context! {
                        id => m.id,
                        name => &m.name,
                        kind => m.kind.name_for(lang),
                        fee => o.quote.as_ref().map(|q| format_yuan(q.fee_fen)),
                        unfit => o.unfit.map(|u| u.code()),
                        place => (!m.address.is_empty()).then(|| format!("{} {}", m.address, m.hours)),
                        on => Some(m.id) == pick,
                    }
                })
                .collect();
            context! {
                id => s.organization_id,
                name => s.seller_name,
                goods => format_yuan(s.goods_fen),
                options,
            }
        })
        .collect();
    Ok((values, to_pay))
}

async fn cart_page_with(
    state: &AppState,
    viewer: &Viewer,
    form: &CheckoutForm,
    errors: Value,
    status: StatusCode,
) -> Response {
    let Some(actor) = viewer.actor.as_ref() else {
        return *viewer.require("/cart").unwrap_err();
    };
    let view = async {
        cart::require_buyer(actor)?;
        let view = orders_http::cart_view(state, actor).await?;
        let places = address_places(
            state,
            viewer.lang,
            form.province.as_deref(),
            &form.region_code,
        )
        .await?;
        let units: Vec<Value> = crate::buyers::units::mine(&state.db, actor)
            .await?
            .into_iter()
            .filter(|u| {
                u.role.buys_for_unit() && u.status == crate::buyers::domain::UnitStatus::Approved
            })
            .map(|u| context! { id => u.id.to_string(), name => u.name })
            .collect();
        let (sellers, to_pay) = freight_choices(state, actor, form, viewer.lang).await?;
        Ok::<_, AppError>((view, places, units, sellers, to_pay))
    }
    .await;
    let (view, places, units, sellers, to_pay) = match view {
        Ok(v) => v,
        Err(e) => return viewer.error(state, e),
    };
    let lines: Vec<Value> = view
        .lines
        .iter()
        .map(|l| {
            context! {
                id => l.id,
                title => l.listing.as_ref().map(|v| v.title.clone()),
                quantity => l.quantity.to_string(),
                unit => l.unit.name_for(viewer.lang),
                amount => format_yuan(l.amount_fen),
            }
        })
        .collect();
    // A fresh key per form shown: submitting twice places one order.
    let key = if form.key.is_empty() {
        crate::accounts::token::generate()
    } else {
        form.key.clone()
    };
    viewer.render_with(
        state,
        "cart.html",
        context! {
            lines,
            total => view.total_display,
            places,
            units,
            sellers,
            to_pay => to_pay.map(format_yuan),
            key,
            f => context! {
                recipient_name => &form.recipient_name,
                phone => &form.phone,
                region_code => &form.region_code,
                line => &form.line,
                note => &form.note,
                unit_id => &form.unit_id,
            },
            errors,
        },
        status,
    )
}

pub async fn cart_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(choice): Query<ProvinceChoice>,
) -> Response {
    cart_page_with(
        &state,
        &viewer,
        &CheckoutForm {
            province: choice.province,
            ..CheckoutForm::default()
        },
        Value::from(()),
        StatusCode::OK,
    )
    .await
}

pub async fn remove_from_cart(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    Form(form): Form<TokenForm>,
) -> Response {
    let actor = match viewer.check_form(&state, "/cart", &form.csrf_token) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    match cart::remove(&state.db, actor, id).await {
        Ok(()) => Redirect::to("/cart").into_response(),
        Err(e) => viewer.error(&state, e),
    }
}

pub async fn checkout(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<CheckoutForm>,
) -> Response {
    let actor = match viewer.check_form(&state, "/cart", &form.csrf_token) {
        Ok(a) => a.clone(),
        Err(r) => return *r,
    };
    let refuse = |fields: FieldErrors| {
        let fields: FieldErrors = fields
            .into_iter()
            .map(|(k, e)| (k.trim_start_matches("address.").to_string(), e))
            .collect();
        cart_page_with(
            &state,
            &viewer,
            &form,
            errors_value(&fields),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
    };
    if !form.quote.is_empty() {
        return cart_page_with(&state, &viewer, &form, Value::from(()), StatusCode::OK).await;
    }
    let key = match Key::parse(&form.key) {
        Ok(k) => k,
        Err(e) => return viewer.error(&state, e),
    };
    let request = CheckoutRequest {
        address: AddressRequest {
            recipient_name: form.recipient_name.clone(),
            phone: form.phone.clone(),
            region_code: form.region_code.clone(),
            line: form.line.clone(),
        },
        note: Some(form.note.clone()),
        lines: None,
        unit_id: form.unit_id.trim().parse().ok(),
        delivery: form.choices(),
    };
    let fingerprint = idempotency::fingerprint(
        "POST",
        "/checkout",
        &serde_json::json!([
            form.recipient_name,
            form.phone,
            form.region_code,
            form.line,
            form.note,
            form.unit_id,
            form.rest
        ]),
    );
    match request::checkout_once(&state.db, &actor, key, fingerprint, request).await {
        Ok(answer) => match answer.stored.refusal() {
            None => Redirect::to("/orders?placed=1").into_response(),
            // A refusal the checkout kept (stock ran out, a listing was paused): its lines.
            Some(refusal) => refuse(refused_lines(refusal)).await,
        },
        Err(AppError::Validation(fields)) | Err(AppError::InsufficientStock(fields)) => {
            refuse(fields).await
        }
        Err(e) => viewer.error(&state, e),
    }
}

/// A kept refusal's field errors as the cart form shows them: each line's error under `lines`,
/// or the whole refusal there when it names no field.
fn refused_lines(refusal: Refusal) -> FieldErrors {
    let mut fields: FieldErrors = refusal
        .fields
        .into_iter()
        .map(|(k, e)| {
            let code = match e.code.as_str() {
                "insufficient_stock" => "insufficient_stock",
                "unavailable" => "unavailable",
                "unit_changed" => "unit_changed",
                other => crate::delivery::freight::Unfit::ALL
                    .iter()
                    .map(|u| u.code())
                    .chain(["no_delivery_method", "unknown"])
                    .find(|c| *c == other)
                    .unwrap_or("invalid"),
            };
            let field = if k.starts_with("delivery") {
                k
            } else {
                "lines".to_string() + &k[k.find(']').map_or(k.len(), |i| i + 1)..]
            };
            (field, FieldError::new(code, e.message))
        })
        .collect();
    if fields.is_empty() {
        fields.insert(
            "lines".to_string(),
            FieldError::new("invalid", refusal.message),
        );
    }
    fields
}

// ---------------------------------------------------------------- orders

fn order_value(o: &OrderView, lang: Lang) -> Value {
    let when = |t: chrono::DateTime<chrono::Utc>| {
        t.with_timezone(&crate::stats::domain::china())
            .format("%Y-%m-%d %H:%M")
            .to_string()
    };
    let lines: Vec<Value> = o
        .lines
        .iter()
        .map(|l| {
            context! {
                id => l.id,
                listing_id => l.listing_id,
                title => &l.title,
                quantity => l.quantity.to_string(),
                unit => l.unit.name_for(lang),
                amount => format_yuan(l.amount_fen),
                shipped => l.shipped.map(|q| q.to_string()),
                received => l.received.map(|q| q.to_string()),
                short => (l.short_fen > 0).then(|| format_yuan(l.short_fen)),
            }
        })
        .collect();
    let events: Vec<Value> = o
        .events
        .iter()
        .map(|e| {
            let to = e.to_status.name_for(lang);
            context! { to, reason => &e.reason, at => when(e.at) }
        })
        .collect();
    let actions: Vec<Value> = o
        .actions
        .iter()
        .filter(|a| {
            matches!(
                a,
                Action::Confirm
                    | Action::Ship
                    | Action::Receive
                    | Action::Complete
                    | Action::BuyerCancel
                    | Action::SellerCancel
                    | Action::Dispute
                    | Action::ResolveComplete
                    | Action::ResolveRefund
            )
        })
        .map(|a| {
            context! { code => a.code(), name => a.name_for(lang), reason => a.needs_reason() }
        })
        .collect();
    context! {
        id => o.id,
        status => o.status.code(),
        status_name => o.status.name_for(lang),
        buyer => &o.buyer.name,
        seller => &o.seller.name,
        total => &o.total_display,
        goods => format_yuan(o.goods_fen),
        refund => (o.refund_fen > 0).then(|| format_yuan(o.refund_fen)),
        photo => &o.receipt_photo,
        short_shown => o.lines.iter().any(|l| l.shipped.is_some_and(|q| q != l.quantity) || l.received.is_some_and(|q| q != l.quantity)),
        freight => (o.freight_fen > 0 || o.delivery.is_some()).then(|| format_yuan(o.freight_fen)),
        delivery_name => o.delivery.as_ref().map(|d| format!("{} · {}", d.kind.name_for(lang), d.name)),
        delivery_place => o.delivery.as_ref().filter(|d| !d.address.is_empty()).map(|d| format!("{} {}", d.address, d.hours)),
        invoice => o.invoice.as_ref().map(|i| context! {
            kind => i.kind.name_for(lang), number => &i.number, amount => format_yuan(i.amount_fen),
            issued_on => i.issued_on.to_string(), has_file => i.has_file,
        }),
        recipient => &o.recipient_name,
        phone => &o.recipient_phone,
        address => &o.address_line,
        note => &o.note,
        carrier => &o.carrier,
        tracking_number => &o.tracking_number,
        placed_at => when(o.placed_at),
        lines,
        events,
        actions,
    }
}

fn party_of(actor: &Actor) -> Result<Party, AppError> {
    orders_http::viewer_party(actor)
}

/// `/orders`: a buyer's orders, or a producer's organization's.
#[derive(Debug, Default, Deserialize)]
pub struct OrdersQuery {
    status: Option<String>,
    placed: Option<String>,
}

pub async fn orders_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<OrdersQuery>,
) -> Response {
    let actor = match viewer.require("/orders") {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let found = async {
        let party = party_of(actor)?;
        let mut query = order::Entity::find();
        query = match party {
            Party::Buyer => query.filter(order::Column::BuyerId.eq(actor.id())),
            Party::Seller => {
                query.filter(order::Column::OrganizationId.eq(actor.organization_id()))
            }
            _ => query,
        };
        if let Some(s) = q.status.as_deref().and_then(OrderStatus::from_code) {
            query = query.filter(order::Column::Status.eq(s.code()));
        }
        let ids: Vec<i64> = query
            .select_only()
            .column(order::Column::Id)
            .order_by_desc(order::Column::Id)
            .limit(50)
            .into_tuple()
            .all(&state.db)
            .await?;
        Ok::<_, AppError>((order_views(&state.db, &ids, party).await?, party))
    }
    .await;
    let (orders, party) = match found {
        Ok(f) => f,
        Err(e) => return viewer.error(&state, e),
    };
    let orders: Vec<Value> = orders.iter().map(|o| order_value(o, viewer.lang)).collect();
    let statuses: Vec<Value> = OrderStatus::ALL
        .iter()
        .map(|s| context! { code => s.code(), name => *s.name_for(viewer.lang) })
        .collect();
    viewer.render(
        &state,
        "orders.html",
        context! {
            orders,
            statuses,
            status => q.status.unwrap_or_default(),
            placed => q.placed.is_some(),
            selling => party == Party::Seller,
        },
    )
}

pub async fn order_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
) -> Response {
    order_page_with(&state, &viewer, id, Value::from(()), StatusCode::OK).await
}

async fn order_page_with(
    state: &AppState,
    viewer: &Viewer,
    id: i64,
    errors: Value,
    status: StatusCode,
) -> Response {
    let actor = match viewer.require(&format!("/orders/{id}")) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let found = async {
        let (o, party) = lifecycle::find_for(&state.db, actor, id).await?;
        let view = order_views(&state.db, &[o.id], party).await?.remove(0);
        let ship_lots = if view.actions.contains(&Action::Ship) {
            lot_choices(state, &view).await?
        } else {
            Vec::new()
        };
        let line_ids: Vec<i64> = view.lines.iter().map(|l| l.id).collect();
        let bound = crate::orders::lots::of_lines(&state.db, &line_ids).await?;
        Ok::<_, AppError>((view, party, ship_lots, bound))
    }
    .await;
    match found {
        Ok((o, party, ship_lots, bound)) => {
            // What the seller may record next about the payment, made outside the platform.
            let payments: Vec<Value> = match (party, o.payment_status) {
                (Party::Seller, PaymentStatus::Unpaid) if o.status != OrderStatus::Cancelled => {
                    vec![PaymentStatus::PaidOffline]
                }
                (Party::Seller, PaymentStatus::PaidOffline) => vec![PaymentStatus::Refunded],
                _ => vec![],
            }
            .into_iter()
            .map(|p| context! { code => p.code(), name => p.name_for(viewer.lang) })
            .collect();
            viewer.render_with(
                state,
                "order.html",
                context! {
                    o => order_value(&o, viewer.lang),
                    payment => o.payment_status.name_for(viewer.lang),
                    payments,
                    may_invoice => party == Party::Seller && o.status != OrderStatus::Cancelled,
                    may_photo => party == Party::Buyer && o.delivered_at.is_some(),
                    invoice_kinds => crate::orders::invoices::InvoiceKind::ALL.iter().map(|k| context! { code => k.code(), name => k.name_for(viewer.lang) }).collect::<Vec<_>>(),
                    today => crate::days::local_date(chrono::Utc::now()).to_string(),
                    ship_lots,
                    bound,
                    errors,
                },
                status,
            )
        }
        Err(e) => viewer.error(state, e),
    }
}

/// The lots the ship form chose: each line named by a `lot_{line}` field filled from that
/// lot, as far as it ships (`shipped`, else whole).
async fn lots_chosen(
    state: &AppState,
    order_id: i64,
    fields: &HashMap<String, String>,
    shipped: &[LineQuantity],
) -> Result<Vec<crate::orders::lots::LotShare>, AppError> {
    let lines = crate::orders::entity::order_line::Entity::find()
        .filter(crate::orders::entity::order_line::Column::OrderId.eq(order_id))
        .all(&state.db)
        .await?;
    Ok(lines
        .iter()
        .filter_map(|l| {
            let lot = fields.get(&format!("lot_{}", l.id))?.parse().ok()?;
            let quantity = shipped
                .iter()
                .find(|q| q.line_id == l.id)
                .map_or(Quantity::from_milli(l.quantity_milli), |q| q.quantity);
            Some(crate::orders::lots::LotShare {
                line_id: l.id,
                lot_id: lot,
                quantity,
            })
            .filter(|s| s.quantity.milli() > 0)
        })
        .collect())
}

/// For the seller's ship form: each line whose listing has lots, with the lots it may be
/// filled from and what each has left.
async fn lot_choices(state: &AppState, o: &OrderView) -> Result<Vec<Value>, AppError> {
    use crate::catalog::entity::lot;
    let listings: Vec<i64> = o.lines.iter().map(|l| l.listing_id).collect();
    let lots = lot::Entity::find()
        .filter(lot::Column::ListingId.is_in(listings))
        .order_by_desc(lot::Column::Id)
        .all(&state.db)
        .await?;
    let ids: Vec<i64> = lots.iter().map(|l| l.id).collect();
    let used = crate::orders::lots::shipped_from(&state.db, &ids).await?;
    Ok(o.lines
        .iter()
        .filter(|line| lots.iter().any(|l| l.listing_id == line.listing_id))
        .map(|line| {
            let choices: Vec<Value> = lots
                .iter()
                .filter(|l| l.listing_id == line.listing_id)
                .map(|l| {
                    let left = l.quantity_milli - used.get(&l.id).copied().unwrap_or(0);
                    context! {
                        id => l.id, code => &l.code, harvested_on => l.harvested_on.to_string(),
                        left => Quantity::from_milli(left).to_string(),
                    }
                })
                .collect();
            context! { id => line.id, title => &line.title, quantity => line.quantity.to_string(), lots => choices }
        })
        .collect())
}

/// The payment form: the status the seller records.
#[derive(Debug, Default, Deserialize)]
pub struct PaymentForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    status: String,
}

/// The seller records that the buyer paid outside the platform, or was refunded.
/// The invoice form as typed.
#[derive(Debug, Default, Deserialize)]
pub struct InvoiceForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    number: String,
    #[serde(default)]
    amount_yuan: String,
    #[serde(default)]
    issued_on: String,
}

/// `POST /orders/{id}/invoice`: the seller records the order's invoice; a refused form comes
/// back on the order page beside its fields.
pub async fn record_invoice(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    Form(form): Form<InvoiceForm>,
) -> Response {
    let here = format!("/orders/{id}");
    let actor = match viewer.check_form(&state, &here, &form.csrf_token) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let req = crate::orders::invoices::InvoiceRequest {
        kind: form.kind.clone(),
        number: form.number.clone(),
        amount_fen: crate::catalog::import::fen_of(form.amount_yuan.trim()).unwrap_or(-1),
        issued_on: form.issued_on.clone(),
    };
    let done = crate::db::in_write_txn(&state.db, async |txn| {
        crate::orders::invoices::record(txn, actor, id, &req, chrono::Utc::now()).await
    })
    .await;
    let done = done.map_err(|e| match e {
        AppError::Validation(fields) => {
            AppError::Validation(super::renamed(fields, "amount_fen", "amount_yuan"))
        }
        e => e,
    });
    invoice_answer(&state, &viewer, id, done).await
}

/// Back to the order once the invoice step is done; a refused form comes back on the order
/// page beside its fields.
async fn invoice_answer<T>(
    state: &AppState,
    viewer: &Viewer,
    id: i64,
    done: Result<T, AppError>,
) -> Response {
    match done {
        Ok(_) => Redirect::to(&format!("/orders/{id}")).into_response(),
        Err(AppError::Validation(fields)) => {
            order_page_with(
                state,
                viewer,
                id,
                errors_value(&fields),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => viewer.error(state, e),
    }
}

/// `POST /orders/{id}/invoice/file`: the invoice's file, from an upload form.
pub async fn attach_invoice_file(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    form: axum::extract::Multipart,
) -> Response {
    let here = format!("/orders/{id}");
    let up = match super::read_upload(form, "file").await {
        Ok(u) => u,
        Err(e) => return viewer.error(&state, e),
    };
    let actor = match viewer.check_form(&state, &here, &up.token) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let done = crate::db::in_write_txn(&state.db, async |txn| {
        crate::orders::invoices::attach_file(txn, actor, id, &up.file_name, up.bytes.clone()).await
    })
    .await;
    invoice_answer(&state, &viewer, id, done).await
}

/// `POST /orders/{id}/receipt-photo`: the buyer's photo of the delivery, from an upload form.
pub async fn attach_receipt_photo(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    form: axum::extract::Multipart,
) -> Response {
    let here = format!("/orders/{id}");
    let up = match super::read_upload(form, "file").await {
        Ok(u) => u,
        Err(e) => return viewer.error(&state, e),
    };
    let actor = match viewer.check_form(&state, &here, &up.token) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let done = crate::db::in_write_txn(&state.db, async |txn| {
        let now = chrono::Utc::now();
        crate::orders::short::attach_photo(txn, actor, id, &up.file_name, up.bytes.clone(), now)
            .await
    })
    .await;
    invoice_answer(&state, &viewer, id, done).await
}

pub async fn record_payment(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    Form(form): Form<PaymentForm>,
) -> Response {
    let here = format!("/orders/{id}");
    let actor = match viewer.check_form(&state, &here, &form.csrf_token) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let done = async {
        let (o, party) = lifecycle::find_for(&state.db, actor, id).await?;
        let to = lifecycle::payment_target(party, &form.status)?;
        let txn = crate::db::write_txn(&state.db).await?;
        lifecycle::set_payment(&txn, &o, actor.id(), to).await?;
        txn.commit().await?;
        Ok::<_, AppError>(())
    }
    .await;
    match done {
        Ok(()) => Redirect::to(&here).into_response(),
        Err(e) => viewer.error(&state, e),
    }
}

/// An order action's form: shipping details for `ship` (with `lot_{line}`, the lot each line
/// with lots was filled from), a reason for cancelling.
#[derive(Debug, Default, Deserialize)]
pub struct ActionForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    carrier: String,
    #[serde(default)]
    tracking_number: String,
    #[serde(default)]
    reason: String,
    /// `lot_{line}`, `ship_{line}` and `received_{line}`.
    #[serde(flatten)]
    fields: HashMap<String, String>,
}

/// The quantities a form gives its lines in fields `{prefix}_{line id}`, in line id order; a
/// refusal names the field.
fn line_quantities(
    fields: &HashMap<String, String>,
    prefix: &str,
) -> Result<Vec<LineQuantity>, AppError> {
    let mut named: Vec<(i64, &String)> = fields
        .iter()
        .filter_map(|(k, v)| {
            let id = k.strip_prefix(prefix)?.strip_prefix('_')?.parse().ok()?;
            Some((id, v))
        })
        .collect();
    named.sort();
    let mut v = crate::error::Validator::default();
    let read = named
        .into_iter()
        .filter_map(|(line_id, text)| {
            let quantity = v.check(
                &format!("{prefix}_{line_id}"),
                text.parse::<Quantity>().map_err(|e| e.field_error()),
            )?;
            Some(LineQuantity { line_id, quantity })
        })
        .collect();
    v.finish()?;
    Ok(read)
}

/// A refusal of the quantities [`line_quantities`] read, its `lines[i]…` fields named as the
/// form's `{prefix}_{line id}` inputs.
fn line_fields(
    errors: crate::error::FieldErrors,
    fields: &HashMap<String, String>,
    prefix: &str,
) -> crate::error::FieldErrors {
    let Ok(lines) = line_quantities(fields, prefix) else {
        return errors;
    };
    errors
        .into_iter()
        .map(|(k, e)| {
            let line = k
                .strip_prefix("lines[")
                .and_then(|rest| rest.split(']').next())
                .and_then(|i| i.parse::<usize>().ok())
                .and_then(|i| lines.get(i));
            match line {
                Some(l) => (format!("{prefix}_{}", l.line_id), e),
                None => (k, e),
            }
        })
        .collect()
}

pub async fn order_action(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((id, action)): Path<(i64, String)>,
    Form(form): Form<ActionForm>,
) -> Response {
    let here = format!("/orders/{id}");
    let actor = match viewer.check_form(&state, &here, &form.csrf_token) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let done = async {
        let action = Action::from_code(&action).ok_or(AppError::NotFound("action"))?;
        let mut v = crate::error::Validator::default();
        let details = if action == Action::Ship {
            let carrier = v.check("carrier", crate::fields::text(&form.carrier, 1, 64));
            let tracking = v.check(
                "tracking_number",
                crate::fields::text(&form.tracking_number, 1, 64),
            );
            let lines = line_quantities(&form.fields, "ship")?;
            Details {
                reason: String::new(),
                carrier,
                tracking_number: tracking,
                lots: lots_chosen(&state, id, &form.fields, &lines).await?,
                lines,
            }
        } else if action == Action::Receive {
            let reason = v.check("reason", crate::fields::text(&form.reason, 0, 500));
            Details {
                reason: reason.unwrap_or_default(),
                lines: line_quantities(&form.fields, "received")?,
                ..Default::default()
            }
        } else {
            let least = usize::from(action.needs_reason());
            let reason = v.check("reason", crate::fields::text(&form.reason, least, 500));
            Details::because(reason.unwrap_or_default())
        };
        v.finish()?;
        lifecycle::perform(&state.db, actor, id, action, details).await?;
        Ok::<_, AppError>(())
    }
    .await;
    match done {
        Ok(()) => Redirect::to(&here).into_response(),
        Err(AppError::Validation(mut fields)) => {
            // Which form the slips belong to, when several ask for the same field.
            if let Some(a) = Action::from_code(&action) {
                fields.insert("action".into(), crate::error::FieldError::new(a.code(), ""));
            }
            let prefix = if action == Action::Ship.code() {
                "ship"
            } else {
                "received"
            };
            order_page_with(
                &state,
                &viewer,
                id,
                errors_value(&line_fields(fields, &form.fields, prefix)),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => viewer.error(&state, e),
    }
}
