//! `/officials/...`: the officials' pages, server-rendered with inline SVG charts, readable
//! without JavaScript. They take the session cookie (or a bearer token) like the API.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use minijinja::{Value, context};
use sea_orm::DatabaseConnection;
use serde::Deserialize;

use crate::accounts::{Actor, Role};
use crate::catalog::domain::{RegionLevel, format_yuan};
use crate::error::{AppError, AppResult};
use crate::http::auth::MaybeActor;
use crate::http::pages::Lang;
use crate::http::pages::dashboard::{self, percent, row_name};
use crate::http::state::AppState;
use crate::stats::domain::{Basis, Granularity, Period};
use crate::stats::rollup::{self, Figures, HouseholdIncome, Scope};
use crate::stats::targets::{self, Progress};
use crate::stats::views::{
    By, RollupQuery, RollupView, TrendQuery, TrendView, rollup_view, trend_view,
};
use crate::stats::warnings::{self, WarningQuery, WarningView};

/// Page routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/officials", get(home))
        .route("/officials/regions/{code}", get(region_page))
        .route(
            "/officials/warnings/{id}/acknowledge",
            axum::routing::post(acknowledge_form),
        )
}

/// A warning as the officials' page lists it: the figures behind it, ready to read.
fn warning_ctx(w: &WarningView) -> Value {
    let d = &w.detail;
    let yuan = |k: &str| format_yuan(d[k].as_i64().unwrap_or(0));
    let unit = d["unit"]
        .as_str()
        .and_then(crate::catalog::domain::Unit::from_code);
    context! {
        id => w.id,
        kind => w.kind.code(),
        subject => &w.subject,
        occasion => &w.occasion,
        raised => crate::stats::domain::local_date(w.raised_at).to_string(),
        title => d["title"].as_str(),
        weeks => d["weeks"].as_i64(),
        stock => d["stock"].as_str(),
        unit_zh => unit.map(|u| u.name_zh()),
        unit_en => unit.map(|u| u.name_en()),
        target => yuan("target_fen"),
        needed => yuan("needed_fen"),
        actual => yuan("actual_fen"),
        before => yuan("before_fen"),
        after => yuan("after_fen"),
        before_quarter => d["before_quarter"].as_str(),
        acknowledged => w.acknowledged_at.map(|t| crate::stats::domain::local_date(t).to_string()),
        note => &w.note,
    }
}

/// The acknowledgement form's fields.
#[derive(Debug, Deserialize)]
struct AcknowledgeForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    note: String,
    /// The region page to go back to.
    #[serde(default)]
    back: String,
}

/// `POST /officials/warnings/{id}/acknowledge`: the page's form, back to the region's warnings.
async fn acknowledge_form(
    State(state): State<AppState>,
    viewer: crate::http::pages::Viewer,
    Path(id): Path<i64>,
    axum::Form(form): axum::Form<AcknowledgeForm>,
) -> Response {
    let back = if crate::catalog::domain::region_level(&form.back).is_some() {
        format!("/officials/regions/{}", form.back)
    } else {
        "/officials".to_string()
    };
    let actor = match viewer.check_form(&state, &back, &form.csrf_token) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    match warnings::acknowledge(&state.db, actor, id, || Ok(form.note), chrono::Utc::now()).await {
        Ok(_) => Redirect::to(&format!("{back}#warning-{id}")).into_response(),
        Err(e) => viewer.error(&state, e),
    }
}

/// The last quarter that ended, whose 成效统计表 a county fills in and the regions above sum
/// up; none below counties.
fn filing_link(level: RegionLevel) -> Option<String> {
    (level <= RegionLevel::County).then(|| {
        crate::http::pages::filings::reporting_quarter(crate::stats::domain::local_date(
            chrono::Utc::now(),
        ))
        .to_string()
    })
}

fn status_page(state: &AppState, lang: Lang, e: AppError) -> Response {
    let (status, code) = crate::http::error::status_and_code(&e);
    let mut r = state.pages.render(
        "officials.html",
        lang,
        context! { error => code, message => e.to_string() },
    );
    *r.status_mut() = status;
    r
}

async fn home(
    State(state): State<AppState>,
    headers: HeaderMap,
    MaybeActor(actor): MaybeActor,
) -> Response {
    let lang = Lang::of_request(&headers);
    match actor {
        Some(a) if a.is_admin() => Redirect::to("/officials/regions/510000").into_response(),
        Some(a) if a.role == Role::Official => Redirect::to(&format!(
            "/officials/regions/{}",
            a.user.region_code.clone().unwrap_or_default()
        ))
        .into_response(),
        Some(_) => status_page(&state, lang, AppError::Forbidden("for officials".into())),
        None => status_page(&state, lang, AppError::Unauthenticated),
    }
}

/// `?period=&basis=`.
#[derive(Debug, Default, Deserialize)]
struct PageQuery {
    period: Option<String>,
    basis: Option<Basis>,
}

fn figures_ctx(f: &Figures) -> Value {
    let quantities: Vec<String> = f
        .quantities
        .iter()
        .map(|(u, q)| {
            let unit =
                crate::catalog::domain::Unit::from_code(u).map_or(u.as_str(), |u| u.name_zh());
            format!("{q} {unit}")
        })
        .collect();
    context! {
        sales => format_yuan(f.sales_fen),
        adjustment => format_yuan(f.adjustment_fen),
        has_adjustment => f.adjustment_fen != 0,
        orders => f.orders,
        buyers => f.buyers,
        organizations => f.organizations,
        households => f.households,
        household_income => format_yuan(f.household_fen),
        quantities => quantities.join(" · "),
    }
}

/// What a region's page shows.
struct RegionRead {
    view: RollupView,
    by_category: RollupView,
    trend: TrendView,
    households: Vec<HouseholdIncome>,
    progress: Progress,
    trust: crate::stats::trust::Trust,
    /// The child regions, for the map (none below villages).
    children: Vec<crate::catalog::entity::region::Model>,
}

impl RegionRead {
    /// The dashboard atop the page, as of today.
    fn board(&self, lang: Lang) -> Value {
        dashboard::dashboard(&dashboard::Inputs {
            lang,
            view: &self.view,
            by_category: &self.by_category,
            trend: &self.trend,
            progress: &self.progress,
            children: &self.children,
            today: crate::stats::domain::local_date(chrono::Utc::now()),
        })
    }
}

/// What a region's page shows: its roll-up by child region and by category, its trend over
/// eight quarters, its households (the reading is audited), its targets and its children.
async fn read_region(
    db: &DatabaseConnection,
    actor: &Actor,
    code: &str,
    q: &PageQuery,
) -> AppResult<RegionRead> {
    let rq = RollupQuery {
        period: q.period.clone(),
        basis: q.basis,
        by: None,
    };
    let view = rollup_view(db, actor, code, &rq).await?;
    let by_category = rollup_view(
        db,
        actor,
        code,
        &RollupQuery {
            by: Some(By::Category),
            ..rq
        },
    )
    .await?;
    let trend = trend_view(
        db,
        actor,
        code,
        &TrendQuery {
            granularity: Some(Granularity::Quarter),
            periods: Some(8),
            end: None,
            basis: q.basis,
        },
    )
    .await?;
    let scope = Scope::of(
        view.basis,
        view.region.level,
        &view.region.code,
        view.period,
    );
    let households = rollup::households(db, &scope).await?;
    crate::stats::views::audit_households_view(db, actor, &scope, households.len()).await?;
    let progress =
        targets::progress(db, &view.region.code, view.region.level, view.period.year()).await?;
    let trust = crate::stats::trust::trust(db, &view.region.code, view.period).await?;
    let children = if view.region.level < RegionLevel::Village {
        crate::catalog::regions::children(db, Some(&view.region.code)).await?
    } else {
        Vec::new()
    };
    Ok(RegionRead {
        view,
        by_category,
        trend,
        households,
        progress,
        trust,
        children,
    })
}

/// The region's trust figures as the page shows them.
fn trust_ctx(t: &crate::stats::trust::Trust) -> Value {
    context! {
        certified_sales => format_yuan(t.certified_fen),
        recognised_sales => format_yuan(t.recognised_fen),
        certified_share => format!("{}.{:02}%", t.certified_share_bp / 100, t.certified_share_bp % 100),
        trace_scans => t.trace_scans,
    }
}

async fn region_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    MaybeActor(actor): MaybeActor,
    Path(code): Path<String>,
    Query(q): Query<PageQuery>,
) -> Response {
    let lang = Lang::of_request(&headers);
    let Some(actor) = actor else {
        return status_page(&state, lang, AppError::Unauthenticated);
    };
    let read = match read_region(&state.db, &actor, &code, &q).await {
        Ok(r) => r,
        Err(e) => return status_page(&state, lang, e),
    };
    let board = read.board(lang);
    let RegionRead {
        view,
        by_category,
        households,
        progress,
        trust,
        ..
    } = read;
    let drillable = view.region.level < RegionLevel::Village;
    let rows: Vec<Value> = view
        .breakdown
        .iter()
        .map(|r| {
            context! {
                code => &r.code,
                name => row_name(lang, r),
                link => drillable && !r.direct,
                f => figures_ctx(&r.figures),
            }
        })
        .collect();
    let categories: Vec<Value> = by_category
        .breakdown
        .iter()
        .map(|r| context! { name => row_name(lang, r), f => figures_ctx(&r.figures) })
        .collect();
    let households: Vec<Value> = households
        .iter()
        .take(100)
        .map(|h| context! { id => h.household_id, organization => h.organization_id, income => format_yuan(h.income_fen) })
        .collect();
    let warnings: Vec<Value> = match warnings::list(
        &state.db,
        &actor,
        &view.region.code,
        &WarningQuery::default(),
    )
    .await
    {
        Ok(ws) => ws.iter().map(warning_ctx).collect(),
        Err(e) => return status_page(&state, lang, e.into()),
    };
    let q_basis = view.basis.code();
    let ctx = context! {
        region => context! {
            code => &view.region.code,
            name => if lang == Lang::En { &view.region.name_en } else { &view.region.name },
            county => view.region.level == RegionLevel::County,
        },
        board,
        may_set_targets => actor.role == Role::Official,
        parent => crate::catalog::regions::parent_of(&view.region.code).filter(|p| actor.is_admin() || actor.official_covers(p)),
        period => &view.period,
        previous_period => &view.previous_period,
        basis => q_basis,
        closed => view.closed,
        f => figures_ctx(&view.figures),
        p => figures_ctx(&view.previous),
        sales_change => percent(view.change.sales_bp),
        household_change => percent(view.change.household_bp),
        rows,
        categories,
        households,
        year => progress.year,
        quarter => matches!(view.period, Period::Quarter(..)).then_some(&view.period),
        sign_out_token => actor.session_csrf(),
        warnings,
        may_acknowledge => actor.role == Role::Official,
        filing_quarter => filing_link(view.region.level),
        trust => trust_ctx(&trust),
    };
    let mut r = state.pages.render("officials.html", lang, ctx);
    if r.status() == StatusCode::OK {
        r.headers_mut().insert(
            axum::http::header::CACHE_CONTROL,
            axum::http::HeaderValue::from_static("private, no-store"),
        );
    }
    r
}
