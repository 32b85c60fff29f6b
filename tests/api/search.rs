//! The search conformance suite: the same tests against the embedded engine always and
//! against Meilisearch whenever `QUDAO_MEILI_URL` is set.

use std::time::{Duration, Instant};

use qudao::Settings;
use qudao::catalog::entity::listing;
use qudao::search::query::distance_m;
use qudao::search::relay;
use reqwest::StatusCode;
use sea_orm::{ActiveModelTrait, EntityTrait, IntoActiveModel, Set};
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, spawn_app_with};

/// Which search engine a test runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineKind {
    Embedded,
    Meili,
}

/// Runs an `async fn(EngineKind)` test on the embedded engine and on Meilisearch.
#[macro_export]
macro_rules! on_both_engines {
    ($($name:ident),+ $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn embedded() {
                    super::$name($crate::search::EngineKind::Embedded).await
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn meilisearch() {
                    super::$name($crate::search::EngineKind::Meili).await
                }
            }
        )+
    };
}

/// A running app with the search engine under test and, for Meilisearch, its own index.
pub struct SearchApp {
    pub app: TestApp,
    pub settings: Settings,
}

impl std::ops::Deref for SearchApp {
    type Target = TestApp;
    fn deref(&self) -> &TestApp {
        &self.app
    }
}

impl Drop for SearchApp {
    fn drop(&mut self) {
        let (Some(url), index) = (
            self.settings.meili_url.clone(),
            self.settings.meili_index.clone(),
        ) else {
            return;
        };
        let key = self.settings.meili_key.clone();
        // Best effort: leave the Meilisearch server as we found it.
        crate::helpers::finish_aside(async move {
            let mut req = reqwest::Client::new().delete(format!("{url}/indexes/{index}"));
            if let Some(k) = key {
                req = req.bearer_auth(k);
            }
            req.send().await.ok();
        });
    }
}

/// Meilisearch's address and key from the environment, or `None` (saying why).
pub fn meili_from_env() -> Option<(String, Option<String>)> {
    match std::env::var("QUDAO_MEILI_URL") {
        Ok(url) if !url.trim().is_empty() => Some((
            url,
            std::env::var("QUDAO_MEILI_KEY")
                .ok()
                .filter(|k| !k.is_empty()),
        )),
        _ => {
            eprintln!(
                "skipped: QUDAO_MEILI_URL is not set, so the Meilisearch engine was not tested"
            );
            None
        }
    }
}

/// Starts the app on SQLite with `engine` and waits until the demo market is indexed.
pub async fn spawn_search_app(engine: EngineKind) -> Option<SearchApp> {
    spawn_search_app_with(engine, Backend::Sqlite, |_| {}).await
}

/// Like [`spawn_search_app`] on a chosen database, with a chance to adjust the settings.
pub async fn spawn_search_app_with(
    engine: EngineKind,
    backend: Backend,
    adjust: impl FnOnce(&mut Settings),
) -> Option<SearchApp> {
    let meili = match engine {
        EngineKind::Embedded => None,
        EngineKind::Meili => Some(meili_from_env()?),
    };
    let mut captured = None;
    let app = spawn_app_with(backend, |s| {
        s.search_relay = true;
        if let Some((url, key)) = meili {
            s.meili_url = Some(url);
            s.meili_key = key;
            s.meili_index = format!("qudao_test_{}", uuid::Uuid::new_v4().simple());
        }
        adjust(s);
        captured = Some(s.clone());
    })
    .await?;
    let app = SearchApp {
        app,
        settings: captured.expect("settings"),
    };
    if app.settings.search_relay {
        app.wait_until_indexed().await;
    }
    Some(app)
}

impl SearchApp {
    /// Waits until the relay has delivered every search outbox row.
    pub async fn wait_until_indexed(&self) {
        let start = Instant::now();
        loop {
            let pending = relay::pending(&self.db).await.unwrap();
            if pending.is_empty() {
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "the relay did not deliver {} rows; last error: {:?}",
                pending.len(),
                pending.iter().find_map(|r| r.last_error.clone())
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Searches and expects success.
    pub async fn search(&self, query: &str) -> Value {
        let r = self.get(&format!("/api/v1/search?{query}"), None).await;
        assert_eq!(r.status, StatusCode::OK, "search {query}: {}", r.text);
        r.body
    }

    /// The titles found, in order.
    pub async fn titles(&self, query: &str) -> Vec<String> {
        titles(&self.search(query).await)
    }
}

/// The titles of a search answer, in order.
pub fn titles(body: &Value) -> Vec<String> {
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["title"].as_str().unwrap().to_string())
        .collect()
}

/// Percent-encodes a query value.
pub fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

on_both_engines!(
    buyers_are_understood_as_they_type,
    synonyms_and_dialect_words_find_the_same_product,
    pinyin_initials_and_traditional_characters_find_the_product,
    county_names_find_what_comes_from_there,
    a_place_and_a_product_keep_the_product_word,
    filters_narrow_by_category_tree_region_price_certification_stock_and_seller,
    facets_count_every_match,
    sorting_by_price_newest_and_sales,
    distance_sorts_and_bounds_by_radius,
    pages_cover_every_match_once,
    unanswerable_queries_get_422_with_the_field,
    changes_deletes_and_pauses_become_visible,
    the_same_search_again_sees_what_sold_since,
    synonyms_added_by_an_admin_are_picked_up,
    reindex_rebuilds_from_the_database_without_a_gap,
    grades_named_or_chosen_narrow_to_that_grade_or_better,
);

async fn synonyms_and_dialect_words_find_the_same_product(engine: EngineKind) {
    let Some(app) = spawn_search_app(engine).await else {
        return;
    };
    for (queries, want) in [
        (&["洋芋", "土豆", "马铃薯", "山药蛋"][..], "道孚高原洋芋"),
        (&["红苕", "红薯", "地瓜", "番薯"][..], "程家沟红心红苕"),
        (&["海椒", "辣椒"][..], "二荆条海椒 干货"),
        (&["虫草", "冬虫夏草"][..], "道孚冬虫夏草 精选"),
        (&["贝母", "川贝母"][..], "川贝母 松贝 统货"),
        (&["藏红花", "西红花", "番红花"][..], "藏红花 西红花丝"),
        (&["大米", "稻米"][..], "开江盘石村生态大米"),
    ] {
        for q in queries {
            let t = app.titles(&format!("q={}", enc(q))).await;
            assert_eq!(t.first().map(String::as_str), Some(want), "{q}: {t:?}");
        }
    }
}

async fn pinyin_initials_and_traditional_characters_find_the_product(engine: EngineKind) {
    let Some(app) = spawn_search_app(engine).await else {
        return;
    };
    for q in ["pingguo", "pg", "蘋果", "苹果", "apple"] {
        let t = app.titles(&format!("q={}", enc(q))).await;
        assert_eq!(
            t.first().map(String::as_str),
            Some("孜龙村高原红富士苹果"),
            "{q}: {t:?}"
        );
    }
    // Pinyin, initials (虫草 is cc), and a place's initials run into a product's (dfcc: 道孚
    // and 虫草, where other counties are df too).
    for q in ["chongcao", "cc", "dfcc"] {
        let t = app.titles(&format!("q={q}")).await;
        assert_eq!(
            t.first().map(String::as_str),
            Some("道孚冬虫夏草 精选"),
            "{q}: {t:?}"
        );
    }
    let t = app.titles("q=yy").await;
    assert_eq!(t.first().map(String::as_str), Some("道孚高原洋芋"), "{t:?}");
    let t = app.titles(&format!("q={}", enc("蟲草"))).await;
    assert_eq!(
        t.first().map(String::as_str),
        Some("道孚冬虫夏草 精选"),
        "{t:?}"
    );
}

async fn county_names_find_what_comes_from_there(engine: EngineKind) {
    let Some(app) = spawn_search_app(engine).await else {
        return;
    };
    let body = app.search(&format!("q={}&per_page=50", enc("道孚"))).await;
    assert_eq!(body["total"], 6, "{body}");
    assert!(
        body["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["county"]["code"] == "513326")
    );
    let body = app.search(&format!("q={}&per_page=50", enc("开江"))).await;
    assert_eq!(body["total"], 5, "{body}");
    let body = app.search("q=daofu&per_page=50").await;
    assert_eq!(body["total"], 6, "{body}");
}

async fn a_place_and_a_product_keep_the_product_word(engine: EngineKind) {
    let Some(app) = spawn_search_app(engine).await else {
        return;
    };
    let body = app.search(&format!("q={}", enc("道孚 虫草"))).await;
    assert_eq!(titles(&body), ["道孚冬虫夏草 精选"], "{body}");
    assert_eq!(body["strategy"], "strict");
    let body = app.search(&format!("q={}", enc("道孚虫草"))).await;
    assert_eq!(titles(&body), ["道孚冬虫夏草 精选"], "{body}");
    // No rice comes from 道孚: the loose fallback still insists on rice.
    let body = app.search(&format!("q={}", enc("道孚 大米"))).await;
    assert_eq!(body["strategy"], "loose", "{body}");
    assert_eq!(titles(&body), ["开江盘石村生态大米"], "{body}");
    // Nothing at all is made of this: no fallback invents results.
    let body = app.search(&format!("q={}", enc("道孚 玉米"))).await;
    assert_eq!(body["total"], 0, "{body}");
}

async fn filters_narrow_by_category_tree_region_price_certification_stock_and_seller(
    engine: EngineKind,
) {
    let Some(app) = spawn_search_app(engine).await else {
        return;
    };
    let herbs = app.category_id("herbs").await;
    let body = app
        .search(&format!("category_id={herbs}&per_page=50"))
        .await;
    let mut t = titles(&body);
    t.sort();
    assert_eq!(
        t,
        ["川贝母 松贝 统货", "藏红花 西红花丝", "道孚冬虫夏草 精选"]
    );

    for (region, n) in [
        ("513326", 6),
        ("513300", 9),
        ("511723105207", 2),
        ("510000", 16),
    ] {
        let body = app.search(&format!("region={region}&per_page=50")).await;
        assert_eq!(body["total"], n, "region {region}: {body}");
    }
    let body = app
        .search("min_price_fen=2000&max_price_fen=9000&per_page=50")
        .await;
    for i in body["items"].as_array().unwrap() {
        let p = i["price_fen"].as_i64().unwrap();
        assert!((2000..=9000).contains(&p), "{p}");
    }
    assert_eq!(body["total"], 6, "{body}");
    let mut t = titles(&app.search("certification=organic").await);
    t.sort();
    assert_eq!(t, ["乡城野生松茸 鲜品", "藏红花 西红花丝"]);

    let zilong = app.login("coop-zilong").await;
    let org = app.organization_of(&zilong).await;
    let body = app.search(&format!("organization_id={org}")).await;
    assert_eq!(body["total"], 3);
    // Sell out the potatoes: stock below the minimum order.
    let potato = app.titles("q=%E6%B4%8B%E8%8A%8B").await;
    assert_eq!(potato[0], "道孚高原洋芋");
    let id = app.search("q=%E6%B4%8B%E8%8A%8B").await["items"][0]["id"]
        .as_i64()
        .unwrap();
    let r = app
        .patch(
            &format!("/api/v1/listings/{id}"),
            Some(&zilong),
            json!({"stock": "10"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    app.wait_until_indexed().await;
    let body = app
        .search(&format!("organization_id={org}&in_stock=true"))
        .await;
    assert_eq!(body["total"], 2, "{body}");
    let body = app
        .search(&format!("organization_id={org}&in_stock=false"))
        .await;
    assert_eq!(titles(&body), ["道孚高原洋芋"]);
}

async fn facets_count_every_match(engine: EngineKind) {
    let Some(app) = spawn_search_app(engine).await else {
        return;
    };
    let body = app.search("per_page=1").await;
    assert_eq!(body["total"], 16);
    let counties: Vec<(String, u64)> = body["facets"]["county"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["name"].as_str().unwrap().to_string(),
                f["count"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        counties,
        [
            ("道孚县".to_string(), 6),
            ("开江县".to_string(), 5),
            ("乡城县".to_string(), 3),
            ("阆中市".to_string(), 2)
        ]
    );
    let certs: u64 = body["facets"]["certification"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["value"] == "organic")
        .unwrap()["count"]
        .as_u64()
        .unwrap();
    assert_eq!(certs, 2);
    let cats = body["facets"]["category"].as_array().unwrap();
    assert_eq!(cats.len(), 16, "every demo listing has its own category");
    let body = app.search(&format!("q={}&per_page=1", enc("道孚"))).await;
    assert_eq!(body["facets"]["county"].as_array().unwrap().len(), 1);
    assert_eq!(body["facets"]["county"][0]["count"], 6);
}

async fn sorting_by_price_newest_and_sales(engine: EngineKind) {
    let Some(app) = spawn_search_app(engine).await else {
        return;
    };
    let prices = |b: &Value| -> Vec<i64> {
        b["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["price_fen"].as_i64().unwrap())
            .collect()
    };
    let asc = prices(&app.search("sort=price_asc&per_page=50").await);
    assert_eq!(asc.len(), 16);
    assert!(asc.windows(2).all(|w| w[0] <= w[1]), "{asc:?}");
    let desc = prices(&app.search("sort=price_desc&per_page=50").await);
    assert!(desc.windows(2).all(|w| w[0] >= w[1]), "{desc:?}");
    assert_eq!(desc[0], 18_000_000);

    // A listing created now is the newest; one that sold most leads by sales.
    let r = app.panshi_lists_rice("开江新米 试销", 500).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let bamboo = app.titles("q=%E7%AB%B9%E7%BC%96").await;
    assert_eq!(bamboo[0], "盘石竹编果篮");
    let id = app.search("q=%E7%AB%B9%E7%BC%96").await["items"][0]["id"]
        .as_i64()
        .unwrap();
    // Sales come from orders; set the counter directly and let the relay carry it.
    let l = listing::Entity::find_by_id(id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let mut m = l.into_active_model();
    m.sold_milli = Set(40_000);
    m.update(&app.db).await.unwrap();
    let sold = qudao::outbox::events::SearchEvent::Stock { listing_id: id };
    qudao::outbox::enqueue(&app.db, &sold).await.unwrap();
    app.wait_until_indexed().await;
    assert_eq!(app.titles("sort=newest").await[0], "开江新米 试销");
    assert_eq!(app.titles("sort=sales").await[0], "盘石竹编果篮");
}

async fn distance_sorts_and_bounds_by_radius(engine: EngineKind) {
    let Some(app) = spawn_search_app(engine).await else {
        return;
    };
    let chengdu = qudao::search::document::Geo {
        lat: 30.5728,
        lng: 104.0668,
    };
    let body = app
        .search("near=30.5728,104.0668&sort=distance&per_page=50")
        .await;
    let d: Vec<f64> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["distance_km"].as_f64().unwrap())
        .collect();
    assert_eq!(d.len(), 16);
    assert!(d.windows(2).all(|w| w[0] <= w[1]), "{d:?}");
    // The radius keeps exactly the listings the great-circle distance puts inside it.
    let all = listing::Entity::find().all(&app.db).await.unwrap();
    let inside = all
        .iter()
        .filter(|l| {
            let g = qudao::search::document::Geo {
                lat: l.latitude.unwrap(),
                lng: l.longitude.unwrap(),
            };
            distance_m(chengdu, g) <= 290_000.0
        })
        .count();
    assert!(inside > 0 && inside < 16, "{inside}");
    let body = app
        .search("near=30.5728,104.0668&radius_km=290&per_page=50")
        .await;
    assert_eq!(body["total"], inside as u64, "{body}");
    assert!(
        body["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["distance_km"].as_f64().unwrap() <= 290.0)
    );
}

async fn pages_cover_every_match_once(engine: EngineKind) {
    let Some(app) = spawn_search_app(engine).await else {
        return;
    };
    let mut seen = Vec::new();
    for page in 1..=4 {
        let body = app
            .search(&format!("sort=price_asc&per_page=5&page={page}"))
            .await;
        assert_eq!(body["total"], 16);
        assert_eq!(body["page"], page);
        for i in body["items"].as_array().unwrap() {
            seen.push(i["id"].as_i64().unwrap());
        }
    }
    let n = seen.len();
    seen.sort();
    seen.dedup();
    assert_eq!((n, seen.len()), (16, 16));
    let body = app.search("per_page=20&page=5").await;
    assert_eq!(body["items"].as_array().unwrap().len(), 0);
    assert_eq!(body["total"], 16);
}

async fn unanswerable_queries_get_422_with_the_field(engine: EngineKind) {
    let Some(app) = spawn_search_app(engine).await else {
        return;
    };
    for (query, field) in [
        ("page=11&per_page=100", "page"),
        ("region=abc", "region"),
        ("region=999999", "region"),
        ("category_id=99999", "category_id"),
        ("certification=magic", "certification"),
        ("min_grade=best", "min_grade"),
        ("min_price_fen=-1", "min_price_fen"),
        ("min_price_fen=900&max_price_fen=100", "max_price_fen"),
        ("near=91,0", "near"),
        ("sort=distance", "sort"),
        ("radius_km=10", "radius_km"),
        ("sort=cheapest", "sort"),
        ("in_stock=maybe", "in_stock"),
        ("colour=red", "colour"),
    ] {
        let r = app.get(&format!("/api/v1/search?{query}"), None).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{query}: {}",
            r.text
        );
        assert_eq!(r.code(), "validation_failed");
        assert_eq!(r.fields(), [field], "{query}");
    }
}

async fn changes_deletes_and_pauses_become_visible(engine: EngineKind) {
    let Some(app) = spawn_search_app(engine).await else {
        return;
    };
    let zilong = app.login("coop-zilong").await;
    let potato = app.category_id("potato").await;
    let started = Instant::now();
    let r = app
        .post(
            "/api/v1/listings",
            Some(&zilong),
            json!({"category_id": potato, "title": "孜龙村紫皮洋芋", "unit": "jin", "price_fen": 220, "stock": "5000"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let id = r.body["id"].as_i64().unwrap();
    let q = format!("q={}", enc("紫皮"));
    while app.titles(&q).await.is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "never became searchable"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    eprintln!("a new listing became searchable in {:?}", started.elapsed());
    let r = app
        .patch(
            &format!("/api/v1/listings/{id}"),
            Some(&zilong),
            json!({"title": "孜龙村黑金洋芋"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    app.wait_until_indexed().await;
    assert!(app.titles(&q).await.is_empty());
    assert_eq!(
        app.titles(&format!("q={}", enc("黑金"))).await,
        ["孜龙村黑金洋芋"]
    );
    let r = app
        .call(
            reqwest::Method::POST,
            &format!("/api/v1/listings/{id}/pause"),
            Some(&zilong),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    app.wait_until_indexed().await;
    assert!(app.titles(&format!("q={}", enc("黑金"))).await.is_empty());
    let r = app
        .call(
            reqwest::Method::POST,
            &format!("/api/v1/listings/{id}/resume"),
            Some(&zilong),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    app.wait_until_indexed().await;
    assert_eq!(app.titles(&format!("q={}", enc("黑金"))).await.len(), 1);
    let r = app
        .call(
            reqwest::Method::DELETE,
            &format!("/api/v1/listings/{id}"),
            Some(&zilong),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    app.wait_until_indexed().await;
    assert!(app.titles(&format!("q={}", enc("黑金"))).await.is_empty());
    assert_eq!(app.search("per_page=1").await["total"], 16);
}

/// Asked again and again, the same search follows the stock: popular searches must not be
/// answered from what the index held before an order.
async fn the_same_search_again_sees_what_sold_since(engine: EngineKind) {
    let Some(app) = spawn_search_app(engine).await else {
        return;
    };
    let (_, rice) = app.panshi_sells_rice("3").await;
    app.wait_until_indexed().await;
    let in_stock = format!("q={}&in_stock=true", enc("贡米"));
    let sold_out = format!("q={}&in_stock=false", enc("贡米"));
    for _ in 0..3 {
        assert_eq!(app.titles(&in_stock).await, ["盘石村高山贡米"]);
        assert!(app.titles(&sold_out).await.is_empty());
    }
    let buyer = app.login("buyer").await;
    let r = app
        .checkout(
            &buyer,
            "sold-out",
            json!([{"listing_id": rice, "quantity": "3"}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    app.wait_until_indexed().await;
    for _ in 0..3 {
        assert!(app.titles(&in_stock).await.is_empty());
        assert_eq!(app.titles(&sold_out).await, ["盘石村高山贡米"]);
    }
    let found = app.search(&format!("q={}", enc("贡米"))).await;
    assert_eq!(found["items"][0]["in_stock"], false);
}

/// What buyers type besides the words of the catalogue: slips of the input method, pinyin
/// run together or typed apart, one word of an English name, a village without 村, the
/// product's everyday names, questions; and what a search that finds nothing suggests.
async fn buyers_are_understood_as_they_type(engine: EngineKind) {
    let Some(app) = spawn_search_app(engine).await else {
        return;
    };
    let first = |q: &'static str| {
        let app = &app;
        async move {
            let titles = app.titles(&format!("q={}", enc(q))).await;
            titles
                .first()
                .cloned()
                .unwrap_or_else(|| format!("nothing for {q}"))
        }
    };
    for q in [
        "松容",
        "xiangchengsongrong",
        "song rong",
        "乡城松容",
        "哪里有卖乡城的松茸",
    ] {
        assert_eq!(first(q).await, "乡城野生松茸 鲜品", "{q}");
    }
    assert_eq!(first("yak").await, "道孚牦牛肉 鲜切");
    assert_eq!(first("手撕牛肉").await, "张飞牛肉 五香 200g");
    assert_eq!(first("竹編").await, "盘石竹编果篮");
    let panshi = app.titles(&format!("q={}", enc("盘石"))).await;
    let mut want = ["开江盘石村生态大米", "开江豆笋 手工晾晒", "盘石竹编果篮"]
        .map(String::from)
        .to_vec();
    want.sort();
    let mut got = panshi.clone();
    got.sort();
    assert_eq!(got, want, "{panshi:?}");

    let asked = app
        .search(&format!("q={}", enc("我想买点乡城的松茸吗")))
        .await;
    assert_eq!(
        asked["understood"]["product"], "松茸",
        "{}",
        asked["understood"]
    );
    assert_eq!(asked["understood"]["place"], "乡城");
    assert_eq!(asked["understood"]["words"], json!(["乡城", "松茸"]));
    assert_eq!(asked["did_you_mean"], json!([]));
    // A certification in the query filters; when nothing has it, the product still counts.
    let organic = app.search(&format!("q={}", enc("有机松茸"))).await;
    assert_eq!(organic["understood"]["certification"], "organic");
    assert_eq!(organic["items"][0]["title"], "乡城野生松茸 鲜品");
    assert_eq!(organic["strategy"], "strict");
    let rice = app.search(&format!("q={}", enc("有机大米"))).await;
    assert_eq!(rice["strategy"], "loose", "{rice}");
    assert_eq!(rice["items"][0]["title"], "开江盘石村生态大米");
    assert_eq!(rice["understood"]["certification"], Value::Null);
    let slip = app.search(&format!("q={}", enc("松容"))).await;
    assert_eq!(slip["understood"]["product"], "松茸");

    let nothing = app.search("q=pinggou").await;
    assert_eq!(nothing["total"], 0);
    let suggested = nothing["did_you_mean"].as_array().unwrap();
    assert!(suggested.contains(&json!("苹果")), "{suggested:?}");

    // The page says how it read the question, and offers the suggestion as a link.
    let page_of = |q: &str| {
        let url = format!("{}/search?q={}", app.address, enc(q));
        let client = app.client.clone();
        async move { crate::forms::page(&client, &url).await.1 }
    };
    let page = page_of("哪里有卖乡城的松茸").await;
    assert!(page.contains("搜索 乡城 的 松茸"), "{page}");
    let page = page_of("pinggou").await;
    assert!(
        page.contains("您是不是要找") && page.contains(&format!("q={}", enc("苹果"))),
        "{page}"
    );
}

async fn synonyms_added_by_an_admin_are_picked_up(engine: EngineKind) {
    let Some(app) = spawn_search_app(engine).await else {
        return;
    };
    let q = format!("q={}", enc("洋坨坨"));
    assert!(app.titles(&q).await.is_empty());
    let admin = app.login("admin").await;
    let potato = app.category_id("potato").await;
    let r = app.add_alias(&admin, potato, "洋坨坨").await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    app.wait_until_indexed().await;
    assert_eq!(app.titles(&q).await, ["道孚高原洋芋"]);
}

async fn reindex_rebuilds_from_the_database_without_a_gap(engine: EngineKind) {
    let Some(app) = spawn_search_app(engine).await else {
        return;
    };
    // Change a title behind the relay's back: only a rebuild can notice.
    let rice = app.search(&format!("q={}", enc("大米"))).await["items"][0]["id"]
        .as_i64()
        .unwrap();
    let l = listing::Entity::find_by_id(rice)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let mut m = l.into_active_model();
    m.title = Set("开江盘石村金秋大米".into());
    m.update(&app.db).await.unwrap();
    assert!(app.titles(&format!("q={}", enc("金秋"))).await.is_empty());

    let watcher = {
        let address = app.address.clone();
        tokio::spawn(async move {
            let client = reqwest::Client::new();
            let mut totals = Vec::new();
            for _ in 0..200 {
                let body: Value = client
                    .get(format!("{address}/api/v1/search?per_page=1"))
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                totals.push(body["total"].as_u64().unwrap_or(0));
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            totals
        })
    };
    let mut settings = app.settings.clone();
    settings.demo = false;
    let state = qudao::startup::prepare(settings).await.unwrap();
    let n = state.search.rebuild(&state.db).await.unwrap();
    assert_eq!(n, 16);
    let totals = watcher.await.unwrap();
    assert!(
        totals.iter().all(|t| *t == 16),
        "search saw a gap: {totals:?}"
    );
    let start = Instant::now();
    loop {
        if app.titles(&format!("q={}", enc("金秋"))).await == ["开江盘石村金秋大米"] {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "the rebuilt index never appeared"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

crate::on_both_databases!(an_unreachable_engine_answers_503_and_the_site_keeps_working);

async fn an_unreachable_engine_answers_503_and_the_site_keeps_working(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |s| {
        // Nothing listens on the discard port.
        s.meili_url = Some("http://127.0.0.1:9".into());
    })
    .await
    else {
        return;
    };
    let r = app.get("/api/v1/search?q=%E6%B4%8B%E8%8A%8B", None).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.text);
    assert_eq!(r.code(), "search_unavailable");
    // Readiness names the engine as the dependency that is down, and keeps the instance in
    // rotation: everything but search still works.
    let r = app.get("/readyz", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["status"], "degraded", "{}", r.text);
    assert_eq!(r.body["search"]["status"], "unreachable", "{}", r.text);
    assert_eq!(r.body["database"]["status"], "ok", "{}", r.text);
    assert_eq!(r.body["email"]["status"], "ok", "{}", r.text);
    assert_eq!(
        app.get("/api/v1/listings", None).await.status,
        StatusCode::OK
    );
    let started = Instant::now();
    let r = app.panshi_lists_rice("开江新米", 480).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "the write waited on search"
    );
}

crate::on_both_databases!(english_pages_name_places_in_english);

/// Read in English, the home page's counties, the search page's county facet and results, a
/// listing's page and a producer's page name their places from the region table in English;
/// in Chinese, in Chinese.
async fn english_pages_name_places_in_english(backend: Backend) {
    let Some(app) = spawn_search_app_with(EngineKind::Embedded, backend, |_| {}).await else {
        return;
    };
    let panshi = app.login("coop-panshi").await;
    let org = app.organization_of(&panshi).await;
    let listing = app.listings_of(org).await[0];
    let pages = [
        "/".to_string(),
        "/search?q=大米".to_string(),
        format!("/listings/{listing}"),
        format!("/organizations/{org}"),
    ];
    for path in &pages {
        let read = |lang: &'static str| {
            let path = path.clone();
            let app = &app;
            async move {
                app.call_with(
                    reqwest::Method::GET,
                    &path,
                    None,
                    None,
                    &[("accept-language", lang)],
                )
                .await
                .text
            }
        };
        let en = read("en").await;
        let zh = read("zh-CN").await;
        let (english, chinese) = if path == "/" {
            ("Dawu County", "道孚县")
        } else {
            ("Panshi Village", "盘石村")
        };
        assert!(en.contains(english), "{path} in English: {en}");
        assert!(
            zh.contains(chinese) && !zh.contains(english),
            "{path} in Chinese: {zh}"
        );
    }
}

/// A grade in the query (特级, 一等品) or chosen on the page admits listings of that grade or
/// a better one; when none is that good, the product still counts, as with certifications.
async fn grades_named_or_chosen_narrow_to_that_grade_or_better(engine: EngineKind) {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let Some(app) = spawn_search_app_with(engine, backend, |_| {}).await else {
            continue;
        };
        let grades = |answer: &Value| -> Vec<String> {
            answer["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|h| h["grade"].as_str().unwrap().to_string())
                .collect()
        };
        let special = app.search(&format!("q={}", enc("特级"))).await;
        let mut found = titles(&special);
        found.sort();
        assert_eq!(found, ["道孚冬虫夏草 精选", "道孚牦牛肉 鲜切"], "{special}");
        assert_eq!(special["understood"]["grade"], "special");

        let yak = app.search(&format!("q={}", enc("特级牦牛肉"))).await;
        assert_eq!(titles(&yak), ["道孚牦牛肉 鲜切"]);
        assert_eq!(yak["strategy"], "strict");
        assert_eq!(yak["understood"]["product"], "牦牛肉");

        // No apple is 特级: the apple of grade 1 is still found, and the grade not claimed.
        let apple = app.search(&format!("q={}", enc("特等品苹果"))).await;
        assert_eq!(titles(&apple), ["孜龙村高原红富士苹果"], "{apple}");
        assert_eq!(apple["strategy"], "loose");
        assert_eq!(apple["understood"]["grade"], Value::Null);
        assert_eq!(grades(&apple), ["first"]);

        // Chosen as a filter, the grade holds: 特级 apples are none.
        let q = format!("q={}", enc("苹果"));
        assert_eq!(app.titles(&format!("{q}&min_grade=first")).await.len(), 1);
        assert!(
            app.titles(&format!("{q}&min_grade=special"))
                .await
                .is_empty()
        );

        let everything = app.search("per_page=100").await;
        let second = app.search("min_grade=second&per_page=100").await;
        let expected = grades(&everything)
            .iter()
            .filter(|g| ["special", "first", "second"].contains(&g.as_str()))
            .count();
        assert!(expected > 2 && expected < grades(&everything).len());
        assert_eq!(grades(&second).len(), expected, "{second}");
        assert!(titles(&second).contains(&"二荆条海椒 干货".to_string()));
        assert!(!titles(&second).contains(&"盘石竹编果篮".to_string()));

        // The page reads the grade, offers the grades as filters and shows each listing's.
        let url = format!("{}/search?q={}", app.address, enc("特级牦牛肉"));
        let (_, page) = crate::forms::page(&app.client, &url).await;
        assert!(page.contains("搜索 特级 牦牛肉"), "{page}");
        assert!(page.contains("等级 特级"), "{page}");
        let url = format!("{}/search?q={}&grade=first", app.address, enc("苹果"));
        let (_, page) = crate::forms::page(&app.client, &url).await;
        assert!(page.contains("孜龙村高原红富士苹果"), "{page}");
        assert!(
            page.contains("aria-current=\"true\" class=\"on\">一级及以上"),
            "{page}"
        );
        assert!(page.contains("name=\"grade\" value=\"first\""), "{page}");
    }
}
