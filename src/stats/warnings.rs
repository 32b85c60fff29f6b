//! Early warnings for officials, raised by a sweep that takes the time it runs at:
//! - 滞销: a listing on sale, in season, with stock and no sale for [`UNSOLD_WEEKS`] weeks goes
//!   on its county's 防滞销 list; its producer hears of it, and so do the buyers whose open
//!   purchase requests or saved searches fit it. A sale (or running out, or the season's end)
//!   takes it off again.
//! - Behind target: at each quarter's end, a region whose completed sales since the year began
//!   fall short of that share of its yearly sales target.
//! - Income drop (不返贫 monitoring): a registered household whose platform income in the last
//!   quarter fell to half or less of the same quarter a year before. Only the officials of the
//!   household's own county see these, by internal id.
//!
//! Every warning can be acknowledged once, with a note; the acknowledgement is audited.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Datelike, Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::domain::{Basis, Period, local_date};
use super::entity::{target, warning};
use super::rollup::{self, Scope};
use crate::accounts::{Actor, Role};
use crate::catalog::domain::{ListingStatus, Quantity, VerificationStatus, region_level};
use crate::catalog::entity::{listing, organization};
use crate::division::{county_of, region_contains};
use crate::error::{AppError, AppResult, Validator};
use crate::matching::domain::RequestStatus;
use crate::matching::entity::purchase_request;
use crate::orders::domain::OrderStatus;
use crate::orders::entity::{order, order_line};
use crate::outbox::enqueue;
use crate::outbox::events::{NotifyEvent, Unsold};
use crate::search::saved::entity::{hit, saved_search};

/// How many weeks without a sale put a listing in season on the 防滞销 list.
pub const UNSOLD_WEEKS: i64 = 4;

/// A household's income is flagged when it fell to this share (in percent) of the same
/// quarter a year before, or below.
pub const INCOME_DROP_PERCENT: i64 = 50;

/// What a warning is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// 滞销: a listing in season with stock and no recent sale.
    Unsold,
    /// A region behind the pace its yearly target needs.
    BehindTarget,
    /// A registered household whose platform income fell sharply.
    IncomeDrop,
}

impl Kind {
    pub fn code(self) -> &'static str {
        match self {
            Kind::Unsold => "unsold",
            Kind::BehindTarget => "behind_target",
            Kind::IncomeDrop => "income_drop",
        }
    }

    pub fn from_code(code: &str) -> Option<Kind> {
        [Kind::Unsold, Kind::BehindTarget, Kind::IncomeDrop]
            .into_iter()
            .find(|k| k.code() == code)
    }
}

/// Whether month `m` (1–12) lies in a season from `start` to `end` (which may wrap past
/// December); a listing without a season is always in season.
pub fn in_season(start: Option<i32>, end: Option<i32>, m: i32) -> bool {
    match (start, end) {
        (Some(s), Some(e)) if s <= e => (s..=e).contains(&m),
        (Some(s), Some(e)) => m >= s || m <= e,
        _ => true,
    }
}

/// What one sweep did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Swept {
    pub raised: usize,
    pub cleared: usize,
}

/// Raises the warnings due at `now` and clears the 滞销 warnings whose listing sold (or ran
/// out, or left its season). Safe to run as often as liked: a warning is raised once per
/// listing and day found, per region and quarter, per household and quarter.
pub async fn sweep(db: &DatabaseConnection, now: DateTime<Utc>) -> Result<Swept, DbErr> {
    let mut swept = unsold(db, now).await?;
    swept.raised += behind_target(db, now).await?;
    swept.raised += income_drops(db, now).await?;
    Ok(swept)
}

/// The listings that are 滞销 at `now`, with when their quiet began (listed or last sold).
async fn unsold_at(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
) -> Result<Vec<(listing::Model, DateTime<Utc>)>, DbErr> {
    let since = now - Duration::weeks(UNSOLD_WEEKS);
    let month = local_date(now).month() as i32;
    let on_sale: Vec<listing::Model> = listing::Entity::find()
        .inner_join(organization::Entity)
        .filter(listing::Column::Status.eq(ListingStatus::Active))
        .filter(listing::Column::DeletedAt.is_null())
        .filter(listing::Column::StockMilli.gt(0))
        .filter(listing::Column::CreatedAt.lte(since))
        .filter(organization::Column::Status.eq(VerificationStatus::Approved))
        .order_by_asc(listing::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .filter(|l| in_season(l.season_start, l.season_end, month))
        .collect();
    let mut last_sale: BTreeMap<i64, DateTime<Utc>> = BTreeMap::new();
    for chunk in on_sale.chunks(500) {
        let ids: Vec<i64> = chunk.iter().map(|l| l.id).collect();
        let rows: Vec<(i64, Option<DateTime<Utc>>)> = order_line::Entity::find()
            .select_only()
            .column(order_line::Column::ListingId)
            .column_as(order::Column::PlacedAt.max(), "last")
            .inner_join(order::Entity)
            .filter(order_line::Column::ListingId.is_in(ids))
            .filter(order::Column::Status.ne(OrderStatus::Cancelled))
            .filter(order::Column::PlacedAt.lte(now))
            .group_by(order_line::Column::ListingId)
            .into_tuple()
            .all(db)
            .await?;
        last_sale.extend(rows.into_iter().filter_map(|(id, at)| Some((id, at?))));
    }
    Ok(on_sale
        .into_iter()
        .filter_map(|l| {
            let quiet_since = last_sale.get(&l.id).copied().unwrap_or(l.created_at);
            (quiet_since <= since).then_some((l, quiet_since))
        })
        .collect())
}

/// The buyers to tell of a listing on the 防滞销 list: those with an open purchase request of
/// its category and unit at a price it meets, and those whose saved search found it.
async fn interested_buyers(
    db: &impl ConnectionTrait,
    l: &listing::Model,
) -> Result<Vec<i64>, DbErr> {
    let mut buyers: BTreeSet<i64> = purchase_request::Entity::find()
        .select_only()
        .column(purchase_request::Column::BuyerId)
        .filter(purchase_request::Column::Status.eq(RequestStatus::Open))
        .filter(purchase_request::Column::CategoryId.eq(l.category_id))
        .filter(purchase_request::Column::Unit.eq(l.unit))
        .filter(purchase_request::Column::MaxPriceFen.gte(l.price_fen))
        .into_tuple::<i64>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let searches: Vec<i64> = hit::Entity::find()
        .select_only()
        .column(hit::Column::SavedSearchId)
        .filter(hit::Column::ListingId.eq(l.id))
        .distinct()
        .into_tuple()
        .all(db)
        .await?;
    buyers.extend(
        saved_search::Entity::find()
            .select_only()
            .column(saved_search::Column::UserId)
            .filter(saved_search::Column::Id.is_in(searches))
            .into_tuple::<i64>()
            .all(db)
            .await?,
    );
    Ok(buyers.into_iter().collect())
}

/// The 滞销 part of the sweep.
async fn unsold(db: &DatabaseConnection, now: DateTime<Utc>) -> Result<Swept, DbErr> {
    let found = unsold_at(db, now).await?;
    let open: BTreeMap<i64, warning::Model> = warning::Entity::find()
        .filter(warning::Column::Kind.eq(Kind::Unsold.code()))
        .filter(warning::Column::ClearedAt.is_null())
        .all(db)
        .await?
        .into_iter()
        .filter_map(|w| Some((w.subject.parse().ok()?, w)))
        .collect();
    let mut swept = Swept::default();
    let still: BTreeSet<i64> = found.iter().map(|(l, _)| l.id).collect();
    for (id, w) in &open {
        if !still.contains(id) {
            warning::Entity::update_many()
                .col_expr(warning::Column::ClearedAt, Expr::value(now))
                .filter(warning::Column::Id.eq(w.id))
                .filter(warning::Column::ClearedAt.is_null())
                .exec(db)
                .await?;
            swept.cleared += 1;
        }
    }
    for (l, quiet_since) in found {
        if open.contains_key(&l.id) {
            continue;
        }
        let buyers = interested_buyers(db, &l).await?;
        let weeks = (now - quiet_since).num_weeks();
        let detail = serde_json::json!({
            "listing_id": l.id,
            "title": l.title,
            "organization_id": l.organization_id,
            "stock": Quantity::from_milli(l.stock_milli).to_string(),
            "unit": l.unit,
            "quiet_since": quiet_since.to_rfc3339(),
            "weeks": weeks,
            "buyers_told": buyers.len(),
        });
        let county = county_of(&l.origin_region_code).unwrap_or(&l.origin_region_code);
        let txn = crate::db::write_txn(db).await?;
        let w = raise(
            &txn,
            Kind::Unsold,
            county,
            &l.id.to_string(),
            &local_date(now).to_string(),
            detail,
            now,
        )
        .await?;
        if let Some(w) = w {
            enqueue(
                &txn,
                &NotifyEvent::Unsold(Unsold {
                    warning_id: w.id,
                    listing_id: l.id,
                    organization_id: l.organization_id,
                    weeks,
                    buyer_ids: buyers,
                }),
            )
            .await?;
            swept.raised += 1;
        }
        txn.commit().await?;
    }
    Ok(swept)
}

/// Records a warning unless one was raised for the same subject and occasion.
async fn raise(
    db: &impl ConnectionTrait,
    kind: Kind,
    region_code: &str,
    subject: &str,
    occasion: &str,
    detail: serde_json::Value,
    now: DateTime<Utc>,
) -> Result<Option<warning::Model>, DbErr> {
    let exists = warning::Entity::find()
        .filter(warning::Column::Kind.eq(kind.code()))
        .filter(warning::Column::Subject.eq(subject))
        .filter(warning::Column::Occasion.eq(occasion))
        .one(db)
        .await?;
    if exists.is_some() {
        return Ok(None);
    }
    warning::ActiveModel {
        kind: Set(kind.code().into()),
        region_code: Set(region_code.into()),
        subject: Set(subject.into()),
        occasion: Set(occasion.into()),
        detail: Set(detail.to_string()),
        raised_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
    .map(Some)
}

/// The last quarter that ended before `now`.
fn last_quarter(now: DateTime<Utc>) -> Period {
    let today = local_date(now);
    Period::Quarter(today.year(), (today.month() - 1) / 3 + 1).prev()
}

/// The behind-target part of the sweep: measured at the end of the last quarter, against the
/// targets of that quarter's year.
async fn behind_target(db: &DatabaseConnection, now: DateTime<Utc>) -> Result<usize, DbErr> {
    let Period::Quarter(year, q) = last_quarter(now) else {
        unreachable!("a quarter")
    };
    let targets = target::Entity::find()
        .filter(target::Column::Year.eq(year))
        .filter(target::Column::SalesFen.gt(0))
        .all(db)
        .await?;
    let mut raised = 0;
    for t in targets {
        let Some(level) = region_level(&t.region_code) else {
            continue;
        };
        let scope = Scope::span(
            Basis::Completed,
            level,
            &t.region_code,
            Period::Quarter(year, 1),
            Period::Quarter(year, q),
        );
        let actual = rollup::total(db, &scope).await?.sales_fen;
        // The pace: q quarters of four, to the fen (rounded up: a target is met, not neared).
        let needed = ((i128::from(t.sales_fen) * i128::from(q) + 3) / 4) as i64;
        if actual >= needed {
            continue;
        }
        let detail = serde_json::json!({
            "year": year,
            "quarter": q,
            "target_fen": t.sales_fen,
            "needed_fen": needed,
            "actual_fen": actual,
        });
        let occasion = format!("{year}Q{q}");
        if raise(
            db,
            Kind::BehindTarget,
            &t.region_code,
            &t.region_code,
            &occasion,
            detail,
            now,
        )
        .await?
        .is_some()
        {
            raised += 1;
        }
    }
    Ok(raised)
}

/// The income-drop part of the sweep: the last quarter against the same quarter a year before.
async fn income_drops(db: &DatabaseConnection, now: DateTime<Utc>) -> Result<usize, DbErr> {
    let after = last_quarter(now);
    let Period::Quarter(year, q) = after else {
        unreachable!("a quarter")
    };
    let before = Period::Quarter(year - 1, q);
    let sql = "SELECT household_id, MAX(county_code) AS county, \
         CAST(SUM(CASE WHEN month BETWEEN ? AND ? THEN amount_fen ELSE 0 END) AS BIGINT) AS before_fen, \
         CAST(SUM(CASE WHEN month BETWEEN ? AND ? THEN amount_fen ELSE 0 END) AS BIGINT) AS after_fen \
         FROM stats_household_months WHERE kind = ? AND month BETWEEN ? AND ? \
         GROUP BY household_id ORDER BY household_id";
    let values = vec![
        before.start_month().into(),
        before.end_month().into(),
        after.start_month().into(),
        after.end_month().into(),
        Basis::Completed.code().into(),
        before.start_month().into(),
        after.end_month().into(),
    ];
    let rows = db
        .query_all_raw(rollup::statement(db.get_database_backend(), sql, values))
        .await?;
    let mut raised = 0;
    for row in rows {
        let household: i64 = row.try_get("", "household_id")?;
        let county: String = row.try_get("", "county")?;
        let before_fen = row.try_get::<Option<i64>>("", "before_fen")?.unwrap_or(0);
        let after_fen = row.try_get::<Option<i64>>("", "after_fen")?.unwrap_or(0);
        if before_fen <= 0 || after_fen * 100 > before_fen * INCOME_DROP_PERCENT {
            continue;
        }
        let detail = serde_json::json!({
            "household_id": household,
            "quarter": after.to_string(),
            "before_quarter": before.to_string(),
            "before_fen": before_fen,
            "after_fen": after_fen,
        });
        if raise(
            db,
            Kind::IncomeDrop,
            &county,
            &household.to_string(),
            &after.to_string(),
            detail,
            now,
        )
        .await?
        .is_some()
        {
            raised += 1;
        }
    }
    Ok(raised)
}

/// Whether `actor` may see warning `w`: officials of its region or a region above it, and
/// admins; a household's income only the officials of its own county.
pub fn may_see(actor: &Actor, w: &warning::Model) -> bool {
    match Kind::from_code(&w.kind) {
        Some(Kind::IncomeDrop) => {
            actor.role == Role::Official
                && actor.user.region_code.as_deref() == Some(w.region_code.as_str())
        }
        Some(_) => actor.is_admin() || actor.official_covers(&w.region_code),
        None => false,
    }
}

/// A warning as officials read it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WarningView {
    pub id: i64,
    pub kind: Kind,
    pub region_code: String,
    /// A listing id, a region code or a household's internal id.
    pub subject: String,
    /// The day found (滞销) or the quarter measured (`2026Q3`).
    pub occasion: String,
    /// The figures behind it.
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
    pub raised_at: DateTime<Utc>,
    /// Set once the listing sold again, ran out or left its season.
    pub cleared_at: Option<DateTime<Utc>>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub acknowledged_by: Option<i64>,
    pub note: Option<String>,
}

impl WarningView {
    fn of(w: warning::Model) -> Option<WarningView> {
        Some(WarningView {
            id: w.id,
            kind: Kind::from_code(&w.kind)?,
            region_code: w.region_code,
            subject: w.subject,
            occasion: w.occasion,
            detail: serde_json::from_str(&w.detail).unwrap_or_default(),
            raised_at: w.raised_at,
            cleared_at: w.cleared_at,
            acknowledged_at: w.acknowledged_at,
            acknowledged_by: w.acknowledged_by,
            note: w.note,
        })
    }
}

/// `?kind=&cleared=`.
#[derive(Debug, Default, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct WarningQuery {
    /// One kind only.
    pub kind: Option<Kind>,
    /// Also the 滞销 warnings already cleared; no by default.
    pub cleared: Option<bool>,
}

/// The warnings of region `code` and the regions below it that `actor` may see, the
/// unacknowledged first, newest first.
pub async fn list(
    db: &impl ConnectionTrait,
    actor: &Actor,
    code: &str,
    q: &WarningQuery,
) -> Result<Vec<WarningView>, DbErr> {
    let prefix = region_level(code).map_or(code, |l| &code[..l.prefix_len()]);
    let mut find = warning::Entity::find()
        .filter(warning::Column::RegionCode.starts_with(prefix))
        .order_by_desc(warning::Column::RaisedAt)
        .order_by_desc(warning::Column::Id);
    if let Some(k) = q.kind {
        find = find.filter(warning::Column::Kind.eq(k.code()));
    }
    if q.cleared != Some(true) {
        find = find.filter(warning::Column::ClearedAt.is_null());
    }
    let mut out: Vec<WarningView> = find
        .all(db)
        .await?
        .into_iter()
        .filter(|w| region_contains(code, &w.region_code) && may_see(actor, w))
        .filter_map(WarningView::of)
        .collect();
    out.sort_by_key(|w| w.acknowledged_at.is_some());
    Ok(out)
}

/// The longest acknowledgement note.
pub const NOTE_MAX_CHARS: usize = 500;

/// Acknowledges warning `id` with `note`, once, and audits it. Officials who may see the
/// warning may; buyers and producers get 403, other officials 404 (a household's warning is not
/// even confirmed to exist), admins 403.
pub async fn acknowledge(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i64,
    note: impl FnOnce() -> AppResult<String>,
    now: DateTime<Utc>,
) -> AppResult<WarningView> {
    if !matches!(actor.role, Role::Official | Role::Admin) {
        return Err(AppError::Forbidden("warnings are for officials".into()));
    }
    let txn = crate::db::write_txn(db).await?;
    let w = warning::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .filter(|w| may_see(actor, w))
        .ok_or(AppError::NotFound("warning"))?;
    if actor.role != Role::Official {
        return Err(AppError::Forbidden(
            "warnings are acknowledged by the region's officials".into(),
        ));
    }
    // The note is read only now: who may not acknowledge learns nothing from what they sent.
    let note = note()?;
    let note = note.trim();
    let mut v = Validator::default();
    if note.is_empty() {
        v.add("note", "required", "say what is being done about it");
    } else {
        v.fits("note", note, NOTE_MAX_CHARS);
    }
    v.finish()?;
    if w.acknowledged_at.is_some() {
        return Err(already_acknowledged());
    }
    let updated = warning::Entity::update_many()
        .col_expr(warning::Column::AcknowledgedAt, Expr::value(now))
        .col_expr(warning::Column::AcknowledgedBy, Expr::value(actor.id()))
        .col_expr(warning::Column::Note, Expr::value(note))
        .filter(warning::Column::Id.eq(id))
        .filter(warning::Column::AcknowledgedAt.is_null())
        .exec(&txn)
        .await?;
    if updated.rows_affected == 0 {
        return Err(already_acknowledged());
    }
    crate::audit::record(
        &txn,
        Some(actor.id()),
        "stats.warning_acknowledged",
        "warning",
        id,
        serde_json::json!({ "kind": w.kind, "subject": w.subject, "occasion": w.occasion, "note": note }),
    )
    .await?;
    let w = warning::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound("warning"))?;
    txn.commit().await?;
    WarningView::of(w).ok_or(AppError::NotFound("warning"))
}

fn already_acknowledged() -> AppError {
    AppError::Conflict(
        "already_acknowledged",
        "this warning was acknowledged already".into(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seasons_may_wrap_past_december() {
        assert!(in_season(None, None, 7));
        assert!(in_season(Some(9), Some(11), 10));
        assert!(!in_season(Some(9), Some(11), 12));
        assert!(in_season(Some(11), Some(2), 1));
        assert!(in_season(Some(11), Some(2), 11));
        assert!(!in_season(Some(11), Some(2), 3));
    }

    #[test]
    fn the_last_quarter_is_the_one_before_today_in_beijing() {
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        assert_eq!(
            last_quarter(at("2026-12-05T00:00:00Z")),
            Period::Quarter(2026, 3)
        );
        // 16:30 UTC on 31 March is 1 April in Beijing.
        assert_eq!(
            last_quarter(at("2027-03-31T16:30:00Z")),
            Period::Quarter(2027, 1)
        );
        assert_eq!(
            last_quarter(at("2027-02-01T00:00:00Z")),
            Period::Quarter(2026, 4)
        );
    }
}
