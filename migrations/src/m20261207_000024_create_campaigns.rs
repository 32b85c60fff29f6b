//! Campaigns (消费帮扶月, 年货节, 展销会 …): a time window, an organizer, participating
//! counties, the listings producers sign up, and units' pledges; an order placed under a
//! campaign keeps it, once.

use sea_orm_migration::prelude::*;

use crate::columns::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Campaign::Table)
                .col(id(Campaign::Id))
                .col(text(Campaign::Name, 60))
                .col(text(Campaign::Kind, 16))
                .col(long_text(Campaign::Description))
                .col(ColumnDef::new(Campaign::StartsOn).date().not_null())
                .col(ColumnDef::new(Campaign::EndsOn).date().not_null())
                .col(big(Campaign::OrganizerId))
                .col(text(Campaign::RegionCode, 12))
                .col(time(Campaign::CreatedAt))
                .take(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Part::Table)
                .col(id(Part::Id))
                .col(big(Part::CampaignId))
                .col(text(Part::CountyCode, 6))
                .foreign_key(&mut fk(Part::CampaignId, Campaign::Table, Campaign::Id))
                .take(),
        )
        .await?;
        m.create_index(
            index(
                "idx_campaign_counties_campaign_county",
                Part::Table,
                &[Part::CampaignId, Part::CountyCode],
            )
            .unique()
            .take(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Entry::Table)
                .col(id(Entry::Id))
                .col(big(Entry::CampaignId))
                .col(big(Entry::ListingId))
                .col(big(Entry::SignedUpBy))
                .col(time(Entry::SignedUpAt))
                .foreign_key(&mut fk(Entry::CampaignId, Campaign::Table, Campaign::Id))
                .take(),
        )
        .await?;
        m.create_index(
            index(
                "idx_campaign_listings_campaign_listing",
                Entry::Table,
                &[Entry::CampaignId, Entry::ListingId],
            )
            .unique()
            .take(),
        )
        .await?;
        m.create_index(index(
            "idx_campaign_listings_listing",
            Entry::Table,
            &[Entry::ListingId],
        ))
        .await?;
        m.create_table(
            Table::create()
                .table(Pledge::Table)
                .col(id(Pledge::Id))
                .col(big(Pledge::CampaignId))
                .col(big(Pledge::UnitId))
                .col(big(Pledge::AmountFen))
                .col(big(Pledge::PledgedBy))
                .col(time(Pledge::PledgedAt))
                .foreign_key(&mut fk(Pledge::CampaignId, Campaign::Table, Campaign::Id))
                .take(),
        )
        .await?;
        m.create_index(
            index(
                "idx_campaign_pledges_campaign_unit",
                Pledge::Table,
                &[Pledge::CampaignId, Pledge::UnitId],
            )
            .unique()
            .take(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Order::Table)
                .add_column(big_null(Order::CampaignId))
                .take(),
        )
        .await?;
        m.create_index(index(
            "idx_orders_campaign",
            Order::Table,
            &[Order::CampaignId],
        ))
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let mut drop = Index::drop();
        drop.name("idx_orders_campaign").table(Order::Table);
        m.drop_index(drop).await?;
        m.alter_table(
            Table::alter()
                .table(Order::Table)
                .drop_column(Order::CampaignId)
                .take(),
        )
        .await?;
        drop_tables(
            m,
            vec![
                Pledge::Table.into_iden(),
                Entry::Table.into_iden(),
                Part::Table.into_iden(),
                Campaign::Table.into_iden(),
            ],
        )
        .await
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Campaign {
    #[sea_orm(iden = "campaigns")]
    Table,
    Id,
    Name,
    Kind,
    Description,
    StartsOn,
    EndsOn,
    OrganizerId,
    RegionCode,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Part {
    #[sea_orm(iden = "campaign_counties")]
    Table,
    Id,
    CampaignId,
    CountyCode,
}

#[derive(DeriveIden, Clone, Copy)]
enum Entry {
    #[sea_orm(iden = "campaign_listings")]
    Table,
    Id,
    CampaignId,
    ListingId,
    SignedUpBy,
    SignedUpAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Pledge {
    #[sea_orm(iden = "campaign_pledges")]
    Table,
    Id,
    CampaignId,
    UnitId,
    AmountFen,
    PledgedBy,
    PledgedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Order {
    #[sea_orm(iden = "orders")]
    Table,
    CampaignId,
}
