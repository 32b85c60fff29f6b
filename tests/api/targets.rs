//! An official's year on the pages: a county's officials set its targets (slips beside their
//! fields, a region outside theirs refused), the county's page shows them, and a province's
//! official closes the quarter that ended, once.

use chrono::{Datelike, Utc};
use qudao::stats::domain::{Granularity, Period};
use reqwest::StatusCode;

use crate::forms::page;
use crate::helpers::{Backend, hidden, spawn_app};
use crate::on_both_databases;
use crate::pages::signed_in;

on_both_databases!(
    a_county_official_sets_the_year_s_targets_on_the_page,
    a_province_official_closes_the_quarter_that_ended_once,
);

async fn a_county_official_sets_the_year_s_targets_on_the_page(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let url = &app.address;
    let year = qudao::days::local_date(Utc::now()).year();
    let official = signed_in(url, "official-kaijiang").await;
    let (_, region) = page(&official, &format!("{url}/officials/regions/511723")).await;
    let link = format!("href=\"/officials/regions/511723/targets?year={year}\"");
    assert!(region.contains(&link), "{region}");
    let here = format!("{url}/officials/regions/511723/targets");
    let (status, html) = page(&official, &format!("{here}?year={year}")).await;
    assert_eq!(status, StatusCode::OK);
    let csrf = hidden(&html, "csrf_token");
    let send = |fields: [(&'static str, &'static str); 4]| {
        let mut form: Vec<(&str, String)> =
            fields.iter().map(|(k, v)| (*k, v.to_string())).collect();
        form.push(("csrf_token", csrf.clone()));
        let official = official.clone();
        let here = here.clone();
        async move { official.post(&here).form(&form).send().await.unwrap() }
    };
    let r = send([
        ("year", "20x6"),
        ("sales_yuan", "一百万"),
        ("households", "300"),
        ("new_organizations", "-2"),
    ])
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    for field in ["year", "sales_yuan"] {
        assert!(
            html.contains(&format!("id=\"{field}-error\"")),
            "{field}: {html}"
        );
    }
    assert!(html.contains("value=\"一百万\""), "what was typed is kept");
    let r = send([
        ("year", "1999"),
        ("sales_yuan", "10"),
        ("households", "3"),
        ("new_organizations", "-2"),
    ])
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    for field in ["year", "new_organizations"] {
        assert!(
            html.contains(&format!("id=\"{field}-error\"")),
            "{field}: {html}"
        );
    }
    let this_year: &'static str = Box::leak(year.to_string().into_boxed_str());
    let r = send([
        ("year", this_year),
        ("sales_yuan", "1000000.50"),
        ("households", "300"),
        ("new_organizations", "4"),
    ])
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let token = app.login("official-kaijiang").await;
    let set = app
        .get(
            &format!("/api/v1/stats/regions/511723/targets?year={year}"),
            Some(&token),
        )
        .await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.text);
    assert_eq!(set.body["targets"]["sales_fen"], 100_000_050);
    assert_eq!(set.body["targets"]["households"], 300);
    assert_eq!(set.body["targets"]["new_organizations"], 4);
    let (_, region) = page(&official, &format!("{url}/officials/regions/511723")).await;
    assert!(region.contains("¥1000000.50"), "{region}");
    // The form shows what is set.
    let (_, html) = page(&official, &format!("{here}?year={year}")).await;
    assert!(html.contains("value=\"1000000.50\""), "{html}");
    assert!(app.audited("stats.targets_set", "511723").await);

    // The province is not a county official's to set, nor is anything a buyer's.
    let (status, _) = page(
        &official,
        &format!("{url}/officials/regions/510000/targets"),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let buyer = signed_in(url, "buyer").await;
    let (status, _) = page(&buyer, &format!("{here}?year={year}")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

async fn a_province_official_closes_the_quarter_that_ended_once(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let url = &app.address;
    let now = Period::containing(Granularity::Quarter, qudao::days::local_date(Utc::now()));
    let last = now.prev().to_string();
    // A county's official reads the closed quarters but closes none.
    let county = signed_in(url, "official-kaijiang").await;
    let (status, html) = page(&county, &format!("{url}/officials/quarters")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!html.contains("id=\"close-form\""), "{html}");
    let csrf = hidden(&html, "csrf_token");
    let r = county
        .post(format!("{url}/officials/quarters"))
        .form(&[("csrf_token", csrf.as_str()), ("quarter", last.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    let province = signed_in(url, "official-sichuan").await;
    let (_, html) = page(&province, &format!("{url}/officials/quarters")).await;
    assert!(
        html.contains(&format!("name=\"quarter\" value=\"{last}\"")),
        "{html}"
    );
    let csrf = hidden(&html, "csrf_token");
    let close = |quarter: String| {
        let province = province.clone();
        let csrf = csrf.clone();
        async move {
            province
                .post(format!("{url}/officials/quarters"))
                .form(&[("csrf_token", csrf), ("quarter", quarter)])
                .send()
                .await
                .unwrap()
        }
    };
    // Not a quarter, and a quarter not yet over, come back beside the field.
    for bad in ["2026Q9".to_string(), now.to_string()] {
        let r = close(bad.clone()).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        let html = r.text().await.unwrap();
        assert!(html.contains("id=\"quarter-error\""), "{bad}: {html}");
    }
    let r = close(last.clone()).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, html) = page(&province, &format!("{url}/officials/quarters")).await;
    assert!(html.contains(&format!("id=\"quarter-{last}\"")), "{html}");
    // Once only.
    let r = close(last.clone()).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let token = app.login("official-sichuan").await;
    let listed = app.get("/api/v1/stats/quarters", Some(&token)).await;
    assert_eq!(listed.body[0]["quarter"], last, "{}", listed.text);
}
