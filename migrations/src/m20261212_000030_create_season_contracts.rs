//! Season contracts (订单农业): a buyer and a cooperative agree before harvest on a product,
//! a quantity, a grade and a delivery window, at a fixed price or a floor under the market's,
//! with a deposit; each delivery is an ordinary order that names its contract.

use sea_orm_migration::prelude::*;

use crate::columns::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Contract::Table)
                .col(id(Contract::Id))
                .col(big(Contract::BuyerId))
                .col(big(Contract::OrganizationId))
                .col(big(Contract::ListingId))
                .col(big(Contract::CategoryId))
                .col(text(Contract::Title, 200))
                .col(text(Contract::Unit, 16))
                .col(text(Contract::Grade, 16))
                .col(text(Contract::RegionCode, 12))
                .col(big(Contract::QuantityMilli))
                .col(ColumnDef::new(Contract::WindowStart).date().not_null())
                .col(ColumnDef::new(Contract::WindowEnd).date().not_null())
                .col(text(Contract::Pricing, 16))
                .col(big(Contract::PriceFen))
                .col(big(Contract::DepositFen))
                .col(big_default(Contract::DepositPaidFen))
                .col(ColumnDef::new(Contract::DepositPaidOn).date().null())
                .col(text(Contract::RecipientName, 64))
                .col(text(Contract::Phone, 32))
                .col(text(Contract::AddressRegionCode, 12))
                .col(text(Contract::Line, 400))
                .col(text(Contract::Note, 1000))
                .col(text(Contract::Status, 16))
                .col(int(Contract::Version))
                .col(time(Contract::CreatedAt))
                .col(time_null(Contract::SignedAt))
                .col(time(Contract::UpdatedAt))
                .take(),
        )
        .await?;
        for (name, col) in [
            ("idx_season_contracts_buyer", Contract::BuyerId),
            (
                "idx_season_contracts_organization",
                Contract::OrganizationId,
            ),
            ("idx_season_contracts_region", Contract::RegionCode),
        ] {
            m.create_index(index(name, Contract::Table, &[col]).take())
                .await?;
        }
        add_columns(m, Order::Table, vec![big_null(Order::ContractId)]).await?;
        m.create_index(index("idx_orders_contract", Order::Table, &[Order::ContractId]).take())
            .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let mut drop = Index::drop();
        drop.name("idx_orders_contract").table(Order::Table);
        m.drop_index(drop).await?;
        m.alter_table(
            Table::alter()
                .table(Order::Table)
                .drop_column(Order::ContractId)
                .take(),
        )
        .await?;
        drop_tables(m, vec![Contract::Table.into_iden()]).await
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Contract {
    #[sea_orm(iden = "season_contracts")]
    Table,
    Id,
    BuyerId,
    OrganizationId,
    ListingId,
    CategoryId,
    Title,
    Unit,
    Grade,
    RegionCode,
    QuantityMilli,
    WindowStart,
    WindowEnd,
    Pricing,
    PriceFen,
    DepositFen,
    DepositPaidFen,
    DepositPaidOn,
    RecipientName,
    Phone,
    AddressRegionCode,
    Line,
    Note,
    Status,
    Version,
    CreatedAt,
    SignedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Order {
    #[sea_orm(iden = "orders")]
    Table,
    ContractId,
}
