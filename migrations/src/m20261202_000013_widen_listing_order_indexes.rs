//! The listing lists' indexes also carry what decides whether a listing is shown (its status,
//! its deletion, its organization): a deep page skips the listings before it in the index
//! alone, without reading each one's row.

use sea_orm_migration::prelude::*;

use crate::columns::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const INDEXES: [(&str, Listing); 2] = [
    ("idx_listing_newest", Listing::CreatedAt),
    ("idx_listing_price", Listing::PriceFen),
];

async fn recreate(m: &SchemaManager<'_>, wide: bool) -> Result<(), DbErr> {
    for (name, column) in INDEXES {
        let mut drop = Index::drop();
        drop.name(name).table(Listing::Table);
        m.drop_index(drop).await?;
        let mut columns = vec![column, Listing::Id];
        if wide {
            columns.extend([Listing::Status, Listing::DeletedAt, Listing::OrganizationId]);
        }
        m.create_index(index(name, Listing::Table, &columns))
            .await?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// One transaction on SQLite too: each index is dropped and made again on one connection
    /// (another would still know the old index), and a failure leaves both as they were.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        recreate(m, true).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        recreate(m, false).await
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Listing {
    #[sea_orm(iden = "listings")]
    Table,
    Id,
    CreatedAt,
    PriceFen,
    Status,
    DeletedAt,
    OrganizationId,
}
