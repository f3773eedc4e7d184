//! The ledger's SQLite store: connections, transactions, and every SQL statement of the
//! ledger, one concern per submodule (accounts, lots, orders, returns, the journal,
//! idempotent operations, reminders, confirmations, unanswered questions). It implements
//! `ledger::store`'s traits; the rules above them (`ledger::ops`) never see SQL.
//!
//! How connections are held: a store owns a small pool of connections to one database file.
//! A call takes a connection from the pool (opening one if none is free), uses it, and puts
//! it back, so any number of threads may call the same ledger at once. Every check-then-write
//! runs in one `BEGIN IMMEDIATE` transaction, which takes SQLite's write lock before the first
//! read: two writers never both see the old state, in this process or in another (a second
//! process waits up to the busy timeout). Writers of one process also take turns on a mutex
//! first, so they queue in order instead of in SQLite's sleeping busy handler. Reads run in a
//! deferred transaction, so each sees one consistent snapshot (WAL lets them run beside the
//! writer). Statements run often are prepared once per connection (`prepare_cached`).
//! rusqlite types stay inside this module; callers see `crate::error::Error`.

mod accounts;
// Only tests and benches call these: a release build leaves them out.
#[cfg(any(test, feature = "test-support"))]
mod audit;
mod confirmations;
mod copy;
mod journal;
mod lots;
mod operations;
mod orders;
mod reminders;
mod returns;
mod unanswered;

use super::store::Store;
use crate::config::DatabaseConfig;
use crate::db;
use crate::error::{Error, Result};
use chrono::{DateTime, TimeZone, Utc};
use rusqlite::{Connection, Transaction, TransactionBehavior};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        Error::internal("using the database", e)
    }
}

/// The ledger over one SQLite file.
pub struct SqliteStore {
    path: PathBuf,
    db_config: DatabaseConfig,
    pool: Mutex<Vec<Connection>>,
    /// Held around every write transaction of this process (see `write`). Fair, so writers
    /// are served in the order they came and none waits behind a stream of newcomers.
    writer: parking_lot::FairMutex<()>,
}

/// One open SQLite transaction of a [`SqliteStore`].
pub struct SqliteTx<'c>(Transaction<'c>);

impl SqliteStore {
    /// Opens (creating and migrating if needed) the database at `path`.
    pub fn open(path: &Path, db_config: &DatabaseConfig) -> Result<Self> {
        let first = db::open(path, db_config)
            .map_err(|e| Error::internal(format!("opening {}", path.display()), e))?;
        Ok(SqliteStore {
            path: path.to_path_buf(),
            db_config: db_config.clone(),
            pool: Mutex::new(vec![first]),
            writer: parking_lot::FairMutex::new(()),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn with_conn<T>(&self, f: impl FnOnce(&mut Connection) -> Result<T>) -> Result<T> {
        let pooled = self.pool.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let mut conn = match pooled {
            Some(conn) => conn,
            None => db::open_connection(&self.path, &self.db_config)?,
        };
        let result = f(&mut conn);
        self.pool
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(conn);
        result
    }
}

impl Store for SqliteStore {
    type Tx<'t> = SqliteTx<'t>;

    /// Runs `f` in one `BEGIN IMMEDIATE` transaction, committed when `f` succeeds.
    ///
    /// Writers of this process take turns on `writer` before asking SQLite for its lock:
    /// SQLite's busy handler waits by sleeping (up to 100 ms a time), so many threads
    /// contending for the lock inside SQLite make a long tail of slow writes; a mutex hands
    /// the turn over at once. Other processes still meet at SQLite's lock and the busy timeout.
    fn write<T>(&self, mut f: impl FnMut(&mut SqliteTx<'_>) -> Result<T>) -> Result<T> {
        let _turn = self.writer.lock();
        self.with_conn(|conn| {
            let mut tx = SqliteTx(conn.transaction_with_behavior(TransactionBehavior::Immediate)?);
            let out = f(&mut tx)?;
            tx.0.commit()?;
            Ok(out)
        })
    }

    /// Runs `f` in one consistent read snapshot.
    fn read<T>(&self, f: impl FnOnce(&mut SqliteTx<'_>) -> Result<T>) -> Result<T> {
        self.with_conn(|conn| {
            let mut tx = SqliteTx(conn.transaction_with_behavior(TransactionBehavior::Deferred)?);
            let out = f(&mut tx)?;
            tx.0.commit()?;
            Ok(out)
        })
    }

    fn ping(&self) -> Result<()> {
        self.with_conn(|conn| Ok(conn.query_row("SELECT 1", [], |_| Ok(()))?))
    }
}

/// A time as stored: whole seconds since the epoch.
fn ts(at: DateTime<Utc>) -> i64 {
    at.timestamp()
}

fn at(seconds: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(seconds, 0).single().unwrap_or_default()
}

// Typed ids go into and come out of SQL as the values they wrap, so binding a `LotId` is
// binding its `i64` and binding an `AccountId` its text: the statements and the stored rows
// are as they were with bare ids. Implemented here so that rusqlite stays inside
// `ledger::sqlite`.
impl rusqlite::ToSql for super::LotId {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        Ok(self.get().into())
    }
}

impl rusqlite::types::FromSql for super::LotId {
    fn column_result(value: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
        i64::column_result(value).map(super::LotId::new)
    }
}

macro_rules! text_id_sql {
    ($($id:ident),*) => {$(
        impl rusqlite::ToSql for super::$id {
            fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
                self.as_str().to_sql()
            }
        }

        impl rusqlite::types::FromSql for super::$id {
            fn column_result(
                value: rusqlite::types::ValueRef<'_>,
            ) -> rusqlite::types::FromSqlResult<Self> {
                String::column_result(value).map(super::$id::new)
            }
        }
    )*};
}

text_id_sql!(AccountId, MemberId, OrderId, ReturnId);
