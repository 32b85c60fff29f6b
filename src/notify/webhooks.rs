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
