//! Extractors that turn every malformed request into the application's error shape.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::{AppError, FieldError, Validator};

/// A JSON body: syntax errors answer 400 `invalid_json`, wrong shapes 422 with the field.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(&req) {
            return Err(AppError::UnsupportedMediaType);
        }
        let bytes = read_body(req, state, AppError::InvalidJson).await?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// Whether the request says its body is JSON (`application/json` or `application/…+json`).
fn is_json(req: &Request) -> bool {
    req.headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| {
            let m = m.trim().to_ascii_lowercase();
            m == "application/json" || (m.starts_with("application/") && m.ends_with("+json"))
        })
}

/// Reads a whole body within the route's size limit: 413 `payload_too_large` beyond it, and
/// `unreadable` (given the reason) when the body cannot be read.
pub async fn read_body<S: Send + Sync>(
    req: Request,
    state: &S,
    unreadable: impl FnOnce(String) -> AppError,
) -> Result<Bytes, AppError> {
    Bytes::from_request(req, state).await.map_err(|e| {
        if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            AppError::PayloadTooLarge
        } else {
            unreadable(e.body_text())
        }
    })
}

/// Parses JSON bytes into `T`, naming the field that did not fit.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    // Every body qudao accepts is an object; anything else is either broken JSON or the wrong shape.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        let mut de = serde_json::Deserializer::from_slice(bytes);
        <serde_json::Value as serde::de::Deserialize>::deserialize(&mut de)
            .and_then(|_| de.end())
            .map_err(|e| AppError::InvalidJson(strip_position(&e.to_string())))?;
        return Err(AppError::field(
            "body",
            "invalid_type",
            "the body must be a JSON object",
        ));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data => {
                shape_error(&path, &strip_position(&inner.to_string()))
            }
            _ => AppError::InvalidJson(strip_position(&inner.to_string())),
        }
    })?;
    de.end()
        .map_err(|e| AppError::InvalidJson(strip_position(&e.to_string())))?;
    Ok(value)
}

/// Query-string parameters, with the same error shape as bodies.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parse_query(parts.uri.query().unwrap_or("")).map(ApiQuery)
    }
}

/// Parses a query string (without the `?`) into `T`, naming the parameter that did not fit.
pub fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, AppError> {
    let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
    serde_path_to_error::deserialize(de).map_err(|err| {
        let path = err.path().to_string();
        shape_error(&path, &err.into_inner().to_string())
    })
}

/// A numeric id in the path; anything else is simply not found.
#[derive(Debug, Clone, Copy)]
pub struct ApiId(pub i64);

impl<S: Send + Sync> FromRequestParts<S> for ApiId {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let axum::extract::Path(raw) =
            axum::extract::Path::<String>::from_request_parts(parts, state)
                .await
                .map_err(|_| AppError::NotFound("resource"))?;
        raw.parse::<i64>()
            .ok()
            .filter(|id| *id > 0)
            .map(ApiId)
            .ok_or(AppError::NotFound("resource"))
    }
}

/// Turns a serde data error into a field error.
fn shape_error(path: &str, message: &str) -> AppError {
    let quoted = || message.split('`').nth(1).map(str::to_string);
    let (field, code) = if message.starts_with("missing field") {
        (join(path, quoted()), "required")
    } else if message.starts_with("unknown field") {
        (join(path, quoted()), "unknown_field")
    } else if message.starts_with("unknown variant") {
        (path.to_string(), "unknown_value")
    } else {
        (path.to_string(), "invalid_type")
    };
    let field = if field.is_empty() || field == "." {
        "body".to_string()
    } else {
        field
    };
    let mut v = Validator::default();
    v.add(&field, code, message.to_string());
    v.finish().unwrap_err()
}

fn join(path: &str, name: Option<String>) -> String {
    match (path, name) {
        (p, Some(n)) if p == n || p.ends_with(&format!(".{n}")) => p.to_string(),
        ("." | "", Some(n)) => n,
        (p, Some(n)) => format!("{p}.{n}"),
        (p, None) => p.to_string(),
    }
}

fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

/// Builds a field error; a shorthand for handlers.
pub fn field_error(code: &'static str, message: impl Into<String>) -> FieldError {
    FieldError::new(code, message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        title: String,
        price_fen: i64,
    }

    fn fields(err: AppError) -> Vec<(String, &'static str)> {
        match err {
            AppError::Validation(f) => f.into_iter().map(|(k, v)| (k, v.code)).collect(),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn json_errors_name_the_field() {
        let e = parse_json::<Body>(br#"{"title":"x","price_fen":"cheap"}"#).unwrap_err();
        assert_eq!(fields(e), vec![("price_fen".to_string(), "invalid_type")]);
        let e = parse_json::<Body>(br#"{"title":"x"}"#).unwrap_err();
        assert_eq!(fields(e), vec![("price_fen".to_string(), "required")]);
        let e = parse_json::<Body>(br#"{"title":"x","price_fen":1,"evil":true}"#).unwrap_err();
        assert_eq!(fields(e), vec![("evil".to_string(), "unknown_field")]);
        assert!(matches!(
            parse_json::<Body>(b"{\"title\":"),
            Err(AppError::InvalidJson(_))
        ));
        assert!(matches!(
            parse_json::<Body>(br#"{"title":"x","price_fen":1} trailing"#),
            Err(AppError::InvalidJson(_))
        ));
    }

    #[test]
    fn deep_json_is_refused_as_invalid() {
        let deep = "[".repeat(10_000);
        assert!(matches!(
            parse_json::<serde_json::Value>(deep.as_bytes()),
            Err(AppError::InvalidJson(_))
        ));
    }
}

/// An optional JSON body: an empty body is `None`, anything else must be valid JSON.
#[derive(Debug, Clone, Default)]
pub struct MaybeJson<T>(pub Option<T>);

impl<S, T> FromRequest<S> for MaybeJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = read_body(req, state, AppError::InvalidJson).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(MaybeJson(None));
        }
        parse_json(&bytes).map(|v| MaybeJson(Some(v)))
    }
}

/// A JSON body read but not yet judged: a handler that must look something up to know whether
/// the caller may act checks that first and parses after, so a caller who may not is told 403
/// whatever they sent. [`LaterJson::parse`] answers as [`ApiJson`] would have.
pub struct LaterJson<T> {
    body: Result<Bytes, AppError>,
    is_json: bool,
    kind: std::marker::PhantomData<fn() -> T>,
}

impl<S, T> FromRequest<S> for LaterJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = is_json(&req);
        Ok(LaterJson {
            body: read_body(req, state, AppError::InvalidJson).await,
            is_json,
            kind: std::marker::PhantomData,
        })
    }
}

impl<T: DeserializeOwned> LaterJson<T> {
    /// The body as `T`: 415 when it was not sent as JSON, else as [`parse_json`].
    pub fn parse(self) -> Result<T, AppError> {
        let bytes = self.body?;
        if !self.is_json {
            return Err(AppError::UnsupportedMediaType);
        }
        parse_json(&bytes)
    }

    /// The body as `T`, or nothing when it is empty (of any content type), as [`MaybeJson`].
    pub fn parse_optional(self) -> Result<Option<T>, AppError> {
        let bytes = self.body?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        parse_json(&bytes).map(Some)
    }
}
