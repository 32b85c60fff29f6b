//! The buyer side of the statistics: each fact keeps who bought (the unit it counts for and
//! on what basis, the buyer's kind and region) and the campaign it was sold under, and
//! `stats_buyer_sums` sums facts per (basis, day, seller region, buyer unit, basis of
//! attribution, buyer kind, buyer region, campaign), so that what was bought and what was sold
//! come from the same facts.
//!
//! Facts written before carry an empty `buyer_kind`; the application fills them in from their
//! orders when it starts, and the sums with them.

use sea_orm_migration::prelude::*;

use crate::columns::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

fn text_default<T: IntoIden>(name: T, len: u32) -> ColumnDef {
    ColumnDef::new(name)
        .string_len(len)
        .not_null()
        .default("")
        .take()
}

/// The columns facts and sums gain, in the facts' table.
fn fact_columns() -> Vec<ColumnDef> {
    vec![
        big_default(Fact::BuyerUnitId),
        text_default(Fact::BuyerBasis, 16),
        text_default(Fact::BuyerKind, 24),
        text_default(Fact::BuyerRegionCode, 12),
        text_default(Fact::BuyerProvinceCode, 12),
        text_default(Fact::BuyerPrefectureCode, 12),
        text_default(Fact::BuyerCountyCode, 12),
        big_default(Fact::CampaignId),
    ]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        add_columns(m, Fact::Table, fact_columns()).await?;
        let mut sums = Table::create();
        sums.table(Sums::Table)
            .col(id(Sums::Id))
            .col(text(Sums::Kind, 16))
            .col(int(Sums::Day))
            .col(text(Sums::SellerRegionCode, 12))
            .col(text(Sums::SellerProvinceCode, 12))
            .col(text(Sums::SellerPrefectureCode, 12))
            .col(text(Sums::SellerCountyCode, 12))
            .col(big(Sums::BuyerUnitId))
            .col(text(Sums::BuyerBasis, 16))
            .col(text(Sums::BuyerKind, 24))
            .col(text(Sums::BuyerRegionCode, 12))
            .col(text(Sums::BuyerProvinceCode, 12))
            .col(text(Sums::BuyerPrefectureCode, 12))
            .col(text(Sums::BuyerCountyCode, 12))
            .col(big(Sums::CampaignId))
            .col(big(Sums::SalesFen))
            .col(big(Sums::Orders));
        m.create_table(sums.take()).await?;
        m.create_index(
            index(
                "uq_stats_buyer_sums",
                Sums::Table,
                &[
                    Sums::Kind,
                    Sums::Day,
                    Sums::SellerRegionCode,
                    Sums::BuyerUnitId,
                    Sums::BuyerBasis,
                    Sums::BuyerKind,
                    Sums::BuyerRegionCode,
                    Sums::CampaignId,
                ],
            )
            .unique()
            .take(),
        )
        .await?;
        for (name, col) in [
            ("idx_stats_buyer_sums_seller_county", Sums::SellerCountyCode),
            (
                "idx_stats_buyer_sums_buyer_province",
                Sums::BuyerProvinceCode,
            ),
            ("idx_stats_buyer_sums_unit", Sums::BuyerUnitId),
        ] {
            m.create_index(index(name, Sums::Table, &[Sums::Kind, col, Sums::Day]))
                .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(m, vec![Sums::Table.into_iden()]).await?;
        for col in [
            Fact::BuyerUnitId,
            Fact::BuyerBasis,
            Fact::BuyerKind,
            Fact::BuyerRegionCode,
            Fact::BuyerProvinceCode,
            Fact::BuyerPrefectureCode,
            Fact::BuyerCountyCode,
            Fact::CampaignId,
        ] {
            m.alter_table(Table::alter().table(Fact::Table).drop_column(col).take())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Fact {
    #[sea_orm(iden = "stats_facts")]
    Table,
    BuyerUnitId,
    BuyerBasis,
    BuyerKind,
    BuyerRegionCode,
    BuyerProvinceCode,
    BuyerPrefectureCode,
    BuyerCountyCode,
    CampaignId,
}

#[derive(DeriveIden, Clone, Copy)]
enum Sums {
    #[sea_orm(iden = "stats_buyer_sums")]
    Table,
    Id,
    Kind,
    Day,
    SellerRegionCode,
    SellerProvinceCode,
    SellerPrefectureCode,
    SellerCountyCode,
    BuyerUnitId,
    BuyerBasis,
    BuyerKind,
    BuyerRegionCode,
    BuyerProvinceCode,
    BuyerPrefectureCode,
    BuyerCountyCode,
    CampaignId,
    SalesFen,
    Orders,
}
