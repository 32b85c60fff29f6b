//! Orders: carts, orders with their lines and timeline, and stored idempotent responses.

use sea_orm_migration::prelude::*;

use crate::columns::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(CartItem::Table)
                .col(id(CartItem::Id))
                .col(big(CartItem::UserId))
                .col(big(CartItem::ListingId))
                .col(big(CartItem::QuantityMilli).check(Expr::col(CartItem::QuantityMilli).gt(0)))
                .col(text(CartItem::Unit, 16))
                .col(time(CartItem::CreatedAt))
                .col(time(CartItem::UpdatedAt))
                .foreign_key(&mut fk(CartItem::UserId, Users::Table, Users::Id))
                .foreign_key(&mut fk(CartItem::ListingId, Listings::Table, Listings::Id))
                .take(),
        )
        .await?;
        m.create_index(index(
            "idx_cart_item_user",
            CartItem::Table,
            &[CartItem::UserId],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(Order::Table)
                .col(id(Order::Id))
                .col(text(Order::CheckoutId, 36))
                .col(big(Order::BuyerId))
                .col(big(Order::OrganizationId))
                .col(text(Order::SellerName, 128))
                .col(text(Order::SellerRegionCode, 12))
                .col(text(Order::Status, 16))
                .col(text(Order::PaymentStatus, 16))
                .col(big(Order::TotalFen).check(Expr::col(Order::TotalFen).gte(0)))
                .col(text(Order::RecipientName, 64))
                .col(text(Order::RecipientPhone, 32))
                .col(text(Order::AddressRegionCode, 12))
                .col(text(Order::AddressLine, 255))
                .col(text(Order::Note, 500))
                .col(text_null(Order::Carrier, 64))
                .col(text_null(Order::TrackingNumber, 64))
                .col(flag(Order::StockReturned))
                .col(int(Order::Version).default(1))
                .col(time(Order::PlacedAt))
                .col(time_null(Order::ConfirmedAt))
                .col(time_null(Order::ShippedAt))
                .col(time_null(Order::DeliveredAt))
                .col(time_null(Order::CompletedAt))
                .col(time_null(Order::CancelledAt))
                .col(time_null(Order::DisputedAt))
                .col(time(Order::UpdatedAt))
                .foreign_key(&mut fk(Order::BuyerId, Users::Table, Users::Id))
                .foreign_key(&mut fk(
                    Order::OrganizationId,
                    Organizations::Table,
                    Organizations::Id,
                ))
                .take(),
        )
        .await?;
        m.create_index(index("idx_order_buyer", Order::Table, &[Order::BuyerId]))
            .await?;
        m.create_index(index(
            "idx_order_seller",
            Order::Table,
            &[Order::OrganizationId, Order::Status],
        ))
        .await?;
        m.create_index(index(
            "idx_order_checkout",
            Order::Table,
            &[Order::CheckoutId],
        ))
        .await?;
        m.create_index(index(
            "idx_order_status_shipped",
            Order::Table,
            &[Order::Status, Order::ShippedAt],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(OrderLine::Table)
                .col(id(OrderLine::Id))
                .col(big(OrderLine::OrderId))
                .col(big(OrderLine::ListingId))
                .col(big(OrderLine::CategoryId))
                .col(text(OrderLine::Title, 200))
                .col(text(OrderLine::Unit, 16))
                .col(big(OrderLine::UnitPriceFen).check(Expr::col(OrderLine::UnitPriceFen).gt(0)))
                .col(big(OrderLine::QuantityMilli).check(Expr::col(OrderLine::QuantityMilli).gt(0)))
                .col(big(OrderLine::AmountFen).check(Expr::col(OrderLine::AmountFen).gte(0)))
                .col(text(OrderLine::SellerRegionCode, 12))
                .foreign_key(&mut fk(OrderLine::OrderId, Order::Table, Order::Id))
                .foreign_key(&mut fk(OrderLine::ListingId, Listings::Table, Listings::Id))
                .take(),
        )
        .await?;
        m.create_index(index(
            "idx_order_line_order",
            OrderLine::Table,
            &[OrderLine::OrderId],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(OrderEvent::Table)
                .col(id(OrderEvent::Id))
                .col(big(OrderEvent::OrderId))
                .col(text_null(OrderEvent::FromStatus, 16))
                .col(text(OrderEvent::ToStatus, 16))
                .col(text(OrderEvent::Action, 32))
                .col(big_null(OrderEvent::ActorId))
                .col(text(OrderEvent::ActorRole, 16))
                .col(text(OrderEvent::Reason, 500))
                .col(time(OrderEvent::CreatedAt))
                .foreign_key(&mut fk(OrderEvent::OrderId, Order::Table, Order::Id))
                .take(),
        )
        .await?;
        m.create_index(index(
            "idx_order_event_order",
            OrderEvent::Table,
            &[OrderEvent::OrderId],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(IdempotencyKey::Table)
                .col(big(IdempotencyKey::UserId))
                .col(text(IdempotencyKey::Key, 255))
                .col(text(IdempotencyKey::RequestHash, 64))
                .col(int(IdempotencyKey::StatusCode))
                .col(long_text(IdempotencyKey::ResponseBody))
                .col(time(IdempotencyKey::CreatedAt))
                .primary_key(
                    Index::create()
                        .col(IdempotencyKey::UserId)
                        .col(IdempotencyKey::Key),
                )
                .foreign_key(&mut fk(IdempotencyKey::UserId, Users::Table, Users::Id))
                .take(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(
            m,
            vec![
                IdempotencyKey::Table.into_iden(),
                OrderEvent::Table.into_iden(),
                OrderLine::Table.into_iden(),
                Order::Table.into_iden(),
                CartItem::Table.into_iden(),
            ],
        )
        .await
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden, Clone, Copy)]
enum Organizations {
    Table,
    Id,
}

#[derive(DeriveIden, Clone, Copy)]
enum Listings {
    Table,
    Id,
}

#[derive(DeriveIden, Clone, Copy)]
enum CartItem {
    #[sea_orm(iden = "cart_items")]
    Table,
    Id,
    UserId,
    ListingId,
    QuantityMilli,
    Unit,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Order {
    #[sea_orm(iden = "orders")]
    Table,
    Id,
    CheckoutId,
    BuyerId,
    OrganizationId,
    SellerName,
    SellerRegionCode,
    Status,
    PaymentStatus,
    TotalFen,
    RecipientName,
    RecipientPhone,
    AddressRegionCode,
    AddressLine,
    Note,
    Carrier,
    TrackingNumber,
    StockReturned,
    Version,
    PlacedAt,
    ConfirmedAt,
    ShippedAt,
    DeliveredAt,
    CompletedAt,
    CancelledAt,
    DisputedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum OrderLine {
    #[sea_orm(iden = "order_lines")]
    Table,
    Id,
    OrderId,
    ListingId,
    CategoryId,
    Title,
    Unit,
    UnitPriceFen,
    QuantityMilli,
    AmountFen,
    SellerRegionCode,
}

#[derive(DeriveIden, Clone, Copy)]
enum OrderEvent {
    #[sea_orm(iden = "order_events")]
    Table,
    Id,
    OrderId,
    FromStatus,
    ToStatus,
    Action,
    ActorId,
    ActorRole,
    Reason,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum IdempotencyKey {
    #[sea_orm(iden = "idempotency_keys")]
    Table,
    UserId,
    Key,
    RequestHash,
    StatusCode,
    ResponseBody,
    CreatedAt,
}
