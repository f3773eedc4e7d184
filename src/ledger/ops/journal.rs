//! The journal: numbering a keyed change's entries (`Journal`) and reading an account's
//! history back, with the expiry lines no sweep has written yet.

use super::Ledger;
use super::accounts::require_account;
use crate::error::Result;
use crate::ledger::store::Entry;
use crate::ledger::store::prelude::*;
use crate::ledger::{AccountId, Act, HistoryEntry, HistoryPage, JournalKind, whole_seconds};
use crate::money::Credits;
use chrono::{DateTime, Utc};

impl<S: Store> Ledger<S> {
    /// An account's journal, newest first by when each entry took effect (a sweep's expiry
    /// entry at the grant's expiry), as its member reads it (no admin notes); `page` is
    /// 1-based. Only what is written: see [`Ledger::history_at`] for the history a member reads.
    pub fn history(&self, account_id: &AccountId, page: u32, per_page: u32) -> Result<HistoryPage> {
        self.history_page(account_id.as_str(), None, page, per_page, false)
    }

    /// An account's history as of `now`: the journal, and an expiry line for every grant
    /// that has expired with credit on it that no sweep has written yet, dated at the
    /// grant's expiry, so history shows expiry as it happens whether or not a sweep ran.
    pub fn history_at(
        &self,
        account_id: &AccountId,
        now: DateTime<Utc>,
        page: u32,
        per_page: u32,
    ) -> Result<HistoryPage> {
        self.history_page(
            account_id.as_str(),
            Some(whole_seconds(now)),
            page,
            per_page,
            false,
        )
    }

    /// [`Ledger::history_at`] as admins read it: with the notes they wrote on each change.
    pub fn admin_history_at(
        &self,
        account_id: &AccountId,
        now: DateTime<Utc>,
        page: u32,
        per_page: u32,
    ) -> Result<HistoryPage> {
        self.history_page(
            account_id.as_str(),
            Some(whole_seconds(now)),
            page,
            per_page,
            true,
        )
    }

    /// `now` adds the expiry lines not swept yet. The notes are read only when `with_notes`
    /// is set, so the member's history can't carry one whatever the caller does with it.
    fn history_page(
        &self,
        account_id: &str,
        now: Option<DateTime<Utc>>,
        page: u32,
        per_page: u32,
        with_notes: bool,
    ) -> Result<HistoryPage> {
        let per_page = per_page.clamp(1, 100);
        let page = page.max(1);
        self.store.read(|tx| {
            require_account(tx, account_id)?;
            let written = tx.entry_count(account_id)?;
            // Expired, unswept credit: what a sweep at `now` would write, dated at expiry.
            let mut pending: Vec<HistoryEntry> = match now {
                None => Vec::new(),
                Some(now) => tx
                    .expired_lots_of(account_id, now)?
                    .into_iter()
                    .map(|lot| HistoryEntry {
                        id: 0,
                        kind: JournalKind::Expire,
                        amount: Credits::ZERO - lot.remaining,
                        lot_id: Some(lot.lot_id),
                        order_external_id: None,
                        detail: None,
                        actor: "expiry".into(),
                        reason: "expired".into(),
                        at: lot.expires_at,
                        recorded_at: None,
                        note: None,
                    })
                    .collect(),
            };
            let total = written + pending.len() as u64;
            let offset = u64::from(page - 1) * u64::from(per_page);
            // The pending lines are few (a grant's at most once), so the page is cut from the
            // newest `offset + per_page` written entries merged with them.
            let wanted = offset + u64::from(per_page);
            // Without pending lines, only the page itself is read.
            let (limit, skip) = if pending.is_empty() {
                (u64::from(per_page), offset)
            } else {
                (wanted, 0)
            };
            let mut entries = tx.entries(account_id, limit, skip, with_notes)?;
            if !pending.is_empty() {
                entries.append(&mut pending);
                // Newest first; a pending line (not written yet) above entries of its instant.
                entries.sort_by(|a, b| {
                    b.at.cmp(&a.at)
                        .then_with(|| a.recorded_at.is_some().cmp(&b.recorded_at.is_some()))
                        .then_with(|| b.id.cmp(&a.id))
                });
                entries = entries
                    .into_iter()
                    .skip(offset as usize)
                    .take(per_page as usize)
                    .collect();
            }
            Ok(HistoryPage {
                entries,
                page,
                pages: total.div_ceil(u64::from(per_page)).max(1) as u32,
                total_entries: total,
            })
        })
    }
}

/// Writes the entries of one keyed change, numbering them `key#0`, `key#1`, …
pub(super) struct Journal<'a> {
    pub(super) act: &'a Act,
    next: usize,
}

impl<'a> Journal<'a> {
    pub(super) fn new(act: &'a Act) -> Self {
        Journal { act, next: 0 }
    }

    pub(super) fn write(&mut self, tx: &mut (impl StoreTx + ?Sized), entry: Entry) -> Result<()> {
        let entry_key = entry_key(&self.act.key, self.next);
        self.next += 1;
        tx.insert_entry(&entry_key, self.act, &entry)
    }
}

/// The key of entry number `n` of the change made under `op_key`.
pub(super) fn entry_key(op_key: &str, n: usize) -> String {
    format!("{op_key}#{n}")
}
