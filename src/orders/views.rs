//! What the orders API answers with.

use std::collections::HashMap;

use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, FromQueryResult, IdenStatic,
    Iterable, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait, Select,
};
use serde::Serialize;
use utoipa::ToSchema;

use super::checkout::Placed;
use super::domain::{Action, OrderStatus, Party, PaymentStatus, Step, available};
use super::entity::{order, order_event, order_invoice, order_line};
use crate::accounts::entity::user;
use crate::catalog::domain::{Quantity, Unit, format_yuan};

/// An order as its buyer, its seller or an admin sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderView {
    pub id: i64,
    /// Orders placed together in one checkout share this id.
    pub checkout_id: String,
    pub status: OrderStatus,
    pub payment_status: PaymentStatus,
    pub buyer: PartyRef,
    pub seller: PartyRef,
    pub lines: Vec<OrderLineView>,
    /// What the buyer pays: `goods_fen` + `freight_fen`.
    pub total_fen: i64,
    pub total_display: String,
    /// The goods the buyer pays for: the lines' amounts less `refund_fen`.
    pub goods_fen: i64,
    pub freight_fen: i64,
    /// Refunded for goods ordered and not received (shipped in part, or delivered short and
    /// accepted so), already taken off `goods_fen` and `total_fen`.
    pub refund_fen: i64,
    /// The name of the photo the buyer took of the delivery, if any; the file is at
    /// `/api/v1/orders/{id}/receipt-photo`.
    pub receipt_photo: Option<String>,
    /// The delivery method and freight as charged; absent when delivery is arranged with the
    /// seller.
    pub delivery: Option<crate::delivery::methods::Snapshot>,
    /// The invoice (发票) the seller recorded, if any.
    pub invoice: Option<super::invoices::InvoiceView>,
    pub recipient_name: String,
    pub recipient_phone: String,
    pub address_region_code: String,
    pub address_line: String,
    pub note: String,
    pub carrier: Option<String>,
    pub tracking_number: Option<String>,
    pub placed_at: chrono::DateTime<chrono::Utc>,
    pub confirmed_at: Option<chrono::DateTime<chrono::Utc>>,
    pub shipped_at: Option<chrono::DateTime<chrono::Utc>>,
    pub delivered_at: Option<chrono::DateTime<chrono::Utc>>,
    pub completed_at: Option<chrono::DateTime<chrono::Utc>>,
    pub cancelled_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The timeline: who did what, when and why.
    pub events: Vec<OrderEventView>,
    /// What the viewer can do now.
    pub actions: Vec<Action>,
}

/// A buyer or a seller.
#[derive(Debug, Serialize, ToSchema)]
pub struct PartyRef {
    pub id: i64,
    pub name: String,
}

/// A line as it was bought.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderLineView {
    /// The line's id, as shipping names it when binding lots.
    pub id: i64,
    pub listing_id: i64,
    pub category_id: i64,
    pub title: String,
    pub unit: Unit,
    pub unit_price_fen: i64,
    #[schema(value_type = String, example = "100")]
    pub quantity: Quantity,
    pub amount_fen: i64,
    /// Where the goods came from, as it was when bought.
    pub seller_region_code: String,
    /// Whether the listing carried a certificate in effect when it was bought.
    pub certified: bool,
    /// Whether that included a 消费帮扶产品认定.
    pub recognised: bool,
    /// What shipped of it, once shipped.
    #[schema(value_type = Option<String>, example = "80")]
    pub shipped: Option<Quantity>,
    /// What the buyer accepted as received, once delivered.
    #[schema(value_type = Option<String>, example = "80")]
    pub received: Option<Quantity>,
    /// Refunded for what was ordered and did not arrive.
    pub short_fen: i64,
}

/// One step of the timeline.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderEventView {
    pub from_status: Option<OrderStatus>,
    pub to_status: OrderStatus,
    /// `place`, an action's code, or `payment_` and the new payment status.
    #[schema(value_type = String)]
    pub action: Step,
    pub actor_role: Party,
    pub reason: String,
    pub at: chrono::DateTime<chrono::Utc>,
}

/// One page of the orders `query` finds, newest first, as `party` sees them, and how many it
/// finds in all. The total is counted only when the page does not already show every order.
pub async fn order_page(
    db: &impl ConnectionTrait,
    query: Select<order::Entity>,
    page: u64,
    per_page: u64,
    party: Party,
) -> Result<(Vec<OrderView>, u64), sea_orm::DbErr> {
    // The page's ids first: the names, lines and timelines are then looked up for the page's
    // orders alone (SQLite otherwise computes them for every order it sorts).
    let page_ids = query
        .clone()
        .select_only()
        .column(order::Column::Id)
        .order_by_desc(order::Column::Id)
        .limit(per_page)
        .offset((page - 1) * per_page)
        .into_query();
    let views = views_of(
        db,
        order::Entity::find().filter(order::Column::Id.in_subquery(page_ids)),
        party,
    )
    .await?;
    let total = if page == 1 && (views.len() as u64) < per_page {
        views.len() as u64
    } else {
        query.count(db).await?
    };
    Ok((views, total))
}

/// Views of the orders with these ids, newest first, for a viewer playing `party` (the same
/// for all of them).
pub async fn order_views(
    db: &impl ConnectionTrait,
    ids: &[i64],
    party: Party,
) -> Result<Vec<OrderView>, sea_orm::DbErr> {
    views_of(
        db,
        order::Entity::find().filter(order::Column::Id.is_in(ids.iter().copied())),
        party,
    )
    .await
}

/// Views of the orders `query` finds, newest first, read in one statement: each order with
/// its buyer's name, its lines and its timeline.
async fn views_of(
    db: &impl ConnectionTrait,
    query: Select<order::Entity>,
    party: Party,
) -> Result<Vec<OrderView>, sea_orm::DbErr> {
    let backend = db.get_database_backend();
    let rows = query
        .order_by_desc(order::Column::Id)
        .expr_as(
            Expr::cust("(SELECT display_name FROM users WHERE users.id = orders.buyer_id)"),
            "buyer_name",
        )
        .expr_as(
            Expr::cust(rows_as_json(backend, order_line::Entity)),
            "lines_json",
        )
        .expr_as(
            Expr::cust(rows_as_json(backend, order_event::Entity)),
            "events_json",
        )
        .expr_as(
            Expr::cust(rows_as_json(backend, order_invoice::Entity)),
            "invoice_json",
        )
        .expr_as(
            Expr::cust(
                "(SELECT p.file_name FROM order_receipt_photos p WHERE p.order_id = orders.id)",
            ),
            "photo_name",
        )
        .into_model::<OrderRow>()
        .all(db)
        .await?;
    let mut buyers = HashMap::new();
    let mut lines = HashMap::new();
    let mut events = HashMap::new();
    let mut invoices = HashMap::new();
    let mut photos = HashMap::new();
    let mut orders = Vec::with_capacity(rows.len());
    for r in rows {
        let id = r.order.id;
        buyers.insert(r.order.buyer_id, r.buyer_name.unwrap_or_default());
        lines.insert(id, from_json(r.lines_json.as_deref())?);
        events.insert(id, from_json(r.events_json.as_deref())?);
        let invoice: Vec<order_invoice::Model> = from_json(r.invoice_json.as_deref())?;
        if let Some(i) = invoice.into_iter().next() {
            invoices.insert(id, i.into());
        }
        if let Some(name) = r.photo_name {
            photos.insert(id, name);
        }
        orders.push(r.order);
    }
    let mut views = build_views(orders, lines, events, &buyers, party);
    for v in &mut views {
        v.invoice = invoices.remove(&v.id);
        v.receipt_photo = photos.remove(&v.id);
    }
    Ok(views)
}

/// An order with its buyer's name, and its lines and events as JSON arrays.
#[derive(Debug, FromQueryResult)]
struct OrderRow {
    #[sea_orm(nested)]
    order: order::Model,
    buyer_name: Option<String>,
    lines_json: Option<String>,
    events_json: Option<String>,
    invoice_json: Option<String>,
    photo_name: Option<String>,
}

/// A subquery giving the rows of `table` that belong to the outer query's order as one JSON
/// array of objects keyed by column name, in the order of their ids (PostgreSQL gives no
/// array, but NULL, when there are none).
fn rows_as_json<E: EntityTrait>(backend: DatabaseBackend, table: E) -> String {
    let pairs = E::Column::iter()
        .map(|c| format!("'{0}', x.{0}", c.as_str()))
        .collect::<Vec<_>>()
        .join(", ");
    let table = table.table_name();
    match backend {
        DatabaseBackend::Postgres => format!(
            "(SELECT json_agg(json_build_object({pairs}) ORDER BY x.id)::text \
             FROM {table} x WHERE x.order_id = orders.id)"
        ),
        _ => format!(
            "(SELECT json_group_array(json_object({pairs}) ORDER BY x.id) \
             FROM {table} x WHERE x.order_id = orders.id)"
        ),
    }
}

/// The rows of a JSON array made by [`rows_as_json`].
fn from_json<T: serde::de::DeserializeOwned>(json: Option<&str>) -> Result<Vec<T>, sea_orm::DbErr> {
    json.map_or(Ok(Vec::new()), |j| {
        serde_json::from_str(j).map_err(|e| sea_orm::DbErr::Json(e.to_string()))
    })
}

/// Views of orders just placed by `buyer`, from what was written for them.
pub fn placed_views(placed: Vec<Placed>, buyer: &user::Model, party: Party) -> Vec<OrderView> {
    let mut orders = Vec::with_capacity(placed.len());
    let mut lines = HashMap::new();
    let mut events = HashMap::new();
    for p in placed {
        lines.insert(p.order.id, p.lines);
        events.insert(p.order.id, p.events);
        orders.push(p.order);
    }
    let buyers = HashMap::from([(buyer.id, buyer.display_name.clone())]);
    build_views(orders, lines, events, &buyers, party)
}

/// Views of orders with their lines and events (each in the order written) and their buyers' names.
fn build_views(
    orders: Vec<order::Model>,
    mut lines: HashMap<i64, Vec<order_line::Model>>,
    mut events: HashMap<i64, Vec<order_event::Model>>,
    buyers: &HashMap<i64, String>,
    party: Party,
) -> Vec<OrderView> {
    orders
        .into_iter()
        .map(|o| {
            let status = o.status;
            OrderView {
                id: o.id,
                checkout_id: o.checkout_id,
                status,
                payment_status: o.payment_status,
                buyer: PartyRef {
                    id: o.buyer_id,
                    name: buyers.get(&o.buyer_id).cloned().unwrap_or_default(),
                },
                seller: PartyRef {
                    id: o.organization_id,
                    name: o.seller_name,
                },
                lines: lines
                    .remove(&o.id)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|l| OrderLineView {
                        id: l.id,
                        listing_id: l.listing_id,
                        category_id: l.category_id,
                        title: l.title,
                        unit: l.unit,
                        unit_price_fen: l.unit_price_fen,
                        quantity: Quantity::from_milli(l.quantity_milli),
                        amount_fen: l.amount_fen,
                        seller_region_code: l.seller_region_code,
                        certified: l.certified,
                        recognised: l.recognised,
                        shipped: l.shipped_milli.map(Quantity::from_milli),
                        received: l.received_milli.map(Quantity::from_milli),
                        short_fen: l.short_fen,
                    })
                    .collect(),
                total_display: format_yuan(o.total_fen),
                total_fen: o.total_fen,
                goods_fen: o.goods_fen,
                freight_fen: o.freight_fen,
                refund_fen: o.refund_fen,
                receipt_photo: None,
                delivery: serde_json::from_str(&o.delivery).ok(),
                invoice: None,
                recipient_name: o.recipient_name,
                recipient_phone: o.recipient_phone,
                address_region_code: o.address_region_code,
                address_line: o.address_line,
                note: o.note,
                carrier: o.carrier,
                tracking_number: o.tracking_number,
                placed_at: o.placed_at,
                confirmed_at: o.confirmed_at,
                shipped_at: o.shipped_at,
                delivered_at: o.delivered_at,
                completed_at: o.completed_at,
                cancelled_at: o.cancelled_at,
                events: events
                    .remove(&o.id)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|e| OrderEventView {
                        from_status: e.from_status,
                        to_status: e.to_status,
                        action: e.action,
                        actor_role: e.actor_role,
                        reason: e.reason,
                        at: e.created_at,
                    })
                    .collect(),
                actions: available(status, party),
            }
        })
        .collect()
}
