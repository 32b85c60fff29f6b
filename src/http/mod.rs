//! The HTTP edge: the JSON API, the pages, the app state, extractors and middleware.
//! Everything here calls inward into the capabilities' services; nothing inward calls out.

pub mod api;
pub mod auth;
pub mod error;
pub mod lang;
pub mod metrics;
pub mod middleware;
pub mod pages;
pub mod server;
pub mod state;
pub mod throttle;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue};
use axum::routing::get;
use tower_http::compression::CompressionLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};

use self::middleware::{outage_guard, request_span, request_timeout};
use self::state::AppState;

/// Largest request body accepted (photos will get their own limit).
pub const BODY_LIMIT: usize = 1024 * 1024;

/// Pages load scripts, styles and images from this site only, never inline, and no other
/// site may frame them.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'self'; \
     form-action 'self'; frame-ancestors 'none'";

/// The whole HTTP surface with its middleware.
pub fn router(state: AppState) -> Router {
    let (api_router, _doc) = api::router();
    Router::new()
        .merge(api_router)
        .merge(pages::router())
        .route("/healthz", get(api::healthz))
        .route("/readyz", get(api::readyz))
        .route("/metrics", get(metrics::metrics))
        .fallback(pages::fallback)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        // Pages, styles and JSON travel compressed when the client accepts it (brotli or gzip);
        // images and event streams do not.
        .layer(CompressionLayer::new())
        .layer(axum::middleware::from_fn(request_timeout))
        .layer(SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static("content-security-policy"),
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static("x-content-type-options"),
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static("x-frame-options"),
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static("referrer-policy"),
            HeaderValue::from_static("same-origin"),
        ))
        // One line per answered request, in a span carrying its request id.
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_span)
                .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
        )
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            throttle::guard,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            outage_guard,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        // Outermost: every request has an `x-request-id` (the caller's, or a new UUID), and
        // its answer carries the same.
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state)
}
