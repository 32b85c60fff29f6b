//! What platform admins do to accounts, across the accounts and the catalog they point into: make one with any role (officials with a region scope, and
//! reporting staff among them; producer staff with an organization), and change one (disable
//! it, rename it, make an official reporting staff or read-only again). Both are audited.

use sea_orm::{ActiveModelTrait, EntityTrait, IntoActiveModel, Set};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::accounts::entity::user;
use crate::accounts::role::{Actor, Role};
use crate::accounts::service::{self, NewUser};
use crate::catalog::regions;
use crate::error::{AppError, AppResult, Validator};

/// Refuses anyone but a platform admin.
pub fn require_admin(actor: &Actor) -> AppResult<()> {
    if actor.is_admin() {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "only platform admins may do this".into(),
        ))
    }
}

/// An account made by an admin: any role, with an organization for producers and a region for officials.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUserRequest {
    pub username: String,
    pub password: String,
    pub display_name: String,
    pub role: Role,
    pub organization_id: Option<i64>,
    pub region_code: Option<String>,
    pub language: Option<String>,
    /// Where email notifications go (optional).
    pub email: Option<String>,
    /// For officials: reporting staff, who fill in and send the quarterly 成效统计表; no by
    /// default (officials read only).
    pub reporter: Option<bool>,
}

/// Makes an account as admin `actor`: every field checked at once, then made and audited.
pub async fn create_account(
    db: &sea_orm::DatabaseConnection,
    actor: &Actor,
    req: CreateUserRequest,
) -> AppResult<user::Model> {
    require_admin(actor)?;
    let mut v = Validator::default();
    let identity = service::check_identity(
        &mut v,
        &req.username,
        &req.password,
        &req.display_name,
        req.language.as_deref(),
        req.email.as_deref(),
    );
    match (req.role, &req.region_code) {
        (Role::Official, None) => v.add(
            "region_code",
            "required",
            "an official needs a region scope",
        ),
        (Role::Official, Some(code)) if regions::find(db, code).await?.is_none() => {
            v.add("region_code", "unknown", "no region has this code")
        }
        (Role::Official, Some(_)) => {}
        (_, Some(_)) => v.add(
            "region_code",
            "not_allowed",
            "only officials have a region scope",
        ),
        (_, None) => {}
    }
    match (req.role, req.organization_id) {
        (Role::Producer, Some(id))
            if crate::catalog::entity::organization::Entity::find_by_id(id)
                .one(db)
                .await?
                .is_none() =>
        {
            v.add("organization_id", "unknown", "no organization has this id")
        }
        (Role::Producer, _) => {}
        (_, Some(_)) => v.add(
            "organization_id",
            "not_allowed",
            "only producers belong to an organization",
        ),
        (_, None) => {}
    }
    let reporter = req.reporter.unwrap_or(false);
    if reporter && req.role != Role::Official {
        v.add(
            "reporter",
            "not_allowed",
            "only officials are reporting staff",
        );
    }
    v.finish()?;
    let Some(service::Identity {
        username,
        display_name,
        language,
        email,
    }) = identity
    else {
        unreachable!("validation passed")
    };
    let txn = crate::db::write_txn(db).await?;
    let user = service::create_user(
        &txn,
        NewUser {
            username,
            password: req.password,
            display_name,
            role: req.role,
            organization_id: req.organization_id,
            region_code: req.region_code,
            language,
            email,
            reporter,
        },
    )
    .await?;
    crate::audit::record(
        &txn,
        Some(actor.id()),
        "user.create",
        "user",
        user.id,
        serde_json::json!({"role": req.role.code(), "reporter": reporter}),
    )
    .await?;
    txn.commit().await?;
    Ok(user)
}

/// What an admin can change on an account.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUserRequest {
    pub disabled: Option<bool>,
    pub display_name: Option<String>,
    /// Makes an official reporting staff, or read-only again.
    pub reporter: Option<bool>,
}

/// Changes account `id` as admin `actor`; audited.
pub async fn change_account(
    db: &sea_orm::DatabaseConnection,
    actor: &Actor,
    id: i64,
    req: UpdateUserRequest,
) -> AppResult<user::Model> {
    require_admin(actor)?;
    let mut v = Validator::default();
    let display_name = req
        .display_name
        .as_deref()
        .map(|d| v.check("display_name", service::parse_display_name(d)));
    if req.disabled == Some(true) && id == actor.id() {
        v.add(
            "disabled",
            "not_allowed",
            "admins cannot disable their own account",
        );
    }
    v.finish()?;
    let txn = crate::db::write_txn(db).await?;
    let found = user::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound("user"))?;
    if req.reporter == Some(true) && found.role != Role::Official {
        let mut v = Validator::default();
        v.add(
            "reporter",
            "not_allowed",
            "only officials are reporting staff",
        );
        v.finish()?;
    }
    let mut model = found.into_active_model();
    if let Some(reporter) = req.reporter {
        model.reporter = Set(reporter);
    }
    if let Some(Some(name)) = display_name {
        model.display_name = Set(name);
    }
    if let Some(disabled) = req.disabled {
        model.disabled = Set(disabled);
        if disabled {
            service::end_all_sessions(&txn, id).await?;
        }
    }
    let updated = model.update(&txn).await?;
    crate::audit::record(
        &txn,
        Some(actor.id()),
        "user.update",
        "user",
        id,
        serde_json::json!({"disabled": req.disabled, "reporter": req.reporter}),
    )
    .await?;
    txn.commit().await?;
    Ok(updated)
}
