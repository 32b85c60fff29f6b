//! The relay while the search engine is down, then back: nothing is lost and the index
//! ends equal to the database.

use std::time::{Duration, Instant};

use qudao::catalog::entity::listing;
use qudao::search::meili::MeiliEngine;
use qudao::search::relay::{self, Relay, RelayConfig};
use qudao::search::{Engine, SearchEngine, SearchRequest, SearchService, document};
use reqwest::StatusCode;
use sea_orm::{EntityTrait, QueryOrder};
use serde_json::json;

use crate::helpers::{Backend, TestApp, spawn_app_with};
use crate::on_both_databases;
use crate::search::meili_from_env;

/// Quick retries, so that the test does not wait on production backoff.
fn fast() -> RelayConfig {
    RelayConfig {
        backoff_base: Duration::from_millis(20),
        backoff_max: Duration::from_millis(200),
        ..RelayConfig::default()
    }
}

/// The engine that comes back: Meilisearch when configured (a fresh index), else an embedded index.
async fn engine_that_comes_back(dir: &std::path::Path) -> (Engine, Option<String>) {
    if std::env::var("QUDAO_MEILI_URL").is_ok()
        && let Some((url, key)) = meili_from_env()
    {
        let index = format!("qudao_test_{}", uuid::Uuid::new_v4().simple());
        let e = MeiliEngine::new(&url, key.as_deref(), &index).unwrap();
        return (Engine::Meili(e), Some(index));
    }
    eprintln!(
        "skipped: QUDAO_MEILI_URL is not set, so the index comes back as the embedded engine"
    );
    let e = qudao::search::embedded::EmbeddedEngine::open(dir.join("index")).unwrap();
    (Engine::Embedded(e), None)
}

/// What the index should hold: the documents of every public listing.
async fn expected(app: &TestApp, service: &SearchService) -> Vec<document::SearchDocument> {
    let ids: Vec<i64> = listing::Entity::find()
        .order_by_asc(listing::Column::Id)
        .all(&app.db)
        .await
        .unwrap()
        .iter()
        .map(|l| l.id)
        .collect();
    let vocab = service.reload_vocabulary(&app.db).await.unwrap();
    document::current(&app.db, &vocab, &ids)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|(_, d)| d)
        .collect()
}

async fn indexed(service: &SearchService) -> Vec<document::SearchDocument> {
    let mut all = SearchRequest::all();
    all.sort = qudao::search::query::Sort::PriceAsc;
    let r = service.engine().search(&all).await.unwrap();
    let mut docs: Vec<_> = r.hits.into_iter().map(|h| h.doc).collect();
    docs.sort_by_key(|d| d.id);
    docs
}

async fn drain(relay: &mut Relay, db: &sea_orm::DatabaseConnection) {
    let start = Instant::now();
    while !relay::pending(db).await.unwrap().is_empty() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the relay never caught up"
        );
        let pass = relay.run_once().await.unwrap();
        if pass.delivered == 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

on_both_databases!(
    the_index_catches_up_after_the_engine_was_down,
    the_vocabulary_is_built_again_only_when_its_words_change
);

async fn the_index_catches_up_after_the_engine_was_down(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |s| s.search_relay = false).await else {
        return;
    };
    let zilong = app.login("coop-zilong").await;
    let potato = app.category_id("potato").await;
    let mine = app.listings_of(app.organization_of(&zilong).await).await;

    // The engine is down: nothing listens on the discard port.
    let down = Engine::Meili(MeiliEngine::new("http://127.0.0.1:9", None, "listings").unwrap());
    let down = SearchService::new(down, &app.db).await.unwrap();
    let mut relay_down = Relay::new(app.db.clone(), down, fast());

    // Listings change while it is down; every write succeeds.
    let r = app
        .post(
            "/api/v1/listings",
            Some(&zilong),
            json!({"category_id": potato, "title": "孜龙村紫皮洋芋", "unit": "jin", "price_fen": 220, "stock": "5000"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let pass = relay_down.run_once().await.unwrap();
    assert_eq!(pass.delivered, 0);
    assert!(pass.failed > 0);
    let pending = relay::pending(&app.db).await.unwrap();
    assert!(
        pending
            .iter()
            .any(|r| r.attempts == 1 && r.last_error.is_some())
    );
    assert!(
        pending.iter().all(|r| r.locked_by.is_none()),
        "failed rows are released"
    );
    assert!(
        pending
            .iter()
            .filter(|r| r.attempts > 0)
            .all(|r| r.available_at > chrono::Utc::now() - chrono::Duration::seconds(1))
    );
    let r = app
        .patch(
            &format!("/api/v1/listings/{}", mine[0]),
            Some(&zilong),
            json!({"price_fen": 999, "title": "孜龙村新一季苹果"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let r = app
        .call(
            reqwest::Method::DELETE,
            &format!("/api/v1/listings/{}", mine[1]),
            Some(&zilong),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = app
        .call(
            reqwest::Method::POST,
            &format!("/api/v1/listings/{}/pause", mine[2]),
            Some(&zilong),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    // Retries keep failing, with growing delays, and lose nothing.
    tokio::time::sleep(Duration::from_millis(100)).await;
    relay_down.run_once().await.unwrap();
    let still = relay::pending(&app.db).await.unwrap();
    assert!(
        still.len() >= pending.len() + 3,
        "{} then {}",
        pending.len(),
        still.len()
    );
    assert!(
        still.iter().any(|r| r.attempts >= 2),
        "a second attempt was made"
    );

    // The engine is back.
    let dir = tempfile::tempdir().unwrap();
    let (engine, meili_index) = engine_that_comes_back(dir.path()).await;
    let up = SearchService::new(engine, &app.db).await.unwrap();
    let mut relay_up = Relay::new(app.db.clone(), up.clone(), fast());
    drain(&mut relay_up, &app.db).await;
    let want = expected(&app, &up).await;
    assert_eq!(
        want.len(),
        15,
        "16 demo listings + 1 new − 1 deleted − 1 paused"
    );
    assert_eq!(indexed(&up).await, want);

    // Delivering everything again changes nothing: the relay is idempotent.
    relay::replay_since(&app.db, 0).await.unwrap();
    drain(&mut relay_up, &app.db).await;
    assert_eq!(indexed(&up).await, want);

    if let Some(index) = meili_index {
        let (url, key) = meili_from_env().unwrap();
        let client = meilisearch_sdk::client::Client::new(url, key).unwrap();
        client.index(index).delete().await.ok();
    }
}

/// Every instance re-reads the vocabulary every few seconds. It builds it again (the
/// lexicon's readings, its matcher) only when a synonym or a place changed; a synonym added
/// through another instance is still picked up on the next read.
async fn the_vocabulary_is_built_again_only_when_its_words_change(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |s| s.search_relay = false).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let engine =
        Engine::Embedded(qudao::search::embedded::EmbeddedEngine::open(dir.path()).unwrap());
    let service = SearchService::new(engine, &app.db).await.unwrap();
    let first = service.reload_vocabulary(&app.db).await.unwrap();
    let again = service.reload_vocabulary(&app.db).await.unwrap();
    assert!(
        std::sync::Arc::ptr_eq(&first, &again),
        "nothing changed, so the vocabulary in use stays"
    );
    let is_product = |v: &qudao::search::vocabulary::Vocabulary| {
        v.terms("洋坨坨", 5)
            .iter()
            .any(|t| t.kind == qudao::search::vocabulary::TermKind::Product)
    };
    assert!(!is_product(&first));

    let admin = app.login("admin").await;
    let potato = app.category_id("potato").await;
    let r = app.add_alias(&admin, potato, "洋坨坨").await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let changed = service.reload_vocabulary(&app.db).await.unwrap();
    assert!(!std::sync::Arc::ptr_eq(&first, &changed));
    assert!(is_product(&changed));
    assert!(std::sync::Arc::ptr_eq(
        &changed,
        &service.reload_vocabulary(&app.db).await.unwrap()
    ));
    assert!(std::sync::Arc::ptr_eq(&changed, &service.vocabulary()));
}

on_both_databases!(an_unfinished_rebuild_leaves_no_index_behind);

/// A rebuild that cannot finish (the database or the engine failed halfway) drops the index
/// it was filling, with every batch sent to it; the live index goes on answering as before.
async fn an_unfinished_rebuild_leaves_no_index_behind(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |s| s.search_relay = false).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (engine, meili_index) = engine_that_comes_back(dir.path()).await;
    let service = SearchService::new(engine, &app.db).await.unwrap();
    let count = service.rebuild(&app.db).await.unwrap();
    let live = indexed(&service).await;
    assert_eq!(live.len() as u64, count);
    assert!(count > 0);

    let synonyms = service.vocabulary().synonyms();
    let staging = service.engine().create_staging(&synonyms).await.unwrap();
    let mut docs = expected(&app, &service).await;
    docs.truncate(3);
    service.engine().upsert(Some(&staging), docs).await.unwrap();
    service.engine().discard(staging.clone()).await.unwrap();

    assert_eq!(indexed(&service).await, live, "the live index is untouched");
    assert!(
        service.engine().publish(staging.clone()).await.is_err(),
        "what was discarded cannot be published"
    );
    assert_eq!(indexed(&service).await, live);
    match &meili_index {
        Some(_) => {
            let (url, key) = meili_from_env().unwrap();
            let client = meilisearch_sdk::client::Client::new(url, key).unwrap();
            assert!(
                client.get_index(&staging.0).await.is_err(),
                "the staging index {} is gone",
                staging.0
            );
        }
        None => assert!(
            !dir.path().join("index").join(&staging.0).exists(),
            "the staging generation's files are gone"
        ),
    }
    // Later rebuilds are unaffected.
    assert_eq!(service.rebuild(&app.db).await.unwrap(), count);
    assert_eq!(indexed(&service).await, live);

    if let Some(index) = meili_index {
        let (url, key) = meili_from_env().unwrap();
        let client = meilisearch_sdk::client::Client::new(url, key).unwrap();
        client.index(index).delete().await.ok();
    }
}
