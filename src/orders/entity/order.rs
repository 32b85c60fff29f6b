//! One buyer's order from one seller organization.
use sea_orm::entity::prelude::*;

use crate::orders::domain::{OrderStatus, PaymentStatus};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "orders")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub checkout_id: String,
    pub buyer_id: i64,
    pub organization_id: i64,
    pub seller_name: String,
    pub seller_region_code: String,
    pub status: OrderStatus,
    pub payment_status: PaymentStatus,
    /// What the buyer pays: the goods and the freight.
    pub total_fen: i64,
    /// The goods the buyer pays for: the lines' amounts less `refund_fen`; what statistics
    /// count as sales.
    pub goods_fen: i64,
    pub freight_fen: i64,
    /// The delivery method charged, as it was: a JSON `delivery::methods::Snapshot`, or
    /// empty when delivery is arranged with the seller.
    pub delivery_method_id: Option<i64>,
    pub delivery: String,
    pub recipient_name: String,
    pub recipient_phone: String,
    pub address_region_code: String,
    pub address_line: String,
    pub note: String,
    pub carrier: Option<String>,
    pub tracking_number: Option<String>,
    /// Set once when a cancellation puts the stock back, so it never happens twice.
    pub stock_returned: bool,
    pub version: i32,
    pub placed_at: DateTimeUtc,
    pub confirmed_at: Option<DateTimeUtc>,
    pub shipped_at: Option<DateTimeUtc>,
    pub delivered_at: Option<DateTimeUtc>,
    pub completed_at: Option<DateTimeUtc>,
    pub cancelled_at: Option<DateTimeUtc>,
    pub disputed_at: Option<DateTimeUtc>,
    pub updated_at: DateTimeUtc,
    /// The buyer unit the order counts for, fixed when it is placed.
    pub buyer_unit_id: Option<i64>,
    /// Whether the unit bought it, or a member bought it for themselves.
    pub buyer_basis: Option<crate::buyers::domain::BuyerBasis>,
    /// The campaign the order was placed under, if any (one at most).
    pub campaign_id: Option<i64>,
    /// Refunded for goods ordered and not received (a partial shipment or a short delivery
    /// the buyer accepted), already taken off `goods_fen` and `total_fen`.
    pub refund_fen: i64,
    /// The season contract (订单农业) the order delivers against, if any.
    pub contract_id: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::order_line::Entity")]
    Lines,
    #[sea_orm(has_many = "super::order_event::Entity")]
    Events,
    #[sea_orm(
        belongs_to = "crate::catalog::entity::organization::Entity",
        from = "Column::OrganizationId",
        to = "crate::catalog::entity::organization::Column::Id"
    )]
    Seller,
}

impl Related<super::order_line::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Lines.def()
    }
}

impl Related<super::order_event::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Events.def()
    }
}

impl Related<crate::catalog::entity::organization::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Seller.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
