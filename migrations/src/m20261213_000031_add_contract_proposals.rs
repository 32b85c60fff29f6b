//! Matching may propose a season contract instead of an order: when a purchase request's date
//! lies in a listing's coming season, the proposal names the delivery window, and once both
//! sides accept it becomes a signed contract the proposal points to.

use sea_orm_migration::prelude::*;

use crate::columns::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        add_columns(
            m,
            Proposal::Table,
            vec![
                ColumnDef::new(Proposal::Kind)
                    .string_len(16)
                    .not_null()
                    .default("order")
                    .take(),
                ColumnDef::new(Proposal::WindowStart).date().null().take(),
                ColumnDef::new(Proposal::WindowEnd).date().null().take(),
                big_null(Proposal::ContractId),
            ],
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        drop_columns(
            m,
            Proposal::Table,
            [
                Proposal::ContractId,
                Proposal::WindowEnd,
                Proposal::WindowStart,
                Proposal::Kind,
            ],
        )
        .await
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Proposal {
    #[sea_orm(iden = "match_proposals")]
    Table,
    Kind,
    WindowStart,
    WindowEnd,
    ContractId,
}
