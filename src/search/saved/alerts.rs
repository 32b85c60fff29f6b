//! Finding what saved searches alert to.
//!
//! The search relay calls [`after_indexing`] once a batch of listings newly on offer is in
//! the index: each saved search is asked of the engine, narrowed to those listings, and every
//! listing it finds becomes a hit. A hit is recorded once per saved search, listing and the
//! change that offered it (so a relay that delivers a row twice alerts once, while a listing
//! restocked later alerts again). The hits of one saved search become one `search.match`
//! event; for a daily alert the event asks for its email to wait for the person's daily
//! digest ([`crate::notify::digest`]).

use std::collections::BTreeMap;

use chrono::Utc;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    TryInsertResult,
};

use super::entity::{hit, saved_search};
use super::{Alert, SavedQuery};
use crate::outbox::enqueue;
use crate::outbox::events::{MatchedListing, NotifyEvent, SearchMatch};
use crate::search::document::SearchDocument;
use crate::search::query::SearchRequest;
use crate::search::{SearchEngine, SearchService};

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
            .is_none_or(|c| doc.certifications.contains(&c))
}

/// Asks every saved search with alerts about `offered`, records the hits and writes one
/// alert event per saved search that found something new; returns how many hits were new.
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
        let mut fresh = Vec::new();
        for listing in listings {
            let inserted = hit::Entity::insert(hit::ActiveModel {
                saved_search_id: Set(s.id),
                listing_id: Set(listing),
                occasion: Set(occasion[&listing]),
                created_at: Set(now),
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
        if !fresh.is_empty() {
            let found = SearchMatch {
                saved_search_id: s.id,
                user_id: s.user_id,
                items: fresh
                    .iter()
                    .map(|&listing_id| MatchedListing {
                        saved_search_id: s.id,
                        listing_id,
                    })
                    .collect(),
                digest: s.alert == Alert::Daily,
            };
            enqueue(&txn, &NotifyEvent::SearchMatch(found)).await?;
        }
    }
    txn.commit().await?;
    Ok(new)
}
