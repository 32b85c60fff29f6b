//! The producers' pages: today's work at a glance, and the bulk import of listings from a
//! CSV or XLSX sheet with a report of every refused row.

use crate::http::lang::NameFor;
use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::{Value, context};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::Viewer;
use crate::accounts::{Actor, Role};
use crate::catalog::domain::{ListingStatus, Quantity, format_yuan};
use crate::catalog::entity::listing;
use crate::catalog::import::{self, Report};
use crate::error::AppError;
use crate::http::state::AppState;
use crate::orders::domain::OrderStatus;
use crate::orders::entity::order;

/// Listings with less than this many units left are shown as running low.
const LOW_STOCK: i64 = 20 * 1000;

pub(crate) fn producer_of(actor: &Actor) -> Result<i64, AppError> {
    match (actor.role, actor.organization_id()) {
        (Role::Producer, Some(org)) => Ok(org),
        _ => Err(AppError::Forbidden(
            "these pages are for producers of a cooperative or enterprise".into(),
        )),
    }
}

/// `/producer`: orders waiting on the cooperative, and listings running low.
pub async fn dashboard(State(state): State<AppState>, viewer: Viewer) -> Response {
    let actor = match viewer.require("/producer") {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let found = async {
        let org = producer_of(actor)?;
        let waiting = order::Entity::find()
            .filter(order::Column::OrganizationId.eq(org))
            .filter(
                order::Column::Status
                    .is_in([OrderStatus::Placed.code(), OrderStatus::Confirmed.code()]),
            )
            .order_by_asc(order::Column::Id)
            .limit(50)
            .all(&state.db)
            .await?;
        let low = listing::Entity::find()
            .filter(listing::Column::OrganizationId.eq(org))
            .filter(listing::Column::DeletedAt.is_null())
            .filter(listing::Column::Status.eq(ListingStatus::Active.code()))
            .filter(listing::Column::StockMilli.lt(LOW_STOCK))
            .order_by_asc(listing::Column::StockMilli)
            .limit(20)
            .all(&state.db)
            .await?;
        // Open purchase requests within reach of the cooperative's listings.
        let requests: Vec<_> = crate::matching::requests::requests_for(&state.db, actor)
            .await?
            .into_iter()
            .filter(|r| r.status == crate::matching::domain::RequestStatus::Open)
            .take(10)
            .collect();
        Ok::<_, AppError>((waiting, low, requests))
    }
    .await;
    let (waiting, low, requests) = match found {
        Ok(f) => f,
        Err(e) => return viewer.error(&state, e),
    };
    let lang = viewer.lang;
    let waiting: Vec<Value> = waiting
        .iter()
        .map(|o| {
            let status = o.status;
            context! {
                id => o.id,
                total => format_yuan(o.total_fen),
                recipient => &o.recipient_name,
                status_name => status.name_for(lang),
            }
        })
        .collect();
    let low: Vec<Value> = low
        .iter()
        .map(|l| {
            let unit = l.unit;
            context! {
                id => l.id,
                title => &l.title,
                stock => Quantity::from_milli(l.stock_milli).to_string(),
                unit => unit.name_for(lang),
            }
        })
        .collect();
    let requests: Vec<Value> = requests
        .iter()
        .map(|r| {
            context! {
                id => r.id,
                title => &r.title,
                quantity => r.quantity.to_string(),
                unit => r.unit.name_for(lang),
                max_price => &r.max_price_display,
                deliver_by => r.deliver_by.to_string(),
            }
        })
        .collect();
    viewer.render(&state, "producer.html", context! { waiting, low, requests })
}

/// `/producer/import`: the upload form.
pub async fn import_page(State(state): State<AppState>, viewer: Viewer) -> Response {
    let actor = match viewer.require("/producer/import") {
        Ok(a) => a,
        Err(r) => return *r,
    };
    if let Err(e) = producer_of(actor) {
        return viewer.error(&state, e);
    }
    import_result(&state, &viewer, None, StatusCode::OK)
}

fn import_result(
    state: &AppState,
    viewer: &Viewer,
    report: Option<Report>,
    status: StatusCode,
) -> Response {
    viewer.render_with(
        state,
        "import.html",
        context! {
            report => report.map(Value::from_serialize),
            max_rows => import::MAX_ROWS,
        },
        status,
    )
}

/// Takes the uploaded sheet; the report says what was created, or which rows were refused
/// (and then nothing was).
pub async fn import_upload(
    State(state): State<AppState>,
    viewer: Viewer,
    form: Multipart,
) -> Response {
    let super::Upload {
        token,
        bytes: sheet,
        ..
    } = match super::read_upload(form, "sheet").await {
        Ok(read) => read,
        Err(e) => return viewer.error(&state, e),
    };
    let actor = match viewer.check_form(&state, "/producer/import", &token) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    if let Err(e) = producer_of(actor) {
        return viewer.error(&state, e);
    }
    if sheet.is_empty() {
        let report = Report::refused(
            0,
            vec![import::RowError {
                row: 0,
                column: String::new(),
                code: "required".into(),
                message: "choose a CSV or XLSX file".into(),
            }],
        );
        return import_result(
            &state,
            &viewer,
            Some(report),
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    };
    match import::import(&state.db, actor, &sheet).await {
        Ok(report) => {
            for &id in &report.listing_ids {
                crate::matching::service::after_listing_change(&state.db, &state.settings, id)
                    .await;
            }
            let status = if report.errors.is_empty() {
                StatusCode::OK
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            import_result(&state, &viewer, Some(report), status)
        }
        Err(e) => viewer.error(&state, e),
    }
}
