//! Regions (行政区划): reference data, lookups and containment.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};

use super::domain::{RegionLevel, region_level};
use super::entity::region;

/// The division table shipped with qudao.
const REFERENCE: &str = include_str!("regions.tsv");

/// One parsed row of the reference table.
#[derive(Debug, Clone, PartialEq)]
pub struct RegionRow {
    pub code: String,
    pub parent_code: Option<String>,
    pub level: RegionLevel,
    pub name: String,
    pub name_en: String,
    pub latitude: f64,
    pub longitude: f64,
}

/// The parent code of a division code, worked out from the code itself.
pub fn parent_of(code: &str) -> Option<String> {
    match region_level(code)? {
        RegionLevel::Province => None,
        RegionLevel::Prefecture => Some(format!("{}0000", &code[..2])),
        RegionLevel::County => {
            let prefecture = format!("{}00", &code[..4]);
            // County-level cities directly under a province (省直辖) have no prefecture row;
            // the caller falls back to the province when the prefecture is absent.
            Some(prefecture)
        }
        RegionLevel::Township => Some(code[..6].to_string()),
        RegionLevel::Village => Some(format!("{}000", &code[..9])),
    }
}

/// Parses the shipped table.
pub fn reference_rows() -> Vec<RegionRow> {
    REFERENCE
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|line| {
            let cols: Vec<&str> = line.split('\t').collect();
            assert_eq!(cols.len(), 5, "regions.tsv: bad row {line:?}");
            let code = cols[0].to_string();
            RegionRow {
                level: region_level(&code)
                    .unwrap_or_else(|| panic!("regions.tsv: bad code {code}")),
                parent_code: parent_of(&code),
                name: cols[1].to_string(),
                name_en: cols[2].to_string(),
                latitude: cols[3].parse().expect("regions.tsv: latitude"),
                longitude: cols[4].parse().expect("regions.tsv: longitude"),
                code,
            }
        })
        .collect()
}

/// Inserts the reference regions that are missing; existing rows are left as they are.
pub async fn load_reference(db: &impl ConnectionTrait) -> Result<usize, sea_orm::DbErr> {
    let existing: std::collections::HashSet<String> = region::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|r| r.code)
        .collect();
    let mut inserted = 0;
    // The table lists parents before children, so foreign keys hold row by row.
    for row in reference_rows() {
        if existing.contains(&row.code) {
            continue;
        }
        region::ActiveModel {
            code: Set(row.code),
            parent_code: Set(row.parent_code),
            level: Set(row.level as i16),
            name: Set(row.name),
            name_en: Set(row.name_en),
            latitude: Set(Some(row.latitude)),
            longitude: Set(Some(row.longitude)),
        }
        .insert(db)
        .await?;
        inserted += 1;
    }
    Ok(inserted)
}

/// A region by code.
pub async fn find(
    db: &impl ConnectionTrait,
    code: &str,
) -> Result<Option<region::Model>, sea_orm::DbErr> {
    if region_level(code).is_none() {
        return Ok(None);
    }
    region::Entity::find_by_id(code.to_string()).one(db).await
}

/// The direct children of a region, or the provinces when `parent` is `None`.
pub async fn children(
    db: &impl ConnectionTrait,
    parent: Option<&str>,
) -> Result<Vec<region::Model>, sea_orm::DbErr> {
    let q = region::Entity::find().order_by_asc(region::Column::Code);
    match parent {
        Some(p) => q.filter(region::Column::ParentCode.eq(p)).all(db).await,
        None => q.filter(region::Column::ParentCode.is_null()).all(db).await,
    }
}

/// A region and all its ancestors, from the province down.
pub async fn path(
    db: &impl ConnectionTrait,
    code: &str,
) -> Result<Vec<region::Model>, sea_orm::DbErr> {
    let mut out = Vec::new();
    let mut next = Some(code.to_string());
    while let Some(c) = next {
        match region::Entity::find_by_id(c).one(db).await? {
            Some(r) => {
                next = r.parent_code.clone();
                out.push(r);
            }
            None => break,
        }
        if out.len() > 5 {
            break;
        }
    }
    out.reverse();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_table_is_consistent() {
        let rows = reference_rows();
        let codes: std::collections::HashSet<_> = rows.iter().map(|r| r.code.as_str()).collect();
        for (i, r) in rows.iter().enumerate() {
            if let Some(p) = &r.parent_code {
                assert!(
                    codes.contains(p.as_str()),
                    "{} has no parent row {p}",
                    r.code
                );
                let pos = rows.iter().position(|x| &x.code == p).unwrap();
                assert!(pos < i, "{} is listed before its parent", r.code);
            }
        }
        for code in [
            "510000", "511700", "511723", "513300", "513326", "513336", "511300", "511381",
        ] {
            assert!(codes.contains(code), "missing {code}");
        }
    }

    #[test]
    fn parents_come_from_the_code() {
        assert_eq!(parent_of("510000"), None);
        assert_eq!(parent_of("511700").as_deref(), Some("510000"));
        assert_eq!(parent_of("511723").as_deref(), Some("511700"));
        assert_eq!(parent_of("511723104000").as_deref(), Some("511723"));
        assert_eq!(parent_of("511723104201").as_deref(), Some("511723104000"));
    }
}
