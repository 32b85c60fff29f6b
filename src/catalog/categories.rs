//! The category taxonomy (品类) and its aliases.

use std::collections::HashMap;

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, ModelTrait, QueryFilter,
    QueryOrder, Set,
};
use serde::Deserialize;

use super::domain::AliasKind;
use super::entity::{category, category_alias};
use crate::accounts::Actor;
use crate::error::{AppError, AppResult, FieldError, Validator};
use crate::outbox;
use crate::outbox::events::SearchEvent;

#[derive(Debug, Deserialize)]
struct Taxonomy {
    category: Vec<TaxonomyEntry>,
}

/// One category as written in `taxonomy.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaxonomyEntry {
    pub slug: String,
    pub parent: Option<String>,
    pub zh: String,
    pub en: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    #[serde(default)]
    pub english: Vec<String>,
}

/// The taxonomy shipped with qudao, parents before children.
pub fn reference() -> Vec<TaxonomyEntry> {
    toml::from_str::<Taxonomy>(include_str!("taxonomy.toml"))
        .expect("taxonomy.toml is valid")
        .category
}

/// Inserts the categories and aliases that are missing; nothing existing is changed.
pub async fn load_reference(db: &impl ConnectionTrait) -> Result<usize, sea_orm::DbErr> {
    let mut by_slug: HashMap<String, i64> = category::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|c| (c.slug, c.id))
        .collect();
    let known_aliases: std::collections::HashSet<(i64, String)> = category_alias::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|a| (a.category_id, a.alias))
        .collect();
    let mut inserted = 0;
    for (position, entry) in reference().into_iter().enumerate() {
        let id = match by_slug.get(&entry.slug) {
            Some(id) => *id,
            None => {
                let parent_id = entry.parent.as_ref().and_then(|p| by_slug.get(p).copied());
                let row = category::ActiveModel {
                    parent_id: Set(parent_id),
                    slug: Set(entry.slug.clone()),
                    name_zh: Set(entry.zh.clone()),
                    name_en: Set(entry.en.clone()),
                    position: Set(position as i32),
                    ..Default::default()
                }
                .insert(db)
                .await?;
                by_slug.insert(entry.slug.clone(), row.id);
                inserted += 1;
                row.id
            }
        };
        let aliases = entry
            .aliases
            .iter()
            .map(|a| (a, AliasKind::Alias))
            .chain(entry.english.iter().map(|a| (a, AliasKind::English)));
        for (alias, kind) in aliases {
            if known_aliases.contains(&(id, alias.clone())) {
                continue;
            }
            category_alias::ActiveModel {
                category_id: Set(id),
                alias: Set(alias.clone()),
                kind: Set(kind),
                ..Default::default()
            }
            .insert(db)
            .await?;
        }
    }
    Ok(inserted)
}

/// All categories in taxonomy order with their aliases.
pub async fn all_with_aliases(
    db: &impl ConnectionTrait,
) -> Result<Vec<(category::Model, Vec<category_alias::Model>)>, sea_orm::DbErr> {
    category::Entity::find()
        .find_with_related(category_alias::Entity)
        .order_by_asc(category::Column::Position)
        .order_by_asc(category::Column::Id)
        .order_by_asc(category_alias::Column::Id)
        .all(db)
        .await
}

/// A category by slug.
pub async fn by_slug(
    db: &impl ConnectionTrait,
    slug: &str,
) -> Result<Option<category::Model>, sea_orm::DbErr> {
    category::Entity::find()
        .filter(category::Column::Slug.eq(slug))
        .one(db)
        .await
}

/// Adds a synonym to a category (admins), for search to pick up; `kind` is `alias` unless
/// given.
pub async fn add_alias(
    db: &sea_orm::DatabaseConnection,
    actor: &Actor,
    id: i64,
    alias: &str,
    kind: Option<&str>,
) -> AppResult<category_alias::Model> {
    if !actor.is_admin() {
        return Err(AppError::Forbidden(
            "only platform admins can edit the taxonomy".into(),
        ));
    }
    let cat = category::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("category"))?;
    let mut v = Validator::default();
    let alias = alias.trim().to_string();
    if alias.is_empty() || alias.chars().count() > 32 {
        v.add("alias", "length", "1 to 32 characters");
    }
    let kind = match kind {
        None => Some(AliasKind::Alias),
        Some(code) => v.check(
            "kind",
            AliasKind::from_code(code).ok_or_else(|| FieldError {
                code: "unknown_value",
                message: format!("must be one of: {}", AliasKind::codes()),
            }),
        ),
    };
    v.finish()?;
    let kind = kind.expect("checked above");
    let txn = crate::db::write_txn(db).await?;
    let exists = cat
        .find_related(category_alias::Entity)
        .filter(category_alias::Column::Alias.eq(&alias))
        .one(&txn)
        .await?
        .is_some();
    if exists {
        return Err(AppError::field(
            "alias",
            "taken",
            "this category already has that alias",
        ));
    }
    let added = category_alias::ActiveModel {
        category_id: Set(cat.id),
        alias: Set(alias.clone()),
        kind: Set(kind),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let reindex = SearchEvent::Category {
        category_id: cat.id,
    };
    outbox::enqueue(&txn, &reindex).await?;
    crate::audit::record(
        &txn,
        Some(actor.id()),
        "category.alias.add",
        "category",
        cat.id,
        serde_json::json!({"alias": alias}),
    )
    .await?;
    txn.commit().await?;
    Ok(added)
}

#[cfg(test)]
mod tests {
    #[test]
    fn taxonomy_parents_exist_and_come_first() {
        let t = super::reference();
        let mut seen = std::collections::HashSet::new();
        for e in &t {
            if let Some(p) = &e.parent {
                assert!(seen.contains(p), "{} comes before its parent {p}", e.slug);
            }
            assert!(seen.insert(e.slug.clone()), "duplicate slug {}", e.slug);
        }
        let potato = t.iter().find(|e| e.slug == "potato").unwrap();
        for word in ["土豆", "洋芋"] {
            assert!(potato.aliases.iter().any(|a| a == word));
        }
    }
}
