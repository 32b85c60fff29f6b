//! Delivery: each seller's delivery methods (express with a rate table by destination
//! province, its own delivery within named regions or a radius, pickup points, consolidation
//! warehouses), a listing's shipping needs (cold chain, the weight of a piece), and on each
//! order its goods and freight apart with a snapshot of the method and rate it was charged by.

use sea_orm_migration::prelude::*;

use crate::columns::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Method::Table)
                .col(id(Method::Id))
                .col(big(Method::OrganizationId))
                .col(text(Method::Kind, 16))
                .col(text(Method::Name, 60))
                .col(flag(Method::ColdChain))
                .col(big(Method::FeeFen))
                .col(big(Method::ColdSurchargeFen))
                .col(text(Method::Area, 1000))
                .col(int_null(Method::RadiusKm))
                .col(text(Method::RegionCode, 12))
                .col(text(Method::Address, 200))
                .col(text(Method::Hours, 100))
                .col(big(Method::MinWeightG))
                .col(time(Method::CreatedAt))
                .col(time(Method::UpdatedAt))
                .take(),
        )
        .await?;
        m.create_index(index(
            "idx_delivery_methods_organization",
            Method::Table,
            &[Method::OrganizationId],
        ))
        .await?;
        m.create_table(
            Table::create()
                .table(Rate::Table)
                .col(id(Rate::Id))
                .col(big(Rate::MethodId))
                .col(text(Rate::ProvinceCode, 6))
                .col(big(Rate::FirstWeightG))
                .col(big(Rate::FirstFeeFen))
                .col(big(Rate::StepWeightG))
                .col(big(Rate::StepFeeFen))
                .foreign_key(
                    &mut fk(Rate::MethodId, Method::Table, Method::Id)
                        .on_delete(ForeignKeyAction::Cascade)
                        .take(),
                )
                .take(),
        )
        .await?;
        m.create_index(
            index(
                "idx_delivery_rates_method_province",
                Rate::Table,
                &[Rate::MethodId, Rate::ProvinceCode],
            )
            .unique()
            .take(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Shipping::Table)
                .col(
                    ColumnDef::new(Shipping::ListingId)
                        .big_integer()
                        .not_null()
                        .primary_key(),
                )
                .col(flag(Shipping::ColdChain))
                .col(big_null(Shipping::PieceWeightG))
                .col(time(Shipping::UpdatedAt))
                .take(),
        )
        .await?;
        add_columns(
            m,
            Order::Table,
            vec![
                big_default(Order::GoodsFen),
                big_default(Order::FreightFen),
                big_null(Order::DeliveryMethodId),
                ColumnDef::new(Order::Delivery)
                    .text()
                    .not_null()
                    .default("")
                    .take(),
            ],
        )
        .await?;
        // Orders placed before freight were goods alone.
        let backfill = Query::update()
            .table(Order::Table)
            .value(Order::GoodsFen, Expr::col(Order::TotalFen))
            .take();
        m.get_connection().execute(&backfill).await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for col in [
            Order::Delivery,
            Order::DeliveryMethodId,
            Order::FreightFen,
            Order::GoodsFen,
        ] {
            m.alter_table(Table::alter().table(Order::Table).drop_column(col).take())
                .await?;
        }
        drop_tables(
            m,
            vec![
                Shipping::Table.into_iden(),
                Rate::Table.into_iden(),
                Method::Table.into_iden(),
            ],
        )
        .await
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Method {
    #[sea_orm(iden = "delivery_methods")]
    Table,
    Id,
    OrganizationId,
    Kind,
    Name,
    ColdChain,
    FeeFen,
    ColdSurchargeFen,
    Area,
    RadiusKm,
    RegionCode,
    Address,
    Hours,
    MinWeightG,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Rate {
    #[sea_orm(iden = "delivery_rates")]
    Table,
    Id,
    MethodId,
    ProvinceCode,
    FirstWeightG,
    FirstFeeFen,
    StepWeightG,
    StepFeeFen,
}

#[derive(DeriveIden, Clone, Copy)]
enum Shipping {
    #[sea_orm(iden = "listing_shipping")]
    Table,
    ListingId,
    ColdChain,
    PieceWeightG,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Order {
    #[sea_orm(iden = "orders")]
    Table,
    TotalFen,
    GoodsFen,
    FreightFen,
    DeliveryMethodId,
    Delivery,
}
