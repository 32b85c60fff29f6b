//! What buyers search for, counted without who searched: per day and query text, how often
//! it was asked, how often it found nothing, and how often a result was opened from it.
//! Searches are counted in memory and written in one statement every few seconds, so that
//! searching stays a read; admins read the last 30 days to see what the vocabulary lacks.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use chrono::{Days, NaiveDate};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, OnConflict};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set};

use super::text::fold;

/// The table of counted queries.
pub mod entity {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "search_queries")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub day: Date,
        /// The query as search reads it (folded), at most [`super::KEPT`] characters.
        pub query: String,
        pub searches: i64,
        pub zero_results: i64,
        pub clicks: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

use entity::{ActiveModel, Column, Entity};

/// Longest query text kept, in characters.
pub const KEPT: usize = 100;

/// Days the admins' report looks back.
pub const REPORT_DAYS: u64 = 30;

/// Searches of one query since the last write.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub searches: i64,
    pub zero_results: i64,
    pub clicks: i64,
}

/// Counts kept in memory between writes.
#[derive(Debug, Default)]
pub struct QueryLog {
    counts: Mutex<HashMap<String, Counts>>,
}

/// The query as it is counted: folded, at most [`KEPT`] characters; `None` when empty.
pub fn key(query: &str) -> Option<String> {
    let folded: String = fold(query).chars().take(KEPT).collect();
    let folded = folded.trim().to_string();
    (!folded.is_empty()).then_some(folded)
}

impl QueryLog {
    /// Counts a search that found `total` listings.
    pub fn searched(&self, query: &str, total: u64) {
        self.add(query, |c| {
            c.searches += 1;
            c.zero_results += i64::from(total == 0);
        });
    }

    /// Counts a result opened from a search for `query`.
    pub fn opened(&self, query: &str) {
        self.add(query, |c| c.clicks += 1);
    }

    fn add(&self, query: &str, f: impl FnOnce(&mut Counts)) {
        if let Some(k) = key(query) {
            f(self.lock().entry(k).or_default());
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Counts>> {
        self.counts.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Writes what was counted to `day`'s rows, adding to what is there; returns the number
    /// of queries written. What could not be written is kept for the next time.
    pub async fn write(&self, db: &impl ConnectionTrait, day: NaiveDate) -> Result<usize, DbErr> {
        let taken: Vec<(String, Counts)> = self.lock().drain().collect();
        if taken.is_empty() {
            return Ok(0);
        }
        let rows = taken.iter().map(|(q, c)| ActiveModel {
            day: Set(day),
            query: Set(q.clone()),
            searches: Set(c.searches),
            zero_results: Set(c.zero_results),
            clicks: Set(c.clicks),
            ..Default::default()
        });
        let mut conflict = OnConflict::columns([Column::Day, Column::Query]);
        for col in [Column::Searches, Column::ZeroResults, Column::Clicks] {
            conflict.value(
                col,
                Expr::col((Entity, col)).add(Expr::col((Alias::new("excluded"), col))),
            );
        }
        match Entity::insert_many(rows)
            .on_conflict(conflict)
            .exec(db)
            .await
        {
            Ok(_) => Ok(taken.len()),
            Err(e) => {
                let mut counts = self.lock();
                for (q, c) in taken {
                    let kept = counts.entry(q).or_default();
                    kept.searches += c.searches;
                    kept.zero_results += c.zero_results;
                    kept.clicks += c.clicks;
                }
                Err(e)
            }
        }
    }
}

/// One query's counts over the report's days.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct QueryStat {
    pub query: String,
    pub searches: i64,
    pub zero_results: i64,
    pub clicks: i64,
}

/// What the admins read: the queries that most often found nothing, and those that found
/// listings but whose results were opened least, over the [`REPORT_DAYS`] days up to `today`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Report {
    pub since: NaiveDate,
    pub zero_results: Vec<QueryStat>,
    pub low_clicks: Vec<QueryStat>,
}

/// Searches that found something, at least this often, before a query counts as low-click.
pub const LOW_CLICK_MIN_SEARCHES: i64 = 3;

/// The report over the [`REPORT_DAYS`] days up to and including `today`, `limit` of each.
pub async fn report(
    db: &impl ConnectionTrait,
    today: NaiveDate,
    limit: usize,
) -> Result<Report, DbErr> {
    let since = today - Days::new(REPORT_DAYS - 1);
    let mut sums: BTreeMap<String, QueryStat> = BTreeMap::new();
    for r in Entity::find()
        .filter(Column::Day.gte(since))
        .filter(Column::Day.lte(today))
        .all(db)
        .await?
    {
        let s = sums.entry(r.query.clone()).or_insert_with(|| QueryStat {
            query: r.query,
            searches: 0,
            zero_results: 0,
            clicks: 0,
        });
        s.searches += r.searches;
        s.zero_results += r.zero_results;
        s.clicks += r.clicks;
    }
    let mut zero: Vec<QueryStat> = sums
        .values()
        .filter(|s| s.zero_results > 0)
        .cloned()
        .collect();
    zero.sort_by(|a, b| {
        b.zero_results
            .cmp(&a.zero_results)
            .then(a.query.cmp(&b.query))
    });
    zero.truncate(limit);
    let mut low: Vec<QueryStat> = sums
        .into_values()
        .filter(|s| s.searches - s.zero_results >= LOW_CLICK_MIN_SEARCHES)
        .collect();
    // Fewest opened per search that found something; the most searched first among equals.
    low.sort_by(|a, b| {
        let (fa, fb) = (a.searches - a.zero_results, b.searches - b.zero_results);
        (a.clicks * fb)
            .cmp(&(b.clicks * fa))
            .then(fb.cmp(&fa))
            .then(a.query.cmp(&b.query))
    });
    low.truncate(limit);
    Ok(Report {
        since,
        zero_results: zero,
        low_clicks: low,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_are_counted_as_search_reads_them() {
        let log = QueryLog::default();
        log.searched("蘋果", 3);
        log.searched(" 苹果 ", 0);
        log.opened("苹果");
        log.searched("   ", 0);
        let counts = log.lock().clone();
        assert_eq!(counts.len(), 1);
        assert_eq!(
            counts["苹果"],
            Counts {
                searches: 2,
                zero_results: 1,
                clicks: 1
            }
        );
        assert_eq!(key(&"米".repeat(300)).unwrap().chars().count(), KEPT);
    }
}
