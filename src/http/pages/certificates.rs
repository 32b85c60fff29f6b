//! Certificates on the pages: a producer's list with the form that records one
//! (`/producer/certificates`), each certificate's page with what its reader may do there
//! (change, attach scans, submit; verify or reject; object; decide objections), the public
//! notices (`/certificates/notices`) and an official's queue (`/officials/certificates`).
//! Every form works without JavaScript and acts through the same checks as the API.

use std::collections::HashMap;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::Utc;
use minijinja::{Value, context};
use sea_orm::{ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder};

use crate::catalog::certificates::{self, CertificateInput, CertificateView, Decision};
use crate::catalog::domain::Certification;
use crate::catalog::entity::listing;
use crate::db::in_write_txn;
use crate::error::AppError;
use crate::http::lang::NameFor;
use crate::http::pages::{Viewer, errors_value};
use crate::http::state::AppState;

/// Page routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/producer/certificates", get(mine_page).post(record_form))
        .route("/certificates/notices", get(notices_page))
        .route("/officials/certificates", get(queue_page))
        .route(
            "/certificates/{id}",
            get(certificate_page).post(change_form),
        )
        .route(
            "/certificates/{id}/files",
            post(file_form).layer(DefaultBodyLimit::max(
                crate::evidence::MAX_BYTES + 64 * 1024,
            )),
        )
        .route(
            "/certificates/{id}/files/{file}/delete",
            post(remove_file_form),
        )
        .route("/certificates/{id}/submit", post(submit_form))
        .route("/certificates/{id}/decide", post(decide_form))
        .route("/certificates/{id}/objections", post(object_form))
        .route(
            "/certificates/{id}/objections/{objection}",
            post(objection_form),
        )
}

/// A certificate for the templates, in the reader's language.
fn certificate_ctx(c: &CertificateView, viewer: &Viewer) -> Value {
    let lang = viewer.lang;
    context! {
        id => c.id,
        organization => &c.organization_name,
        organization_id => c.organization_id,
        kind => c.kind.code(),
        kind_name => c.kind.name_for(lang),
        number => &c.number,
        issuer => &c.issuer,
        products => &c.products,
        bases => &c.bases,
        listings => &c.listings.iter().map(|l| context! { id => l.id, title => &l.title }).collect::<Vec<_>>(),
        valid_from => c.valid_from.map(|d| d.to_string()),
        valid_until => c.valid_until.map(|d| d.to_string()),
        status => c.status.code(),
        status_name => c.status.name_for(lang),
        reason => &c.reason,
        notice_until => c.notice_until.map(|d| d.to_string()),
        files => c.files.as_ref().map(|fs| fs.iter().map(|f| context! {
            id => f.id, name => &f.name, size_kb => (f.size + 1023) / 1024,
        }).collect::<Vec<_>>()),
        objections => c.objections.as_ref().map(|os| os.iter().map(|o| context! {
            id => o.id, reason => &o.reason, status => o.status.code(), status_name => o.status.name_for(lang),
            decision => &o.decision, at => o.created_at.with_timezone(&crate::days::china()).format("%Y-%m-%d %H:%M").to_string(),
        }).collect::<Vec<_>>()),
        may => context! {
            edit => c.may.edit, submit => c.may.submit, decide => c.may.decide,
            object => c.may.object, decide_objections => c.may.decide_objections,
        },
    }
}

/// The kinds a form offers: every kind that may still be recorded.
fn kinds(viewer: &Viewer) -> Vec<Value> {
    Certification::ALL
        .iter()
        .filter(|k| k.is_current())
        .map(|k| context! { code => k.code(), name => k.name_for(viewer.lang) })
        .collect()
}

/// The certificate form as typed, with repeated `listing_ids`.
fn input_of(form: &[(String, String)]) -> CertificateInput {
    let one = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let optional_day = |name: &str| one(name).filter(|v| !v.trim().is_empty());
    CertificateInput {
        kind: one("kind"),
        number: one("number"),
        issuer: one("issuer"),
        products: one("products"),
        bases: one("bases"),
        listing_ids: Some(
            form.iter()
                .filter(|(k, _)| k == "listing_ids")
                .filter_map(|(_, v)| v.parse().ok())
                .collect(),
        ),
        valid_from: optional_day("valid_from"),
        valid_until: optional_day("valid_until"),
    }
}

fn token_of(form: &[(String, String)]) -> String {
    form.iter()
        .find(|(k, _)| k == "csrf_token")
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

/// The organization's listings a certificate may cover, those ticked marked.
async fn listing_choices(
    state: &AppState,
    organization_id: i64,
    ticked: &[i64],
) -> Result<Vec<Value>, AppError> {
    Ok(listing::Entity::find()
        .filter(listing::Column::OrganizationId.eq(organization_id))
        .filter(listing::Column::DeletedAt.is_null())
        .order_by_asc(listing::Column::Id)
        .all(&state.db)
        .await?
        .into_iter()
        .map(|l| context! { id => l.id, title => l.title, ticked => ticked.contains(&l.id) })
        .collect())
}

/// `/producer/certificates`: the organization's certificates and the form for a new one.
async fn mine_page(State(state): State<AppState>, viewer: Viewer) -> Response {
    mine_with(&state, &viewer, &[], Value::from(()), StatusCode::OK).await
}

async fn mine_with(
    state: &AppState,
    viewer: &Viewer,
    posted: &[(String, String)],
    errors: Value,
    status: StatusCode,
) -> Response {
    let actor = match viewer.require("/producer/certificates") {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let read = async {
        let org = super::producer::producer_of(actor)?;
        let list = certificates::of_organization(&state.db, Some(actor), org).await?;
        let ticked: Vec<i64> = input_of(posted).listing_ids.unwrap_or_default();
        let choices = listing_choices(state, org, &ticked).await?;
        Ok::<_, AppError>((list, choices))
    }
    .await;
    let (list, choices) = match read {
        Ok(r) => r,
        Err(e) => return viewer.error(state, e),
    };
    let value = |name: &str| {
        posted
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    viewer.render_with(
        state,
        "certificates.html",
        context! {
            mode => "mine",
            list => list.iter().map(|c| certificate_ctx(c, viewer)).collect::<Vec<_>>(),
            kinds => kinds(viewer),
            choices,
            f => context! {
                kind => value("kind"), number => value("number"), issuer => value("issuer"),
                products => value("products"), bases => value("bases"),
                valid_from => value("valid_from"), valid_until => value("valid_until"),
            },
            errors,
        },
        status,
    )
}

/// `POST /producer/certificates`: records a draft, then shows it; a refused form comes back
/// with its errors beside its fields.
async fn record_form(
    State(state): State<AppState>,
    viewer: Viewer,
    axum::Form(form): axum::Form<Vec<(String, String)>>,
) -> Response {
    let actor = match viewer.check_form(&state, "/producer/certificates", &token_of(&form)) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let input = input_of(&form);
    let done = match super::producer::producer_of(actor) {
        Ok(org) => {
            in_write_txn(&state.db, async |txn| {
                certificates::record(txn, actor, org, &input, Utc::now()).await
            })
            .await
        }
        Err(e) => Err(e),
    };
    match done {
        Ok(c) => Redirect::to(&format!("/certificates/{}", c.id)).into_response(),
        Err(AppError::Validation(fields)) => {
            mine_with(
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

/// `/certificates/{id}`: the certificate, with the forms its reader may use.
async fn certificate_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Response {
    certificate_with(&state, &viewer, &id, &[], Value::from(()), StatusCode::OK).await
}

async fn certificate_with(
    state: &AppState,
    viewer: &Viewer,
    id: &str,
    posted: &[(String, String)],
    errors: Value,
    status: StatusCode,
) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return viewer.error(state, AppError::NotFound("certificate"));
    };
    let read = async {
        let c = certificates::view(&state.db, viewer.actor.as_ref(), id).await?;
        let ticked: Vec<i64> = if posted.is_empty() {
            c.listings.iter().map(|l| l.id).collect()
        } else {
            input_of(posted).listing_ids.unwrap_or_default()
        };
        let choices = if c.may.edit {
            listing_choices(state, c.organization_id, &ticked).await?
        } else {
            Vec::new()
        };
        Ok::<_, AppError>((c, choices))
    }
    .await;
    let (c, choices) = match read {
        Ok(r) => r,
        Err(e) => return viewer.error(state, e),
    };
    let value = |name: &str, current: String| {
        posted
            .iter()
            .find(|(k, _)| k == name)
            .map_or(current, |(_, v)| v.clone())
    };
    let f = context! {
        kind => value("kind", c.kind.code().into()),
        number => value("number", c.number.clone()),
        issuer => value("issuer", c.issuer.clone()),
        products => value("products", c.products.clone()),
        bases => value("bases", c.bases.clone()),
        valid_from => value("valid_from", c.valid_from.map(|d| d.to_string()).unwrap_or_default()),
        valid_until => value("valid_until", c.valid_until.map(|d| d.to_string()).unwrap_or_default()),
    };
    viewer.render_with(
        state,
        "certificate.html",
        context! {
            c => certificate_ctx(&c, viewer),
            kinds => kinds(viewer),
            choices,
            f,
            errors,
        },
        status,
    )
}

/// `POST /certificates/{id}`: the holder's changes; refused fields come back beside them.
async fn change_form(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    axum::Form(form): axum::Form<Vec<(String, String)>>,
) -> Response {
    let here = format!("/certificates/{id}");
    let actor = match viewer.check_form(&state, &here, &token_of(&form)) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let Ok(n) = id.parse::<i64>() else {
        return viewer.error(&state, AppError::NotFound("certificate"));
    };
    let input = input_of(&form);
    let done = in_write_txn(&state.db, async |txn| {
        certificates::change(txn, actor, n, &input, Utc::now()).await
    })
    .await;
    match done {
        Ok(_) => Redirect::to(&here).into_response(),
        Err(AppError::Validation(fields)) => {
            certificate_with(
                &state,
                &viewer,
                &id,
                &form,
                errors_value(&fields),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => viewer.error(&state, e),
    }
}

/// Does a certificate form's action for its sender in one write transaction: the CSRF token
/// checked against the session, the id read; back to the certificate's page when done, the
/// error page otherwise.
async fn act<T>(
    state: &AppState,
    viewer: &Viewer,
    id: &str,
    token: &str,
    action: impl AsyncFnOnce(&DatabaseTransaction, &crate::accounts::Actor, i64) -> Result<T, AppError>,
) -> Response {
    let here = format!("/certificates/{id}");
    let actor = match viewer.check_form(state, &here, token) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let done = match id.parse::<i64>() {
        Ok(n) => in_write_txn(&state.db, async |txn| action(txn, actor, n).await).await,
        Err(_) => Err(AppError::NotFound("certificate")),
    };
    match done {
        Ok(_) => Redirect::to(&here).into_response(),
        Err(e) => viewer.error(state, e),
    }
}

/// `POST /certificates/{id}/files`: a multipart form with `file`.
async fn file_form(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    form: Multipart,
) -> Response {
    let up = match super::read_upload(form, "file").await {
        Ok(up) => up,
        Err(e) => return viewer.error(&state, e),
    };
    let (token, name, bytes) = (up.token, up.file_name, up.bytes);
    act(&state, &viewer, &id, &token, async |txn, actor, n| {
        certificates::add_file(txn, actor, n, &name, bytes, Utc::now()).await
    })
    .await
}

/// `POST /certificates/{id}/files/{file}/delete`.
async fn remove_file_form(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((id, file)): Path<(String, String)>,
    axum::Form(form): axum::Form<HashMap<String, String>>,
) -> Response {
    let token = form.get("csrf_token").cloned().unwrap_or_default();
    act(&state, &viewer, &id, &token, async |txn, actor, n| {
        let file = file.parse().map_err(|_| AppError::NotFound("file"))?;
        certificates::remove_file(txn, actor, n, file).await
    })
    .await
}

/// `POST /certificates/{id}/submit`.
async fn submit_form(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    axum::Form(form): axum::Form<HashMap<String, String>>,
) -> Response {
    let token = form.get("csrf_token").cloned().unwrap_or_default();
    act(&state, &viewer, &id, &token, async |txn, actor, n| {
        certificates::submit(txn, actor, n, Utc::now()).await
    })
    .await
}

/// `POST /certificates/{id}/decide` with `decision` (`approve` or `reject`) and a `reason`.
async fn decide_form(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    axum::Form(form): axum::Form<HashMap<String, String>>,
) -> Response {
    let token = form.get("csrf_token").cloned().unwrap_or_default();
    let decision = match form.get("decision").map(String::as_str) {
        Some("approve") => Decision::Approve,
        _ => Decision::Reject(form.get("reason").cloned().unwrap_or_default()),
    };
    act(&state, &viewer, &id, &token, async |txn, actor, n| {
        certificates::decide(txn, actor, n, decision, Utc::now()).await
    })
    .await
}

/// `POST /certificates/{id}/objections` with a `reason`.
async fn object_form(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    axum::Form(form): axum::Form<HashMap<String, String>>,
) -> Response {
    let token = form.get("csrf_token").cloned().unwrap_or_default();
    let reason = form.get("reason").cloned().unwrap_or_default();
    act(&state, &viewer, &id, &token, async |txn, actor, n| {
        certificates::object(txn, actor, n, &reason, Utc::now()).await
    })
    .await
}

/// `POST /certificates/{id}/objections/{objection}` with `decision` (`uphold` or `dismiss`)
/// and a `reason`.
async fn objection_form(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((id, objection)): Path<(String, String)>,
    axum::Form(form): axum::Form<HashMap<String, String>>,
) -> Response {
    let token = form.get("csrf_token").cloned().unwrap_or_default();
    let uphold = form.get("decision").map(String::as_str) == Some("uphold");
    let reason = form.get("reason").cloned().unwrap_or_default();
    act(&state, &viewer, &id, &token, async |txn, actor, n| {
        let objection = objection
            .parse()
            .map_err(|_| AppError::NotFound("objection"))?;
        certificates::decide_objection(txn, actor, n, objection, uphold, &reason, Utc::now()).await
    })
    .await
}

/// `/certificates/notices`: every certificate on public notice, for anyone.
async fn notices_page(State(state): State<AppState>, viewer: Viewer) -> Response {
    match certificates::notices(&state.db, viewer.actor.as_ref()).await {
        Ok(list) => viewer.render(
            &state,
            "certificates.html",
            context! {
                mode => "notices",
                list => list.iter().map(|c| certificate_ctx(c, &viewer)).collect::<Vec<_>>(),
            },
        ),
        Err(e) => viewer.error(&state, e),
    }
}

/// `/officials/certificates`: an official's queue.
async fn queue_page(State(state): State<AppState>, viewer: Viewer) -> Response {
    let actor = match viewer.require("/officials/certificates") {
        Ok(a) => a,
        Err(r) => return *r,
    };
    match certificates::queue(&state.db, actor, Utc::now()).await {
        Ok(q) => {
            let each = |list: &[CertificateView]| {
                list.iter()
                    .map(|c| certificate_ctx(c, &viewer))
                    .collect::<Vec<_>>()
            };
            viewer.render(
                &state,
                "certificates.html",
                context! {
                    mode => "queue",
                    review => each(&q.awaiting_review),
                    objected => each(&q.objected),
                    on_notice => each(&q.on_notice),
                    expiring => each(&q.expiring),
                },
            )
        }
        Err(e) => viewer.error(&state, e),
    }
}
