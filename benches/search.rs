//! Search at scale: loads generated listings into each engine and reports indexing
//! throughput, search latency (p50/p99) for typical queries and, for Meilisearch, the
//! same query sent straight to Meilisearch, so that qudao's overhead is a ratio measured
//! in the same run.
//!
//! ```sh
//! cargo bench --bench search                       # embedded engine, 100 000 listings
//! QUDAO_MEILI_URL=http://127.0.0.1:7700 QUDAO_MEILI_KEY=… cargo bench --bench search
//! QUDAO_BENCH_LISTINGS=20000 cargo bench --bench search   # a quicker run
//! ```

use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use qudao::catalog::domain::Certification;
use qudao::catalog::entity::listing;
use qudao::search::document::{self, SearchDocument};
use qudao::search::embedded::EmbeddedEngine;
use qudao::search::meili::{self, MeiliEngine};
use qudao::search::query::{SearchParams, parse};
use qudao::search::vocabulary::Vocabulary;
use qudao::search::{Engine, SearchEngine};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const BATCH: usize = 5_000;
const RUNS: usize = 300;

/// Listings spread over the shipped taxonomy and regions, the same for every run.
fn generate(vocab: &Vocabulary, n: usize) -> Vec<SearchDocument> {
    let mut rng = StdRng::seed_from_u64(2019);
    let leaves: Vec<i64> = (1..=200)
        .filter(|id| vocab.category(*id).is_some_and(|c| c.parent_id.is_some()))
        .collect();
    // Sichuan's counties and the villages search knows, wherever the map places them.
    let places: Vec<(String, f64, f64)> = qudao::catalog::regions::reference_rows()
        .iter()
        .filter(|r| r.code.starts_with("51") && (r.code.len() == 12 || &r.code[4..] != "00"))
        .filter(|r| vocab.place(&r.code).is_some())
        .filter_map(|r| Some((r.code.clone(), r.latitude?, r.longitude?)))
        .collect();
    let words = [
        "高原", "生态", "农家", "精选", "新鲜", "手工", "野生", "有机", "特级", "散装",
    ];
    let certs = [
        Certification::Organic,
        Certification::GreenFood,
        Certification::GeographicalIndication,
        Certification::PovertyAlleviation,
    ];
    let t0 = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    (1..=n as i64)
        .map(|id| {
            let category_id = leaves[rng.gen_range(0..leaves.len())];
            let (code, lat, lng) = &places[rng.gen_range(0..places.len())];
            let place = vocab
                .place(code)
                .map(|p| p.name.clone())
                .unwrap_or_default();
            let name = vocab
                .category(category_id)
                .map(|c| c.name_zh.clone())
                .unwrap_or_default();
            let w = words[rng.gen_range(0..words.len())];
            let cert: Vec<&str> = certs
                .iter()
                .filter(|_| rng.gen_bool(0.2))
                .map(|c| c.code())
                .collect();
            let t = t0 + chrono::Duration::seconds(id * 37);
            let l = listing::Model {
                id,
                organization_id: rng.gen_range(1..=2_000),
                category_id,
                title: format!("{place}{w}{name} {id}号"),
                description: format!("{place}产地直供的{w}{name},产销直连,带动农户增收。"),
                unit: qudao::catalog::domain::Unit::Jin,
                price_fen: rng.gen_range(100..=200_000),
                stock_milli: rng.gen_range(0..1_000_000_000),
                min_order_milli: 1_000_000,
                sold_milli: rng.gen_range(0..10_000_000),
                grade: qudao::catalog::domain::Grade::First,
                season_start: None,
                season_end: None,
                certifications: cert.join(",").parse().expect("known codes"),
                origin_region_code: code.clone(),
                latitude: Some(lat + rng.gen_range(-0.2..0.2)),
                longitude: Some(lng + rng.gen_range(-0.2..0.2)),
                status: qudao::catalog::domain::ListingStatus::Active,
                version: 1,
                created_at: t,
                updated_at: t,
                deleted_at: None,
            };
            document::build(&l, &format!("合作社{}", l.organization_id), vocab)
        })
        .collect()
}

/// The typical queries: words; words with filters and facets; distance.
fn queries() -> Vec<(&'static str, SearchParams)> {
    vec![
        (
            "text",
            SearchParams {
                q: Some("洋芋".into()),
                ..Default::default()
            },
        ),
        (
            "text + filters + facets",
            SearchParams {
                q: Some("道孚 苹果".into()),
                region: Some("513300".into()),
                min_price_fen: Some(500),
                max_price_fen: Some(150_000),
                in_stock: Some(true),
                ..Default::default()
            },
        ),
        (
            "distance sort",
            SearchParams {
                q: Some("大米".into()),
                near: Some("30.5728,104.0668".into()),
                radius_km: Some(300),
                sort: Some("distance".into()),
                ..Default::default()
            },
        ),
    ]
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

async fn time<F, Fut>(mut f: F) -> (Duration, Duration)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for _ in 0..20 {
        f().await;
    }
    let mut samples = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let start = Instant::now();
        f().await;
        samples.push(start.elapsed());
    }
    samples.sort();
    (percentile(&samples, 0.5), percentile(&samples, 0.99))
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

async fn bench(
    engine: Engine,
    vocab: &Vocabulary,
    docs: &[SearchDocument],
    raw: Option<(&str, Option<&str>, &str)>,
) {
    let name = engine.name();
    let synonyms = vocab.synonyms();
    engine.configure(&synonyms).await.expect("configure");
    let staging = engine.create_staging(&synonyms).await.expect("staging");
    let start = Instant::now();
    for chunk in docs.chunks(BATCH) {
        engine
            .upsert(Some(&staging), chunk.to_vec())
            .await
            .expect("indexing");
    }
    engine.publish(staging).await.expect("publish");
    let took = start.elapsed();
    println!(
        "\n## {name}: {} listings indexed in {:.1} s — {:.0} listings/s",
        docs.len(),
        took.as_secs_f64(),
        docs.len() as f64 / took.as_secs_f64()
    );
    let http = reqwest::Client::new();
    if let Some((url, key, _)) = raw {
        let raw_took = index_raw(&http, url, key, &synonyms, docs).await;
        println!(
            "raw Meilisearch (the same documents and settings, straight over HTTP, batches of \
             {BATCH}): {:.1} s — {:.0} listings/s; qudao's rate is {:.2}× raw",
            raw_took.as_secs_f64(),
            docs.len() as f64 / raw_took.as_secs_f64(),
            raw_took.as_secs_f64() / took.as_secs_f64()
        );
    }
    println!(
        "| query | hits | qudao p50 | qudao p99 | raw Meilisearch p50 | raw p99 | p50 ratio |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (label, params) in queries() {
        let req = parse(&params, vocab).expect("a valid request");
        let total = engine.search(&req).await.expect("search").total;
        let (p50, p99) = time(|| async {
            // What the endpoint does: check, search strictly, loosen when nothing is found.
            let req = parse(&params, vocab).unwrap();
            let r = engine.search(&req).await.unwrap();
            if r.total == 0 && req.can_loosen() {
                engine.search(&req.loosened()).await.unwrap();
            }
        })
        .await;
        let raw_cols = match raw {
            Some((url, key, index)) => {
                let body = meili::raw_request(&req);
                let (r50, r99) = time(|| async {
                    let mut call = http
                        .post(format!("{url}/indexes/{index}/search"))
                        .json(&body);
                    if let Some(k) = key {
                        call = call.bearer_auth(k);
                    }
                    let resp = call.send().await.unwrap();
                    assert!(resp.status().is_success());
                    // Any client reads what it asked for: the answer is decoded, untyped.
                    let bytes = resp.bytes().await.unwrap();
                    serde_json::from_slice::<serde_json::Value>(&bytes).unwrap();
                })
                .await;
                format!(
                    "{} | {} | {:.2}",
                    ms(r50),
                    ms(r99),
                    p50.as_secs_f64() / r50.as_secs_f64()
                )
            }
            None => "– | – | –".into(),
        };
        println!(
            "| {label} | {total} | {} | {} | {raw_cols} |",
            ms(p50),
            ms(p99)
        );
    }
    // One change, then how long until a search finds it (the relay adds at most its idle pause).
    let mut changed = docs[0].clone();
    changed.title = "孜龙村刚刚上架的紫皮洋芋".into();
    let probe = parse(
        &SearchParams {
            q: Some("紫皮".into()),
            ..Default::default()
        },
        vocab,
    )
    .unwrap();
    let start = Instant::now();
    engine.upsert(None, vec![changed]).await.expect("upsert");
    while engine.search(&probe).await.unwrap().total == 0 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    println!(
        "\none listing change searchable after {} (plus the relay's idle pause, at most 200 ms)",
        ms(start.elapsed())
    );
}

/// Indexes the documents straight into a fresh Meilisearch index with qudao's settings:
/// every batch sent at once, then the wait for the last; the index is deleted afterwards.
async fn index_raw(
    http: &reqwest::Client,
    url: &str,
    key: Option<&str>,
    synonyms: &std::collections::BTreeMap<String, Vec<String>>,
    docs: &[SearchDocument],
) -> Duration {
    let uid = format!("qudao_bench_raw_{}", uuid::Uuid::new_v4().simple());
    let call = |method: reqwest::Method, path: String| {
        let c = http.request(method, format!("{url}{path}"));
        match key {
            Some(k) => c.bearer_auth(k),
            None => c,
        }
    };
    let wait = |task: serde_json::Value| async move {
        let id = task["taskUid"].as_u64().expect("a task");
        loop {
            let t: serde_json::Value = call(reqwest::Method::GET, format!("/tasks/{id}"))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            match t["status"].as_str() {
                Some("succeeded") => break,
                Some("failed") | Some("canceled") => panic!("raw indexing failed: {t}"),
                _ => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
    };
    let send = |method: reqwest::Method, path: String, body: serde_json::Value| async move {
        let r = call(method, path).json(&body).send().await.unwrap();
        assert!(r.status().is_success(), "{}", r.text().await.unwrap());
        r.json::<serde_json::Value>().await.unwrap()
    };
    let created = send(
        reqwest::Method::POST,
        "/indexes".into(),
        serde_json::json!({"uid": uid, "primaryKey": "id"}),
    )
    .await;
    wait(created).await;
    let settings = meili::index_settings_json(synonyms);
    let set = send(
        reqwest::Method::PATCH,
        format!("/indexes/{uid}/settings"),
        settings,
    )
    .await;
    wait(set).await;
    let start = Instant::now();
    let mut last = None;
    for chunk in docs.chunks(BATCH) {
        let body = serde_json::to_value(chunk).unwrap();
        last = Some(
            send(
                reqwest::Method::POST,
                format!("/indexes/{uid}/documents"),
                body,
            )
            .await,
        );
    }
    if let Some(task) = last {
        wait(task).await;
    }
    let took = start.elapsed();
    call(reqwest::Method::DELETE, format!("/indexes/{uid}"))
        .send()
        .await
        .ok();
    took
}

fn main() {
    let n: usize = std::env::var("QUDAO_BENCH_LISTINGS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let vocab = Vocabulary::from_reference();
    let started = Instant::now();
    let docs = generate(&vocab, n);
    println!(
        "# qudao search benchmark: {n} generated listings (built in {:.1} s)",
        started.elapsed().as_secs_f64()
    );
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let embedded = EmbeddedEngine::open(dir.path().join("search")).unwrap();
        bench(Engine::Embedded(embedded), &vocab, &docs, None).await;
        match std::env::var("QUDAO_MEILI_URL") {
            Ok(url) => {
                let key = std::env::var("QUDAO_MEILI_KEY").ok();
                let index = format!("qudao_bench_{}", uuid::Uuid::new_v4().simple());
                let engine = MeiliEngine::new(&url, key.as_deref(), &index).unwrap();
                bench(
                    Engine::Meili(engine),
                    &vocab,
                    &docs,
                    Some((&url, key.as_deref(), &index)),
                )
                .await;
                let client = meilisearch_sdk::client::Client::new(url, key).unwrap();
                client.index(index).delete().await.ok();
            }
            Err(_) => println!(
                "\nskipped: QUDAO_MEILI_URL is not set, so Meilisearch was not benchmarked"
            ),
        }
    });
}
