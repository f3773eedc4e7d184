//! Opening SQLite: pragmas and the forward-only migrator on `PRAGMA user_version`.
//!
//! Rules for migrations (after cargo's `util/sqlite.rs`): files in `migrations/sqlite/` are named
//! `NNNN_name.sql`, applied in order, each in its own transaction that also bumps
//! `user_version`. Never edit or remove a migration that has shipped; add a new one.
//! This module is the only place besides the ledger's SQLite store (`ledger::sqlite`) that
//! touches rusqlite.

use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::config::{DatabaseConfig, Synchronous};

/// Every migration, in order. A test checks this list against the files in `migrations/sqlite/`.
pub const MIGRATIONS: &[(&str, &str)] = &[
    (
        "0001_init.sql",
        include_str!("../migrations/sqlite/0001_init.sql"),
    ),
    (
        "0002_store_settings.sql",
        include_str!("../migrations/sqlite/0002_store_settings.sql"),
    ),
    (
        "0003_admin_notes.sql",
        include_str!("../migrations/sqlite/0003_admin_notes.sql"),
    ),
    (
        "0004_reminders.sql",
        include_str!("../migrations/sqlite/0004_reminders.sql"),
    ),
];

/// Opens (creating if needed) the database at `path`, sets the pragmas and migrates it.
///
/// Processes started together on one new file race to create it: switching a new file to
/// WAL, or reading its header while another process does, can be refused as busy at once,
/// without SQLite's busy handler waiting (it only waits inside a transaction). So a busy
/// open is tried again, a few milliseconds later, until `busy_timeout_ms` has passed.
pub fn open(path: &Path, config: &DatabaseConfig) -> rusqlite::Result<Connection> {
    let give_up_at = Instant::now() + Duration::from_millis(config.busy_timeout_ms);
    let mut attempt: u64 = 0;
    loop {
        match open_once(path, config) {
            Err(error) if is_busy(&error) && Instant::now() < give_up_at => {
                attempt += 1;
                tracing::debug!(attempt, %error, "database busy while opening; trying again");
                // A little longer each time, and different per process, so racers spread out.
                let jitter = u64::from(std::process::id() % 7);
                std::thread::sleep(Duration::from_millis((2 * attempt + jitter).min(50)));
            }
            result => return result,
        }
    }
}

fn open_once(path: &Path, config: &DatabaseConfig) -> rusqlite::Result<Connection> {
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

/// Whether SQLite refused because another connection holds a lock.
fn is_busy(error: &rusqlite::Error) -> bool {
    matches!(
        error.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
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
    /// The same, from a store other than SQLite (`ledger::postgres`).
    #[error("can't read the database's currency: {0}")]
    Store(crate::error::Error),
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
    same_currency(kept, wanted, config)
}

/// Accepts `kept`, the currency a database keeps, when it is `wanted`; else refuses, naming
/// both. Every store's check of its currency ends here, so all refuse in the same words.
pub fn same_currency(
    kept: StoreCurrency,
    wanted: &StoreCurrency,
    config: &str,
) -> Result<(), CurrencyError> {
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

/// How far a backup has come: bytes written to the copy, of about `total` (the source's
/// pages in use; the copy leaves free pages out).
#[derive(Clone, Copy, Debug)]
pub struct BackupProgress {
    pub written: u64,
    pub total: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{0} exists already; pick a new file")]
    Exists(PathBuf),
    #[error("{0} isn't a file name to back up to")]
    NotAFileName(PathBuf),
    #[error("the backup of {source_path} failed: {error} (nothing was left at {target})")]
    Copy {
        source_path: PathBuf,
        target: PathBuf,
        error: String,
    },
    #[error(
        "the copy of {0} failed its integrity check ({1}); nothing was kept. Check the database with `sqlite3 {0} 'PRAGMA integrity_check'`"
    )]
    Corrupt(PathBuf, String),
}

/// Copies the database at `source` to `target`, which must not exist, and returns the copy's
/// size in bytes.
///
/// The copy is one consistent snapshot taken with `VACUUM INTO`, which reads the whole
/// database in a single read transaction: in WAL mode writers go on meanwhile and their
/// commits don't restart it (SQLite's online backup API starts over after every write made
/// through another connection, so under steady writes it never finished). It is written to a
/// hidden file beside `target`, checked with `PRAGMA integrity_check`, synced, and only then
/// linked into place; on any failure that file and its journal are removed, so `target`
/// either is a whole, checked copy or does not exist. `progress` is called now and then
/// from inside the copy.
pub fn backup(
    source: &Path,
    config: &DatabaseConfig,
    target: &Path,
    mut progress: impl FnMut(BackupProgress) + Send + 'static,
) -> Result<u64, BackupError> {
    if target.symlink_metadata().is_ok() {
        return Err(BackupError::Exists(target.to_path_buf()));
    }
    let name = target
        .file_name()
        .ok_or_else(|| BackupError::NotAFileName(target.to_path_buf()))?;
    let dir = match target.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let partial = Partial(dir.join(format!(
        ".{}.partial-{}",
        name.to_string_lossy(),
        std::process::id()
    )));
    let failed = |error: &dyn std::fmt::Display| BackupError::Copy {
        source_path: source.to_path_buf(),
        target: target.to_path_buf(),
        error: error.to_string(),
    };
    let conn = open_connection(source, config).map_err(|e| failed(&e))?;
    let pages = |pragma: &str| -> rusqlite::Result<u64> {
        conn.query_row(&format!("PRAGMA {pragma}"), [], |row| row.get(0))
    };
    let total = (|| {
        Ok::<_, rusqlite::Error>(
            (pages("page_count")? - pages("freelist_count")?) * pages("page_size")?,
        )
    })()
    .map_err(|e| failed(&e))?;
    let version = schema_version(&conn).map_err(|e| failed(&e))?;
    let into = partial
        .0
        .to_str()
        .ok_or_else(|| failed(&"the target's folder isn't a UTF-8 path"))?
        .to_string();
    progress(BackupProgress { written: 0, total });
    let watched = partial.0.clone();
    // SQLite calls this every so many VM steps, on this thread, while the copy runs.
    conn.progress_handler(
        20_000,
        Some(move || {
            let written = std::fs::metadata(&watched).map_or(0, |m| m.len());
            progress(BackupProgress { written, total });
            false
        }),
    );
    let copied = conn.execute("VACUUM INTO ?1", [&into]);
    conn.progress_handler(0, None::<fn() -> bool>);
    copied.map_err(|e| failed(&e))?;
    drop(conn);
    verify(&partial.0, version).map_err(|problem| match problem {
        Verify::Corrupt(report) => BackupError::Corrupt(source.to_path_buf(), report),
        Verify::Failed(error) => failed(&error),
    })?;
    std::fs::File::open(&partial.0)
        .and_then(|file| file.sync_all())
        .map_err(|e| failed(&e))?;
    // A hard link puts the copy in place only if nothing is there yet (rename would replace a
    // file created meanwhile); where links aren't supported, rename after a last look.
    match std::fs::hard_link(&partial.0, target) {
        Ok(()) => {}
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(BackupError::Exists(target.to_path_buf()));
        }
        Err(_) if target.symlink_metadata().is_err() => {
            std::fs::rename(&partial.0, target).map_err(|e| failed(&e))?;
        }
        Err(error) => return Err(failed(&error)),
    }
    // The directory entry too, so the copy survives a power loss once we have said it's done.
    if let Ok(dir) = std::fs::File::open(dir) {
        let _ = dir.sync_all();
    }
    let size = std::fs::metadata(target).map_or(0, |m| m.len());
    drop(partial);
    Ok(size)
}

/// A backup's temporary file: removed, with any journal SQLite left beside it, when dropped.
struct Partial(PathBuf);

impl Drop for Partial {
    fn drop(&mut self) {
        for suffix in ["", "-journal", "-wal", "-shm"] {
            let mut path = self.0.clone().into_os_string();
            path.push(suffix);
            let _ = std::fs::remove_file(path);
        }
    }
}

enum Verify {
    Corrupt(String),
    Failed(rusqlite::Error),
}

/// Opens a finished copy read-only and checks it: SQLite's integrity check, and the schema
/// version of the database it was copied from.
fn verify(path: &Path, version: usize) -> Result<(), Verify> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(Verify::Failed)?;
    let mut stmt = conn
        .prepare("PRAGMA integrity_check")
        .map_err(Verify::Failed)?;
    let report: Vec<String> = stmt
        .query_map([], |row| row.get(0))
        .and_then(|rows| rows.collect())
        .map_err(Verify::Failed)?;
    if report != ["ok"] {
        return Err(Verify::Corrupt(report.join("; ")));
    }
    let copied = schema_version(&conn).map_err(Verify::Failed)?;
    if copied != version {
        return Err(Verify::Corrupt(format!(
            "schema version {copied}, not {version}"
        )));
    }
    Ok(())
}

/// The schema version a database file is at.
pub fn schema_version(conn: &Connection) -> rusqlite::Result<usize> {
    conn.query_row("PRAGMA user_version", [], |row| row.get(0))
}

#[cfg(test)]
pub(crate) mod tests {
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

    /// The `.sql` files of `migrations/{backend}/`, sorted (the PostgreSQL store's test too).
    pub(crate) fn migration_files(backend: &str) -> Vec<String> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("migrations")
            .join(backend);
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|name| name.ends_with(".sql"))
            .collect();
        files.sort();
        files
    }

    #[test]
    fn every_file_in_migrations_is_listed_in_order() {
        let files = migration_files("sqlite");
        let listed: Vec<&str> = MIGRATIONS.iter().map(|(name, _)| *name).collect();
        assert_eq!(files, listed);
        // Numbered in order. 0003 belongs to a branch not merged here yet (admin notes); once
        // it is, the numbers run without a gap again and this can demand `index + 1`.
        let numbers: Vec<u32> = listed
            .iter()
            .map(|name| name[..4].parse().expect("NNNN_ prefix"))
            .collect();
        assert!(
            numbers.windows(2).all(|w| w[0] < w[1]),
            "{listed:?} is out of sequence"
        );
        assert_eq!(numbers.first(), Some(&1));
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

    /// A database of about `rows` × 1 KiB, with a table whose rows are written in pairs.
    fn filled(path: &Path, rows: i64) -> Connection {
        let conn = open(path, &DatabaseConfig::default()).unwrap();
        conn.execute_batch(
            "CREATE TABLE pairs (pair INTEGER NOT NULL, half INTEGER NOT NULL, filler BLOB);",
        )
        .unwrap();
        conn.execute(
            "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
             INSERT INTO pairs SELECT i / 2, i % 2, randomblob(1024) FROM n",
            [rows * 2 - 1],
        )
        .unwrap();
        conn
    }

    fn count(path: &Path, sql: &str) -> i64 {
        Connection::open(path)
            .unwrap()
            .query_row(sql, [], |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn a_backup_taken_while_another_connection_writes_is_one_consistent_checked_snapshot() {
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("live.db");
        drop(filled(&source, 4_000));
        let writer = open_connection(&source, &DatabaseConfig::default()).unwrap();
        let writes = std::sync::Arc::new(std::sync::atomic::AtomicI64::new(0));
        let counted = std::sync::Arc::clone(&writes);
        let mut last = None;
        let target = dir.path().join("copy.db");
        // Another connection commits a pair of rows at every progress report, so the writes
        // land while the copy runs (the online backup API restarted on each of them).
        let size = backup(
            &source,
            &DatabaseConfig::default(),
            &target,
            move |progress| {
                assert!(last.is_none_or(|seen| seen <= progress.written));
                last = Some(progress.written);
                let n = 1_000_000 + counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                writer
                    .execute_batch(&format!(
                        "BEGIN IMMEDIATE; INSERT INTO pairs VALUES ({n}, 0, NULL); \
                         INSERT INTO pairs VALUES ({n}, 1, NULL); COMMIT;"
                    ))
                    .unwrap();
            },
        )
        .unwrap();
        let writes = writes.load(std::sync::atomic::Ordering::SeqCst);
        assert!(
            writes > 2,
            "the writer wrote during the copy ({writes} times)"
        );
        assert_eq!(size, std::fs::metadata(&target).unwrap().len());
        let copied_rows = count(&target, "SELECT count(*) FROM pairs");
        // Every pair whole: the copy is one moment of the database, not a mix of two.
        assert_eq!(
            count(
                &target,
                "SELECT count(*) FROM (SELECT pair FROM pairs GROUP BY pair HAVING count(*) <> 2)"
            ),
            0
        );
        assert!(copied_rows >= 8_000, "{copied_rows}");
        assert_eq!(
            count(&source, "SELECT count(*) FROM pairs"),
            8_000 + 2 * writes
        );
        let check: String = Connection::open(&target)
            .unwrap()
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(check, "ok");
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|name| name.contains("partial"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }

    #[test]
    fn a_failed_backup_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("live.db");
        drop(filled(&source, 10));
        let files = || {
            let mut names: Vec<String> = std::fs::read_dir(dir.path())
                .unwrap()
                .map(|e| e.unwrap().file_name().into_string().unwrap())
                .collect();
            names.sort();
            names
        };
        let before = files();
        let config = DatabaseConfig::default();
        // The target is a directory; its folder doesn't exist; the source isn't a database.
        std::fs::create_dir(dir.path().join("folder")).unwrap();
        let before_folder = files();
        let refused = backup(&source, &config, &dir.path().join("folder"), drop).unwrap_err();
        assert!(matches!(refused, BackupError::Exists(_)), "{refused}");
        let missing = dir.path().join("nowhere").join("copy.db");
        let failed = backup(&source, &config, &missing, drop).unwrap_err();
        assert!(matches!(failed, BackupError::Copy { .. }), "{failed}");
        assert_eq!(files(), before_folder);
        let garbage = dir.path().join("garbage.db");
        std::fs::write(&garbage, vec![b'x'; 8192]).unwrap();
        let target = dir.path().join("copy.db");
        let failed = backup(&garbage, &config, &target, drop).unwrap_err();
        assert!(matches!(failed, BackupError::Copy { .. }), "{failed}");
        assert!(!target.exists());
        std::fs::remove_file(&garbage).unwrap();
        std::fs::remove_dir(dir.path().join("folder")).unwrap();
        assert_eq!(files(), before);
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
