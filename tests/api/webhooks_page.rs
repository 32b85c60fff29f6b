//! A cooperative registers a webhook on its page: slips beside their fields, the signing
//! secret shown once, another cooperative unable to remove it, and removal audited.

use qudao::notify::entity::webhook;
use reqwest::StatusCode;
use sea_orm::EntityTrait;

use crate::forms::page;
use crate::helpers::{Backend, hidden, spawn_app};
use crate::on_both_databases;
use crate::pages::signed_in;

on_both_databases!(a_cooperative_registers_and_removes_a_webhook_on_its_page);

async fn a_cooperative_registers_and_removes_a_webhook_on_its_page(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let url = &app.address;
    let coop = signed_in(url, "coop-panshi").await;
    let (_, org) = page(&coop, &format!("{url}/producer/organization")).await;
    assert!(org.contains("href=\"/producer/webhooks\""));
    let (status, html) = page(&coop, &format!("{url}/producer/webhooks")).await;
    assert_eq!(status, StatusCode::OK);
    let csrf = hidden(&html, "csrf_token");
    let add = |target: &'static str, topics: &'static str| {
        let coop = coop.clone();
        let csrf = csrf.clone();
        async move {
            coop.post(format!("{url}/producer/webhooks"))
                .form(&[
                    ("csrf_token", csrf.as_str()),
                    ("url", target),
                    ("topics", topics),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    let r = add("ftp://hooks.example.com", "ORDER!").await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    for field in ["url", "topics"] {
        assert!(
            html.contains(&format!("id=\"{field}-error\"")),
            "{field}: {html}"
        );
    }
    assert!(html.contains("value=\"ORDER!\""), "what was typed is kept");
    let r = add("https://hooks.example.com/qudao", "order. proposal.").await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let html = r.text().await.unwrap();
    let shown = html
        .split("id=\"webhook-secret\">")
        .nth(1)
        .and_then(|s| s.split('<').next())
        .expect("the secret, shown once")
        .to_string();
    let stored = webhook::Entity::find().all(&app.db).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].secret, shown);
    assert_eq!(stored[0].topics, "order.,proposal.");
    let id = stored[0].id;
    let (_, html) = page(&coop, &format!("{url}/producer/webhooks")).await;
    assert!(html.contains(&format!("id=\"webhook-{id}\"")));
    assert!(!html.contains(&shown), "the secret is not shown again");
    let token = app.login("coop-panshi").await;
    let listed = app.get("/api/v1/webhooks", Some(&token)).await;
    assert_eq!(
        listed.body[0]["topics"],
        serde_json::json!(["order.", "proposal."])
    );

    // Another cooperative finds no such endpoint; a buyer has no webhooks.
    let other = signed_in(url, "coop-zilong").await;
    let (_, html) = page(&other, &format!("{url}/producer/webhooks")).await;
    assert!(!html.contains(&format!("id=\"webhook-{id}\"")));
    let r = other
        .post(format!("{url}/producer/webhooks/{id}/delete"))
        .form(&[("csrf_token", hidden(&html, "csrf_token"))])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let buyer = signed_in(url, "buyer").await;
    let (status, _) = page(&buyer, &format!("{url}/producer/webhooks")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let r = coop
        .post(format!("{url}/producer/webhooks/{id}/delete"))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(
        webhook::Entity::find()
            .all(&app.db)
            .await
            .unwrap()
            .is_empty()
    );
    for action in ["webhook.create", "webhook.delete"] {
        assert!(app.audited(action, id).await, "{action}");
    }
}
