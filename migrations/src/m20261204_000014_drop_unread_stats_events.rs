//! Outbox rows of the `stats` channel had no consumer: the statistics are written with the
//! order itself, and nothing ever read these rows. The channel is gone; so are its rows.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.get_connection()
            .execute_unprepared("DELETE FROM outbox WHERE channel = 'stats'")
            .await?;
        Ok(())
    }

    /// Nothing to restore: the rows were never read.
    async fn down(&self, _m: &SchemaManager) -> Result<(), DbErr> {
        Ok(())
    }
}
