//! Recurring orders: a buyer's standing order of one listing, weekly or monthly, and a row
//! per period it ran, whose unique key makes two instances, or a restart, place one order per
//! period at most.

use sea_orm_migration::prelude::*;

use crate::columns::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Recurring::Table)
                .col(id(Recurring::Id))
                .col(big(Recurring::BuyerId))
                .col(big(Recurring::ListingId))
                .col(big(Recurring::OrganizationId))
                .col(big(Recurring::QuantityMilli))
                .col(text(Recurring::Unit, 16))
                .col(big(Recurring::MaxPriceFen))
                .col(text(Recurring::Period, 16))
                .col(ColumnDef::new(Recurring::StartsOn).date().not_null())
                .col(int(Recurring::NextIndex))
                .col(ColumnDef::new(Recurring::NextOn).date().not_null())
                .col(big_null(Recurring::DeliveryMethodId))
                .col(big_null(Recurring::UnitId))
                .col(text(Recurring::RecipientName, 64))
                .col(text(Recurring::Phone, 32))
                .col(text(Recurring::RegionCode, 12))
                .col(text(Recurring::Line, 400))
                .col(text(Recurring::Note, 1000))
                .col(text(Recurring::Status, 16))
                .col(int(Recurring::Version))
                .col(time(Recurring::CreatedAt))
                .col(time(Recurring::UpdatedAt))
                .take(),
        )
        .await?;
        m.create_index(
            index(
                "idx_recurring_orders_due",
                Recurring::Table,
                &[Recurring::Status, Recurring::NextOn],
            )
            .take(),
        )
        .await?;
        m.create_index(
            index(
                "idx_recurring_orders_buyer",
                Recurring::Table,
                &[Recurring::BuyerId],
            )
            .take(),
        )
        .await?;
        m.create_index(
            index(
                "idx_recurring_orders_organization",
                Recurring::Table,
                &[Recurring::OrganizationId],
            )
            .take(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Run::Table)
                .col(id(Run::Id))
                .col(big(Run::RecurringOrderId))
                .col(ColumnDef::new(Run::PeriodOn).date().not_null())
                .col(text(Run::Outcome, 16))
                .col(big_null(Run::OrderId))
                .col(text(Run::Reason, 64))
                .col(text(Run::Detail, 500))
                .col(time(Run::CreatedAt))
                .foreign_key(
                    &mut fk(Run::RecurringOrderId, Recurring::Table, Recurring::Id)
                        .on_delete(ForeignKeyAction::Cascade)
                        .take(),
                )
                .take(),
        )
        .await?;
        m.create_index(
            index(
                "uq_recurring_runs_period",
                Run::Table,
                &[Run::RecurringOrderId, Run::PeriodOn],
            )
            .unique()
            .take(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(
            m,
            vec![Run::Table.into_iden(), Recurring::Table.into_iden()],
        )
        .await
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Recurring {
    #[sea_orm(iden = "recurring_orders")]
    Table,
    Id,
    BuyerId,
    ListingId,
    OrganizationId,
    QuantityMilli,
    Unit,
    MaxPriceFen,
    Period,
    StartsOn,
    NextIndex,
    NextOn,
    DeliveryMethodId,
    UnitId,
    RecipientName,
    Phone,
    RegionCode,
    Line,
    Note,
    Status,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Run {
    #[sea_orm(iden = "recurring_runs")]
    Table,
    Id,
    RecurringOrderId,
    PeriodOn,
    Outcome,
    OrderId,
    Reason,
    Detail,
    CreatedAt,
}
