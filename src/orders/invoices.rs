//! Invoices (发票): the seller records the invoice of an order (普票 or 专票, number, amount,
//! date) and attaches its file; a budget unit's order is completed only once it has one, and
//! officials' ledgers show which orders were invoiced.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, Set,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::domain::OrderStatus;
use super::entity::{order, order_invoice, order_invoice_file};
use crate::accounts::{Actor, Role};
use crate::error::{AppError, AppResult, Validator};

vocabulary! {
    /// The kind of a 发票.
    InvoiceKind {
        Plain => "plain", "普通发票", "ordinary invoice";
        Special => "special", "增值税专用发票", "special VAT invoice";
    }
}

/// An invoice as the seller records it.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InvoiceRequest {
    /// `plain` (普票) or `special` (专票).
    pub kind: String,
    /// The invoice's number: 8 to 20 digits or capital letters (全电发票 have 20 digits).
    pub number: String,
    /// What it is made out for, in fen: more than zero and at most the order's total.
    pub amount_fen: i64,
    /// `YYYY-MM-DD`: not before the order was placed, not in the future.
    pub issued_on: String,
}

/// An order's invoice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct InvoiceView {
    pub kind: InvoiceKind,
    pub number: String,
    pub amount_fen: i64,
    pub issued_on: NaiveDate,
    /// Whether its file is attached.
    pub has_file: bool,
    pub file_name: String,
    pub recorded_at: DateTime<Utc>,
}

impl From<order_invoice::Model> for InvoiceView {
    fn from(i: order_invoice::Model) -> Self {
        InvoiceView {
            kind: i.kind,
            has_file: !i.file_type.is_empty(),
            number: i.number,
            amount_fen: i.amount_fen,
            issued_on: i.issued_on,
            file_name: i.file_name,
            recorded_at: i.recorded_at,
        }
    }
}

/// The order, when `actor` is on its selling organization's staff or an admin recording for
/// it; 403 for its buyer, 404 for anyone else.
pub async fn sellers_order(
    db: &impl ConnectionTrait,
    actor: &Actor,
    order_id: i64,
) -> AppResult<order::Model> {
    let o = order::Entity::find_by_id(order_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("order"))?;
    if actor.organization_id() == Some(o.organization_id) || actor.role == Role::Admin {
        return Ok(o);
    }
    if actor.id() == o.buyer_id {
        return Err(AppError::Forbidden(
            "only the seller's staff record an order's invoice".into(),
        ));
    }
    Err(AppError::NotFound("order"))
}

impl InvoiceRequest {
    fn check(&self, o: &order::Model, today: NaiveDate) -> AppResult<(InvoiceKind, NaiveDate)> {
        let mut v = Validator::default();
        let kind = crate::catalog::draft::code_of(
            "kind",
            &self.kind,
            InvoiceKind::from_code,
            InvoiceKind::codes(),
            &mut v,
        );
        let number = self.number.trim();
        if !(8..=20).contains(&number.len())
            || !number
                .bytes()
                .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
        {
            v.add(
                "number",
                "invalid",
                "8 to 20 digits or capital letters, as printed on the invoice",
            );
        }
        if !(1..=o.total_fen).contains(&self.amount_fen) {
            v.add(
                "amount_fen",
                "out_of_range",
                format!(
                    "more than 0 and at most the order's total, {} fen",
                    o.total_fen
                ),
            );
        }
        let placed = crate::days::local_date(o.placed_at);
        let issued = NaiveDate::parse_from_str(self.issued_on.trim(), "%Y-%m-%d");
        match issued {
            Err(_) => v.add("issued_on", "invalid_date", "a date as YYYY-MM-DD"),
            Ok(d) if d > today => v.add("issued_on", "in_future", "not after today"),
            Ok(d) if d < placed => v.add(
                "issued_on",
                "before_order",
                format!("not before the order was placed, {placed}"),
            ),
            Ok(_) => {}
        }
        v.finish()?;
        Ok((kind.unwrap_or(InvoiceKind::Plain), issued.unwrap_or(today)))
    }
}

/// Records (or corrects) the invoice of one of the seller's orders; audited. A cancelled
/// order takes none.
pub async fn record(
    db: &impl ConnectionTrait,
    actor: &Actor,
    order_id: i64,
    req: &InvoiceRequest,
    now: DateTime<Utc>,
) -> AppResult<InvoiceView> {
    let o = sellers_order(db, actor, order_id).await?;
    if o.status == OrderStatus::Cancelled {
        return Err(AppError::Conflict(
            "order_cancelled",
            "a cancelled order takes no invoice".into(),
        ));
    }
    let (kind, issued_on) = req.check(&o, crate::days::local_date(now))?;
    let found = order_invoice::Entity::find()
        .filter(order_invoice::Column::OrderId.eq(o.id))
        .one(db)
        .await?;
    let fill = |m: &mut order_invoice::ActiveModel| {
        m.kind = Set(kind);
        m.number = Set(req.number.trim().to_string());
        m.amount_fen = Set(req.amount_fen);
        m.issued_on = Set(issued_on);
        m.recorded_by = Set(actor.id());
        m.recorded_at = Set(now);
    };
    let saved = match found {
        Some(i) => {
            let mut m = i.into_active_model();
            fill(&mut m);
            m.update(db).await?
        }
        None => {
            let mut m = order_invoice::ActiveModel {
                order_id: Set(o.id),
                file_name: Set(String::new()),
                file_type: Set(String::new()),
                ..Default::default()
            };
            fill(&mut m);
            m.insert(db).await?
        }
    };
    crate::audit::record(
        db,
        Some(actor.id()),
        "order.invoice",
        "order",
        o.id,
        serde_json::json!({"kind": kind.code(), "number": saved.number, "amount_fen": saved.amount_fen}),
    )
    .await?;
    Ok(saved.into())
}

/// Attaches the invoice's file (a PDF, JPEG or PNG judged by its content), replacing any
/// before; 409 `no_invoice` until the invoice is recorded.
pub async fn attach_file(
    db: &impl ConnectionTrait,
    actor: &Actor,
    order_id: i64,
    name: &str,
    data: Vec<u8>,
) -> AppResult<InvoiceView> {
    let o = sellers_order(db, actor, order_id).await?;
    let invoice = order_invoice::Entity::find()
        .filter(order_invoice::Column::OrderId.eq(o.id))
        .one(db)
        .await?
        .ok_or_else(|| {
            AppError::Conflict(
                "no_invoice",
                "record the invoice's kind, number, amount and date first".into(),
            )
        })?;
    let content_type = crate::evidence::judge(&data)
        .map_err(|e| AppError::Validation([("file".to_string(), e)].into()))?;
    order_invoice_file::Entity::delete_by_id(invoice.id)
        .exec(db)
        .await?;
    order_invoice_file::ActiveModel {
        invoice_id: Set(invoice.id),
        data: Set(data),
    }
    .insert(db)
    .await?;
    let mut m = invoice.into_active_model();
    m.file_name = Set(crate::evidence::clean_name(name, content_type));
    m.file_type = Set(content_type.to_string());
    Ok(m.update(db).await?.into())
}

/// The invoice's file, for the order's buyer, the seller's staff, admins and the officials
/// over the seller's region; 404 for anyone else or when there is none.
pub async fn file(
    db: &impl ConnectionTrait,
    actor: &Actor,
    order_id: i64,
) -> AppResult<(order_invoice::Model, Vec<u8>)> {
    let o = order::Entity::find_by_id(order_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("order"))?;
    let may = actor.sees_trade(o.buyer_id, o.organization_id)
        || actor.official_covers(&o.seller_region_code);
    if !may {
        return Err(AppError::NotFound("order"));
    }
    let invoice = order_invoice::Entity::find()
        .filter(order_invoice::Column::OrderId.eq(o.id))
        .one(db)
        .await?
        .ok_or(AppError::NotFound("invoice file"))?;
    let data = order_invoice_file::Entity::find_by_id(invoice.id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("invoice file"))?;
    Ok((invoice, data.data))
}

/// The invoices of orders, by order id.
pub async fn of_orders(
    db: &impl ConnectionTrait,
    ids: &[i64],
) -> Result<HashMap<i64, InvoiceView>, sea_orm::DbErr> {
    Ok(order_invoice::Entity::find()
        .filter(order_invoice::Column::OrderId.is_in(ids.iter().copied()))
        .all(db)
        .await?
        .into_iter()
        .map(|i| (i.order_id, i.into()))
        .collect())
}

/// Whether the order is a budget unit's own purchase, which is completed only with an invoice.
pub async fn needs_invoice(db: &impl ConnectionTrait, o: &order::Model) -> AppResult<bool> {
    use crate::buyers::domain::{BuyerBasis, UnitKind};
    let (Some(unit_id), Some(BuyerBasis::Purchase)) = (o.buyer_unit_id, o.buyer_basis) else {
        return Ok(false);
    };
    let unit = crate::buyers::entity::unit::Entity::find_by_id(unit_id)
        .one(db)
        .await?;
    Ok(unit.is_some_and(|u| u.kind == UnitKind::BudgetUnit))
}

/// Refuses to complete a budget unit's own purchase that has no invoice: 409
/// `invoice_required`.
pub async fn required_to_complete(db: &impl ConnectionTrait, o: &order::Model) -> AppResult<()> {
    if !needs_invoice(db, o).await? {
        return Ok(());
    }
    let invoiced = order_invoice::Entity::find()
        .filter(order_invoice::Column::OrderId.eq(o.id))
        .one(db)
        .await?
        .is_some();
    if invoiced {
        Ok(())
    } else {
        Err(AppError::Conflict(
            "invoice_required",
            "a budget unit's order is completed once the seller has recorded its invoice (发票)"
                .into(),
        ))
    }
}
