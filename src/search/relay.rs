//! The search relay: claims `search` outbox rows, re-reads the listings they name and
//! upserts or deletes them in the engine. Idempotent (it always writes what the database
//! holds now), retried with exponential backoff while the engine is down, and safe to run
//! in several processes (rows are leased; on PostgreSQL claimed with `SKIP LOCKED`).
//! Once listings newly on offer are in the index, it asks the saved searches about them.

use std::collections::{BTreeMap, BTreeSet};

use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use tokio::sync::watch;

use super::document;
use super::saved::alerts::{self, Offered};
use super::{SearchEngine, SearchService};
use crate::catalog::entity::listing;
use crate::catalog::listings::category_and_descendants;
use crate::outbox::entity as outbox;
use crate::outbox::events::SearchEvent;
pub use crate::outbox::worker::{WorkerConfig as RelayConfig, backoff};
use crate::outbox::worker::{claim, finish, keep_running};
use crate::outbox::{Channel, ChannelEvent};

/// Keeps one engine in step with the database.
pub struct Relay {
    db: DatabaseConnection,
    search: SearchService,
    config: RelayConfig,
    worker: String,
    configured: bool,
}

/// What one pass of the relay did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pass {
    /// Outbox rows delivered.
    pub delivered: usize,
    /// Rows claimed but not delivered (the engine failed); they wait for their backoff.
    pub failed: usize,
}

impl Relay {
    /// A relay for `search` on `db`.
    pub fn new(db: DatabaseConnection, search: SearchService, config: RelayConfig) -> Self {
        Relay {
            db,
            search,
            config,
            worker: format!("relay-{}", uuid::Uuid::new_v4().simple()),
            configured: false,
        }
    }

    /// Runs until `stop` turns true.
    pub async fn run(mut self, stop: watch::Receiver<bool>) {
        tracing::info!(engine = self.search.engine().name(), "search relay");
        let (idle, batch) = (self.config.idle, self.config.batch);
        // A full batch leaves more behind it; anything less, and the next pass waits, so a
        // stream of single changes reaches the engine in batches, not one by one.
        keep_running("search relay", idle, stop, async move || {
            self.run_once().await.map(|p| p.delivered as u64 >= batch)
        })
        .await;
    }

    /// One pass: claim a batch, deliver it, record the outcome.
    pub async fn run_once(&mut self) -> anyhow::Result<Pass> {
        let engine = self.search.engine();
        // Before writing: a rebuild by another process may have switched the live index.
        if let Err(e) = engine.refresh().await {
            tracing::warn!(error = %e, "could not reopen the search index");
        }
        // An index on disk shared by several instances is written by one of them at a time;
        // the others leave the rows to it.
        if !engine.claim_writer().await? {
            return Ok(Pass::default());
        }
        let rows = claim(&self.db, Channel::Search, &self.worker, &self.config).await?;
        if rows.is_empty() {
            if !self.configured {
                self.configure().await.ok();
            }
            return Ok(Pass::default());
        }
        match self.deliver(&rows).await {
            Ok(()) => {
                finish(&self.db, &self.worker, &rows, None, &self.config).await?;
                Ok(Pass {
                    delivered: rows.len(),
                    failed: 0,
                })
            }
            Err(e) => {
                let msg = format!("{e:#}");
                tracing::warn!(error = %msg, rows = rows.len(), "search relay will retry");
                finish(&self.db, &self.worker, &rows, Some(&msg), &self.config).await?;
                Ok(Pass {
                    delivered: 0,
                    failed: rows.len(),
                })
            }
        }
    }

    async fn configure(&mut self) -> anyhow::Result<()> {
        let vocab = self.search.reload_vocabulary(&self.db).await?;
        self.search.engine().configure(&vocab.synonyms()).await?;
        self.configured = true;
        Ok(())
    }

    async fn deliver(&mut self, rows: &[outbox::Model]) -> anyhow::Result<()> {
        let events = rows
            .iter()
            .map(|r| SearchEvent::decode(r).map(|e| (r.id, e)))
            .collect::<Result<Vec<_>, _>>()?;
        let categories: Vec<i64> = events
            .iter()
            .filter_map(|(_, e)| match e {
                SearchEvent::Category { category_id } => Some(*category_id),
                _ => None,
            })
            .collect();
        if !self.configured || !categories.is_empty() {
            self.configure().await?;
        }
        let mut ids: BTreeSet<i64> = events
            .iter()
            .filter_map(|(_, e)| match e {
                SearchEvent::Listing { listing_id, .. } | SearchEvent::Stock { listing_id } => {
                    Some(*listing_id)
                }
                SearchEvent::Category { .. } => None,
            })
            .collect();
        for c in categories {
            let cats = category_and_descendants(&self.db, c).await?;
            let affected = listing::Entity::find()
                .select_only()
                .column(listing::Column::Id)
                .filter(listing::Column::CategoryId.is_in(cats))
                .into_tuple::<i64>()
                .all(&self.db)
                .await?;
            ids.extend(affected);
        }
        let ids: Vec<i64> = ids.into_iter().collect();
        // The rows whose change put a listing on offer, for the saved searches' alerts.
        let occasions: BTreeMap<i64, i64> = events
            .iter()
            .filter_map(|(row, e)| match e {
                SearchEvent::Listing {
                    listing_id,
                    offered: true,
                    ..
                } => Some((*listing_id, *row)),
                _ => None,
            })
            .collect();
        let vocab = self.search.vocabulary();
        let mut upserts = Vec::new();
        let mut deletes = Vec::new();
        let mut offered = Vec::new();
        for (id, doc) in document::current(&self.db, &vocab, &ids).await? {
            match doc {
                Some(d) => {
                    if let Some(&occasion) = occasions.get(&id) {
                        offered.push(Offered {
                            occasion,
                            doc: d.clone(),
                        });
                    }
                    upserts.push(d)
                }
                None => deletes.push(id),
            }
        }
        let engine = self.search.engine();
        engine.upsert(None, upserts).await?;
        engine.delete(deletes).await?;
        alerts::after_indexing(&self.db, &self.search, &offered).await?;
        Ok(())
    }
}

/// Makes search rows written since `after_id` due again, so that changes made while a
/// rebuild was reading the database reach the new index too.
pub async fn replay_since(db: &impl ConnectionTrait, after_id: i64) -> Result<u64, sea_orm::DbErr> {
    let r = outbox::Entity::update_many()
        .col_expr(
            outbox::Column::DeliveredAt,
            Expr::value(Option::<chrono::DateTime<Utc>>::None),
        )
        .col_expr(outbox::Column::AvailableAt, Expr::value(Utc::now()))
        .filter(outbox::Column::Channel.eq(Channel::Search.as_str()))
        .filter(outbox::Column::Id.gt(after_id))
        .exec(db)
        .await?;
    Ok(r.rows_affected)
}

/// The id of the newest search outbox row, or 0.
pub async fn last_row_id(db: &impl ConnectionTrait) -> Result<i64, sea_orm::DbErr> {
    Ok(outbox::Entity::find()
        .select_only()
        .column(outbox::Column::Id)
        .filter(outbox::Column::Channel.eq(Channel::Search.as_str()))
        .order_by_desc(outbox::Column::Id)
        .limit(1)
        .into_tuple::<i64>()
        .one(db)
        .await?
        .unwrap_or(0))
}

/// Search rows not yet delivered.
pub async fn pending(db: &impl ConnectionTrait) -> Result<Vec<outbox::Model>, sea_orm::DbErr> {
    outbox::Entity::find()
        .filter(outbox::Column::Channel.eq(Channel::Search.as_str()))
        .filter(outbox::Column::DeliveredAt.is_null())
        .order_by_asc(outbox::Column::Id)
        .all(db)
        .await
}
