//! What trust adds to a region's sales: the share of its sales whose listings carried a
//! verified certificate when they were bought, and how often the trace pages of its lots
//! were opened.

use chrono::{Datelike, NaiveDate, TimeZone};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, FromQueryResult, QueryFilter, QuerySelect,
    RelationTrait,
};
use serde::Serialize;
use utoipa::ToSchema;

use super::domain::{Period, china};
use crate::catalog::domain::region_level;
use crate::orders::entity::{order, order_line};

/// A region's trust figures for a period.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct Trust {
    /// Sales placed in the period, not cancelled, in fen.
    pub sales_fen: i64,
    /// Of those, the sales whose listing carried a certificate in effect when bought.
    pub certified_fen: i64,
    /// `certified_fen` over `sales_fen`, in basis points (0 when nothing sold).
    pub certified_share_bp: i64,
    /// Of those, the sales whose listing carried a 消费帮扶产品认定 in effect when bought.
    pub recognised_fen: i64,
    /// How often the trace pages of the region's lots were opened, ever.
    pub trace_scans: i64,
}

#[derive(Debug, FromQueryResult)]
struct Sum {
    total: Option<i64>,
}

/// The first instant of a period's first day and of the day after its last, in Beijing time.
fn bounds(period: Period) -> (chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>) {
    let start = period.start_day();
    let first =
        NaiveDate::from_ymd_opt(start / 10_000, (start / 100 % 100) as u32, 1).unwrap_or_default();
    let months = period.months() as i32;
    let after = first
        .with_day(1)
        .and_then(|d| {
            let m0 = d.month0() as i32 + months;
            NaiveDate::from_ymd_opt(d.year() + m0 / 12, (m0 % 12) as u32 + 1, 1)
        })
        .unwrap_or(first);
    let at = |d: NaiveDate| {
        china()
            .from_local_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default())
            .single()
            .map(|t| t.with_timezone(&chrono::Utc))
            .unwrap_or_default()
    };
    (at(first), at(after))
}

async fn sales(
    db: &impl ConnectionTrait,
    prefix: &str,
    period: Period,
    only: Option<order_line::Column>,
) -> Result<i64, DbErr> {
    let (from, to) = bounds(period);
    let mut q = order_line::Entity::find()
        .select_only()
        // SUM of a BIGINT is NUMERIC on PostgreSQL: cast back to read it as a whole number.
        .column_as(
            Expr::cust("CAST(SUM(order_lines.amount_fen) AS BIGINT)"),
            "total",
        )
        .join(
            sea_orm::JoinType::InnerJoin,
            order_line::Relation::Order.def(),
        )
        .filter(order_line::Column::SellerRegionCode.starts_with(prefix))
        .filter(order::Column::Status.ne("cancelled"))
        .filter(order::Column::PlacedAt.gte(from))
        .filter(order::Column::PlacedAt.lt(to));
    if let Some(flag) = only {
        q = q.filter(flag.eq(true));
    }
    Ok(q.into_model::<Sum>()
        .one(db)
        .await?
        .and_then(|s| s.total)
        .unwrap_or(0))
}

/// The trust figures of `region` for `period`.
pub async fn trust(
    db: &impl ConnectionTrait,
    region: &str,
    period: Period,
) -> Result<Trust, DbErr> {
    let prefix = region_level(region).map_or(region, |l| &region[..l.prefix_len()]);
    let sales_fen = sales(db, prefix, period, None).await?;
    let certified_fen = sales(db, prefix, period, Some(order_line::Column::Certified)).await?;
    let recognised_fen = sales(db, prefix, period, Some(order_line::Column::Recognised)).await?;
    Ok(Trust {
        sales_fen,
        certified_fen,
        certified_share_bp: if sales_fen > 0 {
            certified_fen * 10_000 / sales_fen
        } else {
            0
        },
        recognised_fen,
        trace_scans: crate::catalog::lots::scans_in(db, region).await?,
    })
}
