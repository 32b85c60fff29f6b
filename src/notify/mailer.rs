//! Sending one email: SMTP with a connection pool (STARTTLS or TLS, credentials from the URL)
//! when `QUDAO_SMTP_URL` is set, otherwise an `.eml` file under `data/outbox/`.

use std::time::Duration;

use anyhow::Context;
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::messages::Rendered;
use crate::config::Settings;

/// Where emails go.
#[derive(Clone)]
pub enum Mailer {
    Files(AsyncFileTransport<Tokio1Executor>),
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
                Ok(Mailer::Files(AsyncFileTransport::new(dir)))
            }
        }
    }

    /// Sends one email from `from`.
    pub async fn send(&self, from: &str, mail: &Outgoing) -> anyhow::Result<()> {
        let from: Mailbox = from.parse().context("the sender address")?;
        let to = Mailbox::new(
            Some(mail.to_name.clone()),
            mail.to.parse().context("the recipient address")?,
        );
        let message = Message::builder()
            .from(from)
            .to(to)
            .subject(&mail.rendered.subject)
            .message_id(Some(mail.message_id.clone()))
            .multipart(MultiPart::alternative_plain_html(
                mail.rendered.text.clone(),
                mail.rendered.html.clone(),
            ))?;
        match self {
            Mailer::Files(t) => {
                t.send(message).await?;
            }
            Mailer::Smtp(t) => {
                t.send(message).await?;
            }
        }
        Ok(())
    }
}
