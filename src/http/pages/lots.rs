//! Lots on the pages: a listing's lots with the form that records one
//! (`/producer/listings/{id}/lots`), each lot's printable label (`/lots/{code}/label`) with its
//! QR code (`/lots/{code}/qr.png`), and the public trace page the code leads to (`/t/{code}`),
//! kept under 10 KB for a phone scanning it in a shop.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use chrono::Utc;
use minijinja::{Value, context};

use crate::catalog::domain::QuantityInput;
use crate::catalog::lots::{self, LotInput, Trace};
use crate::db::in_write_txn;
use crate::error::AppError;
use crate::http::lang::NameFor;
use crate::http::pages::{Lang, Viewer, errors_value};
use crate::http::state::AppState;

/// Page routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/producer/listings/{id}/lots",
            get(lots_page).post(record_form),
        )
        .route("/lots/{code}/label", get(label_page))
        .route("/lots/{code}/qr.png", get(qr_png))
        .route("/t/{code}", get(trace_page))
}

/// The lot form as typed.
#[derive(Debug, Default, serde::Deserialize)]
pub struct LotForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    harvested_on: String,
    #[serde(default)]
    base: String,
    #[serde(default)]
    village_code: String,
    #[serde(default)]
    households: String,
    #[serde(default)]
    quantity: String,
}

async fn lots_page(State(state): State<AppState>, viewer: Viewer, Path(id): Path<i64>) -> Response {
    lots_with(
        &state,
        &viewer,
        id,
        &LotForm::default(),
        Value::from(()),
        StatusCode::OK,
    )
    .await
}

async fn lots_with(
    state: &AppState,
    viewer: &Viewer,
    id: i64,
    form: &LotForm,
    errors: Value,
    status: StatusCode,
) -> Response {
    let actor = match viewer.require(&format!("/producer/listings/{id}/lots")) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let read = async {
        let (l, _) = lots::recordable(&state.db, actor, id).await?;
        let list = lots::of_listing(&state.db, Some(actor), id).await?;
        Ok::<_, AppError>((l, list))
    }
    .await;
    let (l, list) = match read {
        Ok(r) => r,
        Err(e) => return viewer.error(state, e),
    };
    viewer.render_with(
        state,
        "lots.html",
        context! {
            listing => context! { id => l.id, title => &l.title, unit => l.unit.name_for(viewer.lang), origin => &l.origin_region_code },
            lots => list.iter().map(|x| context! {
                code => &x.code, harvested_on => x.harvested_on.to_string(), base => &x.base,
                village => &x.village_name, households => x.households, quantity => &x.quantity, scans => x.scans,
            }).collect::<Vec<_>>(),
            f => context! {
                harvested_on => &form.harvested_on, base => &form.base, village_code => &form.village_code,
                households => &form.households, quantity => &form.quantity,
            },
            errors,
        },
        status,
    )
}

/// `POST /producer/listings/{id}/lots`: records a lot; a refused form comes back with its
/// errors beside its fields.
async fn record_form(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    axum::Form(form): axum::Form<LotForm>,
) -> Response {
    let here = format!("/producer/listings/{id}/lots");
    let actor = match viewer.check_form(&state, &here, &form.csrf_token) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let households = form.households.trim();
    let input = LotInput {
        harvested_on: Some(form.harvested_on.clone()),
        base: Some(form.base.clone()),
        village_code: Some(form.village_code.clone()),
        households: match households {
            "" => Some(0),
            n => Some(n.parse().unwrap_or(-1)),
        },
        quantity: (!form.quantity.trim().is_empty())
            .then(|| QuantityInput::Text(form.quantity.trim().to_string())),
    };
    let done = in_write_txn(&state.db, async |txn| {
        lots::record(txn, actor, id, &input, Utc::now()).await
    })
    .await;
    match done {
        Ok(_) => Redirect::to(&here).into_response(),
        Err(AppError::Validation(fields)) => {
            lots_with(
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

/// What a trace page and a label show, in the reader's language.
fn trace_ctx(t: &Trace, lang: Lang) -> Value {
    let zh = lang == Lang::Zh;
    context! {
        code => &t.code,
        product => &t.product,
        category => if zh { &t.category_zh } else { &t.category_en },
        organization => &t.organization,
        organization_id => t.organization_id,
        village => if zh { &t.village_zh } else { &t.village_en },
        place => if zh { &t.place_zh } else { &t.place_en },
        harvested_on => t.harvested_on.to_string(),
        base => &t.base,
        households => t.households,
        quantity => &t.quantity,
        unit => t.unit.name_for(lang),
        certificates => t.certificates.iter().map(|c| context! {
            kind => c.kind.name_for(lang), number => &c.number, issuer => &c.issuer,
            valid_from => c.valid_from.map(|d| d.to_string()), valid_until => c.valid_until.map(|d| d.to_string()),
        }).collect::<Vec<_>>(),
        scans => t.scans,
    }
}

/// `/t/{code}`: the public trace page; each opening counts as a scan.
async fn trace_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(code): Path<String>,
) -> Response {
    let traced = async {
        let txn = crate::db::write_txn(&state.db).await?;
        let t = lots::trace(&txn, &code, true).await?;
        txn.commit().await?;
        Ok::<_, AppError>(t)
    }
    .await;
    match traced {
        Ok(t) => viewer.render(
            &state,
            "trace.html",
            context! { l => trace_ctx(&t, viewer.lang) },
        ),
        Err(e) => viewer.error(&state, e),
    }
}

/// `/lots/{code}/label`: the lot's 承诺达标合格证 to print, its QR code leading to the trace
/// page.
async fn label_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(code): Path<String>,
) -> Response {
    let read = async {
        let t = lots::trace(&state.db, &code, false).await?;
        let url = lots::trace_url(&state.settings.public_url(), &t.code);
        Ok::<_, AppError>((t, url))
    }
    .await;
    match read {
        Ok((t, url)) => viewer.render(
            &state,
            "label.html",
            context! {
                l => trace_ctx(&t, viewer.lang),
                url,
                today => crate::days::local_date(Utc::now()).to_string(),
            },
        ),
        Err(e) => viewer.error(&state, e),
    }
}

/// `/lots/{code}/qr.png`: the QR code of the lot's trace page.
async fn qr_png(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(code): Path<String>,
) -> Response {
    let made = async {
        let lot = lots::by_code(&state.db, &code).await?;
        lots::qr_png(&lots::trace_url(&state.settings.public_url(), &lot.code), 6)
    }
    .await;
    match made {
        Ok(png) => (
            StatusCode::OK,
            [
                (header::CONTENT_TYPE, "image/png"),
                (header::CACHE_CONTROL, "public, max-age=86400"),
            ],
            png,
        )
            .into_response(),
        Err(e) => viewer.error(&state, e),
    }
}
