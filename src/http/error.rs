//! How an [`AppError`] answers over HTTP: its status, the JSON envelope and `Retry-After`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::error::{AppError, Busy, DATABASE_UNAVAILABLE};

/// The status of an error as a [`StatusCode`], beside its stable code.
pub fn status_and_code(e: &AppError) -> (StatusCode, &'static str) {
    let (status, code) = e.status_and_code();
    (status_code(status), code)
}

/// A status number as a [`StatusCode`] (500 for a number that is none).
pub fn status_code(status: u16) -> StatusCode {
    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// Marks an answer given because the database could not be reached, so that the outage
/// guard ([`crate::db::Outage`]) notices.
#[derive(Debug, Clone, Copy)]
pub struct DatabaseDown;

/// Marks an answer given because no pooled connection came free in time. The outage guard
/// tells a pool that is merely busy from one that cannot open a single connection.
#[derive(Debug, Clone, Copy)]
pub struct PoolWaited;

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let down = matches!(self, AppError::Unavailable(code, _) if code == DATABASE_UNAVAILABLE);
        let waited = matches!(self, AppError::Busy(Busy::Pool));
        let retry_after = self.retry_after_secs();
        let (status, body) = self.render();
        let status = status_code(status);
        let mut response = (status, Json(body)).into_response();
        if let Some(secs) = retry_after {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        if down {
            response.extensions_mut().insert(DatabaseDown);
        }
        if waited {
            response.extensions_mut().insert(PoolWaited);
        }
        response
    }
}
