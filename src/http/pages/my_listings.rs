//! A producer's own listings: the list with pause and resume, the form to create or edit one,
//! and its photos, uploaded from the phone and resized on the server.

use crate::http::lang::NameFor;
use axum::Form;
use axum::extract::{Multipart, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::{Value, context};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::Deserialize;

use super::{Lang, TokenForm, Viewer, errors_value};
use crate::catalog::domain::{
    Certification, Grade, ListingStatus, Quantity, QuantityInput, Unit, format_yuan,
};
use crate::catalog::draft::ListingRequest;
use crate::catalog::entity::listing;
use crate::catalog::import::fen_of;
use crate::catalog::{categories, listings, photos};
use crate::error::{AppError, FieldError, FieldErrors};
use crate::http::api::catalog::listings::{change, create};
use crate::http::auth::MaybeActor;
use crate::http::state::AppState;

/// A select's options: each value's code and its name in the reader's language.
fn named<T: Copy>(
    all: &[T],
    lang: Lang,
    code: fn(T) -> &'static str,
    name: fn(T, Lang) -> &'static str,
) -> Vec<Value> {
    all.iter()
        .map(|x| context! { code => code(*x), name => name(*x, lang) })
        .collect()
}

type CategoryRows = Vec<(
    crate::catalog::entity::category::Model,
    Vec<crate::catalog::entity::category_alias::Model>,
)>;

/// The categories a listing or request names, for a form's select.
fn category_options_of(cats: &CategoryRows, lang: Lang) -> Vec<Value> {
    cats.iter()
        .filter(|(c, _)| c.parent_id.is_some())
        .map(|(c, _)| context! { id => c.id.to_string(), name => if lang == Lang::Zh { &c.name_zh } else { &c.name_en } })
        .collect()
}

pub(crate) async fn category_options(
    state: &AppState,
    lang: Lang,
) -> Result<Vec<Value>, sea_orm::DbErr> {
    Ok(category_options_of(
        &categories::all_with_aliases(&state.db).await?,
        lang,
    ))
}

/// `/producer/listings`: every listing of the organization that is not deleted.
pub async fn list_page(State(state): State<AppState>, viewer: Viewer) -> Response {
    let actor = match viewer.require("/producer/listings") {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let found = async {
        let org = super::producer::producer_of(actor)?;
        Ok::<_, AppError>(
            listing::Entity::find()
                .filter(listing::Column::OrganizationId.eq(org))
                .filter(listing::Column::DeletedAt.is_null())
                .order_by_desc(listing::Column::Id)
                .all(&state.db)
                .await?,
        )
    }
    .await;
    let rows = match found {
        Ok(r) => r,
        Err(e) => return viewer.error(&state, e),
    };
    let lang = viewer.lang;
    let rows: Vec<Value> = rows
        .iter()
        .map(|l| {
            let unit = l.unit;
            context! {
                id => l.id,
                title => &l.title,
                price => format_yuan(l.price_fen),
                stock => Quantity::from_milli(l.stock_milli).to_string(),
                unit => unit.name_for(lang),
                active => l.status == ListingStatus::Active,
            }
        })
        .collect();
    viewer.render(&state, "my_listings.html", context! { rows })
}

/// The listing form as typed.
#[derive(Debug, Default, Deserialize)]
pub struct ListingForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    category_id: String,
    #[serde(default)]
    unit: String,
    #[serde(default)]
    price_yuan: String,
    #[serde(default)]
    stock: String,
    #[serde(default)]
    min_order: String,
    #[serde(default)]
    grade: String,
    #[serde(default)]
    season_start: String,
    #[serde(default)]
    season_end: String,
    /// Ticked certifications: the field repeats once per box.
    #[serde(default)]
    certifications: Vec<String>,
    #[serde(default)]
    description: String,
}

impl ListingForm {
    fn of(l: &listing::Model) -> Self {
        ListingForm {
            csrf_token: String::new(),
            title: l.title.clone(),
            category_id: l.category_id.to_string(),
            unit: l.unit.code().into(),
            price_yuan: format!("{}.{:02}", l.price_fen / 100, l.price_fen % 100),
            stock: Quantity::from_milli(l.stock_milli).to_string(),
            min_order: Quantity::from_milli(l.min_order_milli).to_string(),
            grade: l.grade.code().into(),
            season_start: l.season_start.map(|m| m.to_string()).unwrap_or_default(),
            season_end: l.season_end.map(|m| m.to_string()).unwrap_or_default(),
            certifications: l
                .certifications
                .list()
                .iter()
                .map(|c| c.code().to_string())
                .collect(),
            description: l.description.clone(),
        }
    }

    /// The request the API would take; fields that cannot be read are refused here.
    fn request(&self) -> Result<ListingRequest, FieldErrors> {
        let mut errors = FieldErrors::new();
        let mut bad = |field: &str, code: &'static str, message: &str| {
            errors.insert(
                field.to_string(),
                FieldError {
                    code,
                    message: message.into(),
                },
            );
        };
        let text = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
        let category_id = self.category_id.trim().parse::<i64>().ok();
        if category_id.is_none() {
            bad("category_id", "required", "choose a category");
        }
        let price_fen = fen_of(self.price_yuan.trim());
        if price_fen.is_none() {
            bad("price_fen", "invalid", "a price in yuan, such as 3.50");
        }
        let mut month = |field: &str, raw: &str| match raw.trim() {
            "" => Some(None),
            m => match m.parse::<i32>() {
                Ok(n) => Some(Some(n)),
                Err(_) => {
                    bad(field, "invalid", "a month from 1 to 12");
                    None
                }
            },
        };
        let season_start = month("season_start", &self.season_start);
        let season_end = month("season_end", &self.season_end);
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(ListingRequest {
            category_id,
            title: Some(self.title.trim().to_string()),
            description: Some(self.description.trim().to_string()),
            unit: text(&self.unit),
            price_fen,
            stock: Some(QuantityInput::Text(self.stock.trim().to_string())),
            min_order: text(&self.min_order).map(QuantityInput::Text),
            grade: text(&self.grade),
            season_start,
            season_end,
            certifications: Some(self.certifications.clone()),
            ..Default::default()
        })
    }
}

/// Reads the form body, where ticked certifications repeat one name.
fn parse_form(body: &[u8]) -> ListingForm {
    let mut f = ListingForm::default();
    for (k, v) in form_urlencoded::parse(body) {
        let v = v.into_owned();
        match k.as_ref() {
            "csrf_token" => f.csrf_token = v,
            "title" => f.title = v,
            "category_id" => f.category_id = v,
            "unit" => f.unit = v,
            "price_yuan" => f.price_yuan = v,
            "stock" => f.stock = v,
            "min_order" => f.min_order = v,
            "grade" => f.grade = v,
            "season_start" => f.season_start = v,
            "season_end" => f.season_end = v,
            "certifications" => f.certifications.push(v),
            "description" => f.description = v,
            _ => {}
        }
    }
    f
}

async fn form_page(
    state: &AppState,
    viewer: &Viewer,
    id: Option<i64>,
    form: &ListingForm,
    errors: Value,
    status: StatusCode,
) -> Response {
    let lang = viewer.lang;
    let found = async {
        let cats = categories::all_with_aliases(&state.db).await?;
        let photos = match id {
            Some(id) => photos::of_listings(&state.db, &[id]).await?,
            None => Vec::new(),
        };
        // What the category sold for lately, once the form names a category and unit.
        let hint = match (form.category_id.parse::<i64>(), Unit::from_code(&form.unit)) {
            (Ok(c), Some(u)) => {
                let today = crate::stats::domain::local_date(chrono::Utc::now());
                match crate::stats::prices::hint(&state.db, c, u, today).await {
                    Ok(spread) => Some((u, spread)),
                    Err(AppError::Validation(_)) => None,
                    Err(e) => return Err(e),
                }
            }
            _ => None,
        };
        Ok::<_, AppError>((cats, photos, hint))
    }
    .await;
    let (cats, photo_rows, hint) = match found {
        Ok(f) => f,
        Err(e) => return viewer.error(state, e),
    };
    let categories = category_options_of(&cats, lang);
    let photos: Vec<Value> = photo_rows
        .iter()
        .map(|p| context! { id => p.id, thumb => photos::url(p.id, "thumb") })
        .collect();
    let hint = hint.map(|(unit, spread)| {
        context! {
            unit => unit.name_for(lang),
            sales => spread.map(|s| context! {
                median => format_yuan(s.median_fen),
                q1 => format_yuan(s.q1_fen),
                q3 => format_yuan(s.q3_fen),
                count => s.count,
            }),
        }
    });
    viewer.render_with(
        state,
        "listing_form.html",
        context! {
            id,
            hint,
            f => context! {
                title => &form.title,
                category_id => &form.category_id,
                unit => &form.unit,
                price_yuan => &form.price_yuan,
                stock => &form.stock,
                min_order => &form.min_order,
                grade => &form.grade,
                season_start => &form.season_start,
                season_end => &form.season_end,
                certifications => &form.certifications,
                description => &form.description,
            },
            categories,
            units => named(Unit::ALL, lang, Unit::code, Unit::name_for),
            grades => named(Grade::ALL, lang, Grade::code, Grade::name_for),
            certs => named(&Certification::ALL.iter().copied().filter(|c| c.is_current()).collect::<Vec<_>>(), lang, Certification::code, Certification::name_for),
            photos,
            max_photos => photos::MAX_PER_LISTING,
            errors,
        },
        status,
    )
}

pub async fn new_page(State(state): State<AppState>, viewer: Viewer) -> Response {
    let actor = match viewer.require("/producer/listings/new") {
        Ok(a) => a,
        Err(r) => return *r,
    };
    if let Err(e) = super::producer::producer_of(actor) {
        return viewer.error(&state, e);
    }
    let form = ListingForm {
        unit: Unit::Jin.code().into(),
        grade: Grade::Ungraded.code().into(),
        min_order: "1".into(),
        ..Default::default()
    };
    form_page(
        &state,
        &viewer,
        None,
        &form,
        Value::from(()),
        StatusCode::OK,
    )
    .await
}

pub async fn edit_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
) -> Response {
    let actor = match viewer.require(&format!("/producer/listings/{id}")) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    match listings::find_own(&state.db, actor, id).await {
        Ok(l) => {
            form_page(
                &state,
                &viewer,
                Some(id),
                &ListingForm::of(&l),
                Value::from(()),
                StatusCode::OK,
            )
            .await
        }
        Err(e) => viewer.error(&state, e),
    }
}

/// Saves the form: a new listing when `id` is `None`.
async fn save(
    state: AppState,
    headers: HeaderMap,
    actor: MaybeActor,
    id: Option<i64>,
    body: &[u8],
) -> Response {
    let viewer = Viewer::new(&headers, actor.0);
    let form = parse_form(body);
    let here = id.map_or("/producer/listings/new".to_string(), |id| {
        format!("/producer/listings/{id}")
    });
    let actor = match viewer.check_form(&state, &here, &form.csrf_token) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let saved = match form.request() {
        Err(fields) => Err(AppError::Validation(fields)),
        Ok(req) => match id {
            None => create(&state, actor, req).await,
            Some(id) => change(&state, actor, id, req).await,
        },
    };
    match saved {
        Ok(v) => Redirect::to(&format!("/producer/listings/{}?saved=1", v.id)).into_response(),
        Err(AppError::Validation(fields)) => {
            let fields = super::renamed(fields, "price_fen", "price_yuan");
            form_page(
                &state,
                &viewer,
                id,
                &form,
                errors_value(&fields),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => viewer.error(&state, e),
    }
}

pub async fn create_listing(
    State(state): State<AppState>,
    headers: HeaderMap,
    actor: MaybeActor,
    body: axum::body::Bytes,
) -> Response {
    save(state, headers, actor, None, &body).await
}

pub async fn update_listing(
    State(state): State<AppState>,
    headers: HeaderMap,
    actor: MaybeActor,
    Path(id): Path<i64>,
    body: axum::body::Bytes,
) -> Response {
    save(state, headers, actor, Some(id), &body).await
}

/// Pauses or resumes a listing from the list.
pub async fn set_status(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((id, to)): Path<(i64, String)>,
    Form(form): Form<TokenForm>,
) -> Response {
    let actor = match viewer.check_form(&state, "/producer/listings", &form.csrf_token) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let status = match to.as_str() {
        "pause" => "paused",
        "resume" => "active",
        "delete" => {
            let deleted = async {
                let txn = crate::db::write_txn(&state.db).await?;
                crate::catalog::listings::delete(&txn, actor, id).await?;
                txn.commit().await?;
                Ok::<_, AppError>(())
            }
            .await;
            return match deleted {
                Ok(()) => Redirect::to("/producer/listings").into_response(),
                Err(e) => viewer.error(&state, e),
            };
        }
        _ => return viewer.error(&state, AppError::NotFound("action")),
    };
    let req = ListingRequest {
        status: Some(status.into()),
        ..Default::default()
    };
    match change(&state, actor, id, req).await {
        Ok(_) => Redirect::to("/producer/listings").into_response(),
        Err(e) => viewer.error(&state, e),
    }
}

/// Removes one of a listing's photos.
pub async fn remove_photo(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((id, photo_id)): Path<(i64, i64)>,
    Form(form): Form<TokenForm>,
) -> Response {
    let here = format!("/producer/listings/{id}");
    let actor = match viewer.check_form(&state, &here, &form.csrf_token) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    match crate::catalog::photos::remove(&state.db, actor, id, photo_id).await {
        Ok(()) => Redirect::to(&format!("{here}#photos")).into_response(),
        Err(e) => viewer.error(&state, e),
    }
}

/// Takes a photo from the form's file field, resized on the server like the API's.
pub async fn add_photo(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    form: Multipart,
) -> Response {
    let super::Upload {
        token, bytes: file, ..
    } = match super::read_upload(form, "photo").await {
        Ok(read) => read,
        Err(e) => return viewer.error(&state, e),
    };
    let here = format!("/producer/listings/{id}");
    let actor = match viewer.check_form(&state, &here, &token) {
        Ok(a) => a.clone(),
        Err(r) => return *r,
    };
    let added = async {
        let l = listings::find_own(&state.db, &actor, id).await?;
        let prepared = photos::prepare_aside(file).await?;
        let txn = crate::db::write_txn(&state.db).await?;
        listings::find_own(&txn, &actor, id).await?;
        photos::add(&txn, id, prepared).await?;
        txn.commit().await?;
        Ok::<_, AppError>(l)
    }
    .await;
    match added {
        Ok(_) => Redirect::to(&here).into_response(),
        Err(AppError::Validation(fields)) => {
            match listings::find_own(&state.db, &actor, id).await {
                Ok(l) => {
                    form_page(
                        &state,
                        &viewer,
                        Some(id),
                        &ListingForm::of(&l),
                        errors_value(&fields),
                        StatusCode::UNPROCESSABLE_ENTITY,
                    )
                    .await
                }
                Err(e) => viewer.error(&state, e),
            }
        }
        Err(e) => viewer.error(&state, e),
    }
}
