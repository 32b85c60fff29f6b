//! The `/api/v1` JSON API: shared extractors, pagination, health and the OpenAPI document.

pub mod extract;
pub mod fields;
pub mod page;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use sea_orm::ConnectionTrait;
use serde::Serialize;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(title = "qudao 渠道 API", description = "Marketplace API for producers, buyers, officials and admins. Money is in fen (分); quantities are exact decimal strings.", version = "1"),
    modifiers(&SecurityAddon),
    tags(
        (name = "accounts", description = "Registration, login, sessions and users"),
        (name = "organizations", description = "Producers and their onboarding"),
        (name = "listings", description = "Products for sale"),
        (name = "reference", description = "Regions and the category taxonomy"),
        (name = "orders", description = "Carts, checkout and the order lifecycle"),
        (name = "matching", description = "Purchase requests matched against supply across cooperatives"),
        (name = "search", description = "Finding listings as people write: synonyms, dialect, pinyin, places"),
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
                crate::accounts::auth::SESSION_COOKIE,
            ))),
        );
    }
}

/// The API router and its OpenAPI document, built from the handlers' annotations.
pub fn router() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(crate::accounts::routes::router())
        .merge(crate::catalog::http::router())
        .merge(crate::orders::http::router())
        .merge(crate::matching::http::router())
        .merge(crate::search::http::router())
        .merge(crate::search::saved::http::router())
        .merge(crate::stats::http::router())
        .merge(crate::notify::http::router())
        .split_for_parts();
    let doc_json = doc.clone();
    let router = router.route(
        "/api/v1/openapi.json",
        get(move || async move { Json(doc_json) }),
    );
    (router, doc)
}

/// `/healthz`: the process is up.
pub async fn healthz() -> &'static str {
    "ok"
}

#[derive(Serialize)]
struct Readiness {
    status: &'static str,
    database: &'static str,
}

/// `/readyz`: the database answers.
pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let db_ok = state.db.execute_unprepared("SELECT 1").await.is_ok();
    let body = Readiness {
        status: if db_ok { "ready" } else { "not_ready" },
        database: if db_ok { "ok" } else { "unreachable" },
    };
    let code = if db_ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, Json(body))
}
