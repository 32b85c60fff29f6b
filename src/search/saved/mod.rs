//! Saved searches: a buyer keeps a query with its filters and hears when a listing that
//! matches it is newly on offer (listed, put back on sale or restocked), at once or in one
//! digest a day. The search engine decides what matches, so an alert finds exactly what the
//! same search would.

pub mod alerts;
pub mod entity;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::query::{SearchParams, SearchRequest, Sort, parse};
use super::vocabulary::Vocabulary;
use crate::error::{AppError, AppResult, FieldError};

/// The most saved searches one person keeps.
pub const MAX_PER_USER: u64 = 20;
/// The longest name of a saved search, in characters.
pub const NAME_MAX: usize = 60;

/// When a saved search tells its owner of new listings. Stored as its code; an unknown stored
/// code is an error.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, sea_orm::DeriveValueType,
)]
#[serde(rename_all = "snake_case")]
#[sea_orm(value_type = "String")]
pub enum Alert {
    /// As soon as the listing is searchable.
    Instant,
    /// In the person's daily digest email (the notice itself comes at once).
    Daily,
    /// Kept for searching again, without alerts.
    Off,
}

impl Alert {
    pub const ALL: [Alert; 3] = [Alert::Instant, Alert::Daily, Alert::Off];

    /// The stored name.
    pub fn code(self) -> &'static str {
        match self {
            Alert::Instant => "instant",
            Alert::Daily => "daily",
            Alert::Off => "off",
        }
    }

    pub fn from_code(code: &str) -> Option<Alert> {
        Self::ALL.into_iter().find(|a| a.code() == code)
    }
}

impl std::fmt::Display for Alert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

impl std::str::FromStr for Alert {
    type Err = crate::vocab::UnknownCode;

    fn from_str(code: &str) -> Result<Self, Self::Err> {
        Alert::from_code(code).ok_or_else(|| crate::vocab::UnknownCode {
            vocabulary: "Alert",
            code: code.to_string(),
        })
    }
}

/// What a saved search looks for: the query and filters of `GET /api/v1/search`, without
/// paging and order. Alerts only ever tell of listings in stock.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SavedQuery {
    /// The words, as people write them: 洋芋, 道孚 苹果, pingguo.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub q: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category_id: Option<i64>,
    /// A region code at any level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_price_fen: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_price_fen: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certification: Option<String>,
    /// `lat,lng`, with `radius_km`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub near: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub radius_km: Option<u32>,
}

impl SavedQuery {
    /// The search it stands for: in stock only, best match first.
    pub fn params(&self) -> SearchParams {
        SearchParams {
            q: self.q.clone(),
            category_id: self.category_id,
            region: self.region.clone(),
            organization_id: self.organization_id,
            min_price_fen: self.min_price_fen,
            max_price_fen: self.max_price_fen,
            certification: self.certification.clone(),
            in_stock: Some(true),
            near: self.near.clone(),
            radius_km: self.radius_km,
            ..SearchParams::default()
        }
    }

    /// Checks the query against the vocabulary; problems are named `query.<field>`.
    pub fn check(&self, vocab: &Vocabulary) -> AppResult<SearchRequest> {
        let nothing = SavedQuery::default();
        if *self == nothing {
            return Err(AppError::field(
                "query",
                "required",
                "give words or at least one filter, or every new listing would match",
            ));
        }
        parse(&self.params(), vocab)
            .map(|mut r| {
                r.sort = Sort::Relevance;
                r
            })
            .map_err(|e| match e {
                AppError::Validation(fields) => AppError::Validation(
                    fields
                        .into_iter()
                        .map(|(f, e)| (format!("query.{f}"), e))
                        .collect(),
                ),
                other => other,
            })
    }

    /// The stored form.
    pub fn to_column(&self) -> String {
        serde_json::to_string(self).expect("a saved query serializes")
    }

    /// Reads the stored form; an unreadable one (never written by qudao) reads as no query.
    pub fn from_column(s: &str) -> SavedQuery {
        serde_json::from_str(s).unwrap_or_default()
    }
}

/// Checks a saved search's name.
pub fn check_name(raw: &str) -> Result<String, FieldError> {
    crate::fields::text(raw, 1, NAME_MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::vocabulary::tests::sample;

    #[test]
    fn a_saved_query_round_trips_through_its_column() {
        let q = SavedQuery {
            q: Some("洋芋".into()),
            region: Some("513326".into()),
            max_price_fen: Some(300),
            ..Default::default()
        };
        assert_eq!(
            q.to_column(),
            r#"{"q":"洋芋","region":"513326","max_price_fen":300}"#
        );
        assert_eq!(SavedQuery::from_column(&q.to_column()), q);
        let r = q.check(&sample()).unwrap();
        assert_eq!(r.filters.in_stock, Some(true));
        assert_eq!(r.filters.max_price_fen, Some(300));
    }

    #[test]
    fn problems_are_named_inside_the_query() {
        let empty = SavedQuery::default().check(&sample()).unwrap_err();
        assert!(
            matches!(&empty, AppError::Validation(f) if f.iter().any(|(k, e)| k == "query" && e.code == "required"))
        );
        let bad = SavedQuery {
            category_id: Some(9999),
            radius_km: Some(10),
            ..Default::default()
        };
        match bad.check(&sample()).unwrap_err() {
            AppError::Validation(f) => {
                let names: Vec<&str> = f.keys().map(|k| k.as_str()).collect();
                assert_eq!(names, ["query.category_id", "query.radius_km"]);
            }
            other => panic!("{other:?}"),
        }
    }
}
