//! The ledger's SQLite store: every SQL statement of the ledger lives here.
//!
//! How connections are held: a `Ledger` owns a small pool of connections to one database
//! file. A call takes a connection from the pool (opening one if none is free), uses it, and
//! puts it back, so any number of threads may call the same `Ledger` at once. Every
//! check-then-write runs in one `BEGIN IMMEDIATE` transaction, which takes SQLite's write lock
//! before the first read: two writers never both see the old state, in this process or in
//! another (a second process waits up to the busy timeout). Writers of one process also take
//! turns on a mutex first, so they queue in order instead of in SQLite's sleeping busy handler.
//! Reads run in a deferred transaction, so each sees one consistent snapshot (WAL lets them
//! run beside the writer).
//! rusqlite types stay inside this module; callers see `crate::error::Error`.

pub mod reminders;

use chrono::{DateTime, Duration, TimeZone, Utc};
use rusqlite::{Connection, OptionalExtension, Row, Transaction, TransactionBehavior, params};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::rules::{self, LineToPay, ReturnedCredit, SpendableLot, SpentAllocation};
use super::{
    Account, Act, Allocation, Balance, Confirmation, CreditChoice, ExpiredLotPolicy, Expiry,
    GrantRequest, HistoryEntry, HistoryPage, IssuedLinkCode, ItemBreakdown, ItemKind,
    LedgerSettings, Link, Lot, LotId, LotReceipt, LotShare, OrderBreakdown, OrderReceipt,
    OrderRequest, OrderSummary, ReturnReceipt, ReturnRequest, ReturnScope, ReturnedItem, Source,
    SweepReport, TransferAnswer, When, whole_seconds,
};
use crate::config::DatabaseConfig;
use crate::db;
use crate::error::{Error, Result, UserError};
use crate::money::{Credits, Currency};

/// The longest id, SKU, title, reason or method name the ledger stores.
const MAX_TEXT: usize = 200;

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        Error::internal("using the database", e)
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::internal("encoding a ledger result", e)
    }
}

/// The credit ledger over one SQLite file. Cheap to share: wrap it in an `Arc`.
pub struct Ledger {
    path: PathBuf,
    db_config: DatabaseConfig,
    settings: LedgerSettings,
    pool: Mutex<Vec<Connection>>,
    /// Held around every write transaction of this process (see `write`). Fair, so writers
    /// are served in the order they came and none waits behind a stream of newcomers.
    writer: parking_lot::FairMutex<()>,
}

impl Ledger {
    /// Opens (creating and migrating if needed) the ledger at `path`.
    pub fn open(path: &Path, db_config: &DatabaseConfig, settings: LedgerSettings) -> Result<Self> {
        let first = db::open(path, db_config)
            .map_err(|e| Error::internal(format!("opening {}", path.display()), e))?;
        Ok(Ledger {
            path: path.to_path_buf(),
            db_config: db_config.clone(),
            settings,
            pool: Mutex::new(vec![first]),
            writer: parking_lot::FairMutex::new(()),
        })
    }

    pub fn settings(&self) -> &LedgerSettings {
        &self.settings
    }

    pub fn currency(&self) -> &Currency {
        &self.settings.currency
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn with_conn<T>(&self, f: impl FnOnce(&mut Connection) -> Result<T>) -> Result<T> {
        let pooled = self.pool.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let mut conn = match pooled {
            Some(conn) => conn,
            None => db::open_connection(&self.path, &self.db_config)?,
        };
        let result = f(&mut conn);
        self.pool
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(conn);
        result
    }

    /// Runs `f` in one `BEGIN IMMEDIATE` transaction, committed when `f` succeeds.
    ///
    /// Writers of this process take turns on `writer` before asking SQLite for its lock:
    /// SQLite's busy handler waits by sleeping (up to 100 ms a time), so many threads
    /// contending for the lock inside SQLite make a long tail of slow writes; a mutex hands
    /// the turn over at once. Other processes still meet at SQLite's lock and the busy timeout.
    fn write<T>(&self, f: impl FnOnce(&Transaction) -> Result<T>) -> Result<T> {
        let _turn = self.writer.lock();
        self.with_conn(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let out = f(&tx)?;
            tx.commit()?;
            Ok(out)
        })
    }

    /// Runs `f` in one consistent read snapshot.
    fn read<T>(&self, f: impl FnOnce(&Transaction) -> Result<T>) -> Result<T> {
        self.with_conn(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
            let out = f(&tx)?;
            tx.commit()?;
            Ok(out)
        })
    }

    /// Runs a keyed change: one `BEGIN IMMEDIATE` transaction that first looks the key up.
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
        f: impl FnOnce(&Transaction, &mut Journal) -> Result<Res>,
    ) -> Result<Res>
    where
        Req: Serialize,
        Res: Serialize + DeserializeOwned,
    {
        self.write(|tx| keyed_in(tx, kind, act, request, conflict, f))
    }

    // ----- accounts and links -------------------------------------------------------------

    /// Creates an account, or returns it if it exists already.
    pub fn open_account(&self, act: &Act, account_id: &str, display_name: &str) -> Result<Account> {
        check_id("The account id", account_id)?;
        check_optional_text("The display name", display_name)?;
        let request = (account_id, display_name);
        self.keyed(
            "open_account",
            act,
            &request,
            UserError::IdempotencyConflict,
            |tx, journal| ensure_account(tx, journal, account_id, display_name),
        )
    }

    /// Closes an account: it keeps its history, but can no longer receive or spend credits.
    pub fn close_account(&self, act: &Act, account_id: &str, reason: &str) -> Result<Account> {
        check_text("The reason", reason)?;
        self.keyed(
            "close",
            act,
            &(account_id, reason),
            UserError::IdempotencyConflict,
            |tx, journal| {
                if account(tx, account_id)?.closed {
                    return Err(UserError::AccountClosed(account_id.to_string()).into());
                }
                tx.execute("UPDATE accounts SET closed = 1 WHERE id = ?1", [account_id])?;
                journal.write(tx, Entry::new("close", account_id, reason))?;
                account(tx, account_id)
            },
        )
    }

    /// Links a member to an account, created if it does not exist yet (setup, the demo and
    /// imports, which name accounts the shop already has). Admins in chat use
    /// `link_member_to`, which creates one only when asked to.
    pub fn link_member(&self, act: &Act, member_id: &str, account_id: &str) -> Result<Link> {
        self.link_member_to(act, member_id, account_id, true)
    }

    /// Links a member to an account. Without `create`, an account that doesn't exist is
    /// refused (`UnknownAccount`), so a typing slip never opens a new, empty account.
    pub fn link_member_to(
        &self,
        act: &Act,
        member_id: &str,
        account_id: &str,
        create: bool,
    ) -> Result<Link> {
        check_id("The member", member_id)?;
        check_id("The account id", account_id)?;
        let request = (member_id, account_id);
        self.keyed(
            "link",
            act,
            &request,
            UserError::IdempotencyConflict,
            |tx, journal| {
                if create {
                    ensure_account(tx, journal, account_id, account_id)?;
                }
                link(
                    tx,
                    journal,
                    member_id,
                    account_id,
                    "linked by an admin",
                    false,
                )
            },
        )
    }

    /// Drops a member's link. The account and its credits stay.
    pub fn unlink_member(&self, act: &Act, member_id: &str, reason: &str) -> Result<Link> {
        check_id("The member", member_id)?;
        check_optional_text("The reason", reason)?;
        let request = (member_id, reason);
        self.keyed(
            "unlink",
            act,
            &request,
            UserError::IdempotencyConflict,
            |tx, journal| {
                let link = member_link(tx, member_id)?.ok_or(UserError::MemberNotLinked)?;
                tx.execute("DELETE FROM links WHERE member_id = ?1", [member_id])?;
                journal.write(
                    tx,
                    Entry::new("unlink", &link.account_id, or_default(reason, "unlinked"))
                        .member(member_id),
                )?;
                Ok(link)
            },
        )
    }

    /// Issues a single-use link code for an account; only its hash is stored.
    pub fn issue_link_code(&self, act: &Act, account_id: &str) -> Result<IssuedLinkCode> {
        let code = new_link_code()?;
        let expires_at = act.now + Duration::hours(i64::from(self.settings.link_code_ttl_hours));
        // The plain code is never stored, so a replay can't return it: it is refused instead.
        let issued: String = self.keyed(
            "link_code",
            act,
            &account_id,
            UserError::IdempotencyConflict,
            |tx, journal| {
                require_open_account(tx, account_id)?;
                // Whoever redeems a code sees the account's history: while a member holds
                // the account, a code would hand it to someone else once they unlink.
                if account_holder(tx, account_id)?.is_some() {
                    return Err(UserError::CodeForLinkedAccount(account_id.to_string()).into());
                }
                tx.execute(
                    "INSERT INTO link_codes (code_hash, account_id, created_at, created_by, expires_at)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![hash_link_code(&code), account_id, ts(act.now), act.actor, ts(expires_at)],
                )?;
                journal.write(tx, Entry::new("link_code", account_id, "link code issued"))?;
                Ok(hash_link_code(&code))
            },
        )?;
        if issued != hash_link_code(&code) {
            return Err(UserError::LinkCodeAlreadyIssued.into());
        }
        Ok(IssuedLinkCode {
            code,
            account_id: account_id.to_string(),
            expires_at,
        })
    }

    /// A member redeems a link code: it links them to the code's account and is used up.
    pub fn redeem_link_code(&self, act: &Act, member_id: &str, code: &str) -> Result<Link> {
        let hash = hash_link_code(code);
        let request = (member_id, &hash);
        self.keyed(
            "redeem",
            act,
            &request,
            UserError::IdempotencyConflict,
            |tx, journal| {
                let found: Option<(String, i64, Option<i64>, Option<i64>)> = tx
                .query_row(
                    "SELECT account_id, expires_at, used_at, voided_at FROM link_codes WHERE code_hash = ?1",
                    [&hash],
                    |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)),
                )
                .optional()?;
                let (account_id, expires_at, used_at, voided_at) =
                    found.ok_or(UserError::LinkCodeUnknown)?;
                if used_at.is_some() {
                    return Err(UserError::LinkCodeUsed.into());
                }
                if voided_at.is_some() {
                    return Err(UserError::LinkCodeVoided.into());
                }
                if expires_at <= ts(act.now) {
                    return Err(UserError::LinkCodeExpired.into());
                }
                // Used up before linking, which voids the account's other open codes.
                tx.execute(
                    "UPDATE link_codes SET used_at = ?1, used_by = ?2 WHERE code_hash = ?3",
                    params![ts(act.now), member_id, hash],
                )?;
                link(
                    tx,
                    journal,
                    member_id,
                    &account_id,
                    "redeemed a link code",
                    true,
                )
            },
        )
    }

    /// The account a member is linked to, if any.
    pub fn account_for_member(&self, member_id: &str) -> Result<Option<Account>> {
        self.read(|tx| match member_link(tx, member_id)? {
            Some(link) => Ok(Some(account(tx, &link.account_id)?)),
            None => Ok(None),
        })
    }

    /// The member linked to an account, if any.
    pub fn member_for_account(&self, account_id: &str) -> Result<Option<String>> {
        self.read(|tx| {
            Ok(tx
                .query_row(
                    "SELECT member_id FROM links WHERE account_id = ?1",
                    [account_id],
                    |row| row.get(0),
                )
                .optional()?)
        })
    }

    /// The member who most recently unlinked from an account, if any did.
    pub fn previous_member(&self, account_id: &str) -> Result<Option<String>> {
        self.read(|tx| {
            Ok(tx
                .prepare_cached(
                    "SELECT member_id FROM journal WHERE account_id = ?1 AND kind = 'unlink'
                     ORDER BY at DESC, id DESC LIMIT 1",
                )?
                .query_row([account_id], |r| r.get(0))
                .optional()?
                .flatten())
        })
    }

    pub fn account(&self, account_id: &str) -> Result<Account> {
        self.read(|tx| account(tx, account_id))
    }

    /// Whether a request with this idempotency key has been carried out (imports use it to
    /// report duplicates; the keyed calls themselves already replay safely).
    pub fn has_operation(&self, key: &str) -> Result<bool> {
        self.read(|tx| {
            Ok(tx
                .prepare_cached("SELECT 1 FROM operations WHERE idem_key = ?1")?
                .exists([key])?)
        })
    }

    /// Every order of an account, newest first.
    pub fn orders_of(&self, account_id: &str) -> Result<Vec<OrderSummary>> {
        self.recent_orders(account_id, usize::MAX >> 1)
    }

    // ----- grants -------------------------------------------------------------------------

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
        check_optional_text("The reason", &request.reason)?;
        Ok(())
    }

    /// Writes a new lot and its journal entry. Runs after the key lookup, so that replaying a
    /// grant later never fails on an expiry date that was still ahead when it was made.
    fn write_grant(
        &self,
        tx: &Transaction,
        journal: &mut Journal,
        act: &Act,
        request: &GrantRequest,
    ) -> Result<Lot> {
        let expires_at = self.expiry_of(request.expiry, act.now)?;
        require_open_account(tx, &request.account_id)?;
        self.check_dated(tx, act, &request.account_id)?;
        let reason = or_default(&request.reason, request.source.as_str());
        let lot = insert_lot(
            tx,
            act,
            &request.account_id,
            request.amount,
            request.source,
            reason,
            expires_at,
            None,
        )?;
        journal.write(
            tx,
            Entry::new("grant", &request.account_id, reason)
                .lot(lot.id, request.amount)
                .detail(expiry_text(expires_at)),
        )?;
        Ok(lot)
    }

    /// Refuses a change dated further back than `max_backdate_days` before it was recorded,
    /// or before its account was opened: the ledger can't have seen it then.
    fn check_dated(&self, tx: &Transaction, act: &Act, account_id: &str) -> Result<()> {
        let days = self.settings.max_backdate_days;
        if act.now < act.recorded - Duration::days(i64::from(days)) {
            return Err(UserError::TimeTooFarBack { days }.into());
        }
        if act.now < account(tx, account_id)?.created_at {
            return Err(UserError::TimeBeforeAccount(account_id.to_string()).into());
        }
        Ok(())
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
        check_text("The reason", reason)?;
        self.keyed(
            "revoke",
            act,
            &(lot_id, reason),
            UserError::IdempotencyConflict,
            |tx, journal| {
                let lot = lot(tx, lot_id)?;
                if !lot.remaining.is_positive() || !lot.is_live(act.now) {
                    return Err(UserError::GrantNothingLeft(lot_id).into());
                }
                let delta = Credits::ZERO - lot.remaining;
                change_remaining(tx, lot_id, delta)?;
                // Remembered so that credit a later return brings back is revoked too.
                tx.execute("UPDATE lots SET revoked = 1 WHERE id = ?1", [lot_id])?;
                journal.write(
                    tx,
                    Entry::new("revoke", &lot.account_id, reason).lot(lot_id, delta),
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
        check_text("The reason", reason)?;
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
                    change_remaining(tx, lot_id, delta)?;
                    journal.write(
                        tx,
                        Entry::new("expire", &before.account_id, "expired").lot(lot_id, delta),
                    )?;
                }
                tx.execute(
                    "UPDATE lots SET expires_at = ?1 WHERE id = ?2",
                    params![expires_at.map(ts), lot_id],
                )?;
                journal.write(
                    tx,
                    Entry::new("expiry_change", &before.account_id, reason)
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
            key: format!("{}:note", act.key),
            ..act.clone()
        };
        self.keyed(
            "note",
            &note_act,
            &(&act.key, note),
            UserError::IdempotencyConflict,
            |tx, _journal| {
                let changed = tx
                    .prepare_cached("SELECT 1 FROM operations WHERE idem_key = ?1")?
                    .exists([&act.key])?;
                if !changed {
                    return Err(Error::internal(
                        "writing an admin note",
                        format!("no change was made under the key {}", act.key),
                    ));
                }
                tx.execute(
                    "INSERT INTO admin_notes (op_key, note, actor, at) VALUES (?1, ?2, ?3, ?4)",
                    params![act.key, note.trim(), act.actor, ts(act.now)],
                )?;
                Ok(())
            },
        )
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

    // ----- confirmations ------------------------------------------------------------------

    /// Stores a change waiting for `asker` to confirm it until `expires_at`. The same id
    /// again (a retried request) keeps the first.
    pub fn ask_confirmation(
        &self,
        id: &str,
        asker: &str,
        request: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT OR IGNORE INTO confirmations (id, asker, request, created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![id, asker, request, ts(now), ts(expires_at)],
            )?;
            Ok(())
        })
    }

    /// A stored confirmation, if there is one with this id.
    pub fn confirmation(&self, id: &str) -> Result<Option<Confirmation>> {
        self.read(|tx| {
            Ok(tx
                .prepare_cached(
                    "SELECT id, asker, request, expires_at, decision FROM confirmations WHERE id = ?1",
                )?
                .query_row([id], |r| {
                    Ok(Confirmation {
                        id: r.get(0)?,
                        asker: r.get(1)?,
                        request: r.get(2)?,
                        expires_at: at(r.get(3)?),
                        decision: r.get::<_, Option<String>>(4)?.map(|d| d == "yes"),
                    })
                })
                .optional()?)
        })
    }

    /// Records the answer to a confirmation: true when this call decided it, false when it
    /// had been answered already or had expired at `now` (then nothing changes). One
    /// conditional write, so of two presses at once exactly one decides.
    pub fn decide_confirmation(&self, id: &str, accept: bool, now: DateTime<Utc>) -> Result<bool> {
        self.write(|tx| {
            let changed = tx.execute(
                "UPDATE confirmations SET decided_at = ?1, decision = ?2
                 WHERE id = ?3 AND decided_at IS NULL AND expires_at > ?1",
                params![ts(now), if accept { "yes" } else { "no" }, id],
            )?;
            Ok(changed == 1)
        })
    }

    /// Writes an explicit expiry entry for every lot that has expired at `now` with something
    /// left. Safe to run any number of times, from any number of places.
    pub fn sweep_expired(&self, actor: &str, now: DateTime<Utc>) -> Result<SweepReport> {
        let now = whole_seconds(now);
        self.write(|tx| {
            let due: Vec<(LotId, String, i64, i64)> = {
                let mut stmt = tx.prepare_cached(
                    "SELECT id, account_id, remaining, expires_at FROM lots
                     WHERE remaining > 0 AND expires_at IS NOT NULL AND expires_at <= ?1",
                )?;
                stmt.query_map([ts(now)], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                })?
                .collect::<rusqlite::Result<_>>()?
            };
            let mut report = SweepReport::default();
            for (lot_id, account_id, remaining, expires_at) in due {
                let act = Act::new(actor, now, sweep_key(tx, lot_id, expires_at)?);
                let delta = Credits::from_minor(-remaining);
                change_remaining(tx, lot_id, delta)?;
                Journal::new(&act).write(
                    tx,
                    Entry::new("expire", &account_id, "expired")
                        .lot(lot_id, delta)
                        .effective(at(expires_at)),
                )?;
                report.lots += 1;
                report.amount += Credits::from_minor(remaining);
            }
            Ok(report)
        })
    }

    // ----- orders and returns -------------------------------------------------------------

    /// Records a purchase and spends credits on its digital items as the member chose.
    /// Idempotent by the order's external id.
    pub fn record_order(
        &self,
        actor: &str,
        when: impl Into<When>,
        request: &OrderRequest,
    ) -> Result<OrderReceipt> {
        validate_order(request)?;
        let act = Act::new(actor, when, format!("order:{}", request.external_id));
        let conflict = UserError::OrderAlreadyRecorded(request.external_id.clone());
        self.keyed("order", &act, request, conflict, |tx, journal| {
            require_open_account(tx, &request.account_id)?;
            self.check_dated(tx, &act, &request.account_id)?;
            let lines: Vec<LineToPay> = request
                .items
                .iter()
                .map(|item| LineToPay {
                    kind: item.kind,
                    total: item.unit_price.checked_mul(item.quantity).unwrap_or(Credits::ZERO),
                })
                .collect();
            let total: Credits = lines.iter().map(|l| l.total).sum();
            let mut lots = spendable_lots(tx, &request.account_id, &act)?;
            rules::sort_for_spending(&mut lots);
            let cap = match request.credits {
                CreditChoice::All => None,
                CreditChoice::None => Some(Credits::ZERO),
                CreditChoice::UpTo(cap) => Some(cap),
            };
            let takes = rules::allocate(&lines, &lots, cap);
            let credits_applied: Credits = takes.iter().map(|t| t.amount).sum();
            let other_amount = total - credits_applied;
            let other_method = request.other_method.as_deref().map(str::trim).filter(|m| !m.is_empty());
            if other_amount.is_positive() && other_method.is_none() {
                return Err(UserError::PaymentMethodMissing.into());
            }
            tx.execute(
                "INSERT INTO orders (external_id, account_id, placed_at, credit_choice, other_method, credits_applied, other_amount)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    request.external_id,
                    request.account_id,
                    ts(act.now),
                    choice_text(request.credits),
                    other_method,
                    credits_applied.minor(),
                    other_amount.minor()
                ],
            )?;
            let order_id = tx.last_insert_rowid();
            let mut allocations = Vec::with_capacity(takes.len());
            for (line, (item, pay)) in request.items.iter().zip(&lines).enumerate() {
                let line_credits: Credits = takes.iter().filter(|t| t.line == line).map(|t| t.amount).sum();
                tx.execute(
                    "INSERT INTO order_items (order_id, line, sku, title, kind, unit_price, quantity, credits)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                    params![order_id, line as i64, item.sku, item.title, item.kind.as_str(), item.unit_price.minor(), item.quantity, line_credits.minor()],
                )?;
                let item_id = tx.last_insert_rowid();
                debug_assert!(line_credits <= pay.total);
                for take in takes.iter().filter(|t| t.line == line) {
                    tx.execute(
                        "INSERT INTO allocations (order_item_id, lot_id, amount) VALUES (?1, ?2, ?3)",
                        params![item_id, take.lot_id, take.amount.minor()],
                    )?;
                    let allocation_id = tx.last_insert_rowid();
                    let delta = Credits::ZERO - take.amount;
                    change_remaining(tx, take.lot_id, delta)?;
                    journal.write(
                        tx,
                        Entry::new("spend", &request.account_id, "order")
                            .lot(take.lot_id, delta)
                            .order(order_id)
                            .allocation(allocation_id),
                    )?;
                    allocations.push(Allocation { line, sku: item.sku.clone(), lot_id: take.lot_id, amount: take.amount });
                }
            }
            Ok(OrderReceipt {
                external_id: request.external_id.clone(),
                account_id: request.account_id.clone(),
                total,
                credits_applied,
                other_amount,
                other_method: other_method.map(str::to_string),
                allocations,
            })
        })
    }

    /// Records a return of a whole order or some of its items. Idempotent by the return id.
    pub fn record_return(
        &self,
        actor: &str,
        when: impl Into<When>,
        request: &ReturnRequest,
    ) -> Result<ReturnReceipt> {
        check_id("The return id", &request.return_id)?;
        check_id("The order id", &request.order_external_id)?;
        check_optional_text("The reason", &request.reason)?;
        if let ReturnScope::Items(lines) = &request.scope {
            if lines.is_empty() {
                return Err(UserError::EmptyField {
                    field: "The list of items to return",
                }
                .into());
            }
            for line in lines {
                check_text("The item", &line.sku)?;
                if line.quantity < 1 {
                    return Err(UserError::ItemQuantity {
                        item: line.sku.clone(),
                    }
                    .into());
                }
            }
        }
        let act = Act::new(actor, when, format!("return:{}", request.return_id));
        let conflict = UserError::ReturnAlreadyRecorded(request.return_id.clone());
        let policy = self.settings.expired_lot_policy;
        let reissue_days = self.settings.reissue_days;
        self.keyed("return", &act, request, conflict, |tx, journal| {
            let (order_id, account_id, other_method, placed_at) = tx
                .query_row(
                    "SELECT id, account_id, other_method, placed_at FROM orders WHERE external_id = ?1",
                    [&request.order_external_id],
                    |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, Option<String>>(2)?, r.get::<_, i64>(3)?)),
                )
                .optional()?
                .ok_or_else(|| UserError::UnknownOrder(request.order_external_id.clone()))?;
            if ts(act.now) < placed_at {
                return Err(UserError::ReturnBeforeOrder.into());
            }
            self.check_dated(tx, &act, &account_id)?;
            let policy = expired_credit_policy(tx, &account_id, policy)?;
            let items = order_items(tx, order_id)?;
            let wanted: Vec<(usize, i64)> = match &request.scope {
                ReturnScope::Whole => {
                    let all: Vec<(usize, i64)> = items
                        .iter()
                        .enumerate()
                        .filter(|(_, i)| i.quantity > i.returned_quantity)
                        .map(|(n, i)| (n, i.quantity - i.returned_quantity))
                        .collect();
                    if all.is_empty() {
                        return Err(UserError::NothingToReturn(request.order_external_id.clone()).into());
                    }
                    all
                }
                ReturnScope::Items(lines) => {
                    let mut wanted: Vec<(usize, i64)> = Vec::new();
                    for line in lines {
                        let n = items.iter().position(|i| i.sku == line.sku.trim()).ok_or_else(|| {
                            UserError::UnknownItem { order: request.order_external_id.clone(), item: line.sku.clone() }
                        })?;
                        match wanted.iter_mut().find(|(m, _)| *m == n) {
                            Some((_, q)) => {
                                *q = q.checked_add(line.quantity).ok_or_else(|| UserError::ReturnTooMany {
                                    item: items[n].sku.clone(),
                                    bought: items[n].quantity,
                                    returned: items[n].returned_quantity,
                                    asked: i64::MAX,
                                })?
                            }
                            None => wanted.push((n, line.quantity)),
                        }
                    }
                    for &(n, quantity) in &wanted {
                        let item = &items[n];
                        if quantity > item.quantity - item.returned_quantity {
                            return Err(UserError::ReturnTooMany {
                                item: item.sku.clone(),
                                bought: item.quantity,
                                returned: item.returned_quantity,
                                asked: quantity,
                            }
                            .into());
                        }
                    }
                    wanted
                }
            };
            tx.execute(
                "INSERT INTO returns (return_id, order_id, returned_at, credits_refunded, other_refunded) VALUES (?1, ?2, ?3, 0, 0)",
                params![request.return_id, order_id, ts(act.now)],
            )?;
            let return_row = tx.last_insert_rowid();
            let reason = or_default(&request.reason, "return");
            let mut receipt = ReturnReceipt {
                return_id: request.return_id.clone(),
                order_external_id: request.order_external_id.clone(),
                account_id: account_id.clone(),
                items: Vec::new(),
                credits_restored: Credits::ZERO,
                reissued: None,
                expired_at_once: Credits::ZERO,
                revoked_at_once: Credits::ZERO,
                other_refunded: Credits::ZERO,
                other_method,
            };
            let mut to_reissue: Vec<(i64, Credits)> = Vec::new();
            for (n, quantity) in wanted {
                let item = &items[n];
                let credits = rules::return_share(item.credits, item.quantity, item.returned_quantity, quantity);
                let other = rules::return_share(item.total - item.credits, item.quantity, item.returned_quantity, quantity);
                let allocations = spent_allocations(tx, item.id)?;
                for back in rules::give_back(&allocations, credits) {
                    let target = lot(tx, back.lot_id)?;
                    // Credit lost again at once still goes through its lot, refund then
                    // revoke/expire, so the journal shows both the return and the loss.
                    let taken_back_as = match ReturnedCredit::of(target.revoked, target.is_live(act.live_at()), policy) {
                        ReturnedCredit::Restored => None,
                        ReturnedCredit::Revoked => Some(("revoke", "revoked before the return")),
                        ReturnedCredit::Expired => Some(("expire", "expired before the return")),
                        ReturnedCredit::Reissued => {
                            to_reissue.push((back.allocation_id, back.amount));
                            continue;
                        }
                    };
                    change_remaining(tx, back.lot_id, back.amount)?;
                    journal.write(
                        tx,
                        Entry::new("refund", &account_id, reason).lot(back.lot_id, back.amount).order(order_id).allocation(back.allocation_id),
                    )?;
                    match taken_back_as {
                        None => receipt.credits_restored += back.amount,
                        Some((kind, why)) => {
                            let delta = Credits::ZERO - back.amount;
                            change_remaining(tx, back.lot_id, delta)?;
                            journal.write(tx, Entry::new(kind, &account_id, why).lot(back.lot_id, delta))?;
                            if kind == "revoke" {
                                receipt.revoked_at_once += back.amount;
                            } else {
                                receipt.expired_at_once += back.amount;
                            }
                        }
                    }
                }
                tx.execute(
                    "INSERT INTO return_items (return_row, order_item_id, quantity, credits, other) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![return_row, item.id, quantity, credits.minor(), other.minor()],
                )?;
                receipt.other_refunded += other;
                receipt.items.push(ReturnedItem { sku: item.sku.clone(), title: item.title.clone(), quantity, credits, other });
            }
            if !to_reissue.is_empty() {
                let amount: Credits = to_reissue.iter().map(|(_, a)| *a).sum();
                let expires_at = act.now + Duration::days(i64::from(reissue_days.max(1)));
                let reason = format!("refund, order {}", request.order_external_id);
                let new_lot = insert_lot(tx, &act, &account_id, amount, Source::Refund, &reason, Some(expires_at), Some(order_id))?;
                // The new lot starts empty and each entry fills it, so its remaining is the sum
                // of its journal entries like every other lot's.
                change_remaining(tx, new_lot.id, Credits::ZERO - amount)?;
                for (allocation_id, part) in to_reissue {
                    change_remaining(tx, new_lot.id, part)?;
                    journal.write(
                        tx,
                        Entry::new("reissue", &account_id, &reason).lot(new_lot.id, part).order(order_id).allocation(allocation_id),
                    )?;
                }
                receipt.reissued = Some(lot(tx, new_lot.id)?);
            }
            tx.execute(
                "UPDATE returns SET credits_refunded = ?1, other_refunded = ?2 WHERE id = ?3",
                params![receipt.credits_returned().minor(), receipt.other_refunded.minor(), return_row],
            )?;
            Ok(receipt)
        })
    }

    // ----- queries ------------------------------------------------------------------------

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

    /// An order's payment breakdown, per item and per lot, with what a return at `now` would
    /// give back (and what it would not: credit from a revoked grant, or from an expired one
    /// under the `expire` policy or on a closed account).
    pub fn order_breakdown(&self, external_id: &str, now: DateTime<Utc>) -> Result<OrderBreakdown> {
        let now = whole_seconds(now);
        let policy = self.settings.expired_lot_policy;
        self.read(|tx| {
            let (order_id, account_id, placed_at, other_method, credits_applied, other_amount) = tx
                .query_row(
                    "SELECT id, account_id, placed_at, other_method, credits_applied, other_amount
                     FROM orders WHERE external_id = ?1",
                    [external_id],
                    |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?, r.get::<_, Option<String>>(3)?, r.get::<_, i64>(4)?, r.get::<_, i64>(5)?)),
                )
                .optional()?
                .ok_or_else(|| UserError::UnknownOrder(external_id.to_string()))?;
            let policy = expired_credit_policy(tx, &account_id, policy)?;
            let mut items = Vec::new();
            for item in order_items(tx, order_id)? {
                let mut stmt = tx.prepare_cached(
                    "SELECT a.lot_id, l.source, a.amount FROM allocations a JOIN lots l ON l.id = a.lot_id
                     WHERE a.order_item_id = ?1 ORDER BY a.id",
                )?;
                let credits_by_lot = stmt
                    .query_map([item.id], |r| {
                        Ok(LotShare { lot_id: r.get(0)?, source: source_from(r.get_ref(1)?.as_str()?), amount: Credits::from_minor(r.get(2)?) })
                    })?
                    .collect::<rusqlite::Result<_>>()?;
                let left = item.quantity - item.returned_quantity;
                let other = item.total - item.credits;
                let credits_back = rules::return_share(item.credits, item.quantity, item.returned_quantity, left);
                let mut return_would_forfeit = Credits::ZERO;
                for back in rules::give_back(&spent_allocations(tx, item.id)?, credits_back) {
                    let source = lot(tx, back.lot_id)?;
                    if !ReturnedCredit::of(source.revoked, source.is_live(now), policy).comes_back() {
                        return_would_forfeit += back.amount;
                    }
                }
                items.push(ItemBreakdown {
                    line: item.line,
                    sku: item.sku.clone(),
                    title: item.title.clone(),
                    kind: item.kind,
                    unit_price: item.unit_price,
                    quantity: item.quantity,
                    total: item.total,
                    credits: item.credits,
                    credits_by_lot,
                    other,
                    returned_quantity: item.returned_quantity,
                    credits_returned: item.credits_returned,
                    other_returned: item.other_returned,
                    return_would_restore: credits_back - return_would_forfeit,
                    return_would_forfeit,
                    return_would_refund_other: rules::return_share(other, item.quantity, item.returned_quantity, left),
                });
            }
            Ok(OrderBreakdown {
                external_id: external_id.to_string(),
                account_id,
                placed_at: at(placed_at),
                total: items.iter().map(|i| i.total).sum(),
                credits_applied: Credits::from_minor(credits_applied),
                other_amount: Credits::from_minor(other_amount),
                other_method,
                items,
            })
        })
    }

    /// An account's most recent orders, newest first.
    pub fn recent_orders(&self, account_id: &str, limit: usize) -> Result<Vec<OrderSummary>> {
        self.read(|tx| {
            let mut stmt = tx.prepare_cached(
                "SELECT o.external_id, o.placed_at, o.credits_applied + o.other_amount, o.credits_applied
                 FROM orders o WHERE o.account_id = ?1 ORDER BY o.placed_at DESC, o.id DESC LIMIT ?2",
            )?;
            Ok(stmt
                .query_map(params![account_id, limit as i64], |r| {
                    Ok(OrderSummary {
                        external_id: r.get(0)?,
                        placed_at: at(r.get(1)?),
                        total: Credits::from_minor(r.get(2)?),
                        credits_applied: Credits::from_minor(r.get(3)?),
                    })
                })?
                .collect::<rusqlite::Result<_>>()?)
        })
    }

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
                            kind: "expire".into(),
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

    /// Runs SQLite's own consistency check; `Ok(())` when it says "ok".
    pub fn integrity_check(&self) -> Result<()> {
        self.with_conn(|conn| {
            let verdict: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
            if verdict == "ok" {
                Ok(())
            } else {
                Err(Error::internal("checking integrity", verdict))
            }
        })
    }

    /// A checksum over every row of every table, to prove a refused request changed nothing.
    pub fn content_checksum(&self) -> Result<String> {
        self.read(|tx| {
            let tables: Vec<String> = {
                let mut stmt = tx.prepare(
                    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
                )?;
                stmt.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?
            };
            let mut hasher = Sha256::new();
            for table in tables {
                hasher.update(table.as_bytes());
                // Rows are sorted here rather than by rowid: some tables have none.
                let mut stmt = tx.prepare(&format!("SELECT * FROM \"{table}\""))?;
                let columns = stmt.column_count();
                let mut rows = stmt.query([])?;
                let mut lines = Vec::new();
                while let Some(row) = rows.next()? {
                    let mut line = String::new();
                    for i in 0..columns {
                        line.push_str(&format!("{:?}|", row.get_ref(i)?));
                    }
                    lines.push(line);
                }
                lines.sort();
                for line in lines {
                    hasher.update(line.as_bytes());
                    hasher.update(b"\n");
                }
            }
            Ok(hex::encode(hasher.finalize()))
        })
    }

    /// Copies the live database to `target` with SQLite's online backup.
    pub fn backup_to(&self, target: &Path) -> Result<()> {
        self.with_conn(|conn| {
            let mut dest = Connection::open(target)
                .map_err(|e| Error::internal(format!("creating {}", target.display()), e))?;
            let backup = rusqlite::backup::Backup::new(conn, &mut dest)?;
            backup.run_to_completion(256, std::time::Duration::from_millis(5), None)?;
            Ok(())
        })
    }

    /// Answers when the database does (health checks).
    pub fn ping(&self) -> Result<()> {
        self.with_conn(|conn| Ok(conn.query_row("SELECT 1", [], |_| Ok(()))?))
    }

    /// How many unanswered questions are stored.
    pub fn unanswered_total(&self) -> Result<u64> {
        self.with_conn(|conn| {
            Ok(conn.query_row("SELECT count(*) FROM unanswered", [], |r| r.get(0))?)
        })
    }

    /// Records a question the FAQ could not answer.
    pub fn record_unanswered(
        &self,
        member_id: &str,
        question: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO unanswered (member_id, question, asked_at) VALUES (?1, ?2, ?3)",
                params![member_id, truncate_chars(question, 500), ts(now)],
            )?;
            Ok(())
        })
    }

    /// Unanswered questions, most asked first: (question, times asked, last asked).
    pub fn unanswered(&self, limit: usize) -> Result<Vec<(String, u64, DateTime<Utc>)>> {
        self.read(|tx| {
            let mut stmt = tx.prepare_cached(
                "SELECT lower(trim(question)) AS q, count(*), max(asked_at) FROM unanswered
                 GROUP BY q ORDER BY count(*) DESC, max(asked_at) DESC LIMIT ?1",
            )?;
            Ok(stmt
                .query_map([limit as i64], |r| {
                    Ok((r.get(0)?, r.get(1)?, at(r.get(2)?)))
                })?
                .collect::<rusqlite::Result<_>>()?)
        })
    }

    /// Journal totals by kind over the whole ledger, for audits and invariant checks.
    pub fn journal_totals(&self) -> Result<Vec<(String, Credits)>> {
        self.read(|tx| {
            let mut stmt =
                tx.prepare("SELECT kind, sum(amount) FROM journal GROUP BY kind ORDER BY kind")?;
            Ok(stmt
                .query_map([], |r| Ok((r.get(0)?, Credits::from_minor(r.get(1)?))))?
                .collect::<rusqlite::Result<_>>()?)
        })
    }

    /// For each lot: its remaining and the sum of its journal entries (they must agree).
    pub fn lot_journal_sums(&self) -> Result<Vec<(LotId, Credits, Credits)>> {
        self.read(|tx| {
            let mut stmt = tx.prepare(
                "SELECT l.id, l.remaining, coalesce((SELECT sum(amount) FROM journal j WHERE j.lot_id = l.id), 0)
                 FROM lots l ORDER BY l.id",
            )?;
            Ok(stmt
                .query_map([], |r| Ok((r.get(0)?, Credits::from_minor(r.get(1)?), Credits::from_minor(r.get(2)?))))?
                .collect::<rusqlite::Result<_>>()?)
        })
    }

    /// Journal entries whose lot belongs to another account than the entry: always empty.
    pub fn entries_touching_two_accounts(&self) -> Result<u64> {
        self.read(|tx| {
            Ok(tx.query_row(
                "SELECT count(*) FROM journal j JOIN lots l ON l.id = j.lot_id WHERE l.account_id <> j.account_id",
                [],
                |r| r.get(0),
            )?)
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
        self.write(|tx| {
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

/// The body of `Ledger::keyed` inside a transaction the caller holds (a batch holds one for
/// many keys): look the key up, replay or refuse, else do the work and store its result.
fn keyed_in<Req, Res>(
    tx: &Transaction,
    kind: &str,
    act: &Act,
    request: &Req,
    conflict: UserError,
    f: impl FnOnce(&Transaction, &mut Journal) -> Result<Res>,
) -> Result<Res>
where
    Req: Serialize,
    Res: Serialize + DeserializeOwned,
{
    if act.key.trim().is_empty() {
        return Err(UserError::EmptyField {
            field: "The request key",
        }
        .into());
    }
    let fingerprint = fingerprint(kind, request)?;
    let earlier: Option<(String, String)> = tx
        .prepare_cached("SELECT fingerprint, result FROM operations WHERE idem_key = ?1")?
        .query_row([&act.key], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?;
    if let Some((earlier_fingerprint, result)) = earlier {
        return if earlier_fingerprint == fingerprint {
            Ok(serde_json::from_str(&result)?)
        } else {
            Err(conflict.into())
        };
    }
    let mut journal = Journal::new(act);
    let result = f(tx, &mut journal)?;
    tx.prepare_cached(
        "INSERT INTO operations (idem_key, kind, fingerprint, result, actor, at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        act.key,
        kind,
        fingerprint,
        serde_json::to_string(&result)?,
        act.actor,
        ts(act.now)
    ])?;
    Ok(result)
}

// ----- the journal -------------------------------------------------------------------------

/// Writes the entries of one keyed change, numbering them `key#0`, `key#1`, …
struct Journal<'a> {
    act: &'a Act,
    next: usize,
}

/// One journal entry before it is written.
struct Entry<'a> {
    kind: &'static str,
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
    fn new(kind: &'static str, account_id: &'a str, reason: &'a str) -> Self {
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
    fn effective(mut self, at: DateTime<Utc>) -> Self {
        self.effective_at = Some(at);
        self
    }
    fn member(mut self, member_id: &'a str) -> Self {
        self.member_id = Some(member_id);
        self
    }
    fn lot(mut self, lot_id: LotId, amount: Credits) -> Self {
        self.lot_id = Some(lot_id);
        self.amount = amount;
        self
    }
    fn order(mut self, order_id: i64) -> Self {
        self.order_id = Some(order_id);
        self
    }
    fn allocation(mut self, allocation_id: i64) -> Self {
        self.allocation_id = Some(allocation_id);
        self
    }
    fn detail(mut self, detail: String) -> Self {
        self.detail = Some(detail);
        self
    }
}

impl<'a> Journal<'a> {
    fn new(act: &'a Act) -> Self {
        Journal { act, next: 0 }
    }

    fn write(&mut self, tx: &Transaction, entry: Entry) -> Result<()> {
        let entry_key = format!("{}#{}", self.act.key, self.next);
        self.next += 1;
        tx.prepare_cached(
            "INSERT INTO journal (entry_key, op_key, kind, account_id, member_id, lot_id, order_id, allocation_id, amount, detail, actor, reason, at, effective_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
        )?
        .execute(params![
            entry_key,
            self.act.key,
            entry.kind,
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

// ----- helpers over one transaction ---------------------------------------------------------

/// The key of a sweep's expiry entry for a lot: `sweep:{lot}:{expires_at}`, then `…:2`, `…:3`
/// for each later time the same lot expires at the same instant. A lot can be refilled after
/// it was swept — by a return dated before its expiry, or after a sweep run with a later
/// `now` — and must then expire again; the sweep holds the write lock, so the first free
/// number is safe to take.
fn sweep_key(tx: &Transaction, lot_id: LotId, expires_at: i64) -> Result<String> {
    let base = format!("sweep:{lot_id}:{expires_at}");
    let mut taken = tx.prepare_cached("SELECT 1 FROM journal WHERE entry_key = ?1 || '#0'")?;
    let mut key = base.clone();
    for round in 2.. {
        if !taken.exists([&key])? {
            break;
        }
        key = format!("{base}:{round}");
    }
    Ok(key)
}

const LOT_COLUMNS: &str = "l.id, l.account_id, l.amount, l.remaining, l.source, l.reason, l.granted_by, l.granted_at, l.expires_at,
     (SELECT o.external_id FROM orders o WHERE o.id = l.refund_of_order), l.revoked";

fn lot_from_row(row: &Row) -> rusqlite::Result<Lot> {
    Ok(Lot {
        id: row.get(0)?,
        account_id: row.get(1)?,
        amount: Credits::from_minor(row.get(2)?),
        remaining: Credits::from_minor(row.get(3)?),
        source: source_from(row.get_ref(4)?.as_str()?),
        reason: row.get(5)?,
        granted_by: row.get(6)?,
        granted_at: at(row.get(7)?),
        expires_at: row.get::<_, Option<i64>>(8)?.map(at),
        refund_of_order: row.get(9)?,
        revoked: row.get(10)?,
    })
}

/// A stored source name; one written by a newer version reads as `admin` rather than failing.
fn source_from(text: &str) -> Source {
    Source::parse(text).unwrap_or(Source::Admin)
}

/// What an account can spend at `now`, read inside the caller's transaction (a write's
/// receipt reads it before committing, so no other write can come between).
fn balance_in(tx: &Transaction, account_id: &str, now: DateTime<Utc>) -> Result<Balance> {
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

/// The receipt of a change to `lot_id`, read inside the change's transaction.
fn lot_receipt(
    tx: &Transaction,
    before: Option<Lot>,
    lot_id: LotId,
    now: DateTime<Utc>,
) -> Result<LotReceipt> {
    let lot = lot(tx, lot_id)?;
    let balance_after = Some(balance_in(tx, &lot.account_id, now)?.available);
    Ok(LotReceipt {
        lot,
        before,
        balance_after,
    })
}

fn lot(tx: &Transaction, lot_id: LotId) -> Result<Lot> {
    Ok(tx
        .prepare_cached(&format!("SELECT {LOT_COLUMNS} FROM lots l WHERE l.id = ?1"))?
        .query_row([lot_id], lot_from_row)
        .optional()?
        .ok_or(UserError::UnknownGrant(lot_id))?)
}

#[allow(clippy::too_many_arguments)]
fn insert_lot(
    tx: &Transaction,
    act: &Act,
    account_id: &str,
    amount: Credits,
    source: Source,
    reason: &str,
    expires_at: Option<DateTime<Utc>>,
    refund_of_order: Option<i64>,
) -> Result<Lot> {
    tx.prepare_cached(
        "INSERT INTO lots (account_id, amount, remaining, source, reason, granted_by, granted_at, expires_at, refund_of_order)
         VALUES (?1, ?2, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        account_id,
        amount.minor(),
        source.as_str(),
        reason,
        act.actor,
        ts(act.now),
        expires_at.map(ts),
        refund_of_order
    ])?;
    lot(tx, tx.last_insert_rowid())
}

fn change_remaining(tx: &Transaction, lot_id: LotId, delta: Credits) -> Result<()> {
    tx.prepare_cached("UPDATE lots SET remaining = remaining + ?1 WHERE id = ?2")?
        .execute(params![delta.minor(), lot_id])?;
    Ok(())
}

/// The lots a change can spend from: granted by its `at`, and live at both its `at` and the
/// moment it was recorded (see [`When`]), however long ago the sweep last ran.
fn spendable_lots(tx: &Transaction, account_id: &str, act: &Act) -> Result<Vec<SpendableLot>> {
    let mut stmt = tx.prepare_cached(
        "SELECT id, remaining, expires_at, granted_at FROM lots
         WHERE account_id = ?1 AND remaining > 0 AND (expires_at IS NULL OR expires_at > ?3)
           AND granted_at <= ?2",
    )?;
    Ok(stmt
        .query_map(params![account_id, ts(act.now), ts(act.live_at())], |r| {
            Ok(SpendableLot {
                id: r.get(0)?,
                remaining: Credits::from_minor(r.get(1)?),
                expires_at: r.get::<_, Option<i64>>(2)?.map(at),
                granted_at: at(r.get(3)?),
            })
        })?
        .collect::<rusqlite::Result<_>>()?)
}

fn spent_allocations(tx: &Transaction, order_item_id: i64) -> Result<Vec<SpentAllocation>> {
    let mut stmt = tx.prepare_cached(
        "SELECT a.id, a.lot_id, a.amount,
                coalesce((SELECT sum(j.amount) FROM journal j WHERE j.allocation_id = a.id AND j.kind IN ('refund', 'reissue')), 0)
         FROM allocations a WHERE a.order_item_id = ?1 ORDER BY a.id",
    )?;
    Ok(stmt
        .query_map([order_item_id], |r| {
            Ok(SpentAllocation {
                allocation_id: r.get(0)?,
                lot_id: r.get(1)?,
                taken: Credits::from_minor(r.get(2)?),
                given_back: Credits::from_minor(r.get(3)?),
            })
        })?
        .collect::<rusqlite::Result<_>>()?)
}

/// An order line with what has been returned of it so far.
struct StoredItem {
    id: i64,
    line: usize,
    sku: String,
    title: String,
    kind: ItemKind,
    unit_price: Credits,
    quantity: i64,
    total: Credits,
    credits: Credits,
    returned_quantity: i64,
    credits_returned: Credits,
    other_returned: Credits,
}

fn order_items(tx: &Transaction, order_id: i64) -> Result<Vec<StoredItem>> {
    let mut stmt = tx.prepare_cached(
        "SELECT i.id, i.line, i.sku, i.title, i.kind, i.unit_price, i.quantity, i.credits,
                coalesce(sum(r.quantity), 0), coalesce(sum(r.credits), 0), coalesce(sum(r.other), 0)
         FROM order_items i LEFT JOIN return_items r ON r.order_item_id = i.id
         WHERE i.order_id = ?1 GROUP BY i.id ORDER BY i.line",
    )?;
    Ok(stmt
        .query_map([order_id], |r| {
            let unit_price = Credits::from_minor(r.get(5)?);
            let quantity: i64 = r.get(6)?;
            Ok(StoredItem {
                id: r.get(0)?,
                line: r.get::<_, i64>(1)? as usize,
                sku: r.get(2)?,
                title: r.get(3)?,
                kind: if r.get_ref(4)?.as_str()? == "physical" {
                    ItemKind::Physical
                } else {
                    ItemKind::Digital
                },
                unit_price,
                quantity,
                total: Credits::from_minor(unit_price.minor() * quantity),
                credits: Credits::from_minor(r.get(7)?),
                returned_quantity: r.get(8)?,
                credits_returned: Credits::from_minor(r.get(9)?),
                other_returned: Credits::from_minor(r.get(10)?),
            })
        })?
        .collect::<rusqlite::Result<_>>()?)
}

fn account(tx: &Transaction, account_id: &str) -> Result<Account> {
    let found = tx
        .prepare_cached("SELECT id, display_name, created_at, closed FROM accounts WHERE id = ?1")?
        .query_row([account_id], |r| {
            Ok(Account {
                id: r.get(0)?,
                display_name: r.get(1)?,
                created_at: at(r.get(2)?),
                closed: r.get(3)?,
            })
        })
        .optional()?;
    if let Some(found) = found {
        return Ok(found);
    }
    // Account ids are compared ignoring case: `acc-2001` beside `ACC-2001` is refused naming
    // the one that exists, never taken for a different (or a new) account. Only on a miss,
    // so the primary key serves every ordinary lookup.
    let existing: Option<String> = tx
        .prepare_cached("SELECT id FROM accounts WHERE id = ?1 COLLATE NOCASE LIMIT 1")?
        .query_row([account_id], |r| r.get(0))
        .optional()?;
    Err(match existing {
        Some(existing) => UserError::AccountLookAlike {
            typed: account_id.to_string(),
            existing,
        },
        None => UserError::UnknownAccount(account_id.to_string()),
    }
    .into())
}

/// The member holding an account, if any.
fn account_holder(tx: &Transaction, account_id: &str) -> Result<Option<String>> {
    Ok(tx
        .prepare_cached("SELECT member_id FROM links WHERE account_id = ?1")?
        .query_row([account_id], |r| r.get(0))
        .optional()?)
}

fn require_account(tx: &Transaction, account_id: &str) -> Result<()> {
    account(tx, account_id).map(|_| ())
}

/// What a return does with credit whose grant expired meanwhile, on this account: the
/// configured policy, except that a closed account gets no new refund grant — it can't
/// receive credits — so there such credit expires at once.
fn expired_credit_policy(
    tx: &Transaction,
    account_id: &str,
    configured: ExpiredLotPolicy,
) -> Result<ExpiredLotPolicy> {
    Ok(if account(tx, account_id)?.closed {
        ExpiredLotPolicy::Expire
    } else {
        configured
    })
}

fn require_open_account(tx: &Transaction, account_id: &str) -> Result<()> {
    if account(tx, account_id)?.closed {
        return Err(UserError::AccountClosed(account_id.to_string()).into());
    }
    Ok(())
}

fn ensure_account(
    tx: &Transaction,
    journal: &mut Journal,
    account_id: &str,
    display_name: &str,
) -> Result<Account> {
    if let Some(existing) = account(tx, account_id)
        .map(Some)
        .or_else(|e| match e.as_user() {
            Some(UserError::UnknownAccount(_)) => Ok(None),
            _ => Err(e),
        })?
    {
        return Ok(existing);
    }
    if !super::is_account_id(account_id) {
        return Err(UserError::AccountIdNotValid(account_id.to_string()).into());
    }
    let name = or_default(display_name, account_id);
    tx.execute(
        "INSERT INTO accounts (id, display_name, created_at) VALUES (?1, ?2, ?3)",
        params![account_id, name, ts(journal.act.now)],
    )?;
    journal.write(tx, Entry::new("open", account_id, "account opened"))?;
    account(tx, account_id)
}

fn member_link(tx: &Transaction, member_id: &str) -> Result<Option<Link>> {
    Ok(tx
        .prepare_cached("SELECT member_id, account_id, linked_at FROM links WHERE member_id = ?1")?
        .query_row([member_id], |r| {
            Ok(Link {
                member_id: r.get(0)?,
                account_id: r.get(1)?,
                linked_at: at(r.get(2)?),
            })
        })
        .optional()?)
}

/// Links `member_id` to `account_id`, enforcing one account per member and one member per
/// account. Linking a member again to the account they already have is a no-op.
fn link(
    tx: &Transaction,
    journal: &mut Journal,
    member_id: &str,
    account_id: &str,
    reason: &str,
    by_member: bool,
) -> Result<Link> {
    if let Some(existing) = member_link(tx, member_id)? {
        if existing.account_id == account_id {
            return Ok(existing);
        }
        return Err(if by_member {
            UserError::AlreadyLinked(existing.account_id)
        } else {
            UserError::MemberAlreadyLinked(existing.account_id)
        }
        .into());
    }
    // A closed account takes no new member, whether an admin links it or a code does.
    require_open_account(tx, account_id)?;
    if account_holder(tx, account_id)?.is_some() {
        return Err(UserError::AccountAlreadyLinked(account_id.to_string()).into());
    }
    // Codes made before this link are void: one redeemed after this member unlinks would
    // show its redeemer this member's history.
    tx.execute(
        "UPDATE link_codes SET voided_at = ?1 WHERE account_id = ?2 AND used_at IS NULL AND voided_at IS NULL",
        params![ts(journal.act.now), account_id],
    )?;
    tx.execute(
        "INSERT INTO links (member_id, account_id, linked_at, linked_by) VALUES (?1, ?2, ?3, ?4)",
        params![
            member_id,
            account_id,
            ts(journal.act.now),
            journal.act.actor
        ],
    )?;
    journal.write(tx, Entry::new("link", account_id, reason).member(member_id))?;
    Ok(Link {
        member_id: member_id.to_string(),
        account_id: account_id.to_string(),
        linked_at: journal.act.now,
    })
}

// ----- validation and small conversions ----------------------------------------------------

fn validate_order(request: &OrderRequest) -> Result<()> {
    check_id("The order id", &request.external_id)?;
    check_id("The account id", &request.account_id)?;
    if request.items.is_empty() {
        return Err(UserError::OrderWithoutItems.into());
    }
    let mut total = Credits::ZERO;
    for (n, item) in request.items.iter().enumerate() {
        check_id("An item's SKU", &item.sku)?;
        check_optional_text("An item's title", &item.title)?;
        if item.quantity < 1 {
            return Err(UserError::ItemQuantity {
                item: item.sku.clone(),
            }
            .into());
        }
        if item.unit_price.minor() < 0 {
            return Err(UserError::ItemPriceNegative {
                item: item.sku.clone(),
            }
            .into());
        }
        if request.items[..n].iter().any(|other| other.sku == item.sku) {
            return Err(UserError::ItemDuplicated(item.sku.clone()).into());
        }
        total = item
            .unit_price
            .checked_mul(item.quantity)
            .and_then(|line| total.checked_add(line))
            .ok_or(UserError::OrderTooLarge)?;
    }
    if let CreditChoice::UpTo(cap) = request.credits
        && cap.minor() < 0
    {
        return Err(UserError::AmountNegative.into());
    }
    if let Some(method) = &request.other_method {
        check_optional_text("The payment method", method)?;
    }
    Ok(())
}

fn check_text(field: &'static str, value: &str) -> Result<(), UserError> {
    if value.trim().is_empty() {
        return Err(UserError::EmptyField { field });
    }
    check_optional_text(field, value)
}

/// An id (account, member, order, return, SKU): text that other records and people match
/// exactly, so one with a space around it or an invisible character would be a second,
/// look-alike id.
fn check_id(field: &'static str, value: &str) -> Result<(), UserError> {
    check_text(field, value)?;
    if value.trim() != value {
        return Err(UserError::SurroundingSpace { field });
    }
    if value.chars().any(is_invisible_format) {
        return Err(UserError::InvisibleCharacters { field });
    }
    // "Å" as one character or as "A" + ring would be two ids that look the same.
    if !unicode_normalization::is_nfc(value) {
        return Err(UserError::DecomposedLetters { field });
    }
    Ok(())
}

/// Unicode's format characters (general category Cf): invisible, and able to make two ids
/// look the same (zero-width spaces and joiners, direction marks and overrides, the BOM, …).
/// Allowed in free text, where emoji sequences use joiners; refused in ids.
fn is_invisible_format(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{0600}'..='\u{0605}' | '\u{061C}' | '\u{06DD}' | '\u{070F}'
        | '\u{0890}'..='\u{0891}' | '\u{08E2}' | '\u{180E}' | '\u{200B}'..='\u{200F}'
        | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{206F}'
        | '\u{FEFF}' | '\u{FFF9}'..='\u{FFFB}' | '\u{110BD}' | '\u{110CD}'
        | '\u{13430}'..='\u{1343F}' | '\u{1BCA0}'..='\u{1BCA3}' | '\u{1D173}'..='\u{1D17A}'
        | '\u{E0001}' | '\u{E0020}'..='\u{E007F}')
}

/// An admin's note: free text like a reason, and not empty (no note is no call).
pub fn check_note(note: &str) -> Result<(), UserError> {
    check_text("The note", note)
}

fn check_optional_text(field: &'static str, value: &str) -> Result<(), UserError> {
    if value.chars().any(char::is_control) {
        return Err(UserError::ControlCharacters { field });
    }
    let length = value.chars().count();
    if length > MAX_TEXT {
        return Err(UserError::FieldTooLong {
            field,
            length,
            max: MAX_TEXT,
        });
    }
    Ok(())
}

fn or_default<'a>(text: &'a str, default: &'a str) -> &'a str {
    let trimmed = text.trim();
    if trimmed.is_empty() { default } else { trimmed }
}

fn truncate_chars(text: &str, max: usize) -> &str {
    match text.char_indices().nth(max) {
        Some((cut, _)) => &text[..cut],
        None => text,
    }
}

fn choice_text(choice: CreditChoice) -> String {
    match choice {
        CreditChoice::All => "all".into(),
        CreditChoice::None => "none".into(),
        CreditChoice::UpTo(cap) => format!("up_to:{}", cap.minor()),
    }
}

fn expiry_text(expires_at: Option<DateTime<Utc>>) -> String {
    expires_at.map_or_else(
        || "never".to_string(),
        |at| at.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
    )
}

fn fingerprint<T: Serialize>(kind: &str, request: &T) -> Result<String> {
    let mut hasher = Sha256::new();
    hasher.update(kind.as_bytes());
    hasher.update(serde_json::to_vec(request)?);
    Ok(hex::encode(hasher.finalize()))
}

fn ts(at: DateTime<Utc>) -> i64 {
    at.timestamp()
}

fn at(seconds: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(seconds, 0).single().unwrap_or_default()
}

/// Link codes look like `K7QM-3XHD`: 8 characters from an alphabet without look-alikes
/// (no 0/O, 1/I/L), about 40 bits, single-use and short-lived.
fn new_link_code() -> Result<String> {
    const ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes)
        .map_err(|e| Error::internal("making a link code", e.to_string()))?;
    let chars: String = bytes
        .iter()
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect();
    Ok(format!("{}-{}", &chars[..4], &chars[4..]))
}

/// Codes are compared ignoring case, spaces and dashes, so `k7qm 3xhd` redeems `K7QM-3XHD`.
fn hash_link_code(code: &str) -> String {
    let normal: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    hex::encode(Sha256::digest(normal.as_bytes()))
}
