//! Yearly targets an official sets for their region, and progress towards them.

use chrono::{Datelike, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use serde::Serialize;
use utoipa::ToSchema;

use super::domain::{Basis, Period, local_date, progress_bp};
use super::entity::target;
use super::rollup::{self, Scope};
use crate::catalog::domain::{RegionLevel, VerificationStatus, region_contains};
use crate::catalog::entity::organization;

/// What an official aims for in a year.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct Goals {
    pub sales_fen: i64,
    pub households: i64,
    pub new_organizations: i64,
}

/// Targets beside the figures reached so far.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Progress {
    pub region_code: String,
    pub year: i32,
    /// `None` until an official sets targets.
    pub targets: Option<Goals>,
    pub actual: Goals,
    pub sales_bp: Option<i64>,
    pub households_bp: Option<i64>,
    pub new_organizations_bp: Option<i64>,
}

/// Sets (or replaces) a region's targets for a year.
pub async fn set(
    db: &impl ConnectionTrait,
    region_code: &str,
    year: i32,
    goals: Goals,
    actor_id: i64,
) -> Result<(), sea_orm::DbErr> {
    target::Entity::insert(target::ActiveModel {
        region_code: Set(region_code.into()),
        year: Set(year),
        sales_fen: Set(goals.sales_fen),
        households: Set(goals.households),
        new_organizations: Set(goals.new_organizations),
        set_by: Set(actor_id),
        updated_at: Set(Utc::now()),
        ..Default::default()
    })
    .on_conflict(
        OnConflict::columns([target::Column::RegionCode, target::Column::Year])
            .update_columns([
                target::Column::SalesFen,
                target::Column::Households,
                target::Column::NewOrganizations,
                target::Column::SetBy,
                target::Column::UpdatedAt,
            ])
            .to_owned(),
    )
    .exec(db)
    .await?;
    Ok(())
}

/// The year's completed sales, households benefiting and newly approved organizations against
/// the targets.
pub async fn progress(
    db: &impl ConnectionTrait,
    region_code: &str,
    level: RegionLevel,
    year: i32,
) -> Result<Progress, sea_orm::DbErr> {
    let t = target::Entity::find()
        .filter(target::Column::RegionCode.eq(region_code))
        .filter(target::Column::Year.eq(year))
        .one(db)
        .await?
        .map(|t| Goals {
            sales_fen: t.sales_fen,
            households: t.households,
            new_organizations: t.new_organizations,
        });
    let period = Period::Year(year);
    let figures =
        rollup::total(db, &Scope::of(Basis::Completed, level, region_code, period)).await?;
    let new_organizations = organization::Entity::find()
        .filter(organization::Column::Status.eq(VerificationStatus::Approved.code()))
        .all(db)
        .await?
        .into_iter()
        .filter(|o| {
            region_contains(region_code, &o.region_code)
                && local_date(o.decided_at.unwrap_or(o.created_at)).year() == year
        })
        .count() as i64;
    let actual = Goals {
        sales_fen: figures.sales_fen,
        households: figures.households,
        new_organizations,
    };
    Ok(Progress {
        region_code: region_code.into(),
        year,
        targets: t,
        sales_bp: t.and_then(|t| progress_bp(actual.sales_fen, t.sales_fen)),
        households_bp: t.and_then(|t| progress_bp(actual.households, t.households)),
        new_organizations_bp: t
            .and_then(|t| progress_bp(actual.new_organizations, t.new_organizations)),
        actual,
    })
}
