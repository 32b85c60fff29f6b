//! `/officials/filings/...` and `/officials/regions/{code}/filings/...`: the quarterly
//! 成效统计表 as a form for the county, a review for the prefecture and a summary for the
//! province, all working without JavaScript.

use std::collections::{BTreeMap, HashMap};

use axum::Router;
use axum::extract::{DefaultBodyLimit, Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::Utc;
use minijinja::{Value, context};

use crate::catalog::domain::format_yuan;
use crate::catalog::import::fen_of;
use crate::error::{AppError, Validator};
use crate::http::pages::{Viewer, errors_value};
use crate::http::state::AppState;
use crate::stats::domain::Period;
use crate::stats::filings::{
    self, Decision, Declared, FilingView, Indicator, Platform, Summary, parse_quarter,
};

/// Page routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/officials/filings/{county}/{quarter}",
            get(filing_page).post(filing_form),
        )
        .route(
            "/officials/filings/{county}/{quarter}/review",
            post(review_form),
        )
        .route(
            "/officials/filings/{county}/{quarter}/revise",
            post(revise_form),
        )
        .route(
            "/officials/filings/{county}/{quarter}/evidence",
            post(evidence_form).layer(DefaultBodyLimit::max(
                filings::EVIDENCE_MAX_BYTES + 64 * 1024,
            )),
        )
        .route(
            "/officials/filings/{county}/{quarter}/evidence/{id}/delete",
            post(remove_evidence_form),
        )
        .route(
            "/officials/regions/{code}/filings/{quarter}",
            get(summary_page),
        )
        .route(
            "/officials/regions/{code}/filings/{quarter}/sign-off",
            post(sign_off_form),
        )
}

/// A value as the form shows it: yuan with two decimals for amounts, a whole number otherwise.
fn shown(i: Indicator, value: i64) -> String {
    if i.is_money() {
        format!("{}.{:02}", value / 100, value % 100)
    } else {
        value.to_string()
    }
}

fn platform_ctx(p: &Platform) -> Value {
    context! {
        sales => format_yuan(p.sales_fen),
        orders => p.orders,
        organizations => p.organizations,
        households => p.households,
        household_income => format_yuan(p.household_fen),
    }
}

fn indicator_rows(
    f: &FilingView,
    posted: Option<&HashMap<String, String>>,
    errors: &BTreeMap<String, String>,
) -> Vec<Value> {
    Indicator::ALL
        .iter()
        .map(|&i| {
            let d = f.indicators.get(i.code());
            let value = posted
                .and_then(|p| p.get(&format!("v_{}", i.code())).cloned())
                .or_else(|| d.map(|d| shown(i, d.value)))
                .unwrap_or_default();
            let note = posted
                .and_then(|p| p.get(&format!("n_{}", i.code())).cloned())
                .or_else(|| d.map(|d| d.note.clone()))
                .unwrap_or_default();
            let field = format!("indicators.{}", i.code());
            context! {
                code => i.code(),
                name_zh => i.name_zh(),
                name_en => i.name_en(),
                money => i.is_money(),
                value,
                note,
                shown => d.map(|d| if i.is_money() { format_yuan(d.value) } else { d.value.to_string() }),
                comment => f.comments.get(i.code()),
                evidence => f.evidence.iter().filter(|e| e.indicator == i.code()).map(|e| context! {
                    id => e.id, name => &e.name, size_kb => (e.size + 1023) / 1024, version => e.version,
                    removable => e.version > f.version,
                }).collect::<Vec<_>>(),
                error => errors.get(&field).or_else(|| errors.get(&format!("{field}.value"))).or_else(|| errors.get(&format!("{field}.note"))),
            }
        })
        .collect()
}

fn filing_ctx(
    f: &FilingView,
    posted: Option<&HashMap<String, String>>,
    errors: &BTreeMap<String, String>,
) -> Value {
    let quarter = parse_quarter(&f.quarter).ok();
    let (from, to) = quarter.map_or((0, 0), |q| (q.start_day(), q.end_day()));
    let day = |k: i32| format!("{}-{:02}-{:02}", k / 10_000, k / 100 % 100, k % 100);
    let steps: Vec<Value> = f
        .steps
        .iter()
        .map(|s| {
            context! {
                version => s.version,
                action => &s.action,
                status => s.status.code(),
                actor => s.actor_id,
                at => crate::stats::domain::local_date(s.at).to_string(),
                comments => s.comments.iter().map(|(k, v)| {
                    let name = Indicator::from_code(k).map(|i| (i.name_zh(), i.name_en()));
                    context! { code => k, name_zh => name.map(|n| n.0), name_en => name.map(|n| n.1), text => v }
                }).collect::<Vec<_>>(),
            }
        })
        .collect();
    context! {
        county => &f.county_code,
        county_name => &f.county_name,
        quarter => &f.quarter,
        status => f.status.code(),
        version => f.version,
        due => f.due.to_string(),
        late_days => f.late_days,
        platform => platform_ctx(&f.platform),
        indicators => indicator_rows(f, posted, errors),
        general_comment => f.comments.get("general"),
        may_save => f.may.iter().any(|m| m == "save"),
        may_submit => f.may.iter().any(|m| m == "submit"),
        may_review => f.may.iter().any(|m| m == "return"),
        may_accept => f.may.iter().any(|m| m == "accept"),
        may_revise => f.may.iter().any(|m| m == "revise"),
        ledger_from => day(from),
        ledger_to => day(to),
        steps,
        prefecture => crate::catalog::regions::parent_of(&f.county_code),
    }
}

fn field_messages(fields: &crate::error::FieldErrors) -> BTreeMap<String, String> {
    fields
        .iter()
        .map(|(k, v)| (k.clone(), v.message.clone()))
        .collect()
}

async fn filing_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((county, quarter)): Path<(String, String)>,
) -> Response {
    let here = format!("/officials/filings/{county}/{quarter}");
    show(
        &state,
        &viewer,
        &here,
        &quarter,
        "filing.html",
        async |actor, q| {
            let f = filings::view(&state.db, actor, &county, q, Utc::now()).await?;
            Ok(context! { f => filing_ctx(&f, None, &BTreeMap::new()) })
        },
    )
    .await
}

/// Reads the form's `v_<code>` (yuan for amounts, a whole number for counts) and `n_<code>`;
/// a blank value leaves the indicator not filled in. Field errors name `indicators.<code>`.
fn declared_of(form: &HashMap<String, String>) -> Result<BTreeMap<String, Declared>, AppError> {
    let mut v = Validator::default();
    let mut out = BTreeMap::new();
    for i in Indicator::ALL {
        let raw = form
            .get(&format!("v_{}", i.code()))
            .map_or("", |s| s.trim());
        if raw.is_empty() {
            continue;
        }
        let value = if i.is_money() {
            fen_of(raw)
        } else {
            raw.parse::<i64>().ok()
        };
        match value {
            Some(value) => {
                let note = form
                    .get(&format!("n_{}", i.code()))
                    .cloned()
                    .unwrap_or_default();
                out.insert(i.code().to_string(), Declared { value, note });
            }
            None => v.add(
                &format!("indicators.{}.value", i.code()),
                "invalid_format",
                if i.is_money() {
                    "an amount in yuan such as 1200.50"
                } else {
                    "a whole number such as 12"
                },
            ),
        }
    }
    v.finish()?;
    Ok(out)
}

/// `POST /officials/filings/{county}/{quarter}`: save, or save and submit (`action=submit`).
/// Errors come back on the form with what was typed.
async fn filing_form(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((county, quarter)): Path<(String, String)>,
    axum::Form(form): axum::Form<HashMap<String, String>>,
) -> Response {
    let here = format!("/officials/filings/{county}/{quarter}");
    let token = form.get("csrf_token").cloned().unwrap_or_default();
    let actor = match viewer.check_form(&state, &here, &token) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let q = match parse_quarter(&quarter) {
        Ok(q) => q,
        Err(e) => return viewer.error(&state, e),
    };
    let now = Utc::now();
    let saved = match declared_of(&form) {
        Ok(d) => filings::save(&state.db, actor, &county, q, &d, now).await,
        Err(e) => Err(e),
    };
    let done = match saved {
        Ok(_) if form.get("action").map(String::as_str) == Some("submit") => {
            filings::submit(&state.db, actor, &county, q, now).await
        }
        other => other,
    };
    match done {
        Ok(_) => Redirect::to(&here).into_response(),
        Err(AppError::Validation(fields)) => {
            let f = match filings::view(&state.db, actor, &county, q, now).await {
                Ok(f) => f,
                Err(e) => return viewer.error(&state, e),
            };
            let messages = field_messages(&fields);
            viewer.render_with(
                &state,
                "filing.html",
                context! { f => filing_ctx(&f, Some(&form), &messages), errors => errors_value(&fields) },
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
        Err(e) => viewer.error(&state, e),
    }
}

/// `POST /officials/filings/{county}/{quarter}/evidence`: a multipart form with `indicator`
/// and `file`; a refused file comes back as the form's error page.
async fn evidence_form(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((county, quarter)): Path<(String, String)>,
    form: Multipart,
) -> Response {
    let here = format!("/officials/filings/{county}/{quarter}");
    let up = match super::read_upload(form, "file").await {
        Ok(up) => up,
        Err(e) => return viewer.error(&state, e),
    };
    let indicator = up.fields.get("indicator").cloned().unwrap_or_default();
    let (token, name, bytes) = (up.token, up.file_name, up.bytes);
    act(
        &state,
        &viewer,
        &here,
        &token,
        &quarter,
        async |actor, q| {
            let e = filings::add_evidence(
                &state.db,
                actor,
                &county,
                q,
                &indicator,
                &name,
                bytes,
                Utc::now(),
            )
            .await?;
            Ok(format!("#row-{}", e.indicator))
        },
    )
    .await
}

/// `POST /officials/filings/{county}/{quarter}/evidence/{id}/delete`.
async fn remove_evidence_form(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((county, quarter, id)): Path<(String, String, i64)>,
    axum::Form(form): axum::Form<HashMap<String, String>>,
) -> Response {
    let here = format!("/officials/filings/{county}/{quarter}");
    let token = form.get("csrf_token").cloned().unwrap_or_default();
    act(
        &state,
        &viewer,
        &here,
        &token,
        &quarter,
        async |actor, q| {
            filings::remove_evidence(&state.db, actor, &county, q, id, Utc::now()).await?;
            Ok(String::new())
        },
    )
    .await
}

/// `POST /officials/filings/{county}/{quarter}/revise` with a `reason`.
async fn revise_form(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((county, quarter)): Path<(String, String)>,
    axum::Form(form): axum::Form<HashMap<String, String>>,
) -> Response {
    let here = format!("/officials/filings/{county}/{quarter}");
    let token = form.get("csrf_token").cloned().unwrap_or_default();
    let reason = form.get("reason").cloned().unwrap_or_default();
    act(
        &state,
        &viewer,
        &here,
        &token,
        &quarter,
        async |actor, q| {
            filings::revise(&state.db, actor, &county, q, &reason, Utc::now()).await?;
            Ok(String::new())
        },
    )
    .await
}

/// `POST /officials/filings/{county}/{quarter}/review`: `decision=accept`, or `decision=return`
/// with `c_<code>` and `c_general` comments.
async fn review_form(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((county, quarter)): Path<(String, String)>,
    axum::Form(form): axum::Form<HashMap<String, String>>,
) -> Response {
    let here = format!("/officials/filings/{county}/{quarter}");
    let token = form.get("csrf_token").cloned().unwrap_or_default();
    let decision = if form.get("decision").map(String::as_str) == Some("accept") {
        Decision::Accept
    } else {
        Decision::Return(
            form.iter()
                .filter_map(|(k, v)| Some((k.strip_prefix("c_")?.to_string(), v.clone())))
                .collect(),
        )
    };
    act(
        &state,
        &viewer,
        &here,
        &token,
        &quarter,
        async |actor, q| {
            filings::decide(&state.db, actor, &county, q, decision, Utc::now()).await?;
            Ok(String::new())
        },
    )
    .await
}

fn summary_ctx(s: &Summary) -> Value {
    let rows: Vec<Value> = s
        .counties
        .iter()
        .map(|r| {
            context! {
                code => &r.county_code,
                name => &r.county_name,
                status => r.status.code(),
                version => r.version,
                late_days => r.late_days,
                submitted => r.first_submitted_at.map(|t| crate::stats::domain::local_date(t).to_string()),
                sales => r.platform.as_ref().map(|p| format_yuan(p.sales_fen)),
            }
        })
        .collect();
    let totals: Vec<Value> = Indicator::ALL
        .iter()
        .map(|&i| {
            let v = s.indicators.get(i.code()).copied().unwrap_or(0);
            context! {
                name_zh => i.name_zh(),
                name_en => i.name_en(),
                value => if i.is_money() { format_yuan(v) } else { v.to_string() },
            }
        })
        .collect();
    context! {
        code => &s.region_code,
        name => &s.region_name,
        quarter => &s.quarter,
        due => s.due.to_string(),
        rows,
        counted => s.counted,
        platform => platform_ctx(&s.platform),
        totals,
        not_submitted => s.not_submitted.len(),
        returned => s.returned.len(),
        may_sign_off => s.may_sign_off,
        waiting => s.counties.iter().filter(|r| r.status == filings::Status::Accepted).count(),
    }
}

async fn summary_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((code, quarter)): Path<(String, String)>,
) -> Response {
    let here = format!("/officials/regions/{code}/filings/{quarter}");
    show(
        &state,
        &viewer,
        &here,
        &quarter,
        "filings.html",
        async |actor, q| {
            let s = filings::summary(&state.db, actor, &code, q, Utc::now()).await?;
            Ok(context! { s => summary_ctx(&s) })
        },
    )
    .await
}

async fn sign_off_form(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((code, quarter)): Path<(String, String)>,
    axum::Form(form): axum::Form<HashMap<String, String>>,
) -> Response {
    let here = format!("/officials/regions/{code}/filings/{quarter}");
    let token = form.get("csrf_token").cloned().unwrap_or_default();
    act(
        &state,
        &viewer,
        &here,
        &token,
        &quarter,
        async |actor, q| {
            filings::sign_off(&state.db, actor, &code, q, Utc::now()).await?;
            Ok(String::new())
        },
    )
    .await
}

/// Shows page `here` to its signed-in reader (others go to sign in first): the quarter read,
/// then `read` gives the template's context; the error page otherwise.
async fn show(
    state: &AppState,
    viewer: &Viewer,
    here: &str,
    quarter: &str,
    template: &str,
    read: impl AsyncFnOnce(&crate::accounts::Actor, Period) -> Result<Value, AppError>,
) -> Response {
    let actor = match viewer.require(here) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let read = match parse_quarter(quarter) {
        Ok(q) => read(actor, q).await,
        Err(e) => Err(e),
    };
    match read {
        Ok(ctx) => viewer.render(state, template, ctx),
        Err(e) => viewer.error(state, e),
    }
}

/// Does a form's action for its sender: the CSRF token checked against the session and the
/// quarter read first; back to `here` (and the anchor the action gives) when done, the error
/// page otherwise.
async fn act(
    state: &AppState,
    viewer: &Viewer,
    here: &str,
    token: &str,
    quarter: &str,
    action: impl AsyncFnOnce(&crate::accounts::Actor, Period) -> Result<String, AppError>,
) -> Response {
    let actor = match viewer.check_form(state, here, token) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let done = match parse_quarter(quarter) {
        Ok(q) => action(actor, q).await,
        Err(e) => Err(e),
    };
    match done {
        Ok(anchor) => Redirect::to(&format!("{here}{anchor}")).into_response(),
        Err(e) => viewer.error(state, e),
    }
}

/// The quarter whose report is due next on `today`: the last one that ended.
pub fn reporting_quarter(today: chrono::NaiveDate) -> Period {
    Period::containing(crate::stats::domain::Granularity::Quarter, today).prev()
}
