//! Webhook deliveries: each event of an organization is POSTed as JSON to the endpoints it
//! registered, signed with HMAC-SHA256 over the timestamp and the body, retried with backoff
//! until the endpoint answers 2xx.
//!
//! A receiver checks `X-Qudao-Signature: sha256=<hex>` against
//! `HMAC-SHA256(secret, "<X-Qudao-Timestamp>.<body>")` and may refuse old timestamps;
//! `X-Qudao-Delivery` is the same on every attempt at one delivery, to drop duplicates.

use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::entity::webhook;
use crate::error::FieldError;

pub const SIGNATURE_HEADER: &str = "x-qudao-signature";
pub const TIMESTAMP_HEADER: &str = "x-qudao-timestamp";
pub const EVENT_HEADER: &str = "x-qudao-event";
pub const DELIVERY_HEADER: &str = "x-qudao-delivery";

/// The organization a producer's webhooks belong to.
fn own_organization(actor: &crate::accounts::Actor) -> crate::error::AppResult<i64> {
    match (actor.role, actor.organization_id()) {
        (crate::accounts::Role::Producer, Some(org)) => Ok(org),
        _ => Err(crate::error::AppError::Forbidden(
            "webhooks belong to a producer organization".into(),
        )),
    }
}

/// Registers an endpoint of `actor`'s organization for `topics` (prefixes ending in `.`,
/// whole topics, or `*`, the default); audited. The endpoint and its signing secret, shown
/// this once.
pub async fn create(
    db: &sea_orm::DatabaseConnection,
    actor: &crate::accounts::Actor,
    url: &str,
    topics: Option<Vec<String>>,
) -> crate::error::AppResult<(webhook::Model, String)> {
    let org = own_organization(actor)?;
    let mut v = crate::error::Validator::default();
    let url = v.check("url", parse_url(url));
    let topics = topics.unwrap_or_else(|| vec!["*".into()]);
    let valid_topic = |t: &String| {
        t == "*"
            || (!t.is_empty()
                && t.len() <= 64
                && t.bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'.' || b == b'_'))
    };
    if topics.is_empty() || topics.len() > 20 || !topics.iter().all(valid_topic) {
        v.add(
            "topics",
            "invalid_format",
            "1 to 20 topics such as \"order.\" or \"proposal.created\", or \"*\"",
        );
    }
    v.finish()?;
    let Some(url) = url else {
        return Err(anyhow::anyhow!("a webhook passed its checks without a url").into());
    };
    let secret = crate::accounts::token::generate();
    let txn = crate::db::write_txn(db).await?;
    let hook = sea_orm::ActiveModelTrait::insert(
        webhook::ActiveModel {
            organization_id: sea_orm::Set(org),
            url: sea_orm::Set(url),
            secret: sea_orm::Set(secret.clone()),
            topics: sea_orm::Set(topics.join(",")),
            active: sea_orm::Set(true),
            created_by: sea_orm::Set(actor.id()),
            created_at: sea_orm::Set(chrono::Utc::now()),
            ..Default::default()
        },
        &txn,
    )
    .await?;
    crate::audit::record(
        &txn,
        Some(actor.id()),
        "webhook.create",
        "webhook",
        hook.id,
        serde_json::json!({"url": hook.url, "topics": hook.topics}),
    )
    .await?;
    txn.commit().await?;
    Ok((hook, secret))
}

/// The endpoints `actor` may see: their organization's, or all for an admin.
pub async fn list(
    db: &impl sea_orm::ConnectionTrait,
    actor: &crate::accounts::Actor,
) -> crate::error::AppResult<Vec<webhook::Model>> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
    let mut q = webhook::Entity::find().order_by_asc(webhook::Column::Id);
    if !actor.is_admin() {
        q = q.filter(webhook::Column::OrganizationId.eq(own_organization(actor)?));
    }
    Ok(q.all(db).await?)
}

/// Removes endpoint `id` of `actor`'s organization (any, for an admin); audited. Another
/// organization's endpoint is as absent as one that does not exist.
pub async fn delete(
    db: &sea_orm::DatabaseConnection,
    actor: &crate::accounts::Actor,
    id: i64,
) -> crate::error::AppResult<()> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let mut q = webhook::Entity::find_by_id(id);
    if !actor.is_admin() {
        q = q.filter(webhook::Column::OrganizationId.eq(own_organization(actor)?));
    }
    let hook = q
        .one(db)
        .await?
        .ok_or(crate::error::AppError::NotFound("webhook"))?;
    let txn = crate::db::write_txn(db).await?;
    webhook::Entity::delete_by_id(hook.id).exec(&txn).await?;
    crate::audit::record(
        &txn,
        Some(actor.id()),
        "webhook.delete",
        "webhook",
        hook.id,
        serde_json::json!({"url": hook.url}),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// `sha256=<hex>` of HMAC-SHA256 keyed with `secret` over `"<timestamp>.<body>"`.
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Checks an endpoint: `https://…`, or `http://` to this machine only (for development).
pub fn parse_url(raw: &str) -> Result<String, FieldError> {
    let raw = raw.trim();
    let url = reqwest::Url::parse(raw)
        .map_err(|_| FieldError::new("invalid_format", "an https:// URL"))?;
    let loopback = matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
    let ok = raw.len() <= 500
        && url.host_str().is_some_and(|h| !h.is_empty())
        && url.username().is_empty()
        && url.password().is_none()
        && (url.scheme() == "https" || (url.scheme() == "http" && loopback));
    if ok {
        Ok(url.to_string())
    } else {
        Err(FieldError::new(
            "invalid_format",
            "an https:// URL without credentials (http:// only to this machine)",
        ))
    }
}

/// Sends deliveries.
#[derive(Clone)]
pub struct Poster {
    client: reqwest::Client,
}

impl Poster {
    pub fn new() -> anyhow::Result<Poster> {
        Ok(Poster {
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .redirect(reqwest::redirect::Policy::none())
                .build()?,
        })
    }

    /// POSTs one delivery; an answer other than 2xx is an error to retry.
    pub async fn post(
        &self,
        hook: &webhook::Model,
        delivery: i64,
        topic: &str,
        body: Vec<u8>,
    ) -> anyhow::Result<()> {
        let timestamp = chrono::Utc::now().timestamp();
        let r = self
            .client
            .post(&hook.url)
            .header("content-type", "application/json")
            .header(EVENT_HEADER, topic)
            .header(DELIVERY_HEADER, delivery.to_string())
            .header(TIMESTAMP_HEADER, timestamp.to_string())
            .header(SIGNATURE_HEADER, signature(&hook.secret, timestamp, &body))
            .body(body)
            .send()
            .await?;
        anyhow::ensure!(
            r.status().is_success(),
            "the endpoint answered {}",
            r.status()
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_hmac_sha256_over_timestamp_and_body() {
        // Computed independently with Python: hmac.new(b"key", b"1700000000.{}", sha256).
        assert_eq!(
            signature("key", 1_700_000_000, b"{}"),
            "sha256=9d713ed406bb7076d4123f0dc2c39d2df5c654ed4b0cd56b52c8b4c940bd63ae"
        );
    }

    #[test]
    fn endpoints_must_be_https_except_on_this_machine() {
        assert!(parse_url("https://hooks.example.com/qudao").is_ok());
        assert!(parse_url("http://127.0.0.1:9000/hook").is_ok());
        assert!(parse_url("http://hooks.example.com/qudao").is_err());
        assert!(parse_url("https://user:pw@hooks.example.com/").is_err());
        assert!(parse_url("ftp://hooks.example.com/").is_err());
        assert!(parse_url("not a url").is_err());
    }
}
