//! The daily digest: people who asked for a kind's emails once a day get, after each day
//! (Beijing time), one email listing that day's notices of those kinds they have not read
//! yet. Written by the sweeper of the instances that send notifications; safe when several
//! run at once, since a digest is only written by whoever marks all its notices.

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde_json::json;

use super::entity::notification;
use super::preferences::{kind_of, unsubscribe_link};
use crate::accounts::entity::user;
use crate::outbox::enqueue;
use crate::outbox::events::{DIGEST, EmailEvent, EmailKey};
use crate::stats::domain::{day_start, local_date};

/// Most notices one digest lists; it says how many more there were.
const LISTED_MAX: usize = 50;

/// Writes the digest email of every person with notices waiting from before today; returns
/// how many were written.
pub async fn send_due(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    public_url: &str,
    secret: &str,
) -> Result<usize, DbErr> {
    let before = day_start(now);
    let waiting = || {
        notification::Entity::find()
            .filter(notification::Column::DigestPending.eq(true))
            .filter(notification::Column::CreatedAt.lt(before))
    };
    let users: Vec<i64> = waiting()
        .select_only()
        .column(notification::Column::UserId)
        .distinct()
        .into_tuple()
        .all(db)
        .await?;
    let mut written = 0;
    for user_id in users {
        let txn = crate::db::write_txn(db).await?;
        let notices = waiting()
            .filter(notification::Column::UserId.eq(user_id))
            .order_by_asc(notification::Column::Id)
            .all(&txn)
            .await?;
        let ids: Vec<i64> = notices.iter().map(|n| n.id).collect();
        let marked = notification::Entity::update_many()
            .col_expr(notification::Column::DigestPending, Expr::value(false))
            .filter(notification::Column::Id.is_in(ids.clone()))
            .filter(notification::Column::DigestPending.eq(true))
            .exec(&txn)
            .await?
            .rows_affected;
        if ids.is_empty() || marked != ids.len() as u64 {
            // Another instance took them meanwhile.
            txn.rollback().await?;
            continue;
        }
        // What was read in the app needs no email.
        let unread: Vec<&notification::Model> =
            notices.iter().filter(|n| n.read_at.is_none()).collect();
        let person = user::Entity::find_by_id(user_id).one(&txn).await?;
        let Some(person) = person.filter(|u| !u.disabled && u.email.is_some()) else {
            txn.commit().await?;
            continue;
        };
        if unread.is_empty() {
            txn.commit().await?;
            continue;
        }
        let mut kinds: Vec<&str> = unread.iter().map(|n| kind_of(&n.topic)).collect();
        kinds.sort_unstable();
        kinds.dedup();
        let links: Vec<serde_json::Value> = kinds
            .iter()
            .map(|k| json!({"kind": k, "link": unsubscribe_link(public_url, secret, user_id, k)}))
            .collect();
        let vars = json!({
            "name": person.display_name,
            "day": local_date(before - Duration::seconds(1)).to_string(),
            "count": unread.len(),
            "more": unread.len().saturating_sub(LISTED_MAX),
            "notices": unread
                .iter()
                .take(LISTED_MAX)
                .map(|n| json!({"title": n.title, "link": n.link}))
                .collect::<Vec<_>>(),
            "link": format!("{public_url}/notifications"),
            "kinds": links,
            // One kind: mail programs may offer its link as a one-click unsubscribe.
            "unsubscribe": (links.len() == 1).then(|| links[0]["link"].clone()),
        });
        let last = ids.last().copied().unwrap_or(0);
        let email = EmailEvent {
            topic: DIGEST.into(),
            key: EmailKey::Digest(format!("digest-{last}")),
            user_id,
            message: "digest".into(),
            vars,
        };
        enqueue(&txn, &email).await?;
        txn.commit().await?;
        written += 1;
    }
    Ok(written)
}
