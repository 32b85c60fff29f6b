//! The relevance corpus of `cargo bench --bench relevance` (tests/fixtures/relevance, made by
//! tools/relevance_corpus.py) holds together without any search engine: unique keys, known
//! categories, regions and units, enough listings and queries in every class, and something
//! relevant to every query that expects results.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Deserialize;

const LISTINGS: &str = include_str!("../fixtures/relevance/listings.tsv");
const QUERIES: &str = include_str!("../fixtures/relevance/queries.toml");

const CLASSES: [&str; 13] = [
    "dialect",
    "place_product",
    "category",
    "nonsense",
    "homophone",
    "pinyin_joined",
    "pinyin_spaced",
    "product_word",
    "english",
    "traditional",
    "village",
    "question",
    "initials",
];

#[derive(Deserialize)]
struct QueryFile {
    query: Vec<Query>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Query {
    class: String,
    q: String,
    #[serde(default)]
    product: Vec<String>,
    place: Option<String>,
    #[serde(default)]
    expect_none: bool,
}

#[test]
fn the_relevance_corpus_holds_together() {
    let slugs: HashSet<String> = qudao::catalog::categories::reference()
        .into_iter()
        .map(|c| c.slug)
        .collect();
    let regions: HashSet<&str> = qudao::catalog::regions::reference_rows()
        .iter()
        .map(|r| r.code.as_str())
        .collect();
    let mut lines = LISTINGS.lines();
    assert_eq!(
        lines.next(),
        Some("key\tproduct\tcategory\torigin\ttitle\tdescription\tprice_fen\tunit")
    );
    let mut keys = HashSet::new();
    // product → origins of its listings
    let mut products: HashMap<&str, Vec<&str>> = HashMap::new();
    let mut problems = Vec::new();
    for line in lines.filter(|l| !l.is_empty()) {
        let c: Vec<&str> = line.split('\t').collect();
        assert_eq!(c.len(), 8, "not eight columns: {line}");
        let (key, product, category, origin) = (c[0], c[1], c[2], c[3]);
        if !keys.insert(key) {
            problems.push(format!("{key}: the key is used twice"));
        }
        if !slugs.contains(category) {
            problems.push(format!("{key}: unknown category {category}"));
        }
        if !origin.starts_with("51") || !regions.contains(origin) {
            problems.push(format!("{key}: unknown Sichuan region {origin}"));
        }
        if c[4].trim().is_empty() || c[5].trim().is_empty() {
            problems.push(format!("{key}: no title or description"));
        }
        if !c[6].parse::<i64>().is_ok_and(|p| p > 0) {
            problems.push(format!("{key}: bad price {}", c[6]));
        }
        if c[7].parse::<qudao::catalog::domain::Unit>().is_err() {
            problems.push(format!("{key}: unknown unit {}", c[7]));
        }
        products.entry(product).or_default().push(origin);
    }
    assert!(keys.len() >= 1000, "only {} listings", keys.len());
    assert!(products.len() >= 120, "only {} products", products.len());

    let queries = toml::from_str::<QueryFile>(QUERIES)
        .expect("queries.toml")
        .query;
    assert!(queries.len() >= 300, "only {} queries", queries.len());
    let mut per_class: BTreeMap<&str, usize> = BTreeMap::new();
    for q in &queries {
        *per_class.entry(q.class.as_str()).or_default() += 1;
        if !CLASSES.contains(&q.class.as_str()) {
            problems.push(format!("«{}»: unknown class {}", q.q, q.class));
        }
        if q.q.trim().is_empty() {
            problems.push(format!("an empty query in {}", q.class));
        }
        if q.expect_none {
            if !q.product.is_empty() || q.place.is_some() || q.class != "nonsense" {
                problems.push(format!(
                    "«{}»: expects nothing yet names what it wants",
                    q.q
                ));
            }
            continue;
        }
        if q.product.is_empty() {
            problems.push(format!("«{}»: neither products nor expect_none", q.q));
        }
        for p in &q.product {
            if !products.contains_key(p.as_str()) {
                problems.push(format!("«{}»: no listing of {p}", q.q));
            }
        }
        let place = q.place.as_deref().unwrap_or("");
        let relevant = q
            .product
            .iter()
            .filter_map(|p| products.get(p.as_str()))
            .flatten()
            .filter(|o| o.starts_with(place))
            .count();
        if relevant == 0 {
            problems.push(format!("«{}»: nothing relevant", q.q));
        }
    }
    for class in CLASSES {
        let n = per_class.get(class).copied().unwrap_or(0);
        if n < 15 {
            problems.push(format!("class {class}: {n} queries, fewer than 15"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
