//! The quarterly 成效统计表 as counties report it up the chain: one filing per county and
//! quarter with the declared indicators being worked on and the last version sent up; every
//! save, submission, return, acceptance and sign-off as a step; evidence files per indicator.
//! Officials who may fill in and send reports are marked `reporter`.

use sea_orm_migration::prelude::*;

use crate::columns::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(User::Table)
                .add_column(flag(User::Reporter))
                .take(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Filing::Table)
                .col(id(Filing::Id))
                .col(text(Filing::CountyCode, 12))
                .col(int(Filing::Quarter))
                .col(text(Filing::Status, 16))
                .col(int(Filing::Version))
                .col(long_text(Filing::Indicators))
                .col(long_text_null(Filing::Submitted))
                .col(long_text(Filing::Comments))
                .col(time_null(Filing::FirstSubmittedAt))
                .col(time_null(Filing::SubmittedAt))
                .col(time(Filing::UpdatedAt))
                .take(),
        )
        .await?;
        m.create_index(
            index(
                "uq_stats_filing",
                Filing::Table,
                &[Filing::CountyCode, Filing::Quarter],
            )
            .unique()
            .take(),
        )
        .await?;
        m.create_index(index(
            "idx_stats_filing_quarter",
            Filing::Table,
            &[Filing::Quarter, Filing::CountyCode],
        ))
        .await?;
        m.create_table(
            Table::create()
                .table(Step::Table)
                .col(id(Step::Id))
                .col(big(Step::FilingId))
                .col(int(Step::Version))
                .col(text(Step::Action, 16))
                .col(text(Step::Status, 16))
                .col(long_text(Step::Indicators))
                .col(long_text_null(Step::Platform))
                .col(long_text(Step::Comments))
                .col(big(Step::ActorId))
                .col(time(Step::CreatedAt))
                .foreign_key(&mut fk(Step::FilingId, Filing::Table, Filing::Id))
                .take(),
        )
        .await?;
        m.create_index(index(
            "idx_stats_filing_step_filing",
            Step::Table,
            &[Step::FilingId, Step::Id],
        ))
        .await?;
        m.create_table(
            Table::create()
                .table(Evidence::Table)
                .col(id(Evidence::Id))
                .col(big(Evidence::FilingId))
                .col(text(Evidence::Indicator, 32))
                .col(int(Evidence::Version))
                .col(text(Evidence::Name, 120))
                .col(text(Evidence::ContentType, 32))
                .col(big(Evidence::Size))
                .col(ColumnDef::new(Evidence::Data).blob().not_null())
                .col(big(Evidence::UploadedBy))
                .col(time(Evidence::UploadedAt))
                .foreign_key(&mut fk(Evidence::FilingId, Filing::Table, Filing::Id))
                .take(),
        )
        .await?;
        m.create_index(index(
            "idx_stats_filing_evidence_filing",
            Evidence::Table,
            &[Evidence::FilingId, Evidence::Indicator],
        ))
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(
            m,
            vec![
                Evidence::Table.into_iden(),
                Step::Table.into_iden(),
                Filing::Table.into_iden(),
            ],
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(User::Table)
                .drop_column(User::Reporter)
                .take(),
        )
        .await
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum User {
    #[sea_orm(iden = "users")]
    Table,
    Reporter,
}

#[derive(DeriveIden, Clone, Copy)]
enum Filing {
    #[sea_orm(iden = "stats_filings")]
    Table,
    Id,
    CountyCode,
    Quarter,
    Status,
    Version,
    Indicators,
    Submitted,
    Comments,
    FirstSubmittedAt,
    SubmittedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Step {
    #[sea_orm(iden = "stats_filing_steps")]
    Table,
    Id,
    FilingId,
    Version,
    Action,
    Status,
    Indicators,
    Platform,
    Comments,
    ActorId,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Evidence {
    #[sea_orm(iden = "stats_filing_evidence")]
    Table,
    Id,
    FilingId,
    Indicator,
    Version,
    Name,
    ContentType,
    Size,
    Data,
    UploadedBy,
    UploadedAt,
}
