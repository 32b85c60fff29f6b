//! The statistics as a projection of the orders.
//!
//! An order's transaction writes the order, its lines, its timeline and a `stats` outbox event
//! ([`StatsEvent`]), and nothing of the statistics. The projector claims those events in
//! batches and, in one transaction per batch, brings each named order's facts up to date with
//! the order as stored, folds them into the aggregates and marks the events done.
//!
//! Each event is applied exactly once in effect:
//! - applying and marking commit together, so a crash leaves both undone, and the event is
//!   claimed again after its lease;
//! - what an event adds is what the order's facts lack (one fact per line, basis and sign, a
//!   unique key), so applying an event again, or two events of one order, adds nothing more;
//! - on PostgreSQL the orders of a batch are locked (`FOR UPDATE`, in id order) before their
//!   facts are read, so two projectors racing over one order take turns and the second finds
//!   the facts there.
//!
//! A fact is booked on the day its change happened (the order's `placed_at`, the timeline's
//! time of completion or cancellation), not the day it is projected; a change whose quarter was
//! closed meanwhile goes to the first day after it, as corrections do. Closing a quarter
//! first catches up ([`catch_up`]) so no change made before the close is left out of it.

use std::collections::BTreeSet;
use std::time::Duration;

use sea_orm::sea_query::LockType;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, TransactionSession, TransactionTrait,
};
use tokio::sync::watch;

use crate::orders::entity::order;
use crate::outbox::entity as outbox;
use crate::outbox::events::{ChannelEvent, StatsEvent};
use crate::outbox::worker::{WorkerConfig, claim, complete, finish, keep_running};
use crate::outbox::{Channel, count_delivered};

/// Orders brought up to date in one transaction by [`catch_up`] and [`rebuild`].
const ORDERS_AT_ONCE: usize = 200;

/// Projects `stats` events into the facts and aggregates.
pub struct Projector {
    db: DatabaseConnection,
    worker: String,
    /// How events are claimed, how long the pause is when there are none, how failures back off.
    pub config: WorkerConfig,
}

impl Projector {
    pub fn new(db: DatabaseConnection) -> Projector {
        Projector {
            db,
            worker: format!("stats-{}", uuid::Uuid::new_v4().simple()),
            config: WorkerConfig {
                batch: 200,
                idle: Duration::from_millis(100),
                ..WorkerConfig::default()
            },
        }
    }

    /// Runs until `stop` turns true.
    pub async fn run(self, stop: watch::Receiver<bool>) {
        let (idle, batch) = (self.config.idle, self.config.batch as usize);
        keep_running("statistics projector", idle, stop, async move || {
            self.run_once().await.map(|n| n >= batch)
        })
        .await;
    }

    /// Claims one batch of events and applies it; the number of events done.
    pub async fn run_once(&self) -> Result<usize, DbErr> {
        let rows = claim(&self.db, Channel::Stats, &self.worker, &self.config).await?;
        if rows.is_empty() {
            return Ok(0);
        }
        match self.apply(&rows).await {
            Ok(true) => {
                count_delivered(Channel::Stats, rows.len() as u64);
                Ok(rows.len())
            }
            // Another projector took the batch over; what it applies is the same.
            Ok(false) => Ok(0),
            Err(e) => {
                let message = e.to_string();
                finish(&self.db, &self.worker, &rows, Some(&message), &self.config).await?;
                Err(e)
            }
        }
    }

    /// Applies `rows` and marks them done in one transaction; false (and nothing written) when
    /// this projector no longer holds all of them.
    async fn apply(&self, rows: &[outbox::Model]) -> Result<bool, DbErr> {
        let mut orders = BTreeSet::new();
        for row in rows {
            let event = StatsEvent::decode(row).map_err(|e| DbErr::Custom(e.to_string()))?;
            orders.insert(event.order_id);
        }
        let txn = crate::db::write_txn(&self.db).await?;
        project(&txn, &orders).await?;
        let ids = rows.iter().map(|r| r.id).collect();
        if complete(&txn, &self.worker, ids).await? != rows.len() as u64 {
            txn.rollback().await?;
            return Ok(false);
        }
        txn.commit().await?;
        Ok(true)
    }
}

/// Brings the facts of `orders` up to date, locking them first on PostgreSQL (in id order,
/// the one order every projector takes); the number of facts written.
pub async fn project(db: &impl ConnectionTrait, orders: &BTreeSet<i64>) -> Result<usize, DbErr> {
    let mut query = order::Entity::find()
        .filter(order::Column::Id.is_in(orders.iter().copied()))
        .order_by_asc(order::Column::Id);
    if db.get_database_backend() == DbBackend::Postgres {
        query = query.lock(LockType::Update);
    }
    let found = query.all(db).await?;
    super::facts::record_order_changes(db, &found).await
}

/// Applies every event not yet done, whoever holds it, without marking it (its projector will,
/// finding nothing left to add): after this the statistics include every order change
/// committed before it started. Closing a quarter and loading the demo call it; the number of
/// facts written.
pub async fn catch_up<C>(db: &C) -> Result<usize, DbErr>
where
    C: ConnectionTrait + TransactionTrait,
{
    let waiting: Vec<String> = outbox::Entity::find()
        .select_only()
        .column(outbox::Column::Payload)
        .filter(outbox::Column::Channel.eq(Channel::Stats.as_str()))
        .filter(outbox::Column::DeliveredAt.is_null())
        .filter(outbox::Column::DeadAt.is_null())
        .into_tuple()
        .all(db)
        .await?;
    let orders: Vec<i64> = waiting
        .iter()
        .filter_map(|p| serde_json::from_str::<StatsEvent>(p).ok())
        .map(|e| e.order_id)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    in_chunks(db, &orders).await
}

/// [`project`] over `orders`, [`ORDERS_AT_ONCE`] of them to a transaction.
async fn in_chunks<C>(db: &C, orders: &[i64]) -> Result<usize, DbErr>
where
    C: ConnectionTrait + TransactionTrait,
{
    let mut written = 0;
    for some in orders.chunks(ORDERS_AT_ONCE) {
        let txn = db.begin().await?;
        written += project(&txn, &some.iter().copied().collect()).await?;
        txn.commit().await?;
    }
    Ok(written)
}

/// Brings every order's facts up to date, whatever the outbox holds (`qudao rebuild-stats`,
/// after facts were lost or the events were dropped), then recomputes the aggregates from the
/// facts. The number of facts written.
pub async fn rebuild<C>(db: &C) -> Result<usize, DbErr>
where
    C: ConnectionTrait + TransactionTrait,
{
    let ids: Vec<i64> = order::Entity::find()
        .select_only()
        .column(order::Column::Id)
        .order_by_asc(order::Column::Id)
        .into_tuple()
        .all(db)
        .await?;
    let written = in_chunks(db, &ids).await?;
    let txn = db.begin().await?;
    super::aggregates::rebuild(&txn).await?;
    txn.commit().await?;
    Ok(written)
}
