//! Read-only questions about lots and balances: what an account can spend, its lots, a lot by
//! number, how much of a lot expired. Nothing here writes.

use super::accounts::require_account;
use super::lots::{LOT_COLUMNS, lot, lot_from_row};
use super::{Ledger, ts};
use crate::error::Result;
use crate::ledger::rules;
use crate::ledger::{Balance, Lot, LotId, TransferAnswer, whole_seconds};
use crate::money::Credits;
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Transaction, params};

impl Ledger {
    /// What an account can spend at `now`, with its live lots in spending order.
    pub fn balance(&self, account_id: &str, now: DateTime<Utc>) -> Result<Balance> {
        self.read(|tx| balance_in(tx, account_id, whole_seconds(now)))
    }

    /// Every lot of an account, spent, expired and revoked ones too, newest first.
    pub fn lots(&self, account_id: &str) -> Result<Vec<Lot>> {
        self.read(|tx| {
            require_account(tx, account_id)?;
            let mut stmt = tx.prepare_cached(&format!(
                "SELECT {LOT_COLUMNS} FROM lots l WHERE l.account_id = ?1 ORDER BY l.id DESC"
            ))?;
            Ok(stmt
                .query_map([account_id], lot_from_row)?
                .collect::<rusqlite::Result<_>>()?)
        })
    }

    /// Live lots of any account whose number starts with `digits`, newest first, at most
    /// `limit` (admins' grant suggestions). Each candidate range is a rowid range scan.
    pub fn live_lots_numbered(
        &self,
        digits: &str,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Lot>> {
        let now = whole_seconds(now);
        self.read(|tx| {
            let mut stmt = tx.prepare_cached(&format!(
                "SELECT {LOT_COLUMNS} FROM lots l WHERE l.id BETWEEN ?1 AND ?2 AND l.remaining > 0
                 AND (l.expires_at IS NULL OR l.expires_at > ?3) AND l.granted_at <= ?3
                 ORDER BY l.id DESC LIMIT ?4"
            ))?;
            let mut found = Vec::new();
            for (low, high) in rules::numbers_starting_with(digits) {
                let wanted = limit.saturating_sub(found.len());
                if wanted == 0 {
                    break;
                }
                let lots =
                    stmt.query_map(params![low, high, ts(now), wanted as i64], lot_from_row)?;
                for lot in lots {
                    found.push(lot?);
                }
            }
            Ok(found)
        })
    }

    pub fn lot(&self, lot_id: LotId) -> Result<Lot> {
        self.read(|tx| lot(tx, lot_id))
    }

    /// How much of a lot has expired over its life: its expiry entries (a sweep's, one
    /// written when an expired lot's date changed, or a return's under the `expire` policy).
    pub fn expired_from_lot(&self, lot: &Lot) -> Result<Credits> {
        self.read(|tx| {
            // By account first: `journal_by_account` narrows it to that account's entries.
            let sum: i64 = tx
                .prepare_cached(
                    "SELECT coalesce(-sum(amount), 0) FROM journal
                     WHERE account_id = ?1 AND lot_id = ?2 AND kind = 'expire'",
                )?
                .query_row(params![lot.account_id, lot.id], |r| r.get(0))?;
            Ok(Credits::from_minor(sum))
        })
    }

    /// Credits are never transferable; the answer carries the balance that stays put.
    pub fn transfer_check(&self, account_id: &str, now: DateTime<Utc>) -> Result<TransferAnswer> {
        let balance = self.balance(account_id, now)?;
        Ok(TransferAnswer {
            transferable: false,
            account_id: balance.account_id,
            available: balance.available,
        })
    }

    /// The latest grant to an account of `amount` for `reason` made after `since`, if any
    /// (a repeated grant is confirmed first).
    pub fn recent_grant_like(
        &self,
        account_id: &str,
        amount: Credits,
        reason: &str,
        since: DateTime<Utc>,
    ) -> Result<Option<Lot>> {
        self.read(|tx| {
            Ok(tx
                .prepare_cached(&format!(
                    "SELECT {LOT_COLUMNS} FROM lots l WHERE l.account_id = ?1 AND l.amount = ?2
                     AND l.reason = ?3 AND l.granted_at > ?4 ORDER BY l.id DESC LIMIT 1"
                ))?
                .query_row(
                    params![account_id, amount.minor(), reason.trim(), ts(since)],
                    lot_from_row,
                )
                .optional()?)
        })
    }
}

/// What an account can spend at `now`, read inside the caller's transaction (a write's
/// receipt reads it before committing, so no other write can come between).
pub(super) fn balance_in(
    tx: &Transaction,
    account_id: &str,
    now: DateTime<Utc>,
) -> Result<Balance> {
    require_account(tx, account_id)?;
    let mut stmt = tx.prepare_cached(&format!(
        "SELECT {LOT_COLUMNS} FROM lots l WHERE l.account_id = ?1 AND l.remaining > 0
         AND (l.expires_at IS NULL OR l.expires_at > ?2) AND l.granted_at <= ?2"
    ))?;
    let mut lots: Vec<Lot> = stmt
        .query_map(params![account_id, ts(now)], lot_from_row)?
        .collect::<rusqlite::Result<_>>()?;
    lots.sort_by_key(|l| rules::spending_key(l.expires_at, l.granted_at, l.id));
    Ok(Balance {
        account_id: account_id.to_string(),
        available: lots.iter().map(|l| l.remaining).sum(),
        lots,
    })
}
