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

/// A year's targets, as an official sets them.
#[derive(Debug, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TargetsRequest {
    pub year: i32,
    /// Completed sales in fen.
    pub sales_fen: i64,
    /// Registered households benefiting.
    pub households: i64,
    /// Producer organizations newly approved in the year.
    pub new_organizations: i64,
}

/// Refuses a year outside 2000–2100.
pub fn check_year(v: &mut crate::error::Validator, year: i32) {
    if !(2000..=2100).contains(&year) {
        v.add("year", "out_of_range", "between 2000 and 2100");
    }
}

/// Sets region `code`'s targets for a year as `actor`, one of its officials (or of a region
/// above it): every field checked at once, audited; the progress towards them.
pub async fn set_checked(
    db: &sea_orm::DatabaseConnection,
    actor: &crate::accounts::Actor,
    code: &str,
    req: &TargetsRequest,
) -> crate::error::AppResult<Progress> {
    let (region, level) = super::access::official_region(db, actor, code).await?;
    let mut v = crate::error::Validator::default();
    check_year(&mut v, req.year);
    for (field, value) in [
        ("sales_fen", req.sales_fen),
        ("households", req.households),
        ("new_organizations", req.new_organizations),
    ] {
        if !(0..=1_000_000_000_000_000).contains(&value) {
            v.add(field, "out_of_range", "must be zero or more");
        }
    }
    v.finish()?;
    let goals = Goals {
        sales_fen: req.sales_fen,
        households: req.households,
        new_organizations: req.new_organizations,
    };
    let txn = crate::db::write_txn(db).await?;
    set(&txn, &region.code, req.year, goals, actor.id()).await?;
    crate::audit::record(
        &txn,
        Some(actor.id()),
        "stats.targets_set",
        "region",
        &region.code,
        serde_json::json!({"year": req.year, "sales_fen": req.sales_fen, "households": req.households, "new_organizations": req.new_organizations}),
    )
    .await?;
    txn.commit().await?;
    Ok(progress(db, &region.code, level, req.year).await?)
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
