//! Invoices (发票): the record a seller attaches to an order (普票 or 专票, its number, amount
//! and date) and the file behind it, kept apart so that reading orders never reads files.

use sea_orm_migration::prelude::*;

use crate::columns::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Invoice::Table)
                .col(id(Invoice::Id))
                .col(big(Invoice::OrderId))
                .col(text(Invoice::Kind, 16))
                .col(text(Invoice::Number, 32))
                .col(big(Invoice::AmountFen))
                .col(ColumnDef::new(Invoice::IssuedOn).date().not_null())
                .col(text(Invoice::FileName, 200))
                .col(text(Invoice::FileType, 64))
                .col(big(Invoice::RecordedBy))
                .col(time(Invoice::RecordedAt))
                .take(),
        )
        .await?;
        m.create_index(
            index(
                "idx_order_invoices_order",
                Invoice::Table,
                &[Invoice::OrderId],
            )
            .unique()
            .take(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(File::Table)
                .col(
                    ColumnDef::new(File::InvoiceId)
                        .big_integer()
                        .not_null()
                        .primary_key(),
                )
                .col(ColumnDef::new(File::Data).blob().not_null())
                .foreign_key(
                    &mut fk(File::InvoiceId, Invoice::Table, Invoice::Id)
                        .on_delete(ForeignKeyAction::Cascade)
                        .take(),
                )
                .take(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(m, vec![File::Table.into_iden(), Invoice::Table.into_iden()]).await
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Invoice {
    #[sea_orm(iden = "order_invoices")]
    Table,
    Id,
    OrderId,
    Kind,
    Number,
    AmountFen,
    IssuedOn,
    FileName,
    FileType,
    RecordedBy,
    RecordedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum File {
    #[sea_orm(iden = "order_invoice_files")]
    Table,
    InvoiceId,
    Data,
}
