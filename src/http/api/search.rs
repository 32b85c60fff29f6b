//! `GET /api/v1/search`.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::catalog::domain::{Certification, Grade, Unit, format_yuan};
use crate::error::{AppResult, ErrorBody};
use crate::http::api::extract::ApiQuery;
use crate::http::auth::Admin;
use crate::http::state::AppState;
use crate::search::queries::{self, Report};
use crate::search::query::{SearchParams, SearchRequest, SearchResults};
use crate::search::vocabulary::{TermKind, Vocabulary};

/// The routes of search.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(search))
        .routes(routes!(search_queries))
}

/// A listing found, with what matched highlighted.
#[derive(Debug, Serialize, ToSchema)]
pub struct SearchHit {
    pub id: i64,
    pub title: String,
    pub category: SearchCategory,
    pub organization: SearchOrganization,
    pub origin: SearchPlace,
    pub county: Option<SearchPlace>,
    /// Unit price in fen (分).
    pub price_fen: i64,
    /// The same price for people, e.g. `¥5.20`.
    pub price_display: String,
    pub unit: Unit,
    pub in_stock: bool,
    pub certifications: Vec<Certification>,
    pub grade: Grade,
    pub season_start: Option<i32>,
    pub season_end: Option<i32>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    /// Kilometres from `near`, when given.
    pub distance_km: Option<f64>,
    /// Title and a snippet of the description as HTML: escaped, matches in `<em>`.
    pub highlight: SearchHighlight,
}

/// A category reference in a hit.
#[derive(Debug, Serialize, ToSchema)]
pub struct SearchCategory {
    pub id: i64,
    /// Chinese names from the root down, e.g. ["蔬菜", "马铃薯"].
    pub path: Vec<String>,
}

/// The seller in a hit.
#[derive(Debug, Serialize, ToSchema)]
pub struct SearchOrganization {
    pub id: i64,
    pub name: String,
}

/// A region in a hit or a facet.
#[derive(Debug, Serialize, ToSchema)]
pub struct SearchPlace {
    pub code: String,
    pub name: String,
}

/// Highlighted text.
#[derive(Debug, Serialize, ToSchema)]
pub struct SearchHighlight {
    pub title: String,
    pub description: String,
}

/// How many matching listings have one facet value.
#[derive(Debug, Serialize, ToSchema)]
pub struct FacetCount {
    /// A category id, a county code or a certification code.
    pub value: String,
    pub name: String,
    pub count: u64,
}

/// Facet counts over every match, not just this page.
#[derive(Debug, Serialize, ToSchema)]
pub struct SearchFacets {
    pub category: Vec<FacetCount>,
    pub county: Vec<FacetCount>,
    pub certification: Vec<FacetCount>,
}

/// One page of search results.
#[derive(Debug, Serialize, ToSchema)]
pub struct SearchPage {
    pub items: Vec<SearchHit>,
    pub page: u64,
    pub per_page: u64,
    /// Every listing that matches, over all pages.
    pub total: u64,
    /// `strict` (every word matched) or `loose` (only the product words were required,
    /// because the strict search found nothing).
    pub strategy: String,
    /// How the query was read.
    pub understood: Understood,
    /// Products and places close to the query's words, when it found nothing.
    pub did_you_mean: Vec<String>,
    pub facets: SearchFacets,
}

/// What a query was read as: the product and the place it names, in Chinese, so a page
/// can say "搜索 理塘 的 牦牛奶粉". Filler words of a question are left out; a word typed
/// with the wrong character of the same sound is read as the word meant.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct Understood {
    pub product: Option<String>,
    pub place: Option<String>,
    /// A certification the query named (有机大米), applied as the `certification` filter
    /// unless nothing has it.
    pub certification: Option<Certification>,
    /// A grade the query named (特级苹果), applied as the `min_grade` filter unless nothing
    /// is that good.
    pub grade: Option<Grade>,
    /// Every word that was matched, as read, in the query's order.
    pub words: Vec<String>,
}

impl Understood {
    /// The reading of a checked request.
    pub fn of(req: &SearchRequest) -> Self {
        let first = |kind: TermKind| {
            req.terms
                .iter()
                .find(|t| t.kind == kind)
                .and_then(|t| t.meaning.clone())
        };
        Understood {
            product: first(TermKind::Product),
            place: first(TermKind::Place),
            certification: req
                .implied_certification
                .then_some(req.filters.certification)
                .flatten(),
            grade: req.implied_grade.then_some(req.filters.min_grade).flatten(),
            words: req
                .terms
                .iter()
                .map(|t| t.meaning.clone().unwrap_or_else(|| t.text.clone()))
                .collect(),
        }
    }
}

pub(crate) fn page_view(
    req: &SearchRequest,
    query: Option<&str>,
    r: SearchResults,
    vocab: &Vocabulary,
) -> SearchPage {
    let sorted = |mut v: Vec<FacetCount>| {
        v.sort_by(|a, b| b.count.cmp(&a.count).then(a.value.cmp(&b.value)));
        v
    };
    let facets = SearchFacets {
        category: sorted(
            r.facets
                .category
                .iter()
                .map(|(id, n)| FacetCount {
                    value: id.to_string(),
                    name: vocab
                        .category(*id)
                        .map(|c| c.name_zh.clone())
                        .unwrap_or_default(),
                    count: *n,
                })
                .collect(),
        ),
        county: sorted(
            r.facets
                .county
                .iter()
                .map(|(code, n)| FacetCount {
                    value: code.clone(),
                    name: vocab
                        .place(code)
                        .map(|p| p.name.clone())
                        .unwrap_or_default(),
                    count: *n,
                })
                .collect(),
        ),
        certification: sorted(
            r.facets
                .certification
                .iter()
                .map(|(code, n)| FacetCount {
                    value: code.clone(),
                    name: Certification::from_code(code)
                        .map(|c| c.name_zh().to_string())
                        .unwrap_or_default(),
                    count: *n,
                })
                .collect(),
        ),
    };
    let items = r
        .hits
        .into_iter()
        .map(|h| {
            let d = h.doc;
            SearchHit {
                id: d.id,
                title: d.title,
                category: SearchCategory {
                    id: d.category_id,
                    path: d.category_path,
                },
                organization: SearchOrganization {
                    id: d.organization_id,
                    name: d.organization_name,
                },
                origin: SearchPlace {
                    code: d.origin_code,
                    name: d.origin_name,
                },
                county: d
                    .county_code
                    .zip(d.county_name)
                    .map(|(code, name)| SearchPlace { code, name }),
                price_display: format_yuan(d.price_fen),
                price_fen: d.price_fen,
                unit: d.unit,
                in_stock: d.in_stock,
                grade: d.grade,
                certifications: d.certifications,
                season_start: d.season_start,
                season_end: d.season_end,
                latitude: d.geo.map(|g| g.lat),
                longitude: d.geo.map(|g| g.lng),
                distance_km: h.distance_m.map(|m| (m / 100.0).round() / 10.0),
                highlight: SearchHighlight {
                    title: h.highlight.title,
                    description: h.highlight.description,
                },
            }
        })
        .collect();
    let did_you_mean = match query {
        Some(q) if r.total == 0 => vocab.suggestions(q, 3),
        _ => Vec::new(),
    };
    SearchPage {
        items,
        page: req.page,
        per_page: req.per_page,
        total: r.total,
        strategy: r.strategy.as_str().to_string(),
        understood: Understood::of(req),
        did_you_mean,
        facets,
    }
}

/// Finds listings the way people write: synonyms and dialect words (洋芋 = 土豆 = 马铃薯),
/// pinyin and initials, traditional characters and place names.
#[utoipa::path(get, path = "/api/v1/search", tag = "search", params(SearchParams),
    responses((status = 200, body = SearchPage), (status = 422, body = ErrorBody),
        (status = 503, description = "the search engine cannot be reached", body = ErrorBody)))]
async fn search(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<SearchParams>,
) -> AppResult<Json<SearchPage>> {
    let (req, results) = state.search.search(&params).await?;
    let vocab = state.search.vocabulary();
    Ok(Json(page_view(&req, params.q.as_deref(), results, &vocab)))
}

/// What buyers searched for over the last 30 days, without who searched (admins): the
/// queries that most often found nothing, and those whose results were opened least. The
/// vocabulary's gaps show here; an alias added to a category closes one.
#[utoipa::path(get, path = "/api/v1/search/queries", tag = "search",
    responses((status = 200, body = Report), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
async fn search_queries(
    State(state): State<AppState>,
    Admin(_admin): Admin,
) -> AppResult<Json<Report>> {
    Ok(Json(queries_report(&state).await?))
}

/// The report, with this instance's searches counted so far written first.
pub(crate) async fn queries_report(state: &AppState) -> AppResult<Report> {
    let today = crate::days::local_date(chrono::Utc::now());
    state.search.queries().write(&state.db, today).await?;
    Ok(queries::report(&state.db, today, 50).await?)
}
