//! `Idempotency-Key`: the first answer to a request is stored per (user, key) and
//! replayed for every retry; the same key with a different request is refused.

use std::collections::BTreeMap;

use chrono::Utc;
use sea_orm::{ConnectionTrait, EntityTrait, Set, TryInsertResult};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::entity::idempotency_key;
use crate::error::AppError;

/// A checked key: 1 to 255 visible ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key(String);

impl Key {
    /// Checks a key given as text (a page form's hidden field).
    pub fn parse(text: &str) -> Result<Key, AppError> {
        let text = text.trim();
        if text.is_empty() || text.len() > 255 || !text.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(AppError::BadRequest(
                "invalid_idempotency_key",
                "Idempotency-Key must be 1 to 255 visible ASCII characters".into(),
            ));
        }
        Ok(Key(text.to_string()))
    }

    /// Insists on a key that may be absent.
    pub fn required(key: Option<Key>) -> Result<Key, AppError> {
        key.ok_or(AppError::BadRequest(
            "idempotency_key_required",
            "this request needs an Idempotency-Key header (any unique string, reused only for retries)".into(),
        ))
    }
}

/// Fingerprint of a request: method, path and the body in canonical form.
pub fn fingerprint(method: &str, path: &str, body: &serde_json::Value) -> String {
    let mut h = Sha256::new();
    h.update(method.as_bytes());
    h.update(b" ");
    h.update(path.as_bytes());
    h.update(b"\n");
    // serde_json keeps object keys sorted, so equal bodies serialise equally.
    h.update(body.to_string().as_bytes());
    hex::encode(h.finalize())
}

/// An answer that can be stored and replayed byte for byte: its HTTP status and JSON body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub status: u16,
    pub body: String,
}

/// What an idempotent request answers: the stored answer, and whether it was replayed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub stored: Stored,
    /// True when the answer came from storage, for a retry.
    pub replayed: bool,
}

impl Stored {
    /// From a JSON value.
    pub fn json(status: u16, body: &impl serde::Serialize) -> Self {
        Stored {
            status,
            body: serde_json::to_string(body).unwrap_or_else(|_| "null".into()),
        }
    }

    /// From an error the request ended with.
    pub fn error(e: AppError) -> Self {
        let (status, body) = e.render();
        Stored::json(status, &body)
    }
}

/// A refusal kept with a key, read back: what the error envelope says.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Refusal {
    pub code: String,
    pub message: String,
    #[serde(default)]
    pub fields: BTreeMap<String, KeptFieldError>,
}

/// One field's reason in a kept refusal.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct KeptFieldError {
    pub code: String,
    pub message: String,
}

impl Stored {
    /// The refusal this answer holds, or nothing for a success. An answer that is neither a
    /// success nor an error envelope reads as a refusal whose message is the body.
    pub fn refusal(&self) -> Option<Refusal> {
        #[derive(Deserialize)]
        struct Envelope {
            error: Refusal,
        }
        if (200..300).contains(&self.status) {
            return None;
        }
        Some(
            serde_json::from_str::<Envelope>(&self.body)
                .map(|e| e.error)
                .unwrap_or_else(|_| Refusal {
                    code: "internal".into(),
                    message: self.body.clone(),
                    fields: BTreeMap::new(),
                }),
        )
    }
}

/// What keeping an answer found.
#[derive(Debug)]
pub enum Kept {
    /// The key was new: the answer is stored with it, to commit with the work.
    Saved,
    /// The key was used before for the same request: here is its answer, and the work done
    /// this time is to be rolled back.
    Earlier(Stored),
}

/// Stores `answer` with `key` inside the caller's transaction, unless the key already holds
/// one. A concurrent request with the same key waits for this transaction there (the unique
/// key on PostgreSQL, the write lock on SQLite), then finds its answer.
pub async fn keep(
    db: &impl ConnectionTrait,
    user_id: i64,
    key: &Key,
    fingerprint: &str,
    answer: &Stored,
) -> Result<Kept, AppError> {
    let row = idempotency_key::ActiveModel {
        user_id: Set(user_id),
        key: Set(key.0.clone()),
        request_hash: Set(fingerprint.to_string()),
        status_code: Set(i32::from(answer.status)),
        response_body: Set(answer.body.clone()),
        created_at: Set(Utc::now()),
    };
    let inserted = idempotency_key::Entity::insert(row)
        .on_conflict_do_nothing()
        .exec_without_returning(db)
        .await?;
    if matches!(inserted, TryInsertResult::Inserted(n) if n > 0) {
        return Ok(Kept::Saved);
    }
    let stored = idempotency_key::Entity::find_by_id((user_id, key.0.clone()))
        .one(db)
        .await?
        .ok_or_else(|| anyhow::anyhow!("idempotency key vanished while keeping an answer"))?;
    if stored.request_hash != fingerprint {
        return Err(AppError::field(
            "Idempotency-Key",
            "idempotency_key_reused",
            "this key was already used for a different request; use a new key",
        ));
    }
    Ok(Kept::Earlier(Stored {
        status: u16::try_from(stored.status_code).unwrap_or(500),
        body: stored.response_body,
    }))
}

/// The work of an idempotent request, done inside the transaction that also stores its answer.
/// It may run more than once: a transaction the database broke off to end a deadlock is
/// tried again from the start, and so is a retry of a request whose answer is kept (the work
/// is then rolled back and the kept answer given).
pub type Work = Box<
    dyn for<'t> Fn(
            &'t sea_orm::DatabaseTransaction,
        ) -> std::pin::Pin<
            Box<dyn std::future::Future<Output = Result<Stored, AppError>> + Send + 't>,
        > + Send
        + Sync,
>;

/// Runs `work` once per (user, key): the answer, or the refusal, is stored with the work's own
/// changes in one transaction and replayed for retries. Without a key the work simply runs.
pub async fn run(
    db: &sea_orm::DatabaseConnection,
    user_id: i64,
    key: Option<Key>,
    fingerprint: String,
    work: Work,
) -> Result<Answer, AppError> {
    crate::db::retrying(|| attempt(db, user_id, key.as_ref(), &fingerprint, &work)).await
}

/// One try of [`run`], in one transaction (two when a refusal is kept). The work goes first
/// and the key last: a request seen for the first time, nearly every one, writes its key once
/// and reads nothing for it.
pub async fn attempt(
    db: &sea_orm::DatabaseConnection,
    user_id: i64,
    key: Option<&Key>,
    fingerprint: &str,
    work: &Work,
) -> Result<Answer, AppError> {
    let txn = crate::db::write_txn(db).await?;
    let (stored, txn) = match work(&txn).await {
        Ok(stored) => (stored, txn),
        Err(e) if e.is_client_error() && key.is_some() => {
            // Undo the work, then remember the refusal so a retry gets the same answer.
            txn.rollback().await?;
            (Stored::error(e), crate::db::write_txn(db).await?)
        }
        Err(e) => return Err(e),
    };
    let Some(k) = key else {
        txn.commit().await?;
        return Ok(Answer {
            stored,
            replayed: false,
        });
    };
    match keep(&txn, user_id, k, fingerprint, &stored).await? {
        Kept::Saved => {
            txn.commit().await?;
            Ok(Answer {
                stored,
                replayed: false,
            })
        }
        Kept::Earlier(first) => {
            txn.rollback().await?;
            Ok(Answer {
                stored: first,
                replayed: true,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_checked() {
        assert_eq!(
            Key::required(None).unwrap_err().status_and_code().1,
            "idempotency_key_required"
        );
        for bad in ["checkout 1", "", "钥匙", &"k".repeat(256)] {
            assert_eq!(
                Key::parse(bad).unwrap_err().status_and_code().1,
                "invalid_idempotency_key",
                "{bad:?}"
            );
        }
        assert!(Key::required(Some(Key::parse("2f1c0b6e-checkout").unwrap())).is_ok());
    }

    #[test]
    fn a_kept_refusal_reads_back_with_its_fields() {
        let e = AppError::InsufficientStock(crate::error::FieldErrors::from([(
            "lines[0].quantity".to_string(),
            crate::error::FieldError::new("insufficient_stock", "only 3 left"),
        )]));
        let refusal = Stored::error(e).refusal().unwrap();
        assert_eq!(refusal.code, "insufficient_stock");
        let field = &refusal.fields["lines[0].quantity"];
        assert_eq!(
            (field.code.as_str(), field.message.as_str()),
            ("insufficient_stock", "only 3 left")
        );
        assert_eq!(Stored::json(201, &[1, 2]).refusal(), None);
        let odd = Stored {
            status: 409,
            body: "not json".into(),
        }
        .refusal()
        .unwrap();
        assert_eq!(
            (odd.code.as_str(), odd.message.as_str()),
            ("internal", "not json")
        );
    }

    #[test]
    fn fingerprints_ignore_key_order_but_not_values() {
        let a = serde_json::json!({"a": 1, "b": [1, 2]});
        let b: serde_json::Value = serde_json::from_str(r#"{"b":[1,2],"a":1}"#).unwrap();
        assert_eq!(fingerprint("POST", "/x", &a), fingerprint("POST", "/x", &b));
        assert_ne!(fingerprint("POST", "/x", &a), fingerprint("POST", "/y", &a));
        assert_ne!(
            fingerprint("POST", "/x", &a),
            fingerprint("POST", "/x", &serde_json::json!({"a": 2, "b": [1, 2]}))
        );
    }
}
