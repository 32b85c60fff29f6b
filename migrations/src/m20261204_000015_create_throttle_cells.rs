//! Rate-limit cells shared by every instance on one PostgreSQL database: per kind of limit and
//! hashed key, the instant its allowance is used up to. Unlogged there: after a crash the
//! limits simply start afresh. SQLite has the table too, for one schema; a single SQLite
//! instance keeps its cells in memory.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let sql = match m.get_database_backend() {
            DbBackend::Postgres => {
                "CREATE UNLOGGED TABLE throttle_cells (kind SMALLINT NOT NULL, key BIGINT NOT NULL, \
                 used_until TIMESTAMPTZ NOT NULL, PRIMARY KEY (kind, key))"
            }
            _ => {
                "CREATE TABLE throttle_cells (kind INTEGER NOT NULL, key INTEGER NOT NULL, \
                 used_until TEXT NOT NULL, PRIMARY KEY (kind, key))"
            }
        };
        m.get_connection().execute_unprepared(sql).await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.get_connection()
            .execute_unprepared("DROP TABLE throttle_cells")
            .await?;
        Ok(())
    }
}
