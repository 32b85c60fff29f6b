//! An evidence file behind a certificate (its scan: a PDF, JPEG or PNG, as uploaded).
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "certificate_files")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub certificate_id: i64,
    /// The file's name as uploaded, cleaned.
    pub name: String,
    /// `application/pdf`, `image/jpeg` or `image/png`, judged from the content.
    pub content_type: String,
    pub size: i64,
    pub data: Vec<u8>,
    pub uploaded_by: i64,
    pub uploaded_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
