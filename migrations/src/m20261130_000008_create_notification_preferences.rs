//! What each person wants by email, per kind of event.

use sea_orm_migration::prelude::*;

use crate::columns::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Preference::Table)
                .col(id(Preference::Id))
                .col(big(Preference::UserId))
                .col(text(Preference::Topic, 32))
                .col(flag(Preference::Email))
                .col(time(Preference::UpdatedAt))
                .foreign_key(&mut fk(Preference::UserId, User::Table, User::Id))
                .take(),
        )
        .await?;
        m.create_index(
            index(
                "uq_notification_preference",
                Preference::Table,
                &[Preference::UserId, Preference::Topic],
            )
            .unique()
            .take(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(m, vec![Preference::Table.into_iden()]).await
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Preference {
    #[sea_orm(iden = "notification_preferences")]
    Table,
    Id,
    UserId,
    Topic,
    Email,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum User {
    #[sea_orm(iden = "users")]
    Table,
    Id,
}
