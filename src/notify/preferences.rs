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
pub const KINDS: [(&str, bool); 8] = [
    ("order", true),
    ("contract", true),
    ("organization", true),
    ("certificate", true),
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

/// What a person chose about the emails of one kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Choice {
    /// Emails at all (yes unless they said no).
    pub email: bool,
    /// Gathered into one a day rather than one by one (only for kinds that are not essential).
    pub digest: bool,
}

impl Default for Choice {
    fn default() -> Self {
        Choice {
            email: true,
            digest: false,
        }
    }
}

/// What `user_id` chose about emails of `kind`.
pub async fn choice(db: &impl ConnectionTrait, user_id: i64, kind: &str) -> Result<Choice, DbErr> {
    Ok(preference::Entity::find()
        .filter(preference::Column::UserId.eq(user_id))
        .filter(preference::Column::Topic.eq(kind))
        .one(db)
        .await?
        .map_or_else(Choice::default, |p| Choice {
            email: p.email,
            digest: p.digest && optional(kind),
        }))
}

/// Records what `user_id` chose about `kind`; what is `None` stays as it was.
pub async fn set(
    db: &impl ConnectionTrait,
    user_id: i64,
    kind: &str,
    email: Option<bool>,
    digest: Option<bool>,
) -> Result<(), DbErr> {
    let now = choice(db, user_id, kind).await?;
    preference::Entity::insert(preference::ActiveModel {
        user_id: Set(user_id),
        topic: Set(kind.to_string()),
        email: Set(email.unwrap_or(now.email)),
        digest: Set(digest.unwrap_or(now.digest)),
        updated_at: Set(Utc::now()),
        ..Default::default()
    })
    .on_conflict(
        OnConflict::columns([preference::Column::UserId, preference::Column::Topic])
            .update_columns([
                preference::Column::Email,
                preference::Column::Digest,
                preference::Column::UpdatedAt,
            ])
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

/// Whether emails of one kind are wanted, and how.
#[derive(Debug, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct KindPreference {
    /// `order` or `proposal`.
    pub kind: String,
    pub email: bool,
    /// Gathered into one email a day (never for essential kinds).
    pub digest: bool,
    /// Essential emails carry no unsubscribe link (they may still be turned off here) and
    /// are always sent at once.
    #[serde(default)]
    pub essential: bool,
}

/// One kind to change; what is left out stays as it was.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreferenceChange {
    pub kind: String,
    pub email: Option<bool>,
    /// One email a day instead of one per event.
    pub digest: Option<bool>,
}

/// Every kind's choice of `user_id`, in the order of [`KINDS`].
pub async fn views(
    db: &impl ConnectionTrait,
    user_id: i64,
) -> crate::error::AppResult<Vec<KindPreference>> {
    let mut out = Vec::new();
    for (kind, essential) in KINDS {
        let choice = choice(db, user_id, kind).await?;
        out.push(KindPreference {
            kind: kind.into(),
            email: choice.email,
            digest: choice.digest,
            essential,
        });
    }
    Ok(out)
}

/// Changes `user_id`'s choices, all or none: each kind known, no digest of essential emails.
pub async fn change(
    db: &sea_orm::DatabaseConnection,
    user_id: i64,
    changes: &[PreferenceChange],
) -> crate::error::AppResult<()> {
    let mut v = crate::error::Validator::default();
    if changes.is_empty() || changes.len() > KINDS.len() {
        v.add(
            "preferences",
            "invalid_format",
            "one entry per kind to change",
        );
    }
    for c in changes {
        if !KINDS.iter().any(|(k, _)| *k == c.kind) {
            v.add(
                "kind",
                "unknown",
                format!("kinds are {}", KINDS.map(|(k, _)| k).join(", ")),
            );
        } else if c.digest == Some(true) && !optional(&c.kind) {
            v.add(
                "digest",
                "essential",
                format!("{} emails are essential and always sent at once", c.kind),
            );
        }
    }
    v.finish()?;
    let txn = crate::db::write_txn(db).await?;
    for c in changes {
        set(&txn, user_id, &c.kind, c.email, c.digest).await?;
    }
    txn.commit().await?;
    Ok(())
}
