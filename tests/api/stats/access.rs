//! Who reads what: an official only their own region, on the API and the pages; targets and
//! progress.

use qudao::stats::domain::{Granularity, Period};
use reqwest::{Method, StatusCode};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;

use crate::helpers::{Backend, form_of, hidden, send_sign_in, set_cookie_value, spawn_app};
use crate::on_both_databases;

use super::{fen, order_of, today};

on_both_databases!(
    an_official_reads_only_their_own_region,
    officials_set_targets_and_see_progress,
    an_official_signs_in_on_the_page_and_reads_the_county,
);

async fn an_official_reads_only_their_own_region(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let official = app.login("official-kaijiang").await;
    let buyer = app.login("buyer").await;
    let producer = app.login("coop-panshi").await;
    let admin = app.login("admin").await;
    let paths = |code: &str| {
        vec![
            format!("/api/v1/stats/regions/{code}"),
            format!("/api/v1/stats/regions/{code}?by=category"),
            format!("/api/v1/stats/regions/{code}/trend?granularity=month"),
            format!("/api/v1/stats/regions/{code}/households"),
            format!("/api/v1/stats/regions/{code}/targets"),
            format!("/api/v1/stats/regions/{code}/report"),
            format!("/api/v1/stats/regions/{code}/report?format=csv"),
            format!("/api/v1/stats/regions/{code}/report?format=xlsx"),
            format!("/api/v1/stats/regions/{code}/ledger"),
            format!("/api/v1/stats/regions/{code}/ledger?format=csv"),
            format!("/api/v1/stats/regions/{code}/ledger?format=xlsx"),
            format!("/officials/regions/{code}"),
        ]
    };
    for code in ["513326", "510000", "511700", "513326100204", "511381"] {
        for path in paths(code) {
            let r = app.get(&path, Some(&official)).await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}: {}", r.text);
            if path.starts_with("/api/") {
                assert_eq!(r.code(), "forbidden", "{path}");
            }
        }
        let r = app
            .call(
                Method::PUT,
                &format!("/api/v1/stats/regions/{code}/targets"),
                Some(&official),
                Some(
                    json!({"year": 2026, "sales_fen": 1, "households": 1, "new_organizations": 1}),
                ),
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{code}");
    }
    for path in paths("511723").into_iter().chain(
        paths("511723102210")
            .into_iter()
            .filter(|p| !p.contains("ledger")),
    ) {
        let r = app.get(&path, Some(&official)).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text);
        for (who, token) in [("buyer", &buyer), ("producer", &producer)] {
            let r = app.get(&path, Some(token)).await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{path} as {who}");
        }
        let r = app.get(&path, None).await;
        assert!(
            matches!(r.status, StatusCode::UNAUTHORIZED | StatusCode::SEE_OTHER),
            "{path} anonymously: {}",
            r.status
        );
    }
    // Refused exports leave no trace in the audit log; the allowed ones do.
    let logged = qudao::audit::entity::Entity::find()
        .filter(qudao::audit::entity::Column::Action.starts_with("stats.export"))
        .all(&app.db)
        .await
        .unwrap();
    assert!(
        logged.iter().all(|a| a.target_id.starts_with("511723")),
        "{logged:?}"
    );
    assert_eq!(logged.len(), 4 + 2);
    for (code, ledger) in [("510000", 422), ("513326", 200)] {
        for path in paths(code) {
            let r = app.get(&path, Some(&admin)).await;
            let expected = if path.contains("ledger") { ledger } else { 200 };
            assert_eq!(r.status.as_u16(), expected, "{path} as admin: {}", r.text);
        }
    }
    let r = app.get("/api/v1/stats/regions/519999", Some(&admin)).await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "not_found"));
    let r = app
        .get(
            "/api/v1/stats/regions/511723?period=2026Q9",
            Some(&official),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.fields(), vec!["period".to_string()]);
}

async fn officials_set_targets_and_see_progress(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let official = app.login("official-kaijiang").await;
    let admin = app.login("admin").await;
    let year = Period::containing(Granularity::Year, today()).year();
    let path = "/api/v1/stats/regions/511723/targets";
    let goals =
        json!({"year": year, "sales_fen": 100_000_000, "households": 10, "new_organizations": 2});
    let r = app
        .call(Method::PUT, path, Some(&admin), Some(goals.clone()))
        .await;
    assert_eq!(
        r.status,
        StatusCode::FORBIDDEN,
        "targets are the officials' to set"
    );
    let r = app
        .call(
            Method::PUT,
            path,
            Some(&official),
            Some(json!({"year": year, "sales_fen": -1, "households": 1, "new_organizations": 1})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.fields(), vec!["sales_fen".to_string()]);
    let r = app
        .call(Method::PUT, path, Some(&official), Some(goals))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["targets"]["sales_fen"], 100_000_000);
    assert_eq!(r.body["sales_bp"], 0);

    let buyer = app.login("buyer").await;
    let (id, amount) = order_of(&app, &buyer, "开江盘石村生态大米", "100", "t1").await;
    app.advance(id, "complete").await;
    app.project().await;
    let r = app
        .get(&format!("{path}?year={year}"), Some(&official))
        .await;
    assert_eq!(fen(&r.body["actual"]["sales_fen"]), amount);
    assert_eq!(fen(&r.body["sales_bp"]), amount * 10_000 / 100_000_000);
    assert!(fen(&r.body["actual"]["households"]) > 0);
    // The province sees the county's targets, read-only.
    let province = app.login("official-sichuan").await;
    let r = app.get(path, Some(&province)).await;
    assert_eq!(r.body["targets"]["households"], 10);
}

async fn an_official_signs_in_on_the_page_and_reads_the_county(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let page = |path: &str, cookie: Option<String>| {
        let mut req = app.client.get(format!("{}{path}", app.address));
        if let Some(c) = cookie {
            req = req.header("cookie", c);
        }
        req.send()
    };
    let r = page("/officials/regions/511723", None).await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.text().await.unwrap().contains("/login?next=/officials"));

    let (form, html) = form_of(page("/login", None).await.unwrap()).await;
    assert!(
        html.contains("<label for=\"username\">用户名</label>"),
        "{html}"
    );

    // A form sent without the cookie it came with is refused, and nobody is signed in.
    let r = app
        .client
        .post(format!("{}/login", app.address))
        .form(&[
            ("form_token", form.0.as_str()),
            ("username", "official-kaijiang"),
            ("password", crate::helpers::PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(set_cookie_value(&r, "qudao_session").is_none());
    assert!(r.text().await.unwrap().contains("表单已过期"));

    // A missing password is shown beside its field, and the username is kept.
    let r = send_sign_in(&app, form, &[("username", "official-kaijiang")]).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let (form, html) = form_of(r).await;
    assert!(html.contains("id=\"password-error\""), "{html}");
    assert!(!html.contains("id=\"username-error\""));
    assert!(html.contains("value=\"official-kaijiang\""));

    // A wrong password says so without telling whether the account exists.
    let r = send_sign_in(
        &app,
        form,
        &[
            ("username", "official-kaijiang"),
            ("password", "not-the-password"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(set_cookie_value(&r, "qudao_session").is_none());
    let (form, html) = form_of(r).await;
    assert!(html.contains("用户名或密码不正确"));

    // Signing in goes where the official was heading, never to another site.
    let r = send_sign_in(
        &app,
        form,
        &[
            ("username", "official-kaijiang"),
            ("password", crate::helpers::PASSWORD),
            ("next", "//elsewhere.example/"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/officials");
    let session = set_cookie_value(&r, "qudao_session").expect("a session cookie");
    let cookie = format!("qudao_session={session}");
    let r = page("/officials", Some(cookie.clone())).await.unwrap();
    assert_eq!(r.headers()["location"], "/officials/regions/511723");
    let r = page("/officials/regions/511723", Some(cookie.clone()))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    assert!(html.contains("开江县"), "{html}");
    let csrf = hidden(&html, "csrf_token");

    // In English too.
    let r = page("/login", Some("qudao_lang=en".into())).await.unwrap();
    assert!(r.text().await.unwrap().contains(">Sign in</button>"));

    // Signing out needs the session's token, then ends the session.
    let sign_out = |token: String| {
        app.client
            .post(format!("{}/logout", app.address))
            .header("cookie", cookie.clone())
            .form(&[("csrf_token", token)])
            .send()
    };
    let r = sign_out("forged".into()).await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = page("/officials/regions/511723", Some(cookie.clone()))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = sign_out(csrf).await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = page("/officials/regions/511723", Some(cookie.clone()))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}
