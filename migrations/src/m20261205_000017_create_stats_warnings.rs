//! Early warnings for officials: listings not selling in season (滞销), regions behind their
//! yearly target's pace, households whose platform income fell. One row per warning and the
//! occasion that raised it; an official's acknowledgement is kept on the row (and audited).

use sea_orm_migration::prelude::*;

use crate::columns::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(StatsWarning::Table)
                .col(id(StatsWarning::Id))
                .col(text(StatsWarning::Kind, 24))
                .col(text(StatsWarning::RegionCode, 12))
                .col(text(StatsWarning::Subject, 32))
                .col(text(StatsWarning::Occasion, 16))
                .col(long_text(StatsWarning::Detail))
                .col(time(StatsWarning::RaisedAt))
                .col(time_null(StatsWarning::ClearedAt))
                .col(time_null(StatsWarning::AcknowledgedAt))
                .col(big_null(StatsWarning::AcknowledgedBy))
                .col(long_text_null(StatsWarning::Note))
                .take(),
        )
        .await?;
        m.create_index(
            index(
                "uq_stats_warning",
                StatsWarning::Table,
                &[
                    StatsWarning::Kind,
                    StatsWarning::Subject,
                    StatsWarning::Occasion,
                ],
            )
            .unique()
            .take(),
        )
        .await?;
        m.create_index(index(
            "idx_stats_warning_region",
            StatsWarning::Table,
            &[StatsWarning::RegionCode],
        ))
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(m, vec![StatsWarning::Table.into_iden()]).await
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum StatsWarning {
    #[sea_orm(iden = "stats_warnings")]
    Table,
    Id,
    Kind,
    RegionCode,
    Subject,
    Occasion,
    Detail,
    RaisedAt,
    ClearedAt,
    AcknowledgedAt,
    AcknowledgedBy,
    Note,
}
