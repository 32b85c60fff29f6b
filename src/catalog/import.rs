//! Bulk import of listings from a CSV or XLSX sheet: one listing per row under a header row.
//! Every row is checked; if any row is refused, none is kept and the report names each bad
//! row, its column and the reason.

use std::io::Cursor;

use calamine::{Data, Reader, Xlsx};
use serde::Serialize;

use super::categories;
use super::domain::{Certification, Grade, QuantityInput, Unit};
use super::draft::ListingRequest;
use super::entity::{category, category_alias};
use super::listings;
use crate::accounts::Actor;
use crate::error::{AppError, AppResult};
use sea_orm::DatabaseConnection;

/// The largest sheet accepted, in bytes.
pub const MAX_BYTES: usize = 2 * 1024 * 1024;
/// The most listings one sheet may hold.
pub const MAX_ROWS: usize = 1000;

/// The columns a sheet may have, by their Chinese or English heading. `title`, `category`,
/// `unit`, `price_yuan` and `stock` are required.
const COLUMNS: [(&str, &str); 12] = [
    ("title", "标题"),
    ("category", "品类"),
    ("unit", "单位"),
    ("price_yuan", "单价"),
    ("stock", "库存"),
    ("min_order", "起订量"),
    ("grade", "等级"),
    ("season_start", "上市月起"),
    ("season_end", "上市月止"),
    ("certifications", "认证"),
    ("description", "描述"),
    ("origin_region_code", "产地代码"),
];
const REQUIRED: [&str; 5] = ["title", "category", "unit", "price_yuan", "stock"];

/// One refused cell or row.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RowError {
    /// The row's number as the spreadsheet shows it (the header is row 1); 0 for the sheet.
    pub row: usize,
    /// The column's heading as the sheet has it, or the listing field.
    pub column: String,
    pub code: String,
    pub message: String,
}

/// What an import did.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Listings created: all the rows, or none when `errors` is not empty.
    pub created: usize,
    pub rows: usize,
    pub errors: Vec<RowError>,
    /// The listings created, for matching to look at once the import has committed.
    #[serde(skip)]
    pub listing_ids: Vec<i64>,
}

impl Report {
    /// A sheet of `rows` rows refused for `errors`: nothing created.
    pub fn refused(rows: usize, errors: Vec<RowError>) -> Report {
        Report {
            created: 0,
            rows,
            errors,
            listing_ids: Vec::new(),
        }
    }
}

fn sheet_error(code: &str, message: impl Into<String>) -> RowError {
    RowError {
        row: 0,
        column: String::new(),
        code: code.into(),
        message: message.into(),
    }
}

/// The sheet's rows as text, the header first. XLSX is recognised by its content (a zip).
fn rows_of(bytes: &[u8]) -> Result<Vec<Vec<String>>, RowError> {
    if bytes.starts_with(b"PK\x03\x04") {
        let mut book = Xlsx::new(Cursor::new(bytes))
            .map_err(|e| sheet_error("unreadable", format!("not a readable XLSX workbook: {e}")))?;
        let range = book
            .worksheet_range_at(0)
            .ok_or_else(|| sheet_error("empty", "the workbook has no sheet"))?
            .map_err(|e| {
                sheet_error("unreadable", format!("the first sheet cannot be read: {e}"))
            })?;
        return Ok(range
            .rows()
            .map(|r| r.iter().map(cell_text).collect())
            .collect());
    }
    let text = std::str::from_utf8(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes))
        .map_err(|_| sheet_error("unreadable", "a CSV sheet must be UTF-8 text"))?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    reader
        .records()
        .map(|r| {
            r.map(|rec| rec.iter().map(|c| c.trim().to_string()).collect())
                .map_err(|e| sheet_error("unreadable", format!("not a readable CSV sheet: {e}")))
        })
        .collect()
}

/// A cell as typed: whole numbers without a decimal point, decimals as their shortest text.
fn cell_text(c: &Data) -> String {
    match c {
        Data::Empty => String::new(),
        Data::String(s) => s.trim().to_string(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::Float(f) => f.to_string(),
        Data::Bool(b) => b.to_string(),
        other => other.to_string(),
    }
}

/// Exact yuan such as `3`, `3.5` or `3.50` as fen.
pub fn fen_of(yuan: &str) -> Option<i64> {
    let (whole, frac) = yuan.split_once('.').unwrap_or((yuan, "0"));
    if whole.is_empty()
        || frac.is_empty()
        || frac.len() > 2
        || !whole.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) || whole.len() > 9 {
        return None;
    }
    let cents: i64 = format!("{frac:0<2}").parse().ok()?;
    Some(whole.parse::<i64>().ok()? * 100 + cents)
}

/// Reads the sheet and creates its listings for the producer's organization, all or none.
pub async fn import(db: &DatabaseConnection, actor: &Actor, bytes: &[u8]) -> AppResult<Report> {
    if bytes.len() > MAX_BYTES {
        return Err(AppError::PayloadTooLarge);
    }
    let fail = |e: RowError| Report::refused(0, vec![e]);
    let rows = match rows_of(bytes) {
        Ok(r) => r,
        Err(e) => return Ok(fail(e)),
    };
    // Numbered before blank rows are skipped, so that numbers match the spreadsheet's.
    let mut rows = rows
        .into_iter()
        .enumerate()
        .filter(|(_, r)| r.iter().any(|c| !c.is_empty()));
    let Some((_, header)) = rows.next() else {
        return Ok(fail(sheet_error("empty", "the sheet has no header row")));
    };
    // Column index of each known field.
    let mut at: Vec<(usize, &str, String)> = Vec::new();
    for (i, h) in header.iter().enumerate() {
        let h = h.trim();
        let key = h.split(['(', '(']).next().unwrap_or(h).trim();
        if let Some((field, _)) = COLUMNS
            .iter()
            .find(|(en, zh)| key.eq_ignore_ascii_case(en) || key == *zh)
        {
            at.push((i, field, h.to_string()));
        }
    }
    let missing: Vec<&str> = REQUIRED
        .iter()
        .filter(|f| !at.iter().any(|(_, field, _)| field == *f))
        .copied()
        .collect();
    if !missing.is_empty() {
        return Ok(fail(sheet_error(
            "missing_columns",
            format!("the header row lacks: {}", missing.join(", ")),
        )));
    }
    let body: Vec<(usize, Vec<String>)> = rows.collect();
    if body.len() > MAX_ROWS {
        return Ok(fail(sheet_error(
            "too_many_rows",
            format!("at most {MAX_ROWS} listings per sheet"),
        )));
    }
    let cats = categories::all_with_aliases(db).await?;
    let txn = crate::db::write_txn(db).await?;
    let mut errors = Vec::new();
    let mut created = Vec::new();
    for (n, row) in &body {
        // The spreadsheet's own row number: blank rows were skipped, the header is 1.
        let row_no = n + 1;
        let (request, mut row_errors) = row_request(&at, &cats, row_no, row);
        let heading = |field: &str| heading_of(&at, field);
        let outcome = if row_errors.is_empty() {
            match request.into_draft(None) {
                Ok(draft) => listings::create(&txn, actor, draft).await.map(Some),
                Err(e) => Err(e),
            }
        } else {
            Ok(None)
        };
        match outcome {
            Ok(Some(l)) => created.push(l.id),
            Ok(None) => {}
            Err(AppError::Validation(fields)) => {
                for (field, e) in fields {
                    let column = match field.as_str() {
                        "category_id" => heading("category"),
                        "price_fen" => heading("price_yuan"),
                        other => heading(other),
                    };
                    row_errors.push(RowError {
                        row: row_no,
                        column,
                        code: e.code.into(),
                        message: e.message,
                    });
                }
            }
            Err(e) => return Err(e),
        }
        errors.extend(row_errors);
    }
    if !errors.is_empty() {
        txn.rollback().await?;
        return Ok(Report::refused(body.len(), errors));
    }
    txn.commit().await?;
    Ok(Report {
        created: created.len(),
        rows: body.len(),
        errors,
        listing_ids: created,
    })
}

/// The heading a field has in the sheet (its own name where the sheet lacks the column).
fn heading_of(at: &[(usize, &str, String)], field: &str) -> String {
    at.iter()
        .find(|(_, f, _)| *f == field)
        .map(|(_, _, h)| h.clone())
        .unwrap_or_else(|| field.to_string())
}

/// The listing one row asks for, read through the sheet's columns `at` (Chinese names stand
/// for their codes), with what in the row could not be read.
fn row_request(
    at: &[(usize, &str, String)],
    cats: &[(category::Model, Vec<category_alias::Model>)],
    row_no: usize,
    row: &[String],
) -> (ListingRequest, Vec<RowError>) {
    let cell = |field: &str| {
        at.iter()
            .find(|(_, f, _)| *f == field)
            .and_then(|(i, _, _)| row.get(*i))
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
    };
    let heading = |field: &str| heading_of(at, field);
    let mut row_errors = Vec::new();
    let mut bad = |field: &str, code: &str, message: String| {
        row_errors.push(RowError {
            row: row_no,
            column: heading(field),
            code: code.into(),
            message,
        })
    };
    let category_id = cell("category").and_then(|c| {
        let found = cats.iter().find(|(cat, aliases)| {
            c.parse::<i64>().ok() == Some(cat.id)
                || cat.name_zh == c
                || cat.name_en.eq_ignore_ascii_case(&c)
                || cat.slug == c
                || aliases.iter().any(|a| a.alias == c)
        });
        if found.is_none() {
            bad(
                "category",
                "unknown",
                format!("no category is called “{c}”"),
            );
        }
        found.map(|(cat, _)| cat.id)
    });
    // Chinese names stand for their codes; anything else goes on to be checked as a code.
    let unit = cell("unit").map(|u| Unit::from_name_zh(&u).map_or(u, |x| x.code().to_string()));
    let grade = cell("grade").map(|g| Grade::from_name_zh(&g).map_or(g, |x| x.code().to_string()));
    let price_fen = cell("price_yuan").and_then(|p| {
        let fen = fen_of(&p);
        if fen.is_none() {
            bad(
                "price_yuan",
                "invalid",
                format!("“{p}” is not a price in yuan, such as 3.50"),
            );
        }
        fen
    });
    let month = |field: &str, bad: &mut dyn FnMut(&str, &str, String)| {
        cell(field).map(|m| {
            let parsed = m.parse::<i32>().ok();
            if parsed.is_none() {
                bad(
                    field,
                    "invalid",
                    format!("“{m}” is not a month from 1 to 12"),
                );
            }
            parsed
        })
    };
    let season_start = month("season_start", &mut bad);
    let season_end = month("season_end", &mut bad);
    let request = ListingRequest {
        category_id,
        title: cell("title"),
        description: cell("description"),
        unit,
        price_fen,
        stock: cell("stock").map(QuantityInput::Text),
        min_order: cell("min_order").map(QuantityInput::Text),
        grade,
        season_start,
        season_end,
        certifications: cell("certifications").map(|c| {
            c.split([';', ';', ',', ',', '、', ' '])
                .filter(|s| !s.is_empty())
                .map(|c| {
                    Certification::from_words(c)
                        .map_or(c, |x| x.code())
                        .to_string()
                })
                .collect()
        }),
        origin_region_code: cell("origin_region_code"),
        latitude: None,
        longitude: None,
        status: None,
    };
    (request, row_errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_in_yuan_become_exact_fen() {
        assert_eq!(fen_of("3"), Some(300));
        assert_eq!(fen_of("3.5"), Some(350));
        assert_eq!(fen_of("3.05"), Some(305));
        assert_eq!(fen_of("0.01"), Some(1));
        for bad in [
            "",
            "3.",
            ".5",
            "3.005",
            "-3",
            "3,5",
            "三",
            "1e3",
            "9999999999",
        ] {
            assert_eq!(fen_of(bad), None, "{bad}");
        }
    }

    #[test]
    fn csv_rows_keep_their_text_and_skip_a_byte_order_mark() {
        let rows = rows_of("\u{feff}标题,单价\n\"洋芋, 新\",3.50\n".as_bytes()).unwrap();
        assert_eq!(rows, vec![vec!["标题", "单价"], vec!["洋芋, 新", "3.50"]]);
    }

    #[test]
    fn a_file_that_is_neither_is_refused_as_unreadable() {
        let e = rows_of(&[0xff, 0xfe, 0x00, 0x41]).unwrap_err();
        assert_eq!(e.code, "unreadable");
        let e = rows_of(b"PK\x03\x04not really a zip").unwrap_err();
        assert_eq!(e.code, "unreadable");
    }
}
