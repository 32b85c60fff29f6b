//! A cooperative removes a photo from its listing and then the listing itself, on the pages:
//! another cooperative can do neither, and the listing leaves the market.

use reqwest::StatusCode;

use crate::forms::page;
use crate::helpers::{Backend, hidden, spawn_app};
use crate::on_both_databases;
use crate::orders::listing_titled;
use crate::pages::signed_in;
use crate::photos::{png, upload};

on_both_databases!(a_cooperative_removes_a_photo_and_then_its_listing_on_the_pages);

async fn a_cooperative_removes_a_photo_and_then_its_listing_on_the_pages(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let url = &app.address;
    let token = app.login("coop-panshi").await;
    let listing = listing_titled(&app, "开江豆笋 手工晾晒").await;
    let added = upload(&app, &token, listing, "image/png", png(400, 300)).await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.text);
    let photo = added.body["id"].as_i64().unwrap();

    let coop = signed_in(url, "coop-panshi").await;
    let edit = format!("{url}/producer/listings/{listing}");
    let (_, html) = page(&coop, &edit).await;
    let remove = format!("/producer/listings/{listing}/photos/{photo}/delete");
    assert!(html.contains(&format!("action=\"{remove}\"")), "{html}");
    let csrf = hidden(&html, "csrf_token");

    // Another cooperative finds neither the photo nor the listing.
    let other = signed_in(url, "coop-zilong").await;
    let (_, theirs) = page(&other, &format!("{url}/producer/listings")).await;
    let their_csrf = hidden(&theirs, "csrf_token");
    for path in [
        remove.clone(),
        format!("/producer/listings/{listing}/delete"),
    ] {
        let r = other
            .post(format!("{url}{path}"))
            .form(&[("csrf_token", their_csrf.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
    }

    let r = coop
        .post(format!("{url}{remove}"))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let photos = app
        .get(&format!("/api/v1/listings/{listing}/photos"), None)
        .await;
    assert_eq!(photos.body, serde_json::json!([]), "{}", photos.text);

    let r = coop
        .post(format!("{url}/producer/listings/{listing}/delete"))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let gone = app.get(&format!("/api/v1/listings/{listing}"), None).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    let (status, _) = page(&coop, &edit).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
