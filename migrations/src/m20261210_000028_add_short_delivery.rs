//! Partial shipment and short delivery: what each line shipped and what the buyer received,
//! the refund of the difference, the buyer's photo of the delivery, and a fact part for the
//! statistics so the shortfall is taken back once, apart from a later cancellation.

use sea_orm_migration::prelude::*;

use crate::columns::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        add_columns(
            m,
            Line::Table,
            vec![
                big_null(Line::ShippedMilli),
                big_null(Line::ReceivedMilli),
                big_default(Line::ShortFen),
            ],
        )
        .await?;
        add_columns(m, Order::Table, vec![big_default(Order::RefundFen)]).await?;
        add_columns(
            m,
            Fact::Table,
            vec![
                ColumnDef::new(Fact::Part)
                    .integer()
                    .not_null()
                    .default(0)
                    .take(),
            ],
        )
        .await?;
        let mut drop = Index::drop();
        drop.name("uq_stats_fact_line_kind_sign").table(Fact::Table);
        m.drop_index(drop).await?;
        m.create_index(
            index(
                "uq_stats_fact_line_kind_sign_part",
                Fact::Table,
                &[Fact::OrderLineId, Fact::Kind, Fact::Sign, Fact::Part],
            )
            .unique()
            .take(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Photo::Table)
                .col(
                    ColumnDef::new(Photo::OrderId)
                        .big_integer()
                        .not_null()
                        .primary_key(),
                )
                .col(text(Photo::FileName, 200))
                .col(text(Photo::FileType, 64))
                .col(ColumnDef::new(Photo::Data).blob().not_null())
                .col(big(Photo::UploadedBy))
                .col(time(Photo::UploadedAt))
                .take(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(m, vec![Photo::Table.into_iden()]).await?;
        let mut drop = Index::drop();
        drop.name("uq_stats_fact_line_kind_sign_part")
            .table(Fact::Table);
        m.drop_index(drop).await?;
        m.create_index(
            index(
                "uq_stats_fact_line_kind_sign",
                Fact::Table,
                &[Fact::OrderLineId, Fact::Kind, Fact::Sign],
            )
            .unique()
            .take(),
        )
        .await?;
        let drops = [
            (Fact::Table.into_iden(), Fact::Part.into_iden()),
            (Order::Table.into_iden(), Order::RefundFen.into_iden()),
            (Line::Table.into_iden(), Line::ShortFen.into_iden()),
            (Line::Table.into_iden(), Line::ReceivedMilli.into_iden()),
            (Line::Table.into_iden(), Line::ShippedMilli.into_iden()),
        ];
        for (table, col) in drops {
            m.alter_table(Table::alter().table(table).drop_column(col).take())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Line {
    #[sea_orm(iden = "order_lines")]
    Table,
    ShippedMilli,
    ReceivedMilli,
    ShortFen,
}

#[derive(DeriveIden, Clone, Copy)]
enum Order {
    #[sea_orm(iden = "orders")]
    Table,
    RefundFen,
}

#[derive(DeriveIden, Clone, Copy)]
enum Fact {
    #[sea_orm(iden = "stats_facts")]
    Table,
    OrderLineId,
    Kind,
    Sign,
    Part,
}

#[derive(DeriveIden, Clone, Copy)]
enum Photo {
    #[sea_orm(iden = "order_receipt_photos")]
    Table,
    OrderId,
    FileName,
    FileType,
    Data,
    UploadedBy,
    UploadedAt,
}
