//! Rate limits as strangers meet them: a few wrong passwords slow one account down whoever
//! sends them, floods from one address or one account get 429 with `Retry-After`, and nobody
//! else is held up.

use qudao::throttle::Kind;
use reqwest::{Method, StatusCode};
use sea_orm::ConnectionTrait;
use serde_json::json;

use crate::helpers::{
    Backend, PASSWORD, Reply, TestApp, form_of, redis_database, redis_keys, send_sign_in,
    spawn_app, spawn_app_with,
};

/// Signs in through the API, from `address` as the load balancer reports it.
async fn sign_in(app: &TestApp, username: &str, password: &str, address: &str) -> Reply {
    app.call_with(
        Method::POST,
        "/api/v1/auth/login",
        None,
        Some(json!({"username": username, "password": password})),
        &[("x-forwarded-for", address)],
    )
    .await
}

/// The `Retry-After` of an answer, in seconds.
fn retry_after(r: &Reply) -> u64 {
    r.headers
        .get("retry-after")
        .expect("a Retry-After header")
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

crate::on_both_databases!(
    wrong_passwords_slow_one_account_down_from_any_address,
    with_redis_the_limits_live_there_on_either_database
);

/// On PostgreSQL the cells are the database's, shared by every instance; the same limits hold.
async fn wrong_passwords_slow_one_account_down_from_any_address(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (tries, _) = Kind::SignInAccount.allowance();
    let r = wrong_guesses_then_refused(&app).await;

    // An account that does not exist is limited the same way, so the limit tells nothing.
    for _ in 0..tries {
        let r = sign_in(&app, "nobody-here", "guess-number-one", "198.51.100.1").await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    let unknown = sign_in(&app, "nobody-here", "guess-number-one", "198.51.100.1").await;
    assert_eq!(unknown.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(unknown.code(), r.code());

    a_success_gives_the_tries_back(&app).await;

    // The sign-in page says it in the reader's language, keeping the username.
    let page = app
        .client
        .get(format!("{}/login", app.address))
        .send()
        .await
        .unwrap();
    let (form, _) = form_of(page).await;
    let r = send_sign_in(&app, form, &[("username", "buyer"), ("password", PASSWORD)]).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers().contains_key("retry-after"));
    let html = r.text().await.unwrap();
    assert!(html.contains("此账号尝试次数过多"), "{html}");
    assert!(html.contains("value=\"buyer\""));
}

#[tokio::test]
async fn one_address_may_only_sign_in_so_often() {
    let app = spawn_app(Backend::Sqlite).await.unwrap();
    let (attempts, _) = Kind::SignInAddress.allowance();
    // Spread over many accounts, so that no account's own limit is reached.
    for i in 0..attempts {
        let r = sign_in(
            &app,
            &format!("someone-{i}"),
            "guess-number-one",
            "198.51.100.7",
        )
        .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    let r = sign_in(&app, "buyer", PASSWORD, "198.51.100.7").await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(retry_after(&r) >= 1);
    // From another address the same person signs in.
    assert_eq!(
        sign_in(&app, "buyer", PASSWORD, "198.51.100.8")
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn registrations_searches_and_writes_have_their_limits() {
    let app = spawn_app(Backend::Sqlite).await.unwrap();
    // Registration, per address (counted whether or not the account is made).
    let (registrations, _) = Kind::Register.allowance();
    for i in 0..registrations {
        let r = app
            .post(
                "/api/v1/auth/register",
                None,
                json!({"username": format!("villager-{i}"), "password": "123456", "display_name": "村民"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    }
    let r = app
        .post(
            "/api/v1/auth/register",
            None,
            json!({"username": "villager-x", "password": "a-long-good-passphrase", "display_name": "村民"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.code(), "rate_limited");
    assert!(retry_after(&r) >= 1);

    // Writes, per account: one busy account does not hold up another.
    let buyer = app.login("buyer").await;
    let other = app.login("coop-panshi").await;
    let read_all = |token: String| {
        let app = &app;
        async move {
            app.post("/api/v1/notifications/read-all", Some(&token), json!({}))
                .await
        }
    };
    let r = until_limited(Kind::Write, || read_all(buyer.clone())).await;
    assert_eq!(r.code(), "rate_limited");
    assert!(read_all(other.clone()).await.status.is_success());
    // Reading is not a write.
    assert_eq!(
        app.get("/api/v1/cart", Some(&buyer)).await.status,
        StatusCode::OK
    );

    // Searches, per address.
    let r = until_limited(Kind::Search, || {
        app.get("/api/v1/search?q=%E6%B4%8B%E8%8A%8B", None)
    })
    .await;
    assert_eq!(r.code(), "rate_limited");
}

/// Sends requests until one is refused; checks that the whole allowance of `kind` (and what
/// refilled meanwhile) went through first, each answered as usual, and that the refusal is a
/// 429 with `Retry-After`.
async fn until_limited<F: std::future::Future<Output = Reply>>(
    kind: Kind,
    mut send: impl FnMut() -> F,
) -> Reply {
    let (burst, window) = kind.allowance();
    let started = std::time::Instant::now();
    let mut passed = 0u32;
    loop {
        let r = send().await;
        if r.status == StatusCode::TOO_MANY_REQUESTS {
            let refilled = (started.elapsed().as_nanos() / (window / burst).as_nanos()) as u32;
            assert!(
                (burst..=burst + refilled + 1).contains(&passed),
                "{passed} passed of an allowance of {burst} (+{refilled} refilled)"
            );
            assert!(retry_after(&r) >= 1);
            return r;
        }
        assert!(r.status.is_success(), "request {passed}: {}", r.text);
        passed += 1;
        assert!(passed <= burst * 2, "no limit after {passed} requests");
    }
}

#[tokio::test]
async fn switched_off_the_limits_let_everything_through() {
    let app = spawn_app_with(Backend::Sqlite, |s| s.rate_limits = false)
        .await
        .unwrap();
    let (tries, _) = Kind::SignInAccount.allowance();
    for _ in 0..=tries {
        let r = sign_in(&app, "buyer", "guess-number-one", "198.51.100.1").await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(
        sign_in(&app, "buyer", PASSWORD, "198.51.100.1")
            .await
            .status,
        StatusCode::OK
    );
}

/// With `QUDAO_REDIS_URL` the cells are Redis's, whatever the database: the same limits hold,
/// each cell expires when its allowance is whole again, and the database keeps none.
async fn with_redis_the_limits_live_there_on_either_database(backend: Backend) {
    let number = match backend {
        Backend::Sqlite => 13,
        Backend::Postgres => 14,
    };
    let Some((url, mut redis)) = redis_database(number).await else {
        return;
    };
    let Some(app) = spawn_app_with(backend, |s| s.redis_url = Some(url.clone())).await else {
        return;
    };
    let (_, window) = Kind::SignInAccount.allowance();
    wrong_guesses_then_refused(&app).await;
    // One cell for the account, living until its allowance is whole again: the window.
    let cells = redis_keys(&mut redis, "qudao:throttle:2:*").await;
    assert_eq!(cells.len(), 1, "{cells:?}");
    let ttl = cells[0].1;
    assert!(ttl > 0 && ttl <= window.as_millis() as i64, "{cells:?}");
    assert!(!cells[0].0.contains("buyer"), "keys are fingerprints");
    if backend == Backend::Postgres {
        let rows = app
            .db
            .query_one_raw(sea_orm::Statement::from_string(
                sea_orm::DbBackend::Postgres,
                "SELECT count(*) FROM throttle_cells",
            ))
            .await
            .unwrap()
            .unwrap()
            .try_get_by_index::<i64>(0)
            .unwrap();
        assert_eq!(rows, 0, "the database keeps no cell");
    }
    a_success_gives_the_tries_back(&app).await;
}

/// Each guess from a different address: the limit is the account's. Then even the right
/// password waits, and says for how long; the refusal.
async fn wrong_guesses_then_refused(app: &TestApp) -> Reply {
    let (tries, window) = Kind::SignInAccount.allowance();
    for i in 0..tries {
        let r = sign_in(app, "buyer", "guess-number-one", &format!("198.51.100.{i}")).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "guess {i}: {}", r.text);
    }
    let r = sign_in(app, "buyer", PASSWORD, "203.0.113.50").await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text);
    assert_eq!(r.code(), "rate_limited");
    let wait = retry_after(&r);
    assert!(
        (1..=(window / tries).as_secs()).contains(&wait),
        "Retry-After {wait}"
    );
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains(&wait.to_string())
    );
    r
}

/// Other people sign in as usual, and a success gives an account its tries back.
async fn a_success_gives_the_tries_back(app: &TestApp) {
    let (tries, _) = Kind::SignInAccount.allowance();
    for _ in 0..tries - 1 {
        let r = sign_in(app, "coop-panshi", "guess-number-one", "198.51.100.2").await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    let ok = sign_in(app, "coop-panshi", PASSWORD, "198.51.100.2").await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text);
    for _ in 0..tries {
        let r = sign_in(app, "coop-panshi", "guess-number-one", "198.51.100.2").await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    let late = sign_in(app, "coop-panshi", PASSWORD, "198.51.100.2").await;
    assert_eq!(late.status, StatusCode::TOO_MANY_REQUESTS);
}
