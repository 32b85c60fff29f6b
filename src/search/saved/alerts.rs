//! Finding what saved searches alert to, and the daily digests.
//!
//! The search relay calls [`after_indexing`] once a batch of listings newly on offer is in
//! the index: each saved search is asked of the engine, narrowed to those listings, and every
//! listing it finds becomes a hit. A hit is recorded once per saved search, listing and the
//! change that offered it (so a relay that delivers a row twice alerts once, while a listing
//! restocked later alerts again). Instant hits become a `search.match` event at once; daily
//! ones wait for [`send_digests`], which the sweeper runs.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, TryInsertResult,
};
use serde_json::json;

use super::entity::{hit, saved_search};
use super::{Alert, SavedQuery};
use crate::outbox::{Channel, Event, enqueue};
use crate::search::document::SearchDocument;
use crate::search::query::SearchRequest;
use crate::search::{SearchEngine, SearchService};
use crate::stats::domain::{day_start, local_date};

/// The topic of an instant alert.
pub const MATCH_TOPIC: &str = "search.match";
/// The topic of a daily digest.
pub const DIGEST_TOPIC: &str = "search.digest";
/// Listings asked about in one engine query.
const IDS_PER_QUERY: usize = 100;

/// A listing newly on offer, as the relay just indexed it.
#[derive(Debug, Clone)]
pub struct Offered {
    /// The outbox row of the change that offered it.
    pub occasion: i64,
    pub doc: SearchDocument,
}

/// Whether `doc` could match `req` at all, judged from its filters alone; the engine has the
/// last word. Saves asking the engine about listings a search rules out plainly.
fn could_match(req: &SearchRequest, doc: &SearchDocument) -> bool {
    let f = &req.filters;
    doc.in_stock
        && f.category_id.is_none_or(|c| doc.category_ids.contains(&c))
        && f.region_code
            .as_ref()
            .is_none_or(|r| doc.region_codes.contains(r))
        && f.organization_id.is_none_or(|o| doc.organization_id == o)
        && f.min_price_fen.is_none_or(|p| doc.price_fen >= p)
        && f.max_price_fen.is_none_or(|p| doc.price_fen <= p)
        && f.certification
            .is_none_or(|c| doc.certifications.iter().any(|x| x == c.code()))
}

/// Asks every saved search with alerts about `offered`, records the hits and writes the
/// instant alerts; returns how many hits were new.
pub async fn after_indexing(
    db: &DatabaseConnection,
    search: &SearchService,
    offered: &[Offered],
) -> anyhow::Result<usize> {
    if offered.is_empty() {
        return Ok(0);
    }
    let saved = saved_search::Entity::find()
        .filter(saved_search::Column::Alert.ne(Alert::Off.code()))
        .order_by_asc(saved_search::Column::Id)
        .all(db)
        .await?;
    let vocab = search.vocabulary();
    let occasion: BTreeMap<i64, i64> = offered.iter().map(|o| (o.doc.id, o.occasion)).collect();
    let mut found: Vec<(&saved_search::Model, Vec<i64>)> = Vec::new();
    for s in &saved {
        // A query that no longer checks (its category was removed) finds nothing.
        let Ok(mut req) = SavedQuery::from_column(&s.query).check(&vocab) else {
            continue;
        };
        let candidates: Vec<i64> = offered
            .iter()
            .filter(|o| could_match(&req, &o.doc))
            .map(|o| o.doc.id)
            .collect();
        let mut listings = Vec::new();
        for ids in candidates.chunks(IDS_PER_QUERY) {
            req.filters.listing_ids = Some(ids.to_vec());
            req.page = 1;
            req.per_page = ids.len() as u64;
            let results = search.engine().search(&req).await?;
            listings.extend(results.hits.iter().map(|h| h.doc.id));
        }
        if !listings.is_empty() {
            listings.sort_unstable();
            found.push((s, listings));
        }
    }
    if found.is_empty() {
        return Ok(0);
    }
    let txn = crate::db::write_txn(db).await?;
    let now = Utc::now();
    let mut new = 0;
    for (s, listings) in found {
        let instant = s.alert == Alert::Instant.code();
        let mut fresh = Vec::new();
        for listing in listings {
            let inserted = hit::Entity::insert(hit::ActiveModel {
                saved_search_id: Set(s.id),
                user_id: Set(s.user_id),
                listing_id: Set(listing),
                occasion: Set(occasion[&listing]),
                alert: Set(s.alert.clone()),
                created_at: Set(now),
                sent_at: Set(instant.then_some(now)),
                ..Default::default()
            })
            .on_conflict_do_nothing_on([
                hit::Column::SavedSearchId,
                hit::Column::ListingId,
                hit::Column::Occasion,
            ])
            .exec_without_returning(&txn)
            .await?;
            if matches!(inserted, TryInsertResult::Inserted(n) if n > 0) {
                fresh.push(listing);
            }
        }
        new += fresh.len();
        if instant && !fresh.is_empty() {
            enqueue(
                &txn,
                Event {
                    channel: Channel::Notify,
                    topic: MATCH_TOPIC,
                    aggregate_type: "saved_search",
                    aggregate_id: s.id,
                    payload: json!({
                        "user_id": s.user_id,
                        "items": fresh.iter().map(|l| json!({"saved_search_id": s.id, "listing_id": l})).collect::<Vec<_>>(),
                    }),
                },
            )
            .await?;
        }
    }
    txn.commit().await?;
    Ok(new)
}

/// Writes one digest event per person whose daily saved searches found listings before
/// today (Beijing time) that no digest has carried yet; returns how many were written. Safe
/// to run in several processes: a digest is written only by whoever marks all its hits.
pub async fn send_digests(db: &DatabaseConnection, now: DateTime<Utc>) -> Result<usize, DbErr> {
    let before = day_start(now);
    let waiting = || {
        hit::Entity::find()
            .filter(hit::Column::SentAt.is_null())
            .filter(hit::Column::CreatedAt.lt(before))
    };
    let users: Vec<i64> = waiting()
        .select_only()
        .column(hit::Column::UserId)
        .distinct()
        .into_tuple()
        .all(db)
        .await?;
    let mut written = 0;
    for user in users {
        let txn = crate::db::write_txn(db).await?;
        let hits = waiting()
            .filter(hit::Column::UserId.eq(user))
            .order_by_asc(hit::Column::Id)
            .all(&txn)
            .await?;
        let daily: Vec<i64> = saved_search::Entity::find()
            .select_only()
            .column(saved_search::Column::Id)
            .filter(saved_search::Column::UserId.eq(user))
            .filter(saved_search::Column::Alert.eq(Alert::Daily.code()))
            .into_tuple()
            .all(&txn)
            .await?;
        // Hits of searches since turned to instant or off are dropped, not sent late.
        let items: Vec<serde_json::Value> = hits
            .iter()
            .filter(|h| daily.contains(&h.saved_search_id))
            .map(|h| json!({"saved_search_id": h.saved_search_id, "listing_id": h.listing_id}))
            .collect();
        let ids: Vec<i64> = hits.iter().map(|h| h.id).collect();
        let marked = hit::Entity::update_many()
            .col_expr(hit::Column::SentAt, Expr::value(Some(now)))
            .filter(hit::Column::Id.is_in(ids.clone()))
            .filter(hit::Column::SentAt.is_null())
            .exec(&txn)
            .await?
            .rows_affected;
        if ids.is_empty() || marked != ids.len() as u64 {
            // Another process sent them meanwhile.
            txn.rollback().await?;
            continue;
        }
        if !items.is_empty() {
            enqueue(
                &txn,
                Event {
                    channel: Channel::Notify,
                    topic: DIGEST_TOPIC,
                    aggregate_type: "user",
                    aggregate_id: user,
                    payload: json!({
                        "user_id": user,
                        "day": local_date(before - Duration::seconds(1)).to_string(),
                        "items": items,
                    }),
                },
            )
            .await?;
            written += 1;
        }
        txn.commit().await?;
    }
    Ok(written)
}
