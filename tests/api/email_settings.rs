//! Email settings on the page: a buyer turns a kind's emails off and gathers another's into a
//! daily digest; essential kinds are never gathered; the API reads what the page saved.

use reqwest::StatusCode;
use serde_json::Value;

use crate::forms::page;
use crate::helpers::{Backend, hidden, spawn_app};
use crate::on_both_databases;
use crate::pages::signed_in;

on_both_databases!(a_buyer_chooses_which_emails_come_and_how_on_the_page);

async fn a_buyer_chooses_which_emails_come_and_how_on_the_page(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let url = &app.address;
    let anonymous = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = anonymous
        .get(format!("{url}/notifications/settings"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);

    let buyer = signed_in(url, "buyer").await;
    let (_, list) = page(&buyer, &format!("{url}/notifications")).await;
    assert!(list.contains("href=\"/notifications/settings\""));
    let (status, html) = page(&buyer, &format!("{url}/notifications/settings")).await;
    assert_eq!(status, StatusCode::OK);
    // Every kind is emailed at first; only the optional ones offer a digest.
    assert!(html.contains("id=\"email_order\" name=\"email_order\" value=\"on\" checked"));
    assert!(html.contains("id=\"digest_proposal\""));
    assert!(!html.contains("id=\"digest_order\""), "{html}");
    let csrf = hidden(&html, "csrf_token");
    // Everything ticked but proposals' emails, saved searches gathered; a digest of orders
    // sent by hand is not one the page offers, and is ignored.
    let form = [
        ("csrf_token", csrf.as_str()),
        ("email_order", "on"),
        ("digest_order", "on"),
        ("email_contract", "on"),
        ("email_organization", "on"),
        ("email_certificate", "on"),
        ("email_listing", "on"),
        ("email_search", "on"),
        ("digest_search", "on"),
        ("email_stats", "on"),
    ];
    let r = buyer
        .post(format!("{url}/notifications/settings"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, html) = page(&buyer, &format!("{url}/notifications/settings?saved=1")).await;
    assert!(html.contains("id=\"settings-saved\""));
    assert!(
        html.contains("id=\"email_proposal\" name=\"email_proposal\" value=\"on\">"),
        "{html}"
    );
    assert!(html.contains("id=\"digest_search\" name=\"digest_search\" value=\"on\" checked"));

    let token = app.login("buyer").await;
    let prefs = app
        .get("/api/v1/notification-preferences", Some(&token))
        .await;
    let of = |kind: &str| -> Value {
        prefs
            .body
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["kind"] == kind)
            .cloned()
            .unwrap()
    };
    assert_eq!(of("proposal")["email"], false);
    assert_eq!(of("search")["digest"], true);
    assert_eq!(of("search")["email"], true);
    assert_eq!(of("order")["email"], true);
    assert_eq!(
        of("order")["digest"],
        false,
        "essential emails are never gathered"
    );
    // A form from elsewhere changes nothing.
    let r = buyer
        .post(format!("{url}/notifications/settings"))
        .form(&[("csrf_token", "forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let again = app
        .get("/api/v1/notification-preferences", Some(&token))
        .await;
    assert_eq!(again.body, prefs.body);
}
