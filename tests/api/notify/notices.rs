//! In-app notices: who hears of an order, an application, low stock and last week's sales,
//! live over server-sent events and in a real browser, and read and cleared on the page.

use super::*;

crate::on_both_databases!(
    new_notices_arrive_live_as_server_sent_events,
    an_application_reaches_its_county_then_the_admins_then_the_applicant,
    a_producer_hears_once_when_a_sale_leaves_stock_low,
    officials_get_last_weeks_sales_of_their_region_once,
    notices_are_read_and_cleared_on_the_page,
);

async fn new_notices_arrive_live_as_server_sent_events(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |_| {}).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let worker = Worker::new(app.db.clone(), &Settings::embedded(dir.path()))
        .unwrap()
        .ringing(app.bell.clone());
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
            json!({"name": "开江县程家沟村土鸡养殖专业合作社", "kind": "cooperative", "region_code": "511723105207",
                   "description": "林下散养土鸡", "contact_name": "程大勇", "contact_phone": "135-0818-1235"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let org = r.body["id"].as_i64().unwrap();
    drain(&worker).await;
    // The officials who may recommend it hear of it: 开江, 达州 and 四川, not 道孚 or the admins.
    let to: Vec<String> = smtp.messages().iter().map(|m| m.to.clone()).collect();
    assert_eq!(to.len(), 3, "{to:?}");
    assert!(to.iter().any(|t| t.contains("official-dazhou@")), "{to:?}");
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
    assert_eq!(mails.len(), 4);
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
    assert_eq!(mails.len(), 5);
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
    app.project().await;

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
    assert_eq!(mails.len(), 3, "one to each official: {mails:?}");
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_notices_appear_live_in_a_real_browser() {
    let Some(browser) = crate::browser::Browser::start(360).await else {
        return;
    };
    let Some(app) = spawn_app_with(Backend::Sqlite, |_| {}).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let worker = Worker::new(app.db.clone(), &Settings::embedded(dir.path()))
        .unwrap()
        .ringing(app.bell.clone());
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
