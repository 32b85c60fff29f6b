//! The relevance corpus of `cargo bench --bench relevance` (tests/fixtures/relevance, made by
//! tools/relevance_corpus.py) holds together without any search engine: unique keys, known
//! categories, regions and units, enough listings and queries in every class, and something
//! relevant to every query that expects results.

use std::collections::{BTreeMap, HashSet};

#[path = "../fixtures/relevance/corpus.rs"]
mod corpus;

use corpus::{CLASSES, Row};

const LISTINGS: &str = include_str!("../fixtures/relevance/listings.tsv");
const QUERIES: &str = include_str!("../fixtures/relevance/queries.toml");

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
    assert_eq!(LISTINGS.lines().next(), Some(corpus::HEADER));
    let mut keys = HashSet::new();
    let mut products = HashSet::new();
    let mut rows = Vec::new();
    let mut problems = Vec::new();
    for line in corpus::listing_lines(LISTINGS) {
        let r = match Row::parse(line) {
            Ok(r) => r,
            Err(e) => {
                problems.push(e);
                continue;
            }
        };
        let key = &r.key;
        if !keys.insert(key.clone()) {
            problems.push(format!("{key}: the key is used twice"));
        }
        if !slugs.contains(&r.category) {
            problems.push(format!("{key}: unknown category {}", r.category));
        }
        if !r.origin.starts_with("51") || !regions.contains(r.origin.as_str()) {
            problems.push(format!("{key}: unknown Sichuan region {}", r.origin));
        }
        if r.title.trim().is_empty() || r.description.trim().is_empty() {
            problems.push(format!("{key}: no title or description"));
        }
        if r.price_fen <= 0 {
            problems.push(format!("{key}: bad price {}", r.price_fen));
        }
        products.insert(r.product.clone());
        rows.push(r);
    }
    assert!(keys.len() >= 1000, "only {} listings", keys.len());
    assert!(products.len() >= 120, "only {} products", products.len());

    let queries = corpus::queries(QUERIES).expect("queries.toml");
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
            if !products.contains(p) {
                problems.push(format!("«{}»: no listing of {p}", q.q));
            }
        }
        if !rows.iter().any(|r| q.relevant(r)) {
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
