//! Read-only questions about lots and balances: what an account can spend, its lots, a lot by
//! number, how much of a lot expired. Nothing here writes.

use super::Ledger;
use super::accounts::require_account;
use super::lots::lot;
use crate::error::Result;
use crate::ledger::rules;
use crate::ledger::store::prelude::*;

use crate::ledger::{AccountId, Balance, Lot, LotId, TransferAnswer, whole_seconds};
use crate::money::Credits;
use chrono::{DateTime, Utc};

impl<S: Store> Ledger<S> {
    /// What an account can spend at `now`, with its live lots in spending order.
    pub fn balance(&self, account_id: &AccountId, now: DateTime<Utc>) -> Result<Balance> {
        self.store
            .read(|tx| balance_in(tx, account_id.as_str(), whole_seconds(now)))
    }

    /// Every lot of an account, spent, expired and revoked ones too, newest first.
    pub fn lots(&self, account_id: &AccountId) -> Result<Vec<Lot>> {
        let account_id = account_id.as_str();
        self.store.read(|tx| {
            require_account(tx, account_id)?;
            tx.lots_of(account_id)
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
        self.store.read(|tx| {
            let mut found = Vec::new();
            for (low, high) in rules::numbers_starting_with(digits) {
                let wanted = limit.saturating_sub(found.len());
                if wanted == 0 {
                    break;
                }
                found.extend(tx.live_lots_numbered(low, high, now, wanted)?);
            }
            Ok(found)
        })
    }

    pub fn lot(&self, lot_id: LotId) -> Result<Lot> {
        self.store.read(|tx| lot(tx, lot_id))
    }

    /// How much of a lot has expired over its life: its expiry entries (a sweep's, one
    /// written when an expired lot's date changed, or a return's under the `expire` policy).
    pub fn expired_from_lot(&self, lot: &Lot) -> Result<Credits> {
        self.store
            .read(|tx| tx.expired_from_lot(lot.account_id.as_str(), lot.id))
    }

    /// Credits are never transferable; the answer carries the balance that stays put.
    pub fn transfer_check(
        &self,
        account_id: &AccountId,
        now: DateTime<Utc>,
    ) -> Result<TransferAnswer> {
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
        account_id: &AccountId,
        amount: Credits,
        reason: &str,
        since: DateTime<Utc>,
    ) -> Result<Option<Lot>> {
        self.store
            .read(|tx| tx.latest_lot_like(account_id.as_str(), amount, reason.trim(), since))
    }
}

/// What an account can spend at `now`, read inside the caller's transaction (a write's
/// receipt reads it before committing, so no other write can come between).
pub(super) fn balance_in(
    tx: &mut (impl StoreTx + ?Sized),
    account_id: &str,
    now: DateTime<Utc>,
) -> Result<Balance> {
    require_account(tx, account_id)?;
    let mut lots: Vec<Lot> = tx.live_lots(account_id, now)?;
    lots.sort_by_key(|l| rules::spending_key(l.expires_at, l.granted_at, l.id));
    Ok(Balance {
        account_id: AccountId::new(account_id),
        available: lots.iter().map(|l| l.remaining).sum(),
        lots,
    })
}
