//! Bad input gets a 4xx with a stable code and the field, and nothing stored changes.

use reqwest::{Method, StatusCode};
use sea_orm::{ConnectionTrait, DatabaseBackend, Statement};
use serde_json::{Value, json};

use crate::helpers::{Backend, PASSWORD, spawn_app};
use crate::on_both_databases;

on_both_databases!(
    bad_listings_are_refused_field_by_field,
    bad_queries_and_bodies_are_refused
);

async fn bad_listings_are_refused_field_by_field(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let token = app.login("coop-panshi").await;
    let org = app.organization_of(&token).await;
    let existing = app.listings_of(org).await[0];
    let rice = app.category_id("rice").await;
    let good = json!({"category_id": rice, "title": "开江新米", "unit": "jin", "price_fen": 500, "stock": "100"});
    let with = |field: &str, value: Value| {
        let mut b = good.clone();
        b[field] = value;
        b
    };
    // (body, status, code, field)
    let cases: Vec<(Value, u16, &str, &str)> = vec![
        (
            with("price_fen", json!("cheap")),
            422,
            "validation_failed",
            "price_fen",
        ),
        (
            with("price_fen", json!(-5)),
            422,
            "validation_failed",
            "price_fen",
        ),
        (
            with("price_fen", json!(0)),
            422,
            "validation_failed",
            "price_fen",
        ),
        (
            with("price_fen", json!(1_000_000_000_000i64)),
            422,
            "validation_failed",
            "price_fen",
        ),
        (
            with("price_fen", json!(5.2)),
            422,
            "validation_failed",
            "price_fen",
        ),
        (
            with("stock", json!("-5")),
            422,
            "validation_failed",
            "stock",
        ),
        (with("stock", json!(-5)), 422, "validation_failed", "stock"),
        (
            with("stock", json!("99999999999")),
            422,
            "validation_failed",
            "stock",
        ),
        (
            with("stock", json!(1e300)),
            422,
            "validation_failed",
            "stock",
        ),
        (
            with("stock", json!("0.0001")),
            422,
            "validation_failed",
            "stock",
        ),
        (
            with("stock", json!("十斤")),
            422,
            "validation_failed",
            "stock",
        ),
        (
            with("stock", json!(true)),
            422,
            "validation_failed",
            "stock",
        ),
        (
            with("min_order", json!("0")),
            422,
            "validation_failed",
            "min_order",
        ),
        (
            with("title", json!("米".repeat(61))),
            422,
            "validation_failed",
            "title",
        ),
        (with("title", json!("")), 422, "validation_failed", "title"),
        (with("title", json!(42)), 422, "validation_failed", "title"),
        (
            with("description", json!("好".repeat(5001))),
            422,
            "validation_failed",
            "description",
        ),
        (
            with("category_id", json!(999_999)),
            422,
            "validation_failed",
            "category_id",
        ),
        (
            with("category_id", json!(-1)),
            422,
            "validation_failed",
            "category_id",
        ),
        (
            with("unit", json!("bushel")),
            422,
            "validation_failed",
            "unit",
        ),
        (
            with("grade", json!("best")),
            422,
            "validation_failed",
            "grade",
        ),
        (
            with("certifications", json!(["organic", "made-up"])),
            422,
            "validation_failed",
            "certifications",
        ),
        (
            with("origin_region_code", json!("999999")),
            422,
            "validation_failed",
            "origin_region_code",
        ),
        (
            with("origin_region_code", json!("51172")),
            422,
            "validation_failed",
            "origin_region_code",
        ),
        (
            with("origin_region_code", json!("513326100204")),
            422,
            "validation_failed",
            "origin_region_code",
        ),
        (
            with("season_start", json!(13)),
            422,
            "validation_failed",
            "season_start",
        ),
        (
            with("latitude", json!(120.0)),
            422,
            "validation_failed",
            "latitude",
        ),
        (
            with("status", json!("sold_out")),
            422,
            "validation_failed",
            "status",
        ),
        (
            with("surprise", json!(1)),
            422,
            "validation_failed",
            "surprise",
        ),
        (
            json!({"title": "no price"}),
            422,
            "validation_failed",
            "price_fen",
        ),
        (json!([1, 2, 3]), 422, "validation_failed", "body"),
    ];
    let before = app.snapshot().await;
    for (body, status, code, field) in &cases {
        let r = app
            .post("/api/v1/listings", Some(&token), body.clone())
            .await;
        assert_eq!(r.status.as_u16(), *status, "POST {body}: {}", r.text);
        assert_eq!(r.code(), *code, "POST {body}: {}", r.text);
        assert!(
            r.fields().contains(&field.to_string()),
            "POST {body}: expected field {field} in {}",
            r.text
        );
        assert!(!r.body["error"]["message"].as_str().unwrap_or("").is_empty());
        // The same change to an existing listing is refused too (required-field cases aside).
        if body.get("category_id").is_some() {
            let p = app
                .patch(
                    &format!("/api/v1/listings/{existing}"),
                    Some(&token),
                    body.clone(),
                )
                .await;
            assert_eq!(p.status.as_u16(), *status, "PATCH {body}: {}", p.text);
            assert!(
                p.fields().contains(&field.to_string()),
                "PATCH {body}: {}",
                p.text
            );
        }
    }
    assert_eq!(
        app.snapshot().await,
        before,
        "refused input changed stored data"
    );
    // Several problems are reported together.
    let many = app
        .post(
            "/api/v1/listings",
            Some(&token),
            json!({"category_id": rice, "title": "", "unit": "x", "price_fen": -1, "stock": "-1"}),
        )
        .await;
    assert_eq!(many.fields(), ["price_fen", "stock", "title", "unit"]);
}

async fn bad_queries_and_bodies_are_refused(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let token = app.login("coop-panshi").await;
    let before = app.snapshot().await;

    let malformed = app
        .call_raw(
            Method::POST,
            "/api/v1/listings",
            Some(&token),
            "application/json",
            b"{\"title\":".to_vec(),
        )
        .await;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
    assert_eq!(malformed.code(), "invalid_json");

    let trailing = app
        .call_raw(
            Method::POST,
            "/api/v1/listings",
            Some(&token),
            "application/json",
            b"{} {}".to_vec(),
        )
        .await;
    assert_eq!(trailing.code(), "invalid_json");

    let not_json = app
        .call_raw(
            Method::POST,
            "/api/v1/listings",
            Some(&token),
            "text/plain",
            b"title=x".to_vec(),
        )
        .await;
    assert_eq!(not_json.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(not_json.code(), "unsupported_media_type");

    let deep = format!("{}1{}", "[".repeat(5000), "]".repeat(5000));
    let deep = app
        .call_raw(
            Method::POST,
            "/api/v1/listings",
            Some(&token),
            "application/json",
            deep.into_bytes(),
        )
        .await;
    assert_eq!(deep.status, StatusCode::BAD_REQUEST);
    assert_eq!(deep.code(), "invalid_json");

    let huge = format!("{{\"title\": \"{}\"}}", "a".repeat(2 * 1024 * 1024));
    // The server may close the connection after refusing a body this size, so it gets a connection of its own.
    let huge = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap()
        .post(format!("{}/api/v1/listings", app.address))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_eq!(huge.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body: serde_json::Value = huge.json().await.unwrap();
    assert_eq!(body["error"]["code"], "payload_too_large");

    for (query, field) in [
        ("per_page=1000", "per_page"),
        ("page=0", "page"),
        ("page=-1", "page"),
        ("sort=cheapest", "sort"),
        ("region=abc", "region"),
        ("certification=shiny", "certification"),
        ("in_stock=maybe", "in_stock"),
        ("min_price_fen=9&max_price_fen=1", "max_price_fen"),
        ("category_id=x", "category_id"),
        ("colour=red", "colour"),
    ] {
        let r = app.get(&format!("/api/v1/listings?{query}"), None).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{query}: {}",
            r.text
        );
        assert!(
            r.fields().contains(&field.to_string()),
            "{query}: {}",
            r.text
        );
    }
    for path in [
        "/api/v1/listings/abc",
        "/api/v1/listings/0",
        "/api/v1/listings/99999999",
        "/api/v1/regions/999999",
        "/api/v1/nothing-here",
    ] {
        let r = app.get(path, None).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(r.code(), "not_found", "{path}");
    }
    let org = app
        .post("/api/v1/organizations", Some(&token), json!({"name": "x", "kind": "коопер", "region_code": "nowhere", "contact_name": "", "contact_phone": "call me"}))
        .await;
    assert_eq!(org.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        org.fields(),
        [
            "contact_name",
            "contact_phone",
            "kind",
            "name",
            "region_code"
        ]
    );
    let long_login = app
        .post(
            "/api/v1/auth/login",
            None,
            json!({"username": "buyer", "password": "x".repeat(10_000)}),
        )
        .await;
    assert_eq!(long_login.status, StatusCode::UNAUTHORIZED);
    // PostgreSQL cannot even compare text holding a NUL; such a name is simply no one's.
    for username in ["buyer\u{0}", "\u{0}", "bu\u{88}yer", "\u{1b}[2J"] {
        let odd = app
            .post(
                "/api/v1/auth/login",
                None,
                json!({"username": username, "password": PASSWORD, "\u{90}": "\u{0}"}),
            )
            .await;
        assert_eq!(
            odd.status,
            StatusCode::UNAUTHORIZED,
            "{username:?}: {}",
            odd.text
        );
        assert_eq!(odd.code(), "invalid_credentials", "{username:?}");
    }
    // Should any other text with a NUL slip past the fields' checks, PostgreSQL's refusal is
    // the client's error, not the server's.
    if app.db.get_database_backend() == DatabaseBackend::Postgres {
        let refused = app
            .db
            .query_one_raw(Statement::from_sql_and_values(
                DatabaseBackend::Postgres,
                "SELECT $1::text",
                ["a\u{0}b".into()],
            ))
            .await
            .unwrap_err();
        let (status, code) = qudao::error::AppError::from(refused).status_and_code();
        assert_eq!((status, code), (400, "invalid_text"));
    }
    assert_eq!(app.snapshot().await, before);
}

/// A client that starts a request and then sends its headers slowly (or not at all) is cut off,
/// and so is an idle kept-alive connection; everyone else is answered meanwhile.
#[tokio::test]
async fn clients_too_slow_with_their_headers_are_cut_off() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let app = spawn_app(Backend::Sqlite)
        .await
        .expect("SQLite always runs");
    let host = app.address.trim_start_matches("http://").to_string();
    let limit = qudao::http::server::HEADER_READ_TIMEOUT + std::time::Duration::from_secs(5);

    let mut slow = tokio::net::TcpStream::connect(&host).await.unwrap();
    slow.write_all(b"GET /api/v1/listings HTTP/1.1\r\nHost: qudao\r\n")
        .await
        .unwrap();
    let mut idle = tokio::net::TcpStream::connect(&host).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: qudao\r\n\r\n")
        .await
        .unwrap();

    // Meanwhile others are served.
    assert_eq!(
        app.get("/api/v1/listings", None).await.status,
        StatusCode::OK
    );

    let started = std::time::Instant::now();
    let mut rest = Vec::new();
    let read = tokio::time::timeout(limit, slow.read_to_end(&mut rest)).await;
    assert!(
        read.is_ok(),
        "a half-sent request still held its connection after {:?}",
        started.elapsed()
    );
    // The idle connection got its answer, then was closed too.
    let mut answer = Vec::new();
    let read = tokio::time::timeout(limit, idle.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "an idle connection stayed open");
    assert!(String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 200"));
}
