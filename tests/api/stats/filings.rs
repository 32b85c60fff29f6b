//! The quarterly 成效统计表 reported up the chain: 开江's reporting staff fill it in and submit,
//! 达州's return it with comments or accept it, 四川's sign it off; drafts stay in the county,
//! read-only officials and other regions are refused, every step is kept and audited, and the
//! summaries add up accepted reports only, with who is missing and how late. On the API, in
//! XLSX, and on the pages through their forms.

use std::collections::BTreeMap;
use std::io::Cursor;

use reqwest::{Method, StatusCode};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

use qudao::stats::domain::{Granularity, Period};
use qudao::stats::filings::{Indicator, due};

use super::{cell_i64, order_of, today, xlsx_rows};
use crate::forms::page;
use crate::helpers::{Backend, TestApp, hidden, spawn_app};
use crate::on_both_databases;
use crate::pages::signed_in;

on_both_databases!(
    a_county_report_goes_up_the_chain_and_the_summary_adds_up_accepted_reports,
    a_draft_shows_its_quarter_s_platform_figures_and_bad_requests_are_named,
    reporting_staff_file_review_and_sign_off_on_the_pages,
    evidence_goes_up_with_the_version_it_was_attached_to,
    admins_make_reporting_staff_on_their_page,
);

/// The quarter whose report is due now: the last that ended.
fn last_quarter() -> Period {
    Period::containing(Granularity::Quarter, today()).prev()
}

/// Every indicator with a value derived from `base`, and a note.
fn all_indicators(base: i64) -> Value {
    let mut m = serde_json::Map::new();
    for (n, i) in Indicator::ALL.iter().enumerate() {
        m.insert(
            i.code().into(),
            json!({"value": base + n as i64, "note": format!("{} 依据台账", i.name_zh())}),
        );
    }
    json!({ "indicators": m })
}

/// An official made by the admin; returns a token.
async fn official(app: &TestApp, username: &str, region: &str, reporter: bool) -> String {
    let admin = app.login("admin").await;
    let r = app
        .post(
            "/api/v1/users",
            Some(&admin),
            json!({"username": username, "password": "报表专员密码2026", "display_name": username,
                   "role": "official", "region_code": region, "reporter": reporter}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["reporter"], reporter);
    app.login_with(username, "报表专员密码2026").await
}

fn path(county: &str, q: Period, action: &str) -> String {
    format!("/api/v1/stats/filings/{county}/{q}{action}")
}

async fn put(
    app: &TestApp,
    token: &str,
    county: &str,
    q: Period,
    body: Value,
) -> crate::helpers::Reply {
    app.call(Method::PUT, &path(county, q, ""), Some(token), Some(body))
        .await
}

fn row<'a>(summary: &'a Value, county: &str) -> &'a Value {
    summary["counties"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["county_code"] == county)
        .unwrap_or_else(|| panic!("{county} in {summary}"))
}

fn codes(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect()
}

async fn a_county_report_goes_up_the_chain_and_the_summary_adds_up_accepted_reports(
    backend: Backend,
) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let q = last_quarter();
    let kaijiang = app.login("official-kaijiang").await;
    let dazhou = app.login("official-dazhou").await;
    let sichuan = app.login("official-sichuan").await;
    let buyer = app.login("buyer").await;
    let reader = official(&app, "kaijiang-reader", "511723", false).await;
    let tongchuan = official(&app, "tongchuan-reporter", "511702", true).await;

    // Only the county's reporting staff fill it in.
    for (who, token) in [
        ("buyer", &buyer),
        ("read-only official", &reader),
        ("prefecture", &dazhou),
        ("other county", &tongchuan),
    ] {
        let r = put(&app, token, "511723", q, all_indicators(100)).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{who}: {}", r.text);
    }

    // A draft with five of the seven indicators: the county sees it, nobody above does.
    let mut partial = all_indicators(1000);
    let inds = partial["indicators"].as_object_mut().unwrap();
    inds.remove("new_enterprises");
    inds.remove("new_cooperatives");
    let r = put(&app, &kaijiang, "511723", q, partial).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["status"], "draft");
    assert_eq!(r.body["indicators"]["wage_income_fen"]["value"], 1000);
    assert_eq!(r.body["may"], json!(["save", "submit"]));
    let above = app.get(&path("511723", q, ""), Some(&dazhou)).await;
    assert_eq!(above.status, StatusCode::OK, "{}", above.text);
    assert_eq!(above.body["status"], "not_submitted");
    assert_eq!(above.body["indicators"], json!({}));
    assert!(above.body["steps"].as_array().unwrap().is_empty());
    let r = app.get(&path("511723", q, ""), Some(&tongchuan)).await;
    assert_eq!(
        r.status,
        StatusCode::FORBIDDEN,
        "another county reads no draft of 开江's"
    );
    let r = app.get(&path("511723", q, ""), Some(&reader)).await;
    assert_eq!(
        r.body["status"], "draft",
        "the county's own officials see its draft"
    );
    assert_eq!(
        r.body["may"],
        json!([]),
        "a read-only official may do nothing"
    );

    // Submitting needs all seven.
    let r = app
        .post(&path("511723", q, "/submit"), Some(&kaijiang), json!({}))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(
        r.fields(),
        vec!["indicators.new_cooperatives", "indicators.new_enterprises"]
    );

    // Bad values are named, and nothing of them is kept.
    let bad = json!({"indicators": {
        "new_jobs": {"value": -1, "note": ""},
        "sales_fen": {"value": 5, "note": ""},
        "wage_income_fen": {"value": 5, "note": "长".repeat(501)},
        "offline_sales_fen": {"value": 10_000_000_000_001_i64, "note": ""},
    }});
    let r = put(&app, &kaijiang, "511723", q, bad).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(
        r.fields(),
        vec![
            "indicators.new_jobs.value",
            "indicators.offline_sales_fen.value",
            "indicators.sales_fen",
            "indicators.wage_income_fen.note",
        ]
    );
    let r = app.get(&path("511723", q, ""), Some(&kaijiang)).await;
    assert_eq!(r.body["indicators"]["wage_income_fen"]["value"], 1000);

    // All seven, submitted: version 1, with the platform's figures of the quarter.
    let r = put(&app, &kaijiang, "511723", q, all_indicators(1000)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = app
        .post(&path("511723", q, "/submit"), Some(&kaijiang), json!({}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["status"], "submitted");
    assert_eq!(r.body["version"], 1);
    let report = app
        .get(
            &format!("/api/v1/stats/regions/511723/report?quarter={q}&basis=completed"),
            Some(&kaijiang),
        )
        .await;
    assert_eq!(
        r.body["platform"]["sales_fen"],
        report.body["total"]["sales_fen"]
    );
    assert_eq!(
        r.body["platform"]["households"],
        report.body["total"]["households"]
    );
    let late = (today() - due(q)).num_days().max(0);
    assert!(
        (late..=late + 1).contains(&r.body["late_days"].as_i64().unwrap()),
        "{} days late, due {}",
        r.body["late_days"],
        due(q)
    );
    // Submitted, it no longer changes.
    let r = put(&app, &kaijiang, "511723", q, all_indicators(1)).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    assert_eq!(r.code(), "filing_locked");
    let r = app
        .post(&path("511723", q, "/submit"), Some(&kaijiang), json!({}))
        .await;
    assert_eq!(r.code(), "filing_locked");

    // Above, it is now seen as submitted.
    let r = app.get(&path("511723", q, ""), Some(&dazhou)).await;
    assert_eq!(r.body["status"], "submitted");
    assert_eq!(r.body["indicators"]["new_jobs"]["value"], 1004);
    assert_eq!(r.body["may"], json!(["return", "accept"]));

    // Only the prefecture's reporting staff review.
    for token in [&sichuan, &kaijiang, &reader] {
        let r = app
            .post(&path("511723", q, "/accept"), Some(token), json!({}))
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    }
    let r = app
        .post(
            &path("511723", q, "/return"),
            Some(&dazhou),
            json!({"comments": {}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(r.fields(), vec!["comments"]);
    let r = app
        .post(
            &path("511723", q, "/return"),
            Some(&dazhou),
            json!({"comments": {"sales": "?"}}),
        )
        .await;
    assert_eq!(r.fields(), vec!["comments.sales"]);

    // Returned with a comment on the wages; the county sees it and revises.
    let r = app
        .post(
            &path("511723", q, "/return"),
            Some(&dazhou),
            json!({"comments": {"wage_income_fen": "务工工资与人社台账不一致,请核对", "general": " "}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["status"], "returned");
    let summary = app
        .get(
            &format!("/api/v1/stats/regions/511700/filings/{q}"),
            Some(&dazhou),
        )
        .await;
    assert_eq!(codes(&summary.body["returned"]), vec!["511723"]);
    assert_eq!(summary.body["counted"], 0);
    let r = app.get(&path("511723", q, ""), Some(&kaijiang)).await;
    assert_eq!(
        r.body["comments"],
        json!({"wage_income_fen": "务工工资与人社台账不一致,请核对"})
    );
    let mut revised = all_indicators(1000);
    revised["indicators"]["wage_income_fen"]["value"] = json!(2_500_000);
    let r = put(&app, &kaijiang, "511723", q, revised).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // Until it is submitted again, the prefecture sees version 1 as it was.
    let r = app.get(&path("511723", q, ""), Some(&dazhou)).await;
    assert_eq!(r.body["status"], "returned");
    assert_eq!(r.body["indicators"]["wage_income_fen"]["value"], 1000);
    let r = app
        .post(&path("511723", q, "/accept"), Some(&dazhou), json!({}))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.code(), "not_submitted");
    let r = app
        .post(&path("511723", q, "/submit"), Some(&kaijiang), json!({}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["version"], 2);
    assert_eq!(r.body["comments"], json!({}));

    // Two reviewers accepting at once: one wins, the other is told.
    let accept = path("511723", q, "/accept");
    let (a, b) = tokio::join!(
        app.post(&accept, Some(&dazhou), json!({})),
        app.post(&accept, Some(&dazhou), json!({})),
    );
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(
        statuses,
        [StatusCode::OK, StatusCode::CONFLICT],
        "{} / {}",
        a.text,
        b.text
    );
    let r = app
        .post(&path("511723", q, "/accept"), Some(&dazhou), json!({}))
        .await;
    assert_eq!(r.code(), "already_accepted");
    let accepted = app.get(&path("511723", q, ""), Some(&dazhou)).await.body;
    assert_eq!(accepted["status"], "accepted");

    // 通川 submits and waits; 达川 never does.
    let r = put(&app, &tongchuan, "511702", q, all_indicators(7)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = app
        .post(&path("511702", q, "/submit"), Some(&tongchuan), json!({}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);

    // The summaries add up the accepted report alone.
    for (region, token) in [("511700", &dazhou), ("510000", &sichuan)] {
        let s = app
            .get(
                &format!("/api/v1/stats/regions/{region}/filings/{q}"),
                Some(token),
            )
            .await;
        assert_eq!(s.status, StatusCode::OK, "{}", s.text);
        let s = s.body;
        assert_eq!(s["counted"], 1, "{region}");
        for i in Indicator::ALL {
            assert_eq!(
                s["indicators"][i.code()],
                accepted["indicators"][i.code()]["value"],
                "{region} {}",
                i.code()
            );
        }
        assert_eq!(s["platform"], accepted["platform"]);
        assert_eq!(row(&s, "511702")["status"], "submitted");
        assert_eq!(row(&s, "511723")["status"], "accepted");
        assert_eq!(row(&s, "511703")["status"], "not_submitted");
        assert!(row(&s, "511703")["late_days"].as_i64().unwrap() >= late);
        assert!(codes(&s["not_submitted"]).contains(&"511703".to_string()));
        assert!(!codes(&s["not_submitted"]).contains(&"511702".to_string()));
        assert_eq!(s["may_sign_off"], region == "510000");
    }
    // Out of scope: 达州's officials do not read the province's summary.
    let r = app
        .get(
            &format!("/api/v1/stats/regions/510000/filings/{q}"),
            Some(&dazhou),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    // The province signs off what was accepted, once.
    let r = app
        .post(
            &format!("/api/v1/stats/regions/510000/filings/{q}/sign-off"),
            Some(&dazhou),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let r = app
        .post(
            &format!("/api/v1/stats/regions/510000/filings/{q}/sign-off"),
            Some(&sichuan),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(row(&r.body, "511723")["status"], "signed_off");
    assert_eq!(row(&r.body, "511702")["status"], "submitted");
    assert_eq!(r.body["counted"], 1);
    let r = app
        .post(
            &format!("/api/v1/stats/regions/510000/filings/{q}/sign-off"),
            Some(&sichuan),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.code(), "nothing_to_sign_off");
    let r = app
        .post(
            &path("511723", q, "/return"),
            Some(&dazhou),
            json!({"comments": {"general": "晚了"}}),
        )
        .await;
    assert_eq!(r.code(), "signed_off");

    // After sign-off nothing changes but by a new version, opened with a reason, audited.
    let r = put(&app, &kaijiang, "511723", q, all_indicators(1)).await;
    assert_eq!(r.code(), "filing_locked");
    let revise = path("511723", q, "/revise");
    let r = app
        .post(&revise, Some(&dazhou), json!({"reason": "更正"}))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let r = app
        .post(&revise, Some(&kaijiang), json!({"reason": "  "}))
        .await;
    assert_eq!(r.fields(), vec!["reason"]);
    let r = app
        .post(
            &revise,
            Some(&kaijiang),
            json!({"reason": "新增就业人数漏报一个扶贫车间"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["status"], "revising");
    let r = app
        .post(&revise, Some(&kaijiang), json!({"reason": "再来"}))
        .await;
    assert_eq!(r.code(), "not_accepted");
    let s = app
        .get(
            &format!("/api/v1/stats/regions/510000/filings/{q}"),
            Some(&sichuan),
        )
        .await
        .body;
    assert_eq!(s["counted"], 0, "the version it replaces no longer counts");
    assert!(codes(&s["returned"]).contains(&"511723".to_string()));
    let mut corrected = all_indicators(1000);
    corrected["indicators"]["wage_income_fen"]["value"] = json!(2_500_000);
    corrected["indicators"]["new_jobs"]["value"] = json!(1_040);
    let r = put(&app, &kaijiang, "511723", q, corrected).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let before = app.get(&path("511723", q, ""), Some(&dazhou)).await.body;
    assert_eq!(
        before["indicators"]["new_jobs"]["value"], 1004,
        "above, the signed-off version until the new one goes up"
    );
    let r = app
        .post(&path("511723", q, "/submit"), Some(&kaijiang), json!({}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let version = r.body["version"].as_i64().unwrap();
    let r = app
        .post(&path("511723", q, "/accept"), Some(&dazhou), json!({}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = app
        .post(
            &format!("/api/v1/stats/regions/510000/filings/{q}/sign-off"),
            Some(&sichuan),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["indicators"]["new_jobs"], 1_040);
    assert_eq!(row(&r.body, "511723")["version"], version);
    let accepted = app.get(&path("511723", q, ""), Some(&dazhou)).await.body;

    // The history: the county sees its saves too; above, the steps since the first submission.
    let steps = |v: &Value| -> Vec<String> {
        v["steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["action"].as_str().unwrap().to_string())
            .collect()
    };
    let inside = steps(&app.get(&path("511723", q, ""), Some(&kaijiang)).await.body);
    let above = steps(&app.get(&path("511723", q, ""), Some(&sichuan)).await.body);
    assert_eq!(
        inside.iter().filter(|a| *a == "save").count(),
        4,
        "{inside:?}"
    );
    assert_eq!(
        above
            .iter()
            .filter(|a| *a != "submit" && *a != "return" && *a != "accept")
            .collect::<Vec<_>>(),
        vec!["sign_off", "revise", "sign_off"],
        "{above:?}"
    );
    assert_eq!(above.first().map(String::as_str), Some("submit"));
    // Every step went to the audit log.
    let audited = qudao::audit::entity::Entity::find()
        .filter(qudao::audit::entity::Column::Action.starts_with("stats.filing_"))
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(
        audited.len(),
        inside.len() + 2,
        "开江's steps and 通川's save and submit"
    );

    // The province's summary as XLSX, in the table's layout.
    let table = xlsx_rows(
        &app,
        &sichuan,
        &format!("/api/v1/stats/regions/510000/filings/{q}?format=xlsx"),
    )
    .await;
    let heading: Vec<String> = table[0].iter().map(|c| c.to_string()).collect();
    let summary = app
        .get(
            &format!("/api/v1/stats/regions/510000/filings/{q}"),
            Some(&sichuan),
        )
        .await
        .body;
    assert_eq!(
        table.len(),
        summary["counties"].as_array().unwrap().len() + 2
    );
    let col = |name: &str| {
        heading
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("{name} in {heading:?}"))
    };
    let kaijiang_row = table.iter().find(|r| r[0] == "511723").unwrap();
    assert_eq!(kaijiang_row[col("报送状态")].to_string(), "省级已确认");
    assert_eq!(
        cell_i64(&kaijiang_row[col("务工工资收入(分)")]),
        2_500_000,
        "the revised wage income"
    );
    let total = table.last().unwrap();
    assert_eq!(
        cell_i64(&total[col("新增就业人数")]),
        accepted["indicators"]["new_jobs"]["value"]
            .as_i64()
            .unwrap()
    );
    let exports = qudao::audit::entity::Entity::find()
        .filter(qudao::audit::entity::Column::Action.eq("stats.export_filings"))
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(exports.len(), 1);
}

async fn a_draft_shows_its_quarter_s_platform_figures_and_bad_requests_are_named(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let buyer = app.login("buyer").await;
    let (rice, amount) = order_of(&app, &buyer, "开江盘石村生态大米", "100", "f1").await;
    app.advance(rice, "complete").await;
    app.project().await;
    let kaijiang = app.login("official-kaijiang").await;
    let current = Period::containing(Granularity::Quarter, today());
    let r = app.get(&path("511723", current, ""), Some(&kaijiang)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let live = app
        .get(
            &format!("/api/v1/stats/regions/511723?period={current}&basis=completed"),
            Some(&kaijiang),
        )
        .await;
    assert!(r.body["platform"]["sales_fen"].as_i64().unwrap() >= amount);
    assert_eq!(
        r.body["platform"]["sales_fen"],
        live.body["figures"]["sales_fen"]
    );
    assert_eq!(
        r.body["platform"]["household_fen"],
        live.body["figures"]["household_fen"]
    );
    assert_eq!(
        r.body["may"],
        json!(["save"]),
        "the quarter runs: saving only"
    );

    // A draft may be kept during the quarter; it goes up once the quarter ends.
    let r = put(&app, &kaijiang, "511723", current, all_indicators(5)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = app
        .post(
            &path("511723", current, "/submit"),
            Some(&kaijiang),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    assert_eq!(r.code(), "quarter_not_ended");
    let future = current.next();
    let r = put(&app, &kaijiang, "511723", future, all_indicators(5)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(r.fields(), vec!["quarter"]);

    // Paths that name no report.
    let cases: BTreeMap<&str, (StatusCode, &str)> = [
        (
            "/api/v1/stats/filings/511723/2026Q5",
            (StatusCode::UNPROCESSABLE_ENTITY, "quarter"),
        ),
        (
            "/api/v1/stats/filings/511723/2026-07",
            (StatusCode::UNPROCESSABLE_ENTITY, "quarter"),
        ),
        (
            "/api/v1/stats/filings/511700/2026Q3",
            (StatusCode::UNPROCESSABLE_ENTITY, "code"),
        ),
        (
            "/api/v1/stats/regions/511723102210/filings/2026Q3",
            (StatusCode::UNPROCESSABLE_ENTITY, "code"),
        ),
        (
            "/api/v1/stats/filings/519999/2026Q3",
            (StatusCode::NOT_FOUND, ""),
        ),
    ]
    .into();
    let sichuan = app.login("official-sichuan").await;
    for (p, (status, field)) in cases {
        let r = app.get(p, Some(&sichuan)).await;
        assert_eq!(r.status, status, "{p}: {}", r.text);
        if !field.is_empty() {
            assert_eq!(r.fields(), vec![field], "{p}");
        }
    }
    // A body that is not the indicators.
    let r = put(
        &app,
        &kaijiang,
        "511723",
        current,
        json!({"indicators": {"new_jobs": {"value": "十二"}}}),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    let r = put(&app, &kaijiang, "511723", current, json!({"figures": {}})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);

    // Admins make officials reporting staff, and nobody else.
    let admin = app.login("admin").await;
    let r = app
        .post(
            "/api/v1/users",
            Some(&admin),
            json!({"username": "buyer-two", "password": "报表专员密码2026", "display_name": "b",
                   "role": "buyer", "reporter": true}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.fields(), vec!["reporter"]);
    let reader = official(&app, "reader-2", "511723", false).await;
    let me = app.get("/api/v1/auth/me", Some(&reader)).await.body;
    let r = put(&app, &reader, "511723", current, all_indicators(5)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = app
        .patch(
            &format!("/api/v1/users/{}", me["id"]),
            Some(&admin),
            json!({"reporter": true}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = put(&app, &reader, "511723", current, all_indicators(6)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let buyer_id = app.get("/api/v1/auth/me", Some(&buyer)).await.body["id"].clone();
    let r = app
        .patch(
            &format!("/api/v1/users/{buyer_id}"),
            Some(&admin),
            json!({"reporter": true}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.fields(), vec!["reporter"]);
}

/// Posts a page form with the session's token and returns the answer (redirects not followed).
pub(crate) async fn post_form(
    client: &reqwest::Client,
    url: &str,
    page_url: &str,
    fields: &[(&str, &str)],
) -> (StatusCode, String) {
    let (_, html) = page(client, page_url).await;
    let token = hidden(&html, "csrf_token");
    let mut all = vec![("csrf_token", token.as_str())];
    all.extend_from_slice(fields);
    let r = client.post(url).form(&all).send().await.unwrap();
    (r.status(), r.text().await.unwrap())
}

async fn reporting_staff_file_review_and_sign_off_on_the_pages(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let url = &app.address;
    let q = last_quarter();
    let form_page = format!("{url}/officials/filings/511723/{q}");
    let kaijiang = signed_in(url, "official-kaijiang").await;

    // The county's page links to the form of the last quarter.
    let (_, region) = page(&kaijiang, &format!("{url}/officials/regions/511723")).await;
    assert!(
        region.contains(&format!("/officials/filings/511723/{q}")),
        "{region}"
    );
    let (status, html) = page(&kaijiang, &form_page).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("id=\"filing-form\""));
    assert!(
        html.contains("/api/v1/stats/regions/511723/ledger?"),
        "the platform's figures link to the ledger"
    );

    // Evidence goes up through the page's upload form.
    let (_, html) = page(&kaijiang, &form_page).await;
    let form = reqwest::multipart::Form::new()
        .text("csrf_token", hidden(&html, "csrf_token"))
        .text("indicator", "new_jobs")
        .part(
            "file",
            reqwest::multipart::Part::bytes(PDF.to_vec())
                .file_name("就业花名册.pdf")
                .mime_str("application/pdf")
                .unwrap(),
        );
    let r = kaijiang
        .post(format!("{form_page}/evidence"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, html) = page(&kaijiang, &form_page).await;
    assert!(html.contains("就业花名册.pdf"), "{html}");

    // Typed in yuan; a slip comes back on the form with what was typed.
    let mut fields: Vec<(String, String)> = Indicator::ALL
        .iter()
        .map(|i| {
            (
                format!("v_{}", i.code()),
                if i.is_money() {
                    "1200.50".into()
                } else {
                    "3".into()
                },
            )
        })
        .collect();
    fields.push(("v_new_jobs".into(), "三".into()));
    fields.push(("n_new_jobs".into(), "扶贫车间".into()));
    fields.push(("action".into(), "submit".into()));
    let as_refs = |f: &Vec<(String, String)>| -> Vec<(String, String)> {
        let mut seen = BTreeMap::new();
        for (k, v) in f {
            seen.insert(k.clone(), v.clone());
        }
        seen.into_iter().collect()
    };
    let typed = as_refs(&fields);
    let refs: Vec<(&str, &str)> = typed
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let (status, html) = post_form(&kaijiang, &form_page, &form_page, &refs).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    assert!(html.contains("value=\"三\""), "what was typed is kept");
    assert!(html.contains("aria-invalid=\"true\" aria-describedby=\"e_new_jobs\""));
    fields.push(("v_new_jobs".into(), "3".into()));
    let typed = as_refs(&fields);
    let refs: Vec<(&str, &str)> = typed
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let (status, html) = post_form(&kaijiang, &form_page, &form_page, &refs).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
    let api = app.login("official-kaijiang").await;
    let r = app.get(&path("511723", q, ""), Some(&api)).await.body;
    assert_eq!(r["status"], "submitted");
    assert_eq!(
        r["indicators"]["wage_income_fen"]["value"], 120_050,
        "yuan became exact fen"
    );
    assert_eq!(r["indicators"]["new_jobs"]["note"], "扶贫车间");

    // 达州 returns it on its review form with a comment; 开江 reads the comment on its form.
    let dazhou = signed_in(url, "official-dazhou").await;
    let (_, summary) = page(
        &dazhou,
        &format!("{url}/officials/regions/511700/filings/{q}"),
    )
    .await;
    assert!(
        summary.contains("id=\"county-511723\" class=\"status-submitted\""),
        "{summary}"
    );
    assert!(summary.contains("id=\"county-511703\" class=\"status-not_submitted\""));
    let (_, html) = page(&dazhou, &form_page).await;
    assert!(
        html.contains("就业花名册.pdf"),
        "the evidence went up with the report"
    );
    let review = format!("{form_page}/review");
    let (status, _) = post_form(
        &dazhou,
        &review,
        &form_page,
        &[("decision", "return"), ("c_new_jobs", "请附就业花名册")],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, html) = page(&kaijiang, &form_page).await;
    assert!(html.contains("id=\"comment-new_jobs\""), "{html}");
    assert!(html.contains("请附就业花名册"));
    let typed = as_refs(&fields);
    let refs: Vec<(&str, &str)> = typed
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let (status, _) = post_form(&kaijiang, &form_page, &form_page, &refs).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (status, _) = post_form(&dazhou, &review, &form_page, &[("decision", "accept")]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);

    // 四川 signs off on the summary page and downloads it.
    let sichuan = signed_in(url, "official-sichuan").await;
    let summary_page = format!("{url}/officials/regions/510000/filings/{q}");
    let (_, html) = page(&sichuan, &summary_page).await;
    assert!(html.contains("id=\"sign-off-form\""), "{html}");
    let (status, _) = post_form(
        &sichuan,
        &format!("{summary_page}/sign-off"),
        &summary_page,
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, html) = page(&sichuan, &summary_page).await;
    assert!(
        html.contains("id=\"county-511723\" class=\"status-signed_off\""),
        "{html}"
    );
    let link = format!("/api/v1/stats/regions/510000/filings/{q}?format=xlsx");
    assert!(html.contains(&link));
    let r = sichuan.get(format!("{url}{link}")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.bytes().await.unwrap().starts_with(b"PK"),
        "an XLSX workbook"
    );
    let (_, html) = page(&kaijiang, &form_page).await;
    assert!(
        !html.contains("id=\"filing-form\""),
        "signed off, the form is gone"
    );
    assert!(html.contains("status-signed_off"));
    // A read-only page for whoever may not act: 达州 has no form to fill in.
    let (_, html) = page(&dazhou, &form_page).await;
    assert!(!html.contains("id=\"filing-form\"") && !html.contains("id=\"return-form\""));
}

/// A small PDF: a header, one object and the end marker.
const PDF: &[u8] =
    b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n";

fn png() -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    image::RgbImage::from_pixel(3, 2, image::Rgb([200, 30, 30]))
        .write_to(&mut out, image::ImageFormat::Png)
        .unwrap();
    out.into_inner()
}

async fn upload(
    app: &TestApp,
    token: &str,
    q: Period,
    query: &str,
    bytes: Vec<u8>,
) -> crate::helpers::Reply {
    app.call_raw(
        Method::POST,
        &path("511723", q, &format!("/evidence{query}")),
        Some(token),
        "application/octet-stream",
        bytes,
    )
    .await
}

async fn remove(app: &TestApp, token: &str, q: Period, id: &str) -> crate::helpers::Reply {
    app.call(
        Method::DELETE,
        &path("511723", q, &format!("/evidence/{id}")),
        Some(token),
        None,
    )
    .await
}

async fn download(app: &TestApp, token: &str, url: &str) -> (StatusCode, Vec<u8>, String) {
    let r = app
        .client
        .get(format!("{}{url}", app.address))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = r.status();
    let kind = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, r.bytes().await.unwrap().to_vec(), kind)
}

async fn evidence_goes_up_with_the_version_it_was_attached_to(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let q = last_quarter();
    let kaijiang = app.login("official-kaijiang").await;
    let dazhou = app.login("official-dazhou").await;
    let reader = official(&app, "kaijiang-reader", "511723", false).await;

    // Only the county's reporting staff attach; the file is judged by its content.
    let r = upload(&app, &reader, q, "?indicator=wage_income_fen", PDF.to_vec()).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let r = upload(
        &app,
        &kaijiang,
        q,
        "?indicator=wage_income_fen&name=x.pdf",
        b"<html>not a pdf</html>".to_vec(),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(r.fields(), vec!["file"]);
    assert_eq!(
        r.body["error"]["fields"]["file"]["code"],
        "unsupported_file"
    );
    let mut truncated = PDF.to_vec();
    truncated.truncate(20);
    let r = upload(&app, &kaijiang, q, "?indicator=wage_income_fen", truncated).await;
    assert_eq!(r.fields(), vec!["file"], "a PDF without its end is refused");
    let r = upload(&app, &kaijiang, q, "?indicator=sales_fen", PDF.to_vec()).await;
    assert_eq!(r.fields(), vec!["indicator"]);
    let r = upload(&app, &kaijiang, q, "?indicator=wage_income_fen", Vec::new()).await;
    assert_eq!(r.fields(), vec!["file"]);

    // A PDF and a PNG behind the wages, before anything else was saved.
    let r = upload(
        &app,
        &kaijiang,
        q,
        "?indicator=wage_income_fen&name=C:%5Cscans%5C%E5%B7%A5%E8%B5%84%E8%A1%A8.pdf",
        PDF.to_vec(),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(
        r.body["name"], "工资表.pdf",
        "the name's last component is kept"
    );
    assert_eq!(r.body["content_type"], "application/pdf");
    let pdf_url = r.body["url"].as_str().unwrap().to_string();
    let r = upload(
        &app,
        &kaijiang,
        q,
        "?indicator=wage_income_fen&name=photo.pdf",
        png(),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(
        r.body["content_type"], "image/png",
        "judged by content, not by name"
    );
    let png_id = r.body["id"].as_i64().unwrap();

    // The county reads them back as sent; above, nothing exists before it is submitted.
    let (status, bytes, kind) = download(&app, &kaijiang, &pdf_url).await;
    assert_eq!((status, kind.as_str()), (StatusCode::OK, "application/pdf"));
    assert_eq!(bytes, PDF);
    let (status, _, _) = download(&app, &dazhou, &pdf_url).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let above = app.get(&path("511723", q, ""), Some(&dazhou)).await.body;
    assert_eq!(above["evidence"], json!([]));

    // The PNG is taken back; then the report goes up with the PDF.
    let r = remove(&app, &kaijiang, q, &png_id.to_string()).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = put(&app, &kaijiang, "511723", q, all_indicators(10)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["evidence"].as_array().unwrap().len(), 1);
    let r = app
        .post(&path("511723", q, "/submit"), Some(&kaijiang), json!({}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let (status, bytes, _) = download(&app, &dazhou, &pdf_url).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(bytes, PDF);
    let above = app.get(&path("511723", q, ""), Some(&dazhou)).await.body;
    assert_eq!(above["evidence"][0]["indicator"], "wage_income_fen");
    assert_eq!(above["evidence"][0]["version"], 1);

    // Submitted, nothing is attached; returned, the first version's file stays with it.
    let r = upload(&app, &kaijiang, q, "?indicator=new_jobs", PDF.to_vec()).await;
    assert_eq!(r.code(), "filing_locked");
    let r = app
        .post(
            &path("511723", q, "/return"),
            Some(&dazhou),
            json!({"comments": {"new_jobs": "请附花名册"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let pdf_id = pdf_url.rsplit('/').next().unwrap();
    let r = remove(&app, &kaijiang, q, pdf_id).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    assert_eq!(r.code(), "evidence_submitted");
    let r = upload(
        &app,
        &kaijiang,
        q,
        "?indicator=new_jobs&name=花名册.png",
        png(),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["version"], 2);
    let roster = r.body["url"].as_str().unwrap().to_string();
    let (status, _, _) = download(&app, &dazhou, &roster).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "not until version 2 goes up");
    for _ in 0..4 {
        let r = upload(&app, &kaijiang, q, "?indicator=new_jobs", png()).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    }
    let r = upload(&app, &kaijiang, q, "?indicator=new_jobs", png()).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.code(), "evidence_limit");
    let r = app
        .post(&path("511723", q, "/submit"), Some(&kaijiang), json!({}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let (status, _, kind) = download(&app, &dazhou, &roster).await;
    assert_eq!((status, kind.as_str()), (StatusCode::OK, "image/png"));

    // Attaching and removing are audited.
    let audited = qudao::audit::entity::Entity::find()
        .filter(qudao::audit::entity::Column::Action.starts_with("stats.filing_evidence_"))
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(audited.len(), 2 + 1 + 5);
}

async fn admins_make_reporting_staff_on_their_page(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let url = &app.address;
    let admin = signed_in(url, "admin").await;
    let admin_page = format!("{url}/admin");
    let new_user = format!("{url}/admin/users");
    let fields = |password: &'static str| {
        vec![
            ("username", "tongchuan-staff"),
            ("password", password),
            ("display_name", "通川区统计员"),
            ("role", "official"),
            ("region_code", "511702"),
            ("reporter", "on"),
        ]
    };
    // A weak password comes back beside its field; what was typed stays, but the password.
    let (status, html) = post_form(&admin, &new_user, &admin_page, &fields("123")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    assert!(html.contains("id=\"password-error\""), "{html}");
    assert!(html.contains("value=\"tongchuan-staff\""));
    assert!(!html.contains("value=\"123\""));
    let (status, html) = post_form(
        &admin,
        &new_user,
        &admin_page,
        &fields("通川区报表专员2026"),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{html}");

    // The new official is reporting staff of 通川区 and files its report.
    let q = last_quarter();
    let staff = app
        .login_with("tongchuan-staff", "通川区报表专员2026")
        .await;
    let me = app.get("/api/v1/auth/me", Some(&staff)).await.body;
    assert_eq!(me["reporter"], true);
    assert_eq!(me["region_code"], "511702");
    let r = app
        .call(
            Method::PUT,
            &path("511702", q, ""),
            Some(&staff),
            Some(all_indicators(3)),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);

    // Made read-only on the page, it reads but no longer fills in; disabled, it is signed out.
    let change = format!("{url}/admin/users/{}", me["id"]);
    let (status, _) = post_form(&admin, &change, &admin_page, &[("reporter", "false")]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let r = app
        .call(
            Method::PUT,
            &path("511702", q, ""),
            Some(&staff),
            Some(all_indicators(4)),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    assert_eq!(
        app.get(&path("511702", q, ""), Some(&staff)).await.status,
        StatusCode::OK
    );
    let (status, _) = post_form(&admin, &change, &admin_page, &[("disabled", "true")]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        app.get("/api/v1/auth/me", Some(&staff)).await.status,
        StatusCode::UNAUTHORIZED
    );
    let (_, html) = page(&admin, &admin_page).await;
    assert!(html.contains(&format!("id=\"user-{}\"", me["id"])));

    // A buyer is never reporting staff, and nobody but an admin changes accounts.
    let buyer_fields = [
        ("username", "canteen-two"),
        ("password", "食堂采购密码2026"),
        ("display_name", "二食堂"),
        ("role", "buyer"),
        ("reporter", "on"),
    ];
    let (status, html) = post_form(&admin, &new_user, &admin_page, &buyer_fields).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("id=\"reporter-error\""), "{html}");
    let official = signed_in(url, "official-sichuan").await;
    let (_, html) = page(&official, &format!("{url}/officials/regions/510000")).await;
    let token = hidden(&html, "csrf_token");
    let r = official
        .post(&change)
        .form(&[("csrf_token", token.as_str()), ("disabled", "false")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}
