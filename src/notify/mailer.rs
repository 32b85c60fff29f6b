//! Sending one email: SMTP with a connection pool (STARTTLS or TLS, credentials from the URL)
//! when `QUDAO_SMTP_URL` is set, otherwise an `.eml` file under `data/outbox/`.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use lettre::message::header::{Header, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::messages::Rendered;
use crate::config::Settings;

/// Where emails go.
#[derive(Clone)]
pub enum Mailer {
    /// `.eml` files in this folder.
    Files(AsyncFileTransport<Tokio1Executor>, PathBuf),
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
}

/// One email, ready to send.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub to: String,
    pub to_name: String,
    /// The same for every attempt at the same notice, so duplicates can be recognised.
    pub message_id: String,
    pub rendered: Rendered,
    /// The signed unsubscribe link of a non-essential email, offered to mail clients as
    /// `List-Unsubscribe` with one-click (RFC 8058).
    pub unsubscribe: Option<String>,
}

/// `List-Unsubscribe: <link>`.
#[derive(Debug, Clone)]
struct ListUnsubscribe(String);

impl Header for ListUnsubscribe {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe")
    }

    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(ListUnsubscribe(
            s.trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .into(),
        ))
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), format!("<{}>", self.0))
    }
}

/// `List-Unsubscribe-Post: List-Unsubscribe=One-Click`: the link may be POSTed to directly.
#[derive(Debug, Clone)]
struct OneClick;

impl Header for OneClick {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe-Post")
    }

    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(OneClick)
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "List-Unsubscribe=One-Click".into())
    }
}

impl Mailer {
    /// The mailer the settings ask for.
    pub fn from_settings(settings: &Settings) -> anyhow::Result<Mailer> {
        match &settings.smtp_url {
            Some(url) => Ok(Mailer::Smtp(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .context("QUDAO_SMTP_URL is not an SMTP URL")?
                    .timeout(Some(Duration::from_secs(15)))
                    .build(),
            )),
            None => {
                let dir = settings.data_dir.join("outbox");
                std::fs::create_dir_all(&dir)
                    .with_context(|| format!("creating {}", dir.display()))?;
                Ok(Mailer::Files(AsyncFileTransport::new(&dir), dir))
            }
        }
    }

    /// Whether email can go out now: the SMTP server answers on a pooled connection, or
    /// the outbox folder is there.
    pub async fn check(&self) -> anyhow::Result<()> {
        match self {
            Mailer::Smtp(t) => {
                let answered = t
                    .test_connection()
                    .await
                    .context("connecting to the SMTP server")?;
                anyhow::ensure!(answered, "the SMTP server did not answer");
            }
            Mailer::Files(_, dir) => {
                let is_dir = tokio::fs::metadata(dir).await.is_ok_and(|m| m.is_dir());
                anyhow::ensure!(is_dir, "the outbox folder {} is missing", dir.display());
            }
        }
        Ok(())
    }

    /// Sends one email from `from`.
    pub async fn send(&self, from: &str, mail: &Outgoing) -> anyhow::Result<()> {
        let from: Mailbox = from.parse().context("the sender address")?;
        let to = Mailbox::new(
            Some(mail.to_name.clone()),
            mail.to.parse().context("the recipient address")?,
        );
        let mut builder = Message::builder()
            .from(from)
            .to(to)
            .subject(&mail.rendered.subject)
            .message_id(Some(mail.message_id.clone()));
        if let Some(link) = &mail.unsubscribe {
            builder = builder
                .header(ListUnsubscribe(link.clone()))
                .header(OneClick);
        }
        let message = builder.multipart(MultiPart::alternative_plain_html(
            mail.rendered.text.clone(),
            mail.rendered.html.clone(),
        ))?;
        match self {
            Mailer::Files(t, _) => {
                t.send(message).await?;
            }
            Mailer::Smtp(t) => {
                t.send(message).await?;
            }
        }
        Ok(())
    }
}
