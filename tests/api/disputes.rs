//! A dispute on the pages: the buyer opens it on the order's page saying why, the admin finds
//! it from the admin page and settles it there with a refund; the stock comes back once.

use reqwest::StatusCode;
use serde_json::json;

use crate::forms::page;
use crate::helpers::{Backend, hidden, spawn_app};
use crate::on_both_databases;
use crate::orders::{listing_titled, post_action};
use crate::pages::signed_in;

on_both_databases!(a_buyer_disputes_an_order_and_the_admin_settles_it_on_the_pages);

async fn a_buyer_disputes_an_order_and_the_admin_settles_it_on_the_pages(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let url = &app.address;
    let token = app.login("buyer").await;
    let seller = app.login("coop-panshi").await;
    let rice = listing_titled(&app, "开江盘石村生态大米").await;
    let stock = app.listing_row(rice).await.stock_milli;
    let placed = app
        .checkout(
            &token,
            "dispute",
            json!([{"listing_id": rice, "quantity": "100"}]),
        )
        .await;
    let id = placed.body["orders"][0]["id"].as_i64().unwrap();
    post_action(&app, &seller, id, "confirm", json!({})).await;
    let shipped = post_action(
        &app,
        &seller,
        id,
        "ship",
        json!({"carrier": "邮政", "tracking_number": "EMS1"}),
    )
    .await;
    assert_eq!(shipped.status, StatusCode::OK, "{}", shipped.text);
    let paid = json!({"status": "paid_offline"});
    post_action(&app, &seller, id, "payment", paid).await;

    // No dispute waits yet.
    let admin = signed_in(url, "admin").await;
    let (_, html) = page(&admin, &format!("{url}/admin")).await;
    assert!(!html.contains("id=\"disputes-link\""), "{html}");

    // The buyer must say why.
    let buyer = signed_in(url, "buyer").await;
    let here = format!("{url}/orders/{id}");
    let (_, html) = page(&buyer, &here).await;
    assert!(html.contains("id=\"action-dispute\""), "{html}");
    let csrf = hidden(&html, "csrf_token");
    let r = buyer
        .post(format!("{here}/dispute"))
        .form(&[("csrf_token", csrf.as_str()), ("reason", " ")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(html.contains("id=\"reason-error\""), "{html}");
    let r = buyer
        .post(format!("{here}/dispute"))
        .form(&[("csrf_token", csrf.as_str()), ("reason", "米发霉了")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);

    // The admin page leads to the disputed orders; the admin settles it with a refund.
    let (_, html) = page(&admin, &format!("{url}/admin")).await;
    assert!(html.contains("href=\"/orders?status=disputed\""), "{html}");
    let (_, list) = page(&admin, &format!("{url}/orders?status=disputed")).await;
    assert!(list.contains(&format!("href=\"/orders/{id}\"")), "{list}");
    let (_, html) = page(&admin, &here).await;
    assert!(html.contains("米发霉了"), "the buyer's reason: {html}");
    assert!(html.contains("id=\"action-resolve_complete\""), "{html}");
    let csrf = hidden(&html, "csrf_token");
    let r = admin
        .post(format!("{here}/resolve_refund"))
        .form(&[("csrf_token", csrf.as_str()), ("reason", "照片证实发霉")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let o = app.get(&format!("/api/v1/orders/{id}"), Some(&token)).await;
    assert_eq!(o.body["status"], "cancelled", "{}", o.text);
    assert_eq!(o.body["payment_status"], "refunded");
    assert_eq!(app.listing_row(rice).await.stock_milli, stock - 100_000);
    let (_, html) = page(&admin, &format!("{url}/admin")).await;
    assert!(!html.contains("id=\"disputes-link\""), "{html}");
    // Settling is the admin's alone.
    let (_, html) = page(&buyer, &here).await;
    assert!(!html.contains("action-resolve"), "{html}");
}
