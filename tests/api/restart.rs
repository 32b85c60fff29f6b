//! PostgreSQL restarted while buyers are checking out: the requests caught in the outage get
//! a quick 503 they can retry, nothing is half-written, and qudao carries on by itself.
//!
//! The test runs a PostgreSQL server of its own (`initdb`, `pg_ctl`), so that stopping it
//! disturbs no other test.

use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use sea_orm::{ConnectionTrait, Database, Statement};
use serde_json::json;

use crate::helpers::{TestApp, free_port, qudao_on, served, spawn_serve};

/// Where PostgreSQL's server programs are, if they are installed.
fn postgres_bin() -> Option<PathBuf> {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("initdb").exists() && p.join("pg_ctl").exists())
        .collect();
    versions.sort();
    versions.pop()
}

/// A PostgreSQL cluster of the test's own, run by the `postgres` account when the tests
/// run as root (PostgreSQL refuses to run as root).
struct Cluster {
    bin: PathBuf,
    data: PathBuf,
    port: u16,
    as_root: bool,
    _dir: tempfile::TempDir,
}

impl Cluster {
    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        if self.as_root {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            Command::new(path)
        }
    }

    fn create(bin: PathBuf) -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        let as_root = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
        if as_root {
            let ok = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path())
                .status()
                .unwrap();
            assert!(ok.success(), "chown of the cluster's directory");
        }
        let cluster = Cluster {
            bin,
            data: dir.path().join("data"),
            port: free_port(),
            as_root,
            _dir: dir,
        };
        let out = cluster
            .command("initdb")
            .args(["-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"])
            .arg("-D")
            .arg(&cluster.data)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        cluster.start();
        cluster
    }

    fn pg_ctl(&self, args: &[&str]) {
        let sockets = self.data.parent().unwrap();
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            sockets.display()
        );
        let out = self
            .command("pg_ctl")
            .arg("-D")
            .arg(&self.data)
            .args(["-o", &options, "-l"])
            .arg(sockets.join("log"))
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "pg_ctl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn start(&self) {
        self.pg_ctl(&["-w", "start"]);
    }

    fn stop(&self) {
        self.pg_ctl(&["-w", "-m", "fast", "stop"]);
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self
            .command("pg_ctl")
            .arg("-D")
            .arg(&self.data)
            .args(["-m", "immediate", "stop"])
            .output();
    }
}

/// What one request got, and how long it took.
#[derive(Debug, Clone)]
struct Answer {
    status: StatusCode,
    code: String,
    took: Duration,
    at: Instant,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgresql_restart_under_load_gives_quick_503s_and_nothing_half_written() {
    let Some(bin) = postgres_bin() else {
        eprintln!(
            "skipped: PostgreSQL's server programs (initdb, pg_ctl) are not installed under /usr/lib/postgresql"
        );
        return;
    };
    let cluster = Cluster::create(bin);
    let dir = tempfile::tempdir().unwrap();
    let server = served(spawn_serve(
        qudao_on(&cluster.url(), dir.path())
            .env_remove("QUDAO_MEILI_URL")
            // Each buyer checks out without pause and then retries every key at once: a few
            // hundred checkouts a minute per account, which the rate limits would refuse.
            .env("QUDAO_RATE_LIMITS", "false"),
    ));
    let db = Database::connect(cluster.url()).await.unwrap();
    let app = Arc::new(TestApp::attach(server.url.clone(), db.clone()));

    let (_, listing) = app.panshi_sells_rice("100000").await;
    let buyers = app.new_buyers(4).await;

    // Four buyers check out and browse without pause, each checkout under its own key.
    let answers: Arc<Mutex<Vec<Answer>>> = Arc::default();
    let keys: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut load = Vec::new();
    for (b, token) in buyers.iter().enumerate() {
        let (app, token, answers, keys, stop) = (
            app.clone(),
            token.clone(),
            answers.clone(),
            keys.clone(),
            stop.clone(),
        );
        load.push(tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                n += 1;
                let key = format!("restart-{b}-{n}");
                let started = Instant::now();
                let r = if n % 2 == 0 {
                    app.get("/api/v1/listings?per_page=5", None).await
                } else {
                    keys.lock().unwrap().push((token.clone(), key.clone()));
                    app.checkout(
                        &token,
                        &key,
                        json!([{"listing_id": listing, "quantity": "1"}]),
                    )
                    .await
                };
                answers.lock().unwrap().push(Answer {
                    status: r.status,
                    code: r.code().to_string(),
                    took: started.elapsed(),
                    at: Instant::now(),
                });
                if r.status == StatusCode::SERVICE_UNAVAILABLE {
                    // As a client honouring the answer's Retry-After would, though sooner.
                    assert_eq!(r.headers["retry-after"], "1");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }));
    }

    tokio::time::sleep(Duration::from_secs(2)).await;
    let cluster = tokio::task::spawn_blocking(move || {
        cluster.stop();
        std::thread::sleep(Duration::from_secs(4));
        cluster.start();
        cluster
    })
    .await
    .unwrap();
    let back = Instant::now();
    tokio::time::sleep(Duration::from_secs(8)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for l in load {
        l.await.unwrap();
    }

    let answers = answers.lock().unwrap().clone();
    let unavailable: Vec<&Answer> = answers
        .iter()
        .filter(|a| a.status == StatusCode::SERVICE_UNAVAILABLE)
        .collect();
    for a in &answers {
        assert!(
            a.status.is_success() || a.code == "database_unavailable",
            "only successes and 503 database_unavailable: {a:?}"
        );
    }
    assert!(
        !unavailable.is_empty(),
        "requests during the outage were answered 503"
    );
    let slowest = unavailable.iter().map(|a| a.took).max().unwrap();
    let longest = answers.iter().map(|a| a.took).max().unwrap();
    eprintln!(
        "{} answers, {} of them 503 during the outage; the slowest 503 took {slowest:?}, the slowest answer {longest:?}",
        answers.len(),
        unavailable.len()
    );

    assert!(
        slowest <= Duration::from_secs(1),
        "a 503 took {slowest:?}: callers should not hang while the database is down"
    );
    assert!(
        unavailable.len() >= 10,
        "once the outage is noticed, requests are refused at once instead of waiting"
    );
    // A few seconds after PostgreSQL is back, everything works again, without a restart.
    let recovered: Vec<&Answer> = answers
        .iter()
        .filter(|a| a.at > back + Duration::from_secs(5))
        .collect();
    assert!(!recovered.is_empty());
    assert!(
        recovered.iter().all(|a| a.status.is_success()),
        "{recovered:?}"
    );

    // Every checkout is retried with its key: each key has exactly one whole order or none.
    let keys = keys.lock().unwrap().clone();
    for (token, key) in &keys {
        let r = app
            .checkout(
                token,
                key,
                json!([{"listing_id": listing, "quantity": "1"}]),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{key}: {}", r.text);
    }
    let one = |sql: &str| {
        let db = db.clone();
        let sql = sql.to_string();
        async move {
            db.query_one_raw(Statement::from_string(db.get_database_backend(), sql))
                .await
                .unwrap()
                .unwrap()
                .try_get_by_index::<i64>(0)
                .unwrap()
        }
    };
    let orders = one(&format!(
        "SELECT count(*) FROM orders o WHERE EXISTS (SELECT 1 FROM order_lines l WHERE l.order_id = o.id AND l.listing_id = {listing})"
    ))
    .await;
    assert_eq!(orders, keys.len() as i64, "one order per key");
    assert_eq!(
        one("SELECT count(*) FROM orders o WHERE NOT EXISTS (SELECT 1 FROM order_lines l WHERE l.order_id = o.id) OR NOT EXISTS (SELECT 1 FROM order_events e WHERE e.order_id = o.id)").await,
        0,
        "no order without its lines and its timeline"
    );
    let sold = one(&format!(
        "SELECT CAST(sum(quantity_milli) AS BIGINT) FROM order_lines WHERE listing_id = {listing}"
    ))
    .await;
    assert_eq!(sold, orders * 1000);
    assert_eq!(
        app.listing_row(listing).await.stock_milli,
        100_000_000 - sold,
        "the stock taken is the stock sold"
    );
    drop(cluster);
}
