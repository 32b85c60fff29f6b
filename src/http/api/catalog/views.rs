//! What the catalog API answers with.

use std::collections::HashMap;

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use serde::Serialize;
use utoipa::ToSchema;

use crate::catalog::domain::{
    Certification, Grade, ListingStatus, OrganizationKind, Quantity, RegionLevel, Unit,
    VerificationStatus, format_yuan,
};
use crate::catalog::entity::{category, household, listing, organization, region};
use crate::search::vocabulary::{CategoryEntry, Vocabulary};

/// A region with its level.
#[derive(Debug, Serialize, ToSchema)]
pub struct RegionView {
    pub code: String,
    pub parent_code: Option<String>,
    pub level: RegionLevel,
    pub name: String,
    pub name_en: String,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    /// For a former poverty county (原贫困县): the year it met the exit criteria.
    pub poverty_exit: Option<i16>,
    /// A 乡村振兴重点帮扶县: `national` (one of the 160) or `provincial`.
    pub assistance_key: Option<crate::division::AssistanceKey>,
}

impl From<region::Model> for RegionView {
    fn from(r: region::Model) -> Self {
        RegionView {
            level: RegionLevel::from_number(r.level).unwrap_or(RegionLevel::Village),
            code: r.code,
            parent_code: r.parent_code,
            name: r.name,
            name_en: r.name_en,
            latitude: r.latitude,
            longitude: r.longitude,
            poverty_exit: r.poverty_exit,
            assistance_key: r
                .assistance_key
                .as_deref()
                .and_then(crate::division::AssistanceKey::parse),
        }
    }
}

/// A code and a name.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RegionRef {
    pub code: String,
    pub name: String,
    pub name_en: String,
}

impl RegionRef {
    fn of(code: String, names: &HashMap<String, (String, String)>) -> RegionRef {
        let (name, name_en) = names.get(&code).cloned().unwrap_or_default();
        RegionRef {
            code,
            name,
            name_en,
        }
    }

    /// Its name in the reader's language.
    pub fn name_in(&self, english: bool) -> &str {
        if english { &self.name_en } else { &self.name }
    }
}

/// A category with its names.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CategoryRef {
    pub id: i64,
    pub slug: String,
    pub name_zh: String,
    pub name_en: String,
}

impl From<&CategoryEntry> for CategoryRef {
    fn from(c: &CategoryEntry) -> Self {
        CategoryRef {
            id: c.id,
            slug: c.slug.clone(),
            name_zh: c.name_zh.clone(),
            name_en: c.name_en.clone(),
        }
    }
}

impl From<&category::Model> for CategoryRef {
    fn from(c: &category::Model) -> Self {
        CategoryRef {
            id: c.id,
            slug: c.slug.clone(),
            name_zh: c.name_zh.clone(),
            name_en: c.name_en.clone(),
        }
    }
}

/// An organization as the public sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrganizationView {
    pub id: i64,
    pub name: String,
    pub kind: OrganizationKind,
    pub region: RegionRef,
    pub status: VerificationStatus,
    pub description: String,
    pub contact_name: String,
    pub contact_phone: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// Builds organization views, looking up region names in one query.
pub async fn organization_views(
    db: &impl ConnectionTrait,
    orgs: Vec<organization::Model>,
) -> Result<Vec<OrganizationView>, sea_orm::DbErr> {
    let names = region_names(db, orgs.iter().map(|o| o.region_code.clone()).collect()).await?;
    Ok(orgs
        .into_iter()
        .map(|o| OrganizationView {
            kind: o.kind,
            status: o.status,
            region: RegionRef::of(o.region_code, &names),
            id: o.id,
            name: o.name,
            description: o.description,
            contact_name: o.contact_name,
            contact_phone: o.contact_phone,
            created_at: o.created_at,
        })
        .collect())
}

async fn region_names(
    db: &impl ConnectionTrait,
    codes: Vec<String>,
) -> Result<HashMap<String, (String, String)>, sea_orm::DbErr> {
    Ok(region::Entity::find()
        .filter(region::Column::Code.is_in(codes))
        .all(db)
        .await?
        .into_iter()
        .map(|r| (r.code, (r.name, r.name_en)))
        .collect())
}

/// A household as an official or its own organization sees it. The head's name only reaches
/// the organization's own staff; officials see the internal id.
#[derive(Debug, Serialize, ToSchema)]
pub struct HouseholdView {
    pub id: i64,
    pub organization_id: i64,
    pub region_code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub head_name: Option<String>,
    pub members: i32,
    pub registered: bool,
    /// Share of the organization's sales income, in basis points (1/100 of a percent).
    pub benefit_share_bp: i32,
}

impl HouseholdView {
    /// Builds the view, keeping the name only when `show_name`.
    pub fn new(h: household::Model, show_name: bool) -> Self {
        HouseholdView {
            id: h.id,
            organization_id: h.organization_id,
            region_code: h.region_code,
            head_name: show_name.then_some(h.head_name),
            members: h.members,
            registered: h.registered,
            benefit_share_bp: h.benefit_share_bp,
        }
    }
}

/// A listing with its organization, category and origin resolved.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ListingView {
    pub id: i64,
    pub organization: OrganizationRef,
    pub category: CategoryRef,
    pub title: String,
    pub description: String,
    pub unit: Unit,
    /// Unit price in fen (分).
    pub price_fen: i64,
    /// The same price for people, e.g. `¥5.20`.
    pub price_display: String,
    /// Exact decimal in the listing's unit.
    #[schema(value_type = String, example = "2000")]
    pub stock: Quantity,
    #[schema(value_type = String, example = "10")]
    pub min_order: Quantity,
    #[schema(value_type = String, example = "0")]
    pub sold: Quantity,
    pub in_stock: bool,
    pub grade: Grade,
    pub season_start: Option<i32>,
    pub season_end: Option<i32>,
    pub certifications: Vec<Certification>,
    pub origin: RegionRef,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub status: ListingStatus,
    pub version: i32,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

/// The seller of a listing.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OrganizationRef {
    pub id: i64,
    pub name: String,
}

/// Builds listing views with one lookup in all, whatever the number of listings: category and
/// region names come from `vocabulary` (as search last read it, at most a few seconds old),
/// and from the database only for those it does not know yet.
pub async fn listing_views(
    db: &impl ConnectionTrait,
    vocabulary: &Vocabulary,
    items: Vec<listing::Model>,
) -> Result<Vec<ListingView>, sea_orm::DbErr> {
    let org_ids: Vec<i64> = items.iter().map(|l| l.organization_id).collect();
    let orgs: HashMap<i64, String> = organization::Entity::find()
        .filter(organization::Column::Id.is_in(org_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|o| (o.id, o.name))
        .collect();
    let mut cats: HashMap<i64, CategoryRef> = HashMap::new();
    let mut new_cats = Vec::new();
    for id in items.iter().map(|l| l.category_id) {
        match vocabulary.category(id) {
            Some(c) => {
                cats.insert(id, CategoryRef::from(c));
            }
            None => new_cats.push(id),
        }
    }
    if !new_cats.is_empty() {
        for c in category::Entity::find()
            .filter(category::Column::Id.is_in(new_cats))
            .all(db)
            .await?
        {
            cats.insert(c.id, CategoryRef::from(&c));
        }
    }
    let mut names: HashMap<String, (String, String)> = HashMap::new();
    let mut new_places = Vec::new();
    for code in items.iter().map(|l| &l.origin_region_code) {
        match vocabulary.place(code) {
            Some(p) => {
                names.insert(code.clone(), (p.name.clone(), p.name_en.clone()));
            }
            None => new_places.push(code.clone()),
        }
    }
    if !new_places.is_empty() {
        names.extend(region_names(db, new_places).await?);
    }
    Ok(items
        .into_iter()
        .map(|l| {
            let category = cats.get(&l.category_id).cloned().unwrap_or(CategoryRef {
                id: l.category_id,
                slug: String::new(),
                name_zh: String::new(),
                name_en: String::new(),
            });
            let in_stock = crate::catalog::listings::in_stock(&l);
            ListingView {
                id: l.id,
                organization: OrganizationRef {
                    id: l.organization_id,
                    name: orgs.get(&l.organization_id).cloned().unwrap_or_default(),
                },
                category,
                title: l.title,
                description: l.description,
                unit: l.unit,
                price_display: format_yuan(l.price_fen),
                price_fen: l.price_fen,
                stock: Quantity::from_milli(l.stock_milli),
                min_order: Quantity::from_milli(l.min_order_milli),
                sold: Quantity::from_milli(l.sold_milli),
                in_stock,
                grade: l.grade,
                season_start: l.season_start,
                season_end: l.season_end,
                certifications: l.certifications.list().to_vec(),
                origin: RegionRef::of(l.origin_region_code, &names),
                latitude: l.latitude,
                longitude: l.longitude,
                status: l.status,
                version: l.version,
                created_at: l.created_at,
                updated_at: l.updated_at,
            }
        })
        .collect())
}
