//! Campaigns (消费帮扶月, 年货节, 展销会): an official or admin organizes one for a window of
//! days and the counties taking part; producers in those counties sign their listings up;
//! buyer units pledge amounts. An order placed within the window for a signed-up listing
//! keeps the campaign (one at most: the earliest organized), and the campaign's report is
//! counted from those orders by `stats::units`.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::domain::{CampaignKind, UnitRole, UnitStatus};
use super::entity::{campaign, campaign_county, campaign_listing, campaign_pledge};
use super::units;
use crate::accounts::{Actor, Role};
use crate::catalog::entity::{listing, organization};
use crate::catalog::regions;
use crate::division::{RegionLevel, county_of, region_contains, region_level};
use crate::error::{AppError, AppResult, Validator};
use crate::fields::text;

/// A campaign as its organizer sets it up.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CampaignInput {
    pub name: String,
    pub kind: String,
    pub description: Option<String>,
    /// `YYYY-MM-DD`, the first day.
    pub starts_on: String,
    /// `YYYY-MM-DD`, the last day (at most a year after the first).
    pub ends_on: String,
    /// The counties taking part: within the organizer's region.
    pub counties: Vec<String>,
}

/// A campaign as shown.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CampaignView {
    pub id: i64,
    pub name: String,
    pub kind: CampaignKind,
    pub description: String,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub region_code: String,
    pub counties: Vec<String>,
    pub listing_ids: Vec<i64>,
}

/// Organizes a campaign: officials (within their region) and admins.
pub async fn organize(
    db: &impl ConnectionTrait,
    actor: &Actor,
    input: &CampaignInput,
    now: DateTime<Utc>,
) -> AppResult<CampaignView> {
    let region = match actor.role {
        Role::Admin => "510000".to_string(),
        Role::Official => actor.user.region_code.clone().unwrap_or_default(),
        _ => {
            return Err(AppError::Forbidden(
                "officials and admins organize campaigns".into(),
            ));
        }
    };
    let mut v = Validator::default();
    let name = v.check("name", text(&input.name, 2, 60));
    let description = v.check(
        "description",
        text(input.description.as_deref().unwrap_or(""), 0, 2000),
    );
    let kind = CampaignKind::from_code(&input.kind);
    if kind.is_none() {
        v.add(
            "kind",
            "unknown_value",
            format!("one of {}", CampaignKind::codes()),
        );
    }
    let day = |v: &mut Validator, field: &str, raw: &str| {
        let d = NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d").ok();
        if d.is_none() {
            v.add(field, "invalid_date", "a date such as 2026-10-01");
        }
        d
    };
    let starts = day(&mut v, "starts_on", &input.starts_on);
    let ends = day(&mut v, "ends_on", &input.ends_on);
    if let (Some(s), Some(e)) = (starts, ends)
        && (e < s || (e - s).num_days() > 366)
    {
        v.add(
            "ends_on",
            "out_of_range",
            "on or after the first day, within a year of it",
        );
    }
    if input.counties.is_empty() || input.counties.len() > 200 {
        v.add("counties", "out_of_range", "from 1 to 200 counties");
    }
    for c in &input.counties {
        let is_county = region_level(c) == Some(RegionLevel::County);
        if !is_county || regions::find(db, c).await?.is_none() || !region_contains(&region, c) {
            v.add(
                "counties",
                "unknown",
                format!("{c} is not a county within {region}"),
            );
            break;
        }
    }
    v.finish()?;
    let (Some(kind), Some(starts_on), Some(ends_on)) = (kind, starts, ends) else {
        return Err(AppError::field("kind", "required", "incomplete"));
    };
    let saved = campaign::ActiveModel {
        name: Set(name.unwrap_or_default()),
        kind: Set(kind),
        description: Set(description.unwrap_or_default()),
        starts_on: Set(starts_on),
        ends_on: Set(ends_on),
        organizer_id: Set(actor.id()),
        region_code: Set(region),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    let mut counties = input.counties.clone();
    counties.sort();
    counties.dedup();
    campaign_county::Entity::insert_many(counties.iter().map(|c| campaign_county::ActiveModel {
        campaign_id: Set(saved.id),
        county_code: Set(c.clone()),
        ..Default::default()
    }))
    .exec(db)
    .await?;
    crate::audit::record(
        db,
        Some(actor.id()),
        "campaign.organize",
        "campaign",
        saved.id,
        serde_json::json!({"name": saved.name, "counties": counties}),
    )
    .await?;
    view(db, saved.id).await
}

/// A campaign, or 404.
pub async fn get(db: &impl ConnectionTrait, id: i64) -> AppResult<campaign::Model> {
    campaign::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("campaign"))
}

/// A campaign with its counties and listings: public.
pub async fn view(db: &impl ConnectionTrait, id: i64) -> AppResult<CampaignView> {
    let c = get(db, id).await?;
    let counties = campaign_county::Entity::find()
        .filter(campaign_county::Column::CampaignId.eq(id))
        .order_by_asc(campaign_county::Column::CountyCode)
        .all(db)
        .await?
        .into_iter()
        .map(|r| r.county_code)
        .collect();
    let listing_ids = campaign_listing::Entity::find()
        .filter(campaign_listing::Column::CampaignId.eq(id))
        .order_by_asc(campaign_listing::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|r| r.listing_id)
        .collect();
    Ok(CampaignView {
        id: c.id,
        name: c.name,
        kind: c.kind,
        description: c.description,
        starts_on: c.starts_on,
        ends_on: c.ends_on,
        region_code: c.region_code,
        counties,
        listing_ids,
    })
}

/// Every campaign, the latest first.
pub async fn all(db: &impl ConnectionTrait) -> Result<Vec<campaign::Model>, sea_orm::DbErr> {
    campaign::Entity::find()
        .order_by_desc(campaign::Column::StartsOn)
        .order_by_desc(campaign::Column::Id)
        .all(db)
        .await
}

/// A producer signs one of its organization's listings up, before the campaign ends; the
/// organization must be in a county taking part.
pub async fn sign_up(
    db: &impl ConnectionTrait,
    actor: &Actor,
    id: i64,
    listing_id: i64,
    now: DateTime<Utc>,
) -> AppResult<CampaignView> {
    let c = get(db, id).await?;
    let l = listing::Entity::find_by_id(listing_id)
        .one(db)
        .await?
        .filter(|l| l.deleted_at.is_none());
    let Some(l) = l else {
        return Err(AppError::field("listing_id", "unknown", "no such listing"));
    };
    if !(actor.is_admin() || actor.organization_id() == Some(l.organization_id)) {
        return Err(AppError::field(
            "listing_id",
            "not_yours",
            "sign up your own organization's listings",
        ));
    }
    let org = organization::Entity::find_by_id(l.organization_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("organization"))?;
    let county = county_of(&org.region_code).unwrap_or_default().to_string();
    let taking_part = campaign_county::Entity::find()
        .filter(campaign_county::Column::CampaignId.eq(id))
        .filter(campaign_county::Column::CountyCode.eq(county))
        .one(db)
        .await?
        .is_some();
    if !taking_part {
        return Err(AppError::field(
            "listing_id",
            "county_not_taking_part",
            "the listing's county does not take part in this campaign",
        ));
    }
    if crate::days::local_date(now) > c.ends_on {
        return Err(AppError::Conflict(
            "campaign_over",
            format!("{} ended on {}", c.name, c.ends_on),
        ));
    }
    let already = campaign_listing::Entity::find()
        .filter(campaign_listing::Column::CampaignId.eq(id))
        .filter(campaign_listing::Column::ListingId.eq(listing_id))
        .one(db)
        .await?;
    if already.is_some() {
        return Err(AppError::Conflict(
            "already_signed_up",
            format!("the listing already takes part in {}", c.name),
        ));
    }
    campaign_listing::ActiveModel {
        campaign_id: Set(id),
        listing_id: Set(listing_id),
        signed_up_by: Set(actor.id()),
        signed_up_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    crate::audit::record(
        db,
        Some(actor.id()),
        "campaign.sign_up",
        "campaign",
        id,
        serde_json::json!({"listing_id": listing_id}),
    )
    .await?;
    view(db, id).await
}

/// A unit's admin pledges what the unit will buy in the campaign (again: the new amount).
pub async fn pledge(
    db: &impl ConnectionTrait,
    actor: &Actor,
    id: i64,
    unit_id: i64,
    amount_fen: i64,
    now: DateTime<Utc>,
) -> AppResult<()> {
    get(db, id).await?;
    let u = units::visible(db, actor, unit_id)
        .await
        .map_err(|_| AppError::field("unit_id", "unknown", "no such unit"))?;
    if !(actor.is_admin() || units::role_in(db, actor, unit_id).await? == Some(UnitRole::Admin)) {
        return Err(AppError::field(
            "unit_id",
            "not_your_unit",
            "the unit's admins pledge for it",
        ));
    }
    if u.status != UnitStatus::Approved {
        return Err(AppError::Conflict(
            "unit_not_approved",
            "a unit pledges once approved".into(),
        ));
    }
    if !(1..=10_000_000_000_000).contains(&amount_fen) {
        return Err(AppError::field(
            "amount_fen",
            "out_of_range",
            "more than 0 fen and at most 10¹³",
        ));
    }
    campaign_pledge::Entity::delete_many()
        .filter(campaign_pledge::Column::CampaignId.eq(id))
        .filter(campaign_pledge::Column::UnitId.eq(unit_id))
        .exec(db)
        .await?;
    campaign_pledge::ActiveModel {
        campaign_id: Set(id),
        unit_id: Set(unit_id),
        amount_fen: Set(amount_fen),
        pledged_by: Set(actor.id()),
        pledged_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    crate::audit::record(
        db,
        Some(actor.id()),
        "campaign.pledge",
        "campaign",
        id,
        serde_json::json!({"unit_id": unit_id, "amount_fen": amount_fen}),
    )
    .await?;
    Ok(())
}

/// For each of `listings`, the campaign an order of it placed `on` that day belongs to: the
/// earliest organized of the campaigns it is signed up for whose window holds the day.
pub async fn running_for(
    db: &impl ConnectionTrait,
    listings: &[i64],
    on: NaiveDate,
) -> Result<HashMap<i64, i64>, sea_orm::DbErr> {
    let entries = campaign_listing::Entity::find()
        .filter(campaign_listing::Column::ListingId.is_in(listings.iter().copied()))
        .all(db)
        .await?;
    if entries.is_empty() {
        return Ok(HashMap::new());
    }
    let running: HashMap<i64, campaign::Model> = campaign::Entity::find()
        .filter(campaign::Column::Id.is_in(entries.iter().map(|e| e.campaign_id)))
        .filter(campaign::Column::StartsOn.lte(on))
        .filter(campaign::Column::EndsOn.gte(on))
        .all(db)
        .await?
        .into_iter()
        .map(|c| (c.id, c))
        .collect();
    let mut out: HashMap<i64, i64> = HashMap::new();
    for e in entries {
        if running.contains_key(&e.campaign_id) {
            let best = out.entry(e.listing_id).or_insert(e.campaign_id);
            *best = (*best).min(e.campaign_id);
        }
    }
    Ok(out)
}

/// The pledges of a campaign, by unit.
pub async fn pledges(
    db: &impl ConnectionTrait,
    id: i64,
) -> Result<Vec<campaign_pledge::Model>, sea_orm::DbErr> {
    campaign_pledge::Entity::find()
        .filter(campaign_pledge::Column::CampaignId.eq(id))
        .order_by_asc(campaign_pledge::Column::Id)
        .all(db)
        .await
}
