use qudao::accounts::entity::{api_token, session, user};
use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::json;

use crate::helpers::{Backend, PASSWORD, form_of, set_cookie_value, spawn_app};
use crate::on_both_databases;

on_both_databases!(
    login_gives_a_token_and_a_session_cookie,
    wrong_credentials_look_the_same_whether_or_not_the_account_exists,
    registration_checks_passwords_and_usernames,
    logout_ends_the_token_or_the_session,
    cookie_writes_need_the_csrf_token,
    disabling_a_user_ends_their_sessions,
    passwords_are_stored_as_argon2id,
    a_session_planted_before_sign_in_is_never_adopted,
);

async fn login_gives_a_token_and_a_session_cookie(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let r = app
        .post(
            "/api/v1/auth/login",
            None,
            json!({"username": "coop-panshi", "password": PASSWORD}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let token = r.body["token"].as_str().unwrap();
    assert_eq!(r.body["user"]["role"], "producer");
    let cookie = r
        .headers
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(cookie.starts_with("qudao_session="), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    assert!(
        !cookie.contains("Secure"),
        "plain HTTP must not mark the cookie Secure"
    );

    let me = app.get("/api/v1/auth/me", Some(token)).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.body["username"], "coop-panshi");

    let session_value = cookie.split(';').next().unwrap();
    let by_cookie = app
        .client
        .get(format!("{}/api/v1/auth/me", app.address))
        .header("cookie", session_value)
        .send()
        .await
        .unwrap();
    assert_eq!(by_cookie.status(), StatusCode::OK);

    // Behind a TLS-terminating proxy the cookie is Secure.
    let tls = app
        .client
        .post(format!("{}/api/v1/auth/login", app.address))
        .header("x-forwarded-proto", "https")
        .json(&json!({"username": "buyer", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert!(
        tls.headers()
            .get("set-cookie")
            .unwrap()
            .to_str()
            .unwrap()
            .contains("Secure")
    );

    // Each login opens a new session: the id is never reused.
    let again = app
        .post(
            "/api/v1/auth/login",
            None,
            json!({"username": "coop-panshi", "password": PASSWORD}),
        )
        .await;
    assert_ne!(
        again.headers.get("set-cookie").unwrap().to_str().unwrap(),
        cookie
    );
}

async fn wrong_credentials_look_the_same_whether_or_not_the_account_exists(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let wrong = app
        .post(
            "/api/v1/auth/login",
            None,
            json!({"username": "buyer", "password": "not-the-password"}),
        )
        .await;
    let missing = app
        .post(
            "/api/v1/auth/login",
            None,
            json!({"username": "nobody-here", "password": "not-the-password"}),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(missing.status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.body, missing.body);
    assert_eq!(wrong.code(), "invalid_credentials");
    let none = app.get("/api/v1/auth/me", Some("made-up-token")).await;
    assert_eq!(none.status, StatusCode::UNAUTHORIZED);
    assert_eq!(none.code(), "unauthenticated");
}

async fn registration_checks_passwords_and_usernames(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let weak = app
        .post(
            "/api/v1/auth/register",
            None,
            json!({"username": "canteen-1", "password": "password123", "display_name": "食堂"}),
        )
        .await;
    assert_eq!(weak.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        weak.body["error"]["fields"]["password"]["code"],
        "too_common"
    );

    let short = app
        .post(
            "/api/v1/auth/register",
            None,
            json!({"username": "canteen-1", "password": "短密码", "display_name": "食堂"}),
        )
        .await;
    assert_eq!(
        short.body["error"]["fields"]["password"]["code"],
        "too_short"
    );

    let bad_name = app
        .post(
            "/api/v1/auth/register",
            None,
            json!({"username": "食堂", "password": "成都蓉城食堂采购", "display_name": "食堂"}),
        )
        .await;
    assert_eq!(bad_name.fields(), vec!["username"]);

    let official = app
        .post("/api/v1/auth/register", None, json!({"username": "sneaky", "password": "成都蓉城食堂采购", "display_name": "x", "role": "official"}))
        .await;
    assert_eq!(official.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(official.fields(), vec!["role"]);

    let ok = app
        .post("/api/v1/auth/register", None, json!({"username": "Canteen-1", "password": "成都蓉城食堂采购", "display_name": "蓉城食堂"}))
        .await;
    assert_eq!(ok.status, StatusCode::CREATED, "{}", ok.text);
    assert_eq!(ok.body["username"], "canteen-1");
    assert_eq!(ok.body["role"], "buyer");

    let dup = app
        .post(
            "/api/v1/auth/register",
            None,
            json!({"username": "canteen-1", "password": "另一个很长的密码", "display_name": "x"}),
        )
        .await;
    assert_eq!(dup.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(dup.body["error"]["fields"]["username"]["code"], "taken");

    let token = app.login_with("canteen-1", "成都蓉城食堂采购").await;
    assert_eq!(
        app.get("/api/v1/auth/me", Some(&token)).await.body["display_name"],
        "蓉城食堂"
    );
}

async fn logout_ends_the_token_or_the_session(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let token = app.login("buyer").await;
    let out = app
        .post("/api/v1/auth/logout", Some(&token), json!({}))
        .await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.get("/api/v1/auth/me", Some(&token)).await.status,
        StatusCode::UNAUTHORIZED
    );

    let login = app
        .post(
            "/api/v1/auth/login",
            None,
            json!({"username": "buyer", "password": PASSWORD}),
        )
        .await;
    let cookie = login
        .headers
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let csrf = login.body["csrf_token"].as_str().unwrap();
    let out = app
        .client
        .post(format!("{}/api/v1/auth/logout", app.address))
        .header("cookie", &cookie)
        .header("x-csrf-token", csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    assert!(
        out.headers()
            .get("set-cookie")
            .unwrap()
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    let after = app
        .client
        .get(format!("{}/api/v1/auth/me", app.address))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), StatusCode::UNAUTHORIZED);
}

async fn cookie_writes_need_the_csrf_token(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let login = app
        .post(
            "/api/v1/auth/login",
            None,
            json!({"username": "coop-panshi", "password": PASSWORD}),
        )
        .await;
    let cookie = login
        .headers
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let csrf = login.body["csrf_token"].as_str().unwrap().to_string();
    let org = login.body["user"]["organization_id"].as_i64().unwrap();
    let listing = app.listings_of(org).await[0];
    let before = app.snapshot().await;
    let url = format!("{}/api/v1/listings/{listing}", app.address);
    let forged = app
        .client
        .patch(&url)
        .header("cookie", &cookie)
        .json(&json!({"price_fen": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let body: serde_json::Value = forged.json().await.unwrap();
    assert_eq!(body["error"]["code"], "csrf_failed");
    let wrong = app
        .client
        .patch(&url)
        .header("cookie", &cookie)
        .header("x-csrf-token", "0".repeat(64))
        .json(&json!({"price_fen": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        app.snapshot().await,
        before,
        "a forged request changed data"
    );
    let real = app
        .client
        .patch(&url)
        .header("cookie", &cookie)
        .header("x-csrf-token", &csrf)
        .json(&json!({"price_fen": 499}))
        .send()
        .await
        .unwrap();
    assert_eq!(real.status(), StatusCode::OK);
}

async fn disabling_a_user_ends_their_sessions(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let admin = app.login("admin").await;
    let buyer = app.login("buyer").await;
    let buyer_id = app.get("/api/v1/auth/me", Some(&buyer)).await.body["id"]
        .as_i64()
        .unwrap();
    let r = app
        .patch(
            &format!("/api/v1/users/{buyer_id}"),
            Some(&admin),
            json!({"disabled": true}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["disabled"], true);
    assert_eq!(
        app.get("/api/v1/auth/me", Some(&buyer)).await.status,
        StatusCode::UNAUTHORIZED
    );
    let again = app
        .post(
            "/api/v1/auth/login",
            None,
            json!({"username": "buyer", "password": PASSWORD}),
        )
        .await;
    assert_eq!(again.code(), "invalid_credentials");
    let sessions = session::Entity::find()
        .filter(session::Column::UserId.eq(buyer_id))
        .count(&app.db)
        .await
        .unwrap();
    assert_eq!(sessions, 0);
    let live_tokens = api_token::Entity::find()
        .filter(api_token::Column::UserId.eq(buyer_id))
        .filter(api_token::Column::RevokedAt.is_null())
        .count(&app.db)
        .await
        .unwrap();
    assert_eq!(live_tokens, 0);
    let me = app.get("/api/v1/auth/me", Some(&admin)).await.body["id"]
        .as_i64()
        .unwrap();
    let self_disable = app
        .patch(
            &format!("/api/v1/users/{me}"),
            Some(&admin),
            json!({"disabled": true}),
        )
        .await;
    assert_eq!(self_disable.status, StatusCode::UNPROCESSABLE_ENTITY);
}

async fn passwords_are_stored_as_argon2id(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let users = user::Entity::find().all(&app.db).await.unwrap();
    assert_eq!(users.len(), qudao::demo::DEMO_USERNAMES.len());
    for u in users {
        assert!(
            u.password_hash
                .starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{}",
            u.username
        );
        assert!(!u.password_hash.contains(PASSWORD));
    }
    // Tokens are stored only as digests.
    let token = app.login("buyer").await;
    let rows = api_token::Entity::find().all(&app.db).await.unwrap();
    assert!(rows.iter().all(|t| t.token_hash != token));
}

/// Session fixation: someone who plants a session cookie in a victim's browser before the
/// victim signs in must not end up sharing the victim's session.
async fn a_session_planted_before_sign_in_is_never_adopted(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let planted = "qudao_session=chosen-by-the-attacker-0123456789abcdef";
    let me = |cookie: String| {
        app.client
            .get(format!("{}/api/v1/auth/me", app.address))
            .header("cookie", cookie)
            .send()
    };

    // Through the sign-in page.
    let page = app
        .client
        .get(format!("{}/login", app.address))
        .header("cookie", planted)
        .send()
        .await
        .unwrap();
    let ((token, form_cookie), _) = form_of(page).await;
    let r = app
        .client
        .post(format!("{}/login", app.address))
        .header("cookie", format!("{planted}; qudao_form={form_cookie}"))
        .form(&[
            ("form_token", token.as_str()),
            ("username", "buyer"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let issued = set_cookie_value(&r, "qudao_session").expect("a new session cookie");
    assert_ne!(format!("qudao_session={issued}"), planted);
    assert_eq!(
        me(planted.to_string()).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        me(format!("qudao_session={issued}"))
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );

    // Through the API, and a second sign-in never hands back the first session.
    let r = app
        .client
        .post(format!("{}/api/v1/auth/login", app.address))
        .header("cookie", format!("qudao_session={issued}"))
        .json(&json!({"username": "buyer", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let second = set_cookie_value(&r, "qudao_session").unwrap();
    assert_ne!(second, issued);
    assert_ne!(format!("qudao_session={second}"), planted);
}
