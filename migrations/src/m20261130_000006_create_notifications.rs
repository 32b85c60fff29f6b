//! Notifications: users' email addresses, in-app notices, and outbox rows that gave up.

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
                .add_column(text_null(User::Email, 254))
                .take(),
        )
        .await?;
        // Set when a row has used up its attempts; an admin may make it due again.
        m.alter_table(
            Table::alter()
                .table(Outbox::Table)
                .add_column(time_null(Outbox::DeadAt))
                .take(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Notification::Table)
                .col(id(Notification::Id))
                .col(big(Notification::UserId))
                .col(big(Notification::EventId))
                .col(text(Notification::Topic, 64))
                .col(text(Notification::Title, 200))
                .col(long_text(Notification::Body))
                .col(text_null(Notification::Link, 300))
                .col(time_null(Notification::ReadAt))
                .col(time(Notification::CreatedAt))
                .foreign_key(&mut fk(Notification::UserId, User::Table, User::Id))
                .take(),
        )
        .await?;
        // One notice per event and person, however often the event is delivered.
        m.create_index(
            index(
                "uq_notification_event_user",
                Notification::Table,
                &[Notification::EventId, Notification::UserId],
            )
            .unique()
            .take(),
        )
        .await?;
        m.create_index(index(
            "idx_notification_user",
            Notification::Table,
            &[Notification::UserId, Notification::Id],
        ))
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(m, vec![Notification::Table.into_iden()]).await?;
        m.alter_table(
            Table::alter()
                .table(Outbox::Table)
                .drop_column(Outbox::DeadAt)
                .take(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(User::Table)
                .drop_column(User::Email)
                .take(),
        )
        .await
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum User {
    #[sea_orm(iden = "users")]
    Table,
    Id,
    Email,
}

#[derive(DeriveIden, Clone, Copy)]
enum Outbox {
    #[sea_orm(iden = "outbox")]
    Table,
    DeadAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Notification {
    #[sea_orm(iden = "notifications")]
    Table,
    Id,
    UserId,
    EventId,
    Topic,
    Title,
    Body,
    Link,
    ReadAt,
    CreatedAt,
}
