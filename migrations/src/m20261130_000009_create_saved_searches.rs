//! Buyers' saved searches and the listings each has alerted them to.

use sea_orm_migration::prelude::*;

use crate::columns::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Saved::Table)
                .col(id(Saved::Id))
                .col(big(Saved::UserId))
                .col(text(Saved::Name, 60))
                // The query and filters as JSON.
                .col(long_text(Saved::Query))
                // `instant`, `daily` or `off`.
                .col(text(Saved::Alert, 10))
                .col(time(Saved::CreatedAt))
                .col(time(Saved::UpdatedAt))
                .foreign_key(&mut fk(Saved::UserId, User::Table, User::Id))
                .take(),
        )
        .await?;
        m.create_index(index(
            "idx_saved_search_user",
            Saved::Table,
            &[Saved::UserId],
        ))
        .await?;
        m.create_table(
            Table::create()
                .table(Hit::Table)
                .col(id(Hit::Id))
                .col(big(Hit::SavedSearchId))
                .col(big(Hit::ListingId))
                // The outbox row of the change that put the listing on offer: a listing
                // restocked later alerts again, the same change delivered twice does not.
                .col(big(Hit::Occasion))
                .col(time(Hit::CreatedAt))
                .foreign_key(&mut fk(Hit::SavedSearchId, Saved::Table, Saved::Id))
                .foreign_key(&mut fk(Hit::ListingId, Listing::Table, Listing::Id))
                .take(),
        )
        .await?;
        m.create_index(
            index(
                "uq_saved_search_hit",
                Hit::Table,
                &[Hit::SavedSearchId, Hit::ListingId, Hit::Occasion],
            )
            .unique()
            .take(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(m, vec![Hit::Table.into_iden(), Saved::Table.into_iden()]).await
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Saved {
    #[sea_orm(iden = "saved_searches")]
    Table,
    Id,
    UserId,
    Name,
    Query,
    Alert,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Hit {
    #[sea_orm(iden = "saved_search_hits")]
    Table,
    Id,
    SavedSearchId,
    ListingId,
    Occasion,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum User {
    #[sea_orm(iden = "users")]
    Table,
    Id,
}

#[derive(DeriveIden, Clone, Copy)]
enum Listing {
    #[sea_orm(iden = "listings")]
    Table,
    Id,
}
