//! `/metrics`: what an operator's Prometheus scrapes.

use reqwest::StatusCode;

use crate::helpers::{Backend, spawn_app};
use crate::search::enc;

/// The value of one series line (`name{labels} value`), when the line is there.
fn series(text: &str, name_and_labels: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name_and_labels)?.strip_prefix(' '))
        .map(|v| v.parse().expect("a whole number"))
}

crate::on_both_databases!(metrics_count_requests_by_route_and_report_the_outbox_and_pool);

async fn metrics_count_requests_by_route_and_report_the_outbox_and_pool(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let q = format!("/api/v1/search?q={}", enc("洋芋"));
    for _ in 0..2 {
        assert_eq!(app.get(&q, None).await.status, StatusCode::OK);
    }
    assert_eq!(
        app.get("/no-such-page", None).await.status,
        StatusCode::NOT_FOUND
    );
    let r = app
        .client
        .request(
            reqwest::Method::from_bytes(b"BREW").unwrap(),
            format!("{}/api/v1/search", app.address),
        )
        .send()
        .await
        .unwrap();
    assert!(r.status().is_client_error(), "{}", r.status());
    // A new listing leaves an event for the search relay, which is off in tests.
    let r = app.panshi_lists_rice("开江新米", 480).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let listing = r.body["id"].as_i64().unwrap();
    assert_eq!(
        app.get(&format!("/api/v1/listings/{listing}"), None)
            .await
            .status,
        StatusCode::OK
    );

    let r = app
        .client
        .get(format!("{}/metrics", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    let text = r.text().await.unwrap();
    let get = |s: &str| series(&text, s);

    assert_eq!(
        get(r#"qudao_http_responses_total{method="GET",route="/api/v1/search",status="200"}"#),
        Some(2),
        "{text}"
    );
    assert_eq!(
        get(r#"qudao_http_request_duration_seconds_count{method="GET",route="/api/v1/search"}"#),
        Some(2),
        "{text}"
    );
    assert_eq!(
        get(
            r#"qudao_http_request_duration_seconds_bucket{method="GET",route="/api/v1/search",le="+Inf"}"#
        ),
        Some(2),
        "{text}"
    );
    // Paths are reported by their route, never raw, so ids do not multiply the series.
    assert_eq!(
        get(
            r#"qudao_http_responses_total{method="GET",route="/api/v1/listings/{id}",status="200"}"#
        ),
        Some(1),
        "{text}"
    );
    assert!(
        !text.contains(&format!("/api/v1/listings/{listing}\"")),
        "{text}"
    );
    assert_eq!(
        get(r#"qudao_http_responses_total{method="GET",route="unmatched",status="404"}"#),
        Some(1),
        "{text}"
    );
    // Made-up methods share one series instead of adding their own.
    assert!(!text.contains("BREW"), "{text}");
    assert!(
        text.contains(r#"qudao_http_responses_total{method="other",route="/api/v1/search""#),
        "{text}"
    );
    assert_eq!(
        get(r#"qudao_search_duration_seconds_count{engine="embedded"}"#),
        Some(2),
        "{text}"
    );
    assert!(
        get(r#"qudao_outbox_waiting{channel="search"}"#).unwrap_or(0) >= 1,
        "{text}"
    );
    assert_eq!(
        get(r#"qudao_outbox_dead{channel="search"}"#),
        Some(0),
        "{text}"
    );
    assert!(
        get(r#"qudao_outbox_oldest_waiting_age_seconds{channel="search"}"#).is_some(),
        "{text}"
    );
    assert!(
        get("qudao_db_pool_max_connections").unwrap_or(0) >= 1,
        "{text}"
    );
    assert!(
        get(r#"qudao_db_pool_connections{state="idle"}"#).is_some(),
        "{text}"
    );
}
