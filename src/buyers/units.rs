//! Buyer units and their people: a buyer account applies for a unit and becomes its admin;
//! an admin or an official over the unit's region approves it; the unit's admins add
//! purchasers (who order in the unit's name) and members (whose own purchases count for the
//! unit when it says so, as a union's welfare spending does).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder, Set,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::domain::{BuyerBasis, UnitKind, UnitRole, UnitStatus};
use super::entity::{member, unit};
use crate::accounts::entity::user;
use crate::accounts::{Actor, Role};
use crate::catalog::regions;
use crate::division::region_contains;
use crate::error::{AppError, AppResult, Validator};
use crate::fields::{phone, text};

/// A unit as applied for: `kind` one of the unit kinds, `region_code` any division,
/// `parent_id` an approved unit it reports to.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UnitInput {
    pub name: String,
    pub kind: String,
    pub region_code: String,
    pub parent_id: Option<i64>,
    /// Whether members' own purchases count for the unit; a union's do unless it says not.
    pub counts_members: Option<bool>,
    pub contact_name: String,
    pub contact_phone: String,
}

/// A checked application.
#[derive(Debug, Clone)]
struct Checked {
    name: String,
    kind: UnitKind,
    region_code: String,
    parent_id: Option<i64>,
    counts_members: bool,
    contact_name: String,
    contact_phone: String,
}

async fn check(db: &impl ConnectionTrait, input: &UnitInput) -> AppResult<Checked> {
    let mut v = Validator::default();
    let name = v.check("name", text(&input.name, 2, 60));
    let kind = UnitKind::from_code(&input.kind);
    if kind.is_none() {
        v.add(
            "kind",
            "unknown_value",
            format!("one of {}", UnitKind::codes()),
        );
    }
    if regions::find(db, &input.region_code).await?.is_none() {
        v.add("region_code", "unknown", "must be the code of a division");
    }
    if let Some(p) = input.parent_id
        && unit::Entity::find_by_id(p)
            .one(db)
            .await?
            .is_none_or(|u| u.status != UnitStatus::Approved)
    {
        v.add("parent_id", "unknown", "must be an approved unit");
    }
    let contact_name = v.check("contact_name", text(&input.contact_name, 1, 32));
    let contact_phone = v.check("contact_phone", phone(&input.contact_phone));
    v.finish()?;
    let kind = kind.unwrap_or(UnitKind::Individual);
    Ok(Checked {
        name: name.unwrap_or_default(),
        kind,
        region_code: input.region_code.clone(),
        parent_id: input.parent_id,
        counts_members: input
            .counts_members
            .unwrap_or(kind.counts_members_by_default()),
        contact_name: contact_name.unwrap_or_default(),
        contact_phone: contact_phone.unwrap_or_default(),
    })
}

/// A buyer account applies for a unit and becomes its first admin.
pub async fn apply(
    db: &impl ConnectionTrait,
    actor: &Actor,
    input: &UnitInput,
    now: DateTime<Utc>,
) -> AppResult<unit::Model> {
    if actor.role != Role::Buyer {
        return Err(AppError::Forbidden(
            "only buyer accounts apply for a buyer unit".into(),
        ));
    }
    let c = check(db, input).await?;
    let created = unit::ActiveModel {
        name: Set(c.name),
        kind: Set(c.kind),
        region_code: Set(c.region_code),
        parent_id: Set(c.parent_id),
        counts_members: Set(c.counts_members),
        status: Set(UnitStatus::Applied),
        contact_name: Set(c.contact_name),
        contact_phone: Set(c.contact_phone),
        created_by: Set(actor.id()),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    member::ActiveModel {
        unit_id: Set(created.id),
        user_id: Set(actor.id()),
        role: Set(UnitRole::Admin),
        added_by: Set(actor.id()),
        added_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    crate::audit::record(
        db,
        Some(actor.id()),
        "unit.apply",
        "buyer_unit",
        created.id,
        serde_json::json!({"name": created.name, "kind": created.kind, "region_code": created.region_code}),
    )
    .await?;
    Ok(created)
}

/// The unit, or 404.
pub async fn get(db: &impl ConnectionTrait, id: i64) -> AppResult<unit::Model> {
    unit::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("unit"))
}

/// The actor's role in the unit, if any.
pub async fn role_in(
    db: &impl ConnectionTrait,
    actor: &Actor,
    unit_id: i64,
) -> Result<Option<UnitRole>, sea_orm::DbErr> {
    Ok(member::Entity::find()
        .filter(member::Column::UnitId.eq(unit_id))
        .filter(member::Column::UserId.eq(actor.id()))
        .one(db)
        .await?
        .map(|m| m.role))
}

/// True when `actor` decides on units in `region_code`: an admin, or an official over it.
pub fn decides(actor: &Actor, region_code: &str) -> bool {
    actor.is_admin() || actor.official_covers(region_code)
}

/// The unit, if `actor` may see it: approved units are known to everyone signed in; one
/// still applying only to its people and those who decide on it. Anything else is 404.
pub async fn visible(db: &impl ConnectionTrait, actor: &Actor, id: i64) -> AppResult<unit::Model> {
    let u = get(db, id).await?;
    if u.status == UnitStatus::Approved
        || decides(actor, &u.region_code)
        || role_in(db, actor, id).await?.is_some()
    {
        return Ok(u);
    }
    Err(AppError::NotFound("unit"))
}

/// The unit, if `actor` manages it (its admin, or a platform admin); 403 for those who may
/// see it but not manage it.
pub async fn managed(db: &impl ConnectionTrait, actor: &Actor, id: i64) -> AppResult<unit::Model> {
    let u = visible(db, actor, id).await?;
    if actor.is_admin() || role_in(db, actor, id).await? == Some(UnitRole::Admin) {
        return Ok(u);
    }
    Err(AppError::Forbidden(
        "only the unit's admins manage it".into(),
    ))
}

/// Approves or rejects an application (a rejection needs its reason).
pub async fn decide(
    db: &impl ConnectionTrait,
    actor: &Actor,
    id: i64,
    approve: bool,
    note: Option<&str>,
    now: DateTime<Utc>,
) -> AppResult<unit::Model> {
    let u = visible(db, actor, id).await?;
    if !decides(actor, &u.region_code) {
        return Err(AppError::Forbidden(
            "only admins and the officials over the unit's region decide on it".into(),
        ));
    }
    let note = note.map(str::trim).filter(|n| !n.is_empty());
    if !approve && note.is_none() {
        return Err(AppError::field(
            "note",
            "required",
            "say why it is rejected",
        ));
    }
    if let Some(n) = note {
        text(n, 1, 500).map_err(|e| AppError::field("note", e.code, e.message))?;
    }
    if u.status != UnitStatus::Applied {
        return Err(AppError::Conflict(
            "already_decided",
            format!("the unit is already {}", u.status),
        ));
    }
    let mut m = u.into_active_model();
    m.status = Set(if approve {
        UnitStatus::Approved
    } else {
        UnitStatus::Rejected
    });
    m.decided_by = Set(Some(actor.id()));
    m.decided_at = Set(Some(now));
    m.decision_note = Set(note.map(str::to_string));
    m.updated_at = Set(now);
    let u = m.update(db).await?;
    crate::audit::record(
        db,
        Some(actor.id()),
        if approve {
            "unit.approve"
        } else {
            "unit.reject"
        },
        "buyer_unit",
        u.id,
        serde_json::json!({"note": note}),
    )
    .await?;
    Ok(u)
}

/// Someone to add to a unit.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberInput {
    pub username: String,
    /// `admin`, `purchaser` or `member`.
    pub role: String,
}

/// Adds a buyer account to an approved unit in a role.
pub async fn add_member(
    db: &impl ConnectionTrait,
    actor: &Actor,
    unit_id: i64,
    input: &MemberInput,
    now: DateTime<Utc>,
) -> AppResult<member::Model> {
    let u = managed(db, actor, unit_id).await?;
    let mut v = Validator::default();
    let role = UnitRole::from_code(&input.role);
    if role.is_none() {
        v.add(
            "role",
            "unknown_value",
            format!("one of {}", UnitRole::codes()),
        );
    }
    let who = user::Entity::find()
        .filter(user::Column::Username.eq(input.username.trim()))
        .one(db)
        .await?;
    match &who {
        None => v.add("username", "unknown", "no account has this username"),
        Some(w) if w.role != Role::Buyer => v.add(
            "username",
            "not_a_buyer",
            "only buyer accounts join a buyer unit",
        ),
        Some(_) => {}
    }
    v.finish()?;
    let (Some(who), Some(role)) = (who, role) else {
        return Err(AppError::field("username", "unknown", "no such account"));
    };
    if u.status != UnitStatus::Approved {
        return Err(AppError::Conflict(
            "unit_not_approved",
            "people join a unit once it is approved".into(),
        ));
    }
    let exists = member::Entity::find()
        .filter(member::Column::UnitId.eq(unit_id))
        .filter(member::Column::UserId.eq(who.id))
        .one(db)
        .await?;
    if exists.is_some() {
        return Err(AppError::Conflict(
            "already_member",
            format!("{} already belongs to the unit", who.username),
        ));
    }
    let m = member::ActiveModel {
        unit_id: Set(unit_id),
        user_id: Set(who.id),
        role: Set(role),
        added_by: Set(actor.id()),
        added_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    crate::audit::record(
        db,
        Some(actor.id()),
        "unit.member_add",
        "buyer_unit",
        unit_id,
        serde_json::json!({"user_id": who.id, "role": role}),
    )
    .await?;
    Ok(m)
}

/// Takes someone out of a unit; the last admin stays.
pub async fn remove_member(
    db: &impl ConnectionTrait,
    actor: &Actor,
    unit_id: i64,
    user_id: i64,
) -> AppResult<()> {
    managed(db, actor, unit_id).await?;
    let people = member::Entity::find()
        .filter(member::Column::UnitId.eq(unit_id))
        .all(db)
        .await?;
    let Some(gone) = people.iter().find(|m| m.user_id == user_id) else {
        return Err(AppError::NotFound("member"));
    };
    let admins = people.iter().filter(|m| m.role == UnitRole::Admin).count();
    if gone.role == UnitRole::Admin && admins == 1 {
        return Err(AppError::Conflict(
            "last_admin",
            "a unit keeps at least one admin".into(),
        ));
    }
    member::Entity::delete_by_id(gone.id).exec(db).await?;
    crate::audit::record(
        db,
        Some(actor.id()),
        "unit.member_remove",
        "buyer_unit",
        unit_id,
        serde_json::json!({"user_id": user_id}),
    )
    .await?;
    Ok(())
}

/// The units of `ids`, by id.
async fn by_id(
    db: &impl ConnectionTrait,
    ids: impl IntoIterator<Item = i64>,
) -> Result<HashMap<i64, unit::Model>, sea_orm::DbErr> {
    let ids: Vec<i64> = ids.into_iter().collect();
    if ids.is_empty() {
        // Most buyers belong to no unit: their checkouts ask nothing more.
        return Ok(HashMap::new());
    }
    Ok(unit::Entity::find()
        .filter(unit::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.id, u))
        .collect())
}

/// Whom an order counts for: the unit, and whether the unit bought it or a member bought it
/// for themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attribution {
    pub unit_id: i64,
    pub basis: BuyerBasis,
}

/// Whom a buyer's checkout counts for. With `unit_id`, the buyer orders in that unit's name
/// and must be its admin or purchaser, the unit approved. Without, the order is the buyer's
/// own and counts for the first approved unit they belong to that counts its members'
/// purchases, if any.
pub async fn attribution(
    db: &impl ConnectionTrait,
    buyer_id: i64,
    unit_id: Option<i64>,
) -> AppResult<Option<Attribution>> {
    let places = member::Entity::find()
        .filter(member::Column::UserId.eq(buyer_id))
        .order_by_asc(member::Column::UnitId)
        .all(db)
        .await?;
    let mut units = by_id(db, places.iter().map(|m| m.unit_id)).await?;
    units.retain(|_, u| u.status == UnitStatus::Approved);
    match unit_id {
        Some(id) => {
            let role = places
                .iter()
                .find(|m| m.unit_id == id && units.contains_key(&id))
                .map(|m| m.role);
            match role {
                Some(r) if r.buys_for_unit() => Ok(Some(Attribution {
                    unit_id: id,
                    basis: BuyerBasis::Purchase,
                })),
                _ => Err(AppError::field(
                    "unit_id",
                    "not_your_unit",
                    "you order in the name of approved units you are an admin or purchaser of",
                )),
            }
        }
        None => Ok(places
            .iter()
            .find(|m| units.get(&m.unit_id).is_some_and(|u| u.counts_members))
            .map(|m| Attribution {
                unit_id: m.unit_id,
                basis: BuyerBasis::Member,
            })),
    }
}

/// A person in a unit, as its admins see them.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MemberView {
    pub user_id: i64,
    pub username: String,
    pub display_name: String,
    pub role: UnitRole,
    pub added_at: DateTime<Utc>,
}

/// A unit in short.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UnitRef {
    pub id: i64,
    pub name: String,
}

/// A unit as its page and the API show it. `members` only for those who manage it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UnitView {
    pub id: i64,
    pub name: String,
    pub kind: UnitKind,
    pub region_code: String,
    pub region_name: String,
    pub region_name_en: String,
    pub parent: Option<UnitRef>,
    pub subordinates: Vec<UnitRef>,
    pub counts_members: bool,
    pub status: UnitStatus,
    pub decision_note: Option<String>,
    /// The reader's role in the unit, if any.
    pub my_role: Option<UnitRole>,
    /// True when the reader may approve or reject it.
    pub can_decide: bool,
    pub members: Option<Vec<MemberView>>,
    pub created_at: DateTime<Utc>,
}

/// The units directly under `id`.
pub async fn subordinates(
    db: &impl ConnectionTrait,
    id: i64,
) -> Result<Vec<unit::Model>, sea_orm::DbErr> {
    unit::Entity::find()
        .filter(unit::Column::ParentId.eq(id))
        .filter(unit::Column::Status.eq(UnitStatus::Approved))
        .order_by_asc(unit::Column::Id)
        .all(db)
        .await
}

/// A unit's page, for `actor`.
pub async fn view(db: &impl ConnectionTrait, actor: &Actor, id: i64) -> AppResult<UnitView> {
    let u = visible(db, actor, id).await?;
    let my_role = role_in(db, actor, id).await?;
    let region = regions::find(db, &u.region_code).await?;
    let parent = match u.parent_id {
        Some(p) => get(db, p).await.ok().map(|p| UnitRef {
            id: p.id,
            name: p.name,
        }),
        None => None,
    };
    let manages = actor.is_admin() || my_role == Some(UnitRole::Admin);
    let members = if manages {
        Some(people(db, id).await?)
    } else {
        None
    };
    Ok(UnitView {
        subordinates: subordinates(db, id)
            .await?
            .into_iter()
            .map(|s| UnitRef {
                id: s.id,
                name: s.name,
            })
            .collect(),
        can_decide: u.status == UnitStatus::Applied && decides(actor, &u.region_code),
        region_name: region.as_ref().map(|r| r.name.clone()).unwrap_or_default(),
        region_name_en: region.map(|r| r.name_en).unwrap_or_default(),
        id: u.id,
        name: u.name,
        kind: u.kind,
        region_code: u.region_code,
        parent,
        counts_members: u.counts_members,
        status: u.status,
        decision_note: u.decision_note,
        my_role,
        members,
        created_at: u.created_at,
    })
}

async fn people(db: &impl ConnectionTrait, id: i64) -> AppResult<Vec<MemberView>> {
    let rows = member::Entity::find()
        .filter(member::Column::UnitId.eq(id))
        .order_by_asc(member::Column::Id)
        .all(db)
        .await?;
    let users: HashMap<i64, user::Model> = user::Entity::find()
        .filter(user::Column::Id.is_in(rows.iter().map(|m| m.user_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.id, u))
        .collect();
    Ok(rows
        .into_iter()
        .filter_map(|m| {
            let u = users.get(&m.user_id)?;
            Some(MemberView {
                user_id: m.user_id,
                username: u.username.clone(),
                display_name: u.display_name.clone(),
                role: m.role,
                added_at: m.added_at,
            })
        })
        .collect())
}

/// A unit the reader belongs to, with their role.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MyUnit {
    pub id: i64,
    pub name: String,
    pub kind: UnitKind,
    pub status: UnitStatus,
    pub role: UnitRole,
}

/// The units `actor` belongs to.
pub async fn mine(db: &impl ConnectionTrait, actor: &Actor) -> AppResult<Vec<MyUnit>> {
    let places = member::Entity::find()
        .filter(member::Column::UserId.eq(actor.id()))
        .order_by_asc(member::Column::UnitId)
        .all(db)
        .await?;
    let units = by_id(db, places.iter().map(|m| m.unit_id)).await?;
    Ok(places
        .into_iter()
        .filter_map(|m| {
            let u = units.get(&m.unit_id)?;
            Some(MyUnit {
                id: u.id,
                name: u.name.clone(),
                kind: u.kind,
                status: u.status,
                role: m.role,
            })
        })
        .collect())
}

/// The units within `region_code` (approved, or all for those who decide there), in order.
pub async fn within(
    db: &impl ConnectionTrait,
    region_code: &str,
    approved_only: bool,
) -> Result<Vec<unit::Model>, sea_orm::DbErr> {
    let level = crate::division::region_level(region_code);
    let prefix = level.map_or(region_code, |l| &region_code[..l.prefix_len()]);
    let mut q = unit::Entity::find()
        .filter(unit::Column::RegionCode.starts_with(prefix))
        .order_by_asc(unit::Column::Id);
    if approved_only {
        q = q.filter(unit::Column::Status.eq(UnitStatus::Approved));
    }
    Ok(q.all(db)
        .await?
        .into_iter()
        .filter(|u| region_contains(region_code, &u.region_code))
        .collect())
}

/// Applications waiting for `actor` to decide: all for an admin, those within an
/// official's region for an official.
pub async fn queue(db: &impl ConnectionTrait, actor: &Actor) -> AppResult<Vec<unit::Model>> {
    let rows = unit::Entity::find()
        .filter(unit::Column::Status.eq(UnitStatus::Applied))
        .order_by_asc(unit::Column::Id)
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter(|u| decides(actor, &u.region_code))
        .collect())
}
