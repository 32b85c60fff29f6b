//! Recurring orders (定期订单): a canteen takes 100 斤 of rice every week. Over eight simulated
//! weeks, with two instances sweeping at once and one dying mid-period and restarting, each
//! week gives exactly one order, or a skip that both sides hear of.

use chrono::{Days, NaiveDate, Utc};
use qudao::orders::recurring;
use reqwest::{Method, StatusCode};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use serde_json::{Value, json};

use crate::forms::page;
use crate::helpers::{Backend, TestApp, hidden, spawn_app};
use crate::on_both_databases;
use crate::pages::signed_in;

on_both_databases!(
    eight_weeks_of_a_recurring_order_give_one_order_a_week_or_a_notice_why_not,
    recurring_orders_are_refused_by_field_and_changed_only_by_their_buyer,
    a_buyer_sets_up_changes_and_pauses_a_recurring_order_on_its_pages,
);

fn set_up(listing: i64, next_on: NaiveDate) -> Value {
    json!({
        "listing_id": listing, "quantity": "100", "period": "weekly", "next_on": next_on.to_string(),
        "address": {"recipient_name": "王师傅", "phone": "028-86630890", "region_code": "510104", "line": "红星路二段 70 号职工食堂"},
        "note": "早上 8 点前送到",
    })
}

/// 10:00 in Beijing on `day`.
fn morning(day: NaiveDate) -> chrono::DateTime<Utc> {
    day.and_hms_opt(2, 0, 0).unwrap().and_utc()
}

/// Another instance's pool on the same database, as a second `qudao serve` (or the same one
/// after a restart) would open.
async fn another_instance(app: &TestApp) -> DatabaseConnection {
    let mut settings = qudao::Settings::embedded(app.dir());
    if let Some(url) = app.database_url().filter(|u| u.starts_with("postgres")) {
        settings.database_url = url;
    }
    qudao::db::connect(&settings).await.unwrap()
}

async fn listing_change(app: &TestApp, token: &str, listing: i64, body: Value) {
    let r = app
        .patch(&format!("/api/v1/listings/{listing}"), Some(token), body)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}

async fn eight_weeks_of_a_recurring_order_give_one_order_a_week_or_a_notice_why_not(
    backend: Backend,
) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (panshi, rice) = app.panshi_rice_all_year().await;
    let buyer = app.login("buyer").await;
    let price = app.listing_row(rice).await.price_fen;
    let start = qudao::days::local_date(Utc::now()) + Days::new(1);
    let r = app
        .post(
            "/api/v1/recurring-orders",
            Some(&buyer),
            set_up(rice, start),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let id = r.body["id"].as_i64().unwrap();
    assert_eq!(r.body["max_price_fen"], price, "the price now is the limit");
    assert!(app.audited("recurring_order.create", id).await);

    let mut second = another_instance(&app).await;
    for day in 0..56u64 {
        let today = start + Days::new(day);
        let now = morning(today);
        match day {
            // Week 3: the cooperative has only 60 斤 left.
            14 => listing_change(&app, &panshi, rice, json!({"stock": "60"})).await,
            21 => listing_change(&app, &panshi, rice, json!({"stock": "500"})).await,
            // Week 6: the price rises above the canteen's limit, and falls back after.
            35 => listing_change(&app, &panshi, rice, json!({"price_fen": price + 50})).await,
            42 => listing_change(&app, &panshi, rice, json!({"price_fen": price})).await,
            _ => {}
        }
        if day == 28 {
            // Week 5: an instance takes the period and dies before committing; it comes back
            // with a fresh pool and the period is still there to run.
            let txn = qudao::db::write_txn(&second).await.unwrap();
            assert!(recurring::run_next(&txn, id, now).await.unwrap());
            drop(txn);
            second.close().await.unwrap();
            second = another_instance(&app).await;
        }
        // Two instances sweep at the same moment, every day.
        let (a, b) = tokio::join!(
            recurring::run_due(&app.db, now),
            recurring::run_due(&second, now)
        );
        let ran = a.unwrap() + b.unwrap();
        assert_eq!(ran, usize::from(day % 7 == 0), "day {day}");
    }

    let r = app
        .get(&format!("/api/v1/recurring-orders/{id}"), Some(&buyer))
        .await;
    let runs = r.body["runs"].as_array().unwrap().clone();
    assert_eq!(runs.len(), 8, "{}", r.text);
    let mut weeks: Vec<&Value> = runs.iter().collect();
    weeks.reverse();
    for (week, run) in weeks.iter().enumerate() {
        assert_eq!(
            run["period_on"],
            (start + Days::new(7 * week as u64)).to_string()
        );
        let (outcome, reason) = match week {
            2 => ("skipped", "insufficient_stock"),
            5 => ("skipped", "price_changed"),
            _ => ("placed", ""),
        };
        assert_eq!(
            (run["outcome"].as_str(), run["reason"].as_str()),
            (Some(outcome), Some(reason)),
            "week {week}: {run}"
        );
    }
    assert_eq!(r.body["next_on"], (start + Days::new(56)).to_string());

    // Six orders, each of 100 斤 on its week's day, placed through the checkout.
    use qudao::orders::entity::{order, order_line};
    let placed: Vec<i64> = weeks
        .iter()
        .filter_map(|w| w["order_id"].as_i64())
        .collect();
    assert_eq!(placed.len(), 6);
    let orders = order::Entity::find()
        .filter(order::Column::Note.contains(format!("定期订单 #{id}")))
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(orders.len(), 6, "one order per period placed");
    for o in &orders {
        assert!(placed.contains(&o.id));
        let line = order_line::Entity::find()
            .filter(order_line::Column::OrderId.eq(o.id))
            .one(&app.db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((line.listing_id, line.quantity_milli), (rice, 100_000));
        let run = weeks.iter().find(|w| w["order_id"] == o.id).unwrap();
        assert_eq!(
            qudao::days::local_date(o.placed_at).to_string(),
            run["period_on"].as_str().unwrap()
        );
    }

    // Both sides hear of each skipped week.
    app.deliver_notices().await;
    for token in [&buyer, &panshi] {
        let r = app.get("/api/v1/notifications", Some(token)).await;
        let skips = r.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| n["topic"] == "order.recurring_skipped")
            .count();
        assert_eq!(skips, 2, "{}", r.text);
    }
}

async fn recurring_orders_are_refused_by_field_and_changed_only_by_their_buyer(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (panshi, rice) = app.panshi_rice_all_year().await;
    let buyer = app.login("buyer").await;
    let today = qudao::days::local_date(Utc::now());
    let tomorrow = today + Days::new(1);
    let good = set_up(rice, tomorrow);
    let with = |field: &str, value: Value| {
        let mut body = good.clone();
        body[field] = value;
        body
    };
    for (body, field, code) in [
        (with("listing_id", json!(999_999)), "listing_id", "unknown"),
        (with("quantity", json!("0")), "quantity", "out_of_range"),
        (with("quantity", json!("一百")), "quantity", "invalid"),
        (with("period", json!("daily")), "period", "unknown_value"),
        (
            with("next_on", json!("2026-13-01")),
            "next_on",
            "invalid_date",
        ),
        (
            with("next_on", json!((today - Days::new(1)).to_string())),
            "next_on",
            "in_past",
        ),
        (
            with("next_on", json!((today + Days::new(400)).to_string())),
            "next_on",
            "too_far",
        ),
        (
            with("max_price_fen", json!(0)),
            "max_price_fen",
            "out_of_range",
        ),
        (
            with("delivery_method_id", json!(999_999)),
            "delivery_method_id",
            "unknown",
        ),
        (
            with(
                "address",
                json!({"recipient_name": "王师傅", "phone": "12", "region_code": "510104", "line": "红星路"}),
            ),
            "address.phone",
            "invalid",
        ),
    ] {
        let r = app
            .post("/api/v1/recurring-orders", Some(&buyer), body)
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
        assert!(
            r.fields().contains(&field.to_string()),
            "{field}: {}",
            r.text
        );
        assert_eq!(
            r.body["error"]["fields"][field]["code"], code,
            "{field}: {}",
            r.text
        );
    }
    // Only buyers set one up.
    let r = app
        .post("/api/v1/recurring-orders", Some(&panshi), good.clone())
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);

    let r = app
        .post("/api/v1/recurring-orders", Some(&buyer), good.clone())
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let id = r.body["id"].as_i64().unwrap();
    // The seller sees it and cannot change it; another buyer does not see it.
    let seen = app.get("/api/v1/recurring-orders", Some(&panshi)).await;
    assert!(seen.body.as_array().unwrap().iter().any(|x| x["id"] == id));
    let other = app.new_buyers(1).await.remove(0);
    let r = app
        .get(&format!("/api/v1/recurring-orders/{id}"), Some(&other))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    for (token, status) in [
        (&panshi, StatusCode::FORBIDDEN),
        (&other, StatusCode::NOT_FOUND),
    ] {
        let r = app
            .post(
                &format!("/api/v1/recurring-orders/{id}/pause"),
                Some(token),
                json!({}),
            )
            .await;
        assert_eq!(r.status, status, "{}", r.text);
    }

    // The buyer changes the quantity and the day, pauses, resumes and ends it.
    let changed = json!({
        "quantity": "150", "period": "monthly", "next_on": (today + Days::new(3)).to_string(),
        "address": good["address"].clone(),
    });
    let r = app
        .call(
            Method::PUT,
            &format!("/api/v1/recurring-orders/{id}"),
            Some(&buyer),
            Some(changed.clone()),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        (&r.body["quantity"], &r.body["period"]),
        (&json!("150"), &json!("monthly"))
    );
    let mut moved = changed.clone();
    moved["listing_id"] = json!(rice + 1);
    let r = app
        .call(
            Method::PUT,
            &format!("/api/v1/recurring-orders/{id}"),
            Some(&buyer),
            Some(moved),
        )
        .await;
    assert_eq!(
        r.body["error"]["fields"]["listing_id"]["code"], "immutable",
        "{}",
        r.text
    );
    for (step, status) in [
        ("pause", "paused"),
        ("resume", "active"),
        ("pause", "paused"),
    ] {
        let r = app
            .post(
                &format!("/api/v1/recurring-orders/{id}/{step}"),
                Some(&buyer),
                json!({}),
            )
            .await;
        assert_eq!(r.body["status"], status, "{step}: {}", r.text);
    }
    let r = app
        .post(
            &format!("/api/v1/recurring-orders/{id}/pause"),
            Some(&buyer),
            json!({}),
        )
        .await;
    assert_eq!(r.code(), "invalid_transition", "{}", r.text);
    // Paused, nothing runs.
    let later = morning(today + Days::new(10));
    assert_eq!(recurring::run_due(&app.db, later).await.unwrap(), 0);
    let r = app
        .call(
            Method::DELETE,
            &format!("/api/v1/recurring-orders/{id}"),
            Some(&buyer),
            None,
        )
        .await;
    assert_eq!(r.body["status"], "ended", "{}", r.text);
    let r = app
        .call(
            Method::PUT,
            &format!("/api/v1/recurring-orders/{id}"),
            Some(&buyer),
            Some(changed),
        )
        .await;
    assert_eq!(r.code(), "recurring_ended", "{}", r.text);
    for action in [
        "recurring_order.update",
        "recurring_order.pause",
        "recurring_order.resume",
        "recurring_order.end",
    ] {
        assert!(app.audited(action, id).await, "{action}");
    }
}

async fn a_buyer_sets_up_changes_and_pauses_a_recurring_order_on_its_pages(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (_, rice) = app.panshi_rice_all_year().await;
    let url = &app.address;
    let buyer = signed_in(url, "buyer").await;
    let seller = signed_in(url, "coop-panshi").await;
    // The listing's page leads to the form, filled with its minimum and its price.
    let (_, listing) = page(&buyer, &format!("{url}/listings/{rice}")).await;
    assert!(listing.contains(&format!("/recurring?listing_id={rice}")));
    let new = format!("{url}/recurring?listing_id={rice}");
    let (status, html) = page(&buyer, &new).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("id=\"recurring-form\""), "{html}");
    let csrf = hidden(&html, "csrf_token");
    let tomorrow = (qudao::days::local_date(Utc::now()) + Days::new(1)).to_string();
    let form = |quantity: &'static str, price: &'static str| {
        vec![
            ("csrf_token", csrf.clone()),
            ("listing_id", rice.to_string()),
            ("quantity", quantity.to_string()),
            ("period", "weekly".to_string()),
            ("next_on", tomorrow.clone()),
            ("max_price_yuan", price.to_string()),
            ("delivery_method_id", String::new()),
            ("recipient_name", "王师傅".to_string()),
            ("phone", "028-86630890".to_string()),
            ("region_code", "510104".to_string()),
            ("line", "红星路二段 70 号".to_string()),
            ("note", String::new()),
        ]
    };
    // Refused beside its fields, what was typed kept.
    let r = buyer
        .post(format!("{url}/recurring"))
        .form(&form("10", "四块八"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(html.contains("id=\"max_price_yuan-error\""), "{html}");
    let r = buyer
        .post(format!("{url}/recurring"))
        .form(&form("10", "4.80"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(html.contains("id=\"quantity-error\""), "{html}");
    assert!(html.contains("低于起订量"), "{html}");

    let r = buyer
        .post(format!("{url}/recurring"))
        .form(&form("120", "4.80"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let one = format!("{url}{}", r.headers()["location"].to_str().unwrap());
    assert!(one.contains("/recurring/"), "{one}");
    let id: i64 = one.rsplit('/').next().unwrap().parse().unwrap();
    let (_, html) = page(&buyer, &one).await;
    assert!(html.contains("120") && html.contains("¥4.80"), "{html}");

    // The buyer changes it to monthly, then pauses it.
    let (_, html) = page(&buyer, &one).await;
    let csrf = hidden(&html, "csrf_token");
    let mut changed = form("150", "5.00");
    changed[0].1 = csrf.clone();
    changed[3].1 = "monthly".into();
    let r = buyer.post(&one).form(&changed).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = buyer
        .post(format!("{one}/pause"))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, html) = page(&buyer, &one).await;
    assert!(html.contains("id=\"step-resume\""), "{html}");
    let api = app
        .get(
            &format!("/api/v1/recurring-orders/{id}"),
            Some(&app.login("buyer").await),
        )
        .await;
    assert_eq!(
        (
            &api.body["quantity"],
            &api.body["period"],
            &api.body["max_price_fen"],
            &api.body["status"]
        ),
        (
            &json!("150"),
            &json!("monthly"),
            &json!(500),
            &json!("paused")
        ),
    );

    // The seller reads it on its page, without the buttons or the form.
    let (status, html) = page(&seller, &one).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!html.contains("id=\"recurring-form\"") && !html.contains("id=\"step-resume\""));
    let r = seller
        .post(format!("{one}/resume"))
        .form(&[("csrf_token", hidden(&html, "csrf_token").as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}
