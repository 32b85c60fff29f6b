//! Notifications end to end, on a real SMTP server process (aiosmtpd): the shared mail room
//! here, the tests by topic below.

mod delivery;
mod digests;
mod notices;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use qudao::Settings;
use qudao::notify::Worker;
use qudao::outbox::entity as outbox;
use reqwest::StatusCode;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::json;

use crate::helpers::{Backend, TestApp, free_port, read_until, spawn_app_with};

/// An SMTP server process writing what it receives into a maildir.
struct SmtpServer {
    child: Child,
    dir: tempfile::TempDir,
}

/// Makes sure Python can run aiosmtpd, installing it from PyPI the first time.
fn ensure_aiosmtpd() {
    static READY: std::sync::Once = std::sync::Once::new();
    READY.call_once(|| {
        let present = |python: &mut Command| {
            python
                .args(["-c", "import aiosmtpd"])
                .status()
                .is_ok_and(|s| s.success())
        };
        if !present(&mut Command::new("python3")) {
            let installed = Command::new("python3")
                .args(["-m", "pip", "install", "--quiet", "aiosmtpd"])
                .status()
                .is_ok_and(|s| s.success());
            assert!(
                installed && present(&mut Command::new("python3")),
                "the email tests need python3 with aiosmtpd (python3 -m pip install aiosmtpd)"
            );
        }
    });
}

impl SmtpServer {
    fn start(port: u16) -> SmtpServer {
        ensure_aiosmtpd();
        let dir = tempfile::tempdir().unwrap();
        for sub in ["tmp", "new", "cur"] {
            std::fs::create_dir(dir.path().join(sub)).unwrap();
        }
        let child = Command::new("python3")
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 with aiosmtpd (pip install aiosmtpd) runs the test SMTP server");
        let server = SmtpServer { child, dir };
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return server;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("the SMTP server (python3 -m aiosmtpd) did not start; is aiosmtpd installed?");
    }

    /// Every message received so far, parsed.
    fn messages(&self) -> Vec<Mail> {
        let new: PathBuf = self.dir.path().join("new");
        let mut files: Vec<PathBuf> = std::fs::read_dir(&new)
            .map(|d| d.map(|e| e.unwrap().path()).collect())
            .unwrap_or_default();
        files.sort();
        files
            .iter()
            .map(|f| Mail::parse(&std::fs::read(f).unwrap()))
            .collect()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

/// What a test reads of an email.
#[derive(Debug, Clone)]
struct Mail {
    to: String,
    subject: String,
    message_id: String,
    /// `List-Unsubscribe` and `List-Unsubscribe-Post`, empty when absent.
    list_unsubscribe: String,
    one_click: String,
    text: String,
    html: String,
}

impl Mail {
    fn parse(raw: &[u8]) -> Mail {
        use mailparse::MailHeaderMap;
        let m = mailparse::parse_mail(raw).unwrap();
        let header = |k: &str| m.headers.get_first_value(k).unwrap_or_default();
        let part = |mime: &str| {
            m.subparts
                .iter()
                .find(|p| p.ctype.mimetype == mime)
                .map(|p| p.get_body().unwrap())
                .unwrap_or_default()
        };
        Mail {
            to: header("To"),
            subject: header("Subject"),
            message_id: header("Message-ID"),
            list_unsubscribe: header("List-Unsubscribe"),
            one_click: header("List-Unsubscribe-Post"),
            text: part("text/plain"),
            html: part("text/html"),
        }
    }
}

fn settings(smtp_port: u16, dir: &std::path::Path) -> Settings {
    let mut s = Settings::embedded(dir);
    s.smtp_url = Some(format!("smtp://127.0.0.1:{smtp_port}"));
    s
}

/// A running app, an SMTP server and a worker sending to it.
struct Mailroom {
    smtp: SmtpServer,
    app: TestApp,
    worker: Worker,
    /// Where the worker's own settings point; kept for the test's length.
    _dir: tempfile::TempDir,
}

async fn mailroom(backend: Backend) -> Option<Mailroom> {
    let port = free_port();
    let smtp = SmtpServer::start(port);
    let app = spawn_app_with(backend, |_| {}).await?;
    let dir = tempfile::tempdir().unwrap();
    let worker = Worker::new(app.db.clone(), &settings(port, dir.path())).unwrap();
    Some(Mailroom {
        smtp,
        app,
        worker,
        _dir: dir,
    })
}

/// Runs passes until a pass finds nothing to do.
async fn drain(worker: &Worker) {
    for _ in 0..20 {
        let p = worker.run_once().await.unwrap();
        if p.dispatched + p.sent + p.failed == 0 {
            return;
        }
    }
    panic!("the notification worker never ran out of work");
}

/// Registers a buyer who reads English and has an email address; returns the token.
async fn english_buyer(app: &TestApp, name: &str) -> String {
    let r = app
        .post(
            "/api/v1/auth/register",
            None,
            json!({"username": name, "password": "成都食堂采购专用", "display_name": "Chengdu Canteen",
                   "language": "en", "email": format!("{name}@canteen.example")}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["email"], format!("{name}@canteen.example"));
    app.login_with(name, "成都食堂采购专用").await
}

/// The first demo organization with staff, and its first producer's username and email.
async fn staffed_org(app: &TestApp) -> (i64, String, String) {
    use qudao::accounts::entity::user;
    let u = user::Entity::find()
        .filter(user::Column::Role.eq("producer"))
        .filter(user::Column::OrganizationId.is_not_null())
        .order_by_asc(user::Column::Id)
        .one(&app.db)
        .await
        .unwrap()
        .expect("the demo market has producer staff");
    (
        u.organization_id.unwrap(),
        u.username,
        u.email.expect("demo staff have an address"),
    )
}

/// Orders the minimum of the first listing of `org`; returns the order id.
async fn order_one(app: &TestApp, buyer: &str, org: i64, key: &str) -> i64 {
    let listing = app.listings_of(org).await[0];
    let l = app
        .get(&format!("/api/v1/listings/{listing}"), None)
        .await
        .body;
    let quantity = l["min_order"].as_str().unwrap().to_string();
    let r = app
        .checkout(
            buyer,
            key,
            json!([{"listing_id": listing, "quantity": quantity}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.body["orders"][0]["id"].as_i64().unwrap()
}

/// The demo canteen's request for a tonne of rice, matched with 盘石村's rice (on sale all
/// year for the test): the producer's token, the buyer's and the proposal.
async fn rice_proposal(app: &TestApp) -> (String, String, i64) {
    let (producer, _) = app.panshi_rice_all_year().await;
    let buyer = app.login("buyer").await;
    let posted = app
        .post(
            "/api/v1/purchase-requests",
            Some(&buyer),
            crate::helpers::purchase_request(app.category_id("rice").await),
        )
        .await;
    assert_eq!(posted.status, StatusCode::CREATED, "{}", posted.text);
    let proposal = posted.body["proposals"][0]["id"]
        .as_i64()
        .expect("a proposal");
    (producer, buyer, proposal)
}

/// The email rows in id order.
async fn emails(app: &TestApp) -> Vec<outbox::Model> {
    outbox::Entity::find()
        .filter(outbox::Column::Channel.eq("email"))
        .order_by_asc(outbox::Column::Id)
        .all(&app.db)
        .await
        .unwrap()
}

/// Makes every waiting row due now instead of after its backoff.
async fn make_due(app: &TestApp) {
    outbox::Entity::update_many()
        .col_expr(outbox::Column::AvailableAt, Expr::value(chrono::Utc::now()))
        .filter(outbox::Column::DeliveredAt.is_null())
        .exec(&app.db)
        .await
        .unwrap();
}
