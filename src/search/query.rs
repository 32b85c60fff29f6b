//! A search request as the engines receive it, checked; and what they answer.
//! Parsing and checking are pure so that both engines see exactly the same request.

use std::collections::BTreeMap;

use serde::Deserialize;
use utoipa::IntoParams;

use super::document::{Geo, SearchDocument};
use super::vocabulary::{QueryTerm, TermKind, Vocabulary};
use crate::catalog::domain::{Certification, Grade, MAX_PRICE_FEN, region_level};
use crate::error::Validator;
use crate::page;

/// Deepest result reachable by paging (page × per_page), as in Meilisearch's `maxTotalHits`.
pub const MAX_WINDOW: u64 = 1000;
/// Longest query text, in characters.
pub const QUERY_MAX: usize = 100;
/// Most words of a query that are matched.
pub const TERMS_MAX: usize = 10;
/// Largest search radius.
pub const RADIUS_MAX_KM: u32 = 5000;

/// `GET /api/v1/search` parameters as sent.
#[derive(Debug, Default, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SearchParams {
    /// What to look for, as people write it: 洋芋, 道孚 虫草, pingguo, 蘋果.
    pub q: Option<String>,
    /// A category id; listings of its sub-categories are included.
    pub category_id: Option<i64>,
    /// A region code at any level (province, prefecture, county, township, village).
    pub region: Option<String>,
    pub organization_id: Option<i64>,
    pub min_price_fen: Option<i64>,
    pub max_price_fen: Option<i64>,
    /// `organic`, `green_food`, `geographical_indication` or `poverty_alleviation`.
    pub certification: Option<String>,
    /// `special`, `first`, `second` or `third`: listings of this grade or a better one
    /// (`ungraded` admits every listing).
    pub min_grade: Option<String>,
    pub in_stock: Option<bool>,
    /// `lat,lng`: where the buyer is, for `radius_km` and `sort=distance`.
    pub near: Option<String>,
    /// Only listings within this many kilometres of `near` (1 to 5000).
    pub radius_km: Option<u32>,
    /// `relevance` (default), `price_asc`, `price_desc`, `distance`, `newest` or `sales`.
    pub sort: Option<String>,
    pub page: Option<u64>,
    /// 1 to 100, default 20.
    pub per_page: Option<u64>,
}

/// Orders of results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sort {
    #[default]
    Relevance,
    PriceAsc,
    PriceDesc,
    Distance,
    Newest,
    Sales,
}

impl Sort {
    const CODES: [(&'static str, Sort); 6] = [
        ("relevance", Sort::Relevance),
        ("price_asc", Sort::PriceAsc),
        ("price_desc", Sort::PriceDesc),
        ("distance", Sort::Distance),
        ("newest", Sort::Newest),
        ("sales", Sort::Sales),
    ];

    fn parse(s: &str) -> Option<Sort> {
        Self::CODES
            .iter()
            .find(|(c, _)| *c == s.trim())
            .map(|(_, v)| *v)
    }
}

/// How strictly query words must match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// Every word (or one of its synonyms) must match.
    Strict,
    /// Product words must match, other words only rank. Used when strict finds nothing.
    Loose,
}

impl Strategy {
    /// The stable name shown in answers.
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::Strict => "strict",
            Strategy::Loose => "loose",
        }
    }
}

/// Filters on a search.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filters {
    pub category_id: Option<i64>,
    pub region_code: Option<String>,
    pub organization_id: Option<i64>,
    pub min_price_fen: Option<i64>,
    pub max_price_fen: Option<i64>,
    pub certification: Option<Certification>,
    /// Listings of this grade or a better one.
    pub min_grade: Option<Grade>,
    pub in_stock: Option<bool>,
    /// Only these listings: how a saved search is tried against newly offered listings.
    pub listing_ids: Option<Vec<i64>>,
}

/// A checked search, ready for an engine.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchRequest {
    /// The words of the query with their synonyms; empty means "everything".
    pub terms: Vec<QueryTerm>,
    pub filters: Filters,
    pub near: Option<Geo>,
    pub radius_m: Option<u32>,
    pub sort: Sort,
    pub page: u64,
    pub per_page: u64,
    pub strategy: Strategy,
    /// The certification filter came from a word of the query (有机大米), not from the
    /// `certification` parameter: a loose search drops it.
    pub implied_certification: bool,
    /// Likewise for the grade filter (特级苹果).
    pub implied_grade: bool,
}

impl SearchRequest {
    /// Everything, newest first: the page a browser starts from.
    pub fn all() -> Self {
        SearchRequest {
            terms: Vec::new(),
            filters: Filters::default(),
            near: None,
            radius_m: None,
            sort: Sort::Newest,
            page: 1,
            per_page: page::MAX_PER_PAGE,
            strategy: Strategy::Strict,
            implied_certification: false,
            implied_grade: false,
        }
    }

    /// Results to skip before this page.
    pub fn offset(&self) -> u64 {
        (self.page - 1) * self.per_page
    }

    /// True when a looser strategy could find more than this one.
    pub fn can_loosen(&self) -> bool {
        // Without a product or a place there is nothing to hold on to: 笔记本电脑 or
        // "iPhone 15 Pro" loosened would find whatever shares a word with them.
        let anchored = self
            .terms
            .iter()
            .any(|t| matches!(t.kind, TermKind::Product | TermKind::Place));
        self.strategy == Strategy::Strict
            && anchored
            && (self.terms.len() > 1 || self.implied_certification || self.implied_grade)
    }

    /// The same request matched loosely: product words required, a certification or grade
    /// the query named no longer.
    pub fn loosened(&self) -> Self {
        let mut loose = SearchRequest {
            strategy: Strategy::Loose,
            ..self.clone()
        };
        if self.implied_certification {
            loose.filters.certification = None;
        }
        if self.implied_grade {
            loose.filters.min_grade = None;
        }
        loose
    }

    /// Whether a word must match under this request's strategy. Strictly every product and
    /// place word must, and the other words too unless the query names a product: then they
    /// are what a question wraps around it (炖汤, 送老人) and only rank. Loosely only a
    /// product word must, any one of them.
    pub fn required(&self, term: &QueryTerm) -> bool {
        match self.strategy {
            Strategy::Strict => term.kind != TermKind::Other || !self.has_product(),
            Strategy::Loose => term.kind == TermKind::Product,
        }
    }

    /// Whether a word takes part at all: a word the vocabulary does not know is left out of
    /// a loose search that has a product to hold on to.
    pub fn considered(&self, term: &QueryTerm) -> bool {
        self.strategy == Strategy::Strict || term.kind != TermKind::Other || !self.has_product()
    }

    /// Whether the query names a product.
    pub fn has_product(&self) -> bool {
        self.terms.iter().any(|t| t.kind == TermKind::Product)
    }
}

/// Checks the parameters against the vocabulary; every problem is reported at once.
pub fn parse(
    p: &SearchParams,
    vocab: &Vocabulary,
) -> Result<SearchRequest, crate::error::AppError> {
    let mut v = Validator::default();
    let (page, per_page) = check_paging(p, &mut v)?;
    let q = check_query(p, &mut v);
    let (certification, min_grade) = check_filters(p, vocab, &mut v);
    let near = check_place(p, &mut v);
    let sort = check_sort(p, &mut v);
    v.finish()?;
    // A certification or a grade named in the query (有机, 地理标志, 特级) filters like the
    // parameter does.
    let (named, terms): (Vec<QueryTerm>, Vec<QueryTerm>) = vocab
        .terms(q, TERMS_MAX)
        .into_iter()
        .partition(|t| matches!(t.kind, TermKind::Certification | TermKind::Grade));
    let meant = |kind: TermKind| {
        named
            .iter()
            .filter(move |t| t.kind == kind)
            .filter_map(|t| t.meaning.as_deref())
    };
    let implied = meant(TermKind::Certification)
        .find_map(Certification::from_code)
        .filter(|_| certification.is_none());
    // Of several grades named, the lowest: 一级 二级 admits both.
    let implied_grade = meant(TermKind::Grade)
        .filter_map(Grade::from_code)
        .max()
        .filter(|_| min_grade.is_none());
    Ok(SearchRequest {
        implied_certification: implied.is_some(),
        implied_grade: implied_grade.is_some(),
        terms,
        filters: Filters {
            category_id: p.category_id,
            region_code: p.region.clone(),
            organization_id: p.organization_id,
            min_price_fen: p.min_price_fen,
            max_price_fen: p.max_price_fen,
            certification: certification.or(implied),
            min_grade: min_grade.or(implied_grade),
            in_stock: p.in_stock,
            listing_ids: None,
        },
        near,
        radius_m: p.radius_km.map(|km| km * 1000),
        sort,
        page,
        per_page,
        strategy: Strategy::Strict,
    })
}

/// The page and its size, within the window an engine pages through.
fn check_paging(p: &SearchParams, v: &mut Validator) -> Result<(u64, u64), crate::error::AppError> {
    let (page, per_page) = match page::resolve(p.page, p.per_page) {
        Ok(pp) => pp,
        Err(crate::error::AppError::Validation(fields)) => {
            for (f, e) in fields {
                v.add(&f, e.code, e.message);
            }
            (1, 20)
        }
        Err(e) => return Err(e),
    };
    if page.saturating_mul(per_page) > MAX_WINDOW {
        v.add(
            "page",
            "out_of_range",
            format!("only the first {MAX_WINDOW} results can be paged through; narrow the search"),
        );
    }
    Ok((page, per_page))
}

/// The words typed, trimmed.
fn check_query<'a>(p: &'a SearchParams, v: &mut Validator) -> &'a str {
    let q = p.q.as_deref().unwrap_or("").trim();
    if q.chars().count() > QUERY_MAX {
        v.add("q", "too_long", format!("at most {QUERY_MAX} characters"));
    } else if q.chars().any(char::is_control) {
        v.add("q", "invalid", "the query contains control characters");
    }
    q
}

/// Category, region, seller, price, certification and grade, checked against the vocabulary.
fn check_filters(
    p: &SearchParams,
    vocab: &Vocabulary,
    v: &mut Validator,
) -> (Option<Certification>, Option<Grade>) {
    if let Some(id) = p.category_id
        && vocab.category(id).is_none()
    {
        v.add("category_id", "unknown", "no category has this id");
    }
    if let Some(code) = &p.region
        && (region_level(code).is_none() || vocab.place(code).is_none())
    {
        v.add("region", "unknown", "no region has this code");
    }
    if p.organization_id.is_some_and(|id| id < 1) {
        v.add("organization_id", "out_of_range", "must be a positive id");
    }
    for (field, value) in [
        ("min_price_fen", p.min_price_fen),
        ("max_price_fen", p.max_price_fen),
    ] {
        if value.is_some_and(|x| !(0..=MAX_PRICE_FEN).contains(&x)) {
            v.add(
                field,
                "out_of_range",
                format!("must be between 0 and {MAX_PRICE_FEN} fen"),
            );
        }
    }
    if let (Some(lo), Some(hi)) = (p.min_price_fen, p.max_price_fen)
        && lo > hi
    {
        v.add(
            "max_price_fen",
            "out_of_range",
            "must not be below min_price_fen",
        );
    }
    let certification = coded(
        p.certification.as_deref(),
        (
            "certification",
            Certification::from_code,
            Certification::codes,
        ),
        v,
    );
    let min_grade = coded(
        p.min_grade.as_deref(),
        ("min_grade", Grade::from_code, Grade::codes),
        v,
    );
    (certification, min_grade)
}

/// A parameter holding a code of a closed set: its name, how a code is read, every code.
type Coded<T> = (&'static str, fn(&str) -> Option<T>, fn() -> String);

/// A parameter that names a value by its code; an unknown code is reported with the ones
/// there are.
fn coded<T>(
    value: Option<&str>,
    (field, from_code, codes): Coded<T>,
    v: &mut Validator,
) -> Option<T> {
    let parsed = from_code(value?.trim());
    if parsed.is_none() {
        v.add(
            field,
            "unknown_value",
            format!("must be one of: {}", codes()),
        );
    }
    parsed
}

/// The point searched around, and that a radius comes with one.
fn check_place(p: &SearchParams, v: &mut Validator) -> Option<Geo> {
    let near = p.near.as_deref().and_then(|s| {
        let parsed = parse_point(s);
        if parsed.is_none() {
            v.add(
                "near",
                "invalid",
                "must be latitude,longitude in degrees, e.g. 30.57,104.07",
            );
        }
        parsed
    });
    if let Some(r) = p.radius_km {
        if !(1..=RADIUS_MAX_KM).contains(&r) {
            v.add(
                "radius_km",
                "out_of_range",
                format!("must be between 1 and {RADIUS_MAX_KM}"),
            );
        } else if p.near.is_none() {
            v.add(
                "radius_km",
                "requires_near",
                "give near=lat,lng with a radius",
            );
        }
    }
    near
}

/// The order asked for; by distance only around a point.
fn check_sort(p: &SearchParams, v: &mut Validator) -> Sort {
    match p.sort.as_deref() {
        None => Sort::Relevance,
        Some(s) => match Sort::parse(s) {
            Some(Sort::Distance) if p.near.is_none() => {
                v.add(
                    "sort",
                    "requires_near",
                    "sorting by distance needs near=lat,lng",
                );
                Sort::Relevance
            }
            Some(sort) => sort,
            None => {
                let codes: Vec<&str> = Sort::CODES.iter().map(|(c, _)| *c).collect();
                v.add(
                    "sort",
                    "unknown_value",
                    format!("must be one of: {}", codes.join(", ")),
                );
                Sort::Relevance
            }
        },
    }
}

fn parse_point(s: &str) -> Option<Geo> {
    let (lat, lng) = s.split_once(',')?;
    let lat: f64 = lat.trim().parse().ok()?;
    let lng: f64 = lng.trim().parse().ok()?;
    ((-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lng)).then_some(Geo { lat, lng })
}

/// Great-circle distance in metres.
pub fn distance_m(a: Geo, b: Geo) -> f64 {
    const EARTH_RADIUS_M: f64 = 6_371_008.8;
    let (la1, la2) = (a.lat.to_radians(), b.lat.to_radians());
    let dlat = la2 - la1;
    let dlng = (b.lng - a.lng).to_radians();
    let h = (dlat / 2.0).sin().powi(2) + la1.cos() * la2.cos() * (dlng / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * h.sqrt().min(1.0).asin()
}

/// Highlighted title and a snippet of the description, HTML-escaped, matches in `<em>`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Highlight {
    pub title: String,
    pub description: String,
}

/// One result.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub doc: SearchDocument,
    pub highlight: Highlight,
    /// From `near`, when given.
    pub distance_m: Option<f64>,
}

/// Counts of matching listings per facet value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facets {
    pub category: BTreeMap<i64, u64>,
    pub county: BTreeMap<String, u64>,
    pub certification: BTreeMap<String, u64>,
}

/// One page of results, the total and the facets.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchResults {
    pub hits: Vec<Hit>,
    pub total: u64,
    pub facets: Facets,
    pub strategy: Strategy,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::AppError;
    use crate::search::vocabulary::tests::sample;

    fn fields(p: SearchParams) -> Vec<(String, &'static str)> {
        match parse(&p, &sample()) {
            Err(AppError::Validation(f)) => f.into_iter().map(|(k, v)| (k, v.code)).collect(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn unanswerable_queries_name_the_field() {
        let p = SearchParams {
            page: Some(60),
            per_page: Some(20),
            category_id: Some(9999),
            region: Some("12".into()),
            certification: Some("magic".into()),
            near: Some("north".into()),
            sort: Some("cheapest".into()),
            min_price_fen: Some(500),
            max_price_fen: Some(100),
            ..Default::default()
        };
        assert_eq!(
            fields(p),
            vec![
                ("category_id".into(), "unknown"),
                ("certification".into(), "unknown_value"),
                ("max_price_fen".into(), "out_of_range"),
                ("near".into(), "invalid"),
                ("page".into(), "out_of_range"),
                ("region".into(), "unknown"),
                ("sort".into(), "unknown_value"),
            ]
        );
    }

    #[test]
    fn distance_needs_a_place() {
        let p = SearchParams {
            sort: Some("distance".into()),
            radius_km: Some(50),
            ..Default::default()
        };
        assert_eq!(
            fields(p),
            vec![
                ("radius_km".into(), "requires_near"),
                ("sort".into(), "requires_near")
            ]
        );
    }

    #[test]
    fn a_good_request_is_parsed() {
        let p = SearchParams {
            q: Some("道孚 虫草".into()),
            near: Some("30.57, 104.07".into()),
            radius_km: Some(300),
            sort: Some("distance".into()),
            ..Default::default()
        };
        let r = parse(&p, &sample()).unwrap();
        assert_eq!(r.terms.len(), 2);
        assert_eq!(
            r.near,
            Some(Geo {
                lat: 30.57,
                lng: 104.07
            })
        );
        assert_eq!(r.radius_m, Some(300_000));
        assert_eq!(r.sort, Sort::Distance);
        assert!(r.can_loosen());
        let loose = r.loosened();
        assert!(!loose.required(&loose.terms[0]) && loose.required(&loose.terms[1]));
    }

    #[test]
    fn a_grade_named_in_the_query_filters_until_loosened() {
        let q = |q: &str, min_grade: Option<&str>| SearchParams {
            q: Some(q.into()),
            min_grade: min_grade.map(str::to_string),
            ..Default::default()
        };
        let v = sample();
        for (typed, grade, product) in [
            ("特级苹果", Grade::Special, "苹果"),
            ("一等品 大米", Grade::First, "大米"),
            ("二级花椒", Grade::Second, "花椒"),
            ("三等 洋芋", Grade::Third, "洋芋"),
            ("premium walnut", Grade::Special, "walnut"),
        ] {
            let r = parse(&q(typed, None), &v).unwrap();
            assert_eq!(r.filters.min_grade, Some(grade), "{typed}");
            assert!(r.implied_grade && r.can_loosen(), "{typed}");
            let words: Vec<&str> = r.terms.iter().map(|t| t.text.as_str()).collect();
            assert_eq!(words, [product], "{typed}");
            assert_eq!(r.loosened().filters.min_grade, None, "{typed}");
        }
        // Two grades named admit the lower.
        let r = parse(&q("一级 二级 核桃", None), &v).unwrap();
        assert_eq!(r.filters.min_grade, Some(Grade::Second));
        // The parameter wins over the word, and stays when loosened.
        let r = parse(&q("特级 松茸", Some("second")), &v).unwrap();
        assert_eq!(r.filters.min_grade, Some(Grade::Second));
        assert!(!r.implied_grade && !r.can_loosen());
        assert_eq!(r.loosened().filters.min_grade, Some(Grade::Second));
        let err = parse(&q("松茸", Some("best")), &v).unwrap_err();
        assert!(format!("{err:?}").contains("min_grade"), "{err:?}");
    }

    #[test]
    fn a_certification_named_in_the_query_filters_until_loosened() {
        let q = |q: &str, certification: Option<&str>| SearchParams {
            q: Some(q.into()),
            certification: certification.map(str::to_string),
            ..Default::default()
        };
        let r = parse(&q("有机大米", None), &sample()).unwrap();
        assert_eq!(r.filters.certification, Some(Certification::Organic));
        assert!(r.implied_certification && r.can_loosen());
        let words: Vec<&str> = r.terms.iter().map(|t| t.text.as_str()).collect();
        assert_eq!(words, ["大米"]);
        assert_eq!(r.loosened().filters.certification, None);
        // The parameter wins over the word, and stays when loosened.
        let r = parse(&q("地理标志 松茸", Some("organic")), &sample()).unwrap();
        assert_eq!(r.filters.certification, Some(Certification::Organic));
        assert!(!r.implied_certification && !r.can_loosen());
        assert_eq!(r.terms.len(), 1);
        assert_eq!(
            parse(&q("绿色食品 苹果", None), &sample())
                .unwrap()
                .filters
                .certification,
            Some(Certification::GreenFood)
        );
    }

    #[test]
    fn distances_are_great_circle() {
        let chengdu = Geo {
            lat: 30.5728,
            lng: 104.0668,
        };
        let daofu = Geo {
            lat: 30.9791,
            lng: 101.1251,
        };
        let d = distance_m(chengdu, daofu) / 1000.0;
        assert!((275.0..290.0).contains(&d), "{d}");
        assert_eq!(distance_m(chengdu, chengdu), 0.0);
    }
}
