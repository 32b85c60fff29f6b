//! Emails people can choose: a working unsubscribe link, saved-search alerts at once or in
//! the daily digest, and the digest that gathers a kind's emails.

use super::*;

crate::on_both_databases!(
    proposal_emails_carry_a_working_unsubscribe_link,
    saved_search_alerts_reach_buyers_at_once_or_in_a_daily_digest,
    a_daily_digest_gathers_the_emails_of_a_kind,
);

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
    let zilong = app.login("coop-zilong").await;
    let r = app
        .post(
            "/api/v1/listings",
            Some(&zilong),
            json!({"category_id": app.category_id("potato").await, "title": "孜龙村紫皮马铃薯",
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
    assert_eq!(zh.subject, "新上架:孜龙村紫皮马铃薯,符合您的搜索“便宜洋芋”");
    assert!(zh.text.contains("【便宜洋芋】"), "{}", zh.text);
    assert!(zh.text.contains("孜龙村紫皮马铃薯:¥2.20/斤"), "{}", zh.text);
    assert!(
        zh.text.contains(&format!("/listings/{listing}")),
        "{}",
        zh.text
    );
    assert!(zh.text.contains("/unsubscribe?"), "not an essential email");
    assert!(
        zh.html.contains("<strong>孜龙村紫皮马铃薯</strong>"),
        "{}",
        zh.html
    );

    // The daily one is a notice at once; its email waits for the day's digest, which the
    // sweepers write once however many race.
    assert!(to("canteen-digest").is_empty());
    let notices = app.get("/api/v1/notifications", Some(&daily)).await.body;
    let title = "Newly listed: 孜龙村紫皮马铃薯, matching your search \"Cheap potatoes\"";
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
