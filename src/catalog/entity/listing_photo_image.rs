//! One re-encoded image of a listing photo (`large` or `thumb`), JPEG bytes.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "listing_photo_images")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub photo_id: i64,
    pub variant: String,
    pub width: i32,
    pub height: i32,
    pub data: Vec<u8>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::listing_photo::Entity",
        from = "Column::PhotoId",
        to = "super::listing_photo::Column::Id"
    )]
    Photo,
}

impl Related<super::listing_photo::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Photo.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
