//! Column and constraint shorthands shared by the migrations.

use sea_orm_migration::prelude::*;

pub fn id<T: IntoIden>(name: T) -> ColumnDef {
    ColumnDef::new(name)
        .big_integer()
        .not_null()
        .auto_increment()
        .primary_key()
        .take()
}

pub fn text<T: IntoIden>(name: T, len: u32) -> ColumnDef {
    ColumnDef::new(name).string_len(len).not_null().take()
}

pub fn text_null<T: IntoIden>(name: T, len: u32) -> ColumnDef {
    ColumnDef::new(name).string_len(len).null().take()
}

pub fn long_text<T: IntoIden>(name: T) -> ColumnDef {
    ColumnDef::new(name).text().not_null().take()
}

pub fn long_text_null<T: IntoIden>(name: T) -> ColumnDef {
    ColumnDef::new(name).text().null().take()
}

pub fn big<T: IntoIden>(name: T) -> ColumnDef {
    ColumnDef::new(name).big_integer().not_null().take()
}

/// A whole number that is zero unless set: for columns added to tables with rows.
pub fn big_default<T: IntoIden>(name: T) -> ColumnDef {
    ColumnDef::new(name)
        .big_integer()
        .not_null()
        .default(0)
        .take()
}

pub fn big_null<T: IntoIden>(name: T) -> ColumnDef {
    ColumnDef::new(name).big_integer().null().take()
}

pub fn int<T: IntoIden>(name: T) -> ColumnDef {
    ColumnDef::new(name).integer().not_null().take()
}

pub fn int_null<T: IntoIden>(name: T) -> ColumnDef {
    ColumnDef::new(name).integer().null().take()
}

pub fn flag<T: IntoIden>(name: T) -> ColumnDef {
    ColumnDef::new(name)
        .boolean()
        .not_null()
        .default(false)
        .take()
}

pub fn time<T: IntoIden>(name: T) -> ColumnDef {
    ColumnDef::new(name)
        .timestamp_with_time_zone()
        .not_null()
        .take()
}

pub fn time_null<T: IntoIden>(name: T) -> ColumnDef {
    ColumnDef::new(name)
        .timestamp_with_time_zone()
        .null()
        .take()
}

pub fn coordinate<T: IntoIden>(name: T) -> ColumnDef {
    ColumnDef::new(name).double().null().take()
}

pub fn fk<F: IntoIden, T: IntoIden, C: IntoIden>(
    from: F,
    to: T,
    to_col: C,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from_col(from)
        .to(to, to_col)
        .on_delete(ForeignKeyAction::Restrict)
        .take()
}

pub fn index<T: IntoIden + Clone, C: IntoIden + Clone>(
    name: &str,
    table: T,
    cols: &[C],
) -> IndexCreateStatement {
    let mut idx = Index::create();
    idx.name(name).table(table);
    for c in cols {
        idx.col(c.clone());
    }
    idx.take()
}

/// Adds columns to a table one statement each (SQLite alters one column at a time).
pub async fn add_columns<T: IntoIden + Clone>(
    m: &SchemaManager<'_>,
    table: T,
    cols: Vec<ColumnDef>,
) -> Result<(), DbErr> {
    for mut col in cols {
        m.alter_table(
            Table::alter()
                .table(table.clone())
                .add_column(&mut col)
                .take(),
        )
        .await?;
    }
    Ok(())
}

/// Drops columns of a table one statement each (SQLite alters one column at a time); the
/// `down` of [`add_columns`].
pub async fn drop_columns<T: IntoIden + Clone, C: IntoIden>(
    m: &SchemaManager<'_>,
    table: T,
    cols: impl IntoIterator<Item = C>,
) -> Result<(), DbErr> {
    for col in cols {
        m.alter_table(Table::alter().table(table.clone()).drop_column(col).take())
            .await?;
    }
    Ok(())
}

/// Drops tables in the order given (dependants first); the `down` of every migration.
pub async fn drop_tables(m: &SchemaManager<'_>, tables: Vec<DynIden>) -> Result<(), DbErr> {
    for table in tables {
        m.drop_table(Table::drop().table(table).take()).await?;
    }
    Ok(())
}
