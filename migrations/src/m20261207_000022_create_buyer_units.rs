//! Buyer units (采购单位): budget units, canteens, unions, enterprises and the like, with a
//! parent unit, staff in three roles, and a yearly obligation (预留份额 as a share of declared
//! purchases, or a fixed amount such as a union's per-member welfare budget). An order keeps
//! the unit it counts for, and whether the unit bought it or a member bought it for themselves.

use sea_orm_migration::prelude::*;

use crate::columns::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Unit::Table)
                .col(id(Unit::Id))
                .col(text(Unit::Name, 60))
                .col(text(Unit::Kind, 24))
                .col(text(Unit::RegionCode, 12))
                .col(big_null(Unit::ParentId))
                .col(flag(Unit::CountsMembers))
                .col(text(Unit::Status, 16))
                .col(text(Unit::ContactName, 32))
                .col(text(Unit::ContactPhone, 20))
                .col(big(Unit::CreatedBy))
                .col(big_null(Unit::DecidedBy))
                .col(time_null(Unit::DecidedAt))
                .col(text_null(Unit::DecisionNote, 500))
                .col(time(Unit::CreatedAt))
                .col(time(Unit::UpdatedAt))
                .foreign_key(&mut fk(Unit::ParentId, Unit::Table, Unit::Id))
                .take(),
        )
        .await?;
        m.create_index(index(
            "idx_buyer_units_region",
            Unit::Table,
            &[Unit::RegionCode],
        ))
        .await?;
        m.create_index(index(
            "idx_buyer_units_parent",
            Unit::Table,
            &[Unit::ParentId],
        ))
        .await?;
        m.create_table(
            Table::create()
                .table(Member::Table)
                .col(id(Member::Id))
                .col(big(Member::UnitId))
                .col(big(Member::UserId))
                .col(text(Member::Role, 16))
                .col(big(Member::AddedBy))
                .col(time(Member::AddedAt))
                .foreign_key(&mut fk(Member::UnitId, Unit::Table, Unit::Id))
                .take(),
        )
        .await?;
        m.create_index(
            index(
                "idx_buyer_unit_members_unit_user",
                Member::Table,
                &[Member::UnitId, Member::UserId],
            )
            .unique()
            .take(),
        )
        .await?;
        m.create_index(index(
            "idx_buyer_unit_members_user",
            Member::Table,
            &[Member::UserId],
        ))
        .await?;
        m.create_table(
            Table::create()
                .table(Obligation::Table)
                .col(id(Obligation::Id))
                .col(big(Obligation::UnitId))
                .col(int(Obligation::Year))
                .col(text(Obligation::Kind, 16))
                .col(big_null(Obligation::PurchasesFen))
                .col(int_null(Obligation::ShareBp))
                .col(big_null(Obligation::PerMemberFen))
                .col(int_null(Obligation::Members))
                .col(big(Obligation::TargetFen))
                .col(text(Obligation::Note, 200))
                .col(big(Obligation::DeclaredBy))
                .col(time(Obligation::DeclaredAt))
                .foreign_key(&mut fk(Obligation::UnitId, Unit::Table, Unit::Id))
                .take(),
        )
        .await?;
        m.create_index(
            index(
                "idx_buyer_obligations_unit_year",
                Obligation::Table,
                &[Obligation::UnitId, Obligation::Year],
            )
            .unique()
            .take(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Order::Table)
                .add_column(big_null(Order::BuyerUnitId))
                .take(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Order::Table)
                .add_column(text_null(Order::BuyerBasis, 16))
                .take(),
        )
        .await?;
        m.create_index(index(
            "idx_orders_buyer_unit",
            Order::Table,
            &[Order::BuyerUnitId, Order::PlacedAt],
        ))
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let mut drop = Index::drop();
        drop.name("idx_orders_buyer_unit").table(Order::Table);
        m.drop_index(drop).await?;
        drop_columns(m, Order::Table, [Order::BuyerUnitId, Order::BuyerBasis]).await?;
        // Subordinate units point at their parents: SQLite's implicit delete on dropping the
        // table would find a parent gone before its child.
        m.get_connection()
            .execute_unprepared("UPDATE buyer_units SET parent_id = NULL")
            .await?;
        drop_tables(
            m,
            vec![
                Obligation::Table.into_iden(),
                Member::Table.into_iden(),
                Unit::Table.into_iden(),
            ],
        )
        .await
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Unit {
    #[sea_orm(iden = "buyer_units")]
    Table,
    Id,
    Name,
    Kind,
    RegionCode,
    ParentId,
    CountsMembers,
    Status,
    ContactName,
    ContactPhone,
    CreatedBy,
    DecidedBy,
    DecidedAt,
    DecisionNote,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Member {
    #[sea_orm(iden = "buyer_unit_members")]
    Table,
    Id,
    UnitId,
    UserId,
    Role,
    AddedBy,
    AddedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Obligation {
    #[sea_orm(iden = "buyer_obligations")]
    Table,
    Id,
    UnitId,
    Year,
    Kind,
    PurchasesFen,
    ShareBp,
    PerMemberFen,
    Members,
    TargetFen,
    Note,
    DeclaredBy,
    DeclaredAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Order {
    #[sea_orm(iden = "orders")]
    Table,
    BuyerUnitId,
    BuyerBasis,
    PlacedAt,
}
