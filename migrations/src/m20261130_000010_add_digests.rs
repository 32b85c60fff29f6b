//! Daily digests: a person may have the emails of a kind gathered into one a day; notices
//! waiting for that digest are marked.

use sea_orm_migration::prelude::*;

use crate::columns::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Preference::Table)
                .add_column(flag(Preference::Digest))
                .take(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Notification::Table)
                .add_column(flag(Notification::DigestPending))
                .take(),
        )
        .await?;
        m.create_index(index(
            "idx_notification_digest",
            Notification::Table,
            &[Notification::DigestPending, Notification::UserId],
        ))
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let mut drop = Index::drop();
        drop.name("idx_notification_digest")
            .table(Notification::Table);
        m.drop_index(drop).await?;
        m.alter_table(
            Table::alter()
                .table(Notification::Table)
                .drop_column(Notification::DigestPending)
                .take(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Preference::Table)
                .drop_column(Preference::Digest)
                .take(),
        )
        .await
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Preference {
    #[sea_orm(iden = "notification_preferences")]
    Table,
    Digest,
}

#[derive(DeriveIden, Clone, Copy)]
enum Notification {
    #[sea_orm(iden = "notifications")]
    Table,
    UserId,
    DigestPending,
}
