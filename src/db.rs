//! Opening SQLite: pragmas and the forward-only migrator on `PRAGMA user_version`.
//!
//! Rules for migrations (after cargo's `util/sqlite.rs`): files in `migrations/` are named
//! `NNNN_name.sql`, applied in order, each in its own transaction that also bumps
//! `user_version`. Never edit or remove a migration that has shipped; add a new one.
//! This module is the only place besides `ledger::store` that touches rusqlite.

use rusqlite::{Connection, OpenFlags};
use std::path::Path;
use std::time::Duration;

use crate::config::{DatabaseConfig, Synchronous};

/// Every migration, in order. A test checks this list against the files in `migrations/`.
pub const MIGRATIONS: &[(&str, &str)] = &[
    ("0001_init.sql", include_str!("../migrations/0001_init.sql")),
    (
        "0002_store_settings.sql",
        include_str!("../migrations/0002_store_settings.sql"),
    ),
];

/// Opens (creating if needed) the database at `path`, sets the pragmas and migrates it.
pub fn open(path: &Path, config: &DatabaseConfig) -> rusqlite::Result<Connection> {
    let mut conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    configure(&conn, config)?;
    migrate(&mut conn)?;
    Ok(conn)
}

/// Opens another connection to an already migrated database (for a connection pool).
pub fn open_connection(path: &Path, config: &DatabaseConfig) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    configure(&conn, config)?;
    Ok(conn)
}

fn configure(conn: &Connection, config: &DatabaseConfig) -> rusqlite::Result<()> {
    conn.busy_timeout(Duration::from_millis(config.busy_timeout_ms))?;
    // WAL lets readers go on while one writer commits; it is a property of the file.
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") && !mode.eq_ignore_ascii_case("memory") {
        tracing::warn!(mode, "SQLite refused WAL mode; continuing");
    }
    let synchronous = match config.synchronous {
        Synchronous::Normal => "NORMAL",
        Synchronous::Full => "FULL",
    };
    conn.execute_batch(&format!(
        "PRAGMA synchronous = {synchronous}; PRAGMA foreign_keys = ON;"
    ))?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(())
}

/// Applies the migrations the database has not seen yet. Returns how many were applied.
pub fn migrate(conn: &mut Connection) -> rusqlite::Result<usize> {
    let current: usize = conn.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    if current > MIGRATIONS.len() {
        // A newer creditbot migrated this file: this one would misread tables it doesn't know.
        return Err(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CANTOPEN),
            Some(format!(
                "the database is at schema version {current}, newer than this creditbot knows \
                 ({}); run the creditbot that last opened it, or a newer one",
                MIGRATIONS.len()
            )),
        ));
    }
    let mut applied = 0;
    for (index, (name, sql)) in MIGRATIONS.iter().enumerate().skip(current) {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        // Another process may have migrated while we waited for the lock.
        let now: usize = tx.query_row("PRAGMA user_version", [], |row| row.get(0))?;
        if now > index {
            continue;
        }
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", index + 1)?;
        tx.commit()?;
        tracing::info!(migration = name, "applied migration");
        applied += 1;
    }
    Ok(applied)
}

/// The currency a database keeps its amounts in: a code and its number of decimals.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreCurrency {
    pub code: String,
    pub decimals: u32,
}

impl std::fmt::Display for StoreCurrency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} with {}",
            self.code,
            crate::words::count(self.decimals, "decimal")
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CurrencyError {
    /// The config asks for another currency than the one the amounts were written in.
    #[error(
        "this database keeps {kept}; {config} says {wanted}. Nothing was opened or changed: \
         amounts are stored in the database's minor units, so reading them as {wanted} would \
         rescale every balance. Set [credits] currency = \"{}\" and decimals = {} again, or \
         use a new database for {wanted} (creditbot can't convert one; README, \"Currency\", \
         says why).",
        kept.code,
        kept.decimals
    )]
    Mismatch {
        kept: StoreCurrency,
        wanted: StoreCurrency,
        /// Where the config came from ("bot.toml").
        config: String,
    },
    #[error("can't read the database's currency: {0}")]
    Database(#[from] rusqlite::Error),
}

/// Checks that `conn`'s database keeps its amounts in `wanted`, recording `wanted` first if
/// it keeps none yet (a new database, or one created before migration 0002: it adopts the
/// config's currency, the one its amounts were written with until then). A database that
/// keeps another currency is refused, naming both; nothing is written then.
pub fn keep_currency(
    conn: &Connection,
    wanted: &StoreCurrency,
    config: &str,
) -> Result<(), CurrencyError> {
    // One statement: two processes opening a new database at once record one currency.
    conn.execute(
        "INSERT OR IGNORE INTO store_settings (id, currency, decimals) VALUES (1, ?1, ?2)",
        rusqlite::params![wanted.code, wanted.decimals],
    )?;
    let kept = conn.query_row(
        "SELECT currency, decimals FROM store_settings WHERE id = 1",
        [],
        |row| {
            Ok(StoreCurrency {
                code: row.get(0)?,
                decimals: row.get(1)?,
            })
        },
    )?;
    // The code is only shown; case makes no difference to an amount.
    if kept.decimals == wanted.decimals && kept.code.eq_ignore_ascii_case(&wanted.code) {
        Ok(())
    } else {
        Err(CurrencyError::Mismatch {
            kept,
            wanted: wanted.clone(),
            config: config.to_string(),
        })
    }
}

/// The schema version a database file is at.
pub fn schema_version(conn: &Connection) -> rusqlite::Result<usize> {
    conn.query_row("PRAGMA user_version", [], |row| row.get(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dump_schema(conn: &Connection) -> Vec<String> {
        let mut stmt = conn
            .prepare("SELECT type || ' ' || name || ' ' || coalesce(sql, '') FROM sqlite_master ORDER BY name")
            .unwrap();
        stmt.query_map([], |row| row.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    #[test]
    fn a_database_from_a_newer_creditbot_is_refused_and_not_migrated() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        let newer = MIGRATIONS.len() + 1;
        conn.pragma_update(None, "user_version", newer).unwrap();
        let before = dump_schema(&conn);
        let err = migrate(&mut conn).unwrap_err().to_string();
        assert!(err.contains("newer than this creditbot knows"), "{err}");
        assert_eq!(dump_schema(&conn), before);
        assert_eq!(schema_version(&conn).unwrap(), newer);
    }

    #[test]
    fn every_file_in_migrations_is_listed_in_order() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|name| name.ends_with(".sql"))
            .collect();
        files.sort();
        let listed: Vec<&str> = MIGRATIONS.iter().map(|(name, _)| *name).collect();
        assert_eq!(files, listed);
        for (index, name) in listed.iter().enumerate() {
            assert!(
                name.starts_with(&format!("{:04}_", index + 1)),
                "{name} is out of sequence"
            );
        }
    }

    #[test]
    fn opening_applies_every_migration_and_migrating_twice_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let mut conn = open(&path, &DatabaseConfig::default()).unwrap();
        assert_eq!(schema_version(&conn).unwrap(), MIGRATIONS.len());
        let before = dump_schema(&conn);
        assert!(before.iter().any(|s| s.starts_with("table journal ")));
        assert_eq!(migrate(&mut conn).unwrap(), 0);
        drop(conn);
        let conn = open(&path, &DatabaseConfig::default()).unwrap();
        assert_eq!(dump_schema(&conn), before);
    }

    fn usd() -> StoreCurrency {
        StoreCurrency {
            code: "USD".into(),
            decimals: 2,
        }
    }

    fn stored(conn: &Connection) -> Vec<(String, u32)> {
        let mut stmt = conn
            .prepare("SELECT currency, decimals FROM store_settings")
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    #[test]
    fn a_database_keeps_the_currency_it_was_created_with_and_refuses_another() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        keep_currency(&conn, &usd(), "bot.toml").unwrap();
        // The same again, in other letters, is the same currency.
        let lower = StoreCurrency {
            code: "usd".into(),
            decimals: 2,
        };
        keep_currency(&conn, &lower, "bot.toml").unwrap();
        let yen = StoreCurrency {
            code: "JPY".into(),
            decimals: 0,
        };
        let refused = keep_currency(&conn, &yen, "bot.toml")
            .unwrap_err()
            .to_string();
        assert!(
            refused.starts_with(
                "this database keeps USD with 2 decimals; bot.toml says JPY with 0 decimals."
            ),
            "{refused}"
        );
        assert_eq!(stored(&conn), vec![("USD".to_string(), 2)]);
    }

    #[test]
    fn a_database_from_before_the_currency_was_kept_adopts_the_configs() {
        let mut conn = Connection::open_in_memory().unwrap();
        // As creditbot left it before migration 0002 existed.
        conn.execute_batch(MIGRATIONS[0].1).unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        assert_eq!(migrate(&mut conn).unwrap(), MIGRATIONS.len() - 1);
        assert!(stored(&conn).is_empty());
        let euro = StoreCurrency {
            code: "EUR".into(),
            decimals: 2,
        };
        keep_currency(&conn, &euro, "bot.toml").unwrap();
        assert_eq!(stored(&conn), vec![("EUR".to_string(), 2)]);
        assert!(keep_currency(&conn, &usd(), "bot.toml").is_err());
    }

    #[test]
    fn pragmas_are_set_on_open() {
        let dir = tempfile::tempdir().unwrap();
        let config = DatabaseConfig {
            synchronous: Synchronous::Full,
            ..DatabaseConfig::default()
        };
        let conn = open(&dir.path().join("p.db"), &config).unwrap();
        let mode: String = conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        let sync: i64 = conn
            .query_row("PRAGMA synchronous", [], |r| r.get(0))
            .unwrap();
        let fk: i64 = conn
            .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
            .unwrap();
        let busy: i64 = conn
            .query_row("PRAGMA busy_timeout", [], |r| r.get(0))
            .unwrap();
        assert_eq!((mode.as_str(), sync, fk, busy), ("wal", 2, 1, 5000));
    }
}
