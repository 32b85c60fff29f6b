//! Delivering what notifications send: emails to a real SMTP server in each reader's language,
//! an outage and dead emails retried, workers racing or stopped mid-batch, signed webhooks, and
//! readiness that names the SMTP server.

use super::*;

crate::on_both_databases!(
    order_emails_reach_each_side_in_their_language,
    email_survives_an_smtp_outage_and_dead_emails_can_be_retried,
    two_workers_racing_send_every_email_once,
    webhooks_are_signed_and_retried_until_the_endpoint_answers,
    a_worker_stopped_mid_batch_leaves_its_rows_to_another,
    readiness_reports_the_smtp_server_on_its_own,
);

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
