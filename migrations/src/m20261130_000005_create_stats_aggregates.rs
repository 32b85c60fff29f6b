//! Pre-aggregated statistics, kept in the same transaction as the facts they sum, so a roll-up
//! reads a few thousand rows whatever the number of order lines:
//!
//! - `stats_month_sums`: amounts, quantities and order counts per (basis, seller region,
//!   category, unit, month), with the region's code at every level;
//! - `stats_period_members`: who took part in a region's month, quarter and year (buyers,
//!   producer organizations, registered households), once per region at every level, for all
//!   categories together and per category, so a distinct count reads one row per member;
//! - `stats_household_months`: each registered household's attributed income per month and
//!   place of sale.
//!
//! Rows of existing facts are filled in by the application when it finds these tables empty.

use sea_orm_migration::prelude::*;

use crate::columns::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The columns holding a region's code at every level, highest first.
const LEVELS: [(&str, Path); 5] = [
    ("province", Path::ProvinceCode),
    ("prefecture", Path::PrefectureCode),
    ("county", Path::CountyCode),
    ("township", Path::TownshipCode),
    ("village", Path::VillageCode),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let mut sums = Table::create();
        sums.table(MonthSums::Table)
            .col(id(MonthSums::Id))
            .col(text(MonthSums::Kind, 16))
            .col(text(MonthSums::RegionCode, 12))
            .col(big(MonthSums::CategoryId))
            .col(text(MonthSums::Unit, 16))
            .col(int(MonthSums::Month));
        for (_, col) in LEVELS {
            sums.col(text(col, 12));
        }
        for col in [
            MonthSums::SalesFen,
            MonthSums::AdjustmentFen,
            MonthSums::HouseholdFen,
            MonthSums::QuantityMilli,
            MonthSums::Orders,
            MonthSums::CategoryOrders,
        ] {
            sums.col(big(col));
        }
        m.create_table(sums.take()).await?;
        m.create_index(
            index(
                "uq_stats_month_sums",
                MonthSums::Table,
                &[
                    MonthSums::Kind,
                    MonthSums::RegionCode,
                    MonthSums::CategoryId,
                    MonthSums::Unit,
                    MonthSums::Month,
                ],
            )
            .unique()
            .take(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(PeriodMembers::Table)
                .col(id(PeriodMembers::Id))
                .col(text(PeriodMembers::Kind, 16))
                .col(int(PeriodMembers::Level))
                .col(text(PeriodMembers::RegionCode, 12))
                .col(int(PeriodMembers::Split))
                .col(int(PeriodMembers::Grain))
                .col(int(PeriodMembers::Period))
                .col(big(PeriodMembers::CategoryId))
                .col(text(PeriodMembers::MemberType, 1))
                .col(big(PeriodMembers::MemberId))
                .take(),
        )
        .await?;
        // The unique key is also the covering index every distinct count scans.
        m.create_index(
            index(
                "uq_stats_period_members",
                PeriodMembers::Table,
                &[
                    PeriodMembers::Kind,
                    PeriodMembers::Level,
                    PeriodMembers::RegionCode,
                    PeriodMembers::Split,
                    PeriodMembers::Grain,
                    PeriodMembers::Period,
                    PeriodMembers::CategoryId,
                    PeriodMembers::MemberType,
                    PeriodMembers::MemberId,
                ],
            )
            .unique()
            .take(),
        )
        .await?;

        let mut households = Table::create();
        households
            .table(HouseholdMonths::Table)
            .col(id(HouseholdMonths::Id))
            .col(text(HouseholdMonths::Kind, 16))
            .col(big(HouseholdMonths::HouseholdId))
            .col(text(HouseholdMonths::RegionCode, 12))
            .col(int(HouseholdMonths::Month))
            .col(big(HouseholdMonths::OrganizationId));
        for (_, col) in LEVELS {
            households.col(text(col, 12));
        }
        households.col(big(HouseholdMonths::AmountFen));
        m.create_table(households.take()).await?;
        m.create_index(
            index(
                "uq_stats_household_months",
                HouseholdMonths::Table,
                &[
                    HouseholdMonths::Kind,
                    HouseholdMonths::HouseholdId,
                    HouseholdMonths::RegionCode,
                    HouseholdMonths::Month,
                ],
            )
            .unique()
            .take(),
        )
        .await?;

        // Every roll-up is one range scan of a region's months, at whatever level it sits.
        for (level, col) in LEVELS {
            m.create_index(
                index(
                    &format!("idx_stats_month_sums_{level}"),
                    MonthSums::Table,
                    &[
                        MonthSums::Kind.into_iden(),
                        col.into_iden(),
                        MonthSums::Month.into_iden(),
                    ],
                )
                .take(),
            )
            .await?;
            m.create_index(
                index(
                    &format!("idx_stats_household_months_{level}"),
                    HouseholdMonths::Table,
                    &[
                        HouseholdMonths::Kind.into_iden(),
                        col.into_iden(),
                        HouseholdMonths::Month.into_iden(),
                    ],
                )
                .take(),
            )
            .await?;
        }

        // Recording an order's change looks up its facts by order.
        m.create_index(index("idx_stats_fact_order", Fact::Table, &[Fact::OrderId]))
            .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let mut drop = Index::drop();
        drop.name("idx_stats_fact_order").table(Fact::Table);
        m.drop_index(drop).await?;
        drop_tables(
            m,
            vec![
                HouseholdMonths::Table.into_iden(),
                PeriodMembers::Table.into_iden(),
                MonthSums::Table.into_iden(),
            ],
        )
        .await
    }
}

/// A region's code at each level.
#[derive(DeriveIden, Clone, Copy)]
#[allow(clippy::enum_variant_names)]
enum Path {
    ProvinceCode,
    PrefectureCode,
    CountyCode,
    TownshipCode,
    VillageCode,
}

#[derive(DeriveIden, Clone, Copy)]
enum MonthSums {
    #[sea_orm(iden = "stats_month_sums")]
    Table,
    Id,
    Kind,
    RegionCode,
    CategoryId,
    Unit,
    Month,
    SalesFen,
    AdjustmentFen,
    HouseholdFen,
    QuantityMilli,
    Orders,
    CategoryOrders,
}

#[derive(DeriveIden, Clone, Copy)]
enum PeriodMembers {
    #[sea_orm(iden = "stats_period_members")]
    Table,
    Id,
    Kind,
    Level,
    RegionCode,
    Split,
    Grain,
    Period,
    CategoryId,
    MemberType,
    MemberId,
}

#[derive(DeriveIden, Clone, Copy)]
enum HouseholdMonths {
    #[sea_orm(iden = "stats_household_months")]
    Table,
    Id,
    Kind,
    HouseholdId,
    RegionCode,
    Month,
    OrganizationId,
    AmountFen,
}

#[derive(DeriveIden, Clone, Copy)]
enum Fact {
    #[sea_orm(iden = "stats_facts")]
    Table,
    OrderId,
}
