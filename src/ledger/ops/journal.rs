//! The journal: writing a keyed change's entries (`Journal`, `Entry`) and reading an account's
//! history back, with the expiry lines no sweep has written yet.

use super::accounts::require_account;
use super::{Ledger, at, ts};
use crate::error::Result;
use crate::ledger::{Act, HistoryEntry, HistoryPage, JournalKind, LotId, whole_seconds};
use crate::money::Credits;
use chrono::{DateTime, Utc};
use rusqlite::{Transaction, params};

impl Ledger {
    /// An account's journal, newest first by when each entry took effect (a sweep's expiry
    /// entry at the grant's expiry), as its member reads it (no admin notes); `page` is
    /// 1-based. Only what is written: see [`Ledger::history_at`] for the history a member reads.
    pub fn history(&self, account_id: &str, page: u32, per_page: u32) -> Result<HistoryPage> {
        self.history_page(account_id, None, page, per_page, false)
    }

    /// An account's history as of `now`: the journal, and an expiry line for every grant
    /// that has expired with credit on it that no sweep has written yet, dated at the
    /// grant's expiry, so history shows expiry as it happens whether or not a sweep ran.
    pub fn history_at(
        &self,
        account_id: &str,
        now: DateTime<Utc>,
        page: u32,
        per_page: u32,
    ) -> Result<HistoryPage> {
        self.history_page(account_id, Some(whole_seconds(now)), page, per_page, false)
    }

    /// [`Ledger::history_at`] as admins read it: with the notes they wrote on each change.
    pub fn admin_history_at(
        &self,
        account_id: &str,
        now: DateTime<Utc>,
        page: u32,
        per_page: u32,
    ) -> Result<HistoryPage> {
        self.history_page(account_id, Some(whole_seconds(now)), page, per_page, true)
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
        self.read(|tx| {
            require_account(tx, account_id)?;
            let written: u64 = tx.query_row(
                "SELECT count(*) FROM journal WHERE account_id = ?1",
                [account_id],
                |r| r.get(0),
            )?;
            // Expired, unswept credit: what a sweep at `now` would write, dated at expiry.
            let mut pending: Vec<HistoryEntry> = match now {
                None => Vec::new(),
                Some(now) => tx
                    .prepare_cached(
                        "SELECT id, remaining, expires_at FROM lots
                         WHERE account_id = ?1 AND remaining > 0 AND expires_at IS NOT NULL
                           AND expires_at <= ?2 AND revoked = 0",
                    )?
                    .query_map(params![account_id, ts(now)], |r| {
                        Ok(HistoryEntry {
                            id: 0,
                            kind: JournalKind::Expire,
                            amount: Credits::from_minor(-r.get::<_, i64>(1)?),
                            lot_id: Some(r.get(0)?),
                            order_external_id: None,
                            detail: None,
                            actor: "expiry".into(),
                            reason: "expired".into(),
                            at: at(r.get(2)?),
                            recorded_at: None,
                            note: None,
                        })
                    })?
                    .collect::<rusqlite::Result<_>>()?,
            };
            let total = written + pending.len() as u64;
            let offset = u64::from(page - 1) * u64::from(per_page);
            // The pending lines are few (a grant's at most once), so the page is cut from the
            // newest `offset + per_page` written entries merged with them.
            let wanted = offset + u64::from(per_page);
            let mut stmt = tx.prepare_cached(
                "SELECT j.id, j.kind, j.amount, j.lot_id, o.external_id, j.detail, j.actor, j.reason,
                        coalesce(j.effective_at, j.at), j.at,
                        CASE WHEN ?4 AND j.kind IN ('grant', 'revoke', 'expiry_change')
                             THEN (SELECT n.note FROM admin_notes n WHERE n.op_key = j.op_key) END
                 FROM journal j LEFT JOIN orders o ON o.id = j.order_id
                 WHERE j.account_id = ?1 ORDER BY coalesce(j.effective_at, j.at) DESC, j.id DESC
                 LIMIT ?2 OFFSET ?3",
            )?;
            // Without pending lines, only the page itself is read.
            let (limit, skip) = if pending.is_empty() {
                (u64::from(per_page), offset)
            } else {
                (wanted, 0)
            };
            let mut entries: Vec<HistoryEntry> = stmt
                .query_map(
                    params![account_id, limit as i64, skip as i64, with_notes],
                    |r| {
                        Ok(HistoryEntry {
                            id: r.get(0)?,
                            kind: r.get(1)?,
                            amount: Credits::from_minor(r.get(2)?),
                            lot_id: r.get(3)?,
                            order_external_id: r.get(4)?,
                            detail: r.get(5)?,
                            actor: r.get(6)?,
                            reason: r.get(7)?,
                            at: at(r.get(8)?),
                            recorded_at: Some(at(r.get(9)?)),
                            note: r.get(10)?,
                        })
                    },
                )?
                .collect::<rusqlite::Result<_>>()?;
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

/// One journal entry before it is written.
pub(super) struct Entry<'a> {
    kind: JournalKind,
    account_id: &'a str,
    reason: &'a str,
    member_id: Option<&'a str>,
    lot_id: Option<LotId>,
    amount: Credits,
    order_id: Option<i64>,
    allocation_id: Option<i64>,
    detail: Option<String>,
    /// When it took effect, if not when it is written.
    effective_at: Option<DateTime<Utc>>,
}

impl<'a> Entry<'a> {
    pub(super) fn new(kind: JournalKind, account_id: &'a str, reason: &'a str) -> Self {
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
    pub(super) fn effective(mut self, at: DateTime<Utc>) -> Self {
        self.effective_at = Some(at);
        self
    }
    pub(super) fn member(mut self, member_id: &'a str) -> Self {
        self.member_id = Some(member_id);
        self
    }
    pub(super) fn lot(mut self, lot_id: LotId, amount: Credits) -> Self {
        self.lot_id = Some(lot_id);
        self.amount = amount;
        self
    }
    pub(super) fn order(mut self, order_id: i64) -> Self {
        self.order_id = Some(order_id);
        self
    }
    pub(super) fn allocation(mut self, allocation_id: i64) -> Self {
        self.allocation_id = Some(allocation_id);
        self
    }
    pub(super) fn detail(mut self, detail: String) -> Self {
        self.detail = Some(detail);
        self
    }
}

impl<'a> Journal<'a> {
    pub(super) fn new(act: &'a Act) -> Self {
        Journal { act, next: 0 }
    }

    pub(super) fn write(&mut self, tx: &Transaction, entry: Entry) -> Result<()> {
        let entry_key = format!("{}#{}", self.act.key, self.next);
        self.next += 1;
        tx.prepare_cached(
            "INSERT INTO journal (entry_key, op_key, kind, account_id, member_id, lot_id, order_id, allocation_id, amount, detail, actor, reason, at, effective_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
        )?
        .execute(params![
            entry_key,
            self.act.key,
            entry.kind.as_str(),
            entry.account_id,
            entry.member_id,
            entry.lot_id,
            entry.order_id,
            entry.allocation_id,
            entry.amount.minor(),
            entry.detail,
            self.act.actor,
            entry.reason,
            ts(self.act.now),
            entry.effective_at.map(ts)
        ])?;
        Ok(())
    }
}

/// A kind as the journal stores it; a name this binary doesn't know is a corrupt row, not a
/// kind to show as text.
impl rusqlite::types::FromSql for JournalKind {
    fn column_result(value: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
        let text = value.as_str()?;
        JournalKind::parse(text).ok_or_else(|| {
            rusqlite::types::FromSqlError::Other(format!("unknown journal kind {text:?}").into())
        })
    }
}
