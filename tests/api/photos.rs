//! Listing photos as producers upload them and buyers see them: only images, judged by their
//! content, within size limits, re-encoded; only by the listing's own cooperative.

use std::io::Cursor;

use reqwest::{Method, StatusCode};

use crate::helpers::{Backend, TestApp, spawn_app};
use crate::on_both_databases;

on_both_databases!(
    producers_add_photos_that_are_served_reencoded,
    only_images_within_limits_are_taken
);

pub(crate) fn png(width: u32, height: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, 120])
    });
    let mut out = Vec::new();
    img.write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
        .unwrap();
    out
}

pub(crate) async fn upload(
    app: &TestApp,
    token: &str,
    listing: i64,
    content_type: &str,
    body: Vec<u8>,
) -> crate::helpers::Reply {
    app.call_raw(
        Method::POST,
        &format!("/api/v1/listings/{listing}/photos"),
        Some(token),
        content_type,
        body,
    )
    .await
}

async fn producers_add_photos_that_are_served_reencoded(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (panshi, listing) = app.panshi_sells_rice("500").await;
    let r = upload(&app, &panshi, listing, "image/png", png(2400, 1800)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(
        (r.body["width"].as_i64(), r.body["height"].as_i64()),
        (Some(1280), Some(960))
    );
    let photo = r.body["id"].as_i64().unwrap();

    // Anyone sees the listing's photos and fetches their images.
    let list = app
        .get(&format!("/api/v1/listings/{listing}/photos"), None)
        .await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(list.body.as_array().unwrap().len(), 1);
    for (key, side) in [("url", 1280), ("thumbnail_url", 320)] {
        let url = list.body[0][key].as_str().unwrap();
        let got = app
            .client
            .get(format!("{}{url}", app.address))
            .send()
            .await
            .unwrap();
        assert_eq!(got.status(), StatusCode::OK);
        assert_eq!(got.headers()["content-type"], "image/jpeg");
        assert!(
            got.headers()["cache-control"]
                .to_str()
                .unwrap()
                .contains("immutable")
        );
        let bytes = got.bytes().await.unwrap();
        let decoded = image::load_from_memory(&bytes).unwrap();
        assert_eq!(
            image::guess_format(&bytes).unwrap(),
            image::ImageFormat::Jpeg
        );
        assert_eq!(decoded.width(), side, "{key}");
    }

    // Another cooperative cannot add to it or remove from it; nor can a buyer.
    let zilong = app.login("coop-zilong").await;
    let r = upload(&app, &zilong, listing, "image/png", png(20, 20)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let buyer = app.login("buyer").await;
    let r = upload(&app, &buyer, listing, "image/png", png(20, 20)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let path = format!("/api/v1/listings/{listing}/photos/{photo}");
    assert_eq!(
        app.call(Method::DELETE, &path, Some(&zilong), None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    // Up to eight photos; the ninth is refused and nothing of it is kept.
    for _ in 1..8 {
        let r = upload(&app, &panshi, listing, "image/png", png(40, 30)).await;
        assert_eq!(r.status, StatusCode::CREATED);
    }
    let r = upload(&app, &panshi, listing, "image/png", png(40, 30)).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.code(), "too_many_photos");
    let list = app
        .get(&format!("/api/v1/listings/{listing}/photos"), None)
        .await;
    let positions: Vec<i64> = list
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["position"].as_i64().unwrap())
        .collect();
    assert_eq!(positions, (0..8).collect::<Vec<_>>());

    // The cooperative removes one; its images go with it.
    assert_eq!(
        app.call(Method::DELETE, &path, Some(&panshi), None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    // A photo added after the removal comes last, after every position still taken.
    let r = upload(&app, &panshi, listing, "image/png", png(40, 30)).await;
    assert_eq!(r.status, StatusCode::CREATED);
    let list = app
        .get(&format!("/api/v1/listings/{listing}/photos"), None)
        .await;
    let positions: Vec<i64> = list
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["position"].as_i64().unwrap())
        .collect();
    assert_eq!(positions, (1..9).collect::<Vec<_>>());
    let gone = app
        .get(&format!("/api/v1/photos/{photo}/large"), None)
        .await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    assert_eq!(
        app.get(&format!("/api/v1/photos/{photo}/other"), None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

async fn only_images_within_limits_are_taken(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (panshi, listing) = app.panshi_sells_rice("500").await;
    // Whatever it is called, a page of HTML or a script is not an image.
    for (content_type, body) in [
        (
            "image/png",
            b"<html><script>alert(document.cookie)</script></html>".to_vec(),
        ),
        ("image/jpeg", b"#!/bin/sh\nrm -rf /\n".to_vec()),
        ("image/png", png(30, 30)[..60].to_vec()),
        ("application/octet-stream", Vec::new()),
    ] {
        let r = upload(&app, &panshi, listing, content_type, body).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
        assert_eq!(r.body["error"]["fields"]["photo"]["code"], "not_an_image");
    }
    // Too many pixels, and too many bytes.
    let r = upload(
        &app,
        &panshi,
        listing,
        "image/png",
        png(qudao::catalog::photos::MAX_SIDE + 1, 4),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.body["error"]["fields"]["photo"]["code"], "too_large");
    let huge = vec![0u8; qudao::catalog::photos::MAX_UPLOAD_BYTES + 1];
    let r = upload(&app, &panshi, listing, "image/jpeg", huge).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(r.code(), "payload_too_large");
    // Nothing refused was kept.
    let list = app
        .get(&format!("/api/v1/listings/{listing}/photos"), None)
        .await;
    assert_eq!(list.body, serde_json::json!([]));
    // Other bodies keep their own, smaller limit.
    let big_json = format!("{{\"title\":\"{}\"}}", "米".repeat(600_000));
    let r = app
        .call_raw(
            Method::PATCH,
            &format!("/api/v1/listings/{listing}"),
            Some(&panshi),
            "application/json",
            big_json.into_bytes(),
        )
        .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
}

/// Sends a request whose body trickles in over `over`, and reads the answer.
async fn trickle(app: &TestApp, head: &str, body: &[u8], over: std::time::Duration) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let host = app.address.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(host).await.unwrap();
    let head = format!(
        "{head}\r\nHost: {host}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let pieces: Vec<&[u8]> = body.chunks(body.len().div_ceil(8)).collect();
    for piece in &pieces {
        tokio::time::sleep(over / pieces.len() as u32).await;
        if stream.write_all(piece).await.is_err() {
            break;
        }
    }
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.ok();
    String::from_utf8_lossy(&answer).into_owned()
}

/// Over a slow mobile link a photo takes longer to send than other requests may take; other
/// requests still time out with a clear answer, and nothing of them is kept.
#[tokio::test]
async fn slow_uploads_are_given_time_that_other_requests_are_not() {
    let app = spawn_app(Backend::Sqlite)
        .await
        .expect("SQLite always runs");
    let (panshi, listing) = app.panshi_sells_rice("500").await;
    let slow = qudao::http::middleware::REQUEST_TIMEOUT + std::time::Duration::from_secs(4);
    let photo = png(300, 200);
    let upload_head = format!(
        "POST /api/v1/listings/{listing}/photos HTTP/1.1\r\nAuthorization: Bearer {panshi}\r\nContent-Type: image/png"
    );
    let patch_head = format!(
        "PATCH /api/v1/listings/{listing} HTTP/1.1\r\nAuthorization: Bearer {panshi}\r\nContent-Type: application/json"
    );
    let upload = trickle(&app, &upload_head, &photo, slow);
    let patch = trickle(&app, &patch_head, br#"{"price_fen": 499}"#, slow);
    let (upload, patch) = tokio::join!(upload, patch);
    assert!(upload.starts_with("HTTP/1.1 201"), "{upload}");
    assert!(patch.starts_with("HTTP/1.1 408"), "{patch}");
    assert!(patch.contains("\"request_timeout\""), "{patch}");
    assert_eq!(app.listing_row(listing).await.price_fen, 1200);
}
