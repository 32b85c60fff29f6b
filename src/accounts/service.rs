//! Registration, login and logout.

use chrono::{Duration, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

use super::entity::{api_token, session, user};
use super::password;
use super::role::Language;
use super::role::{Credential, Role};
use super::token;
use crate::error::{AppError, AppResult, FieldError, Validator};
use crate::throttle::{Kind, Throttle};

/// A new account, already checked.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: String,
    pub password: String,
    pub display_name: String,
    pub role: Role,
    pub organization_id: Option<i64>,
    pub region_code: Option<String>,
    pub language: Language,
    pub email: Option<String>,
    /// Reporting staff (officials only).
    pub reporter: bool,
}

/// The fields every new account is checked for, once checked.
#[derive(Debug, Clone)]
pub struct Identity {
    pub username: String,
    pub display_name: String,
    pub language: Language,
    pub email: Option<String>,
}

/// Checks a new account's username, password (against the username), display name, language
/// and optional email, recording each refusal in `v`; the checked values when all passed.
pub fn check_identity(
    v: &mut Validator,
    username: &str,
    password: &str,
    display_name: &str,
    language: Option<&str>,
    email: Option<&str>,
) -> Option<Identity> {
    let raw = username;
    let username = v.check("username", parse_username(raw));
    // Checked against the username as it will be, or as typed when that is refused.
    v.check(
        "password",
        password::check_new(password, username.as_deref().unwrap_or(raw)),
    );
    let display_name = v.check("display_name", parse_display_name(display_name));
    let language = v.check("language", parse_language(language));
    let email = match email.map(str::trim) {
        None | Some("") => Some(None),
        Some(e) => v.check("email", parse_email(e)).map(Some),
    };
    Some(Identity {
        username: username?,
        display_name: display_name?,
        language: language?,
        email: email?,
    })
}

/// Checks an email address: at most 254 characters, one `@` with something on both sides and a
/// dot in the domain, no spaces or angle brackets.
pub fn parse_email(raw: &str) -> Result<String, FieldError> {
    let e = raw.trim().to_lowercase();
    let valid = e.len() <= 254
        && e.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains('@')
        })
        && !e.chars().any(|c| {
            c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | ',' | ';' | '"')
        });
    if valid {
        Ok(e)
    } else {
        Err(FieldError::new(
            "invalid_format",
            "an email address such as name@example.com",
        ))
    }
}

/// Checks a username: 3–32 characters of lower-case letters, digits, `-` and `_`.
pub fn parse_username(raw: &str) -> Result<String, FieldError> {
    let u = raw.trim().to_lowercase();
    if u.chars().count() < 3 || u.chars().count() > 32 {
        return Err(FieldError::new("length", "3 to 32 characters"));
    }
    if !u
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
    {
        return Err(FieldError::new(
            "invalid",
            "only letters a–z, digits, '-' and '_'",
        ));
    }
    Ok(u)
}

/// Checks a display name: 1–64 characters after trimming.
pub fn parse_display_name(raw: &str) -> Result<String, FieldError> {
    crate::fields::text(raw, 1, 64)
}

/// Checks a language code: `zh` or `en`.
pub fn parse_language(raw: Option<&str>) -> Result<Language, FieldError> {
    match raw.unwrap_or("zh") {
        "zh" | "zh-CN" | "zh-Hans" => Ok(Language::Zh),
        "en" => Ok(Language::En),
        _ => Err(FieldError::new("unknown_value", "zh or en")),
    }
}

/// Self-service registration as a buyer or as producer staff (who then applies for an
/// organization).
#[derive(Debug, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    pub username: String,
    pub password: String,
    pub display_name: String,
    /// `buyer` (default) or `producer`.
    pub role: Option<Role>,
    /// `zh` (default) or `en`.
    pub language: Option<String>,
    /// Where email notifications go (optional).
    pub email: Option<String>,
}

/// Registers someone from the public: every field checked at once, only buyers and producer
/// staff, the username free.
pub async fn register(db: &impl ConnectionTrait, req: RegisterRequest) -> AppResult<user::Model> {
    let mut v = Validator::default();
    let identity = check_identity(
        &mut v,
        &req.username,
        &req.password,
        &req.display_name,
        req.language.as_deref(),
        req.email.as_deref(),
    );
    let role = req.role.unwrap_or(Role::Buyer);
    if !matches!(role, Role::Buyer | Role::Producer) {
        v.add(
            "role",
            "not_allowed",
            "only buyer or producer accounts can be registered",
        );
    }
    v.finish()?;
    let Some(Identity {
        username,
        display_name,
        language,
        email,
    }) = identity
    else {
        return Err(anyhow::anyhow!("a registration passed its checks without an identity").into());
    };
    create_user(
        db,
        NewUser {
            username,
            password: req.password,
            display_name,
            role,
            organization_id: None,
            region_code: None,
            language,
            email,
            reporter: false,
        },
    )
    .await
}

/// Creates an account. The username must be free; the password is hashed with argon2id.
pub async fn create_user(db: &impl ConnectionTrait, new: NewUser) -> AppResult<user::Model> {
    let taken = user::Entity::find()
        .filter(user::Column::Username.eq(&new.username))
        .one(db)
        .await?
        .is_some();
    if taken {
        let mut v = Validator::default();
        v.add("username", "taken", "this username is already taken");
        v.finish()?;
    }
    let hash = password::hash(&new.password)?;
    let model = user::ActiveModel {
        username: Set(new.username),
        password_hash: Set(hash),
        display_name: Set(new.display_name),
        role: Set(new.role),
        organization_id: Set(new.organization_id),
        region_code: Set(new.region_code),
        language: Set(new.language),
        email: Set(new.email),
        disabled: Set(false),
        reporter: Set(new.reporter),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(model)
}

/// What a successful login hands back.
#[derive(Debug, Clone)]
pub struct LoginGrant {
    pub user: user::Model,
    /// Bearer token for programs.
    pub token: String,
    /// Session cookie value for browsers.
    pub session_secret: String,
    /// Token to echo in `X-CSRF-Token` on cookie-authenticated writes.
    pub csrf_token: String,
    pub expires_at: chrono::DateTime<Utc>,
}

/// A sign-in as people make it. Over-long input and unknown users fail like a wrong password.
/// Each attempt uses one of the username's few tries ([`Kind::SignInAccount`], known username
/// or not, so the limit reveals nothing); a success gives them all back. Beyond them the answer
/// is 429 whatever the password, so that guessing is slow even from many addresses.
pub async fn sign_in(
    db: &impl ConnectionTrait,
    throttle: &Throttle,
    lifetime_hours: i64,
    username: &str,
    password_text: &str,
) -> AppResult<LoginGrant> {
    let key = username.trim().to_lowercase();
    throttle.take(Kind::SignInAccount, &key).await?;
    // No username holds a control character, and PostgreSQL cannot compare text with a NUL.
    if key.len() > 64
        || key.chars().any(char::is_control)
        || password_text.chars().count() > password::MAX_LEN
    {
        return Err(AppError::InvalidCredentials);
    }
    let grant = login(db, &key, password_text, lifetime_hours).await?;
    throttle.forgive(Kind::SignInAccount, &key).await;
    Ok(grant)
}

/// Checks a username and password; on success opens a fresh session and issues a bearer token.
/// Unknown users, wrong passwords and disabled accounts all answer the same way.
pub async fn login(
    db: &impl ConnectionTrait,
    username: &str,
    password_text: &str,
    lifetime_hours: i64,
) -> AppResult<LoginGrant> {
    let username = username.trim().to_lowercase();
    let found = user::Entity::find()
        .filter(user::Column::Username.eq(&username))
        .one(db)
        .await?;
    let (stored, user) = match found {
        Some(u) => (u.password_hash.clone(), Some(u)),
        None => (password::DUMMY_HASH.clone(), None),
    };
    let password_text = password_text.to_string();
    let matches = tokio::task::spawn_blocking(move || password::verify(&password_text, &stored))
        .await
        .map_err(|e| anyhow::anyhow!("password check panicked: {e}"))?;
    let user = match user {
        Some(u) if matches && !u.disabled => u,
        _ => return Err(AppError::InvalidCredentials),
    };
    let now = Utc::now();
    let expires_at = now + Duration::hours(lifetime_hours);
    let session_secret = token::generate();
    let csrf_token = token::generate();
    session::ActiveModel {
        id: Set(token::digest(&session_secret)),
        user_id: Set(user.id),
        csrf_token: Set(csrf_token.clone()),
        created_at: Set(now),
        expires_at: Set(expires_at),
    }
    .insert(db)
    .await?;
    let bearer = token::generate();
    api_token::ActiveModel {
        user_id: Set(user.id),
        name: Set("login".into()),
        token_hash: Set(token::digest(&bearer)),
        created_at: Set(now),
        expires_at: Set(expires_at),
        revoked_at: Set(None),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(LoginGrant {
        user,
        token: bearer,
        session_secret,
        csrf_token,
        expires_at,
    })
}

/// Ends the session or revokes the token the request came with.
pub async fn logout(db: &impl ConnectionTrait, credential: &Credential) -> AppResult<()> {
    match credential {
        Credential::Session { id, .. } => {
            session::Entity::delete_by_id(id.clone()).exec(db).await?;
        }
        Credential::Token { id } => {
            api_token::Entity::update_many()
                .col_expr(
                    api_token::Column::RevokedAt,
                    sea_orm::sea_query::Expr::value(Utc::now()),
                )
                .filter(api_token::Column::Id.eq(*id))
                .exec(db)
                .await?;
        }
    }
    Ok(())
}

/// Ends every session and token of a user (when disabled or when the password changes).
pub async fn end_all_sessions(db: &impl ConnectionTrait, user_id: i64) -> AppResult<()> {
    session::Entity::delete_many()
        .filter(session::Column::UserId.eq(user_id))
        .exec(db)
        .await?;
    api_token::Entity::update_many()
        .col_expr(
            api_token::Column::RevokedAt,
            sea_orm::sea_query::Expr::value(Utc::now()),
        )
        .filter(api_token::Column::UserId.eq(user_id))
        .filter(api_token::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}
