//! Help relations (帮扶关系): a helper — a buyer unit or a region — and the county it helps,
//! of a kind (定点帮扶, 东西部协作, 对口支援, 结对共建, 驻村帮扶) and for a period. Admins and the
//! officials over the helped county or over the helper record them; what a helper bought
//! from the county it helps is counted by `stats::units`.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, Set,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::domain::{HelpKind, UnitStatus};
use super::entity::{relation, unit};
use crate::accounts::Actor;
use crate::catalog::regions;
use crate::division::{RegionLevel, region_contains, region_level};
use crate::error::{AppError, AppResult, Validator};

/// A relation as recorded: `helper_unit_id` or `helper_region_code`, not both.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RelationInput {
    pub kind: String,
    pub helper_unit_id: Option<i64>,
    pub helper_region_code: Option<String>,
    pub helped_county_code: String,
    /// `YYYY-MM-DD`.
    pub starts_on: String,
    /// `YYYY-MM-DD`; open-ended when left out.
    pub ends_on: Option<String>,
}

/// A relation as shown.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RelationView {
    pub id: i64,
    pub kind: HelpKind,
    pub helper_unit_id: Option<i64>,
    pub helper_region_code: Option<String>,
    /// The helper's name: the unit's, or the region's.
    pub helper_name: String,
    pub helped_county_code: String,
    pub helped_county_name: String,
    pub starts_on: NaiveDate,
    pub ends_on: Option<NaiveDate>,
}

/// Who records and reads a relation: admins, and the officials over the helped county or
/// over the helper (its region, or the unit's region).
pub fn concerns(actor: &Actor, helped: &str, helper_region: &str) -> bool {
    actor.is_admin() || actor.official_covers(helped) || actor.official_covers(helper_region)
}

fn date(v: &mut Validator, field: &str, raw: &str) -> Option<NaiveDate> {
    let d = NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d").ok();
    if d.is_none() {
        v.add(field, "invalid_date", "a date such as 2026-01-01");
    }
    d
}

/// A relation's checked terms.
struct Terms {
    kind: HelpKind,
    helper_region: String,
    starts_on: NaiveDate,
    ends_on: Option<NaiveDate>,
}

/// Checks a relation field by field.
async fn terms(db: &impl ConnectionTrait, input: &RelationInput) -> AppResult<Terms> {
    let mut v = Validator::default();
    let kind = HelpKind::from_code(&input.kind);
    if kind.is_none() {
        v.add(
            "kind",
            "unknown_value",
            format!("one of {}", HelpKind::codes()),
        );
    }
    let helped = &input.helped_county_code;
    if region_level(helped) != Some(RegionLevel::County)
        || regions::find(db, helped).await?.is_none()
    {
        v.add(
            "helped_county_code",
            "unknown",
            "must be the code of a county",
        );
    }
    let helper_unit = match input.helper_unit_id {
        Some(id) => unit::Entity::find_by_id(id).one(db).await?,
        None => None,
    };
    let helper_region = match (&input.helper_unit_id, &input.helper_region_code) {
        (Some(_), Some(_)) => {
            v.add(
                "helper_region_code",
                "conflict",
                "name a helper unit or a helper region, not both",
            );
            None
        }
        (Some(_), None) => match &helper_unit {
            Some(u) if u.status == UnitStatus::Approved => Some(u.region_code.clone()),
            _ => {
                v.add("helper_unit_id", "unknown", "must be an approved unit");
                None
            }
        },
        (None, Some(code)) => {
            if regions::find(db, code).await?.is_none() {
                v.add(
                    "helper_region_code",
                    "unknown",
                    "must be the code of a division",
                );
                None
            } else {
                Some(code.clone())
            }
        }
        (None, None) => {
            v.add(
                "helper_unit_id",
                "required",
                "name a helper unit or a helper region",
            );
            None
        }
    };
    if let Some(r) = &helper_region
        && region_contains(r, helped)
    {
        v.add(
            "helped_county_code",
            "within_helper",
            "a region does not help itself",
        );
    }
    let starts = date(&mut v, "starts_on", &input.starts_on);
    let ends = match input
        .ends_on
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        Some(raw) => date(&mut v, "ends_on", raw),
        None => None,
    };
    if let (Some(s), Some(e)) = (starts, ends)
        && e < s
    {
        v.add("ends_on", "before_start", "ends before it starts");
    }
    v.finish()?;
    match (kind, helper_region, starts) {
        (Some(kind), Some(helper_region), Some(starts_on)) => Ok(Terms {
            kind,
            helper_region,
            starts_on,
            ends_on: ends,
        }),
        _ => Err(AppError::field("kind", "required", "incomplete")),
    }
}

/// Records a relation.
pub async fn record(
    db: &impl ConnectionTrait,
    actor: &Actor,
    input: &RelationInput,
    now: DateTime<Utc>,
) -> AppResult<RelationView> {
    let Terms {
        kind,
        helper_region,
        starts_on,
        ends_on: ends,
    } = terms(db, input).await?;
    let helped = &input.helped_county_code;
    if !concerns(actor, helped, &helper_region) {
        return Err(AppError::Forbidden(
            "admins and the officials over the helped county or the helper record relations".into(),
        ));
    }
    let saved = relation::ActiveModel {
        kind: Set(kind),
        helper_unit_id: Set(input.helper_unit_id),
        helper_region_code: Set(helper_region),
        helped_county_code: Set(helped.clone()),
        starts_on: Set(starts_on),
        ends_on: Set(ends),
        created_by: Set(actor.id()),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    crate::audit::record(
        db,
        Some(actor.id()),
        "help_relation.record",
        "help_relation",
        saved.id,
        serde_json::json!({"kind": saved.kind, "helper_unit_id": saved.helper_unit_id,
            "helper_region_code": saved.helper_region_code, "helped": saved.helped_county_code}),
    )
    .await?;
    Ok(views(db, vec![saved]).await?.remove(0))
}

/// The relations that help a county within `code`, or whose helper lies within it.
pub async fn touching(
    db: &impl ConnectionTrait,
    code: &str,
) -> Result<Vec<relation::Model>, sea_orm::DbErr> {
    let rows = relation::Entity::find()
        .filter(
            Condition::any()
                .add(relation::Column::HelpedCountyCode.starts_with(prefix(code)))
                .add(relation::Column::HelperRegionCode.starts_with(prefix(code))),
        )
        .order_by_asc(relation::Column::Id)
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter(|r| {
            region_contains(code, &r.helped_county_code)
                || region_contains(code, &r.helper_region_code)
        })
        .collect())
}

/// The leading digits that every code within `code` shares.
fn prefix(code: &str) -> &str {
    region_level(code).map_or(code, |l| &code[..l.prefix_len()])
}

/// The relations as shown, with their helpers' and counties' names.
pub async fn views(
    db: &impl ConnectionTrait,
    rows: Vec<relation::Model>,
) -> Result<Vec<RelationView>, sea_orm::DbErr> {
    let mut out = Vec::new();
    for r in rows {
        let helper_name = match r.helper_unit_id {
            Some(id) => unit::Entity::find_by_id(id).one(db).await?.map(|u| u.name),
            None => regions::find(db, &r.helper_region_code)
                .await?
                .map(|g| g.name),
        }
        .unwrap_or_default();
        let county = regions::find(db, &r.helped_county_code).await?;
        out.push(RelationView {
            id: r.id,
            kind: r.kind,
            helper_unit_id: r.helper_unit_id,
            helper_region_code: r
                .helper_unit_id
                .is_none()
                .then(|| r.helper_region_code.clone()),
            helper_name,
            helped_county_name: county.map(|c| c.name).unwrap_or_default(),
            helped_county_code: r.helped_county_code,
            starts_on: r.starts_on,
            ends_on: r.ends_on,
        });
    }
    Ok(out)
}
