//! What buyers searched for, as admins read it: the queries that found nothing and those
//! whose results were rarely opened, no buyer kept; and an alias added from the page that
//! search then understands.

use chrono::{Days, NaiveDate};
use qudao::search::queries::{QueryLog, report};
use reqwest::StatusCode;

use crate::forms::page;
use crate::helpers::{Backend, hidden};
use crate::on_both_databases;
use crate::pages::signed_in;
use crate::search::{EngineKind, enc, spawn_search_app_with};

on_both_databases!(
    admins_see_what_found_nothing_and_teach_search_the_word,
    the_report_covers_thirty_days_by_the_clock_it_is_given
);

async fn admins_see_what_found_nothing_and_teach_search_the_word(backend: Backend) {
    let Some(app) = spawn_search_app_with(EngineKind::Embedded, backend, |_| {}).await else {
        return;
    };
    let url = &app.address;
    let buyer = signed_in(url, "buyer").await;
    let search = |q: &'static str| {
        let buyer = buyer.clone();
        async move { page(&buyer, &format!("{url}/search?q={}", enc(q))).await.1 }
    };
    for _ in 0..2 {
        assert!(!search("洋坨坨").await.contains("id=\"hits\""));
    }
    for _ in 0..3 {
        search("大米").await;
    }
    let apples = search("苹果").await;
    search("苹果").await;
    search("苹果").await;
    // A result opened from the search counts for its query; later pages do not count again.
    let start = apples
        .find("href=\"/listings/")
        .unwrap_or_else(|| panic!("results link to their listing: {apples}"))
        + "href=\"".len();
    let href = &apples[start..start + apples[start..].find('"').unwrap()];
    assert!(href.contains("?from="), "{href}");
    let (status, _) = page(&buyer, &format!("{url}{href}")).await;
    assert_eq!(status, StatusCode::OK);
    page(&buyer, &format!("{url}/search?q={}&page=2", enc("大米"))).await;

    let admin = app.login("admin").await;
    let r = app.get("/api/v1/search/queries", Some(&admin)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let zero = &r.body["zero_results"];
    assert_eq!(zero[0]["query"], "洋坨坨", "{}", r.text);
    assert_eq!(
        (
            zero[0]["searches"].as_i64(),
            zero[0]["zero_results"].as_i64()
        ),
        (Some(2), Some(2))
    );
    assert_eq!(zero.as_array().unwrap().len(), 1, "{}", r.text);
    let low: Vec<(&str, i64, i64)> = r.body["low_clicks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| {
            (
                q["query"].as_str().unwrap(),
                q["searches"].as_i64().unwrap(),
                q["clicks"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(low, [("大米", 3, 0), ("苹果", 3, 1)]);
    // Nothing names who searched.
    for key in ["user", "user_id", "buyer", "ip"] {
        assert!(!r.text.contains(&format!("\"{key}\"")), "{}", r.text);
    }

    // Only admins read it.
    let buyer_token = app.login("buyer").await;
    let refused = app.get("/api/v1/search/queries", Some(&buyer_token)).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(
        refused.body["error"]["code"], "forbidden",
        "{}",
        refused.text
    );
    let (status, _) = page(&buyer, &format!("{url}/admin/search-queries")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // The admin adds the word to potatoes from the page; search finds potatoes by it.
    let admin_client = signed_in(url, "admin").await;
    let (status, html) = page(&admin_client, &format!("{url}/admin/search-queries")).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(
        html.contains("洋坨坨") && html.contains("id=\"zero-list\""),
        "{html}"
    );
    let token = hidden(&html, "csrf_token");
    let potato = app.category_id("potato").await;
    let post = |fields: Vec<(&'static str, String)>| {
        let client = admin_client.clone();
        let token = token.clone();
        async move {
            let mut form = vec![("csrf_token", token)];
            form.extend(fields);
            client
                .post(format!("{url}/admin/search-queries/alias"))
                .form(&form)
                .send()
                .await
                .unwrap()
        }
    };
    let refused = post(vec![
        ("alias", "洋坨坨".into()),
        ("category_id", String::new()),
    ])
    .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = refused.text().await.unwrap();
    assert!(html.contains("id=\"category_id-error\""), "{html}");
    let refused = post(vec![
        ("alias", "洋坨坨".into()),
        ("category_id", "999999".into()),
    ])
    .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let refused = post(vec![
        ("alias", " ".into()),
        ("category_id", potato.to_string()),
    ])
    .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let added = post(vec![
        ("alias", "洋坨坨".into()),
        ("category_id", potato.to_string()),
    ])
    .await;
    assert_eq!(added.status(), StatusCode::SEE_OTHER);
    assert!(app.audited("category.alias.add", potato).await);
    app.wait_until_indexed().await;
    let found = app.titles(&format!("q={}", enc("洋坨坨"))).await;
    assert_eq!(found, ["道孚高原洋芋"], "{found:?}");
}

async fn the_report_covers_thirty_days_by_the_clock_it_is_given(backend: Backend) {
    let Some(app) = crate::helpers::spawn_app(backend).await else {
        return;
    };
    let day = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
    let log = QueryLog::default();
    log.searched("松容", 0);
    log.searched("松容", 0);
    log.write(&app.db, day).await.unwrap();
    // A second instance writes the same day: the counts add up.
    let other = QueryLog::default();
    other.searched("松容", 0);
    other.searched("松茸", 4);
    assert_eq!(other.write(&app.db, day).await.unwrap(), 2);
    assert_eq!(other.write(&app.db, day).await.unwrap(), 0);

    let on = report(&app.db, day + Days::new(29), 10).await.unwrap();
    assert_eq!(on.since, day);
    assert_eq!(on.zero_results.len(), 1);
    assert_eq!(
        (
            on.zero_results[0].query.as_str(),
            on.zero_results[0].zero_results
        ),
        ("松容", 3)
    );
    let after = report(&app.db, day + Days::new(30), 10).await.unwrap();
    assert!(after.zero_results.is_empty(), "{after:?}");
    let before = report(&app.db, day - Days::new(1), 10).await.unwrap();
    assert!(before.zero_results.is_empty(), "{before:?}");
}
