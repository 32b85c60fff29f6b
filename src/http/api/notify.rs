//! `/api/v1/notifications`: each person's in-app notices, with the unread count and marking
//! read; `/api/v1/admin/dead-events`: deliveries that used up their attempts, for an admin to
//! see and retry.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::accounts::Actor;
use crate::error::{AppError, AppResult, ErrorBody};
use crate::http::api::accounts::require_admin;
use crate::http::api::extract::ApiJson;
use crate::http::api::extract::{ApiId, ApiQuery};
use crate::http::auth::Producer;
use crate::http::state::AppState;
use crate::notify::entity::{notification, webhook};
use crate::notify::preferences::{self, KindPreference, PreferenceChange};
use crate::notify::webhooks;
use crate::outbox::entity as outbox;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_notifications))
        .routes(routes!(stream_notifications))
        .routes(routes!(mark_read))
        .routes(routes!(mark_all_read))
        .routes(routes!(list_dead))
        .routes(routes!(retry_dead))
        .routes(routes!(create_webhook, list_webhooks))
        .routes(routes!(delete_webhook))
        .routes(routes!(get_preferences, set_preferences))
}

/// One notice.
#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationView {
    pub id: i64,
    /// What happened, e.g. `order.placed` or `proposal.created`.
    pub topic: String,
    pub title: String,
    pub body: String,
    pub link: Option<String>,
    pub read: bool,
    pub created_at: chrono::DateTime<Utc>,
}

/// A page of notices, newest first, and how many are unread in all.
#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationList {
    pub items: Vec<NotificationView>,
    pub unread: u64,
}

/// `?unread=true&limit=`.
#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct ListQuery {
    /// Only unread notices.
    pub unread: Option<bool>,
    /// At most this many (1–200, default 50).
    pub limit: Option<u64>,
    /// Only notices older than this id (for the next page).
    pub before: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/notifications", tag = "notifications", params(ListQuery),
    responses((status = 200, body = NotificationList), (status = 401, body = ErrorBody)), security(("bearer" = [])))]
async fn list_notifications(
    State(state): State<AppState>,
    actor: Actor,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> AppResult<Json<NotificationList>> {
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(AppError::field("limit", "out_of_range", "from 1 to 200"));
    }
    let unread = unread(&state.db, actor.id()).await?;
    let mut page = notification::Entity::find()
        .filter(notification::Column::UserId.eq(actor.id()))
        .order_by_desc(notification::Column::Id)
        .limit(limit);
    if q.unread == Some(true) {
        page = page.filter(notification::Column::ReadAt.is_null());
    }
    if let Some(before) = q.before {
        page = page.filter(notification::Column::Id.lt(before));
    }
    let items = page
        .all(&state.db)
        .await?
        .into_iter()
        .map(notification_view)
        .collect();
    Ok(Json(NotificationList { items, unread }))
}

/// How many of `user`'s notices are unread.
pub async fn unread(db: &impl sea_orm::ConnectionTrait, user: i64) -> Result<u64, sea_orm::DbErr> {
    notification::Entity::find()
        .filter(notification::Column::UserId.eq(user))
        .filter(notification::Column::ReadAt.is_null())
        .count(db)
        .await
}

pub fn notification_view(n: notification::Model) -> NotificationView {
    NotificationView {
        id: n.id,
        topic: n.topic,
        title: n.title,
        body: n.body,
        link: n.link,
        read: n.read_at.is_some(),
        created_at: n.created_at,
    }
}

/// What a live stream remembers between looks at the database.
struct Feed {
    db: sea_orm::DatabaseConnection,
    user: i64,
    /// Changes when the user may have a new notice; the stream reads nothing until it does.
    bell: tokio::sync::watch::Receiver<()>,
    last: i64,
    started: bool,
    pending: std::collections::VecDeque<Event>,
    /// Becomes true when the server starts to stop.
    stopping: tokio::sync::watch::Receiver<bool>,
    said_goodbye: bool,
}

/// How soon a browser reconnects after a stopping server ends its stream.
const RECONNECT_AFTER: std::time::Duration = std::time::Duration::from_millis(500);

#[utoipa::path(get, path = "/api/v1/notifications/stream", tag = "notifications",
    description = "Server-sent events: `unread` (the count) on connecting and whenever it changes, and `notification` (a NotificationView, its id as the event id) for each new notice. Send `Last-Event-ID` to resume after a given notice. An open stream reads the database only when its user gets a notice. When the server stops, a last `reconnect` event (retry 500 ms) ends the stream.",
    responses((status = 200, content_type = "text/event-stream"), (status = 401, body = ErrorBody)), security(("bearer" = [])))]
async fn stream_notifications(
    State(state): State<AppState>,
    actor: Actor,
    headers: axum::http::HeaderMap,
) -> AppResult<Sse<impl futures_util::Stream<Item = Result<Event, std::convert::Infallible>>>> {
    let resume = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok());
    let last = match resume {
        Some(id) => id,
        None => notification::Entity::find()
            .filter(notification::Column::UserId.eq(actor.id()))
            .order_by_desc(notification::Column::Id)
            .one(&state.db)
            .await?
            .map_or(0, |n| n.id),
    };
    let feed = Feed {
        db: state.db.clone(),
        user: actor.id(),
        bell: state.bell.listen(actor.id()),
        last,
        started: false,
        pending: Default::default(),
        stopping: state.stopping.subscribe(),
        said_goodbye: false,
    };
    let stream = futures_util::stream::unfold(feed, |mut f| async move {
        loop {
            if let Some(e) = f.pending.pop_front() {
                return Some((Ok(e), f));
            }
            if f.said_goodbye {
                return None;
            }
            if *f.stopping.borrow() {
                // The server is stopping: one last event, and the browser reconnects (to
                // another instance) half a second after the stream ends, resuming after the
                // last notice it has.
                f.said_goodbye = true;
                f.pending.push_back(
                    Event::default()
                        .event("reconnect")
                        .retry(RECONNECT_AFTER)
                        .data("this server is stopping"),
                );
                continue;
            }
            if f.started {
                tokio::select! {
                    rung = f.bell.changed() => if rung.is_err() { return None },
                    _ = f.stopping.changed() => continue,
                }
            }
            let first = !f.started;
            f.started = true;
            let Ok(new) = notification::Entity::find()
                .filter(notification::Column::UserId.eq(f.user))
                .filter(notification::Column::Id.gt(f.last))
                .order_by_asc(notification::Column::Id)
                .limit(50)
                .all(&f.db)
                .await
            else {
                // The database did not answer: look again in a moment without a ring.
                f.bell.mark_changed();
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                continue;
            };
            let changed = !new.is_empty();
            for n in new {
                f.last = n.id;
                let id = n.id.to_string();
                if let Ok(e) = Event::default()
                    .event("notification")
                    .id(id)
                    .json_data(notification_view(n))
                {
                    f.pending.push_back(e);
                }
            }
            if first || changed {
                let unread = unread(&f.db, f.user).await.unwrap_or(0);
                f.pending
                    .push_back(Event::default().event("unread").data(unread.to_string()));
            }
        }
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

#[utoipa::path(post, path = "/api/v1/notifications/{id}/read", tag = "notifications",
    params(("id" = i64, Path, description = "notification id")),
    responses((status = 204), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn mark_read(
    State(state): State<AppState>,
    actor: Actor,
    ApiId(id): ApiId,
) -> AppResult<StatusCode> {
    read_one(&state.db, actor.id(), id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Marks one of `user`'s notices read; someone else's is as absent as one that does not exist.
pub async fn read_one(db: &impl sea_orm::ConnectionTrait, user: i64, id: i64) -> AppResult<()> {
    let found = notification::Entity::find_by_id(id)
        .filter(notification::Column::UserId.eq(user))
        .one(db)
        .await?
        .ok_or(AppError::NotFound("notification"))?;
    if found.read_at.is_none() {
        notification::Entity::update_many()
            .col_expr(notification::Column::ReadAt, Expr::value(Utc::now()))
            .filter(notification::Column::Id.eq(found.id))
            .filter(notification::Column::ReadAt.is_null())
            .exec(db)
            .await?;
    }
    Ok(())
}

/// Marks all of `user`'s notices read.
pub async fn read_all(db: &impl sea_orm::ConnectionTrait, user: i64) -> AppResult<()> {
    notification::Entity::update_many()
        .col_expr(notification::Column::ReadAt, Expr::value(Utc::now()))
        .filter(notification::Column::UserId.eq(user))
        .filter(notification::Column::ReadAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

#[utoipa::path(post, path = "/api/v1/notifications/read-all", tag = "notifications",
    responses((status = 204), (status = 401, body = ErrorBody)), security(("bearer" = [])))]
async fn mark_all_read(State(state): State<AppState>, actor: Actor) -> AppResult<StatusCode> {
    read_all(&state.db, actor.id()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A delivery that gave up.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeadEvent {
    pub id: i64,
    /// `email`, `notify`, …
    pub channel: String,
    pub topic: String,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub created_at: chrono::DateTime<Utc>,
    pub dead_at: Option<chrono::DateTime<Utc>>,
}

#[utoipa::path(get, path = "/api/v1/admin/dead-events", tag = "notifications",
    responses((status = 200, body = Vec<DeadEvent>), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
async fn list_dead(State(state): State<AppState>, actor: Actor) -> AppResult<Json<Vec<DeadEvent>>> {
    dead_events(&state, &actor).await.map(Json)
}

/// Events that ran out of attempts, newest first (admins).
pub(crate) async fn dead_events(state: &AppState, actor: &Actor) -> AppResult<Vec<DeadEvent>> {
    require_admin(actor)?;
    let rows = outbox::Entity::find()
        .filter(outbox::Column::DeadAt.is_not_null())
        .order_by_desc(outbox::Column::Id)
        .limit(500)
        .all(&state.db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| DeadEvent {
            id: r.id,
            channel: r.channel,
            topic: r.topic,
            attempts: r.attempts,
            last_error: r.last_error,
            created_at: r.created_at,
            dead_at: r.dead_at,
        })
        .collect())
}

#[utoipa::path(post, path = "/api/v1/admin/dead-events/{id}/retry", tag = "notifications",
    params(("id" = i64, Path, description = "outbox row id")),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn retry_dead(
    State(state): State<AppState>,
    actor: Actor,
    ApiId(id): ApiId,
) -> AppResult<StatusCode> {
    retry(&state, &actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Puts a dead event back in line with fresh attempts (admins); recorded in the audit log.
pub(crate) async fn retry(state: &AppState, actor: &Actor, id: i64) -> AppResult<()> {
    require_admin(actor)?;
    let txn = crate::db::write_txn(&state.db).await?;
    let r = outbox::Entity::update_many()
        .col_expr(
            outbox::Column::DeadAt,
            Expr::value(Option::<chrono::DateTime<Utc>>::None),
        )
        .col_expr(outbox::Column::Attempts, Expr::value(0))
        .col_expr(outbox::Column::AvailableAt, Expr::value(Utc::now()))
        .filter(outbox::Column::Id.eq(id))
        .filter(outbox::Column::DeadAt.is_not_null())
        .exec(&txn)
        .await?;
    if r.rows_affected == 0 {
        return Err(AppError::NotFound("dead event"));
    }
    crate::audit::record(
        &txn,
        Some(actor.id()),
        "outbox.retry",
        "outbox",
        id,
        serde_json::json!({}),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// A webhook endpoint as its organization sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookView {
    pub id: i64,
    pub organization_id: i64,
    pub url: String,
    /// Topic prefixes it receives (`order.`, `proposal.`) or `*`.
    pub topics: Vec<String>,
    pub active: bool,
    pub created_at: chrono::DateTime<Utc>,
}

/// A new endpoint, with the signing secret shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookCreated {
    #[serde(flatten)]
    pub webhook: WebhookView,
    /// Key of the `X-Qudao-Signature` HMAC-SHA256; keep it, it is not shown again.
    pub secret: String,
}

/// `{"url": "https://…", "topics": ["order.", "proposal."]}`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewWebhook {
    pub url: String,
    /// Topic prefixes ending in `.`, whole topics, or `*` (the default).
    pub topics: Option<Vec<String>>,
}

fn webhook_view(h: webhook::Model) -> WebhookView {
    WebhookView {
        id: h.id,
        organization_id: h.organization_id,
        url: h.url,
        topics: h.topics.split(',').map(str::to_string).collect(),
        active: h.active,
        created_at: h.created_at,
    }
}

#[utoipa::path(post, path = "/api/v1/webhooks", tag = "notifications", request_body = NewWebhook,
    responses((status = 201, body = WebhookCreated), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
async fn create_webhook(
    State(state): State<AppState>,
    Producer(actor): Producer,
    ApiJson(req): ApiJson<NewWebhook>,
) -> AppResult<(StatusCode, Json<WebhookCreated>)> {
    let (hook, secret) = webhooks::create(&state.db, &actor, &req.url, req.topics).await?;
    Ok((
        StatusCode::CREATED,
        Json(WebhookCreated {
            webhook: webhook_view(hook),
            secret,
        }),
    ))
}

#[utoipa::path(get, path = "/api/v1/webhooks", tag = "notifications",
    responses((status = 200, body = Vec<WebhookView>), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
async fn list_webhooks(
    State(state): State<AppState>,
    actor: Actor,
) -> AppResult<Json<Vec<WebhookView>>> {
    let hooks = webhooks::list(&state.db, &actor).await?;
    Ok(Json(hooks.into_iter().map(webhook_view).collect()))
}

#[utoipa::path(delete, path = "/api/v1/webhooks/{id}", tag = "notifications",
    params(("id" = i64, Path, description = "webhook id")),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn delete_webhook(
    State(state): State<AppState>,
    actor: Actor,
    ApiId(id): ApiId,
) -> AppResult<StatusCode> {
    webhooks::delete(&state.db, &actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/notification-preferences", tag = "notifications",
    responses((status = 200, body = Vec<KindPreference>), (status = 401, body = ErrorBody)), security(("bearer" = [])))]
async fn get_preferences(
    State(state): State<AppState>,
    actor: Actor,
) -> AppResult<Json<Vec<KindPreference>>> {
    Ok(Json(preferences::views(&state.db, actor.id()).await?))
}

/// `{"preferences": [{"kind": "proposal", "email": true, "digest": true}]}`: the kinds to
/// change.
#[derive(Debug, Deserialize, ToSchema)]
pub struct PreferenceChanges {
    pub preferences: Vec<PreferenceChange>,
}

#[utoipa::path(put, path = "/api/v1/notification-preferences", tag = "notifications", request_body = PreferenceChanges,
    responses((status = 200, body = Vec<KindPreference>), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
async fn set_preferences(
    State(state): State<AppState>,
    actor: Actor,
    ApiJson(PreferenceChanges {
        preferences: changes,
    }): ApiJson<PreferenceChanges>,
) -> AppResult<Json<Vec<KindPreference>>> {
    preferences::change(&state.db, actor.id(), &changes).await?;
    Ok(Json(preferences::views(&state.db, actor.id()).await?))
}
