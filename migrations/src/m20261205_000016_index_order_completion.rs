//! Orders by the time they were completed: 行情 reads the weeks' completed sales through it
//! instead of every order.

use sea_orm_migration::prelude::*;

use crate::columns::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const NAME: &str = "idx_order_completed_at";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_index(index(NAME, Order::Table, &[Order::CompletedAt]))
            .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let mut drop = Index::drop();
        drop.name(NAME).table(Order::Table);
        m.drop_index(drop).await
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Order {
    #[sea_orm(iden = "orders")]
    Table,
    CompletedAt,
}
