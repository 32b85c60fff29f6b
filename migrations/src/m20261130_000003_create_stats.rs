//! Statistics for officials: sales facts, household income, quarter closes and their frozen
//! snapshots, and yearly targets.

use sea_orm_migration::prelude::*;

use crate::columns::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(StatsFact::Table)
                .col(id(StatsFact::Id))
                .col(big(StatsFact::OrderLineId))
                .col(big(StatsFact::OrderId))
                .col(text(StatsFact::Kind, 16))
                .col(int(StatsFact::Sign))
                .col(big(StatsFact::OrganizationId))
                .col(big(StatsFact::BuyerId))
                .col(text(StatsFact::BuyerType, 16))
                .col(big(StatsFact::CategoryId))
                .col(text(StatsFact::Unit, 16))
                .col(big(StatsFact::QuantityMilli))
                .col(big(StatsFact::AmountFen))
                .col(big(StatsFact::HouseholdFen))
                .col(text(StatsFact::RegionCode, 12))
                .col(text(StatsFact::ProvinceCode, 12))
                .col(text(StatsFact::PrefectureCode, 12))
                .col(text(StatsFact::CountyCode, 12))
                .col(text(StatsFact::TownshipCode, 12))
                .col(text(StatsFact::VillageCode, 12))
                .col(int(StatsFact::Day))
                .col(int(StatsFact::OriginQuarter))
                .col(time(StatsFact::RecordedAt))
                .take(),
        )
        .await?;
        m.create_index(
            index(
                "uq_stats_fact_line_kind_sign",
                StatsFact::Table,
                &[StatsFact::OrderLineId, StatsFact::Kind, StatsFact::Sign],
            )
            .unique()
            .take(),
        )
        .await?;
        // One index per level, so every roll-up is a range scan of one region's facts.
        for (name, col) in [
            ("idx_stats_fact_province", StatsFact::ProvinceCode),
            ("idx_stats_fact_prefecture", StatsFact::PrefectureCode),
            ("idx_stats_fact_county", StatsFact::CountyCode),
            ("idx_stats_fact_township", StatsFact::TownshipCode),
            ("idx_stats_fact_village", StatsFact::VillageCode),
        ] {
            m.create_index(index(
                name,
                StatsFact::Table,
                &[StatsFact::Kind, col, StatsFact::Day],
            ))
            .await?;
        }

        m.create_table(
            Table::create()
                .table(StatsHouseholdIncome::Table)
                .col(id(StatsHouseholdIncome::Id))
                .col(big(StatsHouseholdIncome::FactId))
                .col(text(StatsHouseholdIncome::Kind, 16))
                .col(int(StatsHouseholdIncome::Sign))
                .col(big(StatsHouseholdIncome::HouseholdId))
                .col(big(StatsHouseholdIncome::OrganizationId))
                .col(text(StatsHouseholdIncome::ProvinceCode, 12))
                .col(text(StatsHouseholdIncome::PrefectureCode, 12))
                .col(text(StatsHouseholdIncome::CountyCode, 12))
                .col(text(StatsHouseholdIncome::TownshipCode, 12))
                .col(text(StatsHouseholdIncome::VillageCode, 12))
                .col(int(StatsHouseholdIncome::Day))
                .col(big(StatsHouseholdIncome::AmountFen))
                .foreign_key(&mut fk(
                    StatsHouseholdIncome::FactId,
                    StatsFact::Table,
                    StatsFact::Id,
                ))
                .take(),
        )
        .await?;
        m.create_index(
            index(
                "uq_stats_household_income",
                StatsHouseholdIncome::Table,
                &[
                    StatsHouseholdIncome::FactId,
                    StatsHouseholdIncome::HouseholdId,
                ],
            )
            .unique()
            .take(),
        )
        .await?;
        for (name, col) in [
            ("idx_stats_hh_province", StatsHouseholdIncome::ProvinceCode),
            (
                "idx_stats_hh_prefecture",
                StatsHouseholdIncome::PrefectureCode,
            ),
            ("idx_stats_hh_county", StatsHouseholdIncome::CountyCode),
            ("idx_stats_hh_township", StatsHouseholdIncome::TownshipCode),
            ("idx_stats_hh_village", StatsHouseholdIncome::VillageCode),
        ] {
            m.create_index(index(
                name,
                StatsHouseholdIncome::Table,
                &[StatsHouseholdIncome::Kind, col, StatsHouseholdIncome::Day],
            ))
            .await?;
        }

        m.create_table(
            Table::create()
                .table(StatsQuarterClose::Table)
                .col(id(StatsQuarterClose::Id))
                .col(int(StatsQuarterClose::Quarter).unique_key())
                .col(big(StatsQuarterClose::ClosedBy))
                .col(time(StatsQuarterClose::ClosedAt))
                .take(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(StatsSnapshot::Table)
                .col(id(StatsSnapshot::Id))
                .col(int(StatsSnapshot::Quarter))
                .col(text(StatsSnapshot::Kind, 16))
                .col(text(StatsSnapshot::RegionCode, 12))
                .col(big(StatsSnapshot::SalesFen))
                .col(big(StatsSnapshot::AdjustmentFen))
                .col(big(StatsSnapshot::Orders))
                .col(big(StatsSnapshot::Buyers))
                .col(big(StatsSnapshot::Organizations))
                .col(big(StatsSnapshot::Households))
                .col(big(StatsSnapshot::HouseholdFen))
                .col(long_text(StatsSnapshot::Quantities))
                .take(),
        )
        .await?;
        m.create_index(
            index(
                "uq_stats_snapshot",
                StatsSnapshot::Table,
                &[
                    StatsSnapshot::Quarter,
                    StatsSnapshot::Kind,
                    StatsSnapshot::RegionCode,
                ],
            )
            .unique()
            .take(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(StatsTarget::Table)
                .col(id(StatsTarget::Id))
                .col(text(StatsTarget::RegionCode, 12))
                .col(int(StatsTarget::Year))
                .col(big(StatsTarget::SalesFen).check(Expr::col(StatsTarget::SalesFen).gte(0)))
                .col(big(StatsTarget::Households).check(Expr::col(StatsTarget::Households).gte(0)))
                .col(
                    big(StatsTarget::NewOrganizations)
                        .check(Expr::col(StatsTarget::NewOrganizations).gte(0)),
                )
                .col(big(StatsTarget::SetBy))
                .col(time(StatsTarget::UpdatedAt))
                .take(),
        )
        .await?;
        m.create_index(
            index(
                "uq_stats_target",
                StatsTarget::Table,
                &[StatsTarget::RegionCode, StatsTarget::Year],
            )
            .unique()
            .take(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(
            m,
            vec![
                StatsTarget::Table.into_iden(),
                StatsSnapshot::Table.into_iden(),
                StatsQuarterClose::Table.into_iden(),
                StatsHouseholdIncome::Table.into_iden(),
                StatsFact::Table.into_iden(),
            ],
        )
        .await
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum StatsFact {
    #[sea_orm(iden = "stats_facts")]
    Table,
    Id,
    OrderLineId,
    OrderId,
    Kind,
    Sign,
    OrganizationId,
    BuyerId,
    BuyerType,
    CategoryId,
    Unit,
    QuantityMilli,
    AmountFen,
    HouseholdFen,
    RegionCode,
    ProvinceCode,
    PrefectureCode,
    CountyCode,
    TownshipCode,
    VillageCode,
    Day,
    OriginQuarter,
    RecordedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum StatsHouseholdIncome {
    #[sea_orm(iden = "stats_household_income")]
    Table,
    Id,
    FactId,
    Kind,
    Sign,
    HouseholdId,
    OrganizationId,
    ProvinceCode,
    PrefectureCode,
    CountyCode,
    TownshipCode,
    VillageCode,
    Day,
    AmountFen,
}

#[derive(DeriveIden, Clone, Copy)]
enum StatsQuarterClose {
    #[sea_orm(iden = "stats_quarter_closes")]
    Table,
    Id,
    Quarter,
    ClosedBy,
    ClosedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum StatsSnapshot {
    #[sea_orm(iden = "stats_snapshots")]
    Table,
    Id,
    Quarter,
    Kind,
    RegionCode,
    SalesFen,
    AdjustmentFen,
    Orders,
    Buyers,
    Organizations,
    Households,
    HouseholdFen,
    Quantities,
}

#[derive(DeriveIden, Clone, Copy)]
enum StatsTarget {
    #[sea_orm(iden = "stats_targets")]
    Table,
    Id,
    RegionCode,
    Year,
    SalesFen,
    Households,
    NewOrganizations,
    SetBy,
    UpdatedAt,
}
