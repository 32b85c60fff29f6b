//! The foundation: regions, organizations, households, accounts, the catalog and the outbox.

use sea_orm_migration::prelude::*;

use crate::columns::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Region::Table)
                .col(text(Region::Code, 12).primary_key())
                .col(text_null(Region::ParentCode, 12))
                .col(
                    ColumnDef::new(Region::Level)
                        .small_integer()
                        .not_null()
                        .check(Expr::col(Region::Level).between(1, 5)),
                )
                .col(text(Region::Name, 64))
                .col(text(Region::NameEn, 128))
                .col(coordinate(Region::Latitude))
                .col(coordinate(Region::Longitude))
                .foreign_key(&mut fk(Region::ParentCode, Region::Table, Region::Code))
                .take(),
        )
        .await?;
        m.create_index(index(
            "idx_region_parent",
            Region::Table,
            &[Region::ParentCode],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(Organization::Table)
                .col(id(Organization::Id))
                .col(text(Organization::Name, 128))
                .col(text(Organization::Kind, 32))
                .col(text(Organization::RegionCode, 12))
                .col(text(Organization::Status, 32))
                .col(long_text(Organization::Description))
                .col(text(Organization::ContactName, 64))
                .col(text(Organization::ContactPhone, 32))
                .col(big_null(Organization::RecommendedBy))
                .col(time_null(Organization::RecommendedAt))
                .col(big_null(Organization::DecidedBy))
                .col(time_null(Organization::DecidedAt))
                .col(text_null(Organization::DecisionNote, 500))
                .col(time(Organization::CreatedAt))
                .col(time(Organization::UpdatedAt))
                .foreign_key(&mut fk(
                    Organization::RegionCode,
                    Region::Table,
                    Region::Code,
                ))
                .take(),
        )
        .await?;
        m.create_index(index(
            "idx_organization_region",
            Organization::Table,
            &[Organization::RegionCode],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(Household::Table)
                .col(id(Household::Id))
                .col(big(Household::OrganizationId))
                .col(text(Household::RegionCode, 12))
                .col(text(Household::HeadName, 64))
                .col(int(Household::Members).check(Expr::col(Household::Members).between(1, 50)))
                .col(flag(Household::Registered))
                .col(
                    int(Household::BenefitShareBp)
                        .check(Expr::col(Household::BenefitShareBp).between(0, 10000)),
                )
                .col(time(Household::CreatedAt))
                .foreign_key(&mut fk(
                    Household::OrganizationId,
                    Organization::Table,
                    Organization::Id,
                ))
                .foreign_key(&mut fk(Household::RegionCode, Region::Table, Region::Code))
                .take(),
        )
        .await?;
        m.create_index(index(
            "idx_household_organization",
            Household::Table,
            &[Household::OrganizationId],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(User::Table)
                .col(id(User::Id))
                .col(text(User::Username, 64).unique_key())
                .col(text(User::PasswordHash, 255))
                .col(text(User::DisplayName, 64))
                .col(text(User::Role, 16))
                .col(big_null(User::OrganizationId))
                .col(text_null(User::RegionCode, 12))
                .col(text(User::Language, 8))
                .col(flag(User::Disabled))
                .col(time(User::CreatedAt))
                .foreign_key(&mut fk(
                    User::OrganizationId,
                    Organization::Table,
                    Organization::Id,
                ))
                .foreign_key(&mut fk(User::RegionCode, Region::Table, Region::Code))
                .take(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Session::Table)
                .col(text(Session::Id, 64).primary_key())
                .col(big(Session::UserId))
                .col(text(Session::CsrfToken, 64))
                .col(time(Session::CreatedAt))
                .col(time(Session::ExpiresAt))
                .foreign_key(&mut fk(Session::UserId, User::Table, User::Id))
                .take(),
        )
        .await?;
        m.create_index(index(
            "idx_session_user",
            Session::Table,
            &[Session::UserId],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(ApiToken::Table)
                .col(id(ApiToken::Id))
                .col(big(ApiToken::UserId))
                .col(text(ApiToken::Name, 64))
                .col(text(ApiToken::TokenHash, 64).unique_key())
                .col(time(ApiToken::CreatedAt))
                .col(time(ApiToken::ExpiresAt))
                .col(time_null(ApiToken::RevokedAt))
                .foreign_key(&mut fk(ApiToken::UserId, User::Table, User::Id))
                .take(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Category::Table)
                .col(id(Category::Id))
                .col(big_null(Category::ParentId))
                .col(text(Category::Slug, 64).unique_key())
                .col(text(Category::NameZh, 64))
                .col(text(Category::NameEn, 64))
                .col(int(Category::Position))
                .foreign_key(&mut fk(Category::ParentId, Category::Table, Category::Id))
                .take(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(CategoryAlias::Table)
                .col(id(CategoryAlias::Id))
                .col(big(CategoryAlias::CategoryId))
                .col(text(CategoryAlias::Alias, 64))
                .col(text(CategoryAlias::Kind, 16))
                .foreign_key(&mut fk(
                    CategoryAlias::CategoryId,
                    Category::Table,
                    Category::Id,
                ))
                .take(),
        )
        .await?;
        m.create_index(
            index(
                "uq_category_alias",
                CategoryAlias::Table,
                &[CategoryAlias::CategoryId, CategoryAlias::Alias],
            )
            .unique()
            .take(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Listing::Table)
                .col(id(Listing::Id))
                .col(big(Listing::OrganizationId))
                .col(big(Listing::CategoryId))
                .col(text(Listing::Title, 200))
                .col(long_text(Listing::Description))
                .col(text(Listing::Unit, 16))
                .col(big(Listing::PriceFen).check(Expr::col(Listing::PriceFen).gt(0)))
                .col(big(Listing::StockMilli).check(Expr::col(Listing::StockMilli).gte(0)))
                .col(big(Listing::MinOrderMilli).check(Expr::col(Listing::MinOrderMilli).gt(0)))
                .col(big(Listing::SoldMilli).default(0))
                .col(text(Listing::Grade, 16))
                .col(int_null(Listing::SeasonStart))
                .col(int_null(Listing::SeasonEnd))
                .col(text(Listing::Certifications, 200))
                .col(text(Listing::OriginRegionCode, 12))
                .col(coordinate(Listing::Latitude))
                .col(coordinate(Listing::Longitude))
                .col(text(Listing::Status, 16))
                .col(int(Listing::Version).default(1))
                .col(time(Listing::CreatedAt))
                .col(time(Listing::UpdatedAt))
                .col(time_null(Listing::DeletedAt))
                .foreign_key(&mut fk(
                    Listing::OrganizationId,
                    Organization::Table,
                    Organization::Id,
                ))
                .foreign_key(&mut fk(Listing::CategoryId, Category::Table, Category::Id))
                .foreign_key(&mut fk(
                    Listing::OriginRegionCode,
                    Region::Table,
                    Region::Code,
                ))
                .take(),
        )
        .await?;
        m.create_index(index(
            "idx_listing_organization",
            Listing::Table,
            &[Listing::OrganizationId],
        ))
        .await?;
        m.create_index(index(
            "idx_listing_category",
            Listing::Table,
            &[Listing::CategoryId],
        ))
        .await?;
        m.create_index(index(
            "idx_listing_origin",
            Listing::Table,
            &[Listing::OriginRegionCode],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(ListingPhoto::Table)
                .col(id(ListingPhoto::Id))
                .col(big(ListingPhoto::ListingId))
                .col(int(ListingPhoto::Position))
                .col(text(ListingPhoto::Path, 255))
                .col(text(ListingPhoto::ContentType, 64))
                .col(int(ListingPhoto::Width))
                .col(int(ListingPhoto::Height))
                .col(big(ListingPhoto::Bytes))
                .col(time(ListingPhoto::CreatedAt))
                .foreign_key(&mut fk(
                    ListingPhoto::ListingId,
                    Listing::Table,
                    Listing::Id,
                ))
                .take(),
        )
        .await?;
        m.create_index(index(
            "idx_listing_photo_listing",
            ListingPhoto::Table,
            &[ListingPhoto::ListingId],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(Outbox::Table)
                .col(id(Outbox::Id))
                .col(text(Outbox::Channel, 32))
                .col(text(Outbox::Topic, 64))
                .col(text(Outbox::AggregateType, 32))
                .col(big(Outbox::AggregateId))
                .col(long_text(Outbox::Payload))
                .col(int(Outbox::Attempts).default(0))
                .col(time(Outbox::CreatedAt))
                .col(time(Outbox::AvailableAt))
                .col(time_null(Outbox::LockedUntil))
                .col(text_null(Outbox::LockedBy, 64))
                .col(time_null(Outbox::DeliveredAt))
                .col(long_text_null(Outbox::LastError))
                .take(),
        )
        .await?;
        m.create_index(index(
            "idx_outbox_pending",
            Outbox::Table,
            &[Outbox::Channel, Outbox::DeliveredAt, Outbox::AvailableAt],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(AuditLog::Table)
                .col(id(AuditLog::Id))
                .col(big_null(AuditLog::ActorId))
                .col(text(AuditLog::Action, 64))
                .col(text(AuditLog::TargetType, 32))
                .col(text(AuditLog::TargetId, 64))
                .col(long_text(AuditLog::Detail))
                .col(time(AuditLog::CreatedAt))
                .take(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(
            m,
            vec![
                AuditLog::Table.into_iden(),
                Outbox::Table.into_iden(),
                ListingPhoto::Table.into_iden(),
                Listing::Table.into_iden(),
                CategoryAlias::Table.into_iden(),
                Category::Table.into_iden(),
                ApiToken::Table.into_iden(),
                Session::Table.into_iden(),
                User::Table.into_iden(),
                Household::Table.into_iden(),
                Organization::Table.into_iden(),
                Region::Table.into_iden(),
            ],
        )
        .await
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Region {
    #[sea_orm(iden = "regions")]
    Table,
    Code,
    ParentCode,
    Level,
    Name,
    NameEn,
    Latitude,
    Longitude,
}

#[derive(DeriveIden, Clone, Copy)]
enum Organization {
    #[sea_orm(iden = "organizations")]
    Table,
    Id,
    Name,
    Kind,
    RegionCode,
    Status,
    Description,
    ContactName,
    ContactPhone,
    RecommendedBy,
    RecommendedAt,
    DecidedBy,
    DecidedAt,
    DecisionNote,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Household {
    #[sea_orm(iden = "households")]
    Table,
    Id,
    OrganizationId,
    RegionCode,
    HeadName,
    Members,
    Registered,
    BenefitShareBp,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum User {
    #[sea_orm(iden = "users")]
    Table,
    Id,
    Username,
    PasswordHash,
    DisplayName,
    Role,
    OrganizationId,
    RegionCode,
    Language,
    Disabled,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Session {
    #[sea_orm(iden = "sessions")]
    Table,
    Id,
    UserId,
    CsrfToken,
    CreatedAt,
    ExpiresAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum ApiToken {
    #[sea_orm(iden = "api_tokens")]
    Table,
    Id,
    UserId,
    Name,
    TokenHash,
    CreatedAt,
    ExpiresAt,
    RevokedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Category {
    #[sea_orm(iden = "categories")]
    Table,
    Id,
    ParentId,
    Slug,
    NameZh,
    NameEn,
    Position,
}

#[derive(DeriveIden, Clone, Copy)]
enum CategoryAlias {
    #[sea_orm(iden = "category_aliases")]
    Table,
    Id,
    CategoryId,
    Alias,
    Kind,
}

#[derive(DeriveIden, Clone, Copy)]
enum Listing {
    #[sea_orm(iden = "listings")]
    Table,
    Id,
    OrganizationId,
    CategoryId,
    Title,
    Description,
    Unit,
    PriceFen,
    StockMilli,
    MinOrderMilli,
    SoldMilli,
    Grade,
    SeasonStart,
    SeasonEnd,
    Certifications,
    OriginRegionCode,
    Latitude,
    Longitude,
    Status,
    Version,
    CreatedAt,
    UpdatedAt,
    DeletedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum ListingPhoto {
    #[sea_orm(iden = "listing_photos")]
    Table,
    Id,
    ListingId,
    Position,
    Path,
    ContentType,
    Width,
    Height,
    Bytes,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Outbox {
    #[sea_orm(iden = "outbox")]
    Table,
    Id,
    Channel,
    Topic,
    AggregateType,
    AggregateId,
    Payload,
    Attempts,
    CreatedAt,
    AvailableAt,
    LockedUntil,
    LockedBy,
    DeliveredAt,
    LastError,
}

#[derive(DeriveIden, Clone, Copy)]
enum AuditLog {
    #[sea_orm(iden = "audit_log")]
    Table,
    Id,
    ActorId,
    Action,
    TargetType,
    TargetId,
    Detail,
    CreatedAt,
}
