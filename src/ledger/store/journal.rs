//! The journal, as rows: writing one entry, and reading an account's entries back.

use crate::error::Result;
use crate::ledger::{Act, HistoryEntry, JournalKind, LotId};
use crate::money::Credits;
use chrono::{DateTime, Utc};

/// One journal entry before it is written (`ledger::ops` numbers the entries of a change).
pub struct Entry<'a> {
    pub kind: JournalKind,
    pub account_id: &'a str,
    pub reason: &'a str,
    pub member_id: Option<&'a str>,
    pub lot_id: Option<LotId>,
    pub amount: Credits,
    pub order_id: Option<i64>,
    pub allocation_id: Option<i64>,
    pub detail: Option<String>,
    /// When it took effect, if not when it is written.
    pub effective_at: Option<DateTime<Utc>>,
}

impl<'a> Entry<'a> {
    pub fn new(kind: JournalKind, account_id: &'a str, reason: &'a str) -> Self {
        Entry {
            kind,
            account_id,
            reason,
            member_id: None,
            lot_id: None,
            amount: Credits::ZERO,
            order_id: None,
            allocation_id: None,
            detail: None,
            effective_at: None,
        }
    }
    pub fn effective(mut self, at: DateTime<Utc>) -> Self {
        self.effective_at = Some(at);
        self
    }
    pub fn member(mut self, member_id: &'a str) -> Self {
        self.member_id = Some(member_id);
        self
    }
    pub fn lot(mut self, lot_id: LotId, amount: Credits) -> Self {
        self.lot_id = Some(lot_id);
        self.amount = amount;
        self
    }
    pub fn order(mut self, order_id: i64) -> Self {
        self.order_id = Some(order_id);
        self
    }
    pub fn allocation(mut self, allocation_id: i64) -> Self {
        self.allocation_id = Some(allocation_id);
        self
    }
    pub fn detail(mut self, detail: String) -> Self {
        self.detail = Some(detail);
        self
    }
}

pub trait JournalRows {
    /// Writes `entry` under `entry_key`, as part of the change `act` (its key, actor, time).
    fn insert_entry(&mut self, entry_key: &str, act: &Act, entry: &Entry) -> Result<()>;
    /// Whether an entry was written under this exact key.
    fn has_entry(&mut self, entry_key: &str) -> Result<bool>;
    /// How many entries an account has.
    fn entry_count(&mut self, account_id: &str) -> Result<u64>;
    /// An account's entries, newest first by when each took effect (then by id), skipping
    /// `offset` and at most `limit`; with the admin note on grants, revokes and expiry
    /// changes only when `with_notes`.
    fn entries(
        &mut self,
        account_id: &str,
        limit: u64,
        offset: u64,
        with_notes: bool,
    ) -> Result<Vec<HistoryEntry>>;
}
