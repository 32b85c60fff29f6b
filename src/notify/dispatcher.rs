//! The notification worker: one pass turns due `notify` events into in-app notices and email
//! rows (in the same transaction that marks the event done, so a crash redoes it whole or not
//! at all), then sends due emails one by one. Safe in several processes at once: rows are
//! leased to one worker (claimed with `SKIP LOCKED` on PostgreSQL), and an event is only
//! marked done by the worker that still holds it.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use sea_orm::{ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use serde_json::json;
use tokio::sync::watch;

use super::bell::{self, Bell};
use super::entity::{notification, webhook};
use super::mailer::{Mailer, Outgoing};
use super::messages::{Messages, notices};
use super::preferences;
use super::webhooks::Poster;
use crate::accounts::entity::user;
use crate::config::Settings;
use crate::outbox::entity as outbox;
use crate::outbox::events::{EmailEvent, EmailKey, NotifyEvent, WebhookEvent};
use crate::outbox::worker::{WorkerConfig, claim, complete, finish, keep_running};
use crate::outbox::{Channel, ChannelEvent, enqueue};

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pass {
    /// `notify` events turned into notices.
    pub dispatched: usize,
    /// Emails sent.
    pub sent: usize,
    /// Events or emails that failed this time and wait for their retry.
    pub failed: usize,
}

impl Pass {
    fn busy(&self) -> bool {
        self.dispatched + self.sent > 0
    }
}

/// Delivers notifications.
pub struct Worker {
    db: DatabaseConnection,
    messages: Arc<Messages>,
    mailer: Mailer,
    poster: Poster,
    from: String,
    /// The domain of Message-IDs, from the sender address.
    domain: String,
    public_url: String,
    /// Signs unsubscribe links.
    secret: String,
    worker: String,
    /// How `notify` events are claimed and retried.
    pub dispatch: WorkerConfig,
    /// How emails are claimed and retried, and after how many attempts they are dead.
    pub email: WorkerConfig,
    /// The same for webhook deliveries.
    pub webhook: WorkerConfig,
    /// Wakes this process's open streams of the users who get notices (SQLite); on
    /// PostgreSQL the notices are announced to every instance instead.
    bell: Option<Arc<Bell>>,
}

impl Worker {
    /// A worker with the settings' mailer and retry limit.
    pub fn new(db: DatabaseConnection, settings: &Settings) -> anyhow::Result<Worker> {
        Worker::with_mailer(db, settings, Mailer::from_settings(settings)?)
    }

    /// Like [`Worker::new`], sending through `mailer` (the server's own, so that readiness
    /// checks the very pool that sends).
    pub fn with_mailer(
        db: DatabaseConnection,
        settings: &Settings,
        mailer: Mailer,
    ) -> anyhow::Result<Worker> {
        let domain = settings
            .mail_from
            .rsplit_once('@')
            .map(|(_, d)| d.trim_end_matches('>').trim().to_string())
            .filter(|d| !d.is_empty())
            .unwrap_or_else(|| "qudao".into());
        let retrying = WorkerConfig {
            batch: 20,
            backoff_base: Duration::from_secs(5),
            backoff_max: Duration::from_secs(3600),
            max_attempts: Some(settings.delivery_max_attempts.clamp(1, 1000) as i32),
            ..WorkerConfig::default()
        };
        Ok(Worker {
            db,
            messages: Arc::new(Messages::new()?),
            mailer,
            poster: Poster::new()?,
            from: settings.mail_from.clone(),
            domain,
            public_url: settings.public_url(),
            secret: settings.secret_key()?,
            worker: format!("notify-{}", uuid::Uuid::new_v4().simple()),
            dispatch: WorkerConfig {
                batch: 100,
                ..WorkerConfig::default()
            },
            email: retrying.clone(),
            webhook: retrying,
            bell: None,
        })
    }

    /// The worker ringing `bell` for each notice it writes, so the streams waiting on it
    /// hear of the notice at once.
    pub fn ringing(self, bell: Arc<Bell>) -> Worker {
        Worker {
            bell: Some(bell),
            ..self
        }
    }

    /// Runs until `stop` turns true.
    pub async fn run(self, stop: watch::Receiver<bool>) {
        let idle = self.dispatch.idle;
        keep_running("notification worker", idle, stop, async move || {
            self.run_once().await.map(|p| p.busy())
        })
        .await;
    }

    /// One pass: dispatch due events, then send due emails.
    pub async fn run_once(&self) -> anyhow::Result<Pass> {
        let mut pass = Pass::default();
        for row in claim(&self.db, Channel::Notify, &self.worker, &self.dispatch).await? {
            match self.fan_out(&row).await {
                Ok(true) => pass.dispatched += 1,
                Ok(false) => {}
                Err(e) => {
                    let msg = format!("{e:#}");
                    tracing::warn!(event = row.id, error = %msg, "notification will be retried");
                    finish(&self.db, &self.worker, &[row], Some(&msg), &self.dispatch).await?;
                    pass.failed += 1;
                }
            }
        }
        for (channel, config) in [
            (Channel::Email, &self.email),
            (Channel::Webhook, &self.webhook),
        ] {
            for row in claim(&self.db, channel, &self.worker, config).await? {
                let sent = match channel {
                    Channel::Webhook => self.post(&row).await,
                    _ => self.send(&row).await,
                };
                match sent {
                    Ok(()) => {
                        finish(&self.db, &self.worker, &[row], None, config).await?;
                        pass.sent += 1;
                    }
                    Err(e) => {
                        let msg = format!("{e:#}");
                        tracing::warn!(row = row.id, channel = channel.as_str(), error = %msg, "delivery will be retried");
                        finish(&self.db, &self.worker, &[row], Some(&msg), config).await?;
                        pass.failed += 1;
                    }
                }
            }
        }
        Ok(pass)
    }

    /// Writes the notices and email rows of one event and marks it done, all in one
    /// transaction; false if another worker has taken the event over meanwhile.
    async fn fan_out(&self, event: &outbox::Model) -> anyhow::Result<bool> {
        let txn = crate::db::write_txn(&self.db).await?;
        let now = Utc::now();
        let news = NotifyEvent::decode(event)?;
        let kind = preferences::kind_of(&event.topic);
        // An event may ask for its emails to wait for the daily digest (a saved search's
        // daily alert); essential ones never wait.
        let asks_digest = news.asks_digest() && preferences::optional(kind);
        let mut told = Vec::new();
        for n in notices(&txn, &news, &self.public_url).await? {
            told.push(n.user.id);
            let r = self.messages.render(&n.message, n.user.language, &n.vars)?;
            let mut choice = preferences::choice(&txn, n.user.id, kind).await?;
            choice.digest |= asks_digest;
            let email = n.user.email.is_some() && choice.email;
            notification::Entity::insert(notification::ActiveModel {
                user_id: Set(n.user.id),
                event_id: Set(event.id),
                topic: Set(event.topic.clone()),
                title: Set(r.subject.chars().take(200).collect()),
                body: Set(r.text),
                link: Set(Some(n.link.clone())),
                read_at: Set(None),
                digest_pending: Set(email && choice.digest),
                created_at: Set(now),
                ..Default::default()
            })
            .on_conflict_do_nothing_on([
                notification::Column::EventId,
                notification::Column::UserId,
            ])
            .exec(&txn)
            .await?;
            if email && !choice.digest {
                let mut vars = n.vars.clone();
                if preferences::optional(kind) {
                    vars["unsubscribe"] = json!(preferences::unsubscribe_link(
                        &self.public_url,
                        &self.secret,
                        n.user.id,
                        kind
                    ));
                }
                let email = EmailEvent {
                    topic: event.topic.clone(),
                    key: EmailKey::Event(event.id),
                    user_id: n.user.id,
                    message: n.message,
                    vars,
                };
                enqueue(&txn, &email).await?;
            }
        }
        // The organization's endpoints that asked for this topic.
        if let Some(org) = news.organization_id() {
            let hooks = webhook::Entity::find()
                .filter(webhook::Column::OrganizationId.eq(org))
                .filter(webhook::Column::Active.eq(true))
                .all(&txn)
                .await?;
            for hook in hooks.into_iter().filter(|h| h.wants(&event.topic)) {
                let delivery = WebhookEvent {
                    topic: event.topic.clone(),
                    webhook_id: hook.id,
                    event_id: event.id,
                    created_at: event.created_at,
                    data: news.payload(),
                };
                enqueue(&txn, &delivery).await?;
            }
        }
        bell::announce(&txn, &told).await?;
        let done = complete(&txn, &self.worker, vec![event.id]).await?;
        if done == 0 {
            txn.rollback().await?;
            return Ok(false);
        }
        txn.commit().await?;
        if let Some(bell) = self
            .bell
            .as_ref()
            .filter(|_| self.db.get_database_backend() != sea_orm::DbBackend::Postgres)
        {
            bell.ring(told);
        }
        crate::outbox::count_delivered(Channel::Notify, 1);
        Ok(true)
    }

    /// Sends one email row to its recipient's current address, in their current language.
    async fn send(&self, row: &outbox::Model) -> anyhow::Result<()> {
        let email = EmailEvent::decode(row)?;
        // Emails of one event share its id; a digest has its own key.
        let key = match &email.key {
            EmailKey::Event(id) => id.to_string(),
            EmailKey::Digest(k) => k.clone(),
        };
        let Some(u) = user::Entity::find_by_id(email.user_id)
            .one(&self.db)
            .await?
        else {
            return Ok(());
        };
        let Some(to) = u.email.clone().filter(|_| !u.disabled) else {
            return Ok(());
        };
        let rendered = self
            .messages
            .render(&email.message, u.language, &email.vars)?;
        let mail = Outgoing {
            to,
            to_name: u.display_name,
            message_id: message_id(&key, email.user_id, &self.domain),
            rendered,
            unsubscribe: email.unsubscribe().map(str::to_string),
        };
        self.mailer.send(&self.from, &mail).await
    }
}

impl Worker {
    /// POSTs one webhook row to its endpoint, if the endpoint is still registered and active.
    async fn post(&self, row: &outbox::Model) -> anyhow::Result<()> {
        let delivery = WebhookEvent::decode(row)?;
        let Some(hook) = webhook::Entity::find_by_id(delivery.webhook_id)
            .one(&self.db)
            .await?
            .filter(|h| h.active)
        else {
            return Ok(());
        };
        let body = json!({
            "id": delivery.event_id,
            "topic": row.topic,
            "created_at": delivery.created_at,
            "data": delivery.data,
        });
        self.poster
            .post(&hook, row.id, &row.topic, serde_json::to_vec(&body)?)
            .await
    }
}

/// The Message-ID of the email about `key` (an event id, or a digest's key) to `user_id`:
/// the same on every attempt.
pub fn message_id(key: &str, user_id: i64, domain: &str) -> String {
    format!("<qudao.{key}.{user_id}@{domain}>")
}
