//! Several `qudao serve` processes on one PostgreSQL database, as a province runs them
//! behind a load balancer: they start together, share the work of the outbox, never sell
//! what is not there, never offer the same supply twice, and an instance that runs no relay
//! still follows the index and the synonyms the others change.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};
use serde_json::json;

use crate::helpers::{PgDatabase, Served, TestApp, qudao_on, read_until, served, spawn_serve};

/// Starts `n` instances at once on the database `url`, sharing the data directory `dir`
/// (the embedded search index, emails as files), or Meilisearch when the tests have one.
fn start_together(n: usize, url: &str, dir: &Path) -> Vec<Served> {
    start_with(&vec![Vec::new(); n], url, dir)
}

/// Starts one instance per entry of `settings` at once (each with those extra environment
/// settings), as [`start_together`] does.
fn start_with(settings: &[Vec<(&str, &str)>], url: &str, dir: &Path) -> Vec<Served> {
    let index = format!("qudao_processes_{}", uuid::Uuid::new_v4().simple());
    let children: Vec<_> = settings
        .iter()
        .map(|extra| {
            let mut command = qudao_on(url, dir);
            command
                .env(
                    "QUDAO_SECRET",
                    "one-secret-shared-by-every-instance-0123456789",
                )
                .env("QUDAO_MEILI_INDEX", &index)
                .envs(extra.iter().copied());
            spawn_serve(&mut command)
        })
        .collect();
    children.into_iter().map(served).collect()
}

/// The instances of `running`, with one connection to their database for checks.
async fn attached(running: &[Served], url: &str) -> (Vec<TestApp>, DatabaseConnection) {
    let db = Database::connect(url).await.unwrap();
    let apps = running
        .iter()
        .map(|i| TestApp::attach(i.url.clone(), db.clone()))
        .collect();
    (apps, db)
}

async fn count(db: &DatabaseConnection, sql: &str) -> i64 {
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index::<i64>(0).unwrap()
}

/// The sum over every instance of one line of `/metrics`.
async fn summed_metric(instances: &[TestApp], line: &str) -> u64 {
    let mut total = 0;
    for app in instances {
        let text = app.get("/metrics", None).await.text;
        let value = text
            .lines()
            .find_map(|l| l.strip_prefix(line))
            .unwrap_or_else(|| panic!("no {line} in {text}"));
        total += value.trim().parse::<u64>().unwrap();
    }
    total
}

/// Waits until no row of `channel` waits in the outbox.
async fn drained(db: &DatabaseConnection, channel: &str) {
    let started = Instant::now();
    let sql = format!(
        "SELECT count(*) FROM outbox WHERE channel = '{channel}' AND delivered_at IS NULL AND dead_at IS NULL"
    );
    while count(db, &sql).await > 0 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the {channel} outbox did not drain"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The Message-ID header of every email written to `dir`, with how often each was sent.
fn message_ids(dir: &Path) -> BTreeMap<String, usize> {
    let mut seen = BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "eml") {
            let text = std::fs::read_to_string(&path).unwrap();
            let id = text
                .lines()
                .find_map(|l| l.strip_prefix("Message-ID: "))
                .unwrap_or_else(|| panic!("{} has no Message-ID", path.display()))
                .to_string();
            *seen.entry(id).or_insert(0) += 1;
        }
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_on_one_postgresql_share_the_work_without_losing_or_overselling() {
    let Some(pg) = PgDatabase::create().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // Started at the same moment on an empty database: one migrates and loads the demo
    // data, the others wait for it and find it done.
    let running = start_together(3, &pg.url(), dir.path());
    let (apps, db) = attached(&running, &pg.url()).await;
    for app in &apps {
        let r = app.get("/readyz", None).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }
    let organizations = count(&db, "SELECT count(*) FROM organizations").await;
    assert!(organizations > 0, "the demo data is there");
    assert_eq!(
        organizations,
        count(&db, "SELECT count(DISTINCT name) FROM organizations").await,
        "the demo data was loaded once"
    );

    // 盘石村 lists 12 斤 of rice through one instance ...
    // The demo's history (its certificates' notices) was heard when it happened, by nobody's
    // worker.
    let seeded_notices = count(
        &db,
        "SELECT count(*) FROM outbox WHERE channel = 'notify' AND aggregate_type = 'certificate'",
    )
    .await;
    let (panshi, listing) = apps[0].panshi_sells_rice("12").await;

    // ... and 24 canteens try to buy one 斤 each at once, spread over the three.
    let buyers = apps[1].new_buyers(24).await;
    let attempts = buyers.iter().enumerate().map(|(i, token)| {
        let app = &apps[i % apps.len()];
        async move {
            app.checkout(
                token,
                &format!("rice-{i}"),
                json!([{"listing_id": listing, "quantity": "1"}]),
            )
            .await
        }
    });
    let answers = futures_util::future::join_all(attempts).await;
    let sold = answers
        .iter()
        .filter(|r| r.status == StatusCode::CREATED)
        .count();
    for r in &answers {
        assert!(
            r.status == StatusCode::CREATED
                || (r.status == StatusCode::CONFLICT && r.code() == "insufficient_stock"),
            "{} {}",
            r.status,
            r.text
        );
    }
    assert_eq!(sold, 12, "exactly the stock was sold");
    assert_eq!(apps[2].listing_row(listing).await.stock_milli, 0);
    assert_eq!(
        count(
            &db,
            &format!("SELECT CAST(sum(quantity_milli) AS BIGINT) FROM order_lines WHERE listing_id = {listing}")
        )
        .await,
        12_000
    );

    // Listing edits through the other instances.
    let edited = apps[2]
        .patch(
            &format!("/api/v1/listings/{listing}"),
            Some(&panshi),
            json!({"price_fen": 1350, "stock": "30"}),
        )
        .await;
    assert_eq!(edited.status, StatusCode::OK, "{}", edited.text);

    // Every search event reached the one index exactly once, whichever instance took it,
    // and every instance searches the same index.
    drained(&db, "search").await;
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM outbox WHERE channel = 'search' AND attempts > 0"
        )
        .await,
        0,
        "no instance tried to write the index another one holds"
    );
    let search_rows = count(&db, "SELECT count(*) FROM outbox WHERE channel = 'search'").await;
    assert_eq!(
        summed_metric(&apps, "qudao_outbox_delivered_total{channel=\"search\"}").await,
        search_rows as u64,
        "each search event was delivered once"
    );
    for app in &apps {
        let started = Instant::now();
        loop {
            let r = app.get("/api/v1/search?q=贡米", None).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text);
            let hits: Vec<_> = r.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|h| h["id"] == listing)
                .collect();
            if hits.len() == 1 && hits[0]["price_fen"] == 1350 {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "{} does not find the edited listing once: {}",
                app.address,
                r.text
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    // Each order event became its notices once; each email went out at least once, and a
    // second copy would carry the same Message-ID.
    drained(&db, "notify").await;
    let notify_rows = count(&db, "SELECT count(*) FROM outbox WHERE channel = 'notify'").await;
    assert_eq!(
        summed_metric(&apps, "qudao_outbox_delivered_total{channel=\"notify\"}").await,
        (notify_rows - seeded_notices) as u64,
        "each notification event was fanned out once"
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM (SELECT user_id, event_id FROM notifications GROUP BY user_id, event_id HAVING count(*) > 1) twice"
        )
        .await,
        0,
        "nobody got the same notice twice"
    );
    drained(&db, "email").await;
    let email_rows = count(&db, "SELECT count(*) FROM outbox WHERE channel = 'email'").await;
    assert!(
        email_rows >= 12,
        "the producer hears of every order by email"
    );
    let sent = message_ids(&dir.path().join("outbox"));
    assert_eq!(
        sent.len() as i64,
        email_rows,
        "every email went out under its own Message-ID: {sent:?}"
    );
    let copies: usize = sent.values().sum();
    assert_eq!(
        summed_metric(&apps, "qudao_outbox_delivered_total{channel=\"email\"}").await,
        copies as u64
    );
}

/// Rows of a two-column query (a key and a sum).
async fn sums(db: &DatabaseConnection, sql: &str) -> BTreeMap<i64, i64> {
    db.query_all_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap()
        .into_iter()
        .map(|row| {
            (
                row.try_get_by_index::<i64>(0).unwrap(),
                row.try_get_by_index::<i64>(1).unwrap(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn matching_on_three_instances_never_offers_the_same_supply_twice() {
    let Some(pg) = PgDatabase::create().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let running = start_together(3, &pg.url(), dir.path());
    let (apps, db) = attached(&running, &pg.url()).await;

    // 18 t of rice on offer: 10 t from 盘石村 (by the 斤) and 8 t from 孜龙村.
    let (panshi_rice, zilong_rice) = crate::matching::rice_market(&apps[0]).await;
    let panshi = apps[0].login("coop-panshi").await;
    let r = apps[0]
        .patch(
            &format!("/api/v1/listings/{panshi_rice}"),
            Some(&panshi),
            json!({"stock": "20000"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let rice = apps[0].category_id("rice").await;

    // Six canteens want 5 t each (30 t in all), posted through the three instances at the
    // same moment as an admin starts batch runs on each of them.
    let buyers = apps[1].new_buyers(6).await;
    let admin = apps[2].login("admin").await;
    let posts = buyers.iter().enumerate().map(|(i, token)| {
        apps[i % apps.len()].post(
            "/api/v1/purchase-requests",
            Some(token),
            crate::matching::canteen_request(rice, "5"),
        )
    });
    let runs =
        (0..6).map(|i| apps[i % apps.len()].post("/api/v1/matching/runs", Some(&admin), json!({})));
    let (posted, ran) = futures_util::future::join(
        futures_util::future::join_all(posts),
        futures_util::future::join_all(runs),
    )
    .await;
    for r in posted {
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    }
    for r in ran {
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }

    // What is offered of each listing never exceeds its stock ...
    let held = sums(
        &db,
        "SELECT listing_id, CAST(sum(listing_quantity_milli) AS BIGINT) FROM match_proposals \
         WHERE status = 'pending' GROUP BY listing_id",
    )
    .await;
    for listing in [panshi_rice, zilong_rice] {
        let stock = apps[0].listing_row(listing).await.stock_milli;
        let offered = held.get(&listing).copied().unwrap_or(0);
        assert!(
            offered <= stock,
            "listing {listing}: {offered} offered of {stock} in stock: {held:?}"
        );
    }
    // ... nor does what a canteen is offered exceed what it asked for ...
    let asked = sums(&db, "SELECT id, quantity_milli FROM purchase_requests").await;
    let offered = sums(
        &db,
        "SELECT request_id, CAST(sum(quantity_milli) AS BIGINT) FROM match_proposals \
         WHERE status = 'pending' GROUP BY request_id",
    )
    .await;
    for (request, tons) in &offered {
        assert!(
            tons <= &asked[request],
            "request {request} was offered {tons} of {}",
            asked[request]
        );
    }
    // ... and all 18 t on offer went to someone.
    assert_eq!(offered.values().sum::<i64>(), 18_000, "{offered:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_without_a_relay_follows_the_index_and_the_synonyms() {
    let Some(pg) = PgDatabase::create().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let running = start_with(
        &[
            vec![],
            vec![
                ("QUDAO_SEARCH_RELAY", "false"),
                ("QUDAO_NOTIFY_WORKER", "false"),
            ],
        ],
        &pg.url(),
        dir.path(),
    );
    let (apps, _db) = attached(&running, &pg.url()).await;
    let (writer, reader) = (&apps[0], &apps[1]);

    // An admin teaches the first instance a word for potatoes that nobody searched before;
    // a listing edit goes through it too.
    let q = "/api/v1/search?q=洋坨坨";
    let started = Instant::now();
    loop {
        // The demo listings reach the index through the first instance's relay.
        let r = reader.get("/api/v1/search?q=洋芋", None).await;
        if r.status == StatusCode::OK && r.body["total"] == 1 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the demo listings were not indexed: {} {}",
            r.status,
            r.text
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let unknown = reader.get(q, None).await;
    assert_eq!(unknown.body["total"], 0, "{}", unknown.text);
    let admin = writer.login("admin").await;
    let potato = writer.category_id("potato").await;
    let r = writer.add_alias(&admin, potato, "洋坨坨").await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let (panshi, listing) = writer.panshi_sells_rice("12").await;
    let r = writer
        .patch(
            &format!("/api/v1/listings/{listing}"),
            Some(&panshi),
            json!({"price_fen": 1350}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);

    // The instance without a relay finds both without a restart.
    let started = Instant::now();
    loop {
        let potatoes = reader.get(q, None).await;
        assert_eq!(potatoes.status, StatusCode::OK, "{}", potatoes.text);
        let rice = reader.get("/api/v1/search?q=贡米", None).await;
        let repriced = rice.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["id"] == listing && h["price_fen"] == 1350);
        if potatoes.body["total"] == 1 && repriced {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the instance without a relay did not follow: {} / {}",
            potatoes.text,
            rice.text
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_guesser_gains_nothing_by_spreading_tries_across_instances() {
    let Some(pg) = PgDatabase::create().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let running = start_together(2, &pg.url(), dir.path());
    let (apps, db) = attached(&running, &pg.url()).await;
    guesses_count_together(&apps).await;
    // Both instances counted in the one table the database keeps.
    let cells = count(&db, "SELECT count(*) FROM throttle_cells").await;
    assert!(cells >= 2, "{cells} cells");
}

/// The same across two instances whose cells live in Redis (`QUDAO_REDIS_URL`); the
/// database keeps none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_sharing_redis_count_every_guess_together() {
    let Some((redis_url, mut redis)) = crate::helpers::redis_database(15).await else {
        return;
    };
    let Some(pg) = PgDatabase::create().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let with_redis = vec![("QUDAO_REDIS_URL", redis_url.as_str())];
    let running = start_with(&[with_redis.clone(), with_redis], &pg.url(), dir.path());
    let (apps, db) = attached(&running, &pg.url()).await;
    guesses_count_together(&apps).await;
    assert_eq!(count(&db, "SELECT count(*) FROM throttle_cells").await, 0);
    let cells = crate::helpers::redis_keys(&mut redis, "qudao:throttle:*").await;
    assert!(cells.len() >= 2, "{cells:?}");
}

/// Every wrong password goes to the first instance, each from another address; the next
/// one, sent to the second, is refused there: they count together. Other accounts sign in
/// on either as usual.
async fn guesses_count_together(apps: &[TestApp]) {
    let (tries, _) = qudao::throttle::Kind::SignInAccount.allowance();
    for i in 0..tries {
        let r = guess(&apps[0], "buyer", "guess-one", format!("198.51.100.{i}")).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "guess {i}: {}", r.text);
    }
    let r = guess(&apps[1], "buyer", "guess-one", "198.51.100.99".into()).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text);
    assert_eq!(r.code(), "rate_limited");
    assert!(r.headers.contains_key("retry-after"));
    for app in apps {
        let r = guess(
            app,
            "coop-panshi",
            crate::helpers::PASSWORD,
            "203.0.113.7".into(),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }
}

/// Signs in at `app` as the load balancer reports `from`.
async fn guess(
    app: &TestApp,
    username: &str,
    password: &str,
    from: String,
) -> crate::helpers::Reply {
    app.call_with(
        reqwest::Method::POST,
        "/api/v1/auth/login",
        None,
        Some(json!({"username": username, "password": password})),
        &[("x-forwarded-for", from.as_str())],
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notice_written_by_one_instance_reaches_a_stream_open_on_another() {
    let Some(pg) = PgDatabase::create().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // Only the first instance runs the notification worker; the page is open on the second.
    let running = start_with(
        &[vec![], vec![("QUDAO_NOTIFY_WORKER", "false")]],
        &pg.url(),
        dir.path(),
    );
    let (apps, _db) = attached(&running, &pg.url()).await;
    let (panshi, listing) = apps[0].panshi_sells_rice("12").await;
    let mut stream = apps[1]
        .client
        .get(format!("{}/api/v1/notifications/stream", apps[1].address))
        .bearer_auth(&panshi)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), StatusCode::OK);
    let mut seen = String::new();
    read_until(&mut stream, "event: unread", &mut seen).await;

    // A canteen orders through the first instance, whose worker writes the notice.
    let buyer = apps[0].new_buyers(1).await.remove(0);
    let r = apps[0]
        .checkout(
            &buyer,
            "live-across",
            json!([{"listing_id": listing, "quantity": "2"}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let order = r.body["orders"][0]["id"].as_i64().unwrap();
    read_until(&mut stream, "event: notification", &mut seen).await;
    let notice = seen
        .lines()
        .skip_while(|l| *l != "event: notification")
        .find_map(|l| l.strip_prefix("data: "))
        .unwrap();
    let notice: serde_json::Value = serde_json::from_str(notice).unwrap();
    assert_eq!(notice["topic"], "order.placed", "{notice}");
    assert!(
        notice["title"]
            .as_str()
            .unwrap()
            .contains(&format!("#{order}")),
        "{notice}"
    );
}
