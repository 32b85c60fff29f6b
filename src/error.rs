//! One error type for the whole application, rendered as
//! `{"error":{"code":…,"message":…,"fields":{…}}}` with a stable snake_case code.

use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::ToSchema;

/// Why one input field was refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    /// Stable machine code such as `required`, `too_long`, `out_of_range`, `unknown`.
    pub code: &'static str,
    /// A sentence for people.
    pub message: String,
}

/// Field name → reason, kept in a stable order.
pub type FieldErrors = BTreeMap<String, FieldError>;

/// Field errors with `from` reported as `to`: a field as the caller named it (a form's price
/// typed in yuan checked as fen, a standing order's quantity checked as a checkout line's).
pub fn renamed(fields: FieldErrors, from: &str, to: &str) -> FieldErrors {
    fields
        .into_iter()
        .map(|(k, e)| (if k == from { to.to_string() } else { k }, e))
        .collect()
}

/// Collects field errors while parsing a request, then fails once with all of them.
#[derive(Debug, Default)]
pub struct Validator {
    fields: FieldErrors,
}

impl Validator {
    /// Records that `field` is invalid (the first reason per field wins).
    pub fn add(&mut self, field: &str, code: &'static str, message: impl Into<String>) {
        self.fields
            .entry(field.to_string())
            .or_insert_with(|| FieldError {
                code,
                message: message.into(),
            });
    }

    /// Keeps the value of a parse, or records its error under `field`.
    pub fn check<T>(&mut self, field: &str, result: Result<T, FieldError>) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(e) => {
                self.fields.entry(field.to_string()).or_insert(e);
                None
            }
        }
    }

    /// Records `too_long` under `field` when `text` has more than `max` characters; true when
    /// it fits.
    pub fn fits(&mut self, field: &str, text: &str, max: usize) -> bool {
        let fits = text.chars().count() <= max;
        if !fits {
            self.add(field, "too_long", format!("at most {max} characters"));
        }
        fits
    }

    /// True while nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// `Ok` when nothing was recorded, otherwise a `validation_failed` error.
    pub fn finish(self) -> Result<(), AppError> {
        if self.fields.is_empty() {
            Ok(())
        } else {
            Err(AppError::Validation(self.fields))
        }
    }
}

impl FieldError {
    /// A field error with a code and a message.
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

/// Everything a request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("the request body is not valid JSON: {0}")]
    InvalidJson(String),
    #[error("some fields are invalid")]
    Validation(FieldErrors),
    #[error("{1}")]
    BadRequest(&'static str, String),
    #[error("authentication required")]
    Unauthenticated,
    #[error("wrong username or password")]
    InvalidCredentials,
    #[error("{0}")]
    Forbidden(String),
    #[error(
        "missing or wrong CSRF token: send the session's csrf_token in the X-CSRF-Token header"
    )]
    CsrfFailed,
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{1}")]
    Conflict(&'static str, String),
    #[error("not enough stock for some lines")]
    InsufficientStock(FieldErrors),
    #[error("payload too large")]
    PayloadTooLarge,
    #[error("the body must be JSON (Content-Type: application/json)")]
    UnsupportedMediaType,
    #[error("the request took longer than {0} s; send it again, or over a faster connection")]
    Timeout(u64),
    #[error("too many requests; try again in {0} s")]
    RateLimited(u64),
    #[error("the service is not ready: {0}")]
    Unavailable(&'static str, String),
    #[error("{}", .0.message())]
    Busy(Busy),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<sea_orm::DbErr> for AppError {
    fn from(e: sea_orm::DbErr) -> Self {
        if database_unreachable(&e) {
            tracing::warn!(error = %e, "database unavailable");
            return AppError::database_unavailable();
        }
        if let Some(busy) = Busy::of(&e) {
            tracing::warn!(error = %e, ?busy, "the database is busy");
            return AppError::Busy(busy);
        }
        if text_refused(&e) {
            return AppError::BadRequest(
                "invalid_text",
                "the request holds text with a NUL or another character that cannot be stored"
                    .into(),
            );
        }
        AppError::Internal(e.into())
    }
}

/// Why the database could not take a request just now, although it is there: 503 `busy`
/// with `Retry-After`, and a retry will likely go through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Busy {
    /// Every pooled connection stayed in use for the whole wait for one.
    Pool,
    /// A row (PostgreSQL's `lock_timeout`) or the database (SQLite's busy timeout) stayed
    /// locked by another writer for the whole wait.
    Locked,
    /// The database broke this transaction off to end a deadlock or a serialization
    /// conflict. A write that meets this is tried again ([`crate::db::retrying`]) before
    /// anyone is told.
    Conflict,
}

impl Busy {
    /// The cause of a database error that means "busy", if it is one.
    fn of(e: &sea_orm::DbErr) -> Option<Busy> {
        use sea_orm::sqlx::Error as Sqlx;
        if matches!(
            e,
            sea_orm::DbErr::ConnectionAcquire(sea_orm::ConnAcquireErr::Timeout)
        ) || matches!(sqlx_error(e), Some(Sqlx::PoolTimedOut))
        {
            return Some(Busy::Pool);
        }
        let Some(Sqlx::Database(d)) = sqlx_error(e) else {
            return None;
        };
        if d.try_downcast_ref::<sea_orm::sqlx::sqlite::SqliteError>()
            .is_some()
        {
            // SQLITE_BUSY and its extended codes: another writer held the lock throughout.
            return d
                .code()
                .and_then(|c| c.parse::<i32>().ok())
                .is_some_and(|c| c & 0xff == 5)
                .then_some(Busy::Locked);
        }
        match d.code().as_deref() {
            // lock_not_available: `lock_timeout` ran out.
            Some("55P03") => Some(Busy::Locked),
            // deadlock_detected, serialization_failure.
            Some("40P01" | "40001") => Some(Busy::Conflict),
            _ => None,
        }
    }

    fn message(self) -> &'static str {
        match self {
            Busy::Pool => "every database connection is in use; please try again shortly",
            Busy::Locked => "the database is busy with other changes; please try again shortly",
            Busy::Conflict => {
                "this change crossed another one at the same moment; please try again"
            }
        }
    }
}

/// The code of the answer given while the database is there but busy.
pub(crate) const BUSY: &str = "busy";

/// The code of the answer given while the database cannot be reached.
pub(crate) const DATABASE_UNAVAILABLE: &str = "database_unavailable";

impl AppError {
    /// 503 `database_unavailable`: the database cannot be reached; try again shortly.
    pub fn database_unavailable() -> AppError {
        AppError::Unavailable(
            DATABASE_UNAVAILABLE,
            "the database is unavailable right now; please try again shortly".into(),
        )
    }
}

/// The driver's error under a failed statement, if the driver gave one.
fn sqlx_error(e: &sea_orm::DbErr) -> Option<&sea_orm::sqlx::Error> {
    use sea_orm::{DbErr, RuntimeErr};
    match e {
        DbErr::Exec(RuntimeErr::SqlxError(s)) | DbErr::Query(RuntimeErr::SqlxError(s)) => {
            Some(s.as_ref())
        }
        _ => None,
    }
}

/// Whether a database error means the database cannot be reached (down, restarting,
/// refusing connections) rather than a fault in the request or
/// the code: the caller may simply try again.
fn database_unreachable(e: &sea_orm::DbErr) -> bool {
    use sea_orm::sqlx::Error as Sqlx;
    if matches!(
        e,
        sea_orm::DbErr::ConnectionAcquire(sea_orm::ConnAcquireErr::ConnectionClosed)
            | sea_orm::DbErr::Conn(_)
    ) {
        return true;
    }
    match sqlx_error(e) {
        Some(Sqlx::Io(_) | Sqlx::PoolClosed | Sqlx::WorkerCrashed) => true,
        // PostgreSQL: connection exceptions (08…), operator intervention such as a shutdown
        // (57P…), too many connections (53300).
        Some(Sqlx::Database(d)) => d
            .code()
            .is_some_and(|c| c.starts_with("08") || c.starts_with("57P") || c == "53300"),
        _ => false,
    }
}

/// Whether PostgreSQL refused text the request carried (a NUL, or a character its encoding
/// lacks): the fields check for these, and this answers 400 for any they miss.
fn text_refused(e: &sea_orm::DbErr) -> bool {
    matches!(sqlx_error(e), Some(sea_orm::sqlx::Error::Database(d))
        if d.code().is_some_and(|c| c == "22021" || c == "22P05"))
}

impl From<sea_orm::TransactionError<AppError>> for AppError {
    fn from(e: sea_orm::TransactionError<AppError>) -> Self {
        match e {
            sea_orm::TransactionError::Connection(db) => db.into(),
            sea_orm::TransactionError::Transaction(app) => app,
        }
    }
}

impl AppError {
    /// A single-field validation error.
    pub fn field(field: &str, code: &'static str, message: impl Into<String>) -> Self {
        let mut v = Validator::default();
        v.add(field, code, message);
        AppError::Validation(v.fields)
    }

    /// The HTTP status this error answers with, and its stable code.
    pub fn status_and_code(&self) -> (u16, &'static str) {
        match self {
            AppError::InvalidJson(_) => (400, "invalid_json"),
            AppError::Validation(_) => (422, "validation_failed"),
            AppError::BadRequest(code, _) => (400, code),
            AppError::Unauthenticated => (401, "unauthenticated"),
            AppError::InvalidCredentials => (401, "invalid_credentials"),
            AppError::Forbidden(_) => (403, "forbidden"),
            AppError::CsrfFailed => (403, "csrf_failed"),
            AppError::NotFound(_) => (404, "not_found"),
            AppError::Conflict(code, _) => (409, code),
            AppError::InsufficientStock(_) => (409, "insufficient_stock"),
            AppError::PayloadTooLarge => (413, "payload_too_large"),
            AppError::UnsupportedMediaType => (415, "unsupported_media_type"),
            AppError::Unavailable(code, _) => (503, code),
            AppError::Busy(_) => (503, BUSY),
            AppError::RateLimited(_) => (429, "rate_limited"),
            AppError::Timeout(_) => (408, "request_timeout"),
            AppError::Internal(_) => (500, "internal"),
        }
    }
}

/// The JSON error envelope.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// What went wrong, for programs (`code`, `fields`) and people (`message`).
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    pub code: String,
    pub message: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: FieldErrors,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

impl AppError {
    /// The status and JSON body this error answers with; internal errors are logged with a request id.
    pub fn render(self) -> (u16, ErrorBody) {
        let (status, code) = self.status_and_code();
        let mut request_id = None;
        let message = match &self {
            AppError::Internal(e) => {
                let id = uuid::Uuid::new_v4().to_string();
                tracing::error!(request_id = %id, error = ?e, "request failed");
                let msg = format!("something went wrong on our side; quote request id {id}");
                request_id = Some(id);
                msg
            }
            other => other.to_string(),
        };
        let fields = match self {
            AppError::Validation(f) | AppError::InsufficientStock(f) => f,
            _ => FieldErrors::new(),
        };
        let body = ErrorBody {
            error: ErrorDetail {
                code: code.to_string(),
                message,
                fields,
                request_id,
            },
        };
        (status, body)
    }

    /// Seconds to wait before trying again, for `Retry-After`: the rest of a rate limit, or,
    /// whatever is unavailable, a second.
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            AppError::RateLimited(secs) => Some(*secs),
            AppError::Unavailable(..) | AppError::Busy(_) => Some(1),
            _ => None,
        }
    }

    /// True for errors the client caused (4xx).
    pub fn is_client_error(&self) -> bool {
        (400..500).contains(&self.status_and_code().0)
    }
}

/// Result alias for handlers and services.
pub type AppResult<T> = Result<T, AppError>;
