//! The store picked when creditbot starts, from `[database]`: an SQLite file or a PostgreSQL
//! database. Everything above the ledger holds a `Ledger` (that is, `Ledger<AnyStore>`) and
//! never knows which; tests and benches that want one store name it (`Ledger<SqliteStore>`).
//!
//! Its transactions are `dyn StoreTx`: one indirect call per row operation, next to a
//! database round trip. The ledger's rules are compiled once for it, not once per store.

#[cfg(feature = "postgres")]
use super::postgres::{PgOptions, PgStore};
use super::sqlite::SqliteStore;
#[cfg(any(test, feature = "test-support"))]
use super::store::Audit;
use super::store::copy::{Row, Tables};
use super::store::{Store, StoreTx};
use super::{Ledger, LedgerSettings};
use crate::config::DatabaseConfig;
use crate::error::Result;
use std::path::Path;

/// An SQLite or a PostgreSQL store, as configured.
pub enum AnyStore {
    Sqlite(SqliteStore),
    /// Boxed: a pool and its settings are larger than SQLite's handful of fields.
    #[cfg(feature = "postgres")]
    Postgres(Box<PgStore>),
}

impl AnyStore {
    /// The SQLite store, when that is what this is (backups, SQLite's own checks).
    pub fn sqlite(&self) -> Option<&SqliteStore> {
        match self {
            AnyStore::Sqlite(store) => Some(store),
            #[cfg(feature = "postgres")]
            AnyStore::Postgres(_) => None,
        }
    }
}

impl Store for AnyStore {
    type Tx<'t> = dyn StoreTx + 't;

    fn write<T>(&self, mut f: impl FnMut(&mut Self::Tx<'_>) -> Result<T>) -> Result<T> {
        match self {
            AnyStore::Sqlite(store) => store.write(|tx| f(tx)),
            #[cfg(feature = "postgres")]
            AnyStore::Postgres(store) => store.write(|tx| f(tx)),
        }
    }

    fn read<T>(&self, f: impl FnOnce(&mut Self::Tx<'_>) -> Result<T>) -> Result<T> {
        match self {
            AnyStore::Sqlite(store) => store.read(|tx| f(tx)),
            #[cfg(feature = "postgres")]
            AnyStore::Postgres(store) => store.read(|tx| f(tx)),
        }
    }

    fn ping(&self) -> Result<()> {
        match self {
            AnyStore::Sqlite(store) => store.ping(),
            #[cfg(feature = "postgres")]
            AnyStore::Postgres(store) => store.ping(),
        }
    }
}

/// A copy's row access, from whichever store this is.
impl Tables for AnyStore {
    fn read_tables(&self) -> Result<Vec<Vec<Row>>> {
        match self {
            AnyStore::Sqlite(store) => store.read_tables(),
            #[cfg(feature = "postgres")]
            AnyStore::Postgres(store) => store.read_tables(),
        }
    }

    fn insert_into_empty(&self, rows: &[Vec<Row>]) -> Result<()> {
        match self {
            AnyStore::Sqlite(store) => store.insert_into_empty(rows),
            #[cfg(feature = "postgres")]
            AnyStore::Postgres(store) => store.insert_into_empty(rows),
        }
    }
}

#[cfg(any(test, feature = "test-support"))]
impl Audit for AnyStore {
    fn content_checksum(&self) -> Result<String> {
        self.audit().content_checksum()
    }

    fn journal_totals(&self) -> Result<Vec<(String, crate::money::Credits)>> {
        self.audit().journal_totals()
    }

    fn lot_journal_sums(
        &self,
    ) -> Result<Vec<(super::LotId, crate::money::Credits, crate::money::Credits)>> {
        self.audit().lot_journal_sums()
    }

    fn entries_touching_two_accounts(&self) -> Result<u64> {
        self.audit().entries_touching_two_accounts()
    }
}

#[cfg(any(test, feature = "test-support"))]
impl Ledger<AnyStore> {
    /// Runs SQLite's own consistency check on an SQLite ledger; a PostgreSQL database checks
    /// its own pages, so there it passes.
    pub fn integrity_check(&self) -> Result<()> {
        self.store()
            .sqlite()
            .map_or(Ok(()), SqliteStore::integrity_check)
    }
}

#[cfg(any(test, feature = "test-support"))]
impl AnyStore {
    fn audit(&self) -> &dyn Audit {
        match self {
            AnyStore::Sqlite(store) => store,
            #[cfg(feature = "postgres")]
            AnyStore::Postgres(store) => &**store,
        }
    }
}

impl Ledger<AnyStore> {
    /// Opens (creating and migrating if needed) the SQLite ledger at `path`.
    pub fn open(path: &Path, db_config: &DatabaseConfig, settings: LedgerSettings) -> Result<Self> {
        Ok(Ledger::with_store(
            AnyStore::Sqlite(SqliteStore::open(path, db_config)?),
            settings,
        ))
    }

    /// Opens (migrating if needed) the ledger in the PostgreSQL database at `url`.
    #[cfg(feature = "postgres")]
    pub fn open_postgres(url: &str, options: &PgOptions, settings: LedgerSettings) -> Result<Self> {
        Ok(Ledger::with_store(
            AnyStore::Postgres(Box::new(PgStore::open(url, options)?)),
            settings,
        ))
    }

    /// The database file, for an SQLite ledger.
    pub fn path(&self) -> Option<&Path> {
        self.store().sqlite().map(SqliteStore::path)
    }
}
