//! The officials' dashboard as an official reads it: cards that match the figures, progress
//! against the year's targets, the trend's target line, the child regions ranked and on a
//! tile map, and English place names on English pages.

use qudao::catalog::entity::region;
use qudao::stats::domain::{Granularity, Period};
use reqwest::{Method, StatusCode};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::json;

use crate::helpers::{Backend, spawn_app};
use crate::on_both_databases;

use super::{fen, order_of, today};

on_both_databases!(the_dashboard_shows_where_a_region_stands,);

/// `¥12.30`, as the pages write fen.
fn yuan(f: i64) -> String {
    format!(
        "{}¥{}.{:02}",
        if f < 0 { "-" } else { "" },
        f.abs() / 100,
        f.abs() % 100
    )
}

/// The text of the element whose opening tag carries `id="{id}"`, up to its closing `tag`.
fn element<'a>(html: &'a str, id: &str, tag: &str) -> &'a str {
    let start = html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id} in {html}"));
    let end = html[start..]
        .find(&format!("</{tag}>"))
        .unwrap_or_else(|| panic!("#{id} is not closed"));
    &html[start..start + end]
}

async fn the_dashboard_shows_where_a_region_stands(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let buyer = app.login("buyer").await;
    let (rice, _) = order_of(&app, &buyer, "开江盘石村生态大米", "100", "d1").await;
    app.advance(rice, "complete").await;
    app.project().await;
    let official = app.login("official-sichuan").await;
    let year = Period::containing(Granularity::Year, today()).year();
    let quarter = Period::containing(Granularity::Quarter, today());
    let set = app
        .call(
            Method::PUT,
            "/api/v1/stats/regions/510000/targets",
            Some(&official),
            Some(json!({"year": year, "sales_fen": 40_000_000, "households": 3, "new_organizations": 0})),
        )
        .await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.text);

    let rollup = app
        .get(
            &format!("/api/v1/stats/regions/510000?period={quarter}"),
            Some(&official),
        )
        .await;
    assert_eq!(rollup.status, StatusCode::OK, "{}", rollup.text);
    let progress = app
        .get(
            &format!("/api/v1/stats/regions/510000/targets?year={year}"),
            Some(&official),
        )
        .await
        .body;
    let page = app
        .get(
            &format!("/officials/regions/510000?period={quarter}"),
            Some(&official),
        )
        .await;
    assert_eq!(page.status, StatusCode::OK);
    let html = &page.text;
    assert!(
        !html.contains("<script"),
        "the dashboard needs no JavaScript"
    );

    // The cards read the figures of the period and the one before, with the change.
    let (now, before) = (&rollup.body["figures"], &rollup.body["previous"]);
    let sales = element(html, "card-stats_sales", "li");
    assert!(sales.contains(&yuan(fen(&now["sales_fen"]))), "{sales}");
    assert!(sales.contains(&yuan(fen(&before["sales_fen"]))), "{sales}");
    let orders = element(html, "card-stats_orders", "li");
    assert!(
        orders.contains(&format!("<strong>{}</strong>", now["orders"])),
        "{orders}"
    );
    let (n, b) = (fen(&now["orders"]), fen(&before["orders"]));
    let direction = match n.cmp(&b) {
        _ if b == 0 => "flat",
        std::cmp::Ordering::Greater => "up",
        std::cmp::Ordering::Less => "down",
        std::cmp::Ordering::Equal => "flat",
    };
    assert!(
        orders.contains(&format!("class=\"change {direction}\"")),
        "{orders}"
    );

    // Progress bars show the share of each target reached; a target of nothing is not shown.
    let reached = fen(&progress["sales_bp"]).min(10_000);
    let goal = element(html, "goal-stats_sales", "li");
    assert!(goal.contains(&format!("data-bp=\"{reached}\"")), "{goal}");
    assert!(goal.contains(&yuan(40_000_000)), "{goal}");
    assert!(goal.contains("class=\"pace\""), "{goal}");
    assert!(html.contains("id=\"goal-stats_households\""));
    assert!(!html.contains("id=\"goal-stats_new_organizations\""));

    // The trend carries the quarter's share of the yearly target as a line.
    let trend = element(html, "trend", "figure");
    assert!(trend.contains("class=\"target\""), "{trend}");
    assert!(
        trend.contains(&format!("季度目标 {}", yuan(10_000_000))),
        "{trend}"
    );

    // The map has one tile for every prefecture, linked to its page; the largest seller is
    // darkest and those that sold nothing are blank.
    let prefectures = region::Entity::find()
        .filter(region::Column::ParentCode.eq("510000"))
        .order_by_asc(region::Column::Code)
        .all(&app.db)
        .await
        .unwrap();
    let map = element(html, "map", "figure");
    assert_eq!(map.matches("class=\"tile ").count(), prefectures.len());
    let breakdown = rollup.body["breakdown"].as_array().unwrap();
    let sales_of = |code: &str| {
        breakdown
            .iter()
            .find(|r| r["code"] == code && r["direct"] == false)
            .map_or(0, |r| fen(&r["figures"]["sales_fen"]))
    };
    let top = prefectures
        .iter()
        .max_by_key(|p| sales_of(&p.code))
        .unwrap();
    assert!(sales_of(&top.code) > 0);
    for p in &prefectures {
        let link = format!(
            "<a href=\"/officials/regions/{}?period={quarter}&amp;basis=completed\" class=\"tile shade-",
            p.code
        );
        let at = map
            .find(&link)
            .unwrap_or_else(|| panic!("no tile for {} in {map}", p.code));
        let shade = &map[at + link.len()..at + link.len() + 1];
        let sold = sales_of(&p.code);
        if p.code == top.code {
            assert_eq!(shade, "4", "{}", p.name);
        } else if sold == 0 {
            assert_eq!(shade, "0", "{}", p.name);
        } else {
            assert!(("1".."4").contains(&shade), "{}: {shade}", p.name);
        }
        assert!(map.contains(&p.name), "{}", p.name);
    }

    // The ranked bars put every larger seller before a smaller one.
    let ranked = element(html, "ranked-regions", "figure");
    let placed: Vec<(i64, usize)> = breakdown
        .iter()
        .map(|r| {
            let name = r["name"].as_str().unwrap();
            let at = ranked
                .find(&format!(">{name}<"))
                .unwrap_or_else(|| panic!("{name} in {ranked}"));
            (fen(&r["figures"]["sales_fen"]), at)
        })
        .collect();
    for a in &placed {
        for b in &placed {
            assert!(a.0 <= b.0 || a.1 < b.1, "{placed:?}");
        }
    }

    // In English, the places are named in English.
    let english = app
        .call_with(
            Method::GET,
            &format!("/officials/regions/510000?period={quarter}"),
            Some(&official),
            None,
            &[("accept-language", "en")],
        )
        .await;
    assert_eq!(english.status, StatusCode::OK);
    let map = element(&english.text, "map", "figure");
    for p in &prefectures {
        assert!(
            !p.name_en.is_empty() && map.contains(&p.name_en),
            "{}",
            p.name_en
        );
        assert!(!map.contains(&p.name), "{} on an English page", p.name);
    }
    let ranked = element(&english.text, "ranked-regions", "figure");
    assert!(
        !ranked
            .chars()
            .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
        "{ranked}"
    );
    assert!(
        english.text.contains("<h1>Sichuan"),
        "the region's own name in English"
    );
    assert!(element(&english.text, "trend", "figure").contains("quarterly target"));
}
