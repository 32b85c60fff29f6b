//! `/notifications`: a person's notices on the site, marked read with plain forms and updated
//! live by a small script reading the event stream.
//!
//! `/unsubscribe`: the link at the foot of a non-essential email. Opening it shows what it
//! would turn off; the button confirms (so a mail scanner following links changes nothing).
//! The link's signature is the only credential: no login needed.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::Deserialize;

use crate::accounts::Actor;
use crate::error::AppError;
use crate::http::auth::MaybeActor;
use crate::notify::entity::notification;

use crate::accounts::token;
use crate::http::pages::Lang;
use crate::http::state::AppState;
use crate::notify::preferences::{self, KINDS};

/// `?user=&kind=&sig=`, or the same fields in the confirming form.
#[derive(Debug, Default, Deserialize)]
pub struct Link {
    #[serde(default)]
    user: i64,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    sig: String,
}

impl Link {
    fn valid(&self, state: &AppState) -> bool {
        let secret = state.settings.secret.clone().unwrap_or_default();
        !secret.is_empty()
            && KINDS.iter().any(|(k, _)| *k == self.kind)
            && token::constant_time_eq(
                &self.sig,
                &preferences::unsubscribe_signature(&secret, self.user, &self.kind),
            )
    }
}

fn page(
    state: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    link: &Link,
    done: bool,
) -> Response {
    let mut r = state.pages.render(
        "unsubscribe.html",
        Lang::of_request(headers),
        context! {
            invalid => status != StatusCode::OK,
            done,
            kind => &link.kind,
            user => link.user,
            sig => &link.sig,
        },
    );
    *r.status_mut() = status;
    r
}

pub async fn confirm_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(link): Query<Link>,
) -> Response {
    let status = if link.valid(&state) {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    page(&state, &headers, status, &link, false)
}

/// The confirming button's form, or a mail client's one-click POST to the link itself
/// (RFC 8058: the fields in the query, `List-Unsubscribe=One-Click` as the body).
pub async fn unsubscribe(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(in_link): Query<Link>,
    Form(in_form): Form<Link>,
) -> Response {
    let link = if in_form.sig.is_empty() {
        in_link
    } else {
        in_form
    };
    if !link.valid(&state) {
        return page(&state, &headers, StatusCode::BAD_REQUEST, &link, false);
    }
    match preferences::set(&state.db, link.user, &link.kind, Some(false), None).await {
        Ok(()) => page(&state, &headers, StatusCode::OK, &link, true),
        Err(e) => crate::error::AppError::from(e).into_response(),
    }
}

/// A page form's CSRF token (the session's own).
#[derive(Debug, Default, Deserialize)]
pub struct PageForm {
    #[serde(default)]
    csrf_token: String,
}

/// `/notifications`: the signed-in person's notices, newest first, updated live.
pub async fn notifications_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    MaybeActor(actor): MaybeActor,
) -> Response {
    let Some(actor) = actor else {
        return Redirect::to("/login?next=/notifications").into_response();
    };
    let found = async {
        let unread = crate::http::api::notify::unread(&state.db, actor.id()).await?;
        let items = notification::Entity::find()
            .filter(notification::Column::UserId.eq(actor.id()))
            .order_by_desc(notification::Column::Id)
            .limit(100)
            .all(&state.db)
            .await?;
        Ok::<_, sea_orm::DbErr>((unread, items))
    }
    .await;
    let (unread, items) = match found {
        Ok(f) => f,
        Err(e) => return AppError::from(e).into_response(),
    };
    let items: Vec<minijinja::Value> = items
        .into_iter()
        .map(|n| {
            let created = crate::stats::domain::local_date(n.created_at);
            context! {
                id => n.id,
                title => n.title,
                body => n.body,
                read => n.read_at.is_some(),
                created_at => created.to_string(),
            }
        })
        .collect();
    let mut r = state.pages.render(
        "notifications.html",
        Lang::of_request(&headers),
        context! { items, unread, sign_out_token => actor.session_csrf() },
    );
    r.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("private, no-store"),
    );
    r
}

/// Checks a page form against the session; the actor if it passes.
fn form_actor(actor: Option<Actor>, form: &PageForm) -> Result<Actor, Box<Response>> {
    let Some(actor) = actor else {
        return Err(Box::new(
            Redirect::to("/login?next=/notifications").into_response(),
        ));
    };
    if actor.sent_session_csrf(&form.csrf_token) {
        Ok(actor)
    } else {
        Err(Box::new(AppError::CsrfFailed.into_response()))
    }
}

pub async fn read_one_form(
    State(state): State<AppState>,
    MaybeActor(actor): MaybeActor,
    Path(id): Path<i64>,
    Form(form): Form<PageForm>,
) -> Response {
    let actor = match form_actor(actor, &form) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    match crate::http::api::notify::read_one(&state.db, actor.id(), id).await {
        Ok(()) => Redirect::to("/notifications").into_response(),
        Err(e) => e.into_response(),
    }
}

pub async fn read_all_form(
    State(state): State<AppState>,
    MaybeActor(actor): MaybeActor,
    Form(form): Form<PageForm>,
) -> Response {
    let actor = match form_actor(actor, &form) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    match crate::http::api::notify::read_all(&state.db, actor.id()).await {
        Ok(()) => Redirect::to("/notifications").into_response(),
        Err(e) => e.into_response(),
    }
}
