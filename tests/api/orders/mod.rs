//! Orders end to end: carts, checkout, stock under concurrency, idempotency, the lifecycle;
//! the shared steps here, the tests by topic below.

mod checkout;
mod concurrency;
mod lifecycle;
mod locks;

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::TestApp;

/// The id of a demo listing by title.
pub(crate) async fn listing_titled(app: &TestApp, title: &str) -> i64 {
    let r = app.get("/api/v1/listings?per_page=100", None).await;
    r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["title"] == title)
        .unwrap_or_else(|| panic!("{title}"))["id"]
        .as_i64()
        .unwrap()
}

/// Sets a listing's stock (and a minimum order of 1) as its producer.
pub(crate) async fn restock(app: &TestApp, producer: &str, listing: i64, stock: &str) {
    let token = app.login(producer).await;
    let r = app
        .patch(
            &format!("/api/v1/listings/{listing}"),
            Some(&token),
            json!({"stock": stock, "min_order": "1"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}

pub(crate) async fn post_action(
    app: &TestApp,
    token: &str,
    order: i64,
    action: &str,
    body: serde_json::Value,
) -> crate::helpers::Reply {
    app.post(
        &format!("/api/v1/orders/{order}/{action}"),
        Some(token),
        body,
    )
    .await
}
