//! Changes to grants: granting (one or a batch), revoking, changing an expiry, an admin's note on
//! a change, and the expiry sweep.

use super::accounts::require_open_account;
use super::checks::{check_note, check_optional_text, check_text, or_default};
use super::journal::{Journal, entry_key};
use super::lots::{insert_lot, lot, lot_receipt};
use super::{Ledger, keyed_in};
use crate::error::{Error, Field, Result, UserError};
use crate::ledger::store::Entry;
use crate::ledger::store::prelude::*;
use crate::ledger::{
    Act, Expiry, GrantRequest, IdempotencyKey, JournalKind, Lot, LotId, LotReceipt, SweepReport,
    whole_seconds,
};
use crate::money::Credits;
use chrono::{DateTime, Duration, Utc};

impl<S: Store> Ledger<S> {
    /// Grants a new lot of credits to an account.
    pub fn grant(&self, act: &Act, request: &GrantRequest) -> Result<Lot> {
        self.grant_with_receipt(act, request)
            .map(|receipt| receipt.lot)
    }

    /// Grants a new lot and tells what the account can spend right after, as the grant's
    /// own transaction saw it (an admin's reply says "their balance is now …" from this).
    pub fn grant_with_receipt(&self, act: &Act, request: &GrantRequest) -> Result<LotReceipt> {
        self.check_grant_request(request)?;
        self.keyed(
            "grant",
            act,
            request,
            UserError::IdempotencyConflict,
            |tx, journal| {
                let lot = self.write_grant(tx, journal, act, request)?;
                lot_receipt(tx, None, lot.id, act.now)
            },
        )
    }

    /// What a grant can be refused for without the database.
    fn check_grant_request(&self, request: &GrantRequest) -> Result<()> {
        self.currency().check_grant(request.amount)?;
        check_optional_text(Field::Reason, &request.reason)?;
        Ok(())
    }

    /// Writes a new lot and its journal entry. Runs after the key lookup, so that replaying a
    /// grant later never fails on an expiry date that was still ahead when it was made.
    fn write_grant(
        &self,
        tx: &mut (impl StoreTx + ?Sized),
        journal: &mut Journal,
        act: &Act,
        request: &GrantRequest,
    ) -> Result<Lot> {
        let expires_at = self.expiry_of(request.expiry, act.now)?;
        require_open_account(tx, request.account_id.as_str())?;
        self.check_dated(tx, act, request.account_id.as_str())?;
        let reason = or_default(&request.reason, request.source.as_str());
        let lot = insert_lot(
            tx,
            act,
            request.account_id.as_str(),
            request.amount,
            request.source,
            reason,
            expires_at,
            None,
        )?;
        journal.write(
            tx,
            Entry::new(JournalKind::Grant, request.account_id.as_str(), reason)
                .lot(lot.id, request.amount)
                .detail(expiry_text(expires_at)),
        )?;
        Ok(lot)
    }

    fn expiry_of(&self, expiry: Expiry, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>> {
        let at = match expiry {
            Expiry::Never => return Ok(None),
            Expiry::Default => match self.settings.default_expiry_days {
                Some(days) => now + Duration::days(i64::from(days)),
                None => return Ok(None),
            },
            Expiry::InDays(days) => now + Duration::days(i64::from(days)),
            Expiry::At(at) => whole_seconds(at),
        };
        if at <= now {
            return Err(UserError::DateInPast.into());
        }
        Ok(Some(at))
    }

    /// Revokes what is left of a lot.
    /// The receipt tells how much was taken back and what the account has left, as the
    /// revoke's own transaction saw it.
    pub fn revoke(&self, act: &Act, lot_id: LotId, reason: &str) -> Result<LotReceipt> {
        check_text(Field::Reason, reason)?;
        self.keyed(
            "revoke",
            act,
            &(lot_id, reason),
            UserError::IdempotencyConflict,
            |tx, journal| {
                let lot = lot(tx, lot_id)?;
                if !lot.remaining.is_positive() || !lot.is_live(act.now) {
                    return Err(UserError::GrantNothingLeft(lot_id.get()).into());
                }
                let delta = Credits::ZERO - lot.remaining;
                tx.change_remaining(lot_id, delta)?;
                // Remembered so that credit a later return brings back is revoked too.
                tx.mark_revoked(lot_id)?;
                journal.write(
                    tx,
                    Entry::new(JournalKind::Revoke, lot.account_id.as_str(), reason)
                        .lot(lot_id, delta),
                )?;
                lot_receipt(tx, Some(lot), lot_id, act.now)
            },
        )
    }

    /// Sets a lot's expiry (`None`: never expires).
    pub fn change_expiry(
        &self,
        act: &Act,
        lot_id: LotId,
        expires_at: Option<DateTime<Utc>>,
        reason: &str,
    ) -> Result<LotReceipt> {
        check_text(Field::Reason, reason)?;
        let expires_at = expires_at.map(whole_seconds);
        let request = (lot_id, expires_at, reason);
        self.keyed(
            "expiry_change",
            act,
            &request,
            UserError::IdempotencyConflict,
            |tx, journal| {
                if expires_at.is_some_and(|at| at <= act.now) {
                    return Err(UserError::DateInPast.into());
                }
                let before = lot(tx, lot_id)?;
                // Credit that has expired stays expired, swept or not: moving the date of an
                // expired lot must not bring it back (an admin grants anew for that).
                if !before.is_live(act.now) && before.remaining.is_positive() {
                    let delta = Credits::ZERO - before.remaining;
                    tx.change_remaining(lot_id, delta)?;
                    journal.write(
                        tx,
                        Entry::new(JournalKind::Expire, before.account_id.as_str(), "expired")
                            .lot(lot_id, delta),
                    )?;
                }
                tx.set_expiry(lot_id, expires_at)?;
                journal.write(
                    tx,
                    Entry::new(
                        JournalKind::ExpiryChange,
                        before.account_id.as_str(),
                        reason,
                    )
                    .lot(lot_id, Credits::ZERO)
                    .detail(format!(
                        "{} -> {}",
                        expiry_text(before.expires_at),
                        expiry_text(expires_at)
                    )),
                )?;
                lot_receipt(tx, Some(before), lot_id, act.now)
            },
        )
    }

    /// Attaches an admin-only note to the change carried out under `act.key` (a grant, a
    /// revoke, an expiry change). Kept out of the journal's `reason`, which the member reads:
    /// only `admin_history` shows notes. Its own key is the change's key + `:note`, so a
    /// retried request writes it once; a retry after a failure in between completes it.
    pub fn add_note(&self, act: &Act, note: &str) -> Result<()> {
        check_note(note)?;
        let note_act = Act {
            key: IdempotencyKey::note(&act.key).into(),
            ..act.clone()
        };
        self.keyed(
            "note",
            &note_act,
            &(&act.key, note),
            UserError::IdempotencyConflict,
            |tx, _journal| {
                if !tx.has_operation(&act.key)? {
                    return Err(Error::internal(
                        "writing an admin note",
                        format!("no change was made under the key {}", act.key),
                    ));
                }
                tx.insert_admin_note(&act.key, note.trim(), &act.actor, act.now)
            },
        )
    }

    /// Writes an explicit expiry entry for every lot that has expired at `now` with something
    /// left. Safe to run any number of times, from any number of places.
    pub fn sweep_expired(&self, actor: &str, now: DateTime<Utc>) -> Result<SweepReport> {
        let now = whole_seconds(now);
        self.store.write(|tx| {
            let due = tx.expired_lots(now)?;
            let mut report = SweepReport::default();
            for expired in due {
                let key = sweep_key(tx, expired.lot_id, expired.expires_at)?;
                let act = Act::new(actor, now, key);
                let delta = Credits::ZERO - expired.remaining;
                tx.change_remaining(expired.lot_id, delta)?;
                Journal::new(&act).write(
                    tx,
                    Entry::new(JournalKind::Expire, expired.account_id.as_str(), "expired")
                        .lot(expired.lot_id, delta)
                        .effective(expired.expires_at),
                )?;
                report.lots += 1;
                report.amount += expired.remaining;
            }
            Ok(report)
        })
    }

    /// Grants many lots in one transaction (a bulk import): `items` are (idempotency key,
    /// request) pairs, each handled exactly as `grant` with that key would handle it, so a
    /// key seen before (in an earlier call, a `grant`, or earlier in this batch) returns its
    /// first lot and a key reused with another request is refused. All or nothing: any refused
    /// item refuses the whole batch and nothing is written. One `Lot` per item, in order.
    pub fn grant_batch(
        &self,
        actor: &str,
        now: DateTime<Utc>,
        items: &[(String, GrantRequest)],
    ) -> Result<Vec<Lot>> {
        for (_, request) in items {
            self.check_grant_request(request)?;
        }
        self.store.write(|tx| {
            let mut lots = Vec::with_capacity(items.len());
            for (key, request) in items {
                let act = Act::new(actor, now, key.as_str());
                lots.push(keyed_in(
                    tx,
                    "grant",
                    &act,
                    request,
                    UserError::IdempotencyConflict,
                    |tx, journal| self.write_grant(tx, journal, &act, request),
                )?);
            }
            Ok(lots)
        })
    }
}

/// The key of a sweep's expiry entry for a lot: `sweep:{lot}:{expires_at}`, then `…:2`, `…:3`
/// for each later time the same lot expires at the same instant. A lot can be refilled after
/// it was swept — by a return dated before its expiry, or after a sweep run with a later
/// `now` — and must then expire again; the sweep holds the write lock, so the first free
/// number is safe to take.
fn sweep_key(
    tx: &mut (impl StoreTx + ?Sized),
    lot_id: LotId,
    expires_at: DateTime<Utc>,
) -> Result<String> {
    let mut round = 1;
    loop {
        let key = IdempotencyKey::sweep(lot_id, expires_at.timestamp(), round);
        if !tx.has_entry(&entry_key(key.as_str(), 0))? {
            return Ok(key.into());
        }
        round += 1;
    }
}

fn expiry_text(expires_at: Option<DateTime<Utc>>) -> String {
    expires_at.map_or_else(
        || "never".to_string(),
        |at| at.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
    )
}
