//! Server-rendered pages for people, in Simplified Chinese first and English second.

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use minijinja::{Environment, Value, context};
use serde::Deserialize;

use crate::accounts::auth::cookie;
use crate::catalog::categories;
use crate::catalog::domain::format_yuan;
use crate::catalog::http::views::{ListingView, listing_views};
use crate::catalog::listings::{self, ListFilter};
use crate::state::AppState;

mod sign_in;

const LANG_COOKIE: &str = "qudao_lang";
const CSS: &str = include_str!("../../frontend/static/app.css");
const NOTIFY_JS: &str = include_str!("../../frontend/static/notify.js");

/// A language the pages are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}

impl Lang {
    fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }

    fn parse(code: &str) -> Option<Lang> {
        match code {
            "zh" => Some(Lang::Zh),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// The cookie's choice, else the browser's first preference, else Chinese.
    pub fn of_request(headers: &HeaderMap) -> Lang {
        if let Some(l) = cookie(headers, LANG_COOKIE).and_then(Lang::parse) {
            return l;
        }
        let accept = headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if accept.trim_start().starts_with("en") {
            Lang::En
        } else {
            Lang::Zh
        }
    }
}

/// Templates and translations, loaded once at start-up.
pub struct Pages {
    env: Environment<'static>,
    zh: BTreeMap<String, String>,
    en: BTreeMap<String, String>,
    css_version: String,
    js_version: String,
}

impl Pages {
    /// Builds the template environment from the files embedded in the binary.
    pub fn new() -> anyhow::Result<Self> {
        let mut env = Environment::new();
        env.add_template(
            "base.html",
            include_str!("../../frontend/templates/base.html"),
        )?;
        env.add_template(
            "home.html",
            include_str!("../../frontend/templates/home.html"),
        )?;
        env.add_template(
            "listing.html",
            include_str!("../../frontend/templates/listing.html"),
        )?;
        env.add_template(
            "officials.html",
            include_str!("../../frontend/templates/officials.html"),
        )?;
        env.add_template(
            "notifications.html",
            include_str!("../../frontend/templates/notifications.html"),
        )?;
        env.add_template(
            "unsubscribe.html",
            include_str!("../../frontend/templates/unsubscribe.html"),
        )?;
        env.add_template(
            "sign_in.html",
            include_str!("../../frontend/templates/sign_in.html"),
        )?;
        env.add_template(
            "not_found.html",
            include_str!("../../frontend/templates/not_found.html"),
        )?;
        let zh: BTreeMap<String, String> =
            toml::from_str(include_str!("../../frontend/i18n/zh.toml"))?;
        let en: BTreeMap<String, String> =
            toml::from_str(include_str!("../../frontend/i18n/en.toml"))?;
        let missing: Vec<_> = zh
            .keys()
            .filter(|k| !en.contains_key(*k))
            .chain(en.keys().filter(|k| !zh.contains_key(*k)))
            .collect();
        anyhow::ensure!(
            missing.is_empty(),
            "translations missing in one language: {missing:?}"
        );
        let digest = crate::accounts::token::digest(CSS);
        Ok(Pages {
            env,
            zh,
            en,
            css_version: digest[..12].to_string(),
            js_version: crate::accounts::token::digest(NOTIFY_JS)[..12].to_string(),
        })
    }

    pub fn render(&self, name: &str, lang: Lang, ctx: Value) -> Response {
        let t = match lang {
            Lang::Zh => &self.zh,
            Lang::En => &self.en,
        };
        let other = if lang == Lang::Zh { Lang::En } else { Lang::Zh };
        let full = context! {
            t => Value::from_serialize(t),
            lang => lang.code(),
            other_lang => other.code(),
            css_version => &self.css_version,
            js_version => &self.js_version,
            ..ctx
        };
        match self.env.get_template(name).and_then(|tpl| tpl.render(full)) {
            Ok(html) => Html(html).into_response(),
            Err(e) => {
                tracing::error!(error = %e, template = name, "rendering failed");
                (StatusCode::INTERNAL_SERVER_ERROR, "page rendering failed").into_response()
            }
        }
    }
}

/// Page routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/listings/{id}", get(listing_page))
        .route("/lang/{code}", get(switch_language))
        .route("/login", get(sign_in::sign_in_page).post(sign_in::sign_in))
        .route("/logout", post(sign_in::sign_out))
        .route(
            "/notifications",
            get(crate::notify::pages::notifications_page),
        )
        .route(
            "/notifications/read-all",
            post(crate::notify::pages::read_all_form),
        )
        .route(
            "/notifications/{id}/read",
            post(crate::notify::pages::read_one_form),
        )
        .route("/static/notify.js", get(script))
        .route(
            "/unsubscribe",
            get(crate::notify::pages::confirm_page).post(crate::notify::pages::unsubscribe),
        )
        .route("/static/app.css", get(stylesheet))
        .merge(crate::stats::pages::router())
}

/// The 404 page for anything no route matched (JSON under `/api/`).
pub async fn fallback(
    State(state): State<AppState>,
    uri: axum::http::Uri,
    headers: HeaderMap,
) -> Response {
    if uri.path().starts_with("/api/") {
        return crate::error::AppError::NotFound("route").into_response();
    }
    let mut r = state
        .pages
        .render("not_found.html", Lang::of_request(&headers), context! {});
    *r.status_mut() = StatusCode::NOT_FOUND;
    r
}

async fn script() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        NOTIFY_JS,
    )
}

async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        CSS,
    )
}

async fn switch_language(Path(code): Path<String>, headers: HeaderMap) -> Response {
    let lang = Lang::parse(&code).unwrap_or(Lang::Zh);
    let back = headers
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|r| {
            r.find("://")
                .map(|i| &r[i + 3..])
                .and_then(|rest| rest.find('/').map(|j| rest[j..].to_string()))
        })
        .filter(|p| p.starts_with('/') && !p.starts_with("//"))
        .unwrap_or_else(|| "/".into());
    let cookie = format!(
        "{LANG_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax",
        lang.code()
    );
    ([(header::SET_COOKIE, cookie)], Redirect::to(&back)).into_response()
}

fn card(l: &ListingView, lang: Lang) -> Value {
    let (unit, grade) = match lang {
        Lang::Zh => (l.unit.name_zh(), l.grade.name_zh()),
        Lang::En => (l.unit.name_en(), l.grade.name_en()),
    };
    let season = match (l.season_start, l.season_end, lang) {
        (Some(a), Some(b), Lang::Zh) => format!("{a}月–{b}月"),
        (Some(a), Some(b), Lang::En) => format!("month {a} to {b}"),
        _ => String::new(),
    };
    let certs: Vec<&str> = l
        .certifications
        .iter()
        .map(|c| {
            if lang == Lang::Zh {
                c.name_zh()
            } else {
                c.name_en()
            }
        })
        .collect();
    context! {
        id => l.id,
        title => &l.title,
        description => &l.description,
        price => format_yuan(l.price_fen),
        unit => unit,
        stock => l.stock.to_string(),
        min_order => l.min_order.to_string(),
        grade => grade,
        season => season,
        certifications => certs.join(" · "),
        origin => &l.origin.name,
        seller => &l.organization.name,
    }
}

#[derive(Debug, Deserialize)]
struct HomeQuery {
    q: Option<String>,
    category: Option<i64>,
}

async fn home(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HomeQuery>,
) -> Response {
    let lang = Lang::of_request(&headers);
    let result = async {
        let mut f = ListFilter {
            text: q
                .q
                .clone()
                .filter(|s| !s.trim().is_empty() && s.chars().count() <= 100),
            ..Default::default()
        };
        if let Some(c) = q.category {
            f.category_ids = Some(listings::category_and_descendants(&state.db, c).await?);
        }
        let (items, total) =
            listings::list(&state.db, &state.listing_counts, None, &f, 1, 24).await?;
        let views = listing_views(&state.db, items).await?;
        let cats = categories::top_level(&state.db).await?;
        Ok::<_, crate::error::AppError>((views, total, cats))
    }
    .await;
    let (views, total, cats) = match result {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    let categories: Vec<Value> = cats
        .iter()
        .map(|c| context! { id => c.id, name => if lang == Lang::Zh { &c.name_zh } else { &c.name_en } })
        .collect();
    let listings: Vec<Value> = views.iter().map(|l| card(l, lang)).collect();
    state.pages.render(
        "home.html",
        lang,
        context! { q => q.q.unwrap_or_default(), categories, listings, total },
    )
}

async fn listing_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let lang = Lang::of_request(&headers);
    let found = match id.parse::<i64>() {
        Ok(id) => listings::get_visible(&state.db, None, id).await.ok(),
        Err(_) => None,
    };
    let Some(l) = found else {
        let mut r = state.pages.render("not_found.html", lang, context! {});
        *r.status_mut() = StatusCode::NOT_FOUND;
        return r;
    };
    match listing_views(&state.db, vec![l]).await {
        Ok(mut v) => state.pages.render(
            "listing.html",
            lang,
            context! { l => card(&v.remove(0), lang) },
        ),
        Err(e) => crate::error::AppError::from(e).into_response(),
    }
}
