//! `Idempotency-Key` over HTTP: the header read into a key, and a stored answer sent back.

use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::error::AppError;
use crate::http::error::status_code;
use crate::orders::idempotency::{Answer, Key};

/// The request header.
pub const HEADER: &str = "idempotency-key";
/// Marks a response that was replayed from storage.
pub const REPLAYED_HEADER: &str = "idempotent-replayed";

/// Reads the header; `Ok(None)` when absent.
pub fn key(headers: &HeaderMap) -> Result<Option<Key>, AppError> {
    let Some(raw) = headers.get(HEADER) else {
        return Ok(None);
    };
    Key::parse(raw.to_str().unwrap_or("")).map(Some)
}

/// Reads the header and insists on it.
pub fn required_key(headers: &HeaderMap) -> Result<Key, AppError> {
    Key::required(key(headers)?)
}

/// The stored answer as an HTTP response, marked as replayed when it came from storage.
pub fn response(answer: Answer) -> Response {
    let mut r = (
        status_code(answer.stored.status),
        [(header::CONTENT_TYPE, "application/json")],
        answer.stored.body,
    )
        .into_response();
    if answer.replayed {
        r.headers_mut()
            .insert(REPLAYED_HEADER, HeaderValue::from_static("true"));
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_is_read_and_checked() {
        let mut h = HeaderMap::new();
        assert!(key(&h).unwrap().is_none());
        assert_eq!(
            required_key(&h).unwrap_err().status_and_code().1,
            "idempotency_key_required"
        );
        h.insert(HEADER, HeaderValue::from_static("checkout 1"));
        assert_eq!(
            key(&h).unwrap_err().status_and_code().1,
            "invalid_idempotency_key"
        );
        h.insert(HEADER, HeaderValue::from_static("2f1c0b6e-checkout"));
        assert!(required_key(&h).is_ok());
    }
}
