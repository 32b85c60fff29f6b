//! The transactional outbox: every side effect outside the database is written
//! here in the same transaction as the change that causes it, and delivered later.

pub mod entity;
pub mod events;
pub mod worker;

pub use events::ChannelEvent;

use std::sync::atomic::{AtomicU64, Ordering};

use chrono::Utc;
use sea_orm::{ConnectionTrait, EntityTrait, Set};

/// Where an outbox event goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// Keeps the search index in step with listings.
    Search,
    /// Notifications to people (email, in-app, webhooks).
    Notify,
    /// One email to one person, rendered from a notification.
    Email,
    /// One event POSTed to one organization's webhook endpoint.
    Webhook,
    /// Order changes the statistics' projector books as sales facts.
    Stats,
}

impl Channel {
    pub const ALL: [Channel; 5] = [
        Channel::Search,
        Channel::Notify,
        Channel::Email,
        Channel::Webhook,
        Channel::Stats,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Search => "search",
            Channel::Notify => "notify",
            Channel::Email => "email",
            Channel::Webhook => "webhook",
            Channel::Stats => "stats",
        }
    }

    /// The channel stored as `name`.
    pub fn named(name: &str) -> Option<Channel> {
        Channel::ALL.into_iter().find(|c| c.as_str() == name)
    }

    fn slot(self) -> usize {
        self as usize
    }
}

/// Events this process has delivered, per channel since it started: summed over every
/// instance, each event counts once unless it was delivered twice.
static DELIVERED: [AtomicU64; Channel::ALL.len()] =
    [const { AtomicU64::new(0) }; Channel::ALL.len()];

/// Counts `n` events of `channel` delivered, once their delivery is committed.
pub fn count_delivered(channel: Channel, n: u64) {
    DELIVERED[channel.slot()].fetch_add(n, Ordering::Relaxed);
}

/// Events of `channel` this process has delivered.
pub fn delivered(channel: Channel) -> u64 {
    DELIVERED[channel.slot()].load(Ordering::Relaxed)
}

/// One event to write, as its row will hold it.
#[derive(Debug, Clone)]
pub struct Event {
    channel: Channel,
    topic: String,
    aggregate_type: &'static str,
    aggregate_id: i64,
    payload: serde_json::Value,
}

impl Event {
    /// The row of a typed event.
    pub fn of<E: ChannelEvent>(event: &E) -> Event {
        let (aggregate_type, aggregate_id) = event.aggregate();
        Event {
            channel: E::CHANNEL,
            topic: event.topic(),
            aggregate_type,
            aggregate_id,
            payload: event.payload(),
        }
    }
}

/// Writes an event on the caller's connection, which should be the transaction of its cause.
pub async fn enqueue(
    db: &impl ConnectionTrait,
    event: &impl ChannelEvent,
) -> Result<(), sea_orm::DbErr> {
    enqueue_all(db, vec![Event::of(event)]).await
}

/// Writes events in one statement, in their order, on the caller's connection.
pub async fn enqueue_all(
    db: &impl ConnectionTrait,
    events: Vec<Event>,
) -> Result<(), sea_orm::DbErr> {
    let now = Utc::now();
    let rows = events.into_iter().map(|event| entity::ActiveModel {
        channel: Set(event.channel.as_str().to_string()),
        topic: Set(event.topic),
        aggregate_type: Set(event.aggregate_type.to_string()),
        aggregate_id: Set(event.aggregate_id),
        payload: Set(event.payload.to_string()),
        attempts: Set(0),
        created_at: Set(now),
        available_at: Set(now),
        ..Default::default()
    });
    entity::Entity::insert_many(rows)
        .exec_without_returning(db)
        .await?;
    Ok(())
}
