//! Who may read and change which region's statistics.

use sea_orm::{ConnectionTrait, EntityTrait};

use crate::accounts::{Actor, Role};
use crate::catalog::domain::{RegionLevel, region_level};
use crate::catalog::entity::region;
use crate::error::{AppError, AppResult};

/// The region `code` if `actor` may read its statistics: admins everywhere, officials in their
/// own region and below. Buyers and producers never; an official outside their region gets 403.
pub async fn readable_region(
    db: &impl ConnectionTrait,
    actor: &Actor,
    code: &str,
) -> AppResult<(region::Model, RegionLevel)> {
    if !matches!(actor.role, Role::Official | Role::Admin) {
        return Err(AppError::Forbidden(
            "statistics are for officials and admins".into(),
        ));
    }
    let level = region_level(code).ok_or(AppError::NotFound("region"))?;
    let r = region::Entity::find_by_id(code.to_string())
        .one(db)
        .await?
        .ok_or(AppError::NotFound("region"))?;
    if !actor.is_admin() && !actor.official_covers(code) {
        return Err(AppError::Forbidden(format!(
            "region {code} lies outside your region"
        )));
    }
    Ok((r, level))
}

/// Like [`readable_region`], for officials changing their own region's settings (targets).
pub async fn official_region(
    db: &impl ConnectionTrait,
    actor: &Actor,
    code: &str,
) -> AppResult<(region::Model, RegionLevel)> {
    let found = readable_region(db, actor, code).await?;
    if actor.role != Role::Official {
        return Err(AppError::Forbidden(
            "only the officials of a region set its targets".into(),
        ));
    }
    Ok(found)
}

/// True for those who may close a quarter: admins and officials of a whole province, because a
/// closed quarter freezes every region at once.
pub fn may_close_quarters(actor: &Actor) -> bool {
    actor.is_admin()
        || actor.role == Role::Official
            && actor.user.region_code.as_deref().and_then(region_level)
                == Some(RegionLevel::Province)
}
