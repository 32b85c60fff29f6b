//! Each county under 消费帮扶 policy carries its standing: the year a former poverty county
//! (原贫困县) exited, and whether it is a national or provincial key assistance county
//! (乡村振兴重点帮扶县).

use sea_orm_migration::prelude::*;

use crate::columns::drop_columns;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Region::Table)
                .add_column(ColumnDef::new(Region::PovertyExit).small_integer().null())
                .take(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Region::Table)
                .add_column(ColumnDef::new(Region::AssistanceKey).string_len(16).null())
                .take(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        drop_columns(
            m,
            Region::Table,
            [Region::PovertyExit, Region::AssistanceKey],
        )
        .await
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Region {
    #[sea_orm(iden = "regions")]
    Table,
    PovertyExit,
    AssistanceKey,
}
