//! Starting the real application on a random port against a fresh database.

use qudao::Settings;
use qudao::accounts::entity::user;
use qudao::catalog::entity::{category, category_alias, household, listing, organization};
use qudao::outbox::entity as outbox;
use reqwest::{Method, StatusCode};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, EntityTrait, QueryOrder, Statement};
use serde_json::Value;
use tokio::sync::oneshot;

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs an `async fn(Backend)` test once on SQLite and once on PostgreSQL.
#[macro_export]
macro_rules! on_both_databases {
    ($($name:ident),+ $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::helpers::Backend::Sqlite).await
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$name($crate::helpers::Backend::Postgres).await
                }
            }
        )+
    };
}

/// A TCP port nothing listens on at the moment, for a server a test starts.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Runs `work` to its end on a thread of its own, for clean-up in `Drop`, where the test's
/// runtime cannot be awaited.
pub fn finish_aside<F: std::future::Future<Output = ()> + Send + 'static>(work: F) {
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(work);
    })
    .join()
    .ok();
}

/// The demo password every demo account shares in tests.
pub const PASSWORD: &str = "qudao-demo";

/// A running qudao with its own database.
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub db: DatabaseConnection,
    /// The server's bell: a worker the test drives rings it for the notices it writes.
    pub bell: std::sync::Arc<qudao::notify::bell::Bell>,
    stop: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    dir: Option<tempfile::TempDir>,
    pg: Option<(String, String)>,
}

/// A database prepared once (migrated, seeded, logged in, with fixtures) and copied for each
/// app that needs the same starting point: much cheaper than building it again.
pub struct Template {
    backend: Backend,
    dir: tempfile::TempDir,
    pg: Option<(String, String)>,
}

impl Drop for Template {
    fn drop(&mut self) {
        if let Some((admin_url, name)) = self.pg.take() {
            drop_database(admin_url, name);
        }
    }
}

fn drop_database(admin_url: String, name: String) {
    // Drops run outside async context; use a thread with its own runtime.
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            if let Ok(admin) = Database::connect(&admin_url).await {
                admin
                    .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await
                    .ok();
                admin.close().await.ok();
            }
        });
    })
    .join()
    .ok();
}

async fn create_database(admin_url: &str, name: &str, template: Option<&str>) {
    let admin = Database::connect(admin_url)
        .await
        .expect("connecting to QUDAO_TEST_POSTGRES_URL");
    let from = template
        .map(|t| format!(" TEMPLATE {t}"))
        .unwrap_or_default();
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}{from}"))
        .await
        .expect("creating the test database");
    admin.close().await.ok();
}

impl TestApp {
    /// Stops the app and keeps its database as a template for [`spawn_copy`].
    pub async fn into_template(mut self, backend: Backend) -> Template {
        if let Some(stop) = self.stop.take() {
            stop.send(()).ok();
        }
        if let Some(server) = self.server.take() {
            server.await.ok();
        }
        self.db.clone().close().await.ok();
        Template {
            backend,
            dir: self.dir.take().expect("a data dir"),
            pg: self.pg.take(),
        }
    }
}

/// Starts an app on a fresh copy of `template`.
pub async fn spawn_copy(template: &Template) -> TestApp {
    let (dir, pg) = match template.backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().expect("temp dir");
            for file in ["qudao.db", "qudao.db-wal", "qudao.db-shm"] {
                let from = template.dir.path().join(file);
                if from.exists() {
                    std::fs::copy(&from, dir.path().join(file))
                        .expect("copying the template database");
                }
            }
            (dir, None)
        }
        Backend::Postgres => {
            let (admin_url, tpl) = template.pg.as_ref().expect("a PostgreSQL template");
            let name = format!("qudao_test_{}", uuid::Uuid::new_v4().simple());
            create_database(admin_url, &name, Some(tpl)).await;
            (
                tempfile::tempdir().expect("temp dir"),
                Some((admin_url.clone(), name)),
            )
        }
    };
    start(dir, pg, |_| {}).await
}

/// A response, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Reply {
    /// The stable error code, if the body is an error.
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }

    /// The error's field names.
    pub fn fields(&self) -> Vec<String> {
        self.body["error"]["fields"]
            .as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default()
    }
}

/// A Redis database of a test's own (`number`, 1 to 15; each test that uses Redis takes
/// another), emptied, with its URL; `None` (saying why) when Redis is not configured.
pub async fn redis_database(number: u8) -> Option<(String, redis::aio::MultiplexedConnection)> {
    let Ok(base) = std::env::var("QUDAO_TEST_REDIS_URL") else {
        eprintln!("skipped: QUDAO_TEST_REDIS_URL is not set, so this test did not run with Redis");
        return None;
    };
    let url = format!("{}/{number}", base.trim_end_matches('/'));
    let client = redis::Client::open(url.as_str()).expect("a Redis URL");
    let mut con = client
        .get_multiplexed_async_connection()
        .await
        .expect("Redis at QUDAO_TEST_REDIS_URL answers");
    let _: () = redis::cmd("FLUSHDB")
        .query_async(&mut con)
        .await
        .expect("FLUSHDB");
    Some((url, con))
}

/// The keys of a test's Redis database that match `pattern`, with their time to live in ms.
pub async fn redis_keys(
    con: &mut redis::aio::MultiplexedConnection,
    pattern: &str,
) -> Vec<(String, i64)> {
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(pattern)
        .query_async(con)
        .await
        .expect("KEYS");
    let mut out = Vec::new();
    for k in keys {
        let ttl: i64 = redis::cmd("PTTL")
            .arg(&k)
            .query_async(con)
            .await
            .expect("PTTL");
        out.push((k, ttl));
    }
    out
}

/// An empty PostgreSQL database of a test's own, dropped at the end.
pub struct PgDatabase {
    pub admin_url: String,
    pub name: String,
}

impl PgDatabase {
    /// A new database, or `None` (saying why) when PostgreSQL is not configured.
    pub async fn create() -> Option<PgDatabase> {
        let Ok(admin_url) = std::env::var("QUDAO_TEST_POSTGRES_URL") else {
            eprintln!(
                "skipped: QUDAO_TEST_POSTGRES_URL is not set, so this test did not run on PostgreSQL"
            );
            return None;
        };
        let name = format!("qudao_test_{}", uuid::Uuid::new_v4().simple());
        create_database(&admin_url, &name, None).await;
        Some(PgDatabase { admin_url, name })
    }

    /// The URL of this database.
    pub fn url(&self) -> String {
        with_database(&self.admin_url, &self.name)
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        drop_database(self.admin_url.clone(), self.name.clone());
    }
}

/// The `qudao` binary the tests run as an operator would.
pub const BIN: &str = env!("CARGO_BIN_EXE_qudao");

/// Reads a server's output up to the line saying where it runs; returns that URL.
pub fn served_url(out: &mut impl std::io::BufRead) -> String {
    let mut line = String::new();
    while !line.contains("running at ") {
        line.clear();
        assert!(out.read_line(&mut line).unwrap() > 0, "the URL is printed");
    }
    line.split("running at ").nth(1).unwrap().trim().to_string()
}

/// The `qudao` binary working in the data directory `dir`, logging warnings only, without
/// the tests' own `QUDAO_DATABASE_URL`, `QUDAO_LISTEN`, `QUDAO_DEMO` or `QUDAO_SMTP_URL`, and
/// without the demo's past year (tests that want it ask for it).
pub fn qudao(dir: &std::path::Path) -> std::process::Command {
    let mut c = std::process::Command::new(BIN);
    c.env_remove("QUDAO_DATABASE_URL")
        .env_remove("QUDAO_LISTEN")
        .env_remove("QUDAO_DEMO")
        .env_remove("QUDAO_SMTP_URL")
        .env("QUDAO_DEMO_HISTORY", "false")
        .env("QUDAO_DATA_DIR", dir)
        .env("QUDAO_LOG", "warn")
        .current_dir(dir);
    c
}

/// [`qudao`] on the database `database_url`, loading the demo market into it if it is empty.
pub fn qudao_on(database_url: &str, dir: &std::path::Path) -> std::process::Command {
    let mut c = qudao(dir);
    c.env("QUDAO_DATABASE_URL", database_url)
        .env("QUDAO_DEMO", "true")
        .env("QUDAO_DEMO_PASSWORD", PASSWORD);
    c
}

/// Starts `qudao serve` on a free loopback port with `command`'s settings, its output piped
/// (read it with [`served_url`], or hand the process to [`served`]).
pub fn spawn_serve(command: &mut std::process::Command) -> std::process::Child {
    command
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("QUDAO_TRUST_FORWARDED_FOR", "true")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("starting qudao serve")
}

/// A `qudao serve` process and where it answers; killed when dropped.
pub struct Served {
    child: std::process::Child,
    pub url: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

/// Waits until a process from [`spawn_serve`] says where it runs; the rest of what it prints
/// is read and dropped, so that it never writes to a closed pipe.
pub fn served(mut child: std::process::Child) -> Served {
    let mut out = std::io::BufReader::new(child.stdout.take().expect("piped stdout"));
    let url = served_url(&mut out);
    std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
    Served { child, url }
}

/// Starts the app on `backend`, or returns `None` (saying why) when PostgreSQL is not configured.
pub async fn spawn_app(backend: Backend) -> Option<TestApp> {
    spawn_app_with(backend, |_| {}).await
}

/// Like [`spawn_app`], with a chance to adjust the settings.
pub async fn spawn_app_with(
    backend: Backend,
    adjust: impl FnOnce(&mut Settings),
) -> Option<TestApp> {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut pg = None;
    if backend == Backend::Postgres {
        // The app owns the database from here and drops it with itself.
        let db = std::mem::ManuallyDrop::new(PgDatabase::create().await?);
        pg = Some((db.admin_url.clone(), db.name.clone()));
    }
    Some(start(dir, pg, adjust).await)
}

async fn start(
    dir: tempfile::TempDir,
    pg: Option<(String, String)>,
    adjust: impl FnOnce(&mut Settings),
) -> TestApp {
    let mut settings = Settings::embedded(dir.path());
    settings.listen = "127.0.0.1:0".into();
    settings.demo_password = PASSWORD.into();
    // Tests count what they do themselves; the demo's past year is tested on its own.
    settings.demo_history = false;
    // The search relay updates outbox rows in the background; tests that need it turn it on.
    settings.search_relay = false;
    // Tests drive the notification worker themselves, one pass at a time, and project the
    // statistics when they read them.
    settings.notify_worker = false;
    settings.stats_projector = false;
    // Tests stand for many people behind a load balancer by sending `x-forwarded-for`.
    settings.trust_forwarded_for = true;
    if let Some((admin_url, name)) = &pg {
        settings.database_url = with_database(admin_url, name);
    }
    adjust(&mut settings);
    let app = qudao::Application::build(settings)
        .await
        .expect("building the app");
    let address = app.url();
    let db = app.state().db.clone();
    let bell = app.state().bell.clone();
    let (tx, rx) = oneshot::channel();
    let server = tokio::spawn(app.run_until(async {
        rx.await.ok();
    }));
    let mut test_app = TestApp::attach(address, db);
    test_app.bell = bell;
    test_app.stop = Some(tx);
    test_app.server = Some(server);
    test_app.dir = Some(dir);
    test_app.pg = pg;
    test_app
}

/// The same server URL with another database name.
pub fn with_database(url: &str, name: &str) -> String {
    let (base, _query) = url.split_once('?').unwrap_or((url, ""));
    let slash = base.rfind('/').expect("a database URL has a path");
    format!("{}/{name}", &base[..slash])
}

impl TestApp {
    /// Runs the statistics' projector until every order change is booked, as the server's
    /// own projector does in the background.
    pub async fn project(&self) {
        let projector = qudao::stats::projector::Projector::new(self.db.clone());
        while projector
            .run_once()
            .await
            .expect("projecting the statistics")
            > 0
        {}
    }

    /// A client of a server running elsewhere (another process) on the database `db`.
    pub fn attach(address: String, db: DatabaseConnection) -> TestApp {
        TestApp {
            address,
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            db,
            bell: Default::default(),
            stop: None,
            server: None,
            dir: None,
            pg: None,
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            stop.send(()).ok();
        }
        // A test that passed must not leave outbox rows that no consumer can read.
        let unexplained = match self.database_url() {
            Some(url) if !std::thread::panicking() => unexplained_outbox_rows(url),
            _ => Vec::new(),
        };
        if let Some((admin_url, name)) = self.pg.take() {
            drop_database(admin_url, name);
        }
        assert!(
            unexplained.is_empty(),
            "the test left outbox rows that no channel's consumer can read:\n{}",
            unexplained.join("\n")
        );
    }
}

impl TestApp {
    /// The URL of the app's own database, when this test started the app.
    pub fn database_url(&self) -> Option<String> {
        match (&self.dir, &self.pg) {
            (_, Some((admin_url, name))) => Some(with_database(admin_url, name)),
            (Some(dir), None) => Some(format!(
                "sqlite://{}?mode=ro",
                dir.path().join("qudao.db").display()
            )),
            (None, None) => None,
        }
    }
}

/// The outbox rows of the database at `url` that do not read as an event of their channel,
/// each with the reason. Runs outside the test's runtime, as drops do.
pub fn unexplained_outbox_rows(url: String) -> Vec<String> {
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let db = Database::connect(&url)
                .await
                .expect("reading the test database's outbox");
            let rows = outbox::Entity::find()
                .all(&db)
                .await
                .expect("reading the outbox");
            db.close().await.ok();
            rows.iter()
                .filter_map(|row| qudao::outbox::events::check(row).err())
                .map(|e| e.to_string())
                .collect()
        })
    })
    .join()
    .expect("the outbox check's thread")
}

impl TestApp {
    /// Sends a request with an optional bearer token and JSON body.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        self.call_with(method, path, token, body, &[]).await
    }

    /// Like [`TestApp::call`], with extra headers.
    pub async fn call_with(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut req = self
            .client
            .request(method, format!("{}{path}", self.address));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        read(req.send().await.expect("request sent")).await
    }

    /// Sends raw bytes with a content type.
    pub async fn call_raw(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        content_type: &str,
        body: Vec<u8>,
    ) -> Reply {
        let mut req = self
            .client
            .request(method, format!("{}{path}", self.address))
            .header("content-type", content_type)
            .body(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        read(req.send().await.expect("request sent")).await
    }

    /// The app's data directory (embedded database, search index, outbox).
    pub fn dir(&self) -> &std::path::Path {
        self.dir.as_ref().expect("the app is running").path()
    }

    /// The administrator's URL and the name of the app's own PostgreSQL database.
    pub fn postgres(&self) -> Option<(&str, &str)> {
        self.pg
            .as_ref()
            .map(|(url, name)| (url.as_str(), name.as_str()))
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        self.call(Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Reply {
        self.call(Method::POST, path, token, Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: Option<&str>, body: Value) -> Reply {
        self.call(Method::PATCH, path, token, Some(body)).await
    }

    /// Logs a user in and returns the bearer token.
    pub async fn login(&self, username: &str) -> String {
        self.login_with(username, PASSWORD).await
    }

    /// Logs in with a given password; panics unless it succeeds.
    pub async fn login_with(&self, username: &str, password: &str) -> String {
        self.login_from(username, password, &[]).await
    }

    /// Logs in with extra headers (such as the `x-forwarded-for` of one of many people).
    pub async fn login_from(
        &self,
        username: &str,
        password: &str,
        headers: &[(&str, &str)],
    ) -> String {
        let r = self
            .call_with(
                Method::POST,
                "/api/v1/auth/login",
                None,
                Some(serde_json::json!({"username": username, "password": password})),
                headers,
            )
            .await;
        assert_eq!(
            r.status,
            StatusCode::OK,
            "login of {username} failed: {}",
            r.text
        );
        r.body["token"].as_str().expect("token").to_string()
    }

    /// 盘石村 lists 盘石村高山贡米 with `stock` 斤 on sale, sold by the 斤: its token and the
    /// listing's id.
    pub async fn panshi_sells_rice(&self, stock: &str) -> (String, i64) {
        let panshi = self.login("coop-panshi").await;
        let rice = self.category_id("rice").await;
        let listed = self
            .post(
                "/api/v1/listings",
                Some(&panshi),
                serde_json::json!({"category_id": rice, "title": "盘石村高山贡米", "unit": "jin", "price_fen": 1200, "stock": stock, "min_order": "1"}),
            )
            .await;
        assert_eq!(listed.status, StatusCode::CREATED, "{}", listed.text);
        (panshi, listed.body["id"].as_i64().unwrap())
    }

    /// 盘石村's demo rice, put on sale all year (so that matching finds it in any month): the
    /// cooperative's token and the listing's id.
    pub async fn panshi_rice_all_year(&self) -> (String, i64) {
        let panshi = self.login("coop-panshi").await;
        let org = self.organization_of(&panshi).await;
        let rice = self.category_id("rice").await;
        let mut panshi_rice = 0;
        for id in self.listings_of(org).await {
            if self.listing_row(id).await.category_id == rice {
                panshi_rice = id;
            }
        }
        let r = self
            .patch(
                &format!("/api/v1/listings/{panshi_rice}"),
                Some(&panshi),
                serde_json::json!({"season_start": null, "season_end": null}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        (panshi, panshi_rice)
    }

    /// 盘石村 (coop-panshi) lists rice by the 斤: the answer to its `POST /api/v1/listings`.
    pub async fn panshi_lists_rice(&self, title: &str, price_fen: i64) -> Reply {
        let panshi = self.login("coop-panshi").await;
        let rice = self.category_id("rice").await;
        self.post(
            "/api/v1/listings",
            Some(&panshi),
            serde_json::json!({"category_id": rice, "title": title, "unit": "jin", "price_fen": price_fen, "stock": "100"}),
        )
        .await
    }

    /// An admin teaches search another name for a category: `POST /api/v1/categories/{id}/aliases`.
    pub async fn add_alias(&self, admin: &str, category: i64, alias: &str) -> Reply {
        self.post(
            &format!("/api/v1/categories/{category}/aliases"),
            Some(admin),
            serde_json::json!({ "alias": alias }),
        )
        .await
    }

    pub async fn category_id(&self, slug: &str) -> i64 {
        let r = self.get("/api/v1/categories", None).await;
        r.body
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["slug"] == slug)
            .unwrap_or_else(|| panic!("no category {slug}"))["id"]
            .as_i64()
            .unwrap()
    }

    /// The organization id of a producer account.
    pub async fn organization_of(&self, token: &str) -> i64 {
        self.get("/api/v1/auth/me", Some(token)).await.body["organization_id"]
            .as_i64()
            .expect("producer has an organization")
    }

    /// The ids of the listings of an organization, newest first (as the public sees them).
    pub async fn listings_of(&self, org: i64) -> Vec<i64> {
        let r = self
            .get(
                &format!("/api/v1/listings?organization_id={org}&per_page=100"),
                None,
            )
            .await;
        r.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["id"].as_i64().unwrap())
            .collect()
    }

    /// Checks out `lines` for a buyer with an idempotency key.
    pub async fn checkout(&self, token: &str, key: &str, lines: Value) -> Reply {
        let body = serde_json::json!({
            "address": {"recipient_name": "王师傅", "phone": "028-86630890", "region_code": "510104", "line": "成都市锦江区红星路二段 70 号职工食堂"},
            "lines": lines,
        });
        self.call_with(
            Method::POST,
            "/api/v1/checkout",
            Some(token),
            Some(body),
            &[("idempotency-key", key)],
        )
        .await
    }

    /// Registers and logs in `n` new buyers, returning their tokens.
    pub async fn new_buyers(&self, n: usize) -> Vec<String> {
        let mut tokens = Vec::new();
        for i in 0..n {
            let name = format!("canteen-{i}");
            // Each canteen from an address of its own, as the load balancer would report it.
            let address = format!("198.51.{}.{}", 100 + i / 250, i % 250 + 1);
            let from = [("x-forwarded-for", address.as_str())];
            let r = self
                .call_with(Method::POST, "/api/v1/auth/register", None, Some(serde_json::json!({"username": name, "password": "成都食堂采购专用", "display_name": format!("食堂 {i}")})), &from)
                .await;
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
            tokens.push(self.login_from(&name, "成都食堂采购专用", &from).await);
        }
        tokens
    }

    /// A listing's stored row.
    pub async fn listing_row(&self, id: i64) -> listing::Model {
        listing::Entity::find_by_id(id)
            .one(&self.db)
            .await
            .unwrap()
            .unwrap()
    }

    /// Moves an order along as `fate` says, through the same lifecycle the API uses.
    pub async fn advance(&self, id: i64, fate: &str) {
        use qudao::orders::domain::{Action, Party};
        use qudao::orders::lifecycle::{self, Details};
        use sea_orm::{ColumnTrait, QueryFilter};
        let steps: &[(Action, Party)] = match fate {
            "confirm" => &[(Action::Confirm, Party::Seller)],
            "cancel" => &[(Action::BuyerCancel, Party::Buyer)],
            "seller_cancel" => &[
                (Action::Confirm, Party::Seller),
                (Action::SellerCancel, Party::Seller),
            ],
            "complete" => &[
                (Action::Confirm, Party::Seller),
                (Action::Ship, Party::Seller),
                (Action::Receive, Party::Buyer),
                (Action::Complete, Party::Buyer),
            ],
            "refund" => &[
                (Action::Confirm, Party::Seller),
                (Action::Ship, Party::Seller),
                (Action::Dispute, Party::Buyer),
                (Action::ResolveRefund, Party::Admin),
            ],
            "short" => &[
                (Action::Confirm, Party::Seller),
                (Action::Ship, Party::Seller),
                (Action::Receive, Party::Buyer),
                (Action::Complete, Party::Buyer),
            ],
            "short_refund" => &[
                (Action::Confirm, Party::Seller),
                (Action::Ship, Party::Seller),
                (Action::Receive, Party::Buyer),
                (Action::Dispute, Party::Buyer),
                (Action::ResolveRefund, Party::Admin),
            ],
            _ => &[],
        };
        // Delivered short: the first line ships two thirds and a tenth of that is lost on the
        // way (both rounded down to the thousandth).
        let first = qudao::orders::entity::order_line::Entity::find()
            .filter(qudao::orders::entity::order_line::Column::OrderId.eq(id))
            .order_by_asc(qudao::orders::entity::order_line::Column::Id)
            .one(&self.db)
            .await
            .unwrap()
            .expect("an order has a line");
        let shipped = first.quantity_milli * 2 / 3;
        let part = |milli: i64| {
            vec![qudao::orders::short::LineQuantity {
                line_id: first.id,
                quantity: qudao::catalog::domain::Quantity::from_milli(milli),
            }]
        };
        for (action, party) in steps {
            let txn = qudao::db::write_txn(&self.db).await.unwrap();
            let lines = match (fate.starts_with("short"), action) {
                (true, Action::Ship) => part(shipped),
                (true, Action::Receive) => part(shipped - shipped / 10),
                _ => Vec::new(),
            };
            let details = Details {
                reason: "test".into(),
                carrier: Some("中国邮政".into()),
                tracking_number: Some("EMS1".into()),
                lines,
                ..Default::default()
            };
            if *action == Action::Complete {
                self.invoice_if_needed(&txn, id).await;
            }
            lifecycle::act(&txn, id, *action, *party, None, details)
                .await
                .unwrap_or_else(|e| panic!("{action:?} on order {id}: {e}"));
            txn.commit().await.unwrap();
        }
    }

    /// Whether the audit log, as an admin reads it, holds `action` on `target_id`.
    pub async fn audited(&self, action: &str, target_id: impl std::fmt::Display) -> bool {
        let admin = self.login("admin").await;
        let log = self
            .get(
                &format!("/api/v1/admin/audit-log?action={action}&per_page=100"),
                Some(&admin),
            )
            .await;
        assert_eq!(log.status, StatusCode::OK, "{}", log.text);
        let target = target_id.to_string();
        log.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["target_id"].as_str() == Some(target.as_str()))
    }

    /// Records the invoice a budget unit's purchase needs before it is completed, as the
    /// platform's admin does for a seller.
    async fn invoice_if_needed(&self, txn: &impl sea_orm::ConnectionTrait, id: i64) {
        use qudao::orders::entity::order;
        use qudao::orders::invoices::{self, InvoiceRequest};
        use sea_orm::{ColumnTrait, QueryFilter};
        let o = order::Entity::find_by_id(id)
            .one(txn)
            .await
            .unwrap()
            .unwrap();
        if !invoices::needs_invoice(txn, &o).await.unwrap() {
            return;
        }
        let admin = qudao::accounts::entity::user::Entity::find()
            .filter(qudao::accounts::entity::user::Column::Username.eq("admin"))
            .one(txn)
            .await
            .unwrap()
            .unwrap();
        let admin = qudao::accounts::Actor {
            role: admin.role,
            user: admin,
            credential: qudao::accounts::role::Credential::Token { id: 0 },
        };
        let req = InvoiceRequest {
            kind: "plain".into(),
            number: format!("{:020}", 25_510_000_000_000_000 + id),
            amount_fen: o.total_fen,
            issued_on: qudao::days::local_date(chrono::Utc::now()).to_string(),
        };
        invoices::record(txn, &admin, id, &req, chrono::Utc::now())
            .await
            .unwrap_or_else(|e| panic!("the invoice of order {id}: {e}"));
    }

    /// Every row of the month aggregates, in key order, without ids.
    pub async fn aggregate_rows(&self) -> Vec<String> {
        let tables = [
            (
                "stats_month_sums",
                "kind, region_code, category_id, unit, month",
                &[
                    "province_code",
                    "prefecture_code",
                    "county_code",
                    "township_code",
                    "village_code",
                ][..],
                &[
                    "category_id",
                    "month",
                    "sales_fen",
                    "adjustment_fen",
                    "household_fen",
                    "quantity_milli",
                    "orders",
                    "category_orders",
                ][..],
            ),
            (
                "stats_period_members",
                "kind, level, region_code, split, grain, period, category_id, member_type, member_id",
                &["member_type"][..],
                &[
                    "level",
                    "split",
                    "grain",
                    "period",
                    "category_id",
                    "member_id",
                ][..],
            ),
            (
                "stats_household_months",
                "kind, household_id, region_code, month",
                &["province_code", "village_code"][..],
                &["household_id", "month", "organization_id", "amount_fen"][..],
            ),
            (
                "stats_buyer_sums",
                "kind, day, seller_region_code, buyer_unit_id, buyer_basis, buyer_kind, buyer_region_code, campaign_id",
                &[
                    "seller_region_code",
                    "seller_county_code",
                    "buyer_basis",
                    "buyer_kind",
                    "buyer_region_code",
                    "buyer_province_code",
                    "buyer_county_code",
                ][..],
                &["day", "buyer_unit_id", "campaign_id", "sales_fen", "orders"][..],
            ),
        ];
        let mut out = Vec::new();
        for (table, key, texts, numbers) in tables {
            let sql = format!("SELECT * FROM {table} ORDER BY {key}");
            for row in self
                .db
                .query_all_raw(Statement::from_string(self.db.get_database_backend(), sql))
                .await
                .unwrap()
            {
                let mut line = format!(
                    "{table} {} {}",
                    row.try_get::<String>("", "kind").unwrap(),
                    row.try_get::<String>("", "region_code").unwrap_or_default()
                );
                for c in texts {
                    line.push_str(&format!(" {c}={}", row.try_get::<String>("", c).unwrap()));
                }
                for c in numbers {
                    let n = row
                        .try_get::<i64>("", c)
                        .or_else(|_| row.try_get::<i32>("", c).map(i64::from))
                        .unwrap();
                    line.push_str(&format!(" {c}={n}"));
                }
                out.push(line);
            }
        }
        out
    }

    /// Everything stored that a refused request must leave alone.
    pub async fn snapshot(&self) -> String {
        let db = &self.db;
        use qudao::orders::entity::{cart_item, order, order_event, order_line};
        let orders = format!(
            "{:?}\n{:?}\n{:?}\n{:?}",
            order::Entity::find()
                .order_by_asc(order::Column::Id)
                .all(db)
                .await
                .unwrap(),
            order_line::Entity::find()
                .order_by_asc(order_line::Column::Id)
                .all(db)
                .await
                .unwrap(),
            order_event::Entity::find()
                .order_by_asc(order_event::Column::Id)
                .all(db)
                .await
                .unwrap(),
            cart_item::Entity::find()
                .order_by_asc(cart_item::Column::Id)
                .all(db)
                .await
                .unwrap(),
        );
        let stats = format!(
            "{:?}\n{:?}\n{:?}\n{:?}\n{:?}",
            qudao::stats::entity::fact::Entity::find()
                .order_by_asc(qudao::stats::entity::fact::Column::Id)
                .all(db)
                .await
                .unwrap(),
            qudao::stats::entity::quarter_close::Entity::find()
                .order_by_asc(qudao::stats::entity::quarter_close::Column::Id)
                .all(db)
                .await
                .unwrap(),
            qudao::stats::entity::target::Entity::find()
                .order_by_asc(qudao::stats::entity::target::Column::Id)
                .all(db)
                .await
                .unwrap(),
            qudao::stats::entity::filing::Entity::find()
                .order_by_asc(qudao::stats::entity::filing::Column::Id)
                .all(db)
                .await
                .unwrap(),
            qudao::stats::entity::filing_step::Entity::find()
                .order_by_asc(qudao::stats::entity::filing_step::Column::Id)
                .all(db)
                .await
                .unwrap(),
        );
        let notify = {
            use qudao::notify::entity::{notification, preference, webhook};
            format!(
                "{:?}\n{:?}\n{:?}",
                preference::Entity::find()
                    .order_by_asc(preference::Column::Id)
                    .all(db)
                    .await
                    .unwrap(),
                webhook::Entity::find()
                    .order_by_asc(webhook::Column::Id)
                    .all(db)
                    .await
                    .unwrap(),
                notification::Entity::find()
                    .order_by_asc(notification::Column::Id)
                    .all(db)
                    .await
                    .unwrap(),
            )
        };
        let matching = {
            use qudao::matching::entity::{proposal, purchase_request};
            format!(
                "{:?}\n{:?}",
                purchase_request::Entity::find()
                    .order_by_asc(purchase_request::Column::Id)
                    .all(db)
                    .await
                    .unwrap(),
                proposal::Entity::find()
                    .order_by_asc(proposal::Column::Id)
                    .all(db)
                    .await
                    .unwrap(),
            )
        };
        let saved = {
            use qudao::search::saved::entity::{hit, saved_search};
            format!(
                "{:?}\n{:?}",
                saved_search::Entity::find()
                    .order_by_asc(saved_search::Column::Id)
                    .all(db)
                    .await
                    .unwrap(),
                hit::Entity::find()
                    .order_by_asc(hit::Column::Id)
                    .all(db)
                    .await
                    .unwrap(),
            )
        };
        orders
            + &saved
            + &stats
            + &format!("{:?}", self.aggregate_rows().await)
            + &notify
            + &matching
            + &format!(
                "{:?}\n",
                qudao::audit::entity::Entity::find()
                    .order_by_asc(qudao::audit::entity::Column::Id)
                    .all(db)
                    .await
                    .unwrap()
            )
            + &format!(
                "{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}",
                listing::Entity::find()
                    .order_by_asc(listing::Column::Id)
                    .all(db)
                    .await
                    .unwrap(),
                organization::Entity::find()
                    .order_by_asc(organization::Column::Id)
                    .all(db)
                    .await
                    .unwrap(),
                household::Entity::find()
                    .order_by_asc(household::Column::Id)
                    .all(db)
                    .await
                    .unwrap(),
                category::Entity::find()
                    .order_by_asc(category::Column::Id)
                    .all(db)
                    .await
                    .unwrap(),
                category_alias::Entity::find()
                    .order_by_asc(category_alias::Column::Id)
                    .all(db)
                    .await
                    .unwrap(),
                user::Entity::find()
                    .order_by_asc(user::Column::Id)
                    .all(db)
                    .await
                    .unwrap(),
                qudao::outbox::entity::Entity::find()
                    .order_by_asc(qudao::outbox::entity::Column::Id)
                    .all(db)
                    .await
                    .unwrap(),
            )
            + &self.delivery_snapshot().await
    }

    /// Invoices, delivery photos, recurring orders, season contracts, sellers' delivery methods,
    /// their rates and listings' shipping needs, as text.
    async fn delivery_snapshot(&self) -> String {
        use qudao::delivery::entity::{delivery_method, delivery_rate, listing_shipping};
        use qudao::orders::entity::{
            order_invoice, order_receipt_photo, recurring_order, recurring_run,
        };
        let db = &self.db;
        format!(
            "{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}",
            order_invoice::Entity::find()
                .order_by_asc(order_invoice::Column::Id)
                .all(db)
                .await
                .unwrap(),
            order_receipt_photo::Entity::find()
                .order_by_asc(order_receipt_photo::Column::OrderId)
                .all(db)
                .await
                .unwrap(),
            recurring_order::Entity::find()
                .order_by_asc(recurring_order::Column::Id)
                .all(db)
                .await
                .unwrap(),
            recurring_run::Entity::find()
                .order_by_asc(recurring_run::Column::Id)
                .all(db)
                .await
                .unwrap(),
            qudao::contracts::entity::Entity::find()
                .order_by_asc(qudao::contracts::entity::Column::Id)
                .all(db)
                .await
                .unwrap(),
            delivery_method::Entity::find()
                .order_by_asc(delivery_method::Column::Id)
                .all(db)
                .await
                .unwrap(),
            delivery_rate::Entity::find()
                .order_by_asc(delivery_rate::Column::Id)
                .all(db)
                .await
                .unwrap(),
            listing_shipping::Entity::find()
                .order_by_asc(listing_shipping::Column::ListingId)
                .all(db)
                .await
                .unwrap(),
        )
    }
}

async fn read(mut resp: reqwest::Response) -> Reply {
    let status = resp.status();
    let headers = resp.headers().clone();
    let live = headers
        .get("content-type")
        .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"));
    // An event stream never ends: keep its first chunk only.
    let text = if live {
        let first = resp.chunk().await.ok().flatten().unwrap_or_default();
        String::from_utf8_lossy(&first).into_owned()
    } else {
        resp.text().await.unwrap_or_default()
    };
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Reply {
        status,
        headers,
        body,
        text,
    }
}

/// A canteen in 开江 wants a tonne of rice within twenty days, delivered within 200 km.
pub fn purchase_request(rice: i64) -> Value {
    serde_json::json!({"title": "食堂大米", "category_id": rice, "unit": "ton", "quantity": "1",
           "max_price_fen": 1_000_000, "region_code": "511723", "address_line": "新宁镇食堂",
           "contact_name": "王师傅", "contact_phone": "13800000000",
           "deliver_by": (chrono::Utc::now() + chrono::Duration::days(20)).format("%Y-%m-%d").to_string(),
           "max_distance_km": 200})
}

/// The value of `name` in a response's `Set-Cookie` headers.
pub fn set_cookie_value(r: &reqwest::Response, name: &str) -> Option<String> {
    r.headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix(&format!("{name}=")))
        .map(|v| v.split(';').next().unwrap_or("").to_string())
}

/// The `value` of the hidden input `name` in a page.
pub fn hidden(html: &str, name: &str) -> String {
    let at = html
        .find(&format!("name=\"{name}\" value=\""))
        .unwrap_or_else(|| panic!("no {name} in the page"));
    let rest = &html[at + name.len() + 15..];
    rest[..rest.find('"').unwrap()].to_string()
}

/// Sends the sign-in form with the token and cookie of the last form page.
pub async fn send_sign_in(
    app: &TestApp,
    form_page: (String, String),
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let (token, cookie) = form_page;
    let mut form: Vec<(&str, &str)> = vec![("form_token", &token)];
    form.extend_from_slice(fields);
    app.client
        .post(format!("{}/login", app.address))
        .header("cookie", format!("qudao_form={cookie}"))
        .form(&form)
        .send()
        .await
        .unwrap()
}

/// The token and cookie a sign-in page hands out, and its text.
pub async fn form_of(r: reqwest::Response) -> ((String, String), String) {
    let cookie = set_cookie_value(&r, "qudao_form").expect("the form cookie");
    let html = r.text().await.unwrap();
    ((hidden(&html, "form_token"), cookie), html)
}

/// Reads a live stream until `needle` appears (at most 15 s), adding what it reads to `seen`.
pub async fn read_until(stream: &mut reqwest::Response, needle: &str, seen: &mut String) {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(15);
    while !seen.contains(needle) {
        let chunk = tokio::time::timeout_at(deadline, stream.chunk())
            .await
            .unwrap_or_else(|_| panic!("no {needle:?} in the stream; got {seen:?}"))
            .unwrap()
            .expect("the stream stays open");
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
}

/// Price × thousandths, rounded half up to the fen: what a quantity of a line costs.
pub fn cost(price_fen: i64, milli: i64) -> i64 {
    (price_fen * milli + 500) / 1000
}

impl TestApp {
    /// Runs a notification worker until it has nothing left: every notice written so far is
    /// in its readers' lists.
    pub async fn deliver_notices(&self) {
        let worker =
            qudao::notify::Worker::new(self.db.clone(), &qudao::Settings::embedded(self.dir()))
                .unwrap();
        for _ in 0..20 {
            let p = worker.run_once().await.unwrap();
            if p.dispatched + p.sent + p.failed == 0 {
                return;
            }
        }
        panic!("the notification worker never ran out of work");
    }

    /// 开江县's sales this year on `basis`, as its official reads them.
    pub async fn kaijiang_sales(&self, basis: &str) -> i64 {
        let official = self.login("official-kaijiang").await;
        let year = chrono::Datelike::year(&qudao::days::local_date(chrono::Utc::now()));
        let r = self
            .get(
                &format!("/api/v1/stats/regions/511723?period={year}&basis={basis}"),
                Some(&official),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        r.body["figures"]["sales_fen"].as_i64().unwrap()
    }
}
