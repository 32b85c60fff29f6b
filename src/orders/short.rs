//! Partial shipment and short delivery. The seller may ship less than a line ordered: what
//! stays behind goes back on the listing. The buyer may accept less than was shipped (lost or
//! spoilt on the way). Either way the buyer pays for what arrived: the difference is refunded to
//! the fen and taken off the order's goods and total, and the statistics take it back once.
//! Both steps ride on the order's own transitions (ship, receive), whose compare-and-set makes
//! each happen at most once.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};
use serde::Deserialize;
use utoipa::ToSchema;

use super::domain::line_amount;
use super::entity::{order, order_line, order_receipt_photo};
use crate::accounts::Actor;
use crate::catalog::domain::{Quantity, QuantityInput};
use crate::catalog::entity::listing;
use crate::error::{AppError, AppResult, FieldError, Validator};

/// A line's quantity as sent: what shipped, or what arrived.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineQuantityInput {
    pub line_id: i64,
    /// In the line's unit, an exact decimal; zero when none of it shipped or arrived.
    #[schema(value_type = String)]
    pub quantity: QuantityInput,
}

/// A line's quantity, read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineQuantity {
    pub line_id: i64,
    pub quantity: Quantity,
}

/// The quantities as sent, each read; refusals name `{field}[i].quantity`.
pub fn parse(field: &str, input: &[LineQuantityInput]) -> AppResult<Vec<LineQuantity>> {
    let mut v = Validator::default();
    let read = input
        .iter()
        .enumerate()
        .filter_map(|(i, q)| {
            let quantity = v.check(
                &format!("{field}[{i}].quantity"),
                q.quantity.parse().map_err(|e| e.field_error()),
            )?;
            Some(LineQuantity {
                line_id: q.line_id,
                quantity,
            })
        })
        .collect();
    v.finish()?;
    Ok(read)
}

/// Each line's new quantity: the one named for it, else `default` of the line. Each must name a
/// line of the order once and lie between zero and `most` of the line; refusals name
/// `{field}[i]…`.
fn quantities(
    field: &str,
    named: &[LineQuantity],
    lines: &[order_line::Model],
    most: impl Fn(&order_line::Model) -> i64,
) -> AppResult<BTreeMap<i64, i64>> {
    let mut out: BTreeMap<i64, i64> = lines.iter().map(|l| (l.id, most(l))).collect();
    let mut v = Validator::default();
    let mut seen = BTreeSet::new();
    for (i, q) in named.iter().enumerate() {
        let Some(line) = lines.iter().find(|l| l.id == q.line_id) else {
            v.add(
                &format!("{field}[{i}].line_id"),
                "unknown",
                "not a line of this order",
            );
            continue;
        };
        if !seen.insert(line.id) {
            v.add(
                &format!("{field}[{i}]"),
                "duplicate",
                "this line is named twice",
            );
            continue;
        }
        let limit = most(line);
        if q.quantity.milli() > limit {
            v.add(
                &format!("{field}[{i}].quantity"),
                "exceeds_line",
                format!(
                    "{}: at most {} {}",
                    line.title,
                    Quantity::from_milli(limit),
                    line.unit.name_zh()
                ),
            );
            continue;
        }
        out.insert(line.id, q.quantity.milli());
    }
    v.finish()?;
    Ok(out)
}

async fn lines_of(
    db: &impl ConnectionTrait,
    order_id: i64,
) -> Result<Vec<order_line::Model>, sea_orm::DbErr> {
    order_line::Entity::find()
        .filter(order_line::Column::OrderId.eq(order_id))
        .order_by_asc(order_line::Column::Id)
        .all(db)
        .await
}

/// On shipping: records what each line shipped (a line not named ships in full) and puts
/// what stayed behind back on its listing. Refuses a shipment of nothing (cancel instead).
/// Returns each line's shipped quantity, in thousandths.
pub async fn record_shipped(
    db: &impl ConnectionTrait,
    order_id: i64,
    named: &[LineQuantity],
    now: DateTime<Utc>,
) -> AppResult<BTreeMap<i64, i64>> {
    let lines = lines_of(db, order_id).await?;
    let shipped = quantities("lines", named, &lines, |l| l.quantity_milli)?;
    if shipped.values().all(|q| *q == 0) {
        return Err(AppError::Validation(
            [(
                "lines".to_string(),
                FieldError::new(
                    "nothing_shipped",
                    "ship at least part of one line, or cancel the order",
                ),
            )]
            .into(),
        ));
    }
    let mut back: BTreeMap<i64, i64> = BTreeMap::new();
    for line in &lines {
        let q = shipped[&line.id];
        order_line::Entity::update_many()
            .col_expr(order_line::Column::ShippedMilli, Expr::value(q))
            .filter(order_line::Column::Id.eq(line.id))
            .exec(db)
            .await?;
        if q < line.quantity_milli {
            *back.entry(line.listing_id).or_default() += line.quantity_milli - q;
        }
    }
    // Stays behind: back in stock and no longer sold, listing id ascending as every lock.
    for (listing_id, milli) in back {
        move_stock(db, listing_id, milli, milli, now).await?;
    }
    Ok(shipped)
}

/// On delivery: records what the buyer accepted of each line (a line not named arrived as
/// shipped), refunds what was ordered and did not arrive, and takes what was lost on the way
/// off the listing's sold quantity. Returns the refund, in fen.
pub async fn record_received(
    db: &impl ConnectionTrait,
    o: &order::Model,
    named: &[LineQuantity],
    now: DateTime<Utc>,
) -> AppResult<i64> {
    let lines = lines_of(db, o.id).await?;
    let shipped = |l: &order_line::Model| l.shipped_milli.unwrap_or(l.quantity_milli);
    let received = quantities("lines", named, &lines, shipped)?;
    let mut refund = 0;
    let mut lost: BTreeMap<i64, i64> = BTreeMap::new();
    for line in &lines {
        let q = received[&line.id];
        let kept = line_amount(line.unit_price_fen, Quantity::from_milli(q)).unwrap_or(0);
        let short = if q < line.quantity_milli {
            Ord::max(line.amount_fen - kept, 0)
        } else {
            0
        };
        refund += short;
        order_line::Entity::update_many()
            .col_expr(order_line::Column::ReceivedMilli, Expr::value(q))
            .col_expr(order_line::Column::ShortFen, Expr::value(short))
            .filter(order_line::Column::Id.eq(line.id))
            .exec(db)
            .await?;
        if q < shipped(line) {
            *lost.entry(line.listing_id).or_default() += shipped(line) - q;
        }
    }
    for (listing_id, milli) in lost {
        move_stock(db, listing_id, 0, milli, now).await?;
    }
    if refund > 0 {
        order::Entity::update_many()
            .col_expr(order::Column::RefundFen, Expr::value(refund))
            .col_expr(
                order::Column::GoodsFen,
                Expr::col(order::Column::GoodsFen).sub(refund),
            )
            .col_expr(
                order::Column::TotalFen,
                Expr::col(order::Column::TotalFen).sub(refund),
            )
            .filter(order::Column::Id.eq(o.id))
            .exec(db)
            .await?;
    }
    Ok(refund)
}

/// Puts `to_stock` back on a listing's stock and takes `unsold` off what it sold.
async fn move_stock(
    db: &impl ConnectionTrait,
    listing_id: i64,
    to_stock: i64,
    unsold: i64,
    now: DateTime<Utc>,
) -> AppResult<()> {
    listing::Entity::update_many()
        .col_expr(
            listing::Column::StockMilli,
            Expr::col(listing::Column::StockMilli).add(to_stock),
        )
        .col_expr(
            listing::Column::SoldMilli,
            Expr::col(listing::Column::SoldMilli).sub(unsold),
        )
        .col_expr(
            listing::Column::Version,
            Expr::col(listing::Column::Version).add(1),
        )
        .col_expr(listing::Column::UpdatedAt, Expr::value(now))
        .filter(listing::Column::Id.eq(listing_id))
        .exec(db)
        .await?;
    if to_stock > 0 {
        crate::catalog::listings::stock_changed(db, listing_id).await?;
    }
    Ok(())
}

/// The buyer's photo of a delivery, with its name and type.
#[derive(Debug, Clone, serde::Serialize, ToSchema)]
pub struct ReceiptPhoto {
    pub file_name: String,
    pub file_type: String,
    pub uploaded_at: DateTime<Utc>,
}

/// Keeps the buyer's photo of a delivered order (a JPEG or PNG judged by its content),
/// replacing any before. Only the buyer, once the goods have arrived: 409 `not_delivered`
/// before.
pub async fn attach_photo(
    db: &impl ConnectionTrait,
    actor: &Actor,
    order_id: i64,
    name: &str,
    data: Vec<u8>,
    now: DateTime<Utc>,
) -> AppResult<ReceiptPhoto> {
    let (o, party) = super::lifecycle::find_for(db, actor, order_id).await?;
    if party != super::domain::Party::Buyer {
        return Err(AppError::Forbidden(
            "only the buyer confirms a delivery with a photo".into(),
        ));
    }
    if o.delivered_at.is_none() {
        return Err(AppError::Conflict(
            "not_delivered",
            "a photo goes with the goods' receipt: confirm receipt first".into(),
        ));
    }
    let file_type = match crate::evidence::judge(&data) {
        Ok(t @ ("image/jpeg" | "image/png")) => t,
        Ok(_) => {
            return Err(AppError::field(
                "file",
                "unsupported_file",
                "the photo is not a JPEG or PNG",
            ));
        }
        Err(e) => return Err(AppError::Validation([("file".to_string(), e)].into())),
    };
    order_receipt_photo::Entity::delete_by_id(o.id)
        .exec(db)
        .await?;
    let kept = order_receipt_photo::ActiveModel {
        order_id: Set(o.id),
        file_name: Set(crate::evidence::clean_name(name, file_type)),
        file_type: Set(file_type.to_string()),
        data: Set(data),
        uploaded_by: Set(actor.id()),
        uploaded_at: Set(now),
    }
    .insert(db)
    .await?;
    crate::audit::record(
        db,
        Some(actor.id()),
        "order.receipt_photo",
        "order",
        o.id,
        serde_json::json!({"file_name": kept.file_name}),
    )
    .await?;
    Ok(photo_view(&kept))
}

fn photo_view(p: &order_receipt_photo::Model) -> ReceiptPhoto {
    ReceiptPhoto {
        file_name: p.file_name.clone(),
        file_type: p.file_type.clone(),
        uploaded_at: p.uploaded_at,
    }
}

/// The photo of a delivery, for the order's parties and the officials over the seller.
pub async fn photo(
    db: &impl ConnectionTrait,
    actor: &Actor,
    order_id: i64,
) -> AppResult<order_receipt_photo::Model> {
    let o = order::Entity::find_by_id(order_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("order"))?;
    let may = super::lifecycle::party_of(actor, &o).is_some()
        || actor.official_covers(&o.seller_region_code);
    if !may {
        return Err(AppError::NotFound("order"));
    }
    order_receipt_photo::Entity::find_by_id(o.id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("receipt photo"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::domain::Unit;

    fn line(id: i64, quantity_milli: i64) -> order_line::Model {
        order_line::Model {
            id,
            order_id: 1,
            listing_id: id,
            category_id: 1,
            title: format!("line {id}"),
            unit: Unit::Jin,
            unit_price_fen: 333,
            quantity_milli,
            amount_fen: line_amount(333, Quantity::from_milli(quantity_milli)).unwrap(),
            seller_region_code: String::new(),
            certified: false,
            recognised: false,
            shipped_milli: None,
            received_milli: None,
            short_fen: 0,
        }
    }

    fn q(line_id: i64, milli: i64) -> LineQuantity {
        LineQuantity {
            line_id,
            quantity: Quantity::from_milli(milli),
        }
    }

    #[test]
    fn lines_not_named_keep_their_most_and_named_ones_stay_within_it() {
        let lines = [line(1, 10_000), line(2, 5_500)];
        let full = |l: &order_line::Model| l.quantity_milli;
        let got = quantities("lines", &[q(2, 2_000)], &lines, full).unwrap();
        assert_eq!(got, BTreeMap::from([(1, 10_000), (2, 2_000)]));
        let zero = quantities("lines", &[q(1, 0)], &lines, full).unwrap();
        assert_eq!(zero[&1], 0);
        for (bad, field) in [
            (vec![q(3, 1)], "lines[0].line_id"),
            (vec![q(1, 10_001)], "lines[0].quantity"),
            (vec![q(1, 1), q(1, 2)], "lines[1]"),
        ] {
            match quantities("lines", &bad, &lines, full) {
                Err(AppError::Validation(fields)) => {
                    assert!(fields.contains_key(field), "{bad:?}: {fields:?}")
                }
                other => panic!("{bad:?} was taken: {other:?}"),
            }
        }
    }
}
