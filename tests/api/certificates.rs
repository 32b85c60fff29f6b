//! Certificates: a producer records one with its number, issuer, validity and a scan; the
//! county verifies it; 认定 goes through a public notice open to objections; it runs out on
//! its last day, its producer told a month before. Only a certificate in effect gives its
//! listings their badge, their facet in search and their 扶贫优先 in matching; a listing's
//! own ticks verify nothing. Evidence stays with those inside; every refusal is a clear 4xx.

use chrono::{Duration, Utc};
use reqwest::{Method, StatusCode};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};

use qudao::catalog::certificates::{self, Swept};
use qudao::days::local_date;

use crate::forms::page;
use crate::helpers::{Backend, TestApp, hidden};
use crate::on_both_databases;
use crate::pages::signed_in;
use crate::search::{EngineKind, SearchApp, spawn_search_app_with, titles};

on_both_databases!(
    a_verified_certificate_and_only_that_gives_listings_their_badge_and_facet,
    recognition_goes_through_public_notice_and_objections,
    certificates_run_out_after_their_last_day_and_producers_are_told_a_month_before,
    ticks_on_a_listing_are_claims_to_complete_and_verify_nothing,
    bad_certificates_and_wrong_callers_are_refused_with_clear_answers,
    certificates_are_recorded_verified_and_objected_to_on_the_pages,
    certifications_listings_declared_before_certificates_become_drafts,
    only_a_recognition_in_effect_counts_for_poverty_priority_in_matching,
);

pub(crate) const SCAN: &[u8] =
    b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n";

async fn market(backend: Backend) -> Option<SearchApp> {
    spawn_search_app_with(EngineKind::Embedded, backend, |_| {}).await
}

fn day(offset_days: i64) -> String {
    (local_date(Utc::now()) + Duration::days(offset_days)).to_string()
}

/// 盘石村 lists a new rice: its token, organization and the listing's id.
async fn new_rice(app: &TestApp, title: &str) -> (String, i64, i64) {
    let r = app.panshi_lists_rice(title, 880).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let panshi = app.login("coop-panshi").await;
    let org = app.organization_of(&panshi).await;
    (panshi, org, r.body["id"].as_i64().unwrap())
}

/// A complete certificate of `kind` covering `listing`, valid until `until` days from today.
fn certificate(kind: &str, number: &str, listing: i64, until: i64) -> Value {
    json!({
        "kind": kind, "number": number, "issuer": "中国绿色食品发展中心",
        "products": "富硒大米", "bases": "盘石村三组水田 120 亩",
        "listing_ids": [listing], "valid_from": day(-100), "valid_until": day(until),
    })
}

/// Records, attaches a scan to and submits a certificate: its id.
pub(crate) async fn submitted(app: &TestApp, token: &str, org: i64, body: Value) -> i64 {
    let r = app
        .post(
            &format!("/api/v1/organizations/{org}/certificates"),
            Some(token),
            body,
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["status"], "draft");
    let id = r.body["id"].as_i64().unwrap();
    let f = app
        .call_raw(
            Method::POST,
            &format!("/api/v1/certificates/{id}/files?name=scan.pdf"),
            Some(token),
            "application/pdf",
            SCAN.to_vec(),
        )
        .await;
    assert_eq!(f.status, StatusCode::CREATED, "{}", f.text);
    let s = app
        .post(
            &format!("/api/v1/certificates/{id}/submit"),
            Some(token),
            json!({}),
        )
        .await;
    assert_eq!(s.status, StatusCode::OK, "{}", s.text);
    assert_eq!(s.body["status"], "submitted");
    id
}

async fn certifications(app: &TestApp, listing: i64) -> Value {
    let r = app.get(&format!("/api/v1/listings/{listing}"), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body["certifications"].clone()
}

async fn sweep(app: &TestApp, days_ahead: i64) -> Swept {
    certificates::sweep(&app.db, Utc::now() + Duration::days(days_ahead))
        .await
        .expect("sweeping certificates")
}

/// The topics of the certificate's notify events so far, oldest first.
async fn told(app: &TestApp, id: i64) -> Vec<String> {
    qudao::outbox::entity::Entity::find()
        .filter(qudao::outbox::entity::Column::Channel.eq("notify"))
        .filter(qudao::outbox::entity::Column::AggregateType.eq("certificate"))
        .filter(qudao::outbox::entity::Column::AggregateId.eq(id))
        .order_by_asc(qudao::outbox::entity::Column::Id)
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.topic)
        .collect()
}

async fn a_verified_certificate_and_only_that_gives_listings_their_badge_and_facet(
    backend: Backend,
) {
    let Some(app) = market(backend).await else {
        return;
    };
    let (panshi, org, rice) = new_rice(&app, "盘石村有机富硒米").await;
    let id = submitted(
        &app,
        &panshi,
        org,
        certificate("organic", "ORG-2026-0417", rice, 300),
    )
    .await;
    // Submitted is not verified: no badge, no facet, and the public cannot see it.
    assert_eq!(certifications(&app, rice).await, json!([]));
    let buyer = app.login("buyer").await;
    let hidden = app
        .get(&format!("/api/v1/certificates/{id}"), Some(&buyer))
        .await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND, "{}", hidden.text);
    let inside = app
        .get(&format!("/api/v1/certificates/{id}"), Some(&panshi))
        .await;
    let file = inside.body["files"][0]["id"].as_i64().unwrap();
    assert_eq!(inside.body["may"]["submit"], false);

    // A buyer cannot verify (nor see what awaits review); an official of another county
    // cannot either, nor read the scan.
    let refused = app
        .post(
            &format!("/api/v1/certificates/{id}/approve"),
            Some(&buyer),
            json!({}),
        )
        .await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND);
    let admin = app.login("admin").await;
    let r = app
        .post(
            "/api/v1/users",
            Some(&admin),
            json!({"username": "official-daofu", "password": "道孚县证书核验2026", "display_name": "道孚县农业农村局",
                   "role": "official", "region_code": "513326"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let daofu = app.login_with("official-daofu", "道孚县证书核验2026").await;
    let elsewhere = app
        .post(
            &format!("/api/v1/certificates/{id}/approve"),
            Some(&daofu),
            json!({}),
        )
        .await;
    assert_eq!(
        elsewhere.status,
        StatusCode::NOT_FOUND,
        "{}",
        elsewhere.text
    );
    for token in [&buyer, &daofu] {
        let scan = app
            .get(
                &format!("/api/v1/certificates/{id}/files/{file}"),
                Some(token),
            )
            .await;
        assert_eq!(scan.status, StatusCode::NOT_FOUND, "{}", scan.text);
    }

    // 开江's official reads the scan and verifies it: in effect at once.
    let kaijiang = app.login("official-kaijiang").await;
    let scan = app
        .get(
            &format!("/api/v1/certificates/{id}/files/{file}"),
            Some(&kaijiang),
        )
        .await;
    assert_eq!(scan.status, StatusCode::OK);
    assert_eq!(scan.text.as_bytes(), SCAN);
    let queue = app.get("/api/v1/certificates/queue", Some(&kaijiang)).await;
    assert!(
        queue.body["awaiting_review"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == id),
        "{}",
        queue.text
    );
    let approved = app
        .post(
            &format!("/api/v1/certificates/{id}/approve"),
            Some(&kaijiang),
            json!({}),
        )
        .await;
    assert_eq!(approved.status, StatusCode::OK, "{}", approved.text);
    assert_eq!(approved.body["status"], "effective");
    let again = app
        .post(
            &format!("/api/v1/certificates/{id}/approve"),
            Some(&kaijiang),
            json!({}),
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(again.code(), "not_submitted");
    let refused = app
        .post(
            &format!("/api/v1/certificates/{id}/approve"),
            Some(&buyer),
            json!({}),
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);

    // Now the listing carries it, search filters and counts it, and the public sees the
    // certificate but not its scan.
    assert_eq!(certifications(&app, rice).await, json!(["organic"]));
    app.wait_until_indexed().await;
    let found = app.search("certification=organic&per_page=50").await;
    assert!(
        titles(&found).contains(&"盘石村有机富硒米".to_string()),
        "{found}"
    );
    let public = app
        .get(&format!("/api/v1/certificates/{id}"), Some(&buyer))
        .await;
    assert_eq!(public.status, StatusCode::OK);
    assert_eq!(public.body["number"], "ORG-2026-0417");
    assert!(public.body.get("files").is_none(), "{}", public.text);
    let scan = app
        .get(
            &format!("/api/v1/certificates/{id}/files/{file}"),
            Some(&buyer),
        )
        .await;
    assert_eq!(scan.status, StatusCode::NOT_FOUND);
    let listed = app
        .get(&format!("/api/v1/organizations/{org}/certificates"), None)
        .await;
    assert!(
        listed
            .body
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == id)
    );

    // A verified certificate no longer changes.
    let locked = app
        .patch(
            &format!("/api/v1/certificates/{id}"),
            Some(&panshi),
            json!({"number": "ORG-2026-9999"}),
        )
        .await;
    assert_eq!(locked.status, StatusCode::CONFLICT);
    assert_eq!(locked.code(), "certificate_locked");
    assert_eq!(
        told(&app, id).await,
        ["certificate.submitted", "certificate.effective"]
    );
    for action in [
        "certificate.record",
        "certificate.file_added",
        "certificate.submit",
        "certificate.approve",
    ] {
        assert!(
            app.audited(action, id).await,
            "{action} of {id} in the audit log"
        );
    }

    // A rejected one says why, and its producer corrects it.
    let (_, _, other) = new_rice(&app, "盘石村绿色稻米").await;
    let id2 = submitted(
        &app,
        &panshi,
        org,
        certificate("green_food", "LB-18-2301", other, 200),
    )
    .await;
    let no_reason = app
        .post(
            &format!("/api/v1/certificates/{id2}/reject"),
            Some(&kaijiang),
            json!({}),
        )
        .await;
    assert_eq!(no_reason.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(no_reason.fields(), ["reason"]);
    let rejected = app
        .post(
            &format!("/api/v1/certificates/{id2}/reject"),
            Some(&kaijiang),
            json!({"reason": "扫描件上的编号与填写的不一致"}),
        )
        .await;
    assert_eq!(rejected.status, StatusCode::OK, "{}", rejected.text);
    assert_eq!(rejected.body["status"], "rejected");
    let corrected = app
        .patch(
            &format!("/api/v1/certificates/{id2}"),
            Some(&panshi),
            json!({"number": "LB-18-2301051234A"}),
        )
        .await;
    assert_eq!(corrected.status, StatusCode::OK, "{}", corrected.text);
    assert_eq!(corrected.body["status"], "draft");
    assert_eq!(certifications(&app, other).await, json!([]));
}

async fn recognition_goes_through_public_notice_and_objections(backend: Backend) {
    let Some(app) = market(backend).await else {
        return;
    };
    let (panshi, org, rice) = new_rice(&app, "盘石村认定贡米").await;
    let kaijiang = app.login("official-kaijiang").await;
    let buyer = app.login("buyer").await;
    let id = submitted(
        &app,
        &panshi,
        org,
        certificate("poverty_alleviation", "XFBF-511723-0031", rice, 700),
    )
    .await;
    let approved = app
        .post(
            &format!("/api/v1/certificates/{id}/approve"),
            Some(&kaijiang),
            json!({}),
        )
        .await;
    assert_eq!(approved.status, StatusCode::OK, "{}", approved.text);
    assert_eq!(approved.body["status"], "notice");
    assert_eq!(
        approved.body["notice_until"],
        day(certificates::NOTICE_DAYS)
    );
    assert_eq!(certifications(&app, rice).await, json!([]));
    let notices = app.get("/api/v1/certificates/notices", None).await;
    assert!(
        notices
            .body
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == id)
    );

    // The cooperative cannot object to itself; anyone else must say why, and once.
    let own = app
        .post(
            &format!("/api/v1/certificates/{id}/objections"),
            Some(&panshi),
            json!({"reason": "x"}),
        )
        .await;
    assert_eq!(own.status, StatusCode::FORBIDDEN);
    let empty = app
        .post(
            &format!("/api/v1/certificates/{id}/objections"),
            Some(&buyer),
            json!({"reason": " "}),
        )
        .await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(empty.fields(), ["reason"]);
    let lodged = app
        .post(
            &format!("/api/v1/certificates/{id}/objections"),
            Some(&buyer),
            json!({"reason": "这批米并非盘石村所产,是外地收购的"}),
        )
        .await;
    assert_eq!(lodged.status, StatusCode::CREATED, "{}", lodged.text);
    let objection = lodged.body["id"].as_i64().unwrap();
    let twice = app
        .post(
            &format!("/api/v1/certificates/{id}/objections"),
            Some(&buyer),
            json!({"reason": "再说一次"}),
        )
        .await;
    assert_eq!(twice.status, StatusCode::CONFLICT);
    assert_eq!(twice.code(), "already_objected");

    // The notice ends, but an open objection holds the certificate back.
    let after = certificates::NOTICE_DAYS + 1;
    assert_eq!(sweep(&app, after).await.effective, 0);
    assert_eq!(certifications(&app, rice).await, json!([]));
    let queue = app.get("/api/v1/certificates/queue", Some(&kaijiang)).await;
    assert!(
        queue.body["objected"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == id)
    );
    // Dismissed with reasons, it takes effect with the next sweep.
    let dismissed = app
        .post(
            &format!("/api/v1/certificates/{id}/objections/{objection}/decide"),
            Some(&kaijiang),
            json!({"uphold": false, "reason": "经实地核查,产地为盘石村三组"}),
        )
        .await;
    assert_eq!(dismissed.status, StatusCode::OK, "{}", dismissed.text);
    assert_eq!(dismissed.body["objections"][0]["status"], "dismissed");
    let decided_twice = app
        .post(
            &format!("/api/v1/certificates/{id}/objections/{objection}/decide"),
            Some(&kaijiang),
            json!({"uphold": true, "reason": "改判"}),
        )
        .await;
    assert_eq!(decided_twice.status, StatusCode::CONFLICT);
    assert_eq!(sweep(&app, after).await.effective, 1);
    assert_eq!(
        certifications(&app, rice).await,
        json!(["poverty_alleviation"])
    );
    assert_eq!(sweep(&app, after).await, Swept::default(), "nothing twice");

    // Upheld, another one is rejected and never takes effect.
    let (_, _, other) = new_rice(&app, "盘石村认定糯米").await;
    let id2 = submitted(
        &app,
        &panshi,
        org,
        certificate("poverty_alleviation", "XFBF-511723-0032", other, 700),
    )
    .await;
    app.post(
        &format!("/api/v1/certificates/{id2}/approve"),
        Some(&kaijiang),
        json!({}),
    )
    .await;
    let lodged = app
        .post(
            &format!("/api/v1/certificates/{id2}/objections"),
            Some(&buyer),
            json!({"reason": "合作社未带动脱贫户"}),
        )
        .await;
    let objection = lodged.body["id"].as_i64().unwrap();
    let upheld = app
        .post(
            &format!("/api/v1/certificates/{id2}/objections/{objection}/decide"),
            Some(&kaijiang),
            json!({"uphold": true, "reason": "核实属实"}),
        )
        .await;
    assert_eq!(upheld.status, StatusCode::OK, "{}", upheld.text);
    assert_eq!(upheld.body["status"], "rejected");
    assert!(upheld.body["reason"].as_str().unwrap().contains("核实属实"));
    sweep(&app, after).await;
    assert_eq!(certifications(&app, other).await, json!([]));
    assert_eq!(
        told(&app, id2).await,
        [
            "certificate.submitted",
            "certificate.approved",
            "certificate.objected",
            "certificate.rejected"
        ]
    );
}

async fn certificates_run_out_after_their_last_day_and_producers_are_told_a_month_before(
    backend: Backend,
) {
    let Some(app) = market(backend).await else {
        return;
    };
    let (panshi, org, rice) = new_rice(&app, "盘石村绿色香米").await;
    let kaijiang = app.login("official-kaijiang").await;
    let last_day = 40;
    let id = submitted(
        &app,
        &panshi,
        org,
        certificate("green_food", "LB-18-2302", rice, last_day),
    )
    .await;
    app.post(
        &format!("/api/v1/certificates/{id}/approve"),
        Some(&kaijiang),
        json!({}),
    )
    .await;
    // Officials see it among those running out within 60 days.
    let queue = app.get("/api/v1/certificates/queue", Some(&kaijiang)).await;
    assert!(
        queue.body["expiring"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == id)
    );

    let warn_from = last_day - certificates::EXPIRY_WARNING_DAYS;
    sweep(&app, warn_from - 1).await;
    assert!(
        !told(&app, id)
            .await
            .contains(&"certificate.expiring".to_string())
    );
    assert_eq!(sweep(&app, warn_from).await.warned, 1);
    assert_eq!(sweep(&app, warn_from + 1).await.warned, 0, "told once");
    // Valid through its last day, gone the day after.
    assert_eq!(sweep(&app, last_day).await.expired, 0);
    assert_eq!(certifications(&app, rice).await, json!(["green_food"]));
    assert_eq!(sweep(&app, last_day + 1).await.expired, 1);
    assert_eq!(certifications(&app, rice).await, json!([]));
    let r = app.get(&format!("/api/v1/certificates/{id}"), None).await;
    assert_eq!(r.body["status"], "expired");
    assert_eq!(
        told(&app, id).await,
        [
            "certificate.submitted",
            "certificate.effective",
            "certificate.expiring",
            "certificate.expired"
        ]
    );
    app.wait_until_indexed().await;
    let found = app.search("certification=green_food&per_page=50").await;
    assert!(
        !titles(&found).contains(&"盘石村绿色香米".to_string()),
        "{found}"
    );
}

async fn ticks_on_a_listing_are_claims_to_complete_and_verify_nothing(backend: Backend) {
    let Some(app) = market(backend).await else {
        return;
    };
    let panshi = app.login("coop-panshi").await;
    let org = app.organization_of(&panshi).await;
    let rice = app.category_id("rice").await;
    let r = app
        .post(
            "/api/v1/listings",
            Some(&panshi),
            json!({"category_id": rice, "title": "盘石村自称有机米", "unit": "jin", "price_fen": 990,
                   "stock": "50", "certifications": ["organic", "green_food"]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let listing = r.body["id"].as_i64().unwrap();
    assert_eq!(r.body["certifications"], json!([]));
    let mine = app
        .get(
            &format!("/api/v1/organizations/{org}/certificates"),
            Some(&panshi),
        )
        .await;
    let drafts: Vec<&Value> = mine
        .body
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| {
            c["status"] == "draft"
                && c["listings"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|l| l["id"] == listing)
        })
        .collect();
    let mut kinds: Vec<&str> = drafts.iter().map(|c| c["kind"].as_str().unwrap()).collect();
    kinds.sort();
    assert_eq!(kinds, ["green_food", "organic"]);
    // A draft from a tick has no number yet: submitting it names what is missing.
    let id = drafts[0]["id"].as_i64().unwrap();
    let s = app
        .post(
            &format!("/api/v1/certificates/{id}/submit"),
            Some(&panshi),
            json!({}),
        )
        .await;
    assert_eq!(s.status, StatusCode::UNPROCESSABLE_ENTITY);
    let mut fields = s.fields();
    fields.sort();
    assert_eq!(
        fields,
        [
            "file",
            "issuer",
            "number",
            "products",
            "valid_from",
            "valid_until"
        ]
    );
    // The public sees none of the drafts.
    let public = app
        .get(&format!("/api/v1/organizations/{org}/certificates"), None)
        .await;
    assert!(
        public
            .body
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["status"] != "draft")
    );
}

async fn bad_certificates_and_wrong_callers_are_refused_with_clear_answers(backend: Backend) {
    let Some(app) = market(backend).await else {
        return;
    };
    let (panshi, org, rice) = new_rice(&app, "盘石村检验米").await;
    let path = format!("/api/v1/organizations/{org}/certificates");
    // Who may not gets 403 whatever the body.
    let buyer = app.login("buyer").await;
    let zilong = app.login("coop-zilong").await;
    for token in [&buyer, &zilong] {
        let r = app
            .call_with(
                Method::POST,
                &path,
                Some(token),
                None,
                &[("content-type", "text/plain")],
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    }
    let anonymous = app.post(&path, None, json!({})).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    let zilong_org = app.organization_of(&zilong).await;
    let zilong_rice = app.listings_of(zilong_org).await[0];
    let cases: Vec<(Value, &str, &str)> = vec![
        (json!({}), "kind", "required"),
        (json!({"kind": "shiny"}), "kind", "unknown_value"),
        (json!({"kind": "pollution_free"}), "kind", "abolished"),
        (
            json!({"kind": "organic", "valid_from": "2026-13-01"}),
            "valid_from",
            "invalid_date",
        ),
        (
            json!({"kind": "organic", "valid_from": day(3)}),
            "valid_from",
            "in_future",
        ),
        (
            json!({"kind": "organic", "valid_until": day(-1)}),
            "valid_until",
            "expired",
        ),
        (
            json!({"kind": "organic", "number": "x".repeat(65)}),
            "number",
            "too_long",
        ),
        (
            json!({"kind": "organic", "issuer": "  "}),
            "issuer",
            "required",
        ),
        (
            json!({"kind": "organic", "listing_ids": [rice, zilong_rice]}),
            "listing_ids",
            "not_yours",
        ),
    ];
    for (body, field, code) in cases {
        let r = app.post(&path, Some(&panshi), body.clone()).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            r.text
        );
        let named = &r.body["error"]["fields"][field];
        assert_eq!(named["code"], code, "{body}: {}", r.text);
    }
    let draft = app
        .post(
            &path,
            Some(&panshi),
            json!({"kind": "organic", "valid_from": day(-10), "valid_until": day(5)}),
        )
        .await;
    assert_eq!(draft.status, StatusCode::CREATED);
    let id = draft.body["id"].as_i64().unwrap();
    let changed = app
        .patch(
            &format!("/api/v1/certificates/{id}"),
            Some(&panshi),
            json!({"valid_from": day(-1), "valid_until": day(0), "number": "ORG-1"}),
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.text);
    assert_eq!(changed.body["number"], "ORG-1");
    assert_eq!(changed.body["valid_until"], day(0));
    let not_a_scan = app
        .call_raw(
            Method::POST,
            &format!("/api/v1/certificates/{id}/files?name=scan.pdf"),
            Some(&panshi),
            "application/pdf",
            b"just some text".to_vec(),
        )
        .await;
    assert_eq!(not_a_scan.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        not_a_scan.body["error"]["fields"]["file"]["code"],
        "unsupported_file"
    );
    // Another organization's producer cannot touch it; the public cannot see the draft.
    let r = app
        .call_raw(
            Method::POST,
            &format!("/api/v1/certificates/{id}/files"),
            Some(&zilong),
            "application/pdf",
            SCAN.to_vec(),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    let r = app.get(&format!("/api/v1/certificates/{id}"), None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    for path in [
        "/api/v1/certificates/0",
        "/api/v1/certificates/abc",
        "/api/v1/certificates/999999",
    ] {
        assert_eq!(
            app.get(path, Some(&panshi)).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    // A draft is not there for the public to object to.
    let r = app
        .post(
            &format!("/api/v1/certificates/{id}/objections"),
            Some(&buyer),
            json!({"reason": "?"}),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::NOT_FOUND,
        "a draft is not visible: {}",
        r.text
    );
    let queue = app.get("/api/v1/certificates/queue", Some(&buyer)).await;
    assert_eq!(queue.status, StatusCode::FORBIDDEN);
}

async fn certificates_are_recorded_verified_and_objected_to_on_the_pages(backend: Backend) {
    let Some(app) = market(backend).await else {
        return;
    };
    let (_, _, rice) = new_rice(&app, "盘石村网页认定米").await;
    let url = &app.address;
    let panshi = signed_in(url, "coop-panshi").await;
    let (status, html) = page(&panshi, &format!("{url}/producer/certificates")).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(
        html.contains("盘石村网页认定米"),
        "its listings to cover: {html}"
    );
    let token = hidden(&html, "csrf_token");
    // A slip comes back beside its field, with what was typed.
    let mut form = vec![
        ("csrf_token", token.clone()),
        ("kind", "poverty_alleviation".to_string()),
        ("number", "XFBF-511723-0077".to_string()),
        ("issuer", "开江县乡村振兴局".to_string()),
        ("products", "富硒大米".to_string()),
        ("bases", String::new()),
        ("valid_from", day(5)),
        ("valid_until", day(600)),
        ("listing_ids", rice.to_string()),
    ];
    let r = panshi
        .post(format!("{url}/producer/certificates"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("id=\"e-valid_from\"") && html.contains("XFBF-511723-0077"),
        "{html}"
    );
    form[6].1 = day(-30);
    let r = panshi
        .post(format!("{url}/producer/certificates"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let here = format!("{url}{}", r.headers()["location"].to_str().unwrap());
    let id: i64 = here.rsplit('/').next().unwrap().parse().unwrap();

    // The scan goes up through the upload form; then submit.
    let (_, html) = page(&panshi, &here).await;
    let upload = reqwest::multipart::Form::new()
        .text("csrf_token", hidden(&html, "csrf_token"))
        .part(
            "file",
            reqwest::multipart::Part::bytes(SCAN.to_vec())
                .file_name("认定证书.pdf")
                .mime_str("application/pdf")
                .unwrap(),
        );
    let r = panshi
        .post(format!("{here}/files"))
        .multipart(upload)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = panshi
        .post(format!("{here}/submit"))
        .form(&[("csrf_token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, html) = page(&panshi, &here).await;
    assert!(
        html.contains("认定证书.pdf") && html.contains("status-submitted"),
        "{html}"
    );

    // 开江 finds it in the queue and verifies it: on public notice.
    let kaijiang = signed_in(url, "official-kaijiang").await;
    let (_, html) = page(&kaijiang, &format!("{url}/officials/certificates")).await;
    assert!(html.contains(&format!("/certificates/{id}")), "{html}");
    let (_, html) = page(&kaijiang, &here).await;
    let k_token = hidden(&html, "csrf_token");
    let r = kaijiang
        .post(format!("{here}/decide"))
        .form(&[("csrf_token", k_token.as_str()), ("decision", "approve")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);

    // Anyone reads the notice; a buyer objects there; 开江 dismisses it there.
    let (_, html) = page(
        &reqwest::Client::new(),
        &format!("{url}/certificates/notices"),
    )
    .await;
    assert!(html.contains("XFBF-511723-0077"), "{html}");
    let buyer = signed_in(url, "buyer").await;
    let (_, html) = page(&buyer, &here).await;
    assert!(html.contains("id=\"object-form\""), "{html}");
    let r = buyer
        .post(format!("{here}/objections"))
        .form(&[
            ("csrf_token", hidden(&html, "csrf_token").as_str()),
            ("reason", "产地存疑"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, html) = page(&kaijiang, &here).await;
    assert!(html.contains("产地存疑"), "{html}");
    let open: i64 = html
        .split("/objections/")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .and_then(|n| n.parse().ok())
        .expect("the objection's form");
    let r = kaijiang
        .post(format!("{here}/objections/{open}"))
        .form(&[
            ("csrf_token", k_token.as_str()),
            ("decision", "dismiss"),
            ("reason", "实地核查属实"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    sweep(&app, certificates::NOTICE_DAYS + 1).await;
    assert_eq!(
        certifications(&app, rice).await,
        json!(["poverty_alleviation"])
    );

    // The badge shows on the search page and the organization's page lists the certificate.
    app.wait_until_indexed().await;
    let (_, html) = page(
        &reqwest::Client::new(),
        &format!("{url}/search?certification=poverty_alleviation"),
    )
    .await;
    assert!(
        html.contains("盘石村网页认定米") && html.contains("class=\"badge\">消费帮扶产品认定"),
        "{html}"
    );
    let org = app.organization_of(&app.login("coop-panshi").await).await;
    let (_, html) = page(
        &reqwest::Client::new(),
        &format!("{url}/organizations/{org}"),
    )
    .await;
    assert!(html.contains("XFBF-511723-0077"), "{html}");
}

async fn certifications_listings_declared_before_certificates_become_drafts(backend: Backend) {
    use migrations::{Migrator, MigratorTrait};
    use qudao::catalog::domain::CertificateStatus;
    use qudao::catalog::entity::{certificate, certificate_listing};
    use sea_orm::ConnectionTrait;
    let Some(app) = crate::helpers::spawn_app(backend).await else {
        return;
    };
    let panshi = app.login("coop-panshi").await;
    let org = app.organization_of(&panshi).await;
    let listings = app.listings_of(org).await;
    let (a, b) = (listings[0], listings[1]);
    // The database as it was before certificates: listings carried their own ticks.
    // Every migration from the certificates' on is undone.
    let since = Migrator::get_applied_migrations(&app.db)
        .await
        .unwrap()
        .iter()
        .filter(|m| m.name() >= "m20261206_000019_create_certificates")
        .count();
    Migrator::down(&app.db, Some(since as u32))
        .await
        .expect("down to the ticks");
    app.db
        .execute_unprepared("UPDATE listings SET certifications = ''")
        .await
        .unwrap();
    for (id, ticks) in [(a, "green_food,organic"), (b, "organic")] {
        app.db
            .execute_unprepared(&format!(
                "UPDATE listings SET certifications = '{ticks}' WHERE id = {id}"
            ))
            .await
            .unwrap();
    }
    Migrator::up(&app.db, None).await.expect("up again");
    // Each organization and kind became one draft covering the listings that ticked it; the
    // listings carry nothing until a certificate is verified.
    let drafts = certificate::Entity::find()
        .filter(certificate::Column::OrganizationId.eq(org))
        .order_by_asc(certificate::Column::Kind)
        .all(&app.db)
        .await
        .unwrap();
    let mut got = Vec::new();
    for d in &drafts {
        assert_eq!(d.status, CertificateStatus::Draft);
        assert!(d.number.is_empty() && d.valid_until.is_none());
        let mut covered: Vec<i64> = certificate_listing::Entity::find()
            .filter(certificate_listing::Column::CertificateId.eq(d.id))
            .all(&app.db)
            .await
            .unwrap()
            .into_iter()
            .map(|c| c.listing_id)
            .collect();
        covered.sort();
        got.push((d.kind.code().to_string(), covered));
    }
    let mut both = vec![a, b];
    both.sort();
    assert_eq!(
        got,
        [
            ("green_food".to_string(), vec![a]),
            ("organic".to_string(), both)
        ]
    );
    for id in [a, b] {
        assert!(app.listing_row(id).await.certifications.list().is_empty());
    }
    // The drafts are the cooperative's to complete, on the API as anywhere.
    let mine = app
        .get(
            &format!("/api/v1/organizations/{org}/certificates"),
            Some(&panshi),
        )
        .await;
    assert_eq!(mine.status, StatusCode::OK, "{}", mine.text);
    assert_eq!(mine.body.as_array().unwrap().len(), 2);
}

async fn only_a_recognition_in_effect_counts_for_poverty_priority_in_matching(backend: Backend) {
    let Some(app) = market(backend).await else {
        return;
    };
    let rice = app.category_id("rice").await;
    let benefit = |listing: i64| {
        let db = app.db.clone();
        async move {
            qudao::matching::market::supplies(&db, Some(&[rice]))
                .await
                .unwrap()
                .into_iter()
                .find(|s| s.id == listing)
                .map(|s| s.benefit_bp)
                .expect("the listing is a supply")
        }
    };
    // The cooperative's households benefit from its sales; its demo rice is recognised.
    let (panshi_token, org, fresh) = new_rice(&app, "盘石村待认定新米").await;
    let mut demo_rice = 0;
    for id in app.listings_of(org).await {
        if id != fresh && app.listing_row(id).await.category_id == rice {
            demo_rice = id;
        }
    }
    assert!(benefit(demo_rice).await > 0, "the recognised rice counts");
    // The same cooperative's new rice, without a recognition in effect, does not; a
    // submitted, then a noticed one, do not either; in effect, it does.
    assert_eq!(benefit(fresh).await, 0);
    let id = submitted(
        &app,
        &panshi_token,
        org,
        certificate("poverty_alleviation", "XFBF-511723-0099", fresh, 700),
    )
    .await;
    assert_eq!(benefit(fresh).await, 0, "submitted is not recognised");
    let kaijiang = app.login("official-kaijiang").await;
    app.post(
        &format!("/api/v1/certificates/{id}/approve"),
        Some(&kaijiang),
        json!({}),
    )
    .await;
    assert_eq!(benefit(fresh).await, 0, "on notice is not recognised yet");
    sweep(&app, certificates::NOTICE_DAYS + 1).await;
    assert_eq!(benefit(fresh).await, benefit(demo_rice).await);
}
