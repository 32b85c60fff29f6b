//! Middleware of every request: its time limit, the database outage guard and its span.

use std::time::Duration;

use super::state::AppState;

/// Longest time a request may take, from its head to the end of its answer's head.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// The same for a photo upload: 10 MiB over a slow mobile link takes a while.
pub const UPLOAD_TIMEOUT: Duration = Duration::from_secs(180);

/// Answers 408 when a request takes longer than it may (uploads get longer).
pub async fn request_timeout(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let path = request.uri().path();
    let upload = request.method() == axum::http::Method::POST
        && (path.starts_with("/api/v1/listings/") || path.starts_with("/producer/listings/"))
        && path.ends_with("/photos");
    let limit = if upload {
        UPLOAD_TIMEOUT
    } else {
        REQUEST_TIMEOUT
    };
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => crate::error::AppError::Timeout(limit.as_secs()).into_response(),
    }
}

/// While the database is known to be down, answers requests that need it with an immediate
/// 503 (probes, metrics and static files still go through); notices when an answer says the
/// database could not be reached.
pub async fn outage_guard(
    axum::extract::State(state): axum::extract::State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let path = request.uri().path();
    let needs_database =
        !matches!(path, "/healthz" | "/readyz" | "/metrics") && !path.starts_with("/static/");
    if needs_database && state.outage.is_down() {
        return crate::error::AppError::database_unavailable().into_response();
    }
    let response = next.run(request).await;
    let extensions = response.extensions();
    let down = extensions.get::<super::error::DatabaseDown>().is_some();
    // A pool that waited with connections open is busy; one that could not open a single
    // connection in all that time has a database it cannot reach.
    let unreachable = extensions.get::<super::error::PoolWaited>().is_some()
        && crate::db::pool_use(&state.db).0 == 0;
    if down || unreachable {
        state.outage.begin(&state.db);
    }
    if unreachable {
        return crate::error::AppError::database_unavailable().into_response();
    }
    response
}

/// The span of one request: method, path and request id, so that every log line written
/// while answering it (JSON logs included) can be traced back to it.
pub fn request_span(request: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    let id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    tracing::info_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path(),
        request_id = %id,
    )
}
