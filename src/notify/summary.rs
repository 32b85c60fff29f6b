//! The weekly summary for officials: every Monday (Beijing time) one `stats.weekly` event
//! covers the week before, and each official hears what sales brought to their own region.

use chrono::{DateTime, Datelike, Duration, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, Value};

use crate::catalog::domain::{RegionLevel, region_level};
use crate::outbox::entity as outbox;
use crate::outbox::events::{NotifyEvent, WeeklySummary};
use crate::outbox::{Channel, enqueue};
use crate::stats::domain::{day_key, local_date};
use crate::stats::rollup::{level_column, statement};

/// The week before the one holding `now`: its key (`yyyyww`, ISO weeks) and its first and
/// last day (`yyyymmdd`).
pub fn previous_week(now: DateTime<Utc>) -> (i64, i32, i32) {
    let today = local_date(now);
    let monday = today - Duration::days(today.weekday().num_days_from_monday() as i64 + 7);
    let sunday = monday + Duration::days(6);
    let week = monday.iso_week();
    (
        week.year() as i64 * 100 + week.week() as i64,
        day_key(monday),
        day_key(sunday),
    )
}

/// Writes the summary event of last week unless it was written already; true if it wrote it.
/// Instances asking at the same moment take turns, so the week is written once.
pub async fn enqueue_if_due(db: &DatabaseConnection, now: DateTime<Utc>) -> Result<bool, DbErr> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let (week, from, to) = previous_week(now);
    let txn = crate::db::exclusive_txn(db, crate::db::locks::WEEKLY_SUMMARY).await?;
    let written = outbox::Entity::find()
        .filter(outbox::Column::Channel.eq(Channel::Notify.as_str()))
        .filter(outbox::Column::Topic.eq(crate::outbox::events::WEEKLY_SUMMARY))
        .filter(outbox::Column::AggregateId.eq(week))
        .one(&txn)
        .await?
        .is_some();
    if written {
        return Ok(false);
    }
    let summary = WeeklySummary {
        week,
        from_day: from,
        to_day: to,
    };
    enqueue(&txn, &NotifyEvent::WeeklySummary(summary)).await?;
    txn.commit().await?;
    Ok(true)
}

/// Completed sales of a region over some days: amount (net, in fen), orders, and income
/// attributed to registered households.
pub async fn week_figures(
    db: &impl ConnectionTrait,
    region_code: &str,
    from_day: i32,
    to_day: i32,
) -> Result<(i64, i64, i64), DbErr> {
    let level = region_level(region_code).unwrap_or(RegionLevel::Province);
    let sql = format!(
        "SELECT CAST(SUM(amount_fen) AS BIGINT) AS sales, CAST(SUM(household_fen) AS BIGINT) AS hh, \
         COUNT(DISTINCT CASE WHEN sign > 0 THEN order_id END) AS orders FROM stats_facts \
         WHERE kind = 'completed' AND {} = ? AND day BETWEEN ? AND ?",
        level_column(level)
    );
    let values: Vec<Value> = vec![region_code.into(), from_day.into(), to_day.into()];
    let row = db
        .query_one_raw(statement(db.get_database_backend(), &sql, values))
        .await?;
    Ok(match row {
        Some(r) => (
            r.try_get::<Option<i64>>("", "sales")?.unwrap_or(0),
            r.try_get::<i64>("", "orders")?,
            r.try_get::<Option<i64>>("", "hh")?.unwrap_or(0),
        ),
        None => (0, 0, 0),
    })
}
