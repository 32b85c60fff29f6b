//! SQLite's storage: the write-ahead log reaches the database file by itself within seconds
//! of a write, and a writer kept waiting too long gets a clear answer.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use sea_orm::{ConnectionTrait, Database, DatabaseBackend, Statement, TransactionTrait};
use serde_json::json;

use crate::helpers::{Backend, spawn_app};

/// A copy of the database file without its `-wal` file (what a careless backup takes) holds a
/// new account within seconds, long before the log grows to the 1 000 pages at which SQLite
/// would copy it on its own.
#[tokio::test]
async fn the_write_ahead_log_is_copied_into_the_database_every_second() {
    let app = spawn_app(Backend::Sqlite)
        .await
        .expect("SQLite always runs");
    let r = app
        .post(
            "/api/v1/auth/register",
            None,
            json!({"username": "checkpointed-canteen", "password": "成都蓉城食堂采购", "display_name": "蓉城食堂"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);

    let copies = tempfile::tempdir().unwrap();
    let started = Instant::now();
    for attempt in 0.. {
        let copy = copies.path().join(format!("copy-{attempt}.db"));
        std::fs::copy(app.dir().join("qudao.db"), &copy).unwrap();
        let db = Database::connect(format!("sqlite://{}?mode=ro", copy.display()))
            .await
            .unwrap();
        let found = db
            .query_one_raw(Statement::from_string(
                DatabaseBackend::Sqlite,
                "SELECT count(*) AS n FROM users WHERE username = 'checkpointed-canteen'",
            ))
            .await
            // Before the first copy even the tables are only in the log.
            .ok()
            .flatten()
            .map(|row| row.try_get::<i64>("", "n").unwrap());
        db.close().await.unwrap();
        if found == Some(1) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the new account is still only in the write-ahead log"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A write that waits out SQLite's 10 s for another writer (here a maintenance job holding the
/// lock) answers 503 `busy`, not a server error; once the lock is
/// free the same request succeeds, and the instance was never taken out of service.
#[tokio::test]
async fn a_write_kept_waiting_by_another_writer_answers_503_busy() {
    let app = spawn_app(Backend::Sqlite)
        .await
        .expect("SQLite always runs");
    let other = Database::connect(format!("sqlite://{}", app.dir().join("qudao.db").display()))
        .await
        .unwrap();
    let holder = other.begin().await.unwrap();
    holder
        .execute_unprepared("UPDATE users SET display_name = display_name WHERE id = 0")
        .await
        .unwrap();
    let account = json!({"username": "patient-canteen", "password": "成都蓉城食堂采购", "display_name": "蓉城食堂"});
    let r = app
        .post("/api/v1/auth/register", None, account.clone())
        .await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.text);
    assert_eq!(r.body["error"]["code"], "busy", "{}", r.text);
    assert_eq!(
        r.headers.get("retry-after").map(|v| v.to_str().unwrap()),
        Some("1")
    );
    let ready = app.get("/readyz", None).await;
    assert_eq!(ready.status, StatusCode::OK, "{}", ready.text);

    holder.rollback().await.unwrap();
    let r = app.post("/api/v1/auth/register", None, account).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
}
