//! Exports read back: the spreadsheet matches the screen; household figures and exports are on
//! record.

use qudao::stats::domain::{Granularity, Period};
use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

use crate::helpers::{Backend, spawn_app};
use crate::on_both_databases;

use super::{cell_i64, fen, order_of, random_market, today, xlsx_rows};

on_both_databases!(
    exports_open_and_match_the_screen,
    reading_household_figures_and_exporting_are_on_record_for_admins,
);

async fn exports_open_and_match_the_screen(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    random_market(&app, 11, 8).await;
    let buyer = app.login("buyer").await;
    let (rice, _) = order_of(&app, &buyer, "开江盘石村生态大米", "100", "x1").await;
    app.advance(rice, "complete").await;
    app.project().await;
    let official = app.login("official-kaijiang").await;
    let quarter = Period::containing(Granularity::Quarter, today());
    let base = format!("/api/v1/stats/regions/511723/report?quarter={quarter}&basis=completed");
    let screen = app.get(&base, Some(&official)).await.body;
    let rows = screen["rows"].as_array().unwrap();
    assert!(!rows.is_empty());

    let table = xlsx_rows(&app, &official, &format!("{base}&format=xlsx")).await;
    assert_eq!(table[0][1], calamine::Data::String("地区".into()));
    assert_eq!(
        table.len(),
        rows.len() + 2,
        "headings, one row per child, the total"
    );
    for (row, on_screen) in table[1..].iter().zip(rows) {
        assert_eq!(
            row[0],
            calamine::Data::String(on_screen["code"].as_str().unwrap().into())
        );
        assert_eq!(cell_i64(&row[3]), fen(&on_screen["figures"]["sales_fen"]));
        assert_eq!(cell_i64(&row[5]), fen(&on_screen["figures"]["orders"]));
        assert_eq!(cell_i64(&row[8]), fen(&on_screen["figures"]["households"]));
        assert_eq!(
            cell_i64(&row[9]),
            fen(&on_screen["figures"]["household_fen"])
        );
    }
    let last = &table[table.len() - 1];
    assert_eq!(cell_i64(&last[3]), fen(&screen["total"]["sales_fen"]));

    let csv = app
        .get(&format!("{base}&format=csv"), Some(&official))
        .await;
    assert_eq!(csv.status, StatusCode::OK);
    let lines: Vec<&str> = csv.text.trim_start_matches('\u{feff}').lines().collect();
    assert_eq!(lines.len(), rows.len() + 2);
    let total: Vec<&str> = lines[lines.len() - 1].split(',').collect();
    assert_eq!(
        total[3].parse::<i64>().unwrap(),
        fen(&screen["total"]["sales_fen"])
    );

    // The ledger lists every fact of the county; its amounts add up to the figures.
    let ledger_path = format!(
        "/api/v1/stats/regions/511723/ledger?from={}&to={}",
        quarter_start(quarter),
        quarter_end(quarter)
    );
    let ledger = app.get(&ledger_path, Some(&official)).await;
    assert_eq!(ledger.status, StatusCode::OK, "{}", ledger.text);
    let entries = ledger.body.as_array().unwrap();
    let completed: i64 = entries
        .iter()
        .filter(|e| e["kind"] == "completed")
        .map(|e| fen(&e["amount_fen"]))
        .sum();
    assert_eq!(completed, fen(&screen["total"]["sales_fen"]));
    let csv = app
        .get(&format!("{ledger_path}&format=csv"), Some(&official))
        .await;
    assert_eq!(
        csv.text.trim_start_matches('\u{feff}').lines().count(),
        entries.len() + 1
    );
    let sheet = xlsx_rows(&app, &official, &format!("{ledger_path}&format=xlsx")).await;
    assert_eq!(sheet.len(), entries.len() + 1);

    // The page shows the same figures with server-drawn charts, and households by number only.
    let page = app
        .get(
            &format!("/officials/regions/511723?period={quarter}"),
            Some(&official),
        )
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text.contains("<svg"), "charts are inline SVG");
    assert!(
        !page.text.contains("<script"),
        "the page needs no JavaScript"
    );
    let total = fen(&screen["total"]["sales_fen"]);
    assert!(
        page.text
            .contains(&format!("¥{}.{:02}", total / 100, total % 100))
    );
    for h in qudao::catalog::entity::household::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
    {
        assert!(
            !page.text.contains(&h.head_name),
            "a household's name on the page"
        );
    }

    // Every export, and only exports, is in the audit log.
    let logged = qudao::audit::entity::Entity::find()
        .filter(qudao::audit::entity::Column::Action.starts_with("stats.export"))
        .count(&app.db)
        .await
        .unwrap();
    assert_eq!(logged, 4);
}

async fn reading_household_figures_and_exporting_are_on_record_for_admins(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let official = app.login("official-kaijiang").await;
    let official_id = app.get("/api/v1/auth/me", Some(&official)).await.body["id"]
        .as_i64()
        .unwrap();
    let admin = app.login("admin").await;
    let before = app.get("/api/v1/admin/audit-log", Some(&admin)).await;
    assert_eq!(before.status, StatusCode::OK, "{}", before.text);
    let before = before.body["total"].as_u64().unwrap();

    // Figures without households leave no record; household figures, on the API or the page,
    // and exports do.
    assert_eq!(
        app.get("/api/v1/stats/regions/511723", Some(&official))
            .await
            .status,
        StatusCode::OK
    );
    let r = app
        .get("/api/v1/stats/regions/511723/households", Some(&official))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let page = app
        .client
        .get(format!("{}/officials/regions/511723", app.address))
        .bearer_auth(&official)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let r = app
        .get(
            "/api/v1/stats/regions/511723/report?format=csv",
            Some(&official),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    // Refused readings leave none.
    let r = app
        .get("/api/v1/stats/regions/513326/households", Some(&official))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    let log = app
        .get(
            &format!("/api/v1/admin/audit-log?actor_id={official_id}&per_page=100"),
            Some(&admin),
        )
        .await;
    assert_eq!(log.status, StatusCode::OK);
    let actions: Vec<&str> = log.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "stats.export_report",
            "stats.households_view",
            "stats.households_view"
        ],
        "newest first"
    );
    let all = app.get("/api/v1/admin/audit-log", Some(&admin)).await.body;
    assert_eq!(all["total"].as_u64().unwrap(), before + 3);
    let views = app
        .get(
            "/api/v1/admin/audit-log?action=stats.households_view",
            Some(&admin),
        )
        .await;
    let entry = &views.body["items"][0];
    assert_eq!(entry["actor_id"], official_id);
    assert_eq!(
        (entry["target_type"].as_str(), entry["target_id"].as_str()),
        (Some("region"), Some("511723"))
    );
    assert!(entry["detail"]["households"].is_u64(), "{entry}");

    // Only admins read it, and bad paging is refused by field.
    for token in [&official, &app.login("buyer").await] {
        let r = app.get("/api/v1/admin/audit-log", Some(token)).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
    }
    let r = app
        .get("/api/v1/admin/audit-log?per_page=1000", Some(&admin))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.fields(), ["per_page"]);
}

fn quarter_start(q: Period) -> String {
    let d = q.start_day();
    format!("{}-{:02}-{:02}", d / 10_000, d / 100 % 100, d % 100)
}

fn quarter_end(q: Period) -> String {
    let d = q.next().start_day();
    let date = chrono::NaiveDate::from_ymd_opt(d / 10_000, (d / 100 % 100) as u32, 1)
        .unwrap()
        .pred_opt()
        .unwrap();
    date.format("%Y-%m-%d").to_string()
}
