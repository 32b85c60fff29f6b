//! What buyers searched for, counted per day and query text: how often, how often nothing
//! was found, and how often a result was opened. No buyer is recorded.

use sea_orm_migration::prelude::*;

use crate::columns::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Queries::Table)
                .col(id(Queries::Id))
                .col(ColumnDef::new(Queries::Day).date().not_null())
                .col(text(Queries::Query, 100))
                .col(big(Queries::Searches))
                .col(big(Queries::ZeroResults))
                .col(big(Queries::Clicks))
                .take(),
        )
        .await?;
        m.create_index(
            index(
                "idx_search_queries_day_query",
                Queries::Table,
                &[Queries::Day, Queries::Query],
            )
            .unique()
            .take(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(m, vec![Queries::Table.into_iden()]).await
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Queries {
    #[sea_orm(iden = "search_queries")]
    Table,
    Id,
    Day,
    Query,
    Searches,
    ZeroResults,
    Clicks,
}
