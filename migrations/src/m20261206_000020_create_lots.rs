//! Lots (批次) a producer records for a listing: when and where it was harvested or made, the
//! village, how many member households took part, how much; each with a public code its label's
//! QR code carries to the trace page, which counts its scans. Shipping binds each order line to
//! the lots it was filled from. An order line remembers whether its listing carried a verified
//! certificate, and a 消费帮扶产品认定 in particular, when it was bought.

use sea_orm_migration::prelude::*;

use crate::columns::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Lot::Table)
                .col(id(Lot::Id))
                .col(big(Lot::ListingId))
                .col(big(Lot::OrganizationId))
                .col(text(Lot::Code, 16))
                .col(ColumnDef::new(Lot::HarvestedOn).date().not_null())
                .col(text(Lot::Base, 200))
                .col(text(Lot::VillageCode, 12))
                .col(int(Lot::Households))
                .col(big(Lot::QuantityMilli))
                .col(
                    ColumnDef::new(Lot::Scans)
                        .big_integer()
                        .not_null()
                        .default(0),
                )
                .col(big(Lot::CreatedBy))
                .col(time(Lot::CreatedAt))
                .foreign_key(&mut fk(Lot::ListingId, Listing::Table, Listing::Id))
                .take(),
        )
        .await?;
        m.create_index(
            index("uq_lots_code", Lot::Table, &[Lot::Code])
                .unique()
                .take(),
        )
        .await?;
        m.create_index(index(
            "idx_lots_listing",
            Lot::Table,
            &[Lot::ListingId, Lot::Id],
        ))
        .await?;
        m.create_index(index(
            "idx_lots_organization",
            Lot::Table,
            &[Lot::OrganizationId],
        ))
        .await?;
        m.create_table(
            Table::create()
                .table(LineLot::Table)
                .col(big(LineLot::OrderLineId))
                .col(big(LineLot::LotId))
                .col(big(LineLot::QuantityMilli))
                .primary_key(
                    Index::create()
                        .col(LineLot::OrderLineId)
                        .col(LineLot::LotId),
                )
                .foreign_key(&mut fk(
                    LineLot::OrderLineId,
                    OrderLine::Table,
                    OrderLine::Id,
                ))
                .foreign_key(&mut fk(LineLot::LotId, Lot::Table, Lot::Id))
                .take(),
        )
        .await?;
        m.create_index(index(
            "idx_order_line_lots_lot",
            LineLot::Table,
            &[LineLot::LotId],
        ))
        .await?;
        m.alter_table(
            Table::alter()
                .table(OrderLine::Table)
                .add_column(flag(OrderLine::Certified))
                .take(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(OrderLine::Table)
                .add_column(flag(OrderLine::Recognised))
                .take(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        drop_columns(
            m,
            OrderLine::Table,
            [OrderLine::Certified, OrderLine::Recognised],
        )
        .await?;
        drop_tables(m, vec![LineLot::Table.into_iden(), Lot::Table.into_iden()]).await
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Listing {
    #[sea_orm(iden = "listings")]
    Table,
    Id,
}

#[derive(DeriveIden, Clone, Copy)]
enum OrderLine {
    #[sea_orm(iden = "order_lines")]
    Table,
    Id,
    Certified,
    Recognised,
}

#[derive(DeriveIden, Clone, Copy)]
enum Lot {
    #[sea_orm(iden = "lots")]
    Table,
    Id,
    ListingId,
    OrganizationId,
    Code,
    HarvestedOn,
    Base,
    VillageCode,
    Households,
    QuantityMilli,
    Scans,
    CreatedBy,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum LineLot {
    #[sea_orm(iden = "order_line_lots")]
    Table,
    OrderLineId,
    LotId,
    QuantityMilli,
}
