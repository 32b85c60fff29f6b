//! Notifications end to end: a real SMTP server process (aiosmtpd) receives what the worker
//! sends; in-app notices; an outage, dead emails and their retry; two workers racing.

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

use crate::helpers::{Backend, TestApp, free_port, spawn_app_with};
use crate::on_both_databases;

on_both_databases!(
    order_emails_reach_each_side_in_their_language,
    email_survives_an_smtp_outage_and_dead_emails_can_be_retried,
    two_workers_racing_send_every_email_once,
    webhooks_are_signed_and_retried_until_the_endpoint_answers,
    proposal_emails_carry_a_working_unsubscribe_link,
    a_worker_stopped_mid_batch_leaves_its_rows_to_another,
    new_notices_arrive_live_as_server_sent_events,
    an_application_reaches_its_county_then_the_admins_then_the_applicant,
    a_producer_hears_once_when_a_sale_leaves_stock_low,
    officials_get_last_weeks_sales_of_their_region_once,
    notices_are_read_and_cleared_on_the_page,
    saved_search_alerts_reach_buyers_at_once_or_in_a_daily_digest,
    a_daily_digest_gathers_the_emails_of_a_kind,
);

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

async fn order_emails_reach_each_side_in_their_language(backend: Backend) {
    let Some(Mailroom {
        smtp,
        app,
        worker,
        _dir,
    }) = mailroom(backend).await
    else {
        return;
    };
    let buyer = english_buyer(&app, "canteen-en").await;
    let (org, producer, producer_email) = staffed_org(&app).await;
    let order_id = order_one(&app, &buyer, org, "mail-1").await;
    drain(&worker).await;

    // The producer learns of the order at once, in Chinese, with both bodies.
    let mails = smtp.messages();
    assert_eq!(mails.len(), 1, "{mails:?}");
    let m = &mails[0];
    assert!(m.to.contains(&producer_email), "{m:?}");
    assert_eq!(m.subject, format!("订单 #{order_id} 收到新订单"));
    assert!(m.text.contains(&format!("订单 #{order_id}")), "{}", m.text);
    assert!(m.html.contains("查看订单"), "{}", m.html);
    assert!(
        !m.text.contains("/unsubscribe") && m.list_unsubscribe.is_empty(),
        "order emails are essential"
    );
    assert!(
        m.message_id.starts_with("<qudao.") && m.message_id.ends_with("@qudao.example>"),
        "{}",
        m.message_id
    );

    // In the app too, until read.
    let seller = app.login(&producer).await;
    let r = app.get("/api/v1/notifications", Some(&seller)).await;
    assert_eq!(r.body["unread"], 1, "{}", r.text);
    let notice = r.body["items"][0].clone();
    assert_eq!(notice["topic"], "order.placed");
    assert_eq!(notice["title"], m.subject.as_str());
    // The buyer cannot mark the producer's notice; the producer can.
    let path = format!("/api/v1/notifications/{}/read", notice["id"]);
    assert_eq!(
        app.post(&path, Some(&buyer), json!({})).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.post(&path, Some(&seller), json!({})).await.status,
        StatusCode::NO_CONTENT
    );
    let r = app.get("/api/v1/notifications", Some(&seller)).await;
    assert_eq!(r.body["unread"], 0);
    assert_eq!(r.body["items"][0]["read"], true);

    // The seller confirms: the buyer hears of it in English.
    let r = app
        .post(
            &format!("/api/v1/orders/{order_id}/confirm"),
            Some(&seller),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    drain(&worker).await;
    let mails = smtp.messages();
    assert_eq!(mails.len(), 2, "{mails:?}");
    let m = mails
        .iter()
        .find(|m| m.to.contains("canteen-en@canteen.example"))
        .unwrap_or_else(|| panic!("{mails:?}"));
    assert_eq!(
        m.subject,
        format!("Order #{order_id} was confirmed by the seller")
    );
    assert!(m.text.starts_with("Hello Chengdu Canteen"), "{}", m.text);
    assert!(m.html.contains("See the order"), "{}", m.html);
    let r = app.get("/api/v1/notifications", Some(&buyer)).await;
    assert_eq!(r.body["unread"], 1);
    assert_eq!(r.body["items"][0]["topic"], "order.confirmed");
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

async fn email_survives_an_smtp_outage_and_dead_emails_can_be_retried(backend: Backend) {
    let port = free_port();
    let Some(app) = spawn_app_with(backend, |_| {}).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut worker = Worker::new(app.db.clone(), &settings(port, dir.path())).unwrap();
    worker.email.max_attempts = Some(3);
    let buyer = english_buyer(&app, "canteen-outage").await;

    // Nothing listens: the order goes through all the same, and its email waits.
    let (org, _, _) = staffed_org(&app).await;
    let first = order_one(&app, &buyer, org, "outage-1").await;
    let p = worker.run_once().await.unwrap();
    assert_eq!((p.dispatched, p.sent, p.failed), (1, 0, 1));
    let rows = emails(&app).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].attempts, 1);
    assert!(rows[0].delivered_at.is_none() && rows[0].dead_at.is_none());
    assert!(
        rows[0].available_at > chrono::Utc::now(),
        "a backoff before the retry"
    );
    assert!(rows[0].last_error.is_some());

    // The server comes up: the retry delivers it, once.
    let smtp = SmtpServer::start(port);
    make_due(&app).await;
    drain(&worker).await;
    let mails = smtp.messages();
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].subject, format!("订单 #{first} 收到新订单"));
    drop(smtp);

    // Down again for good: after its last attempt the email is dead, and stays so.
    let second = order_one(&app, &buyer, org, "outage-2").await;
    for _ in 0..5 {
        make_due(&app).await;
        worker.run_once().await.unwrap();
    }
    let dead = emails(&app).await.pop().unwrap();
    assert_eq!(dead.attempts, 3);
    assert!(dead.dead_at.is_some() && dead.delivered_at.is_none());
    let admin = app.login("admin").await;
    let r = app.get("/api/v1/admin/dead-events", Some(&admin)).await;
    let listed = r.body.as_array().unwrap();
    assert_eq!(listed.len(), 1, "{}", r.text);
    assert_eq!(listed[0]["id"], dead.id);
    assert_eq!(listed[0]["channel"], "email");
    assert!(listed[0]["last_error"].as_str().is_some());

    // An admin retries it once the server is back.
    let smtp = SmtpServer::start(port);
    let r = app
        .post(
            &format!("/api/v1/admin/dead-events/{}/retry", dead.id),
            Some(&admin),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    drain(&worker).await;
    let mails = smtp.messages();
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].subject, format!("订单 #{second} 收到新订单"));
    let r = app.get("/api/v1/admin/dead-events", Some(&admin)).await;
    assert_eq!(r.body.as_array().unwrap().len(), 0);
}

async fn two_workers_racing_send_every_email_once(backend: Backend) {
    let port = free_port();
    let smtp = SmtpServer::start(port);
    let Some(app) = spawn_app_with(backend, |_| {}).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let s = settings(port, dir.path());
    let mut workers = Vec::new();
    for _ in 0..2 {
        let mut w = Worker::new(app.db.clone(), &s).unwrap();
        w.dispatch.batch = 3;
        w.email.batch = 2;
        workers.push(w);
    }
    let buyer = english_buyer(&app, "canteen-race").await;
    let (org, _, _) = staffed_org(&app).await;
    let mut orders = Vec::new();
    for i in 0..8 {
        orders.push(order_one(&app, &buyer, org, &format!("race-{i}")).await);
    }
    let (a, b) = (&workers[0], &workers[1]);
    tokio::join!(drain(a), drain(b));
    drain(a).await;
    let mails = smtp.messages();
    let mut ids: Vec<&str> = mails.iter().map(|m| m.message_id.as_str()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), orders.len(), "every order's email arrived");
    assert_eq!(mails.len(), orders.len(), "and none twice");
    assert!(emails(&app).await.iter().all(|r| r.delivered_at.is_some()));
}

/// The requests a receiver got: headers and body.
type Seen = std::sync::Arc<std::sync::Mutex<Vec<(axum::http::HeaderMap, Vec<u8>)>>>;

/// A webhook receiver: records every request and answers 500 to the first `failures`.
struct Receiver {
    url: String,
    seen: Seen,
}

async fn receiver(failures: usize) -> Receiver {
    use axum::http::{HeaderMap, StatusCode as S};
    let seen: Seen = Default::default();
    let log = seen.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: axum::body::Bytes| {
            let log = log.clone();
            async move {
                let mut l = log.lock().unwrap();
                l.push((headers, body.to_vec()));
                if l.len() <= failures {
                    S::INTERNAL_SERVER_ERROR
                } else {
                    S::NO_CONTENT
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.ok() });
    Receiver { url, seen }
}

async fn webhooks_are_signed_and_retried_until_the_endpoint_answers(backend: Backend) {
    use hmac::Mac;
    let Some(app) = spawn_app_with(backend, |_| {}).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // No SMTP server here: emails go to files, which is not what this test is about.
    let worker = Worker::new(app.db.clone(), &Settings::embedded(dir.path())).unwrap();
    let (org, producer, _) = staffed_org(&app).await;
    let seller = app.login(&producer).await;

    // Endpoints must be HTTPS (plain HTTP only to this machine).
    for bad in [
        "http://hooks.example.com/x",
        "ftp://127.0.0.1/x",
        "not a url",
    ] {
        let r = app
            .post("/api/v1/webhooks", Some(&seller), json!({"url": bad}))
            .await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{bad}: {}",
            r.text
        );
        assert_eq!(r.fields(), vec!["url".to_string()]);
    }
    let hook = receiver(2).await;
    let r = app
        .post(
            "/api/v1/webhooks",
            Some(&seller),
            json!({"url": hook.url, "topics": ["order."]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let secret = r.body["secret"].as_str().unwrap().to_string();
    let hook_id = r.body["id"].as_i64().unwrap();
    let listed = app.get("/api/v1/webhooks", Some(&seller)).await;
    assert!(
        !listed.text.contains(&secret),
        "the secret is shown only once"
    );

    // An order: the endpoint fails twice, and the third attempt gets through.
    let buyer = english_buyer(&app, "canteen-hook").await;
    let order_id = order_one(&app, &buyer, org, "hook-1").await;
    for _ in 0..3 {
        worker.run_once().await.unwrap();
        make_due(&app).await;
    }
    drain(&worker).await;
    let seen = hook.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 3, "two failures, then the delivery");
    let delivery = seen[0].0["x-qudao-delivery"].clone();
    for (headers, body) in &seen {
        assert_eq!(
            headers["x-qudao-delivery"], delivery,
            "one delivery, retried"
        );
        assert_eq!(headers["x-qudao-event"], "order.placed");
        let ts = headers["x-qudao-timestamp"].to_str().unwrap();
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(format!("{ts}.").as_bytes());
        mac.update(body);
        let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
        assert_eq!(headers["x-qudao-signature"], expected.as_str());
        let event: serde_json::Value = serde_json::from_slice(body).unwrap();
        assert_eq!(event["topic"], "order.placed");
        assert_eq!(event["data"]["order_id"], order_id);
    }
    let rows = outbox::Entity::find()
        .filter(outbox::Column::Channel.eq("webhook"))
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert!(rows[0].delivered_at.is_some());
    assert_eq!(rows[0].attempts, 2);

    // Another organization cannot remove it; its own staff can, and then nothing more is sent.
    let other = app.login("buyer").await;
    let path = format!("/api/v1/webhooks/{hook_id}");
    assert_eq!(
        app.call(reqwest::Method::DELETE, &path, Some(&other), None)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.call(reqwest::Method::DELETE, &path, Some(&seller), None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    order_one(&app, &buyer, org, "hook-2").await;
    drain(&worker).await;
    assert_eq!(hook.seen.lock().unwrap().len(), 3);
}

async fn proposal_emails_carry_a_working_unsubscribe_link(backend: Backend) {
    let port = free_port();
    let smtp = SmtpServer::start(port);
    let Some(app) = spawn_app_with(backend, |s| s.secret = Some("test-secret".into())).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut s = settings(port, dir.path());
    s.secret = Some("test-secret".into());
    let worker = Worker::new(app.db.clone(), &s).unwrap();

    // A canteen's request for rice is matched with 盘石村's rice: both sides hear of it.
    let (producer, buyer, proposal) = rice_proposal(&app).await;
    drain(&worker).await;
    let mails = smtp.messages();
    let to_producer = mails
        .iter()
        .find(|m| m.to.contains("coop-panshi@"))
        .unwrap_or_else(|| panic!("{mails:?}"));
    assert!(mails.iter().any(|m| m.to.contains("buyer@")), "{mails:?}");
    // The quantity is told in the listing's own unit: 1 吨 of rice sold by the 斤.
    assert_eq!(
        to_producer.subject,
        format!("撮合方案 #{proposal}(2000 斤)有新的撮合方案")
    );

    // The link shows what it turns off, and only the button does it.
    let text = &to_producer.text;
    let at = text.find("/unsubscribe?").expect("an unsubscribe link");
    let path = text[at..].split_whitespace().next().unwrap().to_string();
    let path = path.as_str();
    assert!(
        to_producer.html.contains("unsubscribe?user="),
        "{}",
        to_producer.html
    );
    let page = app
        .client
        .get(format!("{}{path}", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("确认退订"));
    let wants = |token: String| {
        let app = &app;
        async move {
            let r = app
                .get("/api/v1/notification-preferences", Some(&token))
                .await;
            r.body
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["kind"] == "proposal")
                .unwrap()["email"]
                .as_bool()
                .unwrap()
        }
    };
    assert!(
        wants(producer.clone()).await,
        "opening the link changes nothing"
    );
    let forged = path.replace("kind=proposal", "kind=order");
    let r = app
        .client
        .get(format!("{}{forged}", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let query: Vec<(String, String)> = reqwest::Url::parse(&format!("http://x{path}"))
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let r = app
        .client
        .post(format!("{}/unsubscribe", app.address))
        .form(&query)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("已退订"));
    assert!(!wants(producer.clone()).await);
    assert!(wants(buyer.clone()).await, "only the producer unsubscribed");

    // Mail clients offer the same link as a one-click unsubscribe (RFC 8058).
    let to_buyer = mails.iter().find(|m| m.to.contains("buyer@")).unwrap();
    assert_eq!(to_buyer.one_click, "List-Unsubscribe=One-Click");
    let link = to_buyer
        .list_unsubscribe
        .strip_prefix('<')
        .and_then(|l| l.strip_suffix('>'))
        .unwrap_or_else(|| panic!("{to_buyer:?}"));
    let path = &link[link.find("/unsubscribe?").expect("the unsubscribe link")..];
    let r = app
        .client
        .post(format!("{}{path}", app.address))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(!wants(buyer.clone()).await);

    // The buyer turns them off in their settings; a decline then reaches both in the app only.
    let r = app
        .call(
            reqwest::Method::PUT,
            "/api/v1/notification-preferences",
            Some(&buyer),
            Some(json!({"preferences": [{"kind": "proposal", "email": false}]})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = app
        .call(
            reqwest::Method::PUT,
            "/api/v1/notification-preferences",
            Some(&buyer),
            Some(json!({"preferences": [{"kind": "weather", "email": false}]})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let before = smtp.messages().len();
    let r = app
        .post(
            &format!("/api/v1/proposals/{proposal}/decline"),
            Some(&buyer),
            json!({"reason": "价格再谈"}),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.text);
    drain(&worker).await;
    assert_eq!(
        smtp.messages().len(),
        before,
        "no email after unsubscribing"
    );
    for token in [&buyer, &producer] {
        let r = app.get("/api/v1/notifications", Some(token)).await;
        assert!(
            r.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .any(|n| n["topic"] == "proposal.declined"),
            "{}",
            r.text
        );
    }
}

async fn a_worker_stopped_mid_batch_leaves_its_rows_to_another(backend: Backend) {
    use qudao::outbox::Channel;
    use qudao::outbox::worker::{WorkerConfig, claim};
    let Some(Mailroom {
        smtp,
        app,
        mut worker,
        _dir,
    }) = mailroom(backend).await
    else {
        return;
    };
    let (org, _, _) = staffed_org(&app).await;
    let buyer = english_buyer(&app, "canteen-crash").await;
    for i in 0..3 {
        order_one(&app, &buyer, org, &format!("crash-{i}")).await;
    }
    // Turn the events into emails without sending them yet.
    worker.email.batch = 0;
    let p = worker.run_once().await.unwrap();
    assert_eq!((p.dispatched, p.sent), (3, 0));
    worker.email.batch = 20;

    // Another worker claims every email and stops before sending any.
    let lease = Duration::from_millis(400);
    let stopped = WorkerConfig {
        lease,
        ..WorkerConfig::default()
    };
    let claimed = claim(&app.db, Channel::Email, "stopped-worker", &stopped)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 3);

    // While its lease lasts nobody else sends them; afterwards the live worker does, once each.
    let p = worker.run_once().await.unwrap();
    assert_eq!(p.sent, 0, "rows leased to another worker are left alone");
    assert!(smtp.messages().is_empty());
    tokio::time::sleep(lease + Duration::from_millis(100)).await;
    drain(&worker).await;
    let mails = smtp.messages();
    let ids: std::collections::BTreeSet<&str> =
        mails.iter().map(|m| m.message_id.as_str()).collect();
    assert_eq!((mails.len(), ids.len()), (3, 3), "every email, once");
    assert!(emails(&app).await.iter().all(|r| r.delivered_at.is_some()));

    // A worker that dies after the SMTP server took its emails, before it marked them sent:
    // its rows stay leased to it, as they were when it died.
    outbox::Entity::update_many()
        .col_expr(
            outbox::Column::DeliveredAt,
            Expr::value(Option::<chrono::DateTime<chrono::Utc>>::None),
        )
        .col_expr(outbox::Column::LockedBy, Expr::value("died-after-sending"))
        .col_expr(
            outbox::Column::LockedUntil,
            Expr::value(Some(chrono::Utc::now() + lease)),
        )
        .filter(outbox::Column::Channel.eq("email"))
        .exec(&app.db)
        .await
        .unwrap();
    assert_eq!(worker.run_once().await.unwrap().sent, 0);
    tokio::time::sleep(lease + Duration::from_millis(100)).await;
    drain(&worker).await;
    // At least once: each email went again, as a duplicate its reader's mail program can
    // recognise by its Message-ID, and no more than that.
    let mails = smtp.messages();
    assert_eq!(mails.len(), 6, "{mails:?}");
    for id in &ids {
        let copies = mails.iter().filter(|m| m.message_id == *id).count();
        assert_eq!(copies, 2, "{id}");
    }
    assert!(emails(&app).await.iter().all(|r| r.delivered_at.is_some()));
}

/// Reads a live stream until `needle` appears (at most 15 s); returns what was read.
async fn read_until(stream: &mut reqwest::Response, needle: &str, seen: &mut String) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while !seen.contains(needle) {
        let chunk = tokio::time::timeout_at(deadline, stream.chunk())
            .await
            .unwrap_or_else(|_| panic!("no {needle:?} in the stream; got {seen:?}"))
            .unwrap()
            .expect("the stream stays open");
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
}

async fn new_notices_arrive_live_as_server_sent_events(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |_| {}).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let worker = Worker::new(app.db.clone(), &Settings::embedded(dir.path())).unwrap();
    let (org, producer, _) = staffed_org(&app).await;
    let seller = app.login(&producer).await;
    let mut stream = app
        .client
        .get(format!("{}/api/v1/notifications/stream", app.address))
        .bearer_auth(&seller)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), StatusCode::OK);
    assert!(
        stream.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let mut seen = String::new();
    read_until(&mut stream, "event: unread\ndata: 0", &mut seen).await;

    // An order comes in: the producer's open page hears of it without asking again.
    let buyer = english_buyer(&app, "canteen-live").await;
    let order_id = order_one(&app, &buyer, org, "live-1").await;
    drain(&worker).await;
    read_until(&mut stream, "event: notification", &mut seen).await;
    read_until(&mut stream, "event: unread\ndata: 1", &mut seen).await;
    let data = seen
        .lines()
        .skip_while(|l| *l != "event: notification")
        .find_map(|l| l.strip_prefix("data: "))
        .unwrap();
    let notice: serde_json::Value = serde_json::from_str(data).unwrap();
    assert_eq!(notice["topic"], "order.placed");
    assert!(
        notice["title"]
            .as_str()
            .unwrap()
            .contains(&format!("#{order_id}"))
    );

    // Resuming after that notice gives nothing old again.
    let mut resumed = app
        .client
        .get(format!("{}/api/v1/notifications/stream", app.address))
        .bearer_auth(&seller)
        .header("last-event-id", notice["id"].to_string())
        .send()
        .await
        .unwrap();
    let mut again = String::new();
    read_until(&mut resumed, "event: unread", &mut again).await;
    assert!(!again.contains("event: notification"), "{again}");
}

async fn an_application_reaches_its_county_then_the_admins_then_the_applicant(backend: Backend) {
    let Some(Mailroom {
        smtp,
        app,
        worker,
        _dir,
    }) = mailroom(backend).await
    else {
        return;
    };
    let r = app
        .post(
            "/api/v1/auth/register",
            None,
            json!({"username": "chengjiagou-hens", "password": "程家沟土鸡养殖合作社", "display_name": "程大勇",
                   "role": "producer", "email": "dayong@chengjiagou.example"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let producer = app
        .login_with("chengjiagou-hens", "程家沟土鸡养殖合作社")
        .await;
    let r = app
        .post(
            "/api/v1/organizations",
            Some(&producer),
            json!({"name": "开江县程家沟村土鸡养殖专业合作社", "kind": "cooperative", "region_code": "511723104202",
                   "description": "林下散养土鸡", "contact_name": "程大勇", "contact_phone": "135-0818-1235"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let org = r.body["id"].as_i64().unwrap();
    drain(&worker).await;
    // The officials who may recommend it hear of it: 开江 and 四川, not 道孚 or the admins.
    let to: Vec<String> = smtp.messages().iter().map(|m| m.to.clone()).collect();
    assert_eq!(to.len(), 2, "{to:?}");
    assert!(
        to.iter().any(|t| t.contains("official-kaijiang@")),
        "{to:?}"
    );
    assert!(to.iter().any(|t| t.contains("official-sichuan@")), "{to:?}");
    let m = &smtp.messages()[0];
    assert_eq!(
        m.subject,
        "开江县程家沟村土鸡养殖专业合作社提交了入驻申请,请县里核实推荐"
    );

    let official = app.login("official-kaijiang").await;
    let r = app
        .post(
            &format!("/api/v1/organizations/{org}/recommend"),
            Some(&official),
            json!({"note": "县经信局核实"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    drain(&worker).await;
    let mails = smtp.messages();
    assert_eq!(mails.len(), 3);
    assert!(
        mails
            .iter()
            .any(|m| m.to.contains("admin@") && m.subject.ends_with("已由县里推荐,待平台审核"))
    );

    let admin = app.login("admin").await;
    let r = app
        .call(
            reqwest::Method::POST,
            &format!("/api/v1/organizations/{org}/approve"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    drain(&worker).await;
    let mails = smtp.messages();
    assert_eq!(mails.len(), 4);
    let approved = mails
        .iter()
        .find(|m| m.to.contains("dayong@chengjiagou.example"))
        .unwrap_or_else(|| panic!("{mails:?}"));
    assert!(approved.subject.ends_with("已通过审核,可以上架商品了"));
    assert!(approved.text.contains("程家沟村"), "{}", approved.text);
    let r = app.get("/api/v1/notifications", Some(&producer)).await;
    assert_eq!(r.body["items"][0]["topic"], "organization.approved");
}

async fn a_producer_hears_once_when_a_sale_leaves_stock_low(backend: Backend) {
    let Some(Mailroom {
        smtp,
        app,
        worker,
        _dir,
    }) = mailroom(backend).await
    else {
        return;
    };
    let (org, producer, producer_email) = staffed_org(&app).await;
    let seller = app.login(&producer).await;
    let listing = app.listings_of(org).await[0];
    // Ten units in stock, a minimum order of one: low below three.
    let r = app
        .patch(
            &format!("/api/v1/listings/{listing}"),
            Some(&seller),
            json!({"stock": "10", "min_order": "1"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let buyer = english_buyer(&app, "canteen-low").await;
    let buy = |n: &'static str, key: &'static str| {
        let (app, buyer) = (&app, &buyer);
        async move {
            let r = app
                .checkout(buyer, key, json!([{"listing_id": listing, "quantity": n}]))
                .await;
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        }
    };
    let low_mails = || {
        smtp.messages()
            .into_iter()
            .filter(|m| m.subject.starts_with("库存不足"))
            .collect::<Vec<_>>()
    };
    buy("7", "low-1").await; // 10 → 3: not yet low
    drain(&worker).await;
    assert!(low_mails().is_empty());
    buy("1", "low-2").await; // 3 → 2: low
    drain(&worker).await;
    let mails = low_mails();
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert!(mails[0].to.contains(&producer_email));
    assert!(mails[0].subject.contains("仅剩 2"), "{}", mails[0].subject);
    assert!(
        mails[0].text.contains("/unsubscribe?"),
        "not an essential email"
    );
    buy("1", "low-3").await; // 2 → 1: still low, no second email
    drain(&worker).await;
    assert_eq!(low_mails().len(), 1);
}

async fn officials_get_last_weeks_sales_of_their_region_once(backend: Backend) {
    let Some(Mailroom {
        smtp,
        app,
        worker,
        _dir,
    }) = mailroom(backend).await
    else {
        return;
    };
    // An order from 开江's 盘石村, completed today.
    let producer = app.login("coop-panshi").await;
    let org = app.organization_of(&producer).await;
    let buyer = english_buyer(&app, "canteen-weekly").await;
    let order_id = order_one(&app, &buyer, org, "weekly-1").await;
    app.advance(order_id, "complete").await;
    let total = app
        .get(&format!("/api/v1/orders/{order_id}"), Some(&buyer))
        .await
        .body["total_fen"]
        .as_i64()
        .unwrap();
    drain(&worker).await;

    // A week later, the summary of this week is written once, however many instances ask
    // at the same moment and however often.
    let next_week = chrono::Utc::now() + chrono::Duration::days(7);
    let (a, b) = tokio::join!(
        qudao::notify::summary::enqueue_if_due(&app.db, next_week),
        qudao::notify::summary::enqueue_if_due(&app.db, next_week)
    );
    assert_eq!(u8::from(a.unwrap()) + u8::from(b.unwrap()), 1);
    assert!(
        !qudao::notify::summary::enqueue_if_due(&app.db, next_week)
            .await
            .unwrap()
    );
    drain(&worker).await;
    let (_, from, _) = qudao::notify::summary::previous_week(next_week);
    let from = format!(
        "{}-{:02}-{:02}",
        from / 10_000,
        from / 100 % 100,
        from % 100
    );
    let mails: Vec<Mail> = smtp
        .messages()
        .into_iter()
        .filter(|m| m.subject.contains(&format!("({from}")))
        .collect();
    assert_eq!(mails.len(), 2, "one to each official: {mails:?}");
    let yuan = format!("¥{}.{:02}", total / 100, total % 100);
    let kaijiang = mails
        .iter()
        .find(|m| m.to.contains("official-kaijiang@"))
        .unwrap_or_else(|| panic!("{mails:?}"));
    assert!(
        kaijiang.subject.starts_with("开江县上周销售简报"),
        "{}",
        kaijiang.subject
    );
    assert!(
        kaijiang.text.contains(&format!("销售额 {yuan},订单 1 笔")),
        "{}",
        kaijiang.text
    );
    assert!(kaijiang.text.contains("/unsubscribe?"));
    let sichuan = mails
        .iter()
        .find(|m| m.to.contains("official-sichuan@"))
        .unwrap_or_else(|| panic!("{mails:?}"));
    assert!(
        sichuan.text.contains(&format!("销售额 {yuan}")),
        "{}",
        sichuan.text
    );
    // Only officials get it.
    assert!(
        mails.iter().all(|m| m.to.contains("official-")),
        "{mails:?}"
    );
}

async fn notices_are_read_and_cleared_on_the_page(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |_| {}).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let worker = Worker::new(app.db.clone(), &Settings::embedded(dir.path())).unwrap();
    let (org, producer, _) = staffed_org(&app).await;
    let buyer = english_buyer(&app, "canteen-page").await;
    let order_id = order_one(&app, &buyer, org, "page-1").await;
    drain(&worker).await;

    let page = |cookie: Option<String>| {
        let mut req = app.client.get(format!("{}/notifications", app.address));
        if let Some(c) = cookie {
            req = req.header("cookie", c);
        }
        req.send()
    };
    let r = page(None).await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/login?next=/notifications");

    // The producer signs in (the login sets the session cookie) and sees the order's notice.
    let login = app
        .client
        .post(format!("{}/api/v1/auth/login", app.address))
        .json(&json!({"username": producer, "password": crate::helpers::PASSWORD}))
        .send()
        .await
        .unwrap();
    let session = login
        .headers()
        .get_all("set-cookie")
        .iter()
        .find_map(|v| v.to_str().ok()?.strip_prefix("qudao_session="))
        .map(|v| v.split(';').next().unwrap().to_string())
        .expect("a session cookie");
    let cookie = format!("qudao_session={session}");
    let html = page(Some(cookie.clone()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains(&format!("订单 #{order_id} 收到新订单")),
        "{html}"
    );
    assert!(html.contains("<span id=\"unread\">1</span>"), "{html}");
    assert!(html.contains("/static/notify."), "{html}");
    let token = {
        let marker = "name=\"csrf_token\" value=\"";
        let at = html.find(marker).unwrap() + marker.len();
        html[at..at + html[at..].find('"').unwrap()].to_string()
    };
    let id = app
        .get("/api/v1/notifications", Some(&app.login(&producer).await))
        .await
        .body["items"][0]["id"]
        .as_i64()
        .unwrap();
    let mark = |token: &str| {
        app.client
            .post(format!("{}/notifications/{id}/read", app.address))
            .header("cookie", cookie.clone())
            .form(&[("csrf_token", token)])
            .send()
    };
    // Without the session's token nothing changes.
    assert_eq!(
        mark("forged").await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    let html = page(Some(cookie.clone()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("<span id=\"unread\">1</span>"));
    let r = mark(&token).await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let html = page(Some(cookie.clone()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("<span id=\"unread\">0</span>"), "{html}");
    assert!(!html.contains("标为已读"), "nothing left to mark");

    // In English too, and the live script is served.
    let html = page(Some(format!("{cookie}; qudao_lang=en")))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("<h1>Notifications"), "{html}");
    let js = app
        .client
        .get(format!("{}/static/notify.js", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(js.status(), StatusCode::OK);
    assert!(js.text().await.unwrap().contains("EventSource"));
}

async fn saved_search_alerts_reach_buyers_at_once_or_in_a_daily_digest(backend: Backend) {
    use qudao::notify::digest::send_due;
    use qudao::search::relay::{self, Relay, RelayConfig};
    use qudao::search::{Engine, SearchService, embedded::EmbeddedEngine};

    let Some(Mailroom {
        smtp,
        app,
        worker,
        _dir,
    }) = mailroom(backend).await
    else {
        return;
    };
    // The embedded index, kept in step by a relay the test drives.
    let index = tempfile::tempdir().unwrap();
    let engine = Engine::Embedded(EmbeddedEngine::open(index.path().join("index")).unwrap());
    let search = SearchService::new(engine, &app.db).await.unwrap();
    let mut relay = Relay::new(app.db.clone(), search, RelayConfig::default());
    let mut index_all = async || {
        while !relay::pending(&app.db).await.unwrap().is_empty() {
            assert_eq!(relay.run_once().await.unwrap().failed, 0);
        }
    };
    index_all().await;

    let daily = english_buyer(&app, "canteen-digest").await;
    let instant = crate::saved_searches::buyer_with_email(&app, "canteen-instant", "zh").await;
    for (token, body) in [
        (
            &daily,
            json!({"name": "Cheap potatoes", "alert": "daily", "query": {"q": "洋芋", "max_price_fen": 300}}),
        ),
        (
            &instant,
            json!({"name": "便宜洋芋", "query": {"q": "马铃薯", "max_price_fen": 300}}),
        ),
    ] {
        let r = app.post("/api/v1/saved-searches", Some(token), body).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    }
    let liewa = app.login("coop-liewa").await;
    let r = app
        .post(
            "/api/v1/listings",
            Some(&liewa),
            json!({"category_id": app.category_id("potato").await, "title": "列瓦村紫皮马铃薯",
                   "unit": "jin", "price_fen": 220, "stock": "5000"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let listing = r.body["id"].as_i64().unwrap();
    index_all().await;
    drain(&worker).await;

    // The instant alert is out at once, in Chinese.
    let to = |who: &str| {
        smtp.messages()
            .into_iter()
            .filter(|m| m.to.contains(&format!("{who}@canteen.example")))
            .collect::<Vec<_>>()
    };
    let mails = to("canteen-instant");
    assert_eq!(mails.len(), 1, "{mails:?}");
    let zh = &mails[0];
    assert_eq!(zh.subject, "新上架:列瓦村紫皮马铃薯,符合您的搜索“便宜洋芋”");
    assert!(zh.text.contains("【便宜洋芋】"), "{}", zh.text);
    assert!(zh.text.contains("列瓦村紫皮马铃薯:¥2.20/斤"), "{}", zh.text);
    assert!(
        zh.text.contains(&format!("/listings/{listing}")),
        "{}",
        zh.text
    );
    assert!(zh.text.contains("/unsubscribe?"), "not an essential email");
    assert!(
        zh.html.contains("<strong>列瓦村紫皮马铃薯</strong>"),
        "{}",
        zh.html
    );

    // The daily one is a notice at once; its email waits for the day's digest, which the
    // sweepers write once however many race.
    assert!(to("canteen-digest").is_empty());
    let notices = app.get("/api/v1/notifications", Some(&daily)).await.body;
    let title = "Newly listed: 列瓦村紫皮马铃薯, matching your search \"Cheap potatoes\"";
    assert_eq!(notices["items"][0]["topic"], "search.match", "{notices}");
    assert_eq!(notices["items"][0]["title"], title, "{notices}");
    let secret = "digest-secret";
    let now = chrono::Utc::now();
    assert_eq!(
        send_due(&app.db, now, "https://qudao.example", secret)
            .await
            .unwrap(),
        0
    );
    let tomorrow = now + chrono::Duration::days(1);
    let (a, b) = tokio::join!(
        send_due(&app.db, tomorrow, "https://qudao.example", secret),
        send_due(&app.db, tomorrow, "https://qudao.example", secret)
    );
    assert_eq!(a.unwrap() + b.unwrap(), 1);
    drain(&worker).await;
    let mails = to("canteen-digest");
    assert_eq!(mails.len(), 1, "{mails:?}");
    let en = &mails[0];
    let day = qudao::stats::domain::local_date(now);
    assert_eq!(
        en.subject,
        format!("Your qudao digest for {day}: 1 unread notice")
    );
    assert!(en.text.contains(&format!("- {title}")), "{}", en.text);
    assert!(
        en.text.contains(
            "No more emails about saved-search alerts: https://qudao.example/unsubscribe?"
        ),
        "{}",
        en.text
    );
    assert!(en.list_unsubscribe.contains("kind=search"), "{en:?}");
}

async fn a_daily_digest_gathers_the_emails_of_a_kind(backend: Backend) {
    use qudao::notify::digest::send_due;
    let Some(Mailroom {
        smtp,
        app,
        worker,
        _dir,
    }) = mailroom(backend).await
    else {
        return;
    };
    let producer = app.login("coop-panshi").await;
    let put = |body: serde_json::Value| {
        let (app, producer) = (&app, &producer);
        async move {
            app.call(
                reqwest::Method::PUT,
                "/api/v1/notification-preferences",
                Some(producer),
                Some(body),
            )
            .await
        }
    };
    // Orders are essential: always at once.
    let r = put(json!({"preferences": [{"kind": "order", "digest": true}]})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(r.fields(), ["digest"]);
    let r = put(json!({"preferences": [{"kind": "proposal", "digest": true}]})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let proposal_choice = r
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["kind"] == "proposal")
        .unwrap()
        .clone();
    assert_eq!(
        proposal_choice,
        json!({"kind": "proposal", "email": true, "digest": true, "essential": false})
    );

    // A canteen's request is matched with 盘石村's rice: the buyer hears at once, the
    // producer only in the app until the day is over.
    let (_, buyer, proposal) = rice_proposal(&app).await;
    drain(&worker).await;
    let to_producer = || {
        smtp.messages()
            .into_iter()
            .filter(|m| m.to.contains("coop-panshi@"))
            .collect::<Vec<_>>()
    };
    assert!(smtp.messages().iter().any(|m| m.to.contains("buyer@")));
    assert!(to_producer().is_empty());
    let notices = app.get("/api/v1/notifications", Some(&producer)).await.body;
    let title = notices["items"][0]["title"].as_str().unwrap().to_string();
    assert_eq!(
        title,
        format!("撮合方案 #{proposal}(2000 斤)有新的撮合方案")
    );

    // The next day, one digest, however many instances ask at once.
    let now = chrono::Utc::now();
    assert_eq!(
        send_due(&app.db, now, "https://qudao.example", "s")
            .await
            .unwrap(),
        0
    );
    let tomorrow = now + chrono::Duration::days(1);
    let (a, b) = tokio::join!(
        send_due(&app.db, tomorrow, "https://qudao.example", "s"),
        send_due(&app.db, tomorrow, "https://qudao.example", "s")
    );
    assert_eq!(a.unwrap() + b.unwrap(), 1);
    drain(&worker).await;
    let mails = to_producer();
    assert_eq!(mails.len(), 1, "{mails:?}");
    let m = &mails[0];
    let day = qudao::stats::domain::local_date(now);
    assert_eq!(m.subject, format!("渠道每日摘要({day}):1 条未读通知"));
    assert!(m.text.contains(&format!("- {title}")), "{}", m.text);
    assert!(
        m.text
            .contains("不想再收到撮合方案通知邮件:https://qudao.example/unsubscribe?"),
        "{}",
        m.text
    );
    assert!(m.html.contains(&title), "{}", m.html);
    assert!(
        m.message_id.starts_with("<qudao.digest-"),
        "{}",
        m.message_id
    );
    assert!(m.list_unsubscribe.contains("kind=proposal"), "{m:?}");

    // What the producer has read in the app by then needs no email.
    let r = app
        .post(
            &format!("/api/v1/proposals/{proposal}/decline"),
            Some(&buyer),
            json!({"reason": "价格再谈"}),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.text);
    drain(&worker).await;
    let r = app
        .get("/api/v1/notifications?unread=true", Some(&producer))
        .await;
    assert_eq!(
        r.body["items"][0]["topic"], "proposal.declined",
        "{}",
        r.text
    );
    let r = app
        .post("/api/v1/notifications/read-all", Some(&producer), json!({}))
        .await;
    assert!(r.status.is_success(), "{}", r.text);
    let later = tomorrow + chrono::Duration::days(1);
    assert_eq!(
        send_due(&app.db, later, "https://qudao.example", "s")
            .await
            .unwrap(),
        0
    );
    drain(&worker).await;
    assert_eq!(to_producer().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_notices_appear_live_in_a_real_browser() {
    let Some(browser) = crate::browser::Browser::start(360).await else {
        return;
    };
    let Some(app) = spawn_app_with(Backend::Sqlite, |_| {}).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let worker = Worker::new(app.db.clone(), &Settings::embedded(dir.path())).unwrap();
    // The producer signs in on the page and opens their notices on a phone-sized screen.
    let (org, producer, _) = staffed_org(&app).await;
    browser
        .goto(&format!("{}/login?next=/notifications", app.address))
        .await;
    browser.type_into("#username", &producer).await;
    browser
        .type_into("#password", crate::helpers::PASSWORD)
        .await;
    browser.click("form.sign-in button").await;
    assert!(
        browser.url().await.ends_with("/notifications"),
        "{}",
        browser.url().await
    );
    assert_eq!(browser.text("#unread").await, "0");

    // A buyer orders; the notice shows up on the open page without reloading it.
    let buyer = english_buyer(&app, "canteen-live-browser").await;
    let order_id = order_one(&app, &buyer, org, "live-browser").await;
    drain(&worker).await;
    browser
        .wait_for_text("#notices", &format!("订单 #{order_id} 收到新订单"))
        .await;
    browser.wait_for_text("#unread", "1").await;
}

crate::on_both_databases!(readiness_reports_the_smtp_server_on_its_own);

async fn readiness_reports_the_smtp_server_on_its_own(backend: Backend) {
    let port = free_port();
    let smtp = SmtpServer::start(port);
    let Some(app) = spawn_app_with(backend, |s| {
        s.smtp_url = Some(format!("smtp://127.0.0.1:{port}"));
    })
    .await
    else {
        return;
    };
    let r = app.get("/readyz", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["status"], "ready", "{}", r.text);
    assert_eq!(r.body["email"]["status"], "ok", "{}", r.text);

    drop(smtp);
    let r = app.get("/readyz", None).await;
    // Without email the site still sells: it stays in rotation, marked degraded.
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["status"], "degraded", "{}", r.text);
    assert_eq!(r.body["email"]["status"], "unreachable", "{}", r.text);
    assert!(
        !r.body["email"]["error"].as_str().unwrap_or("").is_empty(),
        "{}",
        r.text
    );
    assert_eq!(r.body["database"]["status"], "ok", "{}", r.text);
    assert_eq!(r.body["search"]["status"], "ok", "{}", r.text);
}
