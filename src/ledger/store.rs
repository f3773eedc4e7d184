//! The ledger's store interface: what one transaction can do at row level ([`StoreTx`], one
//! trait per concern in the submodules) and the store that runs transactions ([`Store`]).
//!
//! The ledger's rules — which grant pays first, what a return gives back, expiry, idempotency
//! (key lookup, fingerprint, replay, conflict), date checks and validation — are written once,
//! in `ledger::ops`, against these traits only. A store implements them with its own queries:
//! `ledger::sqlite` (the embedded default) and `ledger::postgres` (for several processes on
//! one shared database), the only places under `src/ledger/` with SQL.
//!
//! The traits are synchronous and speak in plain ledger values (`Lot`, `Account`,
//! `SpendableLot`, …) and `crate::error::Error`; no type of a database crate appears here.
//! Every method of a transaction takes `&mut self`, so a store whose client needs exclusive
//! access to its transaction (the `postgres` crate's) implements them directly.
//!
//! A method answers only what its name says: it checks nothing the ledger's rules decide
//! (whether an account is closed, whether a lot is live, whether a key was seen), and returns
//! `None` or an empty list where a row is missing, never a refusal.
//!
//! Beside the ledger's rows, [`copy`] moves a whole ledger between stores (`creditbot copy`)
//! through each store's [`copy::Tables`]: whole tables as store-neutral values.

pub mod accounts;
#[cfg(any(test, feature = "test-support"))]
pub mod audit;
pub mod confirmations;
pub mod copy;
pub mod journal;
pub mod lots;
pub mod operations;
pub mod orders;
pub mod reminders;
pub mod returns;
pub mod unanswered;

pub use accounts::{AccountRows, LinkCodeRow};
#[cfg(any(test, feature = "test-support"))]
pub use audit::Audit;
pub use confirmations::ConfirmationRows;
pub use journal::{Entry, JournalRows};
pub use lots::{ExpiredLot, LotRows, NewLot};
pub use operations::{OperationRows, StoredOperation};
pub use orders::{NewOrder, OrderRow, OrderRows, StoredItem};
pub use reminders::ReminderRows;
pub use returns::ReturnRows;
pub use unanswered::UnansweredRows;

/// The row traits, for code that calls them on a store's transaction type: a bound on an
/// associated type (`Store::Tx: StoreTx`) doesn't bring the supertraits' methods into scope.
pub mod prelude {
    pub use super::{
        AccountRows, ConfirmationRows, JournalRows, LotRows, OperationRows, OrderRows,
        ReminderRows, ReturnRows, Store, StoreTx, UnansweredRows,
    };
}

// The admin note check is part of the ledger's validation (`ledger::ops::checks`); the
// assistant checks a note before it asks for confirmation, under this name.
pub use super::ops::check_note;

use crate::error::Result;

/// Everything one transaction of a store can do: the per-concern row traits together.
/// Implemented for every type that implements them all.
pub trait StoreTx:
    AccountRows
    + LotRows
    + OrderRows
    + ReturnRows
    + JournalRows
    + OperationRows
    + ReminderRows
    + ConfirmationRows
    + UnansweredRows
{
}

impl<T> StoreTx for T where
    T: AccountRows
        + LotRows
        + OrderRows
        + ReturnRows
        + JournalRows
        + OperationRows
        + ReminderRows
        + ConfirmationRows
        + UnansweredRows
{
}

/// A store: runs a closure in one transaction over it.
///
/// The ledger calls it generically (monomorphised), never through a `dyn`, so a store's
/// transaction calls are direct calls on the hot paths.
pub trait Store: Send + Sync {
    /// One open transaction. Unsized for a store that picks its database when it opens
    /// (`AnyStore`: `dyn StoreTx`); a store with one database names its own type.
    type Tx<'t>: StoreTx + ?Sized;

    /// Runs `f` in one write transaction, committed when `f` succeeds and rolled back when
    /// it fails, isolated so that two writers never both act on the old state.
    ///
    /// A store may either serialise writers up front, running `f` once (SQLite:
    /// `BEGIN IMMEDIATE`), or let them run side by side and, when the database reports that
    /// one lost a conflict, roll it back and run `f` again in a fresh transaction
    /// (PostgreSQL: `SERIALIZABLE`, retried a bounded number of times). So `f` is `FnMut`
    /// and must have no effect outside the transaction it is given.
    fn write<T>(&self, f: impl FnMut(&mut Self::Tx<'_>) -> Result<T>) -> Result<T>;

    /// Runs `f` in one consistent read snapshot; `f` must not write.
    fn read<T>(&self, f: impl FnOnce(&mut Self::Tx<'_>) -> Result<T>) -> Result<T>;

    /// Answers when the database does (health checks).
    fn ping(&self) -> Result<()>;
}
