//! The Meilisearch engine, through `meilisearch-sdk`.
//!
//! Meilisearch splits Chinese into short pieces and has no infix match, so recall comes
//! from qudao's own fields (`keywords`, `pinyin`, `initials`, `region_names`) and the
//! synonym setting; every search passes `locales: ["cmn"]`.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

use meilisearch_sdk::client::{Client, SwapIndexes};
use meilisearch_sdk::errors::Error as MeiliError;
use meilisearch_sdk::search::MatchingStrategies;
use meilisearch_sdk::settings::{
    LocalizedAttributes, PaginationSetting, Settings, TypoToleranceSettings,
};
use meilisearch_sdk::task_info::TaskInfo;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::document::SearchDocument;
use super::query::{
    Facets, Highlight, Hit, MAX_WINDOW, SearchRequest, SearchResults, Sort, Strategy, distance_m,
};
use super::text::{MARK_END, MARK_START, marked_to_html};
use super::vocabulary::TermKind;
use super::{SearchEngine, SearchError, Staging};

/// Longest wait for one HTTP call.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest wait for an indexing task of the relay.
const TASK_TIMEOUT: Duration = Duration::from_secs(60);
/// How often a task's status is asked for.
const TASK_POLL: Duration = Duration::from_millis(20);
/// Longest wait for one batch of a full rebuild.
const REBUILD_TASK_TIMEOUT: Duration = Duration::from_secs(600);

/// Attributes searched, most important first (Meilisearch's `attribute` rule follows this order).
pub const SEARCHABLE: &[&str] = &[
    "keywords",
    "title",
    "region_names",
    "pinyin",
    "initials",
    "organization_name",
    "description",
];
const FILTERABLE: &[&str] = &[
    "id",
    "category_id",
    "category_ids",
    "region_codes",
    "county_code",
    "organization_id",
    "certifications",
    "grade",
    "in_stock",
    "price_fen",
    "_geo",
];
const SORTABLE: &[&str] = &["price_fen", "sold_milli", "created_at", "id", "_geo"];
/// `sort` comes right after `words`: an explicit order wins over finer relevance.
const RANKING: &[&str] = &[
    "words",
    "sort",
    "typo",
    "proximity",
    "attribute",
    "exactness",
];
const FACETS: &[&str] = &["category_id", "county_code", "certifications"];
/// Attributes matched without typos, as the embedded engine matches them: a slip in pinyin
/// is read by qudao itself (it suggests 苹果 for "pinggou" rather than guessing).
const NO_TYPOS: &[&str] = &["pinyin", "initials"];
const LOCALES: &[&str] = &["cmn"];

/// The Meilisearch engine.
pub struct MeiliEngine {
    client: Client,
    index: String,
    /// Searches go straight over HTTP with [`raw_request`]'s body, so that their cost is
    /// Meilisearch's plus the decoding of what it answers.
    http: reqwest::Client,
    url: String,
    key: Option<String>,
    /// Batches sent to a staging index and not yet known to be indexed: a rebuild sends
    /// them all and waits once, before the swap.
    staged: Mutex<HashMap<String, Vec<TaskInfo>>>,
}

/// What a search answers, its hits left as the text Meilisearch sent.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Answer<'a> {
    #[serde(borrow)]
    hits: Vec<&'a RawValue>,
    total_hits: Option<u64>,
    #[serde(default)]
    facet_distribution: HashMap<String, HashMap<String, u64>>,
}

/// The highlighted fields of a hit; Meilisearch repeats the whole document there, and the
/// rest is skipped without being kept.
#[derive(Deserialize)]
struct FormattedHit {
    #[serde(rename = "_formatted", default)]
    formatted: Formatted,
}

#[derive(Deserialize, Default)]
struct Formatted {
    title: Option<String>,
    description: Option<String>,
}

fn unavailable(e: impl std::fmt::Display) -> SearchError {
    SearchError::Unavailable(e.to_string())
}

/// Bounds a call to Meilisearch in time.
async fn timed<T>(f: impl Future<Output = Result<T, MeiliError>>) -> Result<T, SearchError> {
    match tokio::time::timeout(CALL_TIMEOUT, f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(MeiliError::ParseError(e))) => Err(SearchError::Internal(e.into())),
        Ok(Err(e)) => Err(unavailable(e)),
        Err(_) => Err(unavailable("Meilisearch did not answer in time")),
    }
}

/// The settings qudao gives its index.
pub fn index_settings(synonyms: &BTreeMap<String, Vec<String>>) -> Settings {
    Settings::new()
        .with_searchable_attributes(SEARCHABLE.iter().copied())
        .with_filterable_attributes(FILTERABLE.iter().copied())
        .with_sortable_attributes(SORTABLE.iter().copied())
        .with_ranking_rules(RANKING.iter().copied())
        .with_synonyms(
            synonyms
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect::<HashMap<_, _>>(),
        )
        .with_localized_attributes([LocalizedAttributes {
            locales: LOCALES.iter().map(|l| l.to_string()).collect(),
            attribute_patterns: vec!["*".into()],
        }])
        .with_pagination(PaginationSetting {
            max_total_hits: MAX_WINDOW as usize,
        })
        .with_typo_tolerance(TypoToleranceSettings {
            enabled: Some(true),
            disable_on_attributes: Some(NO_TYPOS.iter().map(|a| a.to_string()).collect()),
            disable_on_words: None,
            min_word_size_for_typos: None,
            disable_on_numbers: None,
        })
}

/// The settings as sent: the SDK's, with two it has no field for. qudao matches whole words
/// as the embedded engine does (no prefix search) and never searches facet values; both
/// spare Meilisearch work on every indexed change.
pub fn index_settings_json(synonyms: &BTreeMap<String, Vec<String>>) -> serde_json::Value {
    let mut v = serde_json::to_value(index_settings(synonyms)).expect("settings serialize");
    v["prefixSearch"] = "disabled".into();
    v["facetSearch"] = false.into();
    v
}

/// The Meilisearch filter expression of a request.
pub fn filter_expression(req: &SearchRequest) -> Option<String> {
    let f = &req.filters;
    let mut parts = Vec::new();
    if let Some(c) = f.category_id {
        parts.push(format!("category_ids = {c}"));
    }
    if let Some(code) = &f.region_code {
        // Region codes are checked to be digits before they get here.
        parts.push(format!("region_codes = \"{code}\""));
    }
    if let Some(o) = f.organization_id {
        parts.push(format!("organization_id = {o}"));
    }
    if let Some(c) = f.certification {
        parts.push(format!("certifications = \"{}\"", c.code()));
    }
    if let Some(g) = f.min_grade {
        let codes: Vec<&str> = g.at_least().map(|g| g.code()).collect();
        parts.push(format!("grade IN [{}]", codes.join(", ")));
    }
    if let Some(s) = f.in_stock {
        parts.push(format!("in_stock = {s}"));
    }
    if let Some(ids) = &f.listing_ids {
        let ids: Vec<String> = ids.iter().map(i64::to_string).collect();
        parts.push(format!("id IN [{}]", ids.join(", ")));
    }
    if let Some(p) = f.min_price_fen {
        parts.push(format!("price_fen >= {p}"));
    }
    if let Some(p) = f.max_price_fen {
        parts.push(format!("price_fen <= {p}"));
    }
    if let (Some(n), Some(r)) = (req.near, req.radius_m) {
        parts.push(format!("_geoRadius({}, {}, {r})", n.lat, n.lng));
    }
    (!parts.is_empty()).then(|| parts.join(" AND "))
}

/// The `sort` parameter of a request.
pub fn sort_expression(req: &SearchRequest) -> Vec<String> {
    let primary = match req.sort {
        Sort::Relevance => return Vec::new(),
        Sort::PriceAsc => "price_fen:asc".to_string(),
        Sort::PriceDesc => "price_fen:desc".to_string(),
        Sort::Distance => match req.near {
            Some(n) => format!("_geoPoint({}, {}):asc", n.lat, n.lng),
            None => return Vec::new(),
        },
        Sort::Newest => "created_at:desc".to_string(),
        Sort::Sales => "sold_milli:desc".to_string(),
    };
    vec![primary, "id:asc".to_string()]
}

/// The query text and matching strategy: strict needs every required word (the words that
/// only rank are left out: Meilisearch would require them too); loose puts product words
/// first so that Meilisearch's `last` strategy drops the others before them.
pub fn query_text(req: &SearchRequest) -> (String, MatchingStrategies) {
    let mut terms: Vec<&super::vocabulary::QueryTerm> =
        req.terms.iter().filter(|t| req.considered(t)).collect();
    match req.strategy {
        Strategy::Strict => (
            terms
                .iter()
                .filter(|t| req.required(t))
                .map(|t| t.text.as_str())
                .collect::<Vec<_>>()
                .join(" "),
            MatchingStrategies::ALL,
        ),
        Strategy::Loose => {
            terms.sort_by_key(|t| t.kind != TermKind::Product);
            let has_product = terms.first().is_some_and(|t| t.kind == TermKind::Product);
            let text = terms
                .iter()
                .map(|t| t.text.as_str())
                .collect::<Vec<_>>()
                .join(" ");
            let strategy = if has_product {
                MatchingStrategies::LAST
            } else {
                MatchingStrategies::FREQUENCY
            };
            (text, strategy)
        }
    }
}

/// The JSON body of the search [`MeiliEngine`] sends for `req`, for calling Meilisearch
/// directly (the benchmark compares the two).
pub fn raw_request(req: &SearchRequest) -> serde_json::Value {
    let (q, strategy) = query_text(req);
    let mut body = serde_json::json!({
        "q": q,
        "matchingStrategy": strategy,
        "page": req.page,
        "hitsPerPage": req.per_page,
        "facets": FACETS,
        "attributesToHighlight": ["title"],
        "attributesToCrop": ["description:30"],
        "highlightPreTag": MARK_START.to_string(),
        "highlightPostTag": MARK_END.to_string(),
        "cropMarker": "…",
        "locales": LOCALES,
    });
    if let Some(f) = filter_expression(req) {
        body["filter"] = f.into();
    }
    let sort = sort_expression(req);
    if !sort.is_empty() {
        body["sort"] = sort.into();
    }
    body
}

impl MeiliEngine {
    /// A client for the server at `url`, using the index named `index`.
    pub fn new(url: &str, key: Option<&str>, index: &str) -> anyhow::Result<Self> {
        let url = url.trim_end_matches('/');
        Ok(MeiliEngine {
            client: Client::new(url, key)?,
            index: index.to_string(),
            http: reqwest::Client::builder().timeout(CALL_TIMEOUT).build()?,
            url: url.to_string(),
            key: key.map(str::to_string),
            staged: Mutex::default(),
        })
    }

    /// A request to `path` on the server, with the key when there is one.
    fn call(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let call = self.http.request(method, format!("{}{path}", self.url));
        match &self.key {
            Some(k) => call.bearer_auth(k),
            None => call,
        }
    }

    /// Sends a search body as it is and returns the answer's bytes.
    async fn post_search(
        &self,
        body: &serde_json::Value,
    ) -> Result<impl AsRef<[u8]> + use<>, SearchError> {
        let resp = self
            .call(
                reqwest::Method::POST,
                &format!("/indexes/{}/search", self.index),
            )
            .json(body)
            .send()
            .await
            .map_err(unavailable)?;
        let status = resp.status();
        let bytes = resp.bytes().await.map_err(unavailable)?;
        if !status.is_success() {
            return Err(unavailable(format!(
                "Meilisearch answered {status}: {}",
                String::from_utf8_lossy(&bytes)
            )));
        }
        Ok(bytes)
    }

    /// Waits for a task and checks that it succeeded.
    async fn wait(&self, task: TaskInfo, timeout: Duration) -> Result<(), SearchError> {
        let task = task
            .wait_for_completion(&self.client, Some(TASK_POLL), Some(timeout))
            .await
            .map_err(unavailable)?;
        if task.is_failure() {
            return Err(unavailable(format!(
                "Meilisearch task failed: {}",
                task.unwrap_failure()
            )));
        }
        Ok(())
    }

    async fn ensure_index(
        &self,
        uid: &str,
        synonyms: &BTreeMap<String, Vec<String>>,
    ) -> Result<(), SearchError> {
        let created = timed(self.client.create_index(uid, Some("id"))).await?;
        let task = created
            .wait_for_completion(&self.client, Some(TASK_POLL), Some(TASK_TIMEOUT))
            .await
            .map_err(unavailable)?;
        if task.is_failure() {
            let err = task.unwrap_failure();
            if err.error_code != meilisearch_sdk::errors::ErrorCode::IndexAlreadyExists {
                return Err(unavailable(err));
            }
        }
        let resp = self
            .call(reqwest::Method::PATCH, &format!("/indexes/{uid}/settings"))
            .json(&index_settings_json(synonyms))
            .send()
            .await
            .map_err(unavailable)?;
        if !resp.status().is_success() {
            let status = resp.status();
            let text = resp.text().await.unwrap_or_default();
            return Err(unavailable(format!(
                "Meilisearch refused the settings ({status}): {text}"
            )));
        }
        let task: TaskInfo = resp.json().await.map_err(unavailable)?;
        self.wait(task, TASK_TIMEOUT).await
    }
}

impl SearchEngine for MeiliEngine {
    fn name(&self) -> &'static str {
        "meilisearch"
    }

    async fn configure(&self, synonyms: &BTreeMap<String, Vec<String>>) -> Result<(), SearchError> {
        self.ensure_index(&self.index, synonyms).await
    }

    async fn upsert(
        &self,
        target: Option<&Staging>,
        docs: Vec<SearchDocument>,
    ) -> Result<(), SearchError> {
        if docs.is_empty() {
            return Ok(());
        }
        let uid = target.map_or(self.index.as_str(), |s| s.0.as_str());
        let index = self.client.index(uid);
        let task = timed(index.add_or_replace(&docs, Some("id"))).await?;
        match target {
            // Meilisearch indexes the batches of a rebuild together while the next are read.
            Some(s) => {
                let mut staged = self.staged.lock().expect("staged tasks");
                staged.entry(s.0.clone()).or_default().push(task);
                Ok(())
            }
            None => self.wait(task, TASK_TIMEOUT).await,
        }
    }

    async fn delete(&self, ids: Vec<i64>) -> Result<(), SearchError> {
        if ids.is_empty() {
            return Ok(());
        }
        let index = self.client.index(&self.index);
        let task = timed(index.delete_documents(&ids)).await?;
        self.wait(task, TASK_TIMEOUT).await
    }

    async fn search(&self, req: &SearchRequest) -> Result<SearchResults, SearchError> {
        let bytes = self.post_search(&raw_request(req)).await?;
        let answer: Answer = serde_json::from_slice(bytes.as_ref())
            .map_err(|e| SearchError::Internal(anyhow::anyhow!("a Meilisearch answer: {e}")))?;
        let mut hits = Vec::with_capacity(answer.hits.len());
        for raw in answer.hits {
            let decode = |e: serde_json::Error| {
                SearchError::Internal(anyhow::anyhow!("a Meilisearch hit: {e}"))
            };
            let doc: SearchDocument = serde_json::from_str(raw.get()).map_err(decode)?;
            let FormattedHit { formatted } = serde_json::from_str(raw.get()).map_err(decode)?;
            let highlight = Highlight {
                title: marked_to_html(formatted.title.as_deref().unwrap_or(&doc.title)),
                description: marked_to_html(
                    formatted.description.as_deref().unwrap_or(&doc.description),
                ),
            };
            let distance_m = req.near.zip(doc.geo).map(|(a, b)| distance_m(a, b));
            hits.push(Hit {
                doc,
                highlight,
                distance_m,
            });
        }
        let mut facets = Facets::default();
        for (name, values) in answer.facet_distribution {
            for (value, count) in values {
                match name.as_str() {
                    "category_id" => {
                        if let Ok(id) = value.parse() {
                            facets.category.insert(id, count);
                        }
                    }
                    "county_code" => {
                        facets.county.insert(value, count);
                    }
                    _ => {
                        facets.certification.insert(value, count);
                    }
                }
            }
        }
        Ok(SearchResults {
            hits,
            total: answer.total_hits.unwrap_or(0),
            facets,
            strategy: req.strategy,
        })
    }

    async fn create_staging(
        &self,
        synonyms: &BTreeMap<String, Vec<String>>,
    ) -> Result<Staging, SearchError> {
        let uid = format!(
            "{}_rebuild_{}",
            self.index,
            &uuid::Uuid::new_v4().simple().to_string()[..12]
        );
        self.ensure_index(&uid, synonyms).await?;
        Ok(Staging(uid))
    }

    async fn publish(&self, staging: Staging) -> Result<(), SearchError> {
        let sent = self
            .staged
            .lock()
            .expect("staged tasks")
            .remove(&staging.0)
            .unwrap_or_default();
        // An index runs its tasks in order: once the last is done the others are, and each
        // is then only asked whether it failed.
        for task in sent.into_iter().rev() {
            self.wait(task, REBUILD_TASK_TIMEOUT).await?;
        }
        let swap = SwapIndexes {
            indexes: (self.index.clone(), staging.0.clone()),
            rename: None,
        };
        let task = timed(self.client.swap_indexes([&swap])).await?;
        self.wait(task, TASK_TIMEOUT).await?;
        // After the swap the staging name holds the old documents.
        let task = timed(self.client.index(&staging.0).delete()).await?;
        self.wait(task, TASK_TIMEOUT).await
    }

    async fn discard(&self, staging: Staging) -> Result<(), SearchError> {
        self.staged.lock().expect("staged tasks").remove(&staging.0);
        let task = timed(self.client.index(&staging.0).delete()).await?;
        self.wait(task, TASK_TIMEOUT).await
    }

    async fn refresh(&self) -> Result<(), SearchError> {
        Ok(())
    }

    async fn health(&self) -> Result<(), SearchError> {
        self.client.health().await.map_err(unavailable)?;
        Ok(())
    }

    async fn claim_writer(&self) -> Result<bool, SearchError> {
        // One server for every instance: whichever claims a change may write it.
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::query::{SearchParams, parse};
    use crate::search::vocabulary::tests::sample;

    fn request(p: SearchParams) -> SearchRequest {
        parse(&p, &sample()).unwrap()
    }

    #[test]
    fn filters_become_one_expression() {
        let r = request(SearchParams {
            category_id: Some(2),
            region: Some("513326".into()),
            certification: Some("organic".into()),
            min_grade: Some("first".into()),
            in_stock: Some(true),
            min_price_fen: Some(100),
            max_price_fen: Some(900),
            near: Some("30.5,104.0".into()),
            radius_km: Some(10),
            ..Default::default()
        });
        assert_eq!(
            filter_expression(&r).unwrap(),
            "category_ids = 2 AND region_codes = \"513326\" AND certifications = \"organic\" \
             AND grade IN [special, first] AND in_stock = true AND price_fen >= 100 AND price_fen <= 900 \
             AND _geoRadius(30.5, 104, 10000)"
        );
        let mut only = request(SearchParams::default());
        only.filters.listing_ids = Some(vec![7, 42]);
        assert_eq!(filter_expression(&only).unwrap(), "id IN [7, 42]");
        assert_eq!(filter_expression(&request(SearchParams::default())), None);
    }

    #[test]
    fn loose_queries_put_the_product_first() {
        let r = request(SearchParams {
            q: Some("道孚 虫草".into()),
            ..Default::default()
        });
        let (text, _) = query_text(&r);
        assert_eq!(text, "道孚 虫草");
        let (text, strategy) = query_text(&r.loosened());
        assert_eq!(text, "虫草 道孚");
        assert!(matches!(strategy, MatchingStrategies::LAST));
    }

    #[test]
    fn sorting_ends_with_the_id() {
        let r = request(SearchParams {
            sort: Some("distance".into()),
            near: Some("30,104".into()),
            ..Default::default()
        });
        assert_eq!(sort_expression(&r), ["_geoPoint(30, 104):asc", "id:asc"]);
    }
}
