//! Invoices (发票): the seller records an order's invoice and its file; a budget unit's order
//! is completed only with one, and the county's ledger shows it.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::forms::page;
use crate::helpers::{Backend, Reply, TestApp, hidden, spawn_app};
use crate::on_both_databases;
use crate::pages::signed_in;

on_both_databases!(a_budget_unit_completes_an_order_once_its_invoice_is_recorded);

/// The smallest file a PDF reader opens.
const PDF: &[u8] =
    b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";

async fn a_budget_unit_completes_an_order_once_its_invoice_is_recorded(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (panshi, rice) = app.panshi_rice_all_year().await;
    let dept = app.login("dept-sichuan").await;
    let units = app.get("/api/v1/units", Some(&dept)).await;
    let unit = units
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["name"] == "四川省农业农村厅")
        .expect("the department")
        .clone();
    let r = app
        .call_with(
            Method::POST,
            "/api/v1/checkout",
            Some(&dept),
            Some(json!({"address": {"recipient_name": "李处长", "phone": "028-86000000", "region_code": "510104", "line": "锦江区 机关食堂"},
                        "lines": [{"listing_id": rice, "quantity": "100"}], "unit_id": unit["id"]})),
            &[("idempotency-key", "dept-1")],
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let order = r.body["orders"][0].clone();
    let id = order["id"].as_i64().unwrap();
    let total = order["total_fen"].as_i64().unwrap();
    for (path, token, body) in [
        ("confirm", &panshi, json!({})),
        (
            "ship",
            &panshi,
            json!({"carrier": "中国邮政", "tracking_number": "EMS9"}),
        ),
        ("receive", &dept, json!({})),
    ] {
        let r = app
            .post(&format!("/api/v1/orders/{id}/{path}"), Some(token), body)
            .await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text);
    }
    // Not without its invoice.
    let r = app
        .post(
            &format!("/api/v1/orders/{id}/complete"),
            Some(&dept),
            json!({}),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::CONFLICT, "invoice_required"),
        "{}",
        r.text
    );

    let today = crate::stats::today();
    let good = json!({"kind": "plain", "number": "25512000000012345678", "amount_fen": total, "issued_on": today.to_string()});
    // Only the seller records it.
    for (who, status) in [
        ("dept-sichuan", StatusCode::FORBIDDEN),
        ("coop-zilong", StatusCode::NOT_FOUND),
        ("official-kaijiang", StatusCode::NOT_FOUND),
    ] {
        let r = app
            .call(
                Method::PUT,
                &format!("/api/v1/orders/{id}/invoice"),
                Some(&app.login(who).await),
                Some(good.clone()),
            )
            .await;
        assert_eq!(r.status, status, "{who}: {}", r.text);
    }
    // What is wrong, field by field.
    let bad = json!({"kind": "receipt", "number": "12", "amount_fen": total + 1, "issued_on": (today + chrono::Duration::days(1)).to_string()});
    let r = put_invoice(&app, &panshi, id, bad).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    for (field, code) in [
        ("kind", "unknown_value"),
        ("number", "invalid"),
        ("amount_fen", "out_of_range"),
        ("issued_on", "in_future"),
    ] {
        assert_eq!(
            r.body["error"]["fields"][field]["code"], code,
            "{field}: {}",
            r.text
        );
    }
    let early = json!({"kind": "special", "number": "12345678", "amount_fen": total, "issued_on": "2020-01-01"});
    let r = put_invoice(&app, &panshi, id, early).await;
    assert_eq!(
        r.body["error"]["fields"]["issued_on"]["code"], "before_order",
        "{}",
        r.text
    );
    // A file before the invoice is recorded: refused.
    let r = upload(&app, &panshi, id, PDF.to_vec()).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::CONFLICT, "no_invoice"),
        "{}",
        r.text
    );

    let r = put_invoice(&app, &panshi, id, good).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["has_file"], false);
    let r = upload(&app, &panshi, id, b"not a file".to_vec()).await;
    assert_eq!(
        r.body["error"]["fields"]["file"]["code"], "unsupported_file",
        "{}",
        r.text
    );
    let r = upload(&app, &panshi, id, PDF.to_vec()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["has_file"], true);
    for (who, status) in [
        ("dept-sichuan", StatusCode::OK),
        ("official-kaijiang", StatusCode::OK),
        ("coop-zilong", StatusCode::NOT_FOUND),
        ("buyer", StatusCode::NOT_FOUND),
    ] {
        let r = app
            .get(
                &format!("/api/v1/orders/{id}/invoice/file"),
                Some(&app.login(who).await),
            )
            .await;
        assert_eq!(r.status, status, "{who}");
        if status == StatusCode::OK {
            assert_eq!(r.text.as_bytes(), PDF, "{who}");
        }
    }
    let seen = app.get(&format!("/api/v1/orders/{id}"), Some(&dept)).await;
    assert_eq!(
        seen.body["invoice"]["number"], "25512000000012345678",
        "{}",
        seen.text
    );

    // Now the unit completes it, and the county's ledger shows the invoice.
    let r = app
        .post(
            &format!("/api/v1/orders/{id}/complete"),
            Some(&dept),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    app.project().await;
    let official = app.login("official-kaijiang").await;
    let ledger = app
        .get("/api/v1/stats/regions/511723/ledger", Some(&official))
        .await;
    let rows: Vec<_> = ledger
        .body
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["order_id"] == id)
        .collect();
    assert!(!rows.is_empty(), "{}", ledger.text);
    assert!(
        rows.iter()
            .all(|e| e["invoice_number"] == "25512000000012345678"),
        "{}",
        ledger.text
    );
    let csv = app
        .get(
            "/api/v1/stats/regions/511723/ledger?format=csv",
            Some(&official),
        )
        .await;
    assert!(
        csv.text.contains("发票号") && csv.text.contains("25512000000012345678"),
        "{}",
        csv.text
    );
    assert!(
        app.audited("order.invoice", id).await,
        "order.invoice of {id} in the audit log"
    );

    // On the pages: the seller corrects the number; a wrong one comes back beside its field.
    let url = &app.address;
    let seller = signed_in(url, "coop-panshi").await;
    let (_, html) = page(&seller, &format!("{url}/orders/{id}")).await;
    assert!(
        html.contains("id=\"invoice-form\"") && html.contains("id=\"invoice-file-form\""),
        "{html}"
    );
    let token = hidden(&html, "csrf_token");
    let amount = format!("{}.{:02}", total / 100, total % 100);
    let mut form = vec![
        ("csrf_token", token.clone()),
        ("kind", "special".into()),
        ("number", "发票".into()),
        ("amount_yuan", amount.clone()),
        ("issued_on", today.to_string()),
    ];
    let r = seller
        .post(format!("{url}/orders/{id}/invoice"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("id=\"number-error\""));
    form[2].1 = "87654321".into();
    let r = seller
        .post(format!("{url}/orders/{id}/invoice"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, html) = page(
        &signed_in(url, "dept-sichuan").await,
        &format!("{url}/orders/{id}"),
    )
    .await;
    assert!(
        html.contains("87654321") && !html.contains("id=\"invoice-form\""),
        "the buyer reads it and cannot change it: {html}"
    );
}

/// `PUT /api/v1/orders/{id}/invoice` as `token`.
async fn put_invoice(app: &TestApp, token: &str, id: i64, body: serde_json::Value) -> Reply {
    app.call(
        Method::PUT,
        &format!("/api/v1/orders/{id}/invoice"),
        Some(token),
        Some(body),
    )
    .await
}

/// `POST /api/v1/orders/{id}/invoice/file` as `token`: the file's bytes.
async fn upload(app: &TestApp, token: &str, id: i64, bytes: Vec<u8>) -> Reply {
    app.call_raw(
        Method::POST,
        &format!("/api/v1/orders/{id}/invoice/file?name=fapiao.pdf"),
        Some(token),
        "application/octet-stream",
        bytes,
    )
    .await
}
