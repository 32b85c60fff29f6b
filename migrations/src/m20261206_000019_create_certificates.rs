//! Certificates an organization records (number, issuer, what they cover, validity, evidence)
//! and their verification: a county official's review, the public notice (公示) with its
//! objections for 消费帮扶产品认定. The ticks listings carried of their own say become draft
//! certificates of their organization, one per kind, covering those listings; listings then
//! carry only what certificates in effect give them.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, Statement};

use crate::columns::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Certificate::Table)
                .col(id(Certificate::Id))
                .col(big(Certificate::OrganizationId))
                .col(text(Certificate::Kind, 32))
                .col(text(Certificate::Number, 64))
                .col(text(Certificate::Issuer, 120))
                .col(long_text(Certificate::Products))
                .col(long_text(Certificate::Bases))
                .col(ColumnDef::new(Certificate::ValidFrom).date().null())
                .col(ColumnDef::new(Certificate::ValidUntil).date().null())
                .col(text(Certificate::Status, 16))
                .col(long_text_null(Certificate::Reason))
                .col(ColumnDef::new(Certificate::NoticeUntil).date().null())
                .col(flag(Certificate::ExpiryWarned))
                .col(time_null(Certificate::SubmittedAt))
                .col(big_null(Certificate::DecidedBy))
                .col(time_null(Certificate::DecidedAt))
                .col(time(Certificate::CreatedAt))
                .col(time(Certificate::UpdatedAt))
                .foreign_key(&mut fk(
                    Certificate::OrganizationId,
                    Organization::Table,
                    Organization::Id,
                ))
                .take(),
        )
        .await?;
        m.create_index(index(
            "idx_certificates_organization",
            Certificate::Table,
            &[Certificate::OrganizationId, Certificate::Status],
        ))
        .await?;
        m.create_index(index(
            "idx_certificates_status",
            Certificate::Table,
            &[Certificate::Status, Certificate::ValidUntil],
        ))
        .await?;
        m.create_table(
            Table::create()
                .table(Covered::Table)
                .col(big(Covered::CertificateId))
                .col(big(Covered::ListingId))
                .primary_key(
                    Index::create()
                        .col(Covered::CertificateId)
                        .col(Covered::ListingId),
                )
                .foreign_key(&mut fk(
                    Covered::CertificateId,
                    Certificate::Table,
                    Certificate::Id,
                ))
                .foreign_key(&mut fk(Covered::ListingId, Listing::Table, Listing::Id))
                .take(),
        )
        .await?;
        m.create_index(index(
            "idx_certificate_listings_listing",
            Covered::Table,
            &[Covered::ListingId, Covered::CertificateId],
        ))
        .await?;
        m.create_table(
            Table::create()
                .table(File::Table)
                .col(id(File::Id))
                .col(big(File::CertificateId))
                .col(text(File::Name, 120))
                .col(text(File::ContentType, 32))
                .col(big(File::Size))
                .col(ColumnDef::new(File::Data).blob().not_null())
                .col(big(File::UploadedBy))
                .col(time(File::UploadedAt))
                .foreign_key(&mut fk(
                    File::CertificateId,
                    Certificate::Table,
                    Certificate::Id,
                ))
                .take(),
        )
        .await?;
        m.create_index(index(
            "idx_certificate_files_certificate",
            File::Table,
            &[File::CertificateId],
        ))
        .await?;
        m.create_table(
            Table::create()
                .table(Objection::Table)
                .col(id(Objection::Id))
                .col(big(Objection::CertificateId))
                .col(big(Objection::UserId))
                .col(long_text(Objection::Reason))
                .col(text(Objection::Status, 16))
                .col(long_text_null(Objection::Decision))
                .col(big_null(Objection::DecidedBy))
                .col(time(Objection::CreatedAt))
                .col(time_null(Objection::DecidedAt))
                .foreign_key(&mut fk(
                    Objection::CertificateId,
                    Certificate::Table,
                    Certificate::Id,
                ))
                .take(),
        )
        .await?;
        m.create_index(index(
            "idx_certificate_objections_certificate",
            Objection::Table,
            &[Objection::CertificateId, Objection::Status],
        ))
        .await?;
        claims_to_drafts(m).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(
            m,
            vec![
                Objection::Table.into_iden(),
                File::Table.into_iden(),
                Covered::Table.into_iden(),
                Certificate::Table.into_iden(),
            ],
        )
        .await
    }
}

/// Each listing's self-declared certifications become draft certificates of its organization,
/// one per organization and kind covering its listings that claimed it; the listings keep none.
async fn claims_to_drafts(m: &SchemaManager<'_>) -> Result<(), DbErr> {
    let db = m.get_connection();
    let backend = m.get_database_backend();
    let rows = db
        .query_all_raw(Statement::from_string(
            backend,
            "SELECT id, organization_id, certifications FROM listings \
             WHERE certifications <> '' ORDER BY id",
        ))
        .await?;
    let mut claims: std::collections::BTreeMap<(i64, String), Vec<i64>> = Default::default();
    for row in rows {
        let listing: i64 = row.try_get("", "id")?;
        let org: i64 = row.try_get("", "organization_id")?;
        let codes: String = row.try_get("", "certifications")?;
        for code in codes.split(',').map(str::trim).filter(|c| !c.is_empty()) {
            claims
                .entry((org, code.to_string()))
                .or_default()
                .push(listing);
        }
    }
    for ((org, kind), listings) in claims {
        let insert = Query::insert()
            .into_table(Certificate::Table)
            .columns([
                Certificate::OrganizationId,
                Certificate::Kind,
                Certificate::Number,
                Certificate::Issuer,
                Certificate::Products,
                Certificate::Bases,
                Certificate::Status,
                Certificate::ExpiryWarned,
                Certificate::CreatedAt,
                Certificate::UpdatedAt,
            ])
            .values_panic([
                org.into(),
                kind.into(),
                "".into(),
                "".into(),
                "".into(),
                "".into(),
                "draft".into(),
                false.into(),
                Expr::current_timestamp(),
                Expr::current_timestamp(),
            ])
            .returning_col(Certificate::Id)
            .take();
        let row = db
            .query_one(&insert)
            .await?
            .ok_or_else(|| DbErr::Custom("the new certificate's id".into()))?;
        let certificate: i64 = row.try_get_by_index(0)?;
        let mut covered = Query::insert()
            .into_table(Covered::Table)
            .columns([Covered::CertificateId, Covered::ListingId])
            .take();
        for l in listings {
            covered.values_panic([certificate.into(), l.into()]);
        }
        db.execute(&covered).await?;
    }
    db.execute_raw(Statement::from_string(
        backend,
        "UPDATE listings SET certifications = '' WHERE certifications <> ''",
    ))
    .await?;
    Ok(())
}

#[derive(DeriveIden, Clone, Copy)]
enum Organization {
    #[sea_orm(iden = "organizations")]
    Table,
    Id,
}

#[derive(DeriveIden, Clone, Copy)]
enum Listing {
    #[sea_orm(iden = "listings")]
    Table,
    Id,
}

#[derive(DeriveIden, Clone, Copy)]
enum Certificate {
    #[sea_orm(iden = "certificates")]
    Table,
    Id,
    OrganizationId,
    Kind,
    Number,
    Issuer,
    Products,
    Bases,
    ValidFrom,
    ValidUntil,
    Status,
    Reason,
    NoticeUntil,
    ExpiryWarned,
    SubmittedAt,
    DecidedBy,
    DecidedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Covered {
    #[sea_orm(iden = "certificate_listings")]
    Table,
    CertificateId,
    ListingId,
}

#[derive(DeriveIden, Clone, Copy)]
enum File {
    #[sea_orm(iden = "certificate_files")]
    Table,
    Id,
    CertificateId,
    Name,
    ContentType,
    Size,
    Data,
    UploadedBy,
    UploadedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Objection {
    #[sea_orm(iden = "certificate_objections")]
    Table,
    Id,
    CertificateId,
    UserId,
    Reason,
    Status,
    Decision,
    DecidedBy,
    CreatedAt,
    DecidedAt,
}
