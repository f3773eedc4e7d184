//! The PostgreSQL schema's forward-only migrator: the files of `migrations/postgres/`, applied
//! in order, versioned in a `schema_migrations` table.
//!
//! Rules, as for SQLite's (`db`): never edit or remove a migration that has shipped; add a
//! new one. All pending migrations apply in one transaction that first takes a transaction-
//! scoped advisory lock, so processes started together on one database take turns: the first
//! migrates, the others wait, then find nothing left to do. A database migrated by a newer
//! creditbot is refused, untouched: this one would misread tables it doesn't know.

use crate::error::{Error, Result};
use postgres::Client;

/// Every migration, in order. A test checks this list against the files.
pub const MIGRATIONS: &[(&str, &str)] = &[(
    "0001_init.sql",
    include_str!("../../../migrations/postgres/0001_init.sql"),
)];

/// The advisory lock migrations hold: any fixed number other programs on the database are
/// unlikely to use ("creditmg" in ASCII).
const MIGRATION_LOCK: i64 = 0x6372_6564_6974_6d67;

/// Applies the migrations the database has not seen yet; answers how many.
pub fn migrate(client: &mut Client) -> Result<usize> {
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version    bigint PRIMARY KEY,
             name       text NOT NULL,
             applied_at timestamptz NOT NULL DEFAULT now()
         )",
    )?;
    let current: i64 = tx
        .query_one(
            "SELECT coalesce(max(version), 0) FROM schema_migrations",
            &[],
        )?
        .try_get(0)?;
    let known = MIGRATIONS.len() as i64;
    if current > known {
        return Err(Error::internal(
            "opening the PostgreSQL database",
            format!(
                "the database is at schema version {current}, newer than this creditbot knows \
                 ({known}); run the creditbot that last opened it, or a newer one"
            ),
        ));
    }
    let mut applied = 0;
    for (version, (name, sql)) in (1i64..).zip(MIGRATIONS).skip(current as usize) {
        tx.batch_execute(sql)?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
            &[&version, name],
        )?;
        tracing::info!(migration = name, "applied PostgreSQL migration");
        applied += 1;
    }
    tx.commit()?;
    Ok(applied)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_in_migrations_postgres_is_listed_in_order() {
        let files = crate::db::tests::migration_files("postgres");
        let listed: Vec<&str> = MIGRATIONS.iter().map(|(name, _)| *name).collect();
        assert_eq!(files, listed);
        // The version a database records is the migration's place in the list, so the files
        // must be numbered 1, 2, 3… without a gap.
        for (index, name) in listed.iter().enumerate() {
            assert_eq!(name[..4].parse::<usize>().ok(), Some(index + 1), "{name}");
        }
    }
}
