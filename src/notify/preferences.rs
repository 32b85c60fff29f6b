//! What each person wants by email, per kind of event, and the signed unsubscribe links that
//! change it without logging in. In-app notices are always kept.

use chrono::Utc;
use hmac::{Hmac, Mac};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set};
use sha2::Sha256;

use super::entity::preference;

/// The kinds of event people may choose about, and whether an email of that kind is essential
/// (about an order they are part of: sent unless they turn it off, and without an unsubscribe
/// link) or not (with one).
pub const KINDS: [(&str, bool); 6] = [
    ("order", true),
    ("organization", true),
    ("proposal", false),
    ("listing", false),
    ("search", false),
    ("stats", false),
];

/// The kind of a topic: what comes before its first dot.
pub fn kind_of(topic: &str) -> &str {
    topic.split('.').next().unwrap_or(topic)
}

/// True unless `kind` is one of [`KINDS`] whose emails are essential.
pub fn optional(kind: &str) -> bool {
    !KINDS.iter().any(|(k, essential)| *k == kind && *essential)
}

/// Whether `user_id` wants emails about `kind` (yes unless they said no).
pub async fn wants_email(
    db: &impl ConnectionTrait,
    user_id: i64,
    kind: &str,
) -> Result<bool, DbErr> {
    Ok(preference::Entity::find()
        .filter(preference::Column::UserId.eq(user_id))
        .filter(preference::Column::Topic.eq(kind))
        .one(db)
        .await?
        .is_none_or(|p| p.email))
}

/// Records whether `user_id` wants emails about `kind`.
pub async fn set_email(
    db: &impl ConnectionTrait,
    user_id: i64,
    kind: &str,
    email: bool,
) -> Result<(), DbErr> {
    preference::Entity::insert(preference::ActiveModel {
        user_id: Set(user_id),
        topic: Set(kind.to_string()),
        email: Set(email),
        updated_at: Set(Utc::now()),
        ..Default::default()
    })
    .on_conflict(
        OnConflict::columns([preference::Column::UserId, preference::Column::Topic])
            .update_columns([preference::Column::Email, preference::Column::UpdatedAt])
            .to_owned(),
    )
    .exec(db)
    .await?;
    Ok(())
}

/// The signature of an unsubscribe link for `user_id` and `kind`.
pub fn unsubscribe_signature(secret: &str, user_id: i64, kind: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(format!("unsubscribe:{user_id}:{kind}").as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// The link that turns off emails about `kind` for `user_id`.
pub fn unsubscribe_link(public_url: &str, secret: &str, user_id: i64, kind: &str) -> String {
    format!(
        "{public_url}/unsubscribe?user={user_id}&kind={kind}&sig={}",
        unsubscribe_signature(secret, user_id, kind)
    )
}
