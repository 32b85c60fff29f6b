//! The one document model both engines index, built from a listing and the vocabulary,
//! and the database reads that feed it.

use std::collections::{HashMap, HashSet};

use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde::{Deserialize, Serialize};

use super::text::{fold, short_place_name};
use super::vocabulary::{CategoryEntry, PlaceEntry, Vocabulary};
use crate::catalog::domain::{
    Certification, Grade, ListingStatus, RegionLevel, Unit, VerificationStatus, county_of,
};
use crate::catalog::entity::{category, category_alias, listing, organization, region};

/// A point on the earth.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Geo {
    pub lat: f64,
    pub lng: f64,
}

/// A listing as both search engines store it. Field names are those of the Meilisearch index.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchDocument {
    pub id: i64,
    pub title: String,
    pub description: String,
    /// The listing's own category.
    pub category_id: i64,
    /// Its category and every ancestor, for filtering by a parent category.
    pub category_ids: Vec<i64>,
    /// Chinese names from the root category down, e.g. ["蔬菜", "马铃薯"].
    pub category_path: Vec<String>,
    /// Names, synonyms and English names of the category and its ancestors.
    pub keywords: Vec<String>,
    /// Toneless pinyin of the keywords and place names, e.g. "pingguo", "daofu".
    pub pinyin: Vec<String>,
    /// Pinyin initials of the same words, e.g. "pg", "df".
    pub initials: Vec<String>,
    pub organization_id: i64,
    pub organization_name: String,
    /// Where it comes from: the most precise region.
    pub origin_code: String,
    pub origin_name: String,
    /// Codes of the origin and every region above it.
    pub region_codes: Vec<String>,
    /// Full and short names of the same regions (道孚县, 道孚).
    pub region_names: Vec<String>,
    pub county_code: Option<String>,
    pub county_name: Option<String>,
    pub price_fen: i64,
    pub unit: Unit,
    pub in_stock: bool,
    pub certifications: Vec<Certification>,
    /// Documents indexed before grades were kept read as ungraded until the next rebuild.
    #[serde(default = "ungraded")]
    pub grade: Grade,
    pub season_start: Option<i32>,
    pub season_end: Option<i32>,
    /// Quantity sold so far, in thousandths of the unit.
    pub sold_milli: i64,
    /// Milliseconds since the Unix epoch.
    pub created_at: i64,
    pub updated_at: i64,
    pub version: i32,
    #[serde(rename = "_geo", default, skip_serializing_if = "Option::is_none")]
    pub geo: Option<Geo>,
}

fn ungraded() -> Grade {
    Grade::Ungraded
}

/// Builds the document of a listing that the public may see.
pub fn build(l: &listing::Model, organization_name: &str, vocab: &Vocabulary) -> SearchDocument {
    let path: Vec<&CategoryEntry> = vocab.category_path(l.category_id);
    let places: Vec<&PlaceEntry> = vocab.place_path(&l.origin_region_code);
    // The products its title names come first: 高原百花蜜 is found as 蜂蜜 and honey.
    let keywords = vocab.keywords_of(&l.title, l.category_id);
    let mut region_names = Vec::new();
    for p in &places {
        region_names.push(p.name.clone());
        if let Some(short) = short_place_name(&p.name) {
            region_names.push(short.to_string());
        }
    }
    let mut pinyin = Vec::new();
    let mut initials = Vec::new();
    for word in keywords.iter().chain(region_names.iter()) {
        if let Some((p, i)) = vocab.reading(&fold(word)) {
            if !pinyin.contains(&p) {
                pinyin.push(p);
            }
            if i.len() >= 2 && !initials.contains(&i) {
                initials.push(i);
            }
        }
    }
    let county_code = county_of(&l.origin_region_code).map(str::to_string);
    let county_name = county_code
        .as_deref()
        .and_then(|c| vocab.place(c))
        .map(|p| p.name.clone());
    SearchDocument {
        id: l.id,
        title: l.title.clone(),
        description: l.description.clone(),
        category_id: l.category_id,
        category_ids: path.iter().map(|c| c.id).collect(),
        category_path: path.iter().map(|c| c.name_zh.clone()).collect(),
        keywords,
        pinyin,
        initials,
        organization_id: l.organization_id,
        organization_name: organization_name.to_string(),
        origin_name: places.last().map(|p| p.name.clone()).unwrap_or_default(),
        origin_code: l.origin_region_code.clone(),
        region_codes: places.iter().map(|p| p.code.clone()).collect(),
        region_names,
        county_code,
        county_name,
        price_fen: l.price_fen,
        unit: l.unit,
        in_stock: crate::catalog::listings::in_stock(l),
        certifications: l.certifications.list().to_vec(),
        grade: l.grade,
        season_start: l.season_start,
        season_end: l.season_end,
        sold_milli: l.sold_milli,
        created_at: l.created_at.timestamp_millis(),
        updated_at: l.updated_at.timestamp_millis(),
        version: l.version,
        geo: l
            .latitude
            .zip(l.longitude)
            .map(|(lat, lng)| Geo { lat, lng }),
    }
}

/// True when everyone may see the listing, so it belongs in the index.
pub fn is_public(l: &listing::Model, org: Option<&organization::Model>) -> bool {
    l.deleted_at.is_none()
        && l.status == ListingStatus::Active
        && org.is_some_and(|o| o.status == VerificationStatus::Approved)
}

/// Reads the taxonomy with its aliases and the regions into a vocabulary.
pub async fn load_vocabulary(db: &impl ConnectionTrait) -> Result<Vocabulary, sea_orm::DbErr> {
    let (categories, places) = vocabulary_sources(db).await?;
    Ok(Vocabulary::new(categories, places))
}

/// The taxonomy with its aliases and the regions search knows, in a fixed order, so that
/// the same rows give the same [`Vocabulary::fingerprint`].
pub async fn vocabulary_sources(
    db: &impl ConnectionTrait,
) -> Result<(Vec<CategoryEntry>, Vec<PlaceEntry>), sea_orm::DbErr> {
    let mut aliases: HashMap<i64, Vec<String>> = HashMap::new();
    for a in category_alias::Entity::find()
        .order_by_asc(category_alias::Column::Id)
        .all(db)
        .await?
    {
        aliases.entry(a.category_id).or_default().push(a.alias);
    }
    let categories = category::Entity::find()
        .order_by_asc(category::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|c| CategoryEntry {
            aliases: aliases.remove(&c.id).unwrap_or_default(),
            id: c.id,
            parent_id: c.parent_id,
            position: c.position,
            slug: c.slug,
            name_zh: c.name_zh,
            name_en: c.name_en,
        })
        .collect();
    // Counties and above, and the townships and villages someone sells from: the other
    // forty thousand villages would only make every short word a place.
    let mut below: HashSet<String> = listing::Entity::find()
        .select_only()
        .column(listing::Column::OriginRegionCode)
        .distinct()
        .into_tuple::<String>()
        .all(db)
        .await?
        .into_iter()
        .chain(
            organization::Entity::find()
                .select_only()
                .column(organization::Column::RegionCode)
                .distinct()
                .into_tuple::<String>()
                .all(db)
                .await?,
        )
        .filter(|c| c.len() > 6)
        .collect();
    below.extend(below.clone().iter().map(|c| format!("{}000", &c[..9])));
    let places = region::Entity::find()
        .filter(
            Condition::any()
                .add(region::Column::Level.lte(RegionLevel::County as i16))
                .add(region::Column::Code.is_in(below)),
        )
        .order_by_asc(region::Column::Code)
        .all(db)
        .await?
        .into_iter()
        .map(|r| PlaceEntry {
            code: r.code,
            parent_code: r.parent_code,
            name: r.name,
            name_en: r.name_en,
        })
        .collect();
    Ok((categories, places))
}

/// What the index should hold for each id: the document, or nothing (delete it).
pub async fn current(
    db: &impl ConnectionTrait,
    vocab: &Vocabulary,
    ids: &[i64],
) -> Result<Vec<(i64, Option<SearchDocument>)>, sea_orm::DbErr> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        let rows = listing::Entity::find()
            .filter(listing::Column::Id.is_in(chunk.iter().copied()))
            .all(db)
            .await?;
        let docs = documents(db, vocab, rows).await?;
        let mut by_id: HashMap<i64, SearchDocument> = docs.into_iter().map(|d| (d.id, d)).collect();
        out.extend(chunk.iter().map(|id| (*id, by_id.remove(id))));
    }
    Ok(out)
}

/// Documents for the public listings among `rows`.
async fn documents(
    db: &impl ConnectionTrait,
    vocab: &Vocabulary,
    rows: Vec<listing::Model>,
) -> Result<Vec<SearchDocument>, sea_orm::DbErr> {
    let org_ids: Vec<i64> = rows.iter().map(|l| l.organization_id).collect();
    let orgs: HashMap<i64, organization::Model> = organization::Entity::find()
        .filter(organization::Column::Id.is_in(org_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|o| (o.id, o))
        .collect();
    Ok(rows
        .iter()
        .filter_map(|l| {
            let org = orgs.get(&l.organization_id);
            is_public(l, org).then(|| build(l, &org.expect("public").name, vocab))
        })
        .collect())
}

/// Every public listing's document, in pages of `batch`, handed to `sink` one page at a time.
pub async fn for_each_batch<F, Fut, E>(
    db: &impl ConnectionTrait,
    vocab: &Vocabulary,
    batch: u64,
    mut sink: F,
) -> Result<u64, E>
where
    F: FnMut(Vec<SearchDocument>) -> Fut,
    Fut: std::future::Future<Output = Result<(), E>>,
    E: From<sea_orm::DbErr>,
{
    let mut after = 0i64;
    let mut total = 0u64;
    loop {
        let rows = listing::Entity::find()
            .filter(listing::Column::Id.gt(after))
            .filter(listing::Column::DeletedAt.is_null())
            .filter(listing::Column::Status.eq(ListingStatus::Active.code()))
            .order_by_asc(listing::Column::Id)
            .limit(batch)
            .all(db)
            .await?;
        let Some(last) = rows.last() else {
            return Ok(total);
        };
        after = last.id;
        let docs = documents(db, vocab, rows).await?;
        total += docs.len() as u64;
        if !docs.is_empty() {
            sink(docs).await?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::vocabulary::tests::sample;

    fn listing(category_id: i64, region: &str) -> listing::Model {
        let t = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        listing::Model {
            id: 7,
            organization_id: 3,
            category_id,
            title: "道孚高原洋芋".into(),
            description: "黄心洋芋".into(),
            unit: crate::catalog::domain::Unit::Jin,
            price_fen: 180,
            stock_milli: 80_000_000,
            min_order_milli: 500_000,
            sold_milli: 1_000,
            grade: crate::catalog::domain::Grade::First,
            season_start: Some(8),
            season_end: Some(12),
            certifications: "poverty_alleviation".parse().unwrap(),
            origin_region_code: region.into(),
            latitude: Some(30.968),
            longitude: Some(101.156),
            status: crate::catalog::domain::ListingStatus::Active,
            version: 2,
            created_at: t,
            updated_at: t,
            deleted_at: None,
        }
    }

    #[test]
    fn a_document_carries_names_places_and_pinyin() {
        let v = sample();
        let potato = (1..100)
            .find(|id| v.category(*id).is_some_and(|c| c.name_zh == "马铃薯"))
            .unwrap();
        let d = build(&listing(potato, "513326100204"), "孜龙村合作社", &v);
        assert_eq!(d.category_path, ["蔬菜", "马铃薯"]);
        assert!(d.keywords.contains(&"土豆".to_string()));
        assert_eq!(
            d.region_codes,
            ["510000", "513300", "513326", "513326100000", "513326100204"]
        );
        for name in ["道孚县", "道孚", "孜龙村", "甘孜"] {
            assert!(d.region_names.contains(&name.to_string()), "{name}");
        }
        assert!(d.pinyin.contains(&"malingshu".to_string()));
        assert!(d.pinyin.contains(&"daofu".to_string()));
        assert!(d.initials.contains(&"td".to_string()));
        assert_eq!(d.county_code.as_deref(), Some("513326"));
        assert_eq!(d.county_name.as_deref(), Some("道孚县"));
        assert!(d.in_stock);
        assert_eq!(d.certifications, [Certification::PovertyAlleviation]);
        assert_eq!(
            d.geo,
            Some(Geo {
                lat: 30.968,
                lng: 101.156
            })
        );
    }

    #[test]
    fn stock_below_the_minimum_order_is_out_of_stock() {
        let v = sample();
        let mut l = listing(1, "513326");
        l.stock_milli = 100;
        assert!(!build(&l, "x", &v).in_stock);
    }
}
