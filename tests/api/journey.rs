//! A new cooperative's way from joining to its first sale counted, in a real headless
//! Chromium against `qudao serve`, through the pages alone: nobody calls the API. The
//! cooperative registers and applies; 开江's official recommends it; the admin approves it; it
//! lists rice with a photo; a new buyer registers, searches, orders and changes a quantity in
//! the cart on the way; the cooperative confirms, ships and records the offline payment; the
//! buyer receives and completes; the official sets the year's targets, sees the sale on the
//! dashboard and downloads the report. Screenshots of the dashboard at 360 px and 1 280 px, in
//! Chinese and English, go to `target/screenshots/`.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::browser::Browser;
use crate::pages::{click_link, screenshots, sign_in, sign_in_with, sign_out, site};

/// The password the new cooperative and buyer choose.
const PASSWORD: &str = "sichuan-market-2027";

/// Fen from a price as the pages write it, `¥1234.50`.
fn fen(shown: &str) -> i64 {
    let digits: String = shown
        .chars()
        .skip_while(|c| !c.is_ascii_digit())
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    let (yuan, cents) = digits.split_once('.').unwrap_or((&digits, "0"));
    yuan.parse::<i64>().unwrap() * 100 + format!("{cents:0<2}")[..2].parse::<i64>().unwrap()
}

/// The amount in fen of a dashboard card's text, e.g. `销售额 ¥1234.50 ▲ +3.00% 上期 ¥1198.00`.
fn counted(card: &str) -> i64 {
    card.split_whitespace()
        .find(|w| w.starts_with('¥'))
        .map(fen)
        .unwrap_or_else(|| panic!("no amount in {card}"))
}

/// Registers on `/register` as `role` and waits for the page registering leads to.
async fn register(b: &Browser, url: &str, role: &str, who: (&str, &str), lands: &str) {
    b.goto(&format!("{url}/register")).await;
    b.click(&format!("#role-{role}")).await;
    b.type_into("#username", who.0).await;
    b.type_into("#display_name", who.1).await;
    b.type_into("#password", PASSWORD).await;
    b.click("#register button").await;
    // Registering leads away from `/register`; only then is the landing page the one shown.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let at = b.url().await;
        let path = at
            .splitn(4, '/')
            .nth(3)
            .map_or("", |p| p.split('?').next().unwrap_or(""));
        if format!("/{path}") == lands {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "registering never led to {lands}: {at}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until `css` is no longer on the page at `url`, the step before having gone through.
async fn gone(b: &Browser, url: &str, css: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let there = b
            .script(
                "return !!document.querySelector(arguments[0]);",
                json!([css]),
            )
            .await;
        if there == json!(false) {
            return;
        }
        assert!(Instant::now() < deadline, "{css} is still on {url}");
        tokio::time::sleep(Duration::from_millis(200)).await;
        b.goto(url).await;
    }
}

/// Chooses the option of select `css` whose text contains `text`.
async fn choose(b: &Browser, css: &str, text: &str) {
    let chosen = b
        .script(
            "const s = document.querySelector(arguments[0]); \
             const o = [...s.options].find(o => o.textContent.includes(arguments[1])); \
             if (!o) return false; s.value = o.value; return true;",
            json!([css, text]),
        )
        .await;
    assert_eq!(
        chosen,
        json!(true),
        "no {text:?} in {css}: {}",
        b.text("main").await
    );
}

/// The id in `prefix{id}` of the first element inside `css` whose text contains `text`.
async fn id_of(b: &Browser, css: &str, text: &str, prefix: &str) -> String {
    let id = b
        .script(
            "const e = [...document.querySelectorAll(arguments[0])].find(e => e.textContent.includes(arguments[1])); \
             return e ? e.id : null;",
            json!([css, text]),
        )
        .await;
    id.as_str()
        .and_then(|i| i.strip_prefix(prefix))
        .unwrap_or_else(|| panic!("no {css} with {text:?}: {id}"))
        .to_string()
}

#[tokio::test]
async fn a_cooperative_joins_sells_and_is_counted_through_the_pages_alone() {
    let Some(b) = Browser::start(1280).await else {
        return;
    };
    let site = site();
    let url = site.served.url.clone();
    let shots = screenshots();
    let org_name = "开江县讲治镇稻香种植专业合作社";
    let title = "讲治稻香新米";

    b.goto(&format!("{url}/lang/zh")).await;

    // 1. The cooperative registers and applies for its organization.
    register(
        &b,
        &url,
        "producer",
        ("jiangzhi-rice", "赵春"),
        "/producer/organization",
    )
    .await;
    b.type_into("#name", org_name).await;
    b.click("#kind option[value=\"cooperative\"]").await;
    b.click("#region_code option[value=\"511723\"]").await;
    b.type_into("#description", "一百二十户社员，种植优质稻")
        .await;
    b.type_into("#contact_name", "赵春").await;
    b.type_into("#contact_phone", "13800002222").await;
    b.click("#apply-form button").await;
    b.wait_for_text("main", org_name).await;
    sign_out(&b).await;

    // 2. 开江's official recommends it from the county's queue (and reads what the county has
    //    sold this quarter so far).
    sign_in(&b, &url, "official-kaijiang", "/officials/regions/511723").await;
    let before = counted(&b.text("#card-stats_sales").await);
    b.goto(&format!("{url}/officials/organizations")).await;
    let org = id_of(&b, "#applications li", org_name, "org-").await;
    b.click(&format!("#org-{org} button.approve")).await;
    gone(
        &b,
        &format!("{url}/officials/organizations"),
        &format!("#org-{org} button.approve"),
    )
    .await;
    sign_out(&b).await;

    // 3. The admin approves it.
    sign_in(&b, &url, "admin", "/admin").await;
    b.click(&format!("#org-{org} button.approve")).await;
    gone(&b, &format!("{url}/admin"), &format!("#org-{org}")).await;
    sign_out(&b).await;

    // 4. The cooperative lists its rice, with a photo.
    sign_in_with(
        &b,
        &url,
        ("jiangzhi-rice", PASSWORD),
        "/producer/listings/new",
    )
    .await;
    b.type_into("#title", title).await;
    choose(&b, "#category_id", "大米").await;
    b.click("#unit option[value=\"jin\"]").await;
    b.type_into("#price_yuan", "6.50").await;
    b.type_into("#stock", "800").await;
    b.click("#listing-form button").await;
    b.wait_for_url("saved=1").await;
    let dir = tempfile::tempdir().unwrap();
    let photo = dir.path().join("rice.png");
    image::RgbImage::from_fn(1200, 900, |x, y| {
        image::Rgb([200, (x % 200) as u8 + 40, (y % 120) as u8])
    })
    .save(&photo)
    .unwrap();
    b.type_into("#photo", photo.to_str().unwrap()).await;
    b.click("#photo-form button").await;
    b.find("#photos img").await;
    sign_out(&b).await;

    // 5. A buyer registers, searches, orders, and changes the quantity in the cart.
    register(&b, &url, "buyer", ("canteen-zhou", "周师傅"), "/").await;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        b.goto(&format!(
            "{url}/search?q=%E7%A8%BB%E9%A6%99%E6%96%B0%E7%B1%B3"
        ))
        .await;
        let found = b
            .script(
                "const h = document.querySelector('#hits'); return !!h && h.textContent.includes(arguments[0]);",
                json!([title]),
            )
            .await;
        if found == json!(true) {
            break;
        }
        assert!(Instant::now() < deadline, "the new listing is never found");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    click_link(&b, "#hits", title).await;
    b.clear("#quantity").await;
    b.type_into("#quantity", "10").await;
    b.click("#add-to-cart button").await;
    b.wait_for_url("/cart").await;
    let line = id_of(&b, "form[id^='line-']", "", "line-").await;
    b.clear(&format!("#quantity-{line}")).await;
    b.type_into(&format!("#quantity-{line}"), "12").await;
    b.click(&format!("#line-{line} button")).await;
    b.wait_for_url("/cart").await;
    b.goto(&format!("{url}/cart")).await;
    let kept = b
        .script(
            "return document.querySelector(arguments[0]).value;",
            json!([format!("#quantity-{line}")]),
        )
        .await;
    assert_eq!(kept, json!("12"), "the cart keeps the changed quantity");
    b.type_into("#recipient_name", "周师傅").await;
    b.type_into("#phone", "13800003333").await;
    b.click("#region_code option[value=\"511723\"]").await;
    b.type_into("#line", "新宁镇南街 3 号").await;
    b.click("#checkout button").await;
    b.wait_for_url("/orders?placed=1").await;
    let order = b
        .script(
            "const li = [...document.querySelectorAll('#orders li')].find(l => l.textContent.includes(arguments[0])); \
             return li ? li.querySelector('a[href^=\"/orders/\"]').getAttribute('href') : null;",
            json!([title]),
        )
        .await;
    let order_path = order
        .as_str()
        .unwrap_or_else(|| panic!("no order of {title}"));
    let goods = 12 * 650;
    sign_out(&b).await;

    // 6. The cooperative confirms, ships and records the offline payment.
    sign_in_with(&b, &url, ("jiangzhi-rice", PASSWORD), order_path).await;
    b.click("#action-confirm button").await;
    b.wait_for_text("#order-status", "已确认").await;
    b.type_into("#carrier", "中国邮政").await;
    b.type_into("#tracking_number", "9800012345").await;
    b.click("#action-ship button").await;
    b.wait_for_text("#order-status", "已发货").await;
    b.click("#payment-paid_offline button").await;
    b.wait_for_text("#payment-status", "已线下付款").await;
    sign_out(&b).await;

    // 7. The buyer receives the rice and completes the order.
    sign_in_with(&b, &url, ("canteen-zhou", PASSWORD), order_path).await;
    b.click("#action-receive button").await;
    b.wait_for_text("#order-status", "已收货").await;
    b.click("#action-complete button").await;
    b.wait_for_text("#order-status", "已完成").await;
    sign_out(&b).await;

    // 8. The official sets the year's targets, sees the sale on the dashboard and downloads
    //    the quarter's report.
    sign_in(
        &b,
        &url,
        "official-kaijiang",
        "/officials/regions/511723/targets",
    )
    .await;
    b.clear("#sales_yuan").await;
    b.type_into("#sales_yuan", "200000").await;
    b.clear("#households").await;
    b.type_into("#households", "120").await;
    b.clear("#new_organizations").await;
    b.type_into("#new_organizations", "3").await;
    b.click("#targets-form button").await;
    b.wait_for_url("/officials/regions/511723").await;
    let goal = b.text("#goal-stats_sales").await;
    assert!(goal.contains("¥200000.00"), "{goal}");
    assert!(
        b.text("#goal-stats_new_organizations")
            .await
            .contains(" / 3"),
        "the new cooperative counts towards the year's new organizations"
    );
    // The projector counts the completed sale a moment after it completes.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let card = b.text("#card-stats_sales").await;
        if counted(&card) == before + goods {
            break;
        }
        assert!(Instant::now() < deadline, "{card}: not {before} + {goods}");
        tokio::time::sleep(Duration::from_millis(300)).await;
        b.goto(&format!("{url}/officials/regions/511723")).await;
    }
    assert!(b.text("#ranked-products").await.contains("大米"));
    let got = b
        .script(
            "const a = document.querySelector('a[href*=\"/report?\"][href*=\"format=xlsx\"]'); \
             const r = await fetch(a.href); return [r.status, r.headers.get('content-type')];",
            json!([]),
        )
        .await;
    assert_eq!(got[0], 200, "{got}");
    assert!(got[1].as_str().unwrap().contains("spreadsheetml"), "{got}");

    // The dashboard, on a phone and a wide screen, in both languages.
    for lang in ["zh", "en"] {
        b.goto(&format!("{url}/lang/{lang}")).await;
        for width in [360, 1280] {
            b.resize(width, 1400).await;
            b.goto(&format!("{url}/officials/regions/511723")).await;
            b.find("#cards").await;
            b.screenshot(&shots, &format!("dashboard-{lang}-{width}"))
                .await;
        }
    }
}
