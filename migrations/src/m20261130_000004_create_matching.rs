//! Matching: purchase requests (采购需求) and the proposals that pair them with listings.

use sea_orm_migration::prelude::*;

use crate::columns::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(PurchaseRequest::Table)
                .col(id(PurchaseRequest::Id))
                .col(big(PurchaseRequest::BuyerId))
                .col(text(PurchaseRequest::Title, 128))
                .col(long_text(PurchaseRequest::Note))
                .col(big(PurchaseRequest::CategoryId))
                .col(text(PurchaseRequest::MinGrade, 16))
                .col(text(PurchaseRequest::Unit, 16))
                .col(
                    big(PurchaseRequest::QuantityMilli)
                        .check(Expr::col(PurchaseRequest::QuantityMilli).gt(0)),
                )
                .col(
                    big(PurchaseRequest::MinFillMilli)
                        .check(Expr::col(PurchaseRequest::MinFillMilli).gte(0)),
                )
                .col(
                    big(PurchaseRequest::MinLotMilli)
                        .check(Expr::col(PurchaseRequest::MinLotMilli).gte(0)),
                )
                .col(
                    big(PurchaseRequest::FilledMilli)
                        .default(0)
                        .check(Expr::col(PurchaseRequest::FilledMilli).gte(0)),
                )
                .col(
                    big(PurchaseRequest::MaxPriceFen)
                        .check(Expr::col(PurchaseRequest::MaxPriceFen).gt(0)),
                )
                .col(text(PurchaseRequest::RegionCode, 12))
                .col(coordinate(PurchaseRequest::Latitude))
                .col(coordinate(PurchaseRequest::Longitude))
                .col(text(PurchaseRequest::AddressLine, 255))
                .col(text(PurchaseRequest::ContactName, 64))
                .col(text(PurchaseRequest::ContactPhone, 32))
                .col(ColumnDef::new(PurchaseRequest::DeliverBy).date().not_null())
                .col(int(PurchaseRequest::MaxDistanceKm))
                .col(flag(PurchaseRequest::PreferBenefit))
                .col(text(PurchaseRequest::Status, 16))
                .col(text_null(PurchaseRequest::ClosedReason, 32))
                .col(int(PurchaseRequest::Version).default(1))
                .col(time(PurchaseRequest::CreatedAt))
                .col(time(PurchaseRequest::UpdatedAt))
                .foreign_key(&mut fk(PurchaseRequest::BuyerId, Users::Table, Users::Id))
                .take(),
        )
        .await?;
        m.create_index(index(
            "idx_purchase_request_buyer",
            PurchaseRequest::Table,
            &[PurchaseRequest::BuyerId],
        ))
        .await?;
        m.create_index(index(
            "idx_purchase_request_open",
            PurchaseRequest::Table,
            &[PurchaseRequest::Status, PurchaseRequest::CategoryId],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(Proposal::Table)
                .col(id(Proposal::Id))
                .col(big(Proposal::RequestId))
                .col(big(Proposal::ListingId))
                .col(big(Proposal::OrganizationId))
                .col(big(Proposal::QuantityMilli).check(Expr::col(Proposal::QuantityMilli).gt(0)))
                .col(
                    big(Proposal::ListingQuantityMilli)
                        .check(Expr::col(Proposal::ListingQuantityMilli).gt(0)),
                )
                .col(text(Proposal::ListingUnit, 16))
                .col(big(Proposal::UnitPriceFen))
                .col(big(Proposal::AmountFen))
                .col(big(Proposal::DistanceM))
                .col(text(Proposal::Status, 16))
                .col(time_null(Proposal::BuyerAcceptedAt))
                .col(time_null(Proposal::ProducerAcceptedAt))
                .col(text_null(Proposal::ClosedBy, 16))
                .col(text(Proposal::Reason, 500))
                .col(big_null(Proposal::OrderId))
                .col(time(Proposal::ExpiresAt))
                .col(int(Proposal::Version).default(1))
                .col(time(Proposal::CreatedAt))
                .col(time(Proposal::UpdatedAt))
                .foreign_key(&mut fk(
                    Proposal::RequestId,
                    PurchaseRequest::Table,
                    PurchaseRequest::Id,
                ))
                .foreign_key(&mut fk(Proposal::ListingId, Listings::Table, Listings::Id))
                .foreign_key(&mut fk(
                    Proposal::OrganizationId,
                    Organizations::Table,
                    Organizations::Id,
                ))
                .foreign_key(&mut fk(Proposal::OrderId, Orders::Table, Orders::Id))
                .take(),
        )
        .await?;
        m.create_index(index(
            "idx_proposal_request",
            Proposal::Table,
            &[Proposal::RequestId, Proposal::Status],
        ))
        .await?;
        m.create_index(index(
            "idx_proposal_listing",
            Proposal::Table,
            &[Proposal::ListingId, Proposal::Status],
        ))
        .await?;
        m.create_index(index(
            "idx_proposal_organization",
            Proposal::Table,
            &[Proposal::OrganizationId, Proposal::Status],
        ))
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(
            m,
            vec![
                Proposal::Table.into_iden(),
                PurchaseRequest::Table.into_iden(),
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
enum Orders {
    Table,
    Id,
}

#[derive(DeriveIden, Clone, Copy)]
enum PurchaseRequest {
    #[sea_orm(iden = "purchase_requests")]
    Table,
    Id,
    BuyerId,
    Title,
    Note,
    CategoryId,
    MinGrade,
    Unit,
    QuantityMilli,
    MinFillMilli,
    MinLotMilli,
    FilledMilli,
    MaxPriceFen,
    RegionCode,
    Latitude,
    Longitude,
    AddressLine,
    ContactName,
    ContactPhone,
    DeliverBy,
    MaxDistanceKm,
    PreferBenefit,
    Status,
    ClosedReason,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Proposal {
    #[sea_orm(iden = "match_proposals")]
    Table,
    Id,
    RequestId,
    ListingId,
    OrganizationId,
    QuantityMilli,
    ListingQuantityMilli,
    ListingUnit,
    UnitPriceFen,
    AmountFen,
    DistanceM,
    Status,
    BuyerAcceptedAt,
    ProducerAcceptedAt,
    ClosedBy,
    Reason,
    OrderId,
    ExpiresAt,
    Version,
    CreatedAt,
    UpdatedAt,
}
