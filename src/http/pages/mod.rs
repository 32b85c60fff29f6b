//! Server-rendered pages for people, in Simplified Chinese first and English second.

use crate::http::lang::NameFor;
use std::collections::{BTreeMap, HashMap};

use axum::Router;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use minijinja::{Environment, Value, context};
use serde::Deserialize;

use crate::accounts::Actor;
use crate::catalog::domain::format_yuan;
use crate::catalog::listings::{self, ListFilter};
use crate::error::{AppError, AppResult, FieldErrors};
use crate::http::api::catalog::views::{ListingView, listing_views};
use crate::http::auth::MaybeActor;
use crate::http::state::AppState;

mod admin;
mod applications;
mod buyers;
mod campaigns;
mod certificates;
mod contracts;
mod dashboard;
mod delivery;
mod email_settings;
pub(crate) mod filings;
mod lots;
mod my_listings;
pub mod notify;
mod organization;
mod prices;
mod producer;
mod recurring;
mod requests;
mod saved;
mod search_queries;
mod shop;
mod sign_in;
pub mod stats;
mod targets;
mod units;
mod webhooks;

/// Styles and scripts: name, content type, content. Pages link them under names that carry
/// a digest of their content (`app.1a2b3c4d5e6f.css`), so a new release is fetched at once
/// and an unchanged file is never fetched twice.
const ASSETS: [(&str, &str, &str); 3] = [
    (
        "app.css",
        "text/css; charset=utf-8",
        include_str!("../../../frontend/static/app.css"),
    ),
    (
        "notify.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../frontend/static/notify.js"),
    ),
    (
        "search.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../frontend/static/search.js"),
    ),
];

pub use super::lang::Lang;

/// Every page template, embedded in the binary.
const TEMPLATES: [(&str, &str); 54] = [
    (
        "webhooks.html",
        include_str!("../../../frontend/templates/webhooks.html"),
    ),
    (
        "email_settings.html",
        include_str!("../../../frontend/templates/email_settings.html"),
    ),
    (
        "targets.html",
        include_str!("../../../frontend/templates/targets.html"),
    ),
    (
        "quarters.html",
        include_str!("../../../frontend/templates/quarters.html"),
    ),
    (
        "applications.html",
        include_str!("../../../frontend/templates/applications.html"),
    ),
    (
        "organization_apply.html",
        include_str!("../../../frontend/templates/organization_apply.html"),
    ),
    (
        "register.html",
        include_str!("../../../frontend/templates/register.html"),
    ),
    (
        "base.html",
        include_str!("../../../frontend/templates/base.html"),
    ),
    (
        "campaigns.html",
        include_str!("../../../frontend/templates/campaigns.html"),
    ),
    (
        "campaign.html",
        include_str!("../../../frontend/templates/campaign.html"),
    ),
    (
        "units.html",
        include_str!("../../../frontend/templates/units.html"),
    ),
    (
        "unit.html",
        include_str!("../../../frontend/templates/unit.html"),
    ),
    (
        "unit_ranking.html",
        include_str!("../../../frontend/templates/unit_ranking.html"),
    ),
    (
        "region_buyers.html",
        include_str!("../../../frontend/templates/region_buyers.html"),
    ),
    (
        "home.html",
        include_str!("../../../frontend/templates/home.html"),
    ),
    (
        "listing.html",
        include_str!("../../../frontend/templates/listing.html"),
    ),
    (
        "officials.html",
        include_str!("../../../frontend/templates/officials.html"),
    ),
    (
        "prices.html",
        include_str!("../../../frontend/templates/prices.html"),
    ),
    (
        "filing.html",
        include_str!("../../../frontend/templates/filing.html"),
    ),
    (
        "filings.html",
        include_str!("../../../frontend/templates/filings.html"),
    ),
    (
        "notifications.html",
        include_str!("../../../frontend/templates/notifications.html"),
    ),
    (
        "unsubscribe.html",
        include_str!("../../../frontend/templates/unsubscribe.html"),
    ),
    (
        "sign_in.html",
        include_str!("../../../frontend/templates/sign_in.html"),
    ),
    (
        "not_found.html",
        include_str!("../../../frontend/templates/not_found.html"),
    ),
    (
        "error.html",
        include_str!("../../../frontend/templates/error.html"),
    ),
    (
        "search.html",
        include_str!("../../../frontend/templates/search.html"),
    ),
    (
        "search_queries.html",
        include_str!("../../../frontend/templates/search_queries.html"),
    ),
    (
        "cart.html",
        include_str!("../../../frontend/templates/cart.html"),
    ),
    (
        "orders.html",
        include_str!("../../../frontend/templates/orders.html"),
    ),
    (
        "order.html",
        include_str!("../../../frontend/templates/order.html"),
    ),
    (
        "producer.html",
        include_str!("../../../frontend/templates/producer.html"),
    ),
    (
        "import.html",
        include_str!("../../../frontend/templates/import.html"),
    ),
    (
        "macros.html",
        include_str!("../../../frontend/templates/macros.html"),
    ),
    (
        "my_listings.html",
        include_str!("../../../frontend/templates/my_listings.html"),
    ),
    (
        "listing_form.html",
        include_str!("../../../frontend/templates/listing_form.html"),
    ),
    (
        "requests.html",
        include_str!("../../../frontend/templates/requests.html"),
    ),
    (
        "request.html",
        include_str!("../../../frontend/templates/request.html"),
    ),
    (
        "request_edit.html",
        include_str!("../../../frontend/templates/request_edit.html"),
    ),
    (
        "request_fields.html",
        include_str!("../../../frontend/templates/request_fields.html"),
    ),
    (
        "admin.html",
        include_str!("../../../frontend/templates/admin.html"),
    ),
    (
        "organization.html",
        include_str!("../../../frontend/templates/organization.html"),
    ),
    (
        "saved.html",
        include_str!("../../../frontend/templates/saved.html"),
    ),
    (
        "organization_profile.html",
        include_str!("../../../frontend/templates/organization_profile.html"),
    ),
    (
        "certificates.html",
        include_str!("../../../frontend/templates/certificates.html"),
    ),
    (
        "certificate.html",
        include_str!("../../../frontend/templates/certificate.html"),
    ),
    (
        "certificate_fields.html",
        include_str!("../../../frontend/templates/certificate_fields.html"),
    ),
    (
        "lots.html",
        include_str!("../../../frontend/templates/lots.html"),
    ),
    (
        "label.html",
        include_str!("../../../frontend/templates/label.html"),
    ),
    (
        "trace.html",
        include_str!("../../../frontend/templates/trace.html"),
    ),
    (
        "delivery.html",
        include_str!("../../../frontend/templates/delivery.html"),
    ),
    (
        "packing.html",
        include_str!("../../../frontend/templates/packing.html"),
    ),
    (
        "recurring.html",
        include_str!("../../../frontend/templates/recurring.html"),
    ),
    (
        "recurring_form.html",
        include_str!("../../../frontend/templates/recurring_form.html"),
    ),
    (
        "contracts.html",
        include_str!("../../../frontend/templates/contracts.html"),
    ),
];

/// Templates and translations, loaded once at start-up.
pub struct Pages {
    env: Environment<'static>,
    /// The translations as template values, built once: every page shows them.
    zh: Value,
    en: Value,
    /// Each asset's name → the path pages link it by.
    assets: BTreeMap<&'static str, String>,
    /// The same paths as a template value (of our own making: shown unescaped).
    asset_links: Value,
}

impl Pages {
    /// Builds the template environment from the files embedded in the binary.
    pub fn new() -> anyhow::Result<Self> {
        let mut env = Environment::new();
        for (name, source) in TEMPLATES {
            env.add_template(name, source)?;
        }
        let zh: BTreeMap<String, String> =
            toml::from_str(include_str!("../../../frontend/i18n/zh.toml"))?;
        let en: BTreeMap<String, String> =
            toml::from_str(include_str!("../../../frontend/i18n/en.toml"))?;
        let missing: Vec<_> = zh
            .keys()
            .filter(|k| !en.contains_key(*k))
            .chain(en.keys().filter(|k| !zh.contains_key(*k)))
            .collect();
        anyhow::ensure!(
            missing.is_empty(),
            "translations missing in one language: {missing:?}"
        );
        let assets: BTreeMap<&'static str, String> = ASSETS
            .iter()
            .map(|(name, _, body)| {
                let (stem, ext) = name.rsplit_once('.').unwrap_or((name, ""));
                let digest = crate::accounts::token::digest(body);
                (*name, format!("/static/{stem}.{}.{ext}", &digest[..12]))
            })
            .collect();
        let asset_links = Value::from_iter(
            assets
                .iter()
                .map(|(k, v)| (*k, Value::from_safe_string(v.clone()))),
        );
        Ok(Pages {
            env,
            zh: Value::from_serialize(&zh),
            en: Value::from_serialize(&en),
            assets,
            asset_links,
        })
    }

    pub fn render(&self, name: &str, lang: Lang, ctx: Value) -> Response {
        let t = match lang {
            Lang::Zh => &self.zh,
            Lang::En => &self.en,
        };
        let other = if lang == Lang::Zh { Lang::En } else { Lang::Zh };
        let full = context! {
            t => t.clone(),
            lang => lang.code(),
            other_lang => other.code(),
            asset => self.asset_links.clone(),
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

/// A form carrying only the session's CSRF token.
#[derive(Debug, Default, Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    pub csrf_token: String,
}

pub(crate) use crate::error::renamed;

/// Yuan typed on a form as fen: empty is zero; what is not an amount is refused as `field`.
/// Fen as a form shows them: yuan with two decimals, no sign.
pub(crate) fn plain_yuan(fen: i64) -> String {
    format!("{}.{:02}", fen / 100, fen % 100)
}

pub(crate) fn yuan(field: &str, raw: &str, errors: &mut FieldErrors) -> i64 {
    let raw = raw.trim();
    if raw.is_empty() {
        return 0;
    }
    crate::catalog::import::fen_of(raw).unwrap_or_else(|| {
        errors.insert(
            field.into(),
            crate::error::FieldError::new("invalid", "an amount in yuan, such as 8 or 8.50"),
        );
        0
    })
}

/// An upload form as read: its CSRF token, its other text fields, and the file field's name
/// and bytes.
#[derive(Debug, Default)]
pub(crate) struct Upload {
    pub token: String,
    pub fields: HashMap<String, String>,
    pub file_name: String,
    pub bytes: Vec<u8>,
}

/// Reads an upload form whose file comes in the field `file`.
pub(crate) async fn read_upload(
    mut form: axum::extract::Multipart,
    file: &str,
) -> Result<Upload, AppError> {
    let mut up = Upload::default();
    while let Some(field) = form.next_field().await.map_err(|e| {
        AppError::BadRequest("invalid_form", format!("the form cannot be read: {e}"))
    })? {
        match field.name().map(str::to_string) {
            Some(name) if name == "csrf_token" => up.token = field.text().await.unwrap_or_default(),
            Some(name) if name == file => {
                up.file_name = field.file_name().unwrap_or_default().to_string();
                up.bytes = field
                    .bytes()
                    .await
                    .map_err(|_| AppError::PayloadTooLarge)?
                    .to_vec();
            }
            Some(name) => {
                let value = field.text().await.unwrap_or_default();
                up.fields.insert(name, value);
            }
            None => {}
        }
    }
    Ok(up)
}

/// Who is reading a page: their language and, when signed in, who they are.
pub struct Viewer {
    pub lang: Lang,
    pub actor: Option<Actor>,
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let MaybeActor(actor) = MaybeActor::from_request_parts(parts, state).await?;
        Ok(Viewer::new(&parts.headers, actor))
    }
}

impl Viewer {
    pub fn new(headers: &HeaderMap, actor: Option<Actor>) -> Self {
        Viewer {
            lang: Lang::of_request(headers),
            actor,
        }
    }

    /// Renders `name` for this viewer: the header shows their role's pages and a sign-out
    /// button; pages for a signed-in person are never cached by anyone else.
    pub fn render(&self, state: &AppState, name: &str, ctx: Value) -> Response {
        let role = self.actor.as_ref().map(|a| a.role.code());
        let ctx = context! {
            role,
            sign_out_token => self.actor.as_ref().and_then(Actor::session_csrf),
            csrf_token => self.actor.as_ref().and_then(Actor::session_csrf),
            ..ctx
        };
        let mut r = state.pages.render(name, self.lang, ctx);
        if self.actor.is_some() {
            r.headers_mut().insert(
                header::CACHE_CONTROL,
                axum::http::HeaderValue::from_static("private, no-store"),
            );
        }
        r
    }

    /// [`Viewer::render`] answering with `status` (a form sent back with its errors is 422).
    pub fn render_with(
        &self,
        state: &AppState,
        name: &str,
        ctx: Value,
        status: StatusCode,
    ) -> Response {
        let mut r = self.render(state, name, ctx);
        *r.status_mut() = status;
        r
    }

    /// The signed-in person, or a redirect to the sign-in page that comes back to `here`.
    pub fn require(&self, here: &str) -> Result<&Actor, Box<Response>> {
        self.actor.as_ref().ok_or_else(|| {
            let next: String = form_urlencoded::byte_serialize(here.as_bytes()).collect();
            Box::new(Redirect::to(&format!("/login?next={next}")).into_response())
        })
    }

    /// Checks a page form's CSRF token against the session.
    pub fn check_form(
        &self,
        state: &AppState,
        here: &str,
        csrf_token: &str,
    ) -> Result<&Actor, Box<Response>> {
        let actor = self.require(here)?;
        if actor.sent_session_csrf(csrf_token) {
            Ok(actor)
        } else {
            Err(Box::new(self.error(state, AppError::CsrfFailed)))
        }
    }

    /// An error as a page in the reader's language, with the error's status.
    pub fn error(&self, state: &AppState, e: AppError) -> Response {
        let (status, body) = e.render();
        self.render_with(
            state,
            "error.html",
            context! {
                status => status,
                code => body.error.code,
                message => body.error.message,
                fields => errors_value(&body.error.fields),
            },
            crate::http::error::status_code(status),
        )
    }
}

/// Field errors for a template: field → translated-or-English reason, with its code.
pub(crate) fn errors_value(fields: &FieldErrors) -> Value {
    Value::from_serialize(
        fields
            .iter()
            .map(|(k, e)| {
                (
                    k.clone(),
                    context! { code => e.code, message => &e.message },
                )
            })
            .collect::<BTreeMap<_, _>>(),
    )
}

/// Page routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/listings/{id}", get(listing_page))
        .route("/search", get(shop::search_page))
        .route("/organizations/{id}", get(organization_page))
        .route("/cart", get(shop::cart_page).post(shop::add_to_cart))
        .route("/cart/{id}/remove", post(shop::remove_from_cart))
        .route("/cart/{id}/quantity", post(shop::change_cart_line))
        .route("/checkout", post(shop::checkout))
        .route("/orders", get(shop::orders_page))
        .route("/orders/{id}", get(shop::order_page))
        .route("/orders/{id}/payment", post(shop::record_payment))
        .route("/orders/{id}/invoice", post(shop::record_invoice))
        .route(
            "/orders/{id}/invoice/file",
            post(shop::attach_invoice_file).layer(axum::extract::DefaultBodyLimit::max(
                crate::evidence::MAX_BYTES + 64 * 1024,
            )),
        )
        .route(
            "/orders/{id}/receipt-photo",
            post(shop::attach_receipt_photo).layer(axum::extract::DefaultBodyLimit::max(
                crate::evidence::MAX_BYTES + 64 * 1024,
            )),
        )
        .route("/orders/{id}/{action}", post(shop::order_action))
        .route("/admin", get(admin::page))
        .route("/admin/matching/run", post(admin::run_matching))
        .route(
            "/admin/organizations/{id}/{decision}",
            post(admin::decide_organization),
        )
        .route("/admin/categories/{id}/aliases", post(admin::add_alias))
        .route("/admin/search-queries", get(search_queries::page))
        .route(
            "/admin/search-queries/alias",
            post(search_queries::add_alias),
        )
        .route("/admin/users", post(admin::create_user))
        .route("/admin/regions/standing", post(admin::record_standing))
        .route("/admin/users/{id}", post(admin::change_user))
        .route("/admin/dead-events/{id}/retry", post(admin::retry_dead))
        .route("/saved-searches", get(saved::page).post(saved::create))
        .route("/saved-searches/{id}", post(saved::update))
        .route("/saved-searches/{id}/delete", post(saved::delete))
        .route("/requests", get(requests::list_page).post(requests::create))
        .route("/requests/{id}", get(requests::request_page))
        .route("/requests/{id}/cancel", post(requests::cancel_request))
        .route(
            "/requests/{id}/edit",
            get(requests::edit_page).post(requests::edit),
        )
        .route("/proposals/{id}/{answer}", post(requests::answer))
        .route("/prices", get(prices::market_page))
        .route("/producer", get(producer::dashboard))
        .route("/producer/organization", get(organization::page))
        .route("/producer/organization/apply", post(organization::apply))
        .route("/officials/organizations", get(applications::queue))
        .route(
            "/producer/webhooks",
            get(webhooks::page).post(webhooks::add),
        )
        .route("/producer/webhooks/{id}/delete", post(webhooks::remove))
        .route(
            "/notifications/settings",
            get(email_settings::page).post(email_settings::save),
        )
        .route(
            "/officials/regions/{code}/targets",
            get(targets::targets_form).post(targets::set_targets),
        )
        .route(
            "/officials/quarters",
            get(targets::quarters).post(targets::close),
        )
        .route(
            "/officials/organizations/{id}/{decision}",
            post(applications::decide_application),
        )
        .route(
            "/producer/organization/households",
            post(organization::add_household),
        )
        .route("/producer/listings", get(my_listings::list_page))
        .route(
            "/producer/listings/new",
            get(my_listings::new_page).post(my_listings::create_listing),
        )
        .route(
            "/producer/listings/{id}",
            get(my_listings::edit_page).post(my_listings::update_listing),
        )
        .route(
            "/producer/listings/{id}/photos",
            post(my_listings::add_photo).layer(axum::extract::DefaultBodyLimit::max(
                crate::catalog::photos::MAX_UPLOAD_BYTES + 64 * 1024,
            )),
        )
        .route(
            "/producer/listings/{id}/{to}",
            post(my_listings::set_status),
        )
        .route(
            "/producer/listings/{id}/photos/{photo_id}/delete",
            post(my_listings::remove_photo),
        )
        .route(
            "/producer/import",
            get(producer::import_page)
                .post(producer::import_upload)
                .layer(axum::extract::DefaultBodyLimit::max(
                    crate::catalog::import::MAX_BYTES + 64 * 1024,
                )),
        )
        .route("/lang/{code}", get(switch_language))
        .route("/login", get(sign_in::sign_in_page).post(sign_in::sign_in))
        .route(
            "/register",
            get(sign_in::register_page).post(sign_in::register),
        )
        .route("/logout", post(sign_in::sign_out))
        .route(
            "/notifications",
            get(crate::http::pages::notify::notifications_page),
        )
        .route(
            "/notifications/read-all",
            post(crate::http::pages::notify::read_all_form),
        )
        .route(
            "/notifications/{id}/read",
            post(crate::http::pages::notify::read_one_form),
        )
        .route(
            "/unsubscribe",
            get(crate::http::pages::notify::confirm_page)
                .post(crate::http::pages::notify::unsubscribe),
        )
        .route("/static/{file}", get(asset))
        .route("/images/categories/{file}", get(category_image))
        .merge(crate::http::pages::stats::router())
        .merge(crate::http::pages::filings::router())
        .merge(crate::http::pages::certificates::router())
        .merge(crate::http::pages::lots::router())
        .merge(crate::http::pages::delivery::router())
        .merge(crate::http::pages::recurring::router())
        .merge(crate::http::pages::contracts::router())
        .merge(crate::http::pages::units::router())
        .merge(crate::http::pages::buyers::router())
        .merge(crate::http::pages::campaigns::router())
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

/// `/static/{name}`: an asset by its plain name or its digest-carrying one. A digest-carrying
/// name is cached for good; another digest (a page from an older or newer release, during a
/// rolling update) gets today's content, cached only briefly.
async fn asset(State(state): State<AppState>, Path(file): Path<String>) -> Response {
    let found = ASSETS.iter().find_map(|(name, kind, body)| {
        if file == *name {
            return Some((kind, body, false));
        }
        let (stem, ext) = name.rsplit_once('.')?;
        let digest = file
            .strip_prefix(stem)?
            .strip_prefix('.')?
            .strip_suffix(ext)?
            .strip_suffix('.')?;
        let current = state.pages.assets.get(name)? == &format!("/static/{file}");
        (digest.len() == 12).then_some((kind, body, current))
    });
    match found {
        Some((kind, body, current)) => {
            let cache = if current {
                "public, max-age=31536000, immutable"
            } else {
                "public, max-age=300"
            };
            (
                [
                    (header::CONTENT_TYPE, *kind),
                    (header::CACHE_CONTROL, cache),
                ],
                *body,
            )
                .into_response()
        }
        None => StatusCode::NOT_FOUND.into_response(),
    }
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
        "{}={}; Path=/; Max-Age=31536000; SameSite=Lax",
        super::lang::LANG_COOKIE,
        lang.code()
    );
    ([(header::SET_COOKIE, cookie)], Redirect::to(&back)).into_response()
}

/// The first photo of each of some listings, by listing.
pub(crate) async fn first_photos(
    db: &sea_orm::DatabaseConnection,
    ids: &[i64],
) -> AppResult<HashMap<i64, i64>> {
    let mut first = HashMap::new();
    for p in crate::catalog::photos::of_listings(db, ids).await? {
        first.entry(p.listing_id).or_insert(p.id);
    }
    Ok(first)
}

/// What a listing's card leads with: its first photo, in two sizes for the browser to
/// choose from, or else its category's drawing.
pub(crate) fn picture(photo: Option<i64>, category_id: i64) -> Value {
    use crate::catalog::photos::{LARGE_SIDE, THUMB_SIDE, url};
    match photo {
        Some(id) => context! {
            src => url(id, "thumb"),
            srcset => format!("{} {THUMB_SIDE}w, {} {LARGE_SIDE}w", url(id, "thumb"), url(id, "large")),
            large => url(id, "large"),
        },
        None => context! { src => format!("/images/categories/{category_id}.svg") },
    }
}

/// `/images/categories/{id}.svg`: the category's drawing, for listings without a photo.
async fn category_image(State(state): State<AppState>, Path(file): Path<String>) -> Response {
    use crate::catalog::entity::category;
    use sea_orm::EntityTrait;
    let Some(id) = file
        .strip_suffix(".svg")
        .and_then(|s| s.parse::<i64>().ok())
    else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let found = async {
        let Some(c) = category::Entity::find_by_id(id).one(&state.db).await? else {
            return Ok(None);
        };
        let parent = match c.parent_id {
            Some(p) => category::Entity::find_by_id(p).one(&state.db).await?,
            None => None,
        };
        Ok::<_, sea_orm::DbErr>(Some((c, parent)))
    }
    .await;
    match found {
        Ok(Some((c, parent))) => {
            let title = format!("{} · {}", c.name_zh, c.name_en);
            let svg = crate::catalog::illustrations::svg(
                &c.slug,
                parent.as_ref().map(|p| p.slug.as_str()),
                &title,
            );
            (
                [
                    (header::CONTENT_TYPE, "image/svg+xml"),
                    (header::CACHE_CONTROL, "public, max-age=86400"),
                ],
                svg,
            )
                .into_response()
        }
        Ok(None) => StatusCode::NOT_FOUND.into_response(),
        Err(e) => AppError::from(e).into_response(),
    }
}

fn card(l: &ListingView, lang: Lang, photo: Option<i64>) -> Value {
    let (unit, grade) = (l.unit.name_for(lang), l.grade.name_for(lang));
    let season = match (l.season_start, l.season_end, lang) {
        (Some(a), Some(b), Lang::Zh) => format!("{a}月–{b}月"),
        (Some(a), Some(b), Lang::En) => format!("month {a} to {b}"),
        _ => String::new(),
    };
    let certs: Vec<&str> = l.certifications.iter().map(|c| c.name_for(lang)).collect();
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
        origin => l.origin.name_in(lang == Lang::En),
        seller => &l.organization.name,
        seller_id => l.organization.id,
        image => picture(photo, l.category.id),
    }
}

#[derive(Debug, Deserialize)]
struct HomeQuery {
    q: Option<String>,
    category: Option<i64>,
}

async fn home(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<HomeQuery>,
) -> Response {
    let lang = viewer.lang;
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
        let views = listing_views(&state.db, &state.search.vocabulary(), items).await?;
        let ids: Vec<i64> = views.iter().map(|v| v.id).collect();
        let photos = first_photos(&state.db, &ids).await?;
        Ok::<_, crate::error::AppError>((views, total, photos))
    }
    .await;
    let (views, total, photos) = match result {
        Ok(r) => r,
        Err(e) => return viewer.error(&state, e),
    };
    let vocabulary = state.search.vocabulary();
    let categories: Vec<Value> = vocabulary
        .top_level()
        .into_iter()
        .map(|c| context! { id => c.id, name => if lang == Lang::Zh { &c.name_zh } else { &c.name_en } })
        .collect();
    let listings: Vec<Value> = views
        .iter()
        .map(|l| card(l, lang, photos.get(&l.id).copied()))
        .collect();
    let counties: Vec<Value> = featured_counties(&state)
        .await
        .iter()
        .map(|c| context! { code => &c.code, name => if lang == Lang::Zh { &c.name } else { &c.name_en }, count => c.count })
        .collect();
    viewer.render(
        &state,
        "home.html",
        context! { q => q.q.unwrap_or_default(), categories, counties, listings, total },
    )
}

/// A county the home page features, with how many of its listings are on sale.
#[derive(Debug, Clone)]
pub struct Featured {
    code: String,
    name: String,
    name_en: String,
    count: u64,
}

/// How long the home page's featured counties are kept: counting every listing on sale by
/// county is one of the costliest searches, and the ranking changes slowly.
pub const FEATURED_FRESH: std::time::Duration = std::time::Duration::from_secs(60);

/// The counties with the most listings on sale, from the search engine's facets, worked out
/// at most once per [`FEATURED_FRESH`]; none while the engine is away.
async fn featured_counties(state: &AppState) -> Vec<Featured> {
    if let Some(kept) = state.featured_counties.get() {
        return kept;
    }
    let everything = crate::search::query::SearchParams {
        in_stock: Some(true),
        per_page: Some(1),
        ..Default::default()
    };
    let Ok((_, found)) = state.search.search(&everything).await else {
        return Vec::new();
    };
    let vocab = state.search.vocabulary();
    let mut top: Vec<_> = found.facets.county.iter().collect();
    top.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let counties: Vec<Featured> = top
        .into_iter()
        .take(8)
        .filter_map(|(code, n)| {
            let place = vocab.place(code)?;
            Some(Featured {
                code: code.clone(),
                name: place.name.clone(),
                name_en: place.name_en.clone(),
                count: *n,
            })
        })
        .collect();
    // None yet means the index is still filling (or nothing is on sale): ask again next time.
    if !counties.is_empty() {
        state.featured_counties.put(counties.clone());
    }
    counties
}

/// Where a listing page was opened from: the search it was a result of.
#[derive(Debug, Default, Deserialize)]
struct OpenedFrom {
    from: Option<String>,
}

async fn listing_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Query(opened): Query<OpenedFrom>,
) -> Response {
    if let Some(q) = opened.from.as_deref() {
        state.search.queries().opened(q);
    }
    match id.parse::<i64>() {
        Ok(id) => listing_page_with(&state, &viewer, id, "", Value::from(())).await,
        Err(_) => not_found(&state, &viewer),
    }
}

/// A producer's page: who they are, where, and what they sell now.
async fn organization_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return not_found(&state, &viewer);
    };
    let found = async {
        let org = crate::http::api::catalog::organizations::visible_org(
            &state,
            viewer.actor.as_ref(),
            id,
        )
        .await?;
        let view = crate::http::api::catalog::views::organization_views(&state.db, vec![org])
            .await?
            .remove(0);
        let f = ListFilter {
            organization_id: Some(id),
            ..Default::default()
        };
        let (items, total) = listings::list(
            &state.db,
            &state.listing_counts,
            viewer.actor.as_ref(),
            &f,
            1,
            48,
        )
        .await?;
        // Its verified certificates, as everyone may see them.
        let certificates: Vec<_> =
            crate::catalog::certificates::of_organization(&state.db, None, id)
                .await?
                .into_iter()
                .filter(|c| c.status == crate::catalog::domain::CertificateStatus::Effective)
                .collect();
        let views = listing_views(&state.db, &state.search.vocabulary(), items).await?;
        let ids: Vec<i64> = views.iter().map(|v| v.id).collect();
        let photos = first_photos(&state.db, &ids).await?;
        Ok::<_, AppError>((view, (views, photos), total, certificates))
    }
    .await;
    match found {
        Ok((o, (views, photos), total, certificates)) => {
            let lang = viewer.lang;
            let listings: Vec<Value> = views
                .iter()
                .map(|l| card(l, lang, photos.get(&l.id).copied()))
                .collect();
            viewer.render(
                &state,
                "organization.html",
                context! {
                    o => context! {
                        name => &o.name,
                        kind => o.kind.name_for(lang),
                        region => o.region.name_in(lang == Lang::En),
                        description => &o.description,
                        approved => o.status == crate::catalog::domain::VerificationStatus::Approved,
                    },
                    listings,
                    total,
                    certificates => certificates.iter().map(|c| context! {
                        id => c.id, kind => c.kind.name_for(lang), number => &c.number,
                        issuer => &c.issuer, valid_until => c.valid_until.map(|d| d.to_string()),
                    }).collect::<Vec<_>>(),
                },
            )
        }
        Err(AppError::NotFound(_)) => not_found(&state, &viewer),
        Err(e) => viewer.error(&state, e),
    }
}

fn not_found(state: &AppState, viewer: &Viewer) -> Response {
    let mut r = viewer.render(state, "not_found.html", context! {});
    *r.status_mut() = StatusCode::NOT_FOUND;
    r
}

/// A listing's page: its photos, facts and seller, with an add-to-cart form keeping what was
/// typed and showing `errors` beside the quantity.
pub(crate) async fn listing_page_with(
    state: &AppState,
    viewer: &Viewer,
    id: i64,
    quantity: &str,
    errors: Value,
) -> Response {
    let Ok(l) = listings::get_visible(&state.db, viewer.actor.as_ref(), id).await else {
        return not_found(state, viewer);
    };
    let found = async {
        let photos = crate::catalog::photos::of_listings(&state.db, &[l.id]).await?;
        let view = listing_views(&state.db, &state.search.vocabulary(), vec![l])
            .await?
            .remove(0);
        Ok::<_, AppError>((view, photos))
    }
    .await;
    match found {
        Ok((v, photos)) => {
            let first = photos.first().map(|p| p.id);
            let photos: Vec<Value> = photos
                .iter()
                .map(|p| {
                    context! {
                        thumb => crate::catalog::photos::url(p.id, "thumb"),
                        large => crate::catalog::photos::url(p.id, "large"),
                    }
                })
                .collect();
            let buyer = viewer
                .actor
                .as_ref()
                .is_none_or(|a| a.role == crate::accounts::Role::Buyer);
            viewer.render(
                state,
                "listing.html",
                context! {
                    l => card(&v, viewer.lang, first),
                    photos,
                    buyer,
                    quantity => if quantity.is_empty() { v.min_order.to_string() } else { quantity.to_string() },
                    errors,
                },
            )
        }
        Err(e) => viewer.error(state, e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `t.key` a template shows has its Chinese and English text.
    #[test]
    fn every_string_a_template_shows_is_translated() {
        let zh: BTreeMap<String, String> =
            toml::from_str(include_str!("../../../frontend/i18n/zh.toml")).unwrap();
        let mut missing = Vec::new();
        for (name, source) in TEMPLATES {
            let mut rest = source;
            while let Some(at) = rest.find("t.") {
                let before = rest[..at].chars().last();
                rest = &rest[at + 2..];
                if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.') {
                    continue;
                }
                let key: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if !key.is_empty() && !zh.contains_key(&key) {
                    missing.push(format!("{name}: {key}"));
                }
            }
        }
        assert!(missing.is_empty(), "untranslated: {missing:?}");
        for sort in ["relevance", "price_asc", "price_desc", "newest", "sales"] {
            assert!(zh.contains_key(&format!("sort_{sort}")), "{sort}");
        }
    }

    #[test]
    fn every_template_parses() {
        Pages::new().expect("templates and translations load");
    }
}
