//! Joining qudao on the pages alone: a cooperative's staff register, apply for their
//! organization with slips returned beside their fields, the county's official recommends it
//! from the queue of their region, the admin approves it; a buyer registers and is signed in.

use qudao::catalog::domain::VerificationStatus;
use qudao::catalog::entity::organization;
use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;

use crate::forms::page;
use crate::helpers::{Backend, TestApp, hidden, spawn_app};
use crate::on_both_databases;
use crate::pages::signed_in;

on_both_databases!(
    a_cooperative_registers_applies_and_is_recommended_and_approved_on_the_pages,
    a_buyer_registers_on_the_page_and_is_signed_in,
);

/// A browser of its own, keeping cookies, not following redirects.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Sends the registration form with `fields` (and the page's token); the answer's status, its
/// `location` and its page.
async fn register(
    client: &reqwest::Client,
    url: &str,
    fields: &[(&str, &str)],
) -> (StatusCode, String, String) {
    let (status, html) = page(client, &format!("{url}/register")).await;
    assert_eq!(status, StatusCode::OK);
    let token = hidden(&html, "form_token");
    let mut form = fields.to_vec();
    form.push(("form_token", &token));
    let r = client
        .post(format!("{url}/register"))
        .form(&form)
        .send()
        .await
        .unwrap();
    let status = r.status();
    let to = r
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, to, r.text().await.unwrap())
}

async fn org_named(app: &TestApp, name: &str) -> organization::Model {
    organization::Entity::find()
        .filter(organization::Column::Name.eq(name))
        .one(&app.db)
        .await
        .unwrap()
        .expect("the organization")
}

async fn a_cooperative_registers_applies_and_is_recommended_and_approved_on_the_pages(
    backend: Backend,
) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let url = &app.address;
    let staff = browser();
    // Slips come back beside their fields, with what was typed kept.
    let (status, _, html) = register(
        &staff,
        url,
        &[
            ("role", "producer"),
            ("username", "Li Ming"),
            ("display_name", ""),
            ("password", "short"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    for field in ["username", "display_name", "password"] {
        assert!(
            html.contains(&format!("id=\"{field}-error\"")),
            "{field}: {html}"
        );
    }
    assert!(html.contains("value=\"Li Ming\""), "{html}");
    assert!(html.contains("id=\"role-producer\" name=\"role\" value=\"producer\" checked"));
    // A username already taken.
    let (status, _, html) = register(
        &staff,
        url,
        &[
            ("role", "producer"),
            ("username", "coop-panshi"),
            ("display_name", "李明"),
            ("password", "kaijiang-rice-2027"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("id=\"username-error\""), "{html}");
    // A form without its page's token is refused.
    let r = browser()
        .post(format!("{url}/register"))
        .form(&[
            ("username", "stranger"),
            ("password", "kaijiang-rice-2027"),
            ("display_name", "x"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    let (status, to, _) = register(
        &staff,
        url,
        &[
            ("role", "producer"),
            ("username", "liming"),
            ("display_name", "李明"),
            ("password", "kaijiang-rice-2027"),
            ("email", "liming@example.com"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(to, "/producer/organization");

    // Signed in, with no organization yet: the application form.
    let (status, html) = page(&staff, &format!("{url}/producer/organization")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("id=\"apply-form\""), "{html}");
    let csrf = hidden(&html, "csrf_token");
    let apply = |phone: &'static str, region: &'static str| {
        vec![
            ("csrf_token", csrf.clone()),
            ("name", "开江县永兴镇稻香种植专业合作社".to_string()),
            ("kind", "cooperative".to_string()),
            ("region_code", region.to_string()),
            ("description", "二百户社员，种植优质稻".to_string()),
            ("contact_name", "李明".to_string()),
            ("contact_phone", phone.to_string()),
        ]
    };
    let r = staff
        .post(format!("{url}/producer/organization/apply"))
        .form(&apply("12", ""))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    for field in ["contact_phone", "region_code"] {
        assert!(
            html.contains(&format!("id=\"{field}-error\"")),
            "{field}: {html}"
        );
    }
    assert!(
        html.contains("二百户社员"),
        "what was typed is kept: {html}"
    );
    let r = staff
        .post(format!("{url}/producer/organization/apply"))
        .form(&apply("13800138000", "511723"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let org = org_named(&app, "开江县永兴镇稻香种植专业合作社").await;
    assert_eq!(org.status, VerificationStatus::Applied);
    let (_, html) = page(&staff, &format!("{url}/producer/organization")).await;
    assert!(html.contains("id=\"org-waiting\""), "{html}");
    // Applying twice is refused.
    let again = staff
        .post(format!("{url}/producer/organization/apply"))
        .form(&apply("13800138000", "511723"))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::CONFLICT);

    // Another county's application, through the API.
    let other = app
        .post(
            "/api/v1/auth/register",
            None,
            json!({"username": "gesang", "password": "daofu-apples-2027", "display_name": "格桑", "role": "producer"}),
        )
        .await;
    assert_eq!(other.status, StatusCode::CREATED, "{}", other.text);
    let gesang = app.login_with("gesang", "daofu-apples-2027").await;
    let r = app
        .post(
            "/api/v1/organizations",
            Some(&gesang),
            json!({"name": "道孚县格西村苹果合作社", "kind": "cooperative", "region_code": "513326",
                   "contact_name": "格桑", "contact_phone": "13900139000"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);

    // 开江's official sees 开江's application only, and recommends it.
    let official = signed_in(url, "official-kaijiang").await;
    let (_, region) = page(&official, &format!("{url}/officials/regions/511723")).await;
    assert!(region.contains("href=\"/officials/organizations\""));
    let (status, html) = page(&official, &format!("{url}/officials/organizations")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(&format!("id=\"org-{}\"", org.id)), "{html}");
    assert!(!html.contains("道孚县格西村苹果合作社"), "{html}");
    let csrf = hidden(&html, "csrf_token");
    // Approving is not the county's step.
    let r = official
        .post(format!("{url}/admin/organizations/{}/approve", org.id))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = official
        .post(format!(
            "{url}/officials/organizations/{}/recommend",
            org.id
        ))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        org_named(&app, &org.name).await.status,
        VerificationStatus::Recommended
    );
    let (_, html) = page(&official, &format!("{url}/officials/organizations")).await;
    assert!(!html.contains(&format!("id=\"org-{}\"", org.id)), "{html}");
    // A buyer has no queue.
    let buyer = signed_in(url, "buyer").await;
    let (status, _) = page(&buyer, &format!("{url}/officials/organizations")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // The admin approves it on the admin page: the cooperative may now list.
    let admin = signed_in(url, "admin").await;
    let (_, html) = page(&admin, &format!("{url}/admin")).await;
    let csrf = hidden(&html, "csrf_token");
    let r = admin
        .post(format!("{url}/admin/organizations/{}/approve", org.id))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        org_named(&app, &org.name).await.status,
        VerificationStatus::Approved
    );
    let (_, html) = page(&staff, &format!("{url}/producer/organization")).await;
    assert!(!html.contains("id=\"org-waiting\""), "{html}");
    assert!(html.contains("李明"), "{html}");
    let (status, html) = page(&staff, &format!("{url}/producer/listings/new")).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    for action in ["organization.recommended", "organization.approved"] {
        assert!(app.audited(action, org.id).await, "{action}");
    }
}

async fn a_buyer_registers_on_the_page_and_is_signed_in(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let url = &app.address;
    let (_, login) = page(&browser(), &format!("{url}/login")).await;
    assert!(login.contains("href=\"/register\""));
    let client = browser();
    let (status, to, _) = register(
        &client,
        url,
        &[
            ("role", "buyer"),
            ("username", "canteen-wang"),
            ("display_name", "王师傅"),
            ("password", "chengdu-canteen-7"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(to, "/");
    let (status, html) = page(&client, &format!("{url}/cart")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("action=\"/logout\""), "signed in: {html}");
    // Only buyers and producer staff register themselves.
    let (status, _, html) = register(
        &browser(),
        url,
        &[
            ("role", "admin"),
            ("username", "sneaky"),
            ("display_name", "x"),
            ("password", "chengdu-canteen-7"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("id=\"role-error\""), "{html}");
    let token = app.login_with("canteen-wang", "chengdu-canteen-7").await;
    let me = app.get("/api/v1/auth/me", Some(&token)).await;
    assert_eq!(me.body["role"], "buyer", "{}", me.text);
}
