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
        "0003_admin_notes.sql",
        include_str!("../migrations/0003_admin_notes.sql"),
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
