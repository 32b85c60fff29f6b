//! Help relations (帮扶关系): a helper (a buyer unit, or a region) and the county it helps,
//! of a kind and for a period.

use sea_orm_migration::prelude::*;

use crate::columns::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Relation::Table)
                .col(id(Relation::Id))
                .col(text(Relation::Kind, 16))
                .col(big_null(Relation::HelperUnitId))
                .col(text(Relation::HelperRegionCode, 12))
                .col(text(Relation::HelpedCountyCode, 6))
                .col(ColumnDef::new(Relation::StartsOn).date().not_null())
                .col(ColumnDef::new(Relation::EndsOn).date().null())
                .col(big(Relation::CreatedBy))
                .col(time(Relation::CreatedAt))
                .foreign_key(&mut fk(Relation::HelperUnitId, Unit::Table, Unit::Id))
                .take(),
        )
        .await?;
        m.create_index(index(
            "idx_help_relations_helped",
            Relation::Table,
            &[Relation::HelpedCountyCode],
        ))
        .await?;
        m.create_index(index(
            "idx_help_relations_helper",
            Relation::Table,
            &[Relation::HelperRegionCode],
        ))
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(m, vec![Relation::Table.into_iden()]).await
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Relation {
    #[sea_orm(iden = "help_relations")]
    Table,
    Id,
    Kind,
    HelperUnitId,
    HelperRegionCode,
    HelpedCountyCode,
    StartsOn,
    EndsOn,
    CreatedBy,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Unit {
    #[sea_orm(iden = "buyer_units")]
    Table,
    Id,
}
