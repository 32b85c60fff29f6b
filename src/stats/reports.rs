//! Quarterly effectiveness tables (成效统计表): closing a quarter freezes every region's figures;
//! reports read the frozen figures of closed quarters and live figures of open ones. Also the
//! county ledger (台账) and the CSV / XLSX renderings of both.

use std::collections::{BTreeMap, HashMap};

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};
use serde::Serialize;
use utoipa::ToSchema;

use super::domain::{Basis, Period, RegionPath, child_level, local_date};
use super::entity::{quarter_close, snapshot};
use super::rollup::{self, Figures, Group, Scope, statement};
use crate::catalog::domain::{Quantity, RegionLevel, region_level};
use crate::catalog::entity::region;
use crate::error::{AppError, AppResult};

/// Closes an ended quarter: the figures of every region, on both bases, are frozen.
/// The quarters closed, newest first.
pub async fn closed_quarters(db: &impl ConnectionTrait) -> AppResult<Vec<quarter_close::Model>> {
    Ok(quarter_close::Entity::find()
        .order_by_desc(quarter_close::Column::Quarter)
        .all(db)
        .await?)
}

/// Closes quarter `quarter` (`2026Q3`) for every region as `actor`, an admin or an official
/// of a whole province; audited.
pub async fn close_checked(
    db: &sea_orm::DatabaseConnection,
    actor: &crate::accounts::Actor,
    quarter: &str,
) -> AppResult<quarter_close::Model> {
    let txn = crate::db::write_txn(db).await?;
    let closed = close_in(&txn, actor, quarter).await?;
    txn.commit().await?;
    Ok(closed)
}

/// [`close_checked`] within the caller's transaction.
pub async fn close_in(
    txn: &sea_orm::DatabaseTransaction,
    actor: &crate::accounts::Actor,
    quarter: &str,
) -> AppResult<quarter_close::Model> {
    if !super::access::may_close_quarters(actor) {
        return Err(AppError::Forbidden(
            "only admins and province officials close quarters".into(),
        ));
    }
    let quarter = Period::parse(quarter.trim())
        .filter(|p| p.quarter_key().is_some())
        .ok_or_else(|| AppError::field("quarter", "invalid_format", "a quarter such as 2026Q3"))?;
    let closed = close_quarter(txn, quarter, actor.id()).await?;
    crate::audit::record(
        txn,
        Some(actor.id()),
        "stats.quarter_closed",
        "quarter",
        quarter,
        serde_json::json!({}),
    )
    .await?;
    Ok(closed)
}

/// Closes an ended quarter (see [`close_checked`]).
pub async fn close_quarter(
    db: &(impl ConnectionTrait + sea_orm::TransactionTrait),
    quarter: Period,
    actor_id: i64,
) -> AppResult<quarter_close::Model> {
    let key = quarter
        .quarter_key()
        .ok_or_else(|| AppError::field("quarter", "invalid_format", "a quarter such as 2026Q3"))?;
    if !quarter.has_ended(local_date(Utc::now())) {
        return Err(AppError::Conflict(
            "quarter_not_ended",
            format!("{quarter} has not ended yet"),
        ));
    }
    let already = quarter_close::Entity::find()
        .filter(quarter_close::Column::Quarter.eq(key))
        .one(db)
        .await?;
    if already.is_some() {
        return Err(AppError::Conflict(
            "quarter_closed",
            format!("{quarter} is already closed"),
        ));
    }
    // Every order change made before the close counts in it, however far the projector is.
    super::projector::catch_up(db).await?;
    let provinces: Vec<String> = region::Entity::find()
        .filter(region::Column::Level.eq(RegionLevel::Province as i16))
        .all(db)
        .await?
        .into_iter()
        .map(|r| r.code)
        .collect();
    for basis in [Basis::Placed, Basis::Completed] {
        for province in &provinces {
            let scope = Scope::of(basis, RegionLevel::Province, province, quarter);
            let mut rows = rollup::aggregate(db, &scope, Group::Total).await?;
            rows = rows.into_values().map(|f| (province.clone(), f)).collect();
            for level in [
                RegionLevel::Prefecture,
                RegionLevel::County,
                RegionLevel::Township,
                RegionLevel::Village,
            ] {
                let by = rollup::aggregate(db, &scope, Group::Region(level)).await?;
                rows.extend(by.into_iter().filter(|(code, _)| !code.is_empty()));
            }
            for (code, f) in rows {
                snapshot::ActiveModel {
                    quarter: Set(key),
                    kind: Set(basis.code().into()),
                    region_code: Set(code),
                    sales_fen: Set(f.sales_fen),
                    adjustment_fen: Set(f.adjustment_fen),
                    orders: Set(f.orders),
                    buyers: Set(f.buyers),
                    organizations: Set(f.organizations),
                    households: Set(f.households),
                    household_fen: Set(f.household_fen),
                    quantities: Set(serde_json::to_string(&f.quantities)
                        .map_err(|e| AppError::Internal(e.into()))?),
                    ..Default::default()
                }
                .insert(db)
                .await?;
            }
        }
    }
    Ok(quarter_close::ActiveModel {
        quarter: Set(key),
        closed_by: Set(actor_id),
        closed_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(db)
    .await?)
}

/// One row of a report: a child region (or what was sold at the region itself), or the total.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReportRow {
    /// The region's code; for sales made at the region itself rather than in a child, the
    /// region's own code with `direct` set.
    pub code: String,
    pub name: String,
    /// The name in English, from the region table (or the category's).
    pub name_en: String,
    pub direct: bool,
    pub figures: Figures,
}

/// A quarterly effectiveness table for one region.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Report {
    pub region_code: String,
    pub region_name: String,
    pub quarter: String,
    pub basis: Basis,
    /// True when the figures are the frozen ones of a closed quarter.
    pub closed: bool,
    pub rows: Vec<ReportRow>,
    pub total: Figures,
}

fn subtract(total: &Figures, parts: &[&Figures]) -> Figures {
    let mut rest = Figures {
        sales_fen: total.sales_fen,
        adjustment_fen: total.adjustment_fen,
        household_fen: total.household_fen,
        quantities: total.quantities.clone(),
        ..Default::default()
    };
    for p in parts {
        rest.sales_fen -= p.sales_fen;
        rest.adjustment_fen -= p.adjustment_fen;
        rest.household_fen -= p.household_fen;
        for (unit, q) in &p.quantities {
            let left = rest.quantities.get(unit).map_or(0, |q| q.milli()) - q.milli();
            rest.quantities
                .insert(unit.clone(), Quantity::from_milli(left));
        }
    }
    rest.quantities.retain(|_, q| q.milli() != 0);
    rest
}

/// Region names by code.
pub async fn names(
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

/// True if the quarter is closed.
pub async fn is_closed(db: &impl ConnectionTrait, key: i32) -> Result<bool, sea_orm::DbErr> {
    Ok(quarter_close::Entity::find()
        .filter(quarter_close::Column::Quarter.eq(key))
        .one(db)
        .await?
        .is_some())
}

/// The children's figures and the region's total for a period: frozen for a closed quarter,
/// live otherwise. Children that sold nothing are left out.
pub async fn breakdown(
    db: &impl ConnectionTrait,
    region: &region::Model,
    level: RegionLevel,
    period: Period,
    basis: Basis,
) -> AppResult<(bool, Vec<ReportRow>, Figures)> {
    let child = child_level(level);
    let frozen = match period.quarter_key() {
        Some(key) if is_closed(db, key).await? => Some(key),
        _ => None,
    };
    let (total, children): (Figures, BTreeMap<String, Figures>) = if let Some(key) = frozen {
        let rows = snapshot::Entity::find()
            .filter(snapshot::Column::Quarter.eq(key))
            .filter(snapshot::Column::Kind.eq(basis.code()))
            .order_by_asc(snapshot::Column::RegionCode)
            .all(db)
            .await?;
        let mut total = Figures::default();
        let mut children = BTreeMap::new();
        for row in rows {
            let f = Figures {
                sales_fen: row.sales_fen,
                adjustment_fen: row.adjustment_fen,
                orders: row.orders,
                buyers: row.buyers,
                organizations: row.organizations,
                households: row.households,
                household_fen: row.household_fen,
                quantities: serde_json::from_str::<BTreeMap<String, String>>(&row.quantities)
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|(u, q)| Some((u, q.parse::<Quantity>().ok()?)))
                    .collect(),
            };
            if row.region_code == region.code {
                total = f;
            } else if let (Some(c), Some(path)) = (child, RegionPath::of(&row.region_code))
                && path.at(level) == region.code
                && region_level(&row.region_code) == Some(c)
            {
                children.insert(row.region_code, f);
            }
        }
        (total, children)
    } else {
        let scope = Scope::of(basis, level, &region.code, period);
        let total = rollup::total(db, &scope).await?;
        let children = match child {
            Some(c) => rollup::aggregate(db, &scope, Group::Region(c))
                .await?
                .into_iter()
                .filter(|(code, _)| !code.is_empty())
                .collect(),
            None => BTreeMap::new(),
        };
        (total, children)
    };
    let names = names(db, children.keys().cloned().collect()).await?;
    let mut rows: Vec<ReportRow> = children
        .iter()
        .map(|(code, f)| {
            let (name, name_en) = names
                .get(code)
                .cloned()
                .unwrap_or_else(|| (code.clone(), code.clone()));
            ReportRow {
                code: code.clone(),
                name,
                name_en,
                direct: false,
                figures: f.clone(),
            }
        })
        .collect();
    let direct = subtract(&total, &children.values().collect::<Vec<_>>());
    if child.is_some() && (direct.sales_fen != 0 || !direct.quantities.is_empty()) {
        rows.push(ReportRow {
            code: region.code.clone(),
            name: format!("{}(本级)", region.name),
            name_en: format!("{} (itself)", region.name_en),
            direct: true,
            figures: direct,
        });
    }
    Ok((frozen.is_some(), rows, total))
}

/// The effectiveness table of `region` for a quarter.
pub async fn quarterly_report(
    db: &impl ConnectionTrait,
    region: &region::Model,
    level: RegionLevel,
    quarter: Period,
    basis: Basis,
) -> AppResult<Report> {
    let (closed, rows, total) = breakdown(db, region, level, quarter, basis).await?;
    Ok(Report {
        region_code: region.code.clone(),
        region_name: region.name.clone(),
        quarter: quarter.to_string(),
        basis,
        closed,
        rows,
        total,
    })
}

/// The column headings of a 成效统计表.
pub const REPORT_HEADINGS: [&str; 11] = [
    "地区代码",
    "地区",
    "销售额(元)",
    "销售额(分)",
    "其中:以前季度调整(分)",
    "订单数",
    "采购方数",
    "经营主体数",
    "带动建档立卡户数",
    "带动户收入(分)",
    "销售数量",
];

/// A spreadsheet cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Int(i64),
}

fn quantities_text(q: &BTreeMap<String, Quantity>) -> String {
    q.iter()
        .map(|(unit, q)| {
            let name = crate::catalog::domain::Unit::from_code(unit)
                .map_or(unit.as_str(), |u| u.name_zh());
            format!("{q}{name}")
        })
        .collect::<Vec<_>>()
        .join(";")
}

fn yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    format!(
        "{sign}{}.{:02}",
        fen.unsigned_abs() / 100,
        fen.unsigned_abs() % 100
    )
}

/// The report as rows of cells, headings first, total last.
pub fn report_table(r: &Report) -> Vec<Vec<Cell>> {
    let row = |code: &str, name: &str, f: &Figures| {
        vec![
            Cell::Text(code.into()),
            Cell::Text(name.into()),
            Cell::Text(yuan(f.sales_fen)),
            Cell::Int(f.sales_fen),
            Cell::Int(f.adjustment_fen),
            Cell::Int(f.orders),
            Cell::Int(f.buyers),
            Cell::Int(f.organizations),
            Cell::Int(f.households),
            Cell::Int(f.household_fen),
            Cell::Text(quantities_text(&f.quantities)),
        ]
    };
    let mut out = vec![
        REPORT_HEADINGS
            .iter()
            .map(|h| Cell::Text((*h).into()))
            .collect(),
    ];
    for r in &r.rows {
        out.push(row(&r.code, &r.name, &r.figures));
    }
    out.push(row(
        &r.region_code,
        &format!("{} 合计", r.region_name),
        &r.total,
    ));
    out
}

/// One transaction of the county ledger.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LedgerEntry {
    pub fact_id: i64,
    pub day: i32,
    pub kind: String,
    pub sign: i32,
    pub order_id: i64,
    pub order_line_id: i64,
    pub organization: String,
    pub region_code: String,
    pub category_id: i64,
    pub title: String,
    pub unit: String,
    pub quantity: String,
    pub amount_fen: i64,
    pub household_fen: i64,
    pub buyer_type: String,
    /// The number of the invoice (发票) the seller recorded for the order, if any.
    pub invoice_number: Option<String>,
    /// Whether it takes back the part of a line that was not received (a short delivery).
    pub short: bool,
}

/// Every fact of a county between two days, in booking order.
pub async fn ledger(
    db: &impl ConnectionTrait,
    county: &str,
    from_day: i32,
    to_day: i32,
) -> Result<Vec<LedgerEntry>, sea_orm::DbErr> {
    let sql = "SELECT f.id, f.day, f.kind, f.sign, f.order_id, f.order_line_id, o.name AS org, \
               f.region_code, f.category_id, l.title, f.unit, f.quantity_milli, f.amount_fen, \
               f.household_fen, f.buyer_type, i.number AS invoice_number, f.part \
               FROM stats_facts f JOIN order_lines l ON l.id = f.order_line_id \
               JOIN organizations o ON o.id = f.organization_id \
               LEFT JOIN order_invoices i ON i.order_id = f.order_id \
               WHERE f.county_code = ? AND f.day BETWEEN ? AND ? ORDER BY f.day, f.id";
    let rows = db
        .query_all_raw(statement(
            db.get_database_backend(),
            sql,
            vec![county.into(), from_day.into(), to_day.into()],
        ))
        .await?;
    rows.into_iter()
        .map(|r| {
            Ok(LedgerEntry {
                fact_id: r.try_get("", "id")?,
                day: r.try_get("", "day")?,
                kind: r.try_get("", "kind")?,
                sign: r.try_get("", "sign")?,
                order_id: r.try_get("", "order_id")?,
                order_line_id: r.try_get("", "order_line_id")?,
                organization: r.try_get("", "org")?,
                region_code: r.try_get("", "region_code")?,
                category_id: r.try_get("", "category_id")?,
                title: r.try_get("", "title")?,
                unit: r.try_get("", "unit")?,
                quantity: Quantity::from_milli(r.try_get::<i64>("", "quantity_milli")?.abs())
                    .to_string(),
                amount_fen: r.try_get("", "amount_fen")?,
                household_fen: r.try_get("", "household_fen")?,
                buyer_type: r.try_get("", "buyer_type")?,
                invoice_number: r.try_get("", "invoice_number")?,
                short: r.try_get::<i32>("", "part")? == 1,
            })
        })
        .collect()
}

/// The ledger as rows of cells, headings first.
pub fn ledger_table(entries: &[LedgerEntry]) -> Vec<Vec<Cell>> {
    let mut out = vec![
        [
            "流水号",
            "日期",
            "口径",
            "冲正",
            "订单号",
            "明细号",
            "经营主体",
            "产地代码",
            "品类",
            "商品",
            "单位",
            "数量",
            "金额(分)",
            "带动户收入(分)",
            "采购方类型",
            "发票号",
        ]
        .iter()
        .map(|h| Cell::Text((*h).into()))
        .collect(),
    ];
    for e in entries {
        out.push(vec![
            Cell::Int(e.fact_id),
            Cell::Text(format!(
                "{}-{:02}-{:02}",
                e.day / 10_000,
                e.day / 100 % 100,
                e.day % 100
            )),
            Cell::Text(
                if e.kind == "completed" {
                    "成交"
                } else {
                    "下单"
                }
                .into(),
            ),
            Cell::Text(
                match (e.sign < 0, e.short) {
                    (_, true) => "短少退款",
                    (true, false) => "是",
                    (false, false) => "否",
                }
                .into(),
            ),
            Cell::Int(e.order_id),
            Cell::Int(e.order_line_id),
            Cell::Text(e.organization.clone()),
            Cell::Text(e.region_code.clone()),
            Cell::Int(e.category_id),
            Cell::Text(e.title.clone()),
            Cell::Text(e.unit.clone()),
            Cell::Text(if e.sign < 0 {
                format!("-{}", e.quantity)
            } else {
                e.quantity.clone()
            }),
            Cell::Int(e.amount_fen),
            Cell::Int(e.household_fen),
            Cell::Text(e.buyer_type.clone()),
            Cell::Text(e.invoice_number.clone().unwrap_or_default()),
        ]);
    }
    out
}

/// CSV (RFC 4180) with a byte-order mark so spreadsheet programs read the Chinese correctly.
pub fn to_csv(table: &[Vec<Cell>]) -> Vec<u8> {
    let mut out = String::from("\u{feff}");
    for row in table {
        let cells: Vec<String> = row
            .iter()
            .map(|c| match c {
                Cell::Int(n) => n.to_string(),
                Cell::Text(s) if s.contains([',', '"', '\n', '\r']) => {
                    format!("\"{}\"", s.replace('"', "\"\""))
                }
                Cell::Text(s) => s.clone(),
            })
            .collect();
        out.push_str(&cells.join(","));
        out.push_str("\r\n");
    }
    out.into_bytes()
}

/// An XLSX workbook with one sheet.
pub fn to_xlsx(sheet: &str, table: &[Vec<Cell>]) -> anyhow::Result<Vec<u8>> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let ws = book.add_worksheet();
    ws.set_name(sheet)?;
    for (r, row) in table.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            match cell {
                // Whole numbers up to 2^53 are exact in a spreadsheet's doubles.
                Cell::Int(n) => ws.write_number(r as u32, c as u16, *n as f64)?,
                Cell::Text(s) => ws.write_string(r as u32, c as u16, s)?,
            };
        }
    }
    Ok(book.save_to_buffer()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_what_needs_quoting() {
        let t = vec![vec![
            Cell::Text("a,b".into()),
            Cell::Int(-5),
            Cell::Text("说\"好\"".into()),
        ]];
        assert_eq!(
            String::from_utf8(to_csv(&t)).unwrap(),
            "\u{feff}\"a,b\",-5,\"说\"\"好\"\"\"\r\n"
        );
    }

    #[test]
    fn the_direct_remainder_keeps_the_total_exact() {
        let total = Figures {
            sales_fen: 1000,
            household_fen: 100,
            quantities: [("jin".to_string(), Quantity::from_milli(5000))].into(),
            ..Default::default()
        };
        let child = Figures {
            sales_fen: 600,
            household_fen: 100,
            quantities: [("jin".to_string(), Quantity::from_milli(3000))].into(),
            ..Default::default()
        };
        let rest = subtract(&total, &[&child]);
        assert_eq!(rest.sales_fen, 400);
        assert_eq!(rest.household_fen, 0);
        assert_eq!(rest.quantities["jin"], Quantity::from_milli(2000));
    }
}
