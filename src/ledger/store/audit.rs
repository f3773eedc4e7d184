//! Whole-ledger checks that prove invariants (money conservation, one account per entry, a
//! refused request changed nothing), for tests and benches: each store answers them with
//! its own queries, so the same test proves them on either store.

use crate::error::Result;
use crate::ledger::store::Store;
use crate::ledger::{Ledger, LotId};
use crate::money::Credits;
use sha2::{Digest, Sha256};

/// A store's content checksum: over each table, by name, its rows as lines in any order
/// (sorted here: some tables have no row id, and ids may have gaps).
#[derive(Default)]
pub struct Checksum(Sha256);

impl Checksum {
    /// Adds the table `name` and its rows; call in order of name.
    pub fn table(&mut self, name: &str, mut rows: Vec<String>) {
        self.0.update(name.as_bytes());
        rows.sort();
        for row in rows {
            self.0.update(row.as_bytes());
            self.0.update(b"\n");
        }
    }

    pub fn finish(self) -> String {
        hex::encode(self.0.finalize())
    }
}

/// The audit queries of a store.
pub trait Audit {
    /// A checksum over every row of every table, to prove a refused request changed nothing.
    fn content_checksum(&self) -> Result<String>;
    /// Journal totals by kind over the whole ledger, ordered by kind.
    fn journal_totals(&self) -> Result<Vec<(String, Credits)>>;
    /// For each lot, by id: its remaining and the sum of its journal entries (they must agree).
    fn lot_journal_sums(&self) -> Result<Vec<(LotId, Credits, Credits)>>;
    /// Journal entries whose lot belongs to another account than the entry: always none.
    fn entries_touching_two_accounts(&self) -> Result<u64>;
}

/// The audits, on the ledger itself (tests call them there).
impl<S: Store + Audit> Ledger<S> {
    pub fn content_checksum(&self) -> Result<String> {
        self.store().content_checksum()
    }

    pub fn journal_totals(&self) -> Result<Vec<(String, Credits)>> {
        self.store().journal_totals()
    }

    pub fn lot_journal_sums(&self) -> Result<Vec<(LotId, Credits, Credits)>> {
        self.store().lot_journal_sums()
    }

    pub fn entries_touching_two_accounts(&self) -> Result<u64> {
        self.store().entries_touching_two_accounts()
    }
}
