//! The site as people use it, in a real headless Chromium against the real `qudao serve` with
//! its demo market: a cooperative imports listings from a spreadsheet (one bad row first), a
//! buyer searches 洋芋 and finds them under 马铃薯, filters by county and orders; the
//! cooperative confirms and ships; the county's official downloads the quarterly report.
//! Once in Chinese on a 360 px phone and once in English on a 1 280 px screen. And the
//! quarterly 成效统计表 up the chain: 开江 submits, 达州 returns it, 开江 corrects and resubmits,
//! 达州 accepts, 四川 signs off and downloads the summary. Screenshots of each page go to
//! `target/screenshots/`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use calamine::Reader;
use serde_json::{Value, json};

use crate::browser::Browser;
use crate::helpers::{PASSWORD, Served, qudao, served, spawn_serve};

/// The demo's 开江县, where 盘石村's cooperative sells.
const KAIJIANG: &str = "511723";

pub(crate) struct Site {
    pub(crate) served: Served,
    _dir: tempfile::TempDir,
}

/// `qudao serve` on a fresh embedded database with the demo market.
pub(crate) fn site() -> Site {
    let dir = tempfile::tempdir().unwrap();
    let mut command = qudao(dir.path());
    command
        .env("QUDAO_DEMO_PASSWORD", PASSWORD)
        .env("QUDAO_RATE_LIMITS", "false");
    Site {
        served: served(spawn_serve(&mut command)),
        _dir: dir,
    }
}

pub(crate) fn screenshots() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots")
}

/// A sheet of listings as a producer would fill it in, one row per listing.
fn sheet(rows: &[[&str; 6]]) -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let ws = book.add_worksheet();
    let header = ["标题", "品类", "单位", "单价(元)", "库存", "描述"];
    for (c, h) in header.iter().enumerate() {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            let (r, c) = (r as u32 + 1, c as u16);
            // Numbers as numbers, the way a spreadsheet stores what was typed.
            match v.parse::<f64>() {
                Ok(n) => ws.write_number(r, c, n).unwrap(),
                Err(_) => ws.write_string(r, c, *v).unwrap(),
            };
        }
    }
    book.save_to_buffer().unwrap()
}

struct Words {
    lang: &'static str,
    placed: &'static str,
    confirmed: &'static str,
    shipped: &'static str,
    imported: &'static str,
    paused: &'static str,
    /// 道孚县 and 开江县 as the pages name them.
    daofu: &'static str,
    kaijiang: &'static str,
}

const ZH: Words = Words {
    lang: "zh",
    placed: "已下单",
    confirmed: "已确认",
    shipped: "已发货",
    imported: "已导入 2 件商品",
    paused: "已暂停",
    daofu: "道孚县",
    kaijiang: "开江县",
};
const EN: Words = Words {
    lang: "en",
    placed: "placed",
    confirmed: "confirmed",
    shipped: "shipped",
    imported: "2 listings imported",
    paused: "Paused",
    daofu: "Dawu County",
    kaijiang: "Kaijiang County",
};

pub(crate) async fn sign_in(b: &Browser, url: &str, user: &str, next: &str) {
    sign_in_with(b, url, (user, PASSWORD), next).await;
}

/// Signs in as `user` with `password` and waits for `next`.
pub(crate) async fn sign_in_with(
    b: &Browser,
    url: &str,
    (user, password): (&str, &str),
    next: &str,
) {
    b.goto(&format!("{url}/login?next={next}")).await;
    b.type_into("#username", user).await;
    b.type_into("#password", password).await;
    b.click("form.sign-in button").await;
    // The sign-in page's own address names `next` too: wait until the page has left it.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let at = b.url().await;
        if at.contains(next) && !at.contains("/login") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "signing in never led to {next}: {at}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub(crate) async fn sign_out(b: &Browser) {
    b.click("header form.inline button").await;
    b.find("header a[href='/login']").await;
}

/// Clicks the first link inside `css` whose text contains `text`.
pub(crate) async fn click_link(b: &Browser, css: &str, text: &str) {
    // A list filled by another flow on the same server may lag a moment: reload a few times.
    let mut found = json!(false);
    for _ in 0..20 {
        found = b
            .script(
                "const a = [...document.querySelectorAll(arguments[0] + ' a')].find(a => a.textContent.includes(arguments[1])); if (!a) return false; a.click(); return true;",
                json!([css, text]),
            )
            .await;
        if found == json!(true) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        let here = b.script("return location.href;", json!([])).await;
        b.goto(here.as_str().expect("the page's address")).await;
    }
    assert_eq!(found, json!(true), "no link {text:?} in {css}");
    // Let the next page load before anything looks at it.
    b.script(
        "await new Promise(r => setTimeout(r, 50)); while (document.readyState !== 'complete') await new Promise(r => setTimeout(r, 20)); return true;",
        json!([]),
    )
    .await;
}

async fn the_flows(width: u32, w: &Words) {
    let Some(b) = Browser::start(width).await else {
        return;
    };
    let site = site();
    let url = site.served.url.clone();
    let shots = screenshots();
    let shot = |name: &str| format!("{name}-{}-{width}", w.lang);
    b.goto(&format!("{url}/lang/{}", w.lang)).await;
    // The home page features the counties with most on sale, once the index has them.
    let deadline = Instant::now() + Duration::from_secs(20);
    while !b
        .script(
            "const c = document.querySelector('#featured-counties'); return !!c && c.textContent.includes(arguments[0]);",
            json!([w.daofu]),
        )
        .await
        .as_bool()
        .unwrap_or(false)
    {
        assert!(Instant::now() < deadline, "no featured counties on the home page");
        tokio::time::sleep(Duration::from_millis(300)).await;
        b.goto(&format!("{url}/")).await;
    }
    b.screenshot(&shots, &shot("home")).await;

    // The cooperative imports three potatoes; one price is not a price, so nothing is kept.
    sign_in(&b, &url, "coop-panshi", "/producer").await;
    b.screenshot(&shots, &shot("producer")).await;
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("listings-bad.xlsx");
    let good = dir.path().join("listings.xlsx");
    let row = |title, price| [title, "马铃薯", "斤", price, "800", "开江新宁河畔沙地种植"];
    std::fs::write(
        &bad,
        sheet(&[row("开江黄心马铃薯", "2.2"), row("开江红皮马铃薯", "两块")]),
    )
    .unwrap();
    std::fs::write(
        &good,
        sheet(&[row("开江黄心马铃薯", "2.2"), row("开江红皮马铃薯", "1.9")]),
    )
    .unwrap();
    b.goto(&format!("{url}/producer/import")).await;
    b.type_into("#sheet", bad.to_str().unwrap()).await;
    b.click("#import button").await;
    let report = b.text("#import-errors").await;
    assert!(
        report.contains("3 单价(元)") && report.contains("两块"),
        "the report names row 3's price: {report}"
    );
    b.screenshot(&shots, &shot("import-refused")).await;
    let listed: Value = reqwest::get(format!("{url}/api/v1/listings?per_page=100"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        !listed.to_string().contains("开江黄心马铃薯"),
        "a refused sheet keeps nothing"
    );
    b.type_into("#sheet", good.to_str().unwrap()).await;
    b.click("#import button").await;
    b.wait_for_text("#import-done", w.imported).await;

    // A listing by hand: a price in words is refused beside its field, with what was typed
    // kept; then a photo from the phone, and a pause that takes it off sale.
    b.goto(&format!("{url}/producer/listings/new")).await;
    b.type_into("#title", "盘石手工竹篮").await;
    b.click("#category_id option:nth-child(2)").await;
    b.type_into("#price_yuan", "三十").await;
    b.type_into("#stock", "40").await;
    b.click("#listing-form button").await;
    assert!(!b.text("#price_yuan-error").await.is_empty());
    assert_eq!(
        b.script("return document.querySelector('#title').value;", json!([]))
            .await,
        json!("盘石手工竹篮")
    );
    b.clear("#price_yuan").await;
    b.type_into("#price_yuan", "30").await;
    b.click("#listing-form button").await;
    let saved = b.wait_for_url("saved=1").await;
    let id: i64 = saved
        .rsplit('/')
        .next()
        .and_then(|s| s.split('?').next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no listing id in {saved}"));
    let photo = dir.path().join("basket.png");
    image::RgbImage::from_fn(900, 600, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, 90])
    })
    .save(&photo)
    .unwrap();
    b.type_into("#photo", photo.to_str().unwrap()).await;
    b.click("#photo-form button").await;
    b.find("#photos img").await;
    b.screenshot(&shots, &shot("listing-form")).await;
    let public = |id: i64| {
        let url = url.clone();
        async move {
            reqwest::get(format!("{url}/listings/{id}"))
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(public(id).await, reqwest::StatusCode::OK);
    b.goto(&format!("{url}/producer/listings")).await;
    let paused = b
        .script(
            "const row = [...document.querySelectorAll('#my-listings tr')].find(r => r.textContent.includes('盘石手工竹篮')); row.querySelector('button').click(); return true;",
            json!([]),
        )
        .await;
    assert_eq!(paused, json!(true));
    b.wait_for_text("#my-listings", w.paused).await;
    assert_eq!(public(id).await, reqwest::StatusCode::NOT_FOUND);
    sign_out(&b).await;

    // A buyer writes 洋芋 and finds 马铃薯 from two counties; 开江县 keeps only the new ones.
    sign_in(&b, &url, "buyer", "/search").await;
    // Typing pinyin offers the titles of matching listings before the search is sent.
    b.type_into("#q", "tudou").await;
    let offered = b
        .script(
            "for (let i = 0; i < 100; i++) { \
               const o = [...document.querySelectorAll('#suggestions option')].map(o => o.value); \
               if (o.length) return o; await new Promise(r => setTimeout(r, 100)); } return [];",
            json!([]),
        )
        .await;
    assert!(
        offered.to_string().contains("道孚高原洋芋"),
        "suggestions for tudou: {offered}"
    );
    b.clear("#q").await;
    b.type_into("#q", "洋芋").await;
    b.click("form.search button").await;
    let search_url = b.url().await;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let hits = b.text("#hits").await;
        if hits.contains("开江黄心马铃薯") {
            assert!(hits.contains("道孚高原洋芋"), "{hits}");
            break;
        }
        assert!(Instant::now() < deadline, "the import never showed: {hits}");
        tokio::time::sleep(Duration::from_millis(300)).await;
        b.goto(&search_url).await;
    }
    b.screenshot(&shots, &shot("search")).await;
    click_link(&b, "#county-facet", w.kaijiang).await;
    let hits = b.text("#hits").await;
    assert!(
        hits.contains("开江黄心马铃薯") && !hits.contains("道孚高原洋芋"),
        "only 开江县 is left: {hits}"
    );
    assert!(b.url().await.contains(&format!("county={KAIJIANG}")));
    click_link(&b, "#hits", "开江黄心马铃薯").await;
    b.screenshot(&shots, &shot("listing")).await;
    b.clear("#quantity").await;
    b.type_into("#quantity", "20").await;
    b.click("#add-to-cart button").await;
    b.wait_for_url("/cart").await;

    // A wrong phone number is shown beside the field, and what was typed stays.
    b.type_into("#recipient_name", "王芳").await;
    b.type_into("#phone", "12").await;
    b.click(&format!("#region_code option[value=\"{KAIJIANG}\"]"))
        .await;
    b.type_into("#line", "新宁镇幸福路 8 号").await;
    b.click("#checkout button").await;
    let error = b.text("#phone-error").await;
    assert!(!error.is_empty(), "no error beside the phone field");
    assert_eq!(
        b.script(
            "return document.querySelector('#recipient_name').value;",
            json!([])
        )
        .await,
        json!("王芳")
    );
    b.screenshot(&shots, &shot("checkout-error")).await;
    b.clear("#phone").await;
    b.type_into("#phone", "13800001234").await;
    b.click("#checkout button").await;
    b.wait_for_url("/orders?placed=1").await;
    let orders = b.text("#orders").await;
    assert!(
        orders.contains("开江黄心马铃薯") && orders.contains(w.placed),
        "{orders}"
    );
    b.screenshot(&shots, &shot("orders")).await;
    sign_out(&b).await;

    // The cooperative confirms and ships from its dashboard.
    sign_in(&b, &url, "coop-panshi", "/producer").await;
    click_link(&b, "#waiting", "#").await;
    b.click("#action-confirm button").await;
    b.wait_for_text("#order-status", w.confirmed).await;
    b.type_into("#carrier", "中国邮政").await;
    b.type_into("#tracking_number", "9876543210").await;
    b.click("#action-ship button").await;
    b.wait_for_text("#order-status", w.shipped).await;
    let timeline = b.text("#timeline").await;
    for step in [w.placed, w.confirmed, w.shipped] {
        assert!(timeline.contains(step), "{timeline}");
    }
    b.screenshot(&shots, &shot("order")).await;
    sign_out(&b).await;

    // 开江县's official opens the county page and downloads the quarter's report.
    sign_in(&b, &url, "official-kaijiang", "/officials").await;
    b.goto(&format!("{url}/officials/regions/{KAIJIANG}?period=2026Q4"))
        .await;
    // The report's link is there once the page is (the element lookup waits for it).
    b.find("a[href*=\"/report?\"][href*=\"format=xlsx\"]").await;
    b.screenshot(&shots, &shot("officials")).await;
    let got = b
        .script(
            "const a = document.querySelector('a[href*=\"/report?\"][href*=\"format=xlsx\"]'); \
             const r = await fetch(a.href); const bytes = new Uint8Array(await r.arrayBuffer()); \
             let s = ''; for (const x of bytes) s += String.fromCharCode(x); \
             return [r.status, r.headers.get('content-type'), btoa(s)];",
            json!([]),
        )
        .await;
    assert_eq!(got[0], 200, "{got}");
    assert!(got[1].as_str().unwrap().contains("spreadsheetml"), "{got}");
    use base64::Engine;
    let xlsx = base64::engine::general_purpose::STANDARD
        .decode(got[2].as_str().unwrap())
        .unwrap();
    let mut book = calamine::Xlsx::new(std::io::Cursor::new(xlsx)).expect("an XLSX workbook");
    let sheet = book.worksheet_range_at(0).unwrap().unwrap();
    let text: String = sheet.rows().flatten().map(|c| c.to_string()).collect();
    assert!(
        text.contains("开江县"),
        "the report is the county's: {text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_marketplace_works_in_chinese_on_a_phone() {
    the_flows(360, &ZH).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_marketplace_works_in_english_on_a_wide_screen() {
    the_flows(1280, &EN).await;
}

/// Trust, as a cooperative, its county and a buyer's phone meet it: the cooperative records
/// an organic certificate with its scan and submits it; 开江 verifies it; the badge shows in
/// search; the cooperative records a lot, ships an order from it, prints its label; the label's
/// trace page shows the village.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_and_a_lot_go_from_the_cooperative_to_the_trace_page_in_the_browser() {
    let Some(b) = Browser::start(1280).await else {
        return;
    };
    let site = site();
    let url = site.served.url.clone();
    let shots = screenshots();
    let dir = tempfile::tempdir().unwrap();
    let scan = dir.path().join("有机证书.pdf");
    std::fs::write(&scan, crate::certificates::SCAN).unwrap();
    let today = qudao::days::local_date(chrono::Utc::now());
    b.goto(&format!("{url}/lang/zh")).await;

    // 1. 盘石村's cooperative records the certificate, covering its rice, and submits it.
    sign_in(&b, &url, "coop-panshi", "/producer/certificates").await;
    b.script(
        "document.querySelector('#kind').value = 'organic'; \
         document.querySelector('#valid_from').value = arguments[0]; \
         document.querySelector('#valid_until').value = arguments[1]; \
         const rice = [...document.querySelectorAll('input[name=listing_ids]')] \
           .find(i => i.parentElement.textContent.includes('生态大米')); rice.checked = true; \
         return rice.value;",
        json!([
            (today - chrono::Duration::days(90)).to_string(),
            (today + chrono::Duration::days(700)).to_string()
        ]),
    )
    .await;
    b.type_into("#number", "ORG-511723-2026-88").await;
    b.type_into("#issuer", "中绿华夏有机产品认证中心").await;
    b.type_into("#products", "有机大米").await;
    b.click("#certificate-form button").await;
    b.wait_for_url("/certificates/").await;
    b.type_into("#certificate-file", scan.to_str().unwrap())
        .await;
    b.click("#file-form button").await;
    b.wait_for_text("#files", "有机证书.pdf").await;
    b.click("#submit-form button").await;
    b.wait_for_text("#certificate-status", "待审核").await;
    let certificate = b.url().await;
    sign_out(&b).await;

    // 2. 开江 finds it waiting and verifies it.
    sign_in(&b, &url, "official-kaijiang", "/officials/certificates").await;
    click_link(&b, "#review", "有机产品").await;
    b.wait_for_url("/certificates/").await;
    b.click("#approve-form button").await;
    b.wait_for_text("#certificate-status", "有效").await;
    assert_eq!(b.url().await, certificate);
    sign_out(&b).await;

    // 3. The badge shows on the rice in search.
    let mut badges = String::new();
    for _ in 0..40 {
        b.goto(&format!("{url}/search?certification=organic")).await;
        badges = b.text("#hits").await;
        if badges.contains("生态大米") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(
        badges.contains("生态大米") && badges.contains("有机产品"),
        "{badges}"
    );
    b.screenshot(&shots, "certified-search").await;

    // 4. A buyer orders 100 jin; the cooperative records a lot and ships from it.
    let client = reqwest::Client::new();
    let login = |user: &str| {
        client
            .post(format!("{url}/api/v1/auth/login"))
            .json(&json!({"username": user, "password": PASSWORD}))
    };
    let panshi = json_of(login("coop-panshi")).await["token"]
        .as_str()
        .unwrap()
        .to_string();
    let buyer = json_of(login("buyer")).await["token"]
        .as_str()
        .unwrap()
        .to_string();
    let me = json_of(
        client
            .get(format!("{url}/api/v1/auth/me"))
            .bearer_auth(&panshi),
    )
    .await;
    let listed = json_of(client.get(format!(
        "{url}/api/v1/listings?organization_id={}&certification=organic",
        me["organization_id"]
    )))
    .await;
    let rice = listed["items"][0]["id"]
        .as_i64()
        .expect("the certified rice");
    let placed = json_of(
        client
            .post(format!("{url}/api/v1/checkout"))
            .bearer_auth(&buyer)
            .header("idempotency-key", "trace-order")
            .json(&json!({"address": {"recipient_name": "王师傅", "phone": "028-86630890", "region_code": "510104", "line": "红星路二段 70 号"},
                          "lines": [{"listing_id": rice, "quantity": "100"}]})),
    )
    .await;
    let order = placed["orders"][0]["id"].as_i64().expect("an order");
    let confirmed = client
        .post(format!("{url}/api/v1/orders/{order}/confirm"))
        .bearer_auth(&panshi)
        .header("idempotency-key", "trace-confirm")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert!(confirmed.status().is_success());
    sign_in(
        &b,
        &url,
        "coop-panshi",
        &format!("/producer/listings/{rice}/lots"),
    )
    .await;
    b.find("#lot-form").await;
    b.type_into("#base", "三组水田").await;
    b.type_into("#households", "12").await;
    b.type_into("#quantity", "300").await;
    // The date and the sending in one step, on the form just filled in.
    b.script(
        "document.querySelector('#harvested_on').value = arguments[0]; \
         document.querySelector('#lot-form').submit(); return true;",
        json!([(today - chrono::Duration::days(12)).to_string()]),
    )
    .await;
    b.wait_for_text("#lots", "盘石村").await;
    b.goto(&format!("{url}/orders/{order}")).await;
    b.type_into("#carrier", "中国邮政").await;
    b.type_into("#tracking_number", "EMS511723").await;
    b.find("select[name^=lot_]").await;
    b.click("#action-ship button").await;
    b.wait_for_text("#order-status", "已发货").await;
    let code = b.text("#lots a").await;

    // 5. The label prints with its QR code; 6. its trace page shows the village.
    b.goto(&format!("{url}/lots/{code}/label")).await;
    let label = b.text("#label").await;
    assert!(
        label.contains("盘石村") && label.contains("ORG-511723-2026-88"),
        "{label}"
    );
    let loaded = b
        .script(
            "const i = document.querySelector('#qr'); \
             if (!i.complete) await new Promise(r => i.onload = r); return i.naturalWidth;",
            json!([]),
        )
        .await;
    assert!(
        loaded.as_u64().unwrap_or(0) > 100,
        "the QR code loads: {loaded}"
    );
    b.screenshot(&shots, "lot-label").await;
    b.goto(&format!("{url}/t/{code}")).await;
    let village = b.text("#village").await;
    assert!(
        village.contains("盘石村") && village.contains("开江县"),
        "{village}"
    );
    let households = b.text("#households").await;
    assert!(households.contains("12"), "{households}");
    b.screenshot(&shots, "trace-page").await;
}

/// The JSON answer to a request.
pub(crate) async fn json_of(request: reqwest::RequestBuilder) -> Value {
    request.send().await.unwrap().json().await.unwrap()
}

/// The quarterly report, as its three levels of reporting staff work it in their browsers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_quarterly_report_goes_up_the_chain_in_the_browser() {
    let Some(b) = Browser::start(1280).await else {
        return;
    };
    let site = site();
    let url = site.served.url.clone();
    let shots = screenshots();
    let q = qudao::stats::domain::Period::containing(
        qudao::stats::domain::Granularity::Quarter,
        qudao::stats::domain::local_date(chrono::Utc::now()),
    )
    .prev();
    let filing = format!("/officials/filings/{KAIJIANG}/{q}");
    b.goto(&format!("{url}/lang/zh")).await;

    // 1. 开江 opens its quarter from the county page, fills it in and submits.
    sign_in(&b, &url, "official-kaijiang", "/officials").await;
    b.click("#filing-link a").await;
    b.wait_for_url(&filing).await;
    let platform = b.text("#platform").await;
    assert!(platform.contains('¥'), "the platform's figures: {platform}");
    for (field, value) in [
        ("wage_income_fen", "12000.50"),
        ("dividend_income_fen", "3000"),
        ("offline_sales_fen", "8800"),
        ("collective_income_fen", "20000"),
        ("new_jobs", "12"),
        ("new_enterprises", "1"),
        ("new_cooperatives", "2"),
    ] {
        b.type_into(&format!("#v_{field}"), value).await;
    }
    b.type_into("#n_new_jobs", "扶贫车间吸纳就业").await;
    b.screenshot(&shots, "filing-draft").await;
    b.click("button[value=submit]").await;
    b.wait_for_text("#filing-status", "已报送待审核").await;
    sign_out(&b).await;

    // 2. 达州 returns it with a comment on the wages.
    sign_in(&b, &url, "official-dazhou", &filing).await;
    b.type_into("#c_wage_income_fen", "务工工资与人社台账不一致,请核对")
        .await;
    b.click("#return-form button").await;
    b.wait_for_text("#filing-status", "已退回").await;
    sign_out(&b).await;

    // 3. 开江 reads the comment, corrects the wages and submits again.
    sign_in(&b, &url, "official-kaijiang", &filing).await;
    let comment = b.text("#comment-wage_income_fen").await;
    assert!(comment.contains("人社台账"), "{comment}");
    b.clear("#v_wage_income_fen").await;
    b.type_into("#v_wage_income_fen", "15000").await;
    b.click("button[value=submit]").await;
    let status = b.wait_for_text("#filing-status", "已报送待审核").await;
    assert!(status.contains("版本 2"), "{status}");
    sign_out(&b).await;

    // 4. 达州 accepts.
    sign_in(&b, &url, "official-dazhou", &filing).await;
    b.click("#accept-form button").await;
    b.wait_for_text("#filing-status", "已审核").await;
    sign_out(&b).await;

    // 5. 四川 signs off and downloads the summary, which shows 开江's figures.
    let summary = format!("/officials/regions/510000/filings/{q}");
    sign_in(&b, &url, "official-sichuan", &summary).await;
    b.click("#sign-off-form button").await;
    b.wait_for_text(&format!("#county-{KAIJIANG}"), "省级已确认")
        .await;
    b.screenshot(&shots, "filing-summary").await;
    let got = b
        .script(
            "const a = document.querySelector('a[href*=\"/filings/\"][href*=\"format=xlsx\"]'); \
             const r = await fetch(a.href); const bytes = new Uint8Array(await r.arrayBuffer()); \
             let s = ''; for (const x of bytes) s += String.fromCharCode(x); \
             return [r.status, btoa(s)];",
            json!([]),
        )
        .await;
    assert_eq!(got[0], 200, "{got}");
    use base64::Engine;
    let xlsx = base64::engine::general_purpose::STANDARD
        .decode(got[1].as_str().unwrap())
        .unwrap();
    let mut book = calamine::Xlsx::new(std::io::Cursor::new(xlsx)).expect("an XLSX workbook");
    let sheet = book.worksheet_range_at(0).unwrap().unwrap();
    let rows: Vec<Vec<String>> = sheet
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect();
    let kaijiang = rows
        .iter()
        .find(|r| r[0] == KAIJIANG)
        .unwrap_or_else(|| panic!("开江 in {rows:?}"));
    let col = |name: &str| rows[0].iter().position(|h| h == name).unwrap();
    assert_eq!(kaijiang[col("报送状态")], "省级已确认");
    assert_eq!(
        kaijiang[col("务工工资收入(分)")],
        "1500000",
        "the corrected wages, in fen"
    );
    assert_eq!(kaijiang[col("新增就业人数")], "12");
    let total = rows.last().unwrap();
    assert_eq!(
        total[col("务工工资收入(分)")],
        "1500000",
        "the total is 开江's alone"
    );
}

/// Bytes of `path` as sent gzip-compressed, checking it was compressed.
async fn gzipped(client: &reqwest::Client, url: &str, path: &str) -> (reqwest::StatusCode, usize) {
    let r = client
        .get(format!("{url}{path}"))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    let status = r.status();
    let encoding = r
        .headers()
        .get("content-encoding")
        .map(|v| v.to_str().unwrap().to_string());
    let bytes = r.bytes().await.unwrap();
    assert_eq!(
        encoding.as_deref(),
        Some("gzip"),
        "{path} is sent uncompressed"
    );
    (status, bytes.len())
}

/// A client signed in through the sign-in form, keeping its cookies.
pub async fn signed_in(url: &str, user: &str) -> reqwest::Client {
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let html = client
        .get(format!("{url}/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = crate::helpers::hidden(&html, "form_token");
    let r = client
        .post(format!("{url}/login"))
        .form(&[
            ("username", user),
            ("password", PASSWORD),
            ("form_token", &token),
        ])
        .send()
        .await
        .unwrap();
    assert!(r.status().is_redirection(), "{user} did not sign in");
    client
}

/// Every page of the demo site, as each kind of person sees it, comes to under 60 KB over
/// the wire with its style sheet and script, before images.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_of_the_demo_site_is_under_60_kb_compressed() {
    const BUDGET: usize = 60 * 1024;
    let site = site();
    let url = site.served.url.clone();
    let anonymous = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let html = anonymous
        .get(&url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let linked = |prefix: &str| {
        html.split('"')
            .find(|s| s.starts_with(prefix))
            .unwrap_or_else(|| panic!("no link to {prefix}… in {html}"))
            .to_string()
    };
    let (_, css_bytes) = gzipped(&anonymous, &url, &linked("/static/app.")).await;
    let (_, search_js) = gzipped(&anonymous, &url, &linked("/static/search.")).await;
    let (_, js_bytes) = gzipped(&anonymous, &url, "/static/notify.js").await;
    let pages: [(&str, &[&str]); 5] = [
        (
            "",
            &[
                "/",
                "/search",
                "/search?q=洋芋",
                "/search?q=苹果&sort=price_asc",
                "/listings/1",
                "/listings/2",
                "/organizations/1",
                "/login",
                "/register",
                "/prices",
                "/prices?region=511723",
                "/certificates/notices",
                "/certificates/1",
                "/campaigns",
                "/campaigns/1",
                "/no-such-page",
            ],
        ),
        (
            "buyer",
            &[
                "/",
                "/cart",
                "/orders",
                "/notifications",
                "/search?q=大米",
                "/requests",
                "/saved-searches",
                "/units",
                "/units/1",
            ],
        ),
        (
            "coop-panshi",
            &[
                "/producer",
                "/producer/import",
                "/producer/listings",
                "/producer/listings/new",
                "/producer/organization",
                "/producer/certificates",
                "/producer/listings/4/lots",
                "/orders",
                "/requests",
                "/notifications",
            ],
        ),
        (
            "official-kaijiang",
            &[
                "/officials/regions/511723",
                "/officials/regions/511723?period=2026Q4",
                "/officials/certificates",
                "/officials/units",
                "/units",
            ],
        ),
        (
            "admin",
            &[
                "/admin",
                "/officials/regions/510000",
                "/officials/regions/511700",
                "/units/1",
                "/officials/units?region=510000",
            ],
        ),
    ];
    let mut report = Vec::new();
    for (user, paths) in pages {
        let client = if user.is_empty() {
            anonymous.clone()
        } else {
            signed_in(&url, user).await
        };
        for path in paths {
            let (status, page) = gzipped(&client, &url, path).await;
            let expected = if *path == "/no-such-page" {
                reqwest::StatusCode::NOT_FOUND
            } else {
                reqwest::StatusCode::OK
            };
            assert_eq!(status, expected, "{user} {path}");
            let script = if *path == "/notifications" {
                js_bytes
            } else if *path == "/" || path.starts_with("/search") {
                search_js
            } else {
                0
            };
            let total = page + css_bytes + script;
            report.push(format!("{user:>18} {path:<40} {total:>6} B"));
            assert!(total < BUDGET, "{user} {path} weighs {total} bytes");
        }
    }
    eprintln!(
        "page weights (gzip, with CSS and script):\n{}",
        report.join("\n")
    );
}

/// A union as its people and officials use it: its chair registers it on its page, the
/// province's official approves it, organizes a 年货节 for 道孚 and records the union's
/// twinning with 道孚; 孜龙村 signs its apples up; the chair adds a member and declares 500 yuan
/// of welfare per member; the member buys the apples for themselves from the shop; the
/// union's progress, the province's ranking, 道孚's help relations and the 年货节's report
/// all show that order, to the fen.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_union_registers_and_its_members_apples_count_on_its_page_and_the_provinces_ranking() {
    let Some(b) = Browser::start(1280).await else {
        return;
    };
    let site = site();
    let url = site.served.url.clone();
    let shots = screenshots();
    let client = reqwest::Client::new();
    for (user, name) in [("union-chair", "刘主席"), ("union-worker", "张师傅")] {
        let r = client
            .post(format!("{url}/api/v1/auth/register"))
            .json(&json!({"username": user, "password": "锦江区总工会会员", "display_name": name}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), reqwest::StatusCode::CREATED);
    }
    let sign_in_as = async |user: &str, next: &str| {
        b.goto(&format!("{url}/login?next={next}")).await;
        b.type_into("#username", user).await;
        b.type_into("#password", "锦江区总工会会员").await;
        b.click("form.sign-in button").await;
        b.wait_for_url(next).await;
        // The login page's own address names `next` too: wait for the page signed in.
        b.find("header form.inline button").await;
    };
    b.goto(&format!("{url}/lang/zh")).await;

    // The chair registers the union.
    sign_in_as("union-chair", "/units").await;
    b.type_into("#name", "成都市锦江区总工会").await;
    b.click("#kind option[value=\"union\"]").await;
    b.click("#region_code option[value=\"510104\"]").await;
    b.type_into("#contact_name", "刘主席").await;
    b.type_into("#contact_phone", "028-86630891").await;
    b.script(
        "document.querySelector('#counts_members').checked = true; document.querySelector('#unit-form').submit(); return true;",
        json!([]),
    )
    .await;
    b.wait_for_text("#unit-status", "已申请").await;
    let page = b.url().await;
    let unit = page.rsplit('/').next().unwrap().to_string();
    b.screenshot(&shots, "unit-applied").await;
    sign_out(&b).await;

    // The province's official finds it among the applications and approves it.
    sign_in(&b, &url, "official-sichuan", "/units").await;
    click_link(&b, "#unit-queue", "成都市锦江区总工会").await;
    b.click("#approve").await;
    b.wait_for_text("#unit-status", "已认证").await;
    // The official organizes a 年货节 for 道孚 and records the union's twinning with 道孚.
    let today = qudao::days::local_date(chrono::Utc::now());
    b.goto(&format!("{url}/campaigns")).await;
    b.type_into("#name", "道孚年货节").await;
    b.click("#kind option[value=\"new_year\"]").await;
    b.type_into("#counties", "513326").await;
    b.script(
        "document.querySelector('#starts_on').value = arguments[0]; \
         document.querySelector('#ends_on').value = arguments[1]; \
         document.querySelector('#campaign-form').submit(); return true;",
        json!([
            today.to_string(),
            (today + chrono::Duration::days(20)).to_string()
        ]),
    )
    .await;
    b.wait_for_text("#campaign-total", "0").await;
    let campaign = b.url().await;
    b.goto(&format!("{url}/officials/units")).await;
    b.click("#help-kind option[value=\"twinning\"]").await;
    let union_id = unit.clone();
    b.script(
        "document.querySelector('#helper_unit_id').value = arguments[0]; \
         document.querySelector('#helped_county_code').value = '513326'; \
         document.querySelector('#starts_on').value = arguments[1]; \
         document.querySelector('#help-form').submit(); return true;",
        json!([union_id, today.to_string()]),
    )
    .await;
    b.wait_for_text("#help", "成都市锦江区总工会").await;
    sign_out(&b).await;

    // 孜龙村's cooperative signs its apples up for the 年货节.
    sign_in(&b, &url, "coop-zilong", "/producer").await;
    b.goto(&campaign).await;
    b.script(
        "const o = [...document.querySelectorAll('#listing_id option')].find(o => o.textContent.includes('高原红富士苹果')); \
         document.querySelector('#listing_id').value = o.value; document.querySelector('#sign-up-form').submit(); return true;",
        json!([]),
    )
    .await;
    b.wait_for_text("#campaign-listings", "孜龙村高原红富士苹果")
        .await;
    sign_out(&b).await;

    // The chair adds a member and declares the year's welfare budget.
    sign_in_as("union-chair", &format!("/units/{unit}")).await;
    b.type_into("#username", "union-worker").await;
    b.click("#role option[value=\"member\"]").await;
    b.click("#member-form button").await;
    b.wait_for_text("#unit-people", "union-worker").await;
    b.click("#ob-kind option[value=\"fixed\"]").await;
    b.type_into("#per_member_yuan", "500").await;
    b.type_into("#members", "2").await;
    b.click("#obligation-form button").await;
    b.wait_for_text("#progress", "¥1000.00").await;
    sign_out(&b).await;

    // The member buys 50 jin of 孜龙村's apples for themselves.
    sign_in_as("union-worker", "/search").await;
    b.goto(&format!("{url}/search?q={}", "孜龙村高原红富士苹果"))
        .await;
    click_link(&b, "#hits", "孜龙村高原红富士苹果").await;
    b.clear("#quantity").await;
    b.type_into("#quantity", "50").await;
    b.click("#add-to-cart button").await;
    b.wait_for_url("/cart").await;
    b.type_into("#recipient_name", "张师傅").await;
    b.type_into("#phone", "13800001234").await;
    b.click("#region_code option[value=\"510104\"]").await;
    b.type_into("#line", "红星路二段 70 号").await;
    b.click("#checkout button").await;
    b.wait_for_url("/orders?placed=1").await;
    let worker = json_of(
        client
            .post(format!("{url}/api/v1/auth/login"))
            .json(&json!({"username": "union-worker", "password": "锦江区总工会会员"})),
    )
    .await["token"]
        .as_str()
        .unwrap()
        .to_string();
    let orders = json_of(
        client
            .get(format!("{url}/api/v1/orders"))
            .bearer_auth(&worker),
    )
    .await;
    let total = orders["items"][0]["total_fen"]
        .as_i64()
        .unwrap_or_else(|| panic!("the member's order: {orders}"));
    let amount = qudao::catalog::domain::format_yuan(total);
    sign_out(&b).await;

    // The union's page and the province's ranking show it.
    sign_in_as("union-chair", &format!("/units/{unit}")).await;
    assert_eq!(b.text("#unit-done").await, amount);
    let progress = b.text("#progress").await;
    assert!(progress.contains(&amount), "{progress}");
    b.screenshot(&shots, "unit-progress").await;
    sign_out(&b).await;
    sign_in(&b, &url, "official-sichuan", "/officials/units").await;
    let row_of = |table: String| {
        table
            .lines()
            .find(|l| l.contains("成都市锦江区总工会"))
            .unwrap_or_else(|| panic!("the union's row: {table}"))
            .to_string()
    };
    let row = row_of(b.text("#ranking").await);
    assert!(row.contains(&amount), "{row}");
    b.screenshot(&shots, "unit-ranking").await;
    // 道孚's help relations credit the union with the same amount…
    let help = b
        .reload_until(
            &format!("{url}/officials/units?region=513326"),
            "#help",
            &amount,
        )
        .await;
    let row = row_of(help);
    assert!(row.contains(&amount), "{row}");
    // …and the 年货节 counts the order for 道孚.
    b.goto(&campaign).await;
    let total = b.text("#campaign-total").await;
    assert!(total.contains(&amount), "{total}");
    let counties = b.text("#campaign-counties").await;
    assert!(counties.contains(&amount), "{counties}");
    b.screenshot(&shots, "campaign").await;
}
