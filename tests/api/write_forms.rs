//! Everything a person does through the API, they can do on a page: every write operation
//! of the OpenAPI document has its form (or stands on a short, reasoned list of API-only
//! operations), the form is in a page, and the page's form is answered.

use std::collections::BTreeSet;

use reqwest::StatusCode;

use crate::helpers::{Backend, spawn_app};
use crate::on_both_databases;

/// Each write operation of the API, and the form on the pages that does the same:
/// `(API operation, the form's action with `{}` for each id, where to send one to check it)`.
const FORMS: &[(&str, &str, &str)] = &[
    (
        "POST /api/v1/admin/dead-events/{id}/retry",
        "/admin/dead-events/{}/retry",
        "/admin/dead-events/1/retry",
    ),
    ("POST /api/v1/auth/login", "/login", "/login"),
    ("POST /api/v1/auth/logout", "/logout", "/logout"),
    ("POST /api/v1/auth/register", "/register", "/register"),
    ("POST /api/v1/campaigns", "/campaigns", "/campaigns"),
    (
        "POST /api/v1/campaigns/{id}/listings",
        "/campaigns/{}/listings",
        "/campaigns/1/listings",
    ),
    (
        "POST /api/v1/campaigns/{id}/pledges",
        "/campaigns/{}/pledges",
        "/campaigns/1/pledges",
    ),
    ("POST /api/v1/cart/items", "/cart", "/cart"),
    (
        "DELETE /api/v1/cart/items/{id}",
        "/cart/{}/remove",
        "/cart/1/remove",
    ),
    (
        "PATCH /api/v1/cart/items/{id}",
        "/cart/{}/quantity",
        "/cart/1/quantity",
    ),
    (
        "POST /api/v1/categories/{id}/aliases",
        "/admin/categories/{}/aliases",
        "/admin/categories/1/aliases",
    ),
    (
        "PATCH /api/v1/certificates/{id}",
        "/certificates/{}",
        "/certificates/1",
    ),
    (
        "POST /api/v1/certificates/{id}/approve",
        "/certificates/{}/decide",
        "/certificates/1/decide",
    ),
    (
        "POST /api/v1/certificates/{id}/reject",
        "/certificates/{}/decide",
        "/certificates/1/decide",
    ),
    (
        "POST /api/v1/certificates/{id}/files",
        "/certificates/{}/files",
        "/certificates/1/files",
    ),
    (
        "DELETE /api/v1/certificates/{id}/files/{file_id}",
        "/certificates/{}/files/{}/delete",
        "/certificates/1/files/1/delete",
    ),
    (
        "POST /api/v1/certificates/{id}/objections",
        "/certificates/{}/objections",
        "/certificates/1/objections",
    ),
    (
        "POST /api/v1/certificates/{id}/objections/{objection_id}/decide",
        "/certificates/{}/objections/{}",
        "/certificates/1/objections/1",
    ),
    (
        "POST /api/v1/certificates/{id}/submit",
        "/certificates/{}/submit",
        "/certificates/1/submit",
    ),
    ("POST /api/v1/checkout", "/checkout", "/checkout"),
    ("POST /api/v1/contracts", "/contracts", "/contracts"),
    (
        "POST /api/v1/contracts/{id}/cancel",
        "/contracts/{}/{}",
        "/contracts/1/cancel",
    ),
    (
        "POST /api/v1/contracts/{id}/decline",
        "/contracts/{}/{}",
        "/contracts/1/decline",
    ),
    (
        "POST /api/v1/contracts/{id}/sign",
        "/contracts/{}/{}",
        "/contracts/1/sign",
    ),
    (
        "POST /api/v1/contracts/{id}/deliveries",
        "/contracts/{}/deliveries",
        "/contracts/1/deliveries",
    ),
    (
        "POST /api/v1/contracts/{id}/deposit",
        "/contracts/{}/deposit",
        "/contracts/1/deposit",
    ),
    (
        "POST /api/v1/delivery-methods",
        "/producer/delivery",
        "/producer/delivery",
    ),
    (
        "PUT /api/v1/delivery-methods/{id}",
        "/producer/delivery/{}",
        "/producer/delivery/1",
    ),
    (
        "DELETE /api/v1/delivery-methods/{id}",
        "/producer/delivery/{}/delete",
        "/producer/delivery/1/delete",
    ),
    (
        "POST /api/v1/help-relations",
        "/officials/help-relations",
        "/officials/help-relations",
    ),
    (
        "POST /api/v1/listings",
        "/producer/listings/{}",
        "/producer/listings/new",
    ),
    (
        "PATCH /api/v1/listings/{id}",
        "/producer/listings/{}",
        "/producer/listings/1",
    ),
    (
        "DELETE /api/v1/listings/{id}",
        "/producer/listings/{}/delete",
        "/producer/listings/1/delete",
    ),
    (
        "POST /api/v1/listings/{id}/lots",
        "/producer/listings/{}/lots",
        "/producer/listings/1/lots",
    ),
    (
        "POST /api/v1/listings/{id}/pause",
        "/producer/listings/{}/{}",
        "/producer/listings/1/pause",
    ),
    (
        "POST /api/v1/listings/{id}/resume",
        "/producer/listings/{}/{}",
        "/producer/listings/1/resume",
    ),
    (
        "POST /api/v1/listings/{id}/photos",
        "/producer/listings/{}/photos",
        "/producer/listings/1/photos",
    ),
    (
        "DELETE /api/v1/listings/{id}/photos/{photo_id}",
        "/producer/listings/{}/photos/{}/delete",
        "/producer/listings/1/photos/1/delete",
    ),
    (
        "PUT /api/v1/listings/{id}/shipping",
        "/producer/listings/{}/shipping",
        "/producer/listings/1/shipping",
    ),
    (
        "POST /api/v1/matching/runs",
        "/admin/matching/run",
        "/admin/matching/run",
    ),
    (
        "PUT /api/v1/notification-preferences",
        "/notifications/settings",
        "/notifications/settings",
    ),
    (
        "POST /api/v1/notifications/read-all",
        "/notifications/read-all",
        "/notifications/read-all",
    ),
    (
        "POST /api/v1/notifications/{id}/read",
        "/notifications/{}/read",
        "/notifications/1/read",
    ),
    (
        "POST /api/v1/orders/{id}/cancel",
        "/orders/{}/{}",
        "/orders/1/buyer_cancel",
    ),
    (
        "POST /api/v1/orders/{id}/complete",
        "/orders/{}/{}",
        "/orders/1/complete",
    ),
    (
        "POST /api/v1/orders/{id}/confirm",
        "/orders/{}/{}",
        "/orders/1/confirm",
    ),
    (
        "POST /api/v1/orders/{id}/dispute",
        "/orders/{}/{}",
        "/orders/1/dispute",
    ),
    (
        "POST /api/v1/orders/{id}/receive",
        "/orders/{}/{}",
        "/orders/1/receive",
    ),
    (
        "POST /api/v1/orders/{id}/resolve",
        "/orders/{}/{}",
        "/orders/1/resolve_complete",
    ),
    (
        "POST /api/v1/orders/{id}/ship",
        "/orders/{}/{}",
        "/orders/1/ship",
    ),
    (
        "PUT /api/v1/orders/{id}/invoice",
        "/orders/{}/invoice",
        "/orders/1/invoice",
    ),
    (
        "POST /api/v1/orders/{id}/invoice/file",
        "/orders/{}/invoice/file",
        "/orders/1/invoice/file",
    ),
    (
        "POST /api/v1/orders/{id}/payment",
        "/orders/{}/payment",
        "/orders/1/payment",
    ),
    (
        "POST /api/v1/orders/{id}/receipt-photo",
        "/orders/{}/receipt-photo",
        "/orders/1/receipt-photo",
    ),
    (
        "POST /api/v1/organizations",
        "/producer/organization/apply",
        "/producer/organization/apply",
    ),
    (
        "POST /api/v1/organizations/{id}/approve",
        "/admin/organizations/{}/approve",
        "/admin/organizations/1/approve",
    ),
    (
        "POST /api/v1/organizations/{id}/reject",
        "/admin/organizations/{}/reject",
        "/admin/organizations/1/reject",
    ),
    (
        "POST /api/v1/organizations/{id}/recommend",
        "/officials/organizations/{}/recommend",
        "/officials/organizations/1/recommend",
    ),
    (
        "POST /api/v1/organizations/{id}/certificates",
        "/producer/certificates",
        "/producer/certificates",
    ),
    (
        "POST /api/v1/organizations/{id}/households",
        "/producer/organization/households",
        "/producer/organization/households",
    ),
    (
        "POST /api/v1/proposals/{id}/accept",
        "/proposals/{}/accept",
        "/proposals/1/accept",
    ),
    (
        "POST /api/v1/proposals/{id}/decline",
        "/proposals/{}/decline",
        "/proposals/1/decline",
    ),
    ("POST /api/v1/purchase-requests", "/requests", "/requests"),
    (
        "PATCH /api/v1/purchase-requests/{id}",
        "/requests/{}/edit",
        "/requests/1/edit",
    ),
    (
        "POST /api/v1/purchase-requests/{id}/cancel",
        "/requests/{}/cancel",
        "/requests/1/cancel",
    ),
    ("POST /api/v1/recurring-orders", "/recurring", "/recurring"),
    (
        "PUT /api/v1/recurring-orders/{id}",
        "/recurring/{}",
        "/recurring/1",
    ),
    (
        "DELETE /api/v1/recurring-orders/{id}",
        "/recurring/{}/{}",
        "/recurring/1/cancel",
    ),
    (
        "POST /api/v1/recurring-orders/{id}/pause",
        "/recurring/{}/{}",
        "/recurring/1/pause",
    ),
    (
        "POST /api/v1/recurring-orders/{id}/resume",
        "/recurring/{}/{}",
        "/recurring/1/resume",
    ),
    (
        "PUT /api/v1/regions/{code}/standing",
        "/admin/regions/standing",
        "/admin/regions/standing",
    ),
    (
        "POST /api/v1/saved-searches",
        "/saved-searches",
        "/saved-searches",
    ),
    (
        "PATCH /api/v1/saved-searches/{id}",
        "/saved-searches/{}",
        "/saved-searches/1",
    ),
    (
        "DELETE /api/v1/saved-searches/{id}",
        "/saved-searches/{}/delete",
        "/saved-searches/1/delete",
    ),
    (
        "PUT /api/v1/stats/filings/{county}/{quarter}",
        "/officials/filings/{}/{}",
        "/officials/filings/511723/2026Q3",
    ),
    (
        "POST /api/v1/stats/filings/{county}/{quarter}/submit",
        "/officials/filings/{}/{}",
        "/officials/filings/511723/2026Q3",
    ),
    (
        "POST /api/v1/stats/filings/{county}/{quarter}/accept",
        "/officials/filings/{}/{}/review",
        "/officials/filings/511723/2026Q3/review",
    ),
    (
        "POST /api/v1/stats/filings/{county}/{quarter}/return",
        "/officials/filings/{}/{}/review",
        "/officials/filings/511723/2026Q3/review",
    ),
    (
        "POST /api/v1/stats/filings/{county}/{quarter}/revise",
        "/officials/filings/{}/{}/revise",
        "/officials/filings/511723/2026Q3/revise",
    ),
    (
        "POST /api/v1/stats/filings/{county}/{quarter}/evidence",
        "/officials/filings/{}/{}/evidence",
        "/officials/filings/511723/2026Q3/evidence",
    ),
    (
        "DELETE /api/v1/stats/filings/{county}/{quarter}/evidence/{id}",
        "/officials/filings/{}/{}/evidence/{}/delete",
        "/officials/filings/511723/2026Q3/evidence/1/delete",
    ),
    (
        "POST /api/v1/stats/quarters",
        "/officials/quarters",
        "/officials/quarters",
    ),
    (
        "POST /api/v1/stats/regions/{code}/filings/{quarter}/sign-off",
        "/officials/regions/{}/filings/{}/sign-off",
        "/officials/regions/510000/filings/2026Q3/sign-off",
    ),
    (
        "PUT /api/v1/stats/regions/{code}/targets",
        "/officials/regions/{}/targets",
        "/officials/regions/511723/targets",
    ),
    (
        "POST /api/v1/stats/warnings/{id}/acknowledge",
        "/officials/warnings/{}/acknowledge",
        "/officials/warnings/1/acknowledge",
    ),
    ("POST /api/v1/units", "/units", "/units"),
    (
        "POST /api/v1/units/{id}/decision",
        "/units/{}/decision",
        "/units/1/decision",
    ),
    (
        "POST /api/v1/units/{id}/members",
        "/units/{}/members",
        "/units/1/members",
    ),
    (
        "DELETE /api/v1/units/{id}/members/{user_id}",
        "/units/{}/members/{}/remove",
        "/units/1/members/1/remove",
    ),
    (
        "PUT /api/v1/units/{id}/obligations/{year}",
        "/units/{}/obligation",
        "/units/1/obligation",
    ),
    ("POST /api/v1/users", "/admin/users", "/admin/users"),
    (
        "PATCH /api/v1/users/{id}",
        "/admin/users/{}",
        "/admin/users/1",
    ),
    (
        "POST /api/v1/webhooks",
        "/producer/webhooks",
        "/producer/webhooks",
    ),
    (
        "DELETE /api/v1/webhooks/{id}",
        "/producer/webhooks/{}/delete",
        "/producer/webhooks/1/delete",
    ),
];

/// Write operations with no form, and why a person never needs one. None today: a new
/// operation without a form fails this test until it gets one or a reason here.
const API_ONLY: &[(&str, &str)] = &[];

/// Every template and page module, with each `{{ … }}` and each `{name}` of a format string
/// written `{}`, so a form's action reads as its shape.
fn page_sources() -> String {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut all = String::new();
    for dir in ["frontend/templates", "src/http/pages"] {
        let mut files: Vec<_> = std::fs::read_dir(root.join(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap();
            all.push_str(&shapes(&text));
            all.push('\n');
        }
    }
    all
}

/// `text` with `{{ … }}` and `{name}` written `{}`.
fn shapes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('{') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let end = if rest.starts_with("{{") {
            rest.find("}}").map(|e| e + 2)
        } else {
            rest[1..].find('}').map(|e| e + 2).filter(|&e| {
                rest[1..e - 1]
                    .chars()
                    .all(|c| c.is_alphanumeric() || c == '_' || c == '.')
            })
        };
        match end {
            Some(e) => {
                out.push_str("{}");
                rest = &rest[e..];
            }
            None => {
                out.push('{');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

on_both_databases!(every_write_of_the_api_has_its_form_on_a_page,);

async fn every_write_of_the_api_has_its_form_on_a_page(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let doc = app.get("/api/v1/openapi.json", None).await.body;
    let mut writes = BTreeSet::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for method in ops.as_object().unwrap().keys() {
            if ["post", "put", "patch", "delete"].contains(&method.as_str()) {
                writes.insert(format!("{} {path}", method.to_uppercase()));
            }
        }
    }
    assert!(writes.len() > 50, "{writes:?}");
    let listed: BTreeSet<String> = FORMS
        .iter()
        .map(|f| f.0.to_string())
        .chain(API_ONLY.iter().map(|a| a.0.to_string()))
        .collect();
    let missing: Vec<_> = writes.difference(&listed).collect();
    assert!(
        missing.is_empty(),
        "write operations without a form: {missing:?}"
    );
    let stale: Vec<_> = listed.difference(&writes).collect();
    assert!(stale.is_empty(), "listed, but not in the API: {stale:?}");
    for (op, why) in API_ONLY {
        assert!(why.len() > 20, "{op} needs a reason");
    }

    // Each form is in a page, and the pages answer it: a form sent without signing in is
    // sent to sign in or refused, never unknown.
    let sources = page_sources();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for (op, form, probe) in FORMS {
        assert!(
            sources.contains(&format!("\"{form}\"")),
            "{op}: no form with action {form}"
        );
        let (f, p): (Vec<&str>, Vec<&str>) =
            (form.split('/').collect(), probe.split('/').collect());
        assert!(
            f.len() == p.len() && f.iter().zip(&p).all(|(f, p)| *f == "{}" || f == p),
            "{probe} is not a {form}"
        );
        let r = client
            .post(format!("{}{probe}", app.address))
            .form(&[("csrf_token", "")])
            .send()
            .await
            .unwrap();
        assert!(
            ![StatusCode::NOT_FOUND, StatusCode::METHOD_NOT_ALLOWED].contains(&r.status()),
            "{op}: POST {probe} answers {}",
            r.status()
        );
    }
}
