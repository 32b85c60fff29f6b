//! Webhooks: HTTPS endpoints an organization registers to receive its events, signed.

use sea_orm_migration::prelude::*;

use crate::columns::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Webhook::Table)
                .col(id(Webhook::Id))
                .col(big(Webhook::OrganizationId))
                .col(text(Webhook::Url, 500))
                .col(text(Webhook::Secret, 64))
                .col(text(Webhook::Topics, 500))
                .col(flag(Webhook::Active))
                .col(big(Webhook::CreatedBy))
                .col(time(Webhook::CreatedAt))
                .foreign_key(&mut fk(
                    Webhook::OrganizationId,
                    Organization::Table,
                    Organization::Id,
                ))
                .take(),
        )
        .await?;
        m.create_index(index(
            "idx_webhook_organization",
            Webhook::Table,
            &[Webhook::OrganizationId],
        ))
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(m, vec![Webhook::Table.into_iden()]).await
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Webhook {
    #[sea_orm(iden = "webhooks")]
    Table,
    Id,
    OrganizationId,
    Url,
    Secret,
    Topics,
    Active,
    CreatedBy,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Organization {
    #[sea_orm(iden = "organizations")]
    Table,
    Id,
}
