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
use crate::http::state::AppState;
use crate::stats::chart::{self, Bar};
use crate::stats::domain::{Basis, Granularity, Period};
use crate::stats::rollup::{self, Figures, HouseholdIncome, Scope};
use crate::stats::targets::{self, Progress};
use crate::stats::views::{
    By, RollupQuery, RollupView, TrendQuery, TrendView, rollup_view, trend_view,
};

/// Page routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/officials", get(home))
        .route("/officials/regions/{code}", get(region_page))
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

fn percent(bp: Option<i64>) -> String {
    match bp {
        Some(bp) => {
            let sign = if bp < 0 { "-" } else { "+" };
            format!(
                "{sign}{}.{:02}%",
                bp.unsigned_abs() / 100,
                bp.unsigned_abs() % 100
            )
        }
        None => "—".into(),
    }
}

/// What a region's page shows: its roll-up by child region and by category, its trend over
/// eight quarters, its households (the reading is audited) and its targets.
async fn read_region(
    db: &DatabaseConnection,
    actor: &Actor,
    code: &str,
    q: &PageQuery,
) -> AppResult<(
    RollupView,
    RollupView,
    TrendView,
    Vec<HouseholdIncome>,
    Progress,
)> {
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
    Ok((view, by_category, trend, households, progress))
}

/// The page's three charts as SVG: the trend, and sales by child region and by category.
fn charts(
    lang: Lang,
    view: &RollupView,
    by_category: &RollupView,
    trend: &TrendView,
) -> (String, String, String) {
    let is_zh = lang == Lang::Zh;
    let trend_svg = chart::columns(
        if is_zh {
            "销售额趋势"
        } else {
            "Sales trend"
        },
        &trend
            .points
            .iter()
            .map(|p| Bar {
                label: p.period.clone(),
                value: p.figures.sales_fen,
                shown: format_yuan(p.figures.sales_fen),
            })
            .collect::<Vec<_>>(),
    );
    let bars = |rows: &[crate::stats::reports::ReportRow]| {
        rows.iter()
            .map(|r| Bar {
                label: r.name.clone(),
                value: r.figures.sales_fen,
                shown: format_yuan(r.figures.sales_fen),
            })
            .collect::<Vec<_>>()
    };
    let region_svg = chart::rows(
        if is_zh {
            "按下级地区"
        } else {
            "By region"
        },
        &bars(&view.breakdown),
    );
    let category_svg = chart::rows(
        if is_zh { "按品类" } else { "By category" },
        &bars(&by_category.breakdown),
    );
    (trend_svg, region_svg, category_svg)
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
    let result = read_region(&state.db, &actor, &code, &q).await;
    let (view, by_category, trend, households, progress) = match result {
        Ok(r) => r,
        Err(e) => return status_page(&state, lang, e),
    };
    let (trend_svg, region_svg, category_svg) = charts(lang, &view, &by_category, &trend);
    let drillable = view.region.level < RegionLevel::Village;
    let rows: Vec<Value> = view
        .breakdown
        .iter()
        .map(|r| {
            context! {
                code => &r.code,
                name => &r.name,
                link => drillable && !r.direct,
                f => figures_ctx(&r.figures),
            }
        })
        .collect();
    let categories: Vec<Value> = by_category
        .breakdown
        .iter()
        .map(|r| context! { name => &r.name, f => figures_ctx(&r.figures) })
        .collect();
    let households: Vec<Value> = households
        .iter()
        .take(100)
        .map(|h| context! { id => h.household_id, organization => h.organization_id, income => format_yuan(h.income_fen) })
        .collect();
    let goals = progress.targets.map(|t| {
        context! {
            sales => format_yuan(t.sales_fen),
            households => t.households,
            new_organizations => t.new_organizations,
        }
    });
    let q_basis = view.basis.code();
    let ctx = context! {
        region => context! { code => &view.region.code, name => &view.region.name, county => view.region.level == RegionLevel::County },
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
        trend_svg => Value::from_safe_string(trend_svg),
        region_svg => Value::from_safe_string(region_svg),
        category_svg => Value::from_safe_string(category_svg),
        goals,
        year => progress.year,
        actual_sales => format_yuan(progress.actual.sales_fen),
        actual_households => progress.actual.households,
        actual_orgs => progress.actual.new_organizations,
        sales_progress => percent(progress.sales_bp).trim_start_matches('+').to_string(),
        households_progress => percent(progress.households_bp).trim_start_matches('+').to_string(),
        orgs_progress => percent(progress.new_organizations_bp).trim_start_matches('+').to_string(),
        quarter => matches!(view.period, Period::Quarter(..)).then_some(&view.period),
        sign_out_token => actor.session_csrf(),
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
