//! The ledger's operations: the `Ledger` type and everything it does (grants, revokes,
//! orders, returns, links, the expiry sweep, reminders' claims, history, …), written once
//! against the store interface (`ledger::store`), one concern per submodule. Nothing here
//! names a database: the SQL is in the store (`ledger::sqlite` today).
//!
//! Here live the ledger's semantics above the rows: idempotency (each change's key is looked
//! up, its request fingerprinted, a repeat replayed and a different request under the same
//! key refused, in the change's own write transaction), validation of requests, the date
//! checks of backdated changes, and the journal entries each change writes. The policies over
//! values (what a spend takes, what a return gives back) are `ledger::rules`.

mod reminders;

mod accounts;
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

use super::any::AnyStore;
#[cfg(test)]
use super::sqlite::SqliteStore;
use super::store::prelude::*;
use super::{Act, LedgerSettings};
use crate::error::{Error, Field, Result, UserError};
use crate::money::Currency;
use accounts::account;
use chrono::Duration;
use journal::Journal;
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::internal("encoding a ledger result", e)
    }
}

/// The credit ledger over a store; by default the one chosen at start (`AnyStore`: SQLite by
/// `Ledger::open`, PostgreSQL by `Ledger::open_postgres`). Cheap to share: wrap it in an `Arc`.
pub struct Ledger<S: Store = AnyStore> {
    settings: LedgerSettings,
    store: S,
}

impl<S: Store> Ledger<S> {
    /// A ledger over an opened (and migrated) store.
    pub fn with_store(store: S, settings: LedgerSettings) -> Self {
        Ledger { settings, store }
    }

    /// The store under the ledger.
    pub fn store(&self) -> &S {
        &self.store
    }

    pub fn settings(&self) -> &LedgerSettings {
        &self.settings
    }

    pub fn currency(&self) -> &Currency {
        &self.settings.currency
    }

    /// Runs a keyed change: one write transaction that first looks the key up.
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
        mut f: impl FnMut(&mut S::Tx<'_>, &mut Journal) -> Result<Res>,
    ) -> Result<Res>
    where
        Req: Serialize,
        Res: Serialize + DeserializeOwned,
    {
        self.store
            .write(|tx| keyed_in(tx, kind, act, request, conflict.clone(), &mut f))
    }

    /// Whether a request with this idempotency key has been carried out (imports use it to
    /// report duplicates; the keyed calls themselves already replay safely).
    pub fn has_operation(&self, key: &str) -> Result<bool> {
        self.store.read(|tx| tx.has_operation(key))
    }

    /// Refuses a change dated further back than `max_backdate_days` before it was recorded,
    /// or before its account was opened: the ledger can't have seen it then.
    fn check_dated(
        &self,
        tx: &mut (impl StoreTx + ?Sized),
        act: &Act,
        account_id: &str,
    ) -> Result<()> {
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
        self.store.ping()
    }
}

/// The body of `Ledger::keyed` inside a transaction the caller holds (a batch holds one for
/// many keys): look the key up, replay or refuse, else do the work and store its result.
fn keyed_in<T, Req, Res>(
    tx: &mut T,
    kind: &str,
    act: &Act,
    request: &Req,
    conflict: UserError,
    f: impl FnOnce(&mut T, &mut Journal) -> Result<Res>,
) -> Result<Res>
where
    T: StoreTx + ?Sized,
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
    if let Some(earlier) = tx.operation(&act.key)? {
        return if earlier.fingerprint == fingerprint {
            Ok(serde_json::from_str(&earlier.result)?)
        } else {
            Err(conflict.into())
        };
    }
    let mut journal = Journal::new(act);
    let result = f(tx, &mut journal)?;
    tx.insert_operation(
        &act.key,
        kind,
        &fingerprint,
        &serde_json::to_string(&result)?,
        &act.actor,
        act.now,
    )?;
    Ok(result)
}

fn fingerprint<T: Serialize>(kind: &str, request: &T) -> Result<String> {
    let mut hasher = Sha256::new();
    hasher.update(kind.as_bytes());
    hasher.update(serde_json::to_vec(request)?);
    Ok(hex::encode(hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DatabaseConfig;
    use crate::ledger::{AccountId, Expiry, GrantRequest, Source};
    use crate::money::Credits;
    use chrono::{TimeZone, Utc};
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A store that is not `SqliteStore`: it hands its transactions to one and counts them.
    /// The ledger runs over it unchanged, which is what a second store relies on.
    struct Counting {
        inner: SqliteStore,
        writes: AtomicUsize,
        reads: AtomicUsize,
    }

    impl Store for Counting {
        type Tx<'t> = <SqliteStore as Store>::Tx<'t>;

        fn write<T>(&self, f: impl FnMut(&mut Self::Tx<'_>) -> Result<T>) -> Result<T> {
            self.writes.fetch_add(1, Ordering::Relaxed);
            self.inner.write(f)
        }

        fn read<T>(&self, f: impl FnOnce(&mut Self::Tx<'_>) -> Result<T>) -> Result<T> {
            self.reads.fetch_add(1, Ordering::Relaxed);
            self.inner.read(f)
        }

        fn ping(&self) -> Result<()> {
            self.inner.ping()
        }
    }

    #[test]
    fn the_ledger_runs_over_any_store_one_transaction_per_call() {
        let dir = tempfile::tempdir().unwrap();
        let store = Counting {
            inner: SqliteStore::open(&dir.path().join("ledger.db"), &DatabaseConfig::default())
                .unwrap(),
            writes: AtomicUsize::new(0),
            reads: AtomicUsize::new(0),
        };
        let ledger = Ledger::with_store(store, LedgerSettings::default());
        let now = Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap();
        ledger
            .open_account(
                &Act::new("admin", now, "open:1"),
                &AccountId::new("ACC-1"),
                "One",
            )
            .unwrap();
        let request = GrantRequest {
            account_id: AccountId::new("ACC-1"),
            amount: Credits::from_minor(500),
            source: Source::Gift,
            reason: "welcome".into(),
            expiry: Expiry::Never,
        };
        let act = Act::new("admin", now, "grant:1");
        let lot = ledger.grant(&act, &request).unwrap();
        // A retry replays the first result from the stored operation.
        assert_eq!(ledger.grant(&act, &request).unwrap(), lot);
        assert_eq!(
            ledger
                .balance(&AccountId::new("ACC-1"), now)
                .unwrap()
                .available,
            Credits::from_minor(500)
        );
        assert!(ledger.has_operation("grant:1").unwrap());
        ledger.ping().unwrap();
        assert_eq!(ledger.store().writes.load(Ordering::Relaxed), 3);
        assert_eq!(ledger.store().reads.load(Ordering::Relaxed), 2);
    }
}
