//! Backups that lose nothing: a copy taken while checkouts stream in is consistent, a running
//! server's database is never restored over, and a restored copy serves again.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use reqwest::StatusCode;
use sea_orm::{ConnectionTrait, Database, DbBackend, Statement};
use serde_json::json;

use crate::helpers::{Backend, qudao, spawn_app};
use crate::orders::{listing_titled, restock};

/// One number from a query on `db`.
async fn number(db: &sea_orm::DatabaseConnection, sql: &str) -> i64 {
    db.query_one_raw(Statement::from_string(DbBackend::Sqlite, sql))
        .await
        .unwrap()
        .unwrap()
        .try_get_by_index::<i64>(0)
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_during_checkouts_is_consistent_and_restores() {
    let app = Arc::new(
        spawn_app(Backend::Sqlite)
            .await
            .expect("SQLite always runs"),
    );
    let apples = listing_titled(&app, "孜龙村高原红富士苹果").await;
    restock(&app, "coop-zilong", apples, "100000").await;
    let stock = app.listing_row(apples).await.stock_milli;

    // A stream of checkouts that goes on while the backup is taken.
    let stop = Arc::new(AtomicBool::new(false));
    let placed = Arc::new(AtomicUsize::new(0));
    let mut buyers = Vec::new();
    for (b, token) in app.new_buyers(3).await.into_iter().enumerate() {
        let (app, stop, placed) = (app.clone(), stop.clone(), placed.clone());
        buyers.push(tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                let lines = json!([{"listing_id": apples, "quantity": "1"}]);
                let r = app
                    .checkout(&token, &format!("stream-{b}-{n}"), lines)
                    .await;
                assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
                placed.fetch_add(1, Ordering::Relaxed);
                n += 1;
            }
        }));
    }
    while placed.load(Ordering::Relaxed) < 10 {
        tokio::task::yield_now().await;
    }
    let kept = tempfile::tempdir().unwrap();
    let copy = kept.path().join("qudao-backup.db");
    let out = {
        let (dir, copy) = (app.dir().to_path_buf(), copy.clone());
        tokio::task::spawn_blocking(move || qudao(&dir).arg("backup").arg(&copy).output().unwrap())
            .await
            .unwrap()
    };
    let taken_at = placed.load(Ordering::Relaxed);
    stop.store(true, Ordering::Relaxed);
    for b in buyers {
        b.await.unwrap();
    }
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(said.contains("backup written"), "{said}");

    // The copy holds whole checkouts only: each order has its lines and its outbox row, and
    // the stock it holds is the stock before less what its orders took.
    let c = Database::connect(format!("sqlite://{}?mode=ro", copy.display()))
        .await
        .unwrap();
    let orders = number(&c, "SELECT count(*) FROM orders").await;
    assert!(orders >= 10, "only {orders} orders in the copy");
    assert!(
        orders as usize <= taken_at + 3,
        "{orders} orders, {taken_at} placed"
    );
    let without_lines = "SELECT count(*) FROM orders o \
                         WHERE NOT EXISTS (SELECT 1 FROM order_lines l WHERE l.order_id = o.id)";
    assert_eq!(number(&c, without_lines).await, 0);
    let unannounced = "SELECT count(*) FROM orders o WHERE NOT EXISTS (SELECT 1 FROM outbox \
                       x WHERE x.aggregate_type = 'order' AND x.aggregate_id = o.id)";
    assert_eq!(number(&c, unannounced).await, 0);
    let left = number(
        &c,
        &format!("SELECT stock_milli FROM listings WHERE id = {apples}"),
    )
    .await;
    let taken = number(
        &c,
        &format!(
            "SELECT COALESCE(SUM(quantity_milli), 0) FROM order_lines WHERE listing_id = {apples}"
        ),
    )
    .await;
    assert_eq!(left + taken, stock, "stock and orders disagree in the copy");

    // Never over a database a server uses.
    let refused = qudao(app.dir()).arg("restore").arg(&copy).output().unwrap();
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("server is using"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );

    // Into a new place, the copy comes back whole.
    let fresh = tempfile::tempdir().unwrap();
    let restored = qudao(fresh.path())
        .arg("restore")
        .arg(&copy)
        .output()
        .unwrap();
    assert!(
        restored.status.success(),
        "{}",
        String::from_utf8_lossy(&restored.stderr)
    );
    let r = Database::connect(format!(
        "sqlite://{}?mode=ro",
        fresh.path().join("qudao.db").display()
    ))
    .await
    .unwrap();
    assert_eq!(number(&r, "SELECT count(*) FROM orders").await, orders);
}

#[tokio::test]
async fn a_file_that_is_not_a_qudao_backup_is_not_restored() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, "not a database").unwrap();
    let out = qudao(dir.path())
        .arg("restore")
        .arg(&junk)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        !dir.path().join("qudao.db").exists(),
        "nothing was put in place"
    );
}

#[tokio::test]
async fn on_postgresql_backup_points_to_pg_dump() {
    let dir = tempfile::tempdir().unwrap();
    let out = qudao(dir.path())
        .env("QUDAO_DATABASE_URL", "postgres://qudao@127.0.0.1:1/qudao")
        .arg("backup")
        .arg(dir.path().join("b.dump"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("pg_dump") && said.contains("pg_restore"),
        "{said}"
    );
}
