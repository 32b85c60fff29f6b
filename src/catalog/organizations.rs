//! Organizations (经营主体) and their onboarding: apply → county recommends → admin approves.

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, IntoActiveModel, Set};

use super::domain::{OrganizationKind, VerificationStatus, county_of};
use super::entity::organization;
use crate::accounts::entity::user;
use crate::accounts::{Actor, Role};
use crate::error::{AppError, AppResult, Validator};
use crate::fields::{phone, text};
use crate::outbox;
use crate::outbox::events::{NotifyEvent, OrganizationChange, OrganizationNews};

/// A checked application.
#[derive(Debug, Clone)]
pub struct Application {
    pub name: String,
    pub kind: OrganizationKind,
    pub region_code: String,
    pub description: String,
    pub contact_name: String,
    pub contact_phone: String,
}

/// An application for a new organization, as typed.
#[derive(Debug, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplyRequest {
    pub name: String,
    /// `cooperative`, `enterprise`, `family_farm` or `village_agent`.
    pub kind: String,
    /// The village or county the organization belongs to.
    pub region_code: String,
    pub description: Option<String>,
    pub contact_name: String,
    pub contact_phone: String,
}

/// Checks an application field by field, all refusals at once.
pub async fn check_application(
    db: &impl ConnectionTrait,
    req: ApplyRequest,
) -> AppResult<Application> {
    let mut v = Validator::default();
    let name = v.check("name", text(&req.name, 2, 64));
    let kind = OrganizationKind::from_code(req.kind.trim());
    if kind.is_none() {
        v.add(
            "kind",
            "unknown_value",
            format!("must be one of: {}", OrganizationKind::codes()),
        );
    }
    let description = v.check(
        "description",
        text(req.description.as_deref().unwrap_or(""), 0, 2000),
    );
    let contact_name = v.check("contact_name", text(&req.contact_name, 1, 32));
    let contact_phone = v.check("contact_phone", phone(&req.contact_phone));
    if county_of(&req.region_code).is_none()
        || super::regions::find(db, &req.region_code).await?.is_none()
    {
        v.add(
            "region_code",
            "unknown",
            "must be the code of an existing county, township or village",
        );
    }
    v.finish()?;
    Ok(Application {
        name: name.unwrap_or_default(),
        kind: kind.unwrap_or(OrganizationKind::Cooperative),
        region_code: req.region_code,
        description: description.unwrap_or_default(),
        contact_name: contact_name.unwrap_or_default(),
        contact_phone: contact_phone.unwrap_or_default(),
    })
}

/// Checks and files `actor`'s application in one transaction.
pub async fn submit(
    db: &sea_orm::DatabaseConnection,
    actor: &Actor,
    req: ApplyRequest,
) -> AppResult<organization::Model> {
    let app = check_application(db, req).await?;
    let txn = crate::db::write_txn(db).await?;
    let org = apply(&txn, actor, app).await?;
    txn.commit().await?;
    Ok(org)
}

/// The applications waiting for a county's recommendation that `actor` may give: an
/// official's within their region, oldest first; every one for an admin.
pub async fn awaiting_recommendation(
    db: &impl ConnectionTrait,
    actor: &Actor,
) -> AppResult<Vec<organization::Model>> {
    use sea_orm::{ColumnTrait, QueryFilter, QueryOrder};
    let mut q = organization::Entity::find()
        .filter(organization::Column::Status.eq(VerificationStatus::Applied.code()))
        .order_by_asc(organization::Column::Id);
    match (actor.role, actor.user.region_code.as_deref()) {
        (Role::Admin, _) => {}
        (Role::Official, Some(scope)) => {
            let prefix = super::listings::region_prefix(scope);
            q = q.filter(organization::Column::RegionCode.starts_with(prefix));
        }
        _ => {
            return Err(AppError::Forbidden(
                "the county's officials recommend applications".into(),
            ));
        }
    }
    Ok(q.all(db).await?)
}

/// True when `actor` may see this organization (approved ones are public).
pub fn can_view(actor: Option<&Actor>, org: &organization::Model) -> bool {
    org.status == VerificationStatus::Approved || actor.is_some_and(|a| can_view_private(a, org))
}

/// True when `actor` may see the organization's non-public parts (households, pending state).
pub fn can_view_private(actor: &Actor, org: &organization::Model) -> bool {
    actor.is_admin()
        || actor.organization_id() == Some(org.id)
        || actor.official_covers(&org.region_code)
}

/// The status stored on an organization.
pub fn status(org: &organization::Model) -> VerificationStatus {
    org.status
}

async fn event(
    db: &impl ConnectionTrait,
    news: OrganizationNews,
    org: &organization::Model,
) -> Result<(), sea_orm::DbErr> {
    let change = OrganizationChange {
        organization_id: org.id,
        status: org.status.code().into(),
        region_code: org.region_code.clone(),
    };
    outbox::enqueue(db, &NotifyEvent::Organization(news, change)).await
}

/// A producer without an organization applies for one and becomes its first staff member.
pub async fn apply(
    db: &impl ConnectionTrait,
    actor: &Actor,
    app: Application,
) -> AppResult<organization::Model> {
    if actor.role != Role::Producer {
        return Err(AppError::Forbidden(
            "only producer accounts can apply for an organization".into(),
        ));
    }
    if actor.user.organization_id.is_some() {
        return Err(AppError::Conflict(
            "already_member",
            "this account already belongs to an organization".into(),
        ));
    }
    let now = Utc::now();
    let org = organization::ActiveModel {
        name: Set(app.name),
        kind: Set(app.kind),
        region_code: Set(app.region_code),
        status: Set(VerificationStatus::Applied),
        description: Set(app.description),
        contact_name: Set(app.contact_name),
        contact_phone: Set(app.contact_phone),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    let mut u = actor.user.clone().into_active_model();
    u.organization_id = Set(Some(org.id));
    u.update(db).await?;
    event(db, OrganizationNews::Applied, &org).await?;
    crate::audit::record(
        db,
        Some(actor.id()),
        "organization.apply",
        "organization",
        org.id,
        serde_json::json!({}),
    )
    .await?;
    Ok(org)
}

/// What an onboarding decision does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Recommend,
    Approve,
    Reject,
}

/// Moves an organization through onboarding. The county's official recommends, an admin approves;
/// either may reject a pending application.
/// Organization `id`, when `actor` may take `decision` on it: 404 when they cannot see it,
/// 403 when the decision is not theirs to take.
pub async fn decider(
    db: &impl ConnectionTrait,
    actor: &Actor,
    id: i64,
    decision: Decision,
) -> AppResult<organization::Model> {
    let org = organization::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("organization"))?;
    if !can_view(Some(actor), &org) {
        return Err(AppError::NotFound("organization"));
    }
    let county = county_of(&org.region_code).unwrap_or(&org.region_code);
    let allowed = match decision {
        Decision::Recommend => actor.official_covers(county),
        Decision::Approve => actor.is_admin(),
        Decision::Reject => actor.is_admin() || actor.official_covers(county),
    };
    if allowed {
        return Ok(org);
    }
    Err(AppError::Forbidden(match decision {
        Decision::Recommend => {
            "only an official whose region covers the organization's county can recommend it".into()
        }
        Decision::Approve => "only platform admins can approve organizations".into(),
        Decision::Reject => {
            "only the county's officials or platform admins can reject organizations".into()
        }
    }))
}

pub async fn decide(
    db: &impl ConnectionTrait,
    actor: &Actor,
    id: i64,
    decision: Decision,
    note: Option<String>,
) -> AppResult<organization::Model> {
    let org = decider(db, actor, id, decision).await?;
    let current = status(&org);
    let next = match (decision, current) {
        (Decision::Recommend, VerificationStatus::Applied) => VerificationStatus::Recommended,
        (Decision::Approve, VerificationStatus::Recommended) => VerificationStatus::Approved,
        (Decision::Reject, VerificationStatus::Applied | VerificationStatus::Recommended) => {
            VerificationStatus::Rejected
        }
        (_, from) => {
            return Err(AppError::Conflict(
                "invalid_transition",
                format!(
                    "an organization that is {} cannot be {}",
                    from.code(),
                    match decision {
                        Decision::Recommend => "recommended",
                        Decision::Approve =>
                            "approved (it must be recommended by its county first)",
                        Decision::Reject => "rejected",
                    }
                ),
            ));
        }
    };
    let now = Utc::now();
    let mut m = org.into_active_model();
    m.status = Set(next);
    m.updated_at = Set(now);
    match decision {
        Decision::Recommend => {
            m.recommended_by = Set(Some(actor.id()));
            m.recommended_at = Set(Some(now));
        }
        Decision::Approve | Decision::Reject => {
            m.decided_by = Set(Some(actor.id()));
            m.decided_at = Set(Some(now));
            m.decision_note = Set(note.clone());
        }
    }
    let org = m.update(db).await?;
    let news = match next {
        VerificationStatus::Applied => OrganizationNews::Applied,
        VerificationStatus::Recommended => OrganizationNews::Recommended,
        VerificationStatus::Approved => OrganizationNews::Approved,
        VerificationStatus::Rejected => OrganizationNews::Rejected,
    };
    event(db, news, &org).await?;
    let topic = format!("organization.{}", next.code());
    crate::audit::record(
        db,
        Some(actor.id()),
        &topic,
        "organization",
        org.id,
        serde_json::json!({"note": note}),
    )
    .await?;
    Ok(org)
}

/// The staff accounts of an organization.
pub async fn staff(
    db: &impl ConnectionTrait,
    org_id: i64,
) -> Result<Vec<user::Model>, sea_orm::DbErr> {
    use sea_orm::{ColumnTrait, QueryFilter};
    user::Entity::find()
        .filter(user::Column::OrganizationId.eq(org_id))
        .all(db)
        .await
}
