//! The `/api/v1` JSON API: shared extractors, pagination, health and the OpenAPI document.

pub mod accounts;
pub mod audit;
pub mod catalog;
pub mod certificates;
pub mod contracts;
pub mod delivery;
pub mod extract;
pub mod filings;
pub mod idempotent;
pub mod invoices;
pub mod lots;
pub mod matching;
pub mod notify;
pub mod orders;
pub mod prices;
pub mod receipts;
pub mod recurring;
pub mod saved_searches;
pub mod search;
pub mod stats;
pub mod units;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use serde::Serialize;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;

use super::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(title = "qudao 渠道 API", description = "Marketplace API for producers, buyers, officials and admins. Money is in fen (分); quantities are exact decimal strings.", version = "1"),
    modifiers(&SecurityAddon),
    // Enums used only in query parameters, which the handlers' annotations refer to.
    components(schemas(crate::stats::views::By, crate::http::api::stats::Format)),
    tags(
        (name = "accounts", description = "Registration, login, sessions and users"),
        (name = "organizations", description = "Producers and their onboarding"),
        (name = "listings", description = "Products for sale"),
        (name = "certificates", description = "Certificates verified by the county, 认定 on public notice with objections"),
        (name = "reference", description = "Regions and the category taxonomy"),
        (name = "orders", description = "Carts, checkout and the order lifecycle"),
        (name = "matching", description = "Purchase requests matched against supply across cooperatives"),
        (name = "search", description = "Finding listings as people write: synonyms, dialect, pinyin, places"),
        (name = "units", description = "Buyer units, their people, yearly obligations (预留份额) and progress"),
        (name = "stats", description = "Figures, targets, quarterly reports and exports for officials"),
        (name = "notifications", description = "In-app notices, and deliveries that gave up"),
    )
)]
struct ApiDoc;

struct SecurityAddon;

impl Modify for SecurityAddon {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(
                crate::http::auth::SESSION_COOKIE,
            ))),
        );
    }
}

/// The API router and its OpenAPI document, built from the handlers' annotations.
pub fn router() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(crate::http::api::accounts::router())
        .merge(crate::http::api::catalog::router())
        .merge(crate::http::api::certificates::router())
        .merge(crate::http::api::lots::router())
        .merge(crate::http::api::orders::router())
        .merge(crate::http::api::delivery::router())
        .merge(crate::http::api::invoices::router())
        .merge(crate::http::api::receipts::router())
        .merge(crate::http::api::recurring::router())
        .merge(crate::http::api::contracts::router())
        .merge(crate::http::api::matching::router())
        .merge(crate::http::api::search::router())
        .merge(crate::http::api::saved_searches::router())
        .merge(crate::http::api::stats::router())
        .merge(crate::http::api::filings::router())
        .merge(crate::http::api::prices::router())
        .merge(crate::http::api::notify::router())
        .merge(crate::http::api::audit::router())
        .merge(crate::http::api::units::router())
        .split_for_parts();
    let doc_json = doc.clone();
    let router = router.route(
        "/api/v1/openapi.json",
        get(move || async move { Json(doc_json) }),
    );
    (router, doc)
}

/// A kept file (an evidence scan) as a private download under its own name.
pub(crate) fn kept_file(
    id: i64,
    name: &str,
    content_type: String,
    data: Vec<u8>,
) -> axum::response::Response {
    use axum::http::header;
    let encoded: String = form_urlencoded::byte_serialize(name.as_bytes()).collect();
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, content_type),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"evidence-{id}\"; filename*=UTF-8''{encoded}"),
            ),
            (header::CACHE_CONTROL, "private, no-store".into()),
        ],
        data,
    )
        .into_response()
}

/// `/healthz`: the process is up.
pub async fn healthz() -> &'static str {
    "ok"
}

#[derive(Serialize)]
struct Readiness {
    /// `ready`, `degraded` (search or email is down: everything else still works) or
    /// `not_ready` (the database is down: nothing does).
    status: &'static str,
    database: Check,
    search: Check,
    email: Check,
}

#[derive(Serialize)]
struct Check {
    /// `ok` or `unreachable`.
    status: &'static str,
    /// Why not, when unreachable.
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// How long each dependency gets to answer a readiness check.
const READY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

/// Runs one readiness check within [`READY_TIMEOUT`].
async fn check<E: std::fmt::Display>(
    what: &str,
    probe: impl Future<Output = Result<(), E>>,
) -> Check {
    let error = match tokio::time::timeout(READY_TIMEOUT, probe).await {
        Ok(Ok(())) => None,
        Ok(Err(e)) => Some(format!("{e:#}")),
        Err(_) => Some(format!("no answer within {} s", READY_TIMEOUT.as_secs())),
    };
    if let Some(e) = &error {
        tracing::warn!(dependency = what, error = %e, "readiness check failed");
    }
    Check {
        status: if error.is_none() { "ok" } else { "unreachable" },
        error,
    }
}

/// `/readyz`: the database, the search engine and email, each checked on its own. Answers
/// 503 only when the database is down; with search or email down the site still takes
/// orders and edits, so it stays in rotation as `degraded`.
pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    use crate::search::SearchEngine;
    let (database, search, email) = tokio::join!(
        check("database", state.db.ping()),
        check("search", state.search.engine().health()),
        check("email", state.mailer.check()),
    );
    if database.error.is_none() {
        // The database answered: whatever outage was noticed is over.
        state.outage.end();
    }
    let (code, status) = if database.error.is_some() {
        (StatusCode::SERVICE_UNAVAILABLE, "not_ready")
    } else if search.error.is_some() || email.error.is_some() {
        (StatusCode::OK, "degraded")
    } else {
        (StatusCode::OK, "ready")
    };
    let body = Readiness {
        status,
        database,
        search,
        email,
    };
    (code, Json(body))
}
