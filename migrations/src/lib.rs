//! Schema migrations for qudao; every migration runs on SQLite and PostgreSQL.

pub use sea_orm_migration::prelude::*;

mod columns;
mod m20261130_000001_create_foundation;
mod m20261130_000002_create_orders;
mod m20261130_000003_create_stats;
mod m20261130_000004_create_matching;
mod m20261130_000005_create_stats_aggregates;
mod m20261130_000006_create_notifications;
mod m20261130_000007_create_webhooks;
mod m20261130_000008_create_notification_preferences;
mod m20261130_000009_create_saved_searches;
mod m20261130_000010_add_digests;
mod m20261130_000011_index_listing_orders;
mod m20261130_000012_create_photo_images;
mod m20261202_000013_widen_listing_order_indexes;
mod m20261204_000014_drop_unread_stats_events;
mod m20261204_000015_create_throttle_cells;
mod m20261205_000016_index_order_completion;
mod m20261205_000017_create_stats_warnings;
mod m20261206_000018_create_stats_filings;
mod m20261206_000019_create_certificates;
mod m20261206_000020_create_lots;
mod m20261207_000021_add_region_assistance;
mod m20261207_000022_create_buyer_units;
mod m20261207_000023_create_help_relations;
mod m20261207_000024_create_campaigns;
mod m20261208_000025_add_buyer_side_statistics;
mod m20261209_000026_create_delivery;
mod m20261209_000027_create_order_invoices;
mod m20261210_000028_add_short_delivery;
mod m20261211_000029_create_recurring_orders;
mod m20261212_000030_create_season_contracts;
mod m20261213_000031_add_contract_proposals;
mod m20261214_000032_create_search_queries;

/// All of qudao's migrations, oldest first.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261130_000001_create_foundation::Migration),
            Box::new(m20261130_000002_create_orders::Migration),
            Box::new(m20261130_000003_create_stats::Migration),
            Box::new(m20261130_000004_create_matching::Migration),
            Box::new(m20261130_000005_create_stats_aggregates::Migration),
            Box::new(m20261130_000006_create_notifications::Migration),
            Box::new(m20261130_000007_create_webhooks::Migration),
            Box::new(m20261130_000008_create_notification_preferences::Migration),
            Box::new(m20261130_000009_create_saved_searches::Migration),
            Box::new(m20261130_000010_add_digests::Migration),
            Box::new(m20261130_000011_index_listing_orders::Migration),
            Box::new(m20261130_000012_create_photo_images::Migration),
            Box::new(m20261202_000013_widen_listing_order_indexes::Migration),
            Box::new(m20261204_000014_drop_unread_stats_events::Migration),
            Box::new(m20261204_000015_create_throttle_cells::Migration),
            Box::new(m20261205_000016_index_order_completion::Migration),
            Box::new(m20261205_000017_create_stats_warnings::Migration),
            Box::new(m20261206_000018_create_stats_filings::Migration),
            Box::new(m20261206_000019_create_certificates::Migration),
            Box::new(m20261206_000020_create_lots::Migration),
            Box::new(m20261207_000021_add_region_assistance::Migration),
            Box::new(m20261207_000022_create_buyer_units::Migration),
            Box::new(m20261207_000023_create_help_relations::Migration),
            Box::new(m20261207_000024_create_campaigns::Migration),
            Box::new(m20261208_000025_add_buyer_side_statistics::Migration),
            Box::new(m20261209_000026_create_delivery::Migration),
            Box::new(m20261209_000027_create_order_invoices::Migration),
            Box::new(m20261210_000028_add_short_delivery::Migration),
            Box::new(m20261211_000029_create_recurring_orders::Migration),
            Box::new(m20261212_000030_create_season_contracts::Migration),
            Box::new(m20261213_000031_add_contract_proposals::Migration),
            Box::new(m20261214_000032_create_search_queries::Migration),
        ]
    }
}
