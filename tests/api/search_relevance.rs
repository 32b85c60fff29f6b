//! The relevance set in `tests/fixtures/search_relevance.toml`, on both engines.

use serde::Deserialize;

use crate::on_both_engines;
use crate::search::{EngineKind, enc, spawn_search_app};

#[derive(Debug, Deserialize)]
struct Set {
    case: Vec<Case>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    q: String,
    top: usize,
    must: Vec<String>,
    #[serde(default)]
    must_not: Vec<String>,
}

on_both_engines!(the_relevance_set_holds);

async fn the_relevance_set_holds(engine: EngineKind) {
    let Some(app) = spawn_search_app(engine).await else {
        return;
    };
    let set: Set = toml::from_str(include_str!("../fixtures/search_relevance.toml")).unwrap();
    let mut failures = Vec::new();
    for case in &set.case {
        let titles = app.titles(&format!("q={}&per_page=20", enc(&case.q))).await;
        let top: Vec<&String> = titles.iter().take(case.top).collect();
        for want in &case.must {
            if !top.contains(&want) {
                failures.push(format!(
                    "{:?}: {want} not in the top {} of {titles:?}",
                    case.q, case.top
                ));
            }
        }
        for unwanted in &case.must_not {
            if top.contains(&unwanted) {
                failures.push(format!(
                    "{:?}: {unwanted} in the top {} of {titles:?}",
                    case.q, case.top
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} relevance cases failed:\n{}",
        failures.len(),
        set.case.len(),
        failures.join("\n")
    );
}
