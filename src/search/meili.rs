//! The Meilisearch engine, through `meilisearch-sdk`.
//!
//! Meilisearch splits Chinese into short pieces and has no infix match, so recall comes
//! from qudao's own fields (`keywords`, `pinyin`, `initials`, `region_names`) and the
//! synonym setting; every search passes `locales: ["cmn"]`.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::time::Duration;

use meilisearch_sdk::client::{Client, SwapIndexes};
use meilisearch_sdk::errors::Error as MeiliError;
use meilisearch_sdk::search::{MatchingStrategies, Selectors};
use meilisearch_sdk::settings::{LocalizedAttributes, PaginationSetting, Settings};
use meilisearch_sdk::task_info::TaskInfo;

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
const LOCALES: &[&str] = &["cmn"];

/// The Meilisearch engine.
pub struct MeiliEngine {
    client: Client,
    index: String,
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
        Ok(MeiliEngine {
            client: Client::new(url.trim_end_matches('/'), key)?,
            index: index.to_string(),
        })
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
        let index = self.client.index(uid);
        let task = timed(index.set_settings(&index_settings(synonyms))).await?;
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
        let (uid, timeout) = match target {
            Some(s) => (s.0.as_str(), REBUILD_TASK_TIMEOUT),
            None => (self.index.as_str(), TASK_TIMEOUT),
        };
        let index = self.client.index(uid);
        let task = timed(index.add_or_replace(&docs, Some("id"))).await?;
        self.wait(task, timeout).await
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
        let index = self.client.index(&self.index);
        let (text, strategy) = query_text(req);
        let filter = filter_expression(req);
        let sort = sort_expression(req);
        let sort_refs: Vec<&str> = sort.iter().map(String::as_str).collect();
        let pre = MARK_START.to_string();
        let post = MARK_END.to_string();
        let crop = [("description", Some(30))];
        let mut q = index.search();
        q.with_query(&text)
            .with_matching_strategy(strategy)
            .with_page(req.page as usize)
            .with_hits_per_page(req.per_page as usize)
            .with_facets(Selectors::Some(FACETS))
            .with_attributes_to_highlight(Selectors::Some(&["title"]))
            .with_attributes_to_crop(Selectors::Some(&crop))
            .with_highlight_pre_tag(&pre)
            .with_highlight_post_tag(&post)
            .with_crop_marker("…")
            .with_locales(LOCALES);
        if let Some(f) = &filter {
            q.with_filter(f);
        }
        if !sort_refs.is_empty() {
            q.with_sort(&sort_refs);
        }
        let answer = timed(q.execute::<SearchDocument>()).await?;
        let hits = answer
            .hits
            .into_iter()
            .map(|h| {
                let formatted = |field: &str, fallback: &str| {
                    h.formatted_result
                        .as_ref()
                        .and_then(|f| f.get(field))
                        .and_then(|v| v.as_str())
                        .map(marked_to_html)
                        .unwrap_or_else(|| marked_to_html(fallback))
                };
                let highlight = Highlight {
                    title: formatted("title", &h.result.title),
                    description: formatted("description", &h.result.description),
                };
                let distance_m = req.near.zip(h.result.geo).map(|(a, b)| distance_m(a, b));
                Hit {
                    doc: h.result,
                    highlight,
                    distance_m,
                }
            })
            .collect();
        let mut facets = Facets::default();
        for (name, values) in answer.facet_distribution.unwrap_or_default() {
            for (value, count) in values {
                let count = count as u64;
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
            total: answer.total_hits.unwrap_or(0) as u64,
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
             AND in_stock = true AND price_fen >= 100 AND price_fen <= 900 \
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
