//! `/readyz`: each dependency reported on its own, and only a database outage takes the
//! instance out of rotation.

use reqwest::StatusCode;
use sea_orm::{ConnectionTrait, Database};

use crate::helpers::{Backend, spawn_app};

crate::on_both_databases!(readiness_notices_the_embedded_index_is_gone);

async fn readiness_notices_the_embedded_index_is_gone(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let r = app.get("/readyz", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["status"], "ready", "{}", r.text);
    assert_eq!(r.body["search"]["status"], "ok", "{}", r.text);

    std::fs::remove_dir_all(app.dir().join("search")).unwrap();
    let r = app.get("/readyz", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["status"], "degraded", "{}", r.text);
    assert_eq!(r.body["search"]["status"], "unreachable", "{}", r.text);
    assert_eq!(r.body["database"]["status"], "ok", "{}", r.text);
}

/// With the database refusing connections, readiness and requests answer 503 at once instead
/// of hanging or failing with a 500, and both recover by themselves when the database is back.
#[tokio::test]
async fn readiness_answers_503_while_the_database_is_down() {
    let Some(app) = spawn_app(Backend::Postgres).await else {
        return;
    };
    let (admin_url, name) = app.postgres().expect("a PostgreSQL app");
    let admin = Database::connect(admin_url).await.unwrap();
    assert_eq!(app.get("/readyz", None).await.status, StatusCode::OK);

    admin
        .execute_unprepared(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false"))
        .await
        .unwrap();
    admin
        .execute_unprepared(&format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
        ))
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let r = app.get("/readyz", None).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.text);
    assert_eq!(r.body["status"], "not_ready", "{}", r.text);
    assert_eq!(r.body["database"]["status"], "unreachable", "{}", r.text);
    assert_eq!(r.body["search"]["status"], "ok", "{}", r.text);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "readiness took {:?} with the database down",
        started.elapsed()
    );
    // Requests that need the database say so, quickly, with a code a program can act on.
    let started = std::time::Instant::now();
    let r = app.get("/api/v1/listings", None).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.text);
    assert_eq!(r.code(), "database_unavailable", "{}", r.text);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(7),
        "the request took {:?} with the database down",
        started.elapsed()
    );

    admin
        .execute_unprepared(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true"))
        .await
        .unwrap();
    let r = app.get("/readyz", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["status"], "ready", "{}", r.text);
    assert_eq!(
        app.get("/api/v1/listings", None).await.status,
        StatusCode::OK
    );
}
