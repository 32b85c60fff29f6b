//! A county's standing under 消费帮扶 policy (原贫困县, 乡村振兴重点帮扶县) as admins record it.
//!
//! qudao ships the standing of the provinces its reference lists cover (Sichuan's, from the
//! provincial notices) and keeps it as they say at every start. For the counties of other
//! provinces, whose buyers' and sellers' figures count purchases from assisted counties,
//! the platform's admins record the standing from the published lists, audited.

use std::collections::HashSet;

use sea_orm::{ActiveModelTrait, ConnectionTrait, Set};
use serde::Deserialize;
use utoipa::ToSchema;

use super::domain::{RegionLevel, region_level};
use super::entity::region;
use super::regions;
use crate::accounts::Actor;
use crate::division::AssistanceKey;
use crate::error::{AppError, AppResult, Validator};

/// The years in which former poverty counties met the exit criteria.
pub const EXIT_YEARS: std::ops::RangeInclusive<i32> = 2016..=2020;

/// A county's standing to record.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StandingInput {
    /// For a former poverty county (原贫困县): the year it met the exit criteria, 2016–2020;
    /// none for a county that was not one.
    pub poverty_exit: Option<i32>,
    /// `national` (one of the 160 国家乡村振兴重点帮扶县) or `provincial`; none for neither.
    pub assistance_key: Option<String>,
}

/// The provinces whose standing comes with qudao's reference lists.
fn listed_provinces() -> HashSet<String> {
    regions::reference_rows()
        .iter()
        .filter(|r| r.poverty_exit.is_some() || r.assistance_key.is_some())
        .map(|r| format!("{}0000", &r.code[..2]))
        .collect()
}

/// Records `code`'s standing (admins only); the county as it now stands.
pub async fn record(
    db: &impl ConnectionTrait,
    actor: &Actor,
    code: &str,
    input: &StandingInput,
) -> AppResult<region::Model> {
    if !actor.is_admin() {
        return Err(AppError::Forbidden(
            "only the platform's admins record a county's standing".into(),
        ));
    }
    let found = regions::find(db, code)
        .await?
        .ok_or(AppError::NotFound("region"))?;
    if region_level(code) != Some(RegionLevel::County) {
        return Err(AppError::field(
            "code",
            "not_a_county",
            "only a county has a standing under 消费帮扶 policy",
        ));
    }
    let province = format!("{}0000", &code[..2]);
    if listed_provinces().contains(&province) {
        return Err(AppError::Conflict(
            "reference_standing",
            format!("{province}'s counties take their standing from qudao's reference lists"),
        ));
    }
    let mut v = Validator::default();
    let exit = input.poverty_exit.filter(|y| {
        let ok = EXIT_YEARS.contains(y);
        if !ok {
            v.add(
                "poverty_exit",
                "out_of_range",
                "poverty counties exited from 2016 to 2020",
            );
        }
        ok
    });
    let key = match input.assistance_key.as_deref().filter(|k| !k.is_empty()) {
        None => None,
        Some(k) => {
            if AssistanceKey::parse(k).is_none() {
                v.add(
                    "assistance_key",
                    "unknown_value",
                    "`national` or `provincial`",
                );
            }
            Some(k.to_string())
        }
    };
    v.finish()?;
    let before = (found.poverty_exit, found.assistance_key.clone());
    let mut m: region::ActiveModel = found.into();
    m.poverty_exit = Set(exit.map(|y| y as i16));
    m.assistance_key = Set(key);
    let saved = m.update(db).await?;
    crate::audit::record(
        db,
        Some(actor.user.id),
        "region.standing",
        "region",
        code,
        serde_json::json!({
            "before": {"poverty_exit": before.0, "assistance_key": before.1},
            "poverty_exit": saved.poverty_exit,
            "assistance_key": saved.assistance_key,
        }),
    )
    .await?;
    Ok(saved)
}

/// The counties whose standing admins recorded (outside the listed provinces), by code.
pub async fn recorded(db: &impl ConnectionTrait) -> Result<Vec<region::Model>, sea_orm::DbErr> {
    use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder};
    let mut outside = Condition::all().add(
        Condition::any()
            .add(region::Column::PovertyExit.is_not_null())
            .add(region::Column::AssistanceKey.is_not_null()),
    );
    for province in listed_provinces() {
        outside = outside.add(region::Column::Code.not_like(format!("{}%", &province[..2])));
    }
    region::Entity::find()
        .filter(outside)
        .order_by_asc(region::Column::Code)
        .all(db)
        .await
}
