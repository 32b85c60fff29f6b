//! The images of listing photos, as re-encoded by qudao (a large one and a thumbnail), kept in
//! the database so that every instance serves them.

use sea_orm_migration::prelude::*;

use crate::columns::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(PhotoImage::Table)
                .col(id(PhotoImage::Id))
                .col(big(PhotoImage::PhotoId))
                .col(text(PhotoImage::Variant, 16))
                .col(int(PhotoImage::Width))
                .col(int(PhotoImage::Height))
                .col(ColumnDef::new(PhotoImage::Data).blob().not_null())
                .foreign_key(&mut fk(
                    PhotoImage::PhotoId,
                    ListingPhoto::Table,
                    ListingPhoto::Id,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            index(
                "idx_photo_image_variant",
                PhotoImage::Table,
                &[PhotoImage::PhotoId, PhotoImage::Variant],
            )
            .unique()
            .take(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(PhotoImage::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum PhotoImage {
    #[sea_orm(iden = "listing_photo_images")]
    Table,
    Id,
    PhotoId,
    Variant,
    Width,
    Height,
    Data,
}

#[derive(DeriveIden, Clone, Copy)]
enum ListingPhoto {
    #[sea_orm(iden = "listing_photos")]
    Table,
    Id,
}
