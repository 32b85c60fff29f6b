//! Lots (批次): a record of where a listing's goods came from. A producer records each lot
//! (harvest or production date, base or plot, village, member households involved, quantity);
//! its label (合格证) carries a QR code to the public trace page, which tells a buyer the
//! product, the cooperative, the village, the harvest, the certificates in effect and how many
//! registered households took part, and counts its scans. Stock stays the listing's own figure:
//! lots do not add to it or take from it.

use chrono::{DateTime, NaiveDate, Utc};
use image::{ImageBuffer, Luma};
use qrcode::QrCode;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::certificates::{self, CertificateView};
use super::domain::{
    CertificateStatus, Quantity, QuantityInput, RegionLevel, Unit, county_of, region_contains,
    region_level,
};
use super::entity::{category, listing, lot, organization, region};
use crate::accounts::Actor;
use crate::days::local_date;
use crate::error::{AppError, AppResult, Validator};

/// Longest description of a base or plot, in characters.
pub const BASE_MAX: usize = 200;

/// Most member households one lot names.
pub const HOUSEHOLDS_MAX: i64 = 100_000;

/// A lot as the producer writes it.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LotInput {
    /// The harvest or production date, `YYYY-MM-DD`, not after today.
    pub harvested_on: Option<String>,
    /// The base or plot it came from.
    pub base: Option<String>,
    /// The village (or township) it came from, within the organization's county; the
    /// listing's origin when left out.
    pub village_code: Option<String>,
    /// How many member households took part.
    pub households: Option<i64>,
    /// How much, in the listing's unit (an exact decimal).
    #[schema(value_type = String)]
    pub quantity: Option<QuantityInput>,
}

/// A lot as readers see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LotView {
    pub id: i64,
    pub listing_id: i64,
    /// The public code: its trace page is `/t/{code}`.
    pub code: String,
    pub harvested_on: NaiveDate,
    pub base: String,
    pub village_code: String,
    pub village_name: String,
    pub households: i32,
    /// In the listing's unit, exact decimal text.
    pub quantity: String,
    pub unit: Unit,
    pub scans: i64,
    pub created_at: DateTime<Utc>,
}

/// Who may record lots for a listing: its organization's staff, or an admin for it. 404 when
/// the listing is not there for them, 403 when it is not theirs.
pub async fn recordable(
    db: &impl ConnectionTrait,
    actor: &Actor,
    listing_id: i64,
) -> AppResult<(listing::Model, organization::Model)> {
    let l = super::listings::get_visible(db, Some(actor), listing_id).await?;
    let org = certificates::holder(db, actor, l.organization_id)
        .await
        .map_err(|e| match e {
            AppError::Forbidden(_) => {
                AppError::Forbidden("only the organization's staff record its lots".into())
            }
            other => other,
        })?;
    Ok((l, org))
}

async fn village_name(db: &impl ConnectionTrait, code: &str) -> Result<String, sea_orm::DbErr> {
    Ok(region::Entity::find_by_id(code.to_string())
        .one(db)
        .await?
        .map_or_else(|| code.to_string(), |r| r.name))
}

/// A lot's fields checked: the date (not after today), the base, the village (known, in the
/// organization's county; the listing's origin when left out), the households and the
/// quantity (more than zero). Every refusal names its field.
async fn checked(
    db: &impl ConnectionTrait,
    l: &listing::Model,
    org: &organization::Model,
    input: &LotInput,
    now: DateTime<Utc>,
) -> AppResult<(NaiveDate, String, String, i32, Quantity)> {
    let mut v = Validator::default();
    let harvested = match input.harvested_on.as_deref().map(str::trim) {
        None | Some("") => {
            v.add("harvested_on", "required", "the harvest or production date");
            None
        }
        Some(raw) => match NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
            Ok(d) if d > local_date(now) => {
                v.add("harvested_on", "in_future", "not after today");
                None
            }
            Ok(d) => Some(d),
            Err(_) => {
                v.add("harvested_on", "invalid_date", "a date as YYYY-MM-DD");
                None
            }
        },
    };
    let base = input.base.clone().unwrap_or_default().trim().to_string();
    v.fits("base", &base, BASE_MAX);
    let village = input
        .village_code
        .clone()
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| l.origin_region_code.clone());
    let county = county_of(&org.region_code).unwrap_or(&org.region_code);
    let known = matches!(
        region_level(&village),
        Some(RegionLevel::Township | RegionLevel::Village | RegionLevel::County)
    ) && region::Entity::find_by_id(village.clone())
        .one(db)
        .await?
        .is_some();
    if !known {
        v.add(
            "village_code",
            "unknown",
            "no village or township has this code",
        );
    } else if !region_contains(county, &village) {
        v.add(
            "village_code",
            "out_of_scope",
            "the lot must come from the organization's own county",
        );
    }
    let households = input.households.unwrap_or(0);
    if !(0..=HOUSEHOLDS_MAX).contains(&households) {
        v.add(
            "households",
            "out_of_range",
            format!("from 0 to {HOUSEHOLDS_MAX}"),
        );
    }
    let quantity = match &input.quantity {
        None => {
            v.add("quantity", "required", "how much the lot holds");
            None
        }
        Some(q) => v.check(
            "quantity",
            q.parse()
                .map_err(|e| e.field_error())
                .and_then(|q: Quantity| {
                    if q.milli() > 0 {
                        Ok(q)
                    } else {
                        Err(crate::error::FieldError::new(
                            "out_of_range",
                            "more than zero",
                        ))
                    }
                }),
        ),
    };
    v.finish()?;
    let (Some(harvested), Some(quantity)) = (harvested, quantity) else {
        return Err(AppError::Internal(anyhow::anyhow!(
            "checked lot incomplete"
        )));
    };
    Ok((harvested, base, village, households as i32, quantity))
}

/// Records a lot of a listing.
pub async fn record(
    db: &impl ConnectionTrait,
    actor: &Actor,
    listing_id: i64,
    input: &LotInput,
    now: DateTime<Utc>,
) -> AppResult<LotView> {
    let (l, org) = recordable(db, actor, listing_id).await?;
    let (harvested, base, village, households, quantity) =
        checked(db, &l, &org, input, now).await?;
    let row = lot::ActiveModel {
        listing_id: Set(l.id),
        organization_id: Set(org.id),
        code: Set(new_code()),
        harvested_on: Set(harvested),
        base: Set(base),
        village_code: Set(village),
        households: Set(households),
        quantity_milli: Set(quantity.milli()),
        scans: Set(0),
        created_by: Set(actor.id()),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    crate::audit::record(
        db,
        Some(actor.id()),
        "lot.record",
        "lot",
        row.id,
        serde_json::json!({"listing": l.id, "code": row.code, "quantity": quantity.to_string()}),
    )
    .await?;
    view_of(db, row, l.unit).await
}

/// A fresh public code: twelve characters no one can guess.
fn new_code() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..12].to_string()
}

async fn view_of(
    db: &impl ConnectionTrait,
    row: lot::Model,
    unit: Unit,
) -> Result<LotView, AppError> {
    let village_name = village_name(db, &row.village_code).await?;
    Ok(LotView {
        id: row.id,
        listing_id: row.listing_id,
        code: row.code,
        harvested_on: row.harvested_on,
        base: row.base,
        village_code: row.village_code,
        village_name,
        households: row.households,
        quantity: Quantity::from_milli(row.quantity_milli).to_string(),
        unit,
        scans: row.scans,
        created_at: row.created_at,
    })
}

/// A listing's lots, newest first, for whoever may see the listing.
pub async fn of_listing(
    db: &impl ConnectionTrait,
    actor: Option<&Actor>,
    listing_id: i64,
) -> AppResult<Vec<LotView>> {
    let l = super::listings::get_visible(db, actor, listing_id).await?;
    let rows = lot::Entity::find()
        .filter(lot::Column::ListingId.eq(l.id))
        .order_by_desc(lot::Column::Id)
        .all(db)
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        out.push(view_of(db, row, l.unit).await?);
    }
    Ok(out)
}

/// A lot by its public code (404 when there is none).
pub async fn by_code(db: &impl ConnectionTrait, code: &str) -> AppResult<lot::Model> {
    lot::Entity::find()
        .filter(lot::Column::Code.eq(code))
        .one(db)
        .await?
        .ok_or(AppError::NotFound("lot"))
}

/// What a lot's label and trace page tell.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Trace {
    pub code: String,
    pub product: String,
    pub category_zh: String,
    pub category_en: String,
    pub organization_id: i64,
    pub organization: String,
    pub village_zh: String,
    pub village_en: String,
    /// The village's township and county, in Chinese and English.
    pub place_zh: String,
    pub place_en: String,
    pub harvested_on: NaiveDate,
    pub base: String,
    /// How many member households took part: a count, never names.
    pub households: i32,
    pub quantity: String,
    pub unit: Unit,
    /// The certificates in effect that cover the listing, with their numbers and validity.
    pub certificates: Vec<CertificateView>,
    pub scans: i64,
}

/// The path of a region's names from the county down to (not including) `code`.
async fn place_of(
    db: &impl ConnectionTrait,
    code: &str,
) -> Result<(region::Model, String, String), sea_orm::DbErr> {
    let mut names_zh = Vec::new();
    let mut names_en = Vec::new();
    let here = region::Entity::find_by_id(code.to_string()).one(db).await?;
    let Some(here) = here else {
        return Ok((
            region::Model {
                code: code.to_string(),
                parent_code: None,
                level: 0,
                name: code.to_string(),
                name_en: code.to_string(),
                latitude: None,
                longitude: None,
                poverty_exit: None,
                assistance_key: None,
            },
            String::new(),
            String::new(),
        ));
    };
    let mut parent = here.parent_code.clone();
    while let Some(p) = parent {
        let Some(r) = region::Entity::find_by_id(p).one(db).await? else {
            break;
        };
        if region_level(&r.code).is_some_and(|l| l < RegionLevel::Prefecture) {
            break;
        }
        names_zh.push(r.name.clone());
        names_en.push(r.name_en.clone());
        parent = r.parent_code.clone();
    }
    names_zh.reverse();
    Ok((here, names_zh.join(""), names_en.join(", ")))
}

/// What a lot's trace page and label tell. `scanned` counts one scan of its trace page.
pub async fn trace(db: &impl ConnectionTrait, code: &str, scanned: bool) -> AppResult<Trace> {
    let row = by_code(db, code).await?;
    if scanned {
        lot::Entity::update_many()
            .col_expr(lot::Column::Scans, Expr::col(lot::Column::Scans).add(1))
            .filter(lot::Column::Id.eq(row.id))
            .exec(db)
            .await?;
    }
    let l = listing::Entity::find_by_id(row.listing_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("lot"))?;
    let org = organization::Entity::find_by_id(row.organization_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("lot"))?;
    let cat = category::Entity::find_by_id(l.category_id).one(db).await?;
    let (village, place_zh, place_en) = place_of(db, &row.village_code).await?;
    let certificates = certificates::of_organization(db, None, org.id)
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|c| {
            c.status == CertificateStatus::Effective && c.listings.iter().any(|x| x.id == l.id)
        })
        .collect();
    Ok(Trace {
        code: row.code,
        product: l.title,
        category_zh: cat.as_ref().map(|c| c.name_zh.clone()).unwrap_or_default(),
        category_en: cat.map(|c| c.name_en).unwrap_or_default(),
        organization_id: org.id,
        organization: org.name,
        village_zh: village.name,
        village_en: village.name_en,
        place_zh,
        place_en,
        harvested_on: row.harvested_on,
        base: row.base,
        households: row.households,
        quantity: Quantity::from_milli(row.quantity_milli).to_string(),
        unit: l.unit,
        certificates,
        scans: row.scans + i64::from(scanned),
    })
}

/// The trace page's address for a lot, as its QR code carries it.
pub fn trace_url(public_url: &str, code: &str) -> String {
    format!("{}/t/{code}", public_url.trim_end_matches('/'))
}

/// The QR code of `url` as a PNG: black modules on white, `scale` pixels each, with the quiet
/// zone the standard asks for.
pub fn qr_png(url: &str, scale: u32) -> AppResult<Vec<u8>> {
    let code = QrCode::new(url.as_bytes())
        .map_err(|e| AppError::Internal(anyhow::anyhow!("QR code: {e}")))?;
    let width = code.width() as u32;
    let colors = code.to_colors();
    let quiet = 4;
    let side = (width + 2 * quiet) * scale;
    let img = ImageBuffer::from_fn(side, side, |x, y| {
        let (mx, my) = (x / scale, y / scale);
        let inside = (quiet..quiet + width).contains(&mx) && (quiet..quiet + width).contains(&my);
        let dark =
            inside && colors[((my - quiet) * width + (mx - quiet)) as usize] == qrcode::Color::Dark;
        Luma([if dark { 0u8 } else { 255u8 }])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("QR code PNG: {e}")))?;
    Ok(out.into_inner())
}

/// The scans of the trace pages of the lots of organizations under `region`.
pub async fn scans_in(db: &impl ConnectionTrait, region: &str) -> Result<i64, sea_orm::DbErr> {
    let prefix = region_level(region).map_or("", |l| &region[..l.prefix_len()]);
    let orgs: Vec<i64> = organization::Entity::find()
        .filter(organization::Column::RegionCode.starts_with(prefix))
        .all(db)
        .await?
        .into_iter()
        .filter(|o| region_contains(region, &o.region_code))
        .map(|o| o.id)
        .collect();
    // Summed by the database; SUM of a BIGINT is NUMERIC on PostgreSQL, so cast it back.
    let total: Option<Option<i64>> = lot::Entity::find()
        .select_only()
        .column_as(Expr::cust("CAST(SUM(lots.scans) AS BIGINT)"), "total")
        .filter(lot::Column::OrganizationId.is_in(orgs))
        .into_tuple()
        .one(db)
        .await?;
    Ok(total.flatten().unwrap_or(0))
}
