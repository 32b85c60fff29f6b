//! `/officials/regions/{code}/buyers`: who bought what a region sold, and what the buyers
//! within it bought, for the officials over the region; the same reading as
//! `/api/v1/stats/regions/{code}/buyers`, in three tables (by unit, by kind, by region).

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use minijinja::{Value, context};
use serde::Deserialize;

use crate::catalog::domain::format_yuan;
use crate::error::{AppError, AppResult};
use crate::http::pages::{Lang, Viewer};
use crate::http::state::AppState;
use crate::stats::buyers::{BuyerBy, BuyerQuery, BuyerRollup, Side, rollup};
use crate::stats::domain::{Basis, Granularity, Period, local_date};

/// Page routes.
pub fn router() -> Router<AppState> {
    Router::new().route("/officials/regions/{code}/buyers", get(buyers_page))
}

/// `?period=&basis=&side=` as typed in the address.
#[derive(Debug, Default, Deserialize)]
struct PageQuery {
    period: Option<String>,
    basis: Option<String>,
    side: Option<String>,
}

/// A word of the address that must be one of an enum's codes.
fn choice<T: serde::de::DeserializeOwned>(
    field: &'static str,
    raw: Option<&str>,
) -> AppResult<Option<T>> {
    raw.filter(|s| !s.is_empty())
        .map(|s| {
            serde_json::from_value(serde_json::Value::String(s.to_string()))
                .map_err(|_| AppError::field(field, "unknown_value", "not one of the choices"))
        })
        .transpose()
}

fn rows_ctx(r: &BuyerRollup, lang: Lang) -> Vec<Value> {
    r.rows
        .iter()
        .map(|row| {
            let name = if lang == Lang::En && !row.name_en.is_empty() {
                &row.name_en
            } else {
                &row.name
            };
            context! {
                key => &row.key,
                name => name,
                sales => format_yuan(row.sales_fen),
                orders => row.orders,
                assisted => format_yuan(row.assisted_fen),
            }
        })
        .collect()
}

async fn buyers_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(code): Path<String>,
    Query(q): Query<PageQuery>,
) -> Response {
    let actor = match viewer.require(&format!("/officials/regions/{code}/buyers")) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let lang = viewer.lang;
    let read = async {
        let side: Side = choice("side", q.side.as_deref())?.unwrap_or_default();
        let basis: Option<Basis> = choice("basis", q.basis.as_deref())?;
        let place = match side {
            Side::Sales => BuyerBy::Province,
            Side::Purchases => BuyerBy::SellerCounty,
        };
        let mut tables = Vec::new();
        for by in [BuyerBy::Unit, BuyerBy::Kind, place] {
            let query = BuyerQuery {
                period: q.period.clone(),
                basis,
                side: Some(side),
                by: Some(by),
            };
            tables.push(rollup(&state.db, actor, &code, &query).await?);
        }
        Ok::<_, AppError>(tables)
    }
    .await;
    let tables = match read {
        Ok(t) => t,
        Err(e) => return viewer.error(&state, e),
    };
    let first = &tables[0];
    let now = Period::containing(Granularity::Quarter, local_date(chrono::Utc::now()));
    let periods = [now.prev(), now, Period::Year(now.year())].map(|p| p.to_string());
    viewer.render_with(
        &state,
        "region_buyers.html",
        context! {
            region => context! {
                code => &first.region_code,
                name => if lang == Lang::En { &first.region_name_en } else { &first.region_name },
            },
            period => first.period.to_string(),
            periods,
            basis => first.basis.code(),
            side => match first.side { Side::Sales => "sales", Side::Purchases => "purchases" },
            total => format_yuan(first.sales_fen),
            orders => first.orders,
            assisted => format_yuan(first.assisted_fen),
            by_unit => rows_ctx(&tables[0], lang),
            by_kind => rows_ctx(&tables[1], lang),
            by_place => rows_ctx(&tables[2], lang),
        },
        StatusCode::OK,
    )
}
