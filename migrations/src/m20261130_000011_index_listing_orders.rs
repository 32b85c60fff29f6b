//! Listing lists in their two orders (newest first, by price) read a page from an index
//! instead of sorting every listing.

use sea_orm_migration::prelude::*;

use crate::columns::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const INDEXES: [(&str, Listing); 2] = [
    ("idx_listing_newest", Listing::CreatedAt),
    ("idx_listing_price", Listing::PriceFen),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for (name, column) in INDEXES {
            m.create_index(index(name, Listing::Table, &[column, Listing::Id]))
                .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for (name, _) in INDEXES {
            let mut drop = Index::drop();
            drop.name(name).table(Listing::Table);
            m.drop_index(drop).await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Listing {
    #[sea_orm(iden = "listings")]
    Table,
    Id,
    CreatedAt,
    PriceFen,
}
