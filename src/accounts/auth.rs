//! Who is calling: the user behind a bearer token or a session, checked against the database.

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use super::entity::{api_token, session, user};
use super::role::{Actor, Credential, Role};
use super::token;
use crate::error::AppError;

/// The user a credential belongs to, with their role, unless the account is disabled.
fn active_user(found: Option<user::Model>) -> Result<Option<(user::Model, Role)>, AppError> {
    let Some(u) = found.filter(|u| !u.disabled) else {
        return Ok(None);
    };
    let role = u.role;
    Ok(Some((u, role)))
}

/// The actor behind a bearer token, or an error when the token is unknown, revoked, expired
/// or its account disabled.
pub async fn by_token(
    db: &impl ConnectionTrait,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Actor, AppError> {
    let (row, found) = api_token::Entity::find()
        .filter(api_token::Column::TokenHash.eq(token::digest(token)))
        .find_also_related(user::Entity)
        .one(db)
        .await?
        .filter(|(t, _)| t.revoked_at.is_none() && t.expires_at > now)
        .ok_or(AppError::Unauthenticated)?;
    let (user, role) = active_user(found)?.ok_or(AppError::Unauthenticated)?;
    Ok(Actor {
        user,
        role,
        credential: Credential::Token { id: row.id },
    })
}

/// The actor behind a session cookie's secret, if the session is open and its account active.
pub async fn by_session(
    db: &impl ConnectionTrait,
    secret: &str,
    now: DateTime<Utc>,
) -> Result<Option<Actor>, AppError> {
    let Some((row, found)) = session::Entity::find_by_id(token::digest(secret))
        .find_also_related(user::Entity)
        .one(db)
        .await?
        .filter(|(s, _)| s.expires_at > now)
    else {
        return Ok(None);
    };
    Ok(active_user(found)?.map(|(user, role)| Actor {
        user,
        role,
        credential: Credential::Session {
            id: row.id,
            csrf_token: row.csrf_token,
        },
    }))
}
