//! The ledger's SQLite store: the `Ledger` type, its connections, transactions and idempotency
//! keys. Every SQL statement of the ledger lives here or in a submodule, one concern each
//! (accounts, grants, lots, orders, returns, queries, the journal, …).
//!
//! How connections are held: a `Ledger` owns a small pool of connections to one database
//! file. A call takes a connection from the pool (opening one if none is free), uses it, and
//! puts it back, so any number of threads may call the same `Ledger` at once. Every
//! check-then-write runs in one `BEGIN IMMEDIATE` transaction, which takes SQLite's write lock
//! before the first read: two writers never both see the old state, in this process or in
//! another (a second process waits up to the busy timeout). Writers of one process also take
//! turns on a mutex first, so they queue in order instead of in SQLite's sleeping busy handler.
//! Reads run in a deferred transaction, so each sees one consistent snapshot (WAL lets them
//! run beside the writer).
//! rusqlite types stay inside this module; callers see `crate::error::Error`.

pub mod reminders;

mod accounts;
// Only tests and benches call these: a release build leaves them out.
#[cfg(any(test, feature = "test-support"))]
mod audit;
mod checks;
mod confirmations;
mod grants;
mod journal;
mod lots;
mod orders;
mod queries;
mod returns;
mod unanswered;

pub use checks::check_note;

use super::{Act, LedgerSettings};
use crate::config::DatabaseConfig;
use crate::db;
use crate::error::{Error, Field, Result, UserError};
use crate::money::Currency;
use accounts::account;
use chrono::{DateTime, Duration, TimeZone, Utc};
use journal::Journal;
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        Error::internal("using the database", e)
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::internal("encoding a ledger result", e)
    }
}

/// The credit ledger over one SQLite file. Cheap to share: wrap it in an `Arc`.
pub struct Ledger {
    path: PathBuf,
    db_config: DatabaseConfig,
    settings: LedgerSettings,
    pool: Mutex<Vec<Connection>>,
    /// Held around every write transaction of this process (see `write`). Fair, so writers
    /// are served in the order they came and none waits behind a stream of newcomers.
    writer: parking_lot::FairMutex<()>,
}

impl Ledger {
    /// Opens (creating and migrating if needed) the ledger at `path`.
    pub fn open(path: &Path, db_config: &DatabaseConfig, settings: LedgerSettings) -> Result<Self> {
        let first = db::open(path, db_config)
            .map_err(|e| Error::internal(format!("opening {}", path.display()), e))?;
        Ok(Ledger {
            path: path.to_path_buf(),
            db_config: db_config.clone(),
            settings,
            pool: Mutex::new(vec![first]),
            writer: parking_lot::FairMutex::new(()),
        })
    }

    pub fn settings(&self) -> &LedgerSettings {
        &self.settings
    }

    pub fn currency(&self) -> &Currency {
        &self.settings.currency
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

    /// Runs `f` in one `BEGIN IMMEDIATE` transaction, committed when `f` succeeds.
    ///
    /// Writers of this process take turns on `writer` before asking SQLite for its lock:
    /// SQLite's busy handler waits by sleeping (up to 100 ms a time), so many threads
    /// contending for the lock inside SQLite make a long tail of slow writes; a mutex hands
    /// the turn over at once. Other processes still meet at SQLite's lock and the busy timeout.
    fn write<T>(&self, f: impl FnOnce(&Transaction) -> Result<T>) -> Result<T> {
        let _turn = self.writer.lock();
        self.with_conn(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let out = f(&tx)?;
            tx.commit()?;
            Ok(out)
        })
    }

    /// Runs `f` in one consistent read snapshot.
    fn read<T>(&self, f: impl FnOnce(&Transaction) -> Result<T>) -> Result<T> {
        self.with_conn(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
            let out = f(&tx)?;
            tx.commit()?;
            Ok(out)
        })
    }

    /// Runs a keyed change: one `BEGIN IMMEDIATE` transaction that first looks the key up.
    ///
    /// A key seen before with the same request returns the stored first result and writes
    /// nothing; with another request it is refused with `conflict`. Otherwise `f` does the
    /// work, its result is stored under the key, and all of it commits at once. Any error
    /// rolls everything back.
    fn keyed<Req, Res>(
        &self,
        kind: &str,
        act: &Act,
        request: &Req,
        conflict: UserError,
        f: impl FnOnce(&Transaction, &mut Journal) -> Result<Res>,
    ) -> Result<Res>
    where
        Req: Serialize,
        Res: Serialize + DeserializeOwned,
    {
        self.write(|tx| keyed_in(tx, kind, act, request, conflict, f))
    }

    /// Whether a request with this idempotency key has been carried out (imports use it to
    /// report duplicates; the keyed calls themselves already replay safely).
    pub fn has_operation(&self, key: &str) -> Result<bool> {
        self.read(|tx| {
            Ok(tx
                .prepare_cached("SELECT 1 FROM operations WHERE idem_key = ?1")?
                .exists([key])?)
        })
    }

    /// Refuses a change dated further back than `max_backdate_days` before it was recorded,
    /// or before its account was opened: the ledger can't have seen it then.
    fn check_dated(&self, tx: &Transaction, act: &Act, account_id: &str) -> Result<()> {
        let days = self.settings.max_backdate_days;
        if act.now < act.recorded - Duration::days(i64::from(days)) {
            return Err(UserError::TimeTooFarBack { days }.into());
        }
        if act.now < account(tx, account_id)?.created_at {
            return Err(UserError::TimeBeforeAccount(account_id.to_string()).into());
        }
        Ok(())
    }

    /// Answers when the database does (health checks).
    pub fn ping(&self) -> Result<()> {
        self.with_conn(|conn| Ok(conn.query_row("SELECT 1", [], |_| Ok(()))?))
    }
}

/// The body of `Ledger::keyed` inside a transaction the caller holds (a batch holds one for
/// many keys): look the key up, replay or refuse, else do the work and store its result.
fn keyed_in<Req, Res>(
    tx: &Transaction,
    kind: &str,
    act: &Act,
    request: &Req,
    conflict: UserError,
    f: impl FnOnce(&Transaction, &mut Journal) -> Result<Res>,
) -> Result<Res>
where
    Req: Serialize,
    Res: Serialize + DeserializeOwned,
{
    if act.key.trim().is_empty() {
        return Err(UserError::EmptyField {
            field: Field::RequestKey,
        }
        .into());
    }
    let fingerprint = fingerprint(kind, request)?;
    let earlier: Option<(String, String)> = tx
        .prepare_cached("SELECT fingerprint, result FROM operations WHERE idem_key = ?1")?
        .query_row([&act.key], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?;
    if let Some((earlier_fingerprint, result)) = earlier {
        return if earlier_fingerprint == fingerprint {
            Ok(serde_json::from_str(&result)?)
        } else {
            Err(conflict.into())
        };
    }
    let mut journal = Journal::new(act);
    let result = f(tx, &mut journal)?;
    tx.prepare_cached(
        "INSERT INTO operations (idem_key, kind, fingerprint, result, actor, at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        act.key,
        kind,
        fingerprint,
        serde_json::to_string(&result)?,
        act.actor,
        ts(act.now)
    ])?;
    Ok(result)
}

fn fingerprint<T: Serialize>(kind: &str, request: &T) -> Result<String> {
    let mut hasher = Sha256::new();
    hasher.update(kind.as_bytes());
    hasher.update(serde_json::to_vec(request)?);
    Ok(hex::encode(hasher.finalize()))
}

fn ts(at: DateTime<Utc>) -> i64 {
    at.timestamp()
}

fn at(seconds: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(seconds, 0).single().unwrap_or_default()
}
