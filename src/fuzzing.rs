//! Entry points for the fuzz targets under `fuzz/` and for their regression tests. Each takes
//! bytes as a stranger could send them and runs the same parsing and checking as the request
//! handlers, which must answer bad input with an error and never panic.

use std::sync::OnceLock;

use serde::de::DeserializeOwned;

use crate::http::api::extract::{parse_json, parse_query};
use crate::search::query::{self, SearchParams};
use crate::search::vocabulary::Vocabulary;

fn vocabulary() -> &'static Vocabulary {
    static VOCABULARY: OnceLock<Vocabulary> = OnceLock::new();
    VOCABULARY.get_or_init(Vocabulary::from_reference)
}

/// `GET /api/v1/search?…`: the query string as sent (any bytes), through the parameters'
/// parsing, the checks against the vocabulary and the analysis of the words searched for.
pub fn search_query(bytes: &[u8]) {
    let query_string = String::from_utf8_lossy(bytes);
    let Ok(params) = parse_query::<SearchParams>(&query_string) else {
        return;
    };
    if let Ok(request) = query::parse(&params, vocabulary()) {
        // A checked request can always be loosened and paged without overflowing.
        let _ = request.offset();
        if request.can_loosen() {
            let _ = request.loosened();
        }
    }
    if let Some(q) = &params.q {
        let _ = crate::search::text::fold(q);
    }
}

/// Every JSON body the API accepts: the bytes as sent, into each request type, and through the
/// checks that need no database.
pub fn json_body(bytes: &[u8]) {
    let _ = parse_json::<serde_json::Value>(bytes);
    if let Ok(listing) = parse_json::<crate::catalog::draft::ListingRequest>(bytes) {
        let _ = listing.into_draft(None);
    }
    if let Ok(register) = parse_json::<crate::accounts::service::RegisterRequest>(bytes) {
        if let Ok(username) = crate::accounts::service::parse_username(&register.username) {
            let _ = crate::accounts::password::check_new(&register.password, &username);
        }
        let _ = crate::accounts::service::parse_display_name(&register.display_name);
        if let Some(email) = &register.email {
            let _ = crate::accounts::service::parse_email(email);
        }
    }
    shape::<crate::matching::requests::RequestInput>(bytes);
    shape::<crate::http::api::orders::CartLineRequest>(bytes);
    shape::<crate::catalog::organizations::ApplyRequest>(bytes);
    shape::<crate::http::api::catalog::organizations::HouseholdRequest>(bytes);
    shape::<crate::stats::targets::TargetsRequest>(bytes);
    shape::<crate::http::api::notify::NewWebhook>(bytes);
    shape::<crate::http::api::notify::PreferenceChanges>(bytes);
    shape::<crate::http::api::saved_searches::NewSavedSearch>(bytes);
}

/// Parses `bytes` as the body `T`, for request types whose checks need the database.
fn shape<T: DeserializeOwned>(bytes: &[u8]) {
    let _ = parse_json::<T>(bytes);
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    /// Inputs that once broke a parser (`fuzz/regressions/<target>/`) and hostile classics.
    fn regressions(target: &str) -> Vec<Vec<u8>> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fuzz/regressions")
            .join(target);
        let mut inputs: Vec<Vec<u8>> = std::fs::read_dir(&dir)
            .map(|d| {
                d.filter_map(|e| std::fs::read(e.ok()?.path()).ok())
                    .collect()
            })
            .unwrap_or_default();
        inputs.extend(
            [
                &b""[..],
                b"\xff\xfe\x00",
                b"%FF%FE%00",
                &"[".repeat(100_000).into_bytes(),
                &"{\"a\":".repeat(50_000).into_bytes(),
                b"{\"price_fen\": 1e400, \"stock\": \"99999999999999999999999.999\"}",
                b"{\"quantity\": \"-0.0001\", \"unit\": \"jin\"}",
                b"page=18446744073709551615&per_page=18446744073709551615",
                b"near=91,181&radius_km=4294967295&sort=distance",
                b"q=%E6%B4%8B%E8%8A%8B%00&min_price_fen=-9223372036854775808",
            ]
            .map(<[u8]>::to_vec),
        );
        inputs
    }

    #[test]
    fn search_queries_that_once_broke_parsers_are_refused_cleanly() {
        for input in regressions("search_query") {
            super::search_query(&input);
        }
    }

    #[test]
    fn json_bodies_that_once_broke_parsers_are_refused_cleanly() {
        for input in regressions("json_body") {
            super::json_body(&input);
        }
    }
}
