//! `/prices`: 行情 for anyone, what each category sold for week by week and what is asked for it
//! now, in a province, prefecture or county; officials reach it from their region's page.

use axum::extract::{RawQuery, State};
use axum::response::Response;
use chrono::{Days, NaiveDate, Utc};
use minijinja::{Value, context};

use crate::catalog::domain::format_yuan;
use crate::error::AppError;
use crate::http::api::extract::parse_query;
use crate::http::lang::NameFor as _;
use crate::http::pages::{Lang, Viewer};
use crate::http::state::AppState;
use crate::stats::chart::{self, Slot};
use crate::stats::domain::local_date;
use crate::stats::prices::{self, PriceQuery, PriceSeries, PriceView, Spread};

fn spread_ctx(s: &Spread) -> Value {
    context! {
        count => s.count,
        median => format_yuan(s.median_fen),
        q1 => format_yuan(s.q1_fen),
        q3 => format_yuan(s.q3_fen),
        min => format_yuan(s.min_fen),
        max => format_yuan(s.max_fen),
    }
}

/// One category and unit: its latest week with sales, its offers and its weekly chart.
fn series_ctx(view: &PriceView, s: &PriceSeries, lang: Lang) -> Value {
    let name = match lang {
        Lang::Zh => &s.category_name,
        Lang::En => &s.category_name_en,
    };
    let unit = s.unit.name_for(lang);
    let first = NaiveDate::parse_from_str(&view.from, "%Y-%m-%d").unwrap_or_default();
    let slots: Vec<Slot> = (0..view.weeks)
        .map(|i| {
            let week = (first + Days::new(7 * u64::from(i))).to_string();
            let found = s.sales.iter().find(|w| w.week == week);
            Slot {
                label: week[5..].to_string(),
                values: found.map(|w| (w.spread.q1_fen, w.spread.median_fen, w.spread.q3_fen)),
                shown: found.map_or_else(String::new, |w| format_yuan(w.spread.median_fen)),
            }
        })
        .collect();
    let latest = s.sales.last();
    context! {
        name,
        unit,
        latest_week => latest.map(|w| w.week.clone()),
        latest => latest.map(|w| spread_ctx(&w.spread)),
        offers => s.offers.as_ref().map(spread_ctx),
        chart => Value::from_safe_string(chart::band(&format!("{name} · {unit}"), &slots)),
    }
}

/// The regions a reader can choose: the province, its prefectures and counties.
async fn choices(state: &AppState, lang: Lang) -> Result<Vec<Value>, AppError> {
    let rows = crate::catalog::regions::for_choice(&state.db).await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let name = match lang {
                Lang::Zh => r.name,
                Lang::En => r.name_en,
            };
            let indent = "\u{3000}".repeat(usize::try_from(r.level - 1).unwrap_or(0));
            context! { code => r.code, name => format!("{indent}{name}") }
        })
        .collect())
}

pub async fn market_page(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
    viewer: Viewer,
) -> Response {
    let lang = viewer.lang;
    let read = async {
        let q: PriceQuery = parse_query(raw.as_deref().unwrap_or(""))?;
        let view = prices::price_view(&state.db, &q, local_date(Utc::now())).await?;
        Ok::<_, AppError>((q, view, choices(&state, lang).await?))
    }
    .await;
    let (q, view, regions) = match read {
        Ok(r) => r,
        Err(e) => return viewer.error(&state, e),
    };
    let series: Vec<Value> = view
        .series
        .iter()
        .map(|s| series_ctx(&view, s, lang))
        .collect();
    viewer.render(
        &state,
        "prices.html",
        context! {
            region => context! {
                code => &view.region.code,
                name => match lang { Lang::Zh => &view.region.name, Lang::En => &view.region_name_en },
            },
            regions,
            from => &view.from,
            to => &view.to,
            weeks => view.weeks,
            category => q.category,
            series,
        },
    )
}
