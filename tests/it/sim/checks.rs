//! The invariants the simulation checks, read through a second, read-only SQLite connection
//! (another "process" looking at the file), so no check goes through the ledger code it tests.
//!
//! Money is checked incrementally: after each step the checker reads only the journal entries
//! written since the last step and the lots and accounts they touched, keeping running totals
//! in memory; `full_check` compares everything from scratch (run every so often and at the
//! end) so a change that bypassed the journal cannot hide for long. `PRAGMA data_version` on
//! this connection says whether any other connection committed a change since the last look:
//! that is how a replay is proven to have changed nothing, cheaply, at every replay.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use chrono::{DateTime, Utc};
use regex::Regex;
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

use creditbot::ledger::{AccountId, Ledger};
use creditbot::money::Credits;

/// A journal entry as `after_change` reads it: id, kind, account, lot, amount (minor units)
/// and the lot's own account.
type NewEntry = (i64, String, String, Option<i64>, i64, Option<String>);

/// Journal kinds that move money, and the sign every one of their entries must have.
const MONEY_KINDS: &[(&str, Sign)] = &[
    ("grant", Sign::Positive),
    ("reissue", Sign::Positive),
    ("refund", Sign::Positive),
    ("spend", Sign::Negative),
    ("revoke", Sign::Negative),
    ("expire", Sign::Negative),
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Sign {
    Positive,
    Negative,
}

/// What the checker knows of one lot, from the lots table.
#[derive(Clone, Debug, PartialEq, Eq)]
struct LotMirror {
    account: String,
    remaining: i64,
    amount: i64,
}

pub struct Checker {
    conn: Connection,
    data_version: i64,
    last_journal_id: i64,
    /// Signed journal amounts by kind, over the whole journal.
    kind_totals: BTreeMap<String, i64>,
    /// Signed journal amounts by lot.
    lot_journal: HashMap<i64, i64>,
    /// The lots table as last read, and the sum of its `remaining` column.
    lots: HashMap<i64, LotMirror>,
    total_remaining: i64,
    ids: Regex,
}

/// Ids a reply may name: accounts, orders, members (18-digit snowflakes) and grant numbers.
/// The simulation gives each kind a shape no other text has, so a match is never a false alarm.
pub const ID_PATTERN: &str = r"ACC-\d{5}|ORD-\d{7}|\b[45]\d{17}\b|#\d+\b";

impl Checker {
    pub fn open(path: &Path) -> Checker {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .expect("open the database read-only");
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .unwrap();
        let mut checker = Checker {
            conn,
            data_version: 0,
            last_journal_id: 0,
            kind_totals: BTreeMap::new(),
            lot_journal: HashMap::new(),
            lots: HashMap::new(),
            total_remaining: 0,
            ids: Regex::new(ID_PATTERN).unwrap(),
        };
        checker.data_version = checker.read_data_version();
        checker
    }

    fn read_data_version(&self) -> i64 {
        self.conn
            .query_row("PRAGMA data_version", [], |r| r.get(0))
            .unwrap()
    }

    /// Whether another connection committed a change since `database_changed` last looked,
    /// without moving the mark (the step's own check looks again).
    pub fn peek_changed(&self) -> bool {
        self.read_data_version() != self.data_version
    }

    /// Whether another connection committed a change since the last call.
    pub fn database_changed(&mut self) -> bool {
        let now = self.read_data_version();
        let changed = now != self.data_version;
        self.data_version = now;
        changed
    }

    // ----- lookups for the simulation (who owns what) --------------------------------------

    pub fn account_of_member(&self, member: &str) -> Option<String> {
        self.conn
            .prepare_cached("SELECT account_id FROM links WHERE member_id = ?1")
            .unwrap()
            .query_row([member], |r| r.get(0))
            .optional()
            .unwrap()
    }

    pub fn owner_of_order(&self, order: &str) -> Option<String> {
        self.conn
            .prepare_cached("SELECT account_id FROM orders WHERE external_id = ?1")
            .unwrap()
            .query_row([order], |r| r.get(0))
            .optional()
            .unwrap()
    }

    pub fn owner_of_lot(&self, lot: i64) -> Option<String> {
        self.conn
            .prepare_cached("SELECT account_id FROM lots WHERE id = ?1")
            .unwrap()
            .query_row([lot], |r| r.get(0))
            .optional()
            .unwrap()
    }

    /// The newest orders of an account.
    pub fn orders_of(&self, account: &str, limit: usize) -> Vec<String> {
        self.conn
            .prepare_cached(
                "SELECT external_id FROM orders WHERE account_id = ?1 ORDER BY placed_at DESC, id DESC LIMIT ?2",
            )
            .unwrap()
            .query_map(params![account, limit as i64], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    }

    pub fn max_lot_id(&self) -> i64 {
        self.conn
            .query_row("SELECT coalesce(max(id), 0) FROM lots", [], |r| r.get(0))
            .unwrap()
    }

    /// The account ids in a text, in order.
    pub fn account_ids(&self, text: &str) -> Vec<String> {
        self.ids
            .find_iter(text)
            .map(|m| m.as_str())
            .filter(|id| id.starts_with("ACC-"))
            .map(str::to_string)
            .collect()
    }

    // ----- privacy ---------------------------------------------------------------------------

    /// The ids in a member's reply that belong to someone else: another account, another
    /// account's order or grant, another member. `own_accounts` are the asker's account before
    /// and after the request (a `/link` or `/unlink` changes it); ids the asker typed in the
    /// request are theirs to see echoed. A public reply (`public`) may name no account or grant
    /// at all, not even the asker's own.
    pub fn foreign_ids(
        &self,
        reply: &str,
        asked: &str,
        member: &str,
        own_accounts: &[String],
        public: bool,
    ) -> Vec<String> {
        let own =
            |account: Option<String>| account.is_some_and(|a| !public && own_accounts.contains(&a));
        let mut foreign = Vec::new();
        for found in self.ids.find_iter(reply) {
            let id = found.as_str();
            if asked.contains(id) {
                continue;
            }
            let allowed = if id.starts_with("ACC-") {
                own(Some(id.to_string()))
            } else if id.starts_with("ORD-") {
                // An order no account has was named by nobody but the asker (or is unknown).
                match self.owner_of_order(id) {
                    Some(owner) => own(Some(owner)),
                    None => true,
                }
            } else if let Some(number) = id.strip_prefix('#') {
                match number
                    .parse::<i64>()
                    .ok()
                    .and_then(|n| self.owner_of_lot(n))
                {
                    Some(owner) => own(Some(owner)),
                    None => true,
                }
            } else {
                id == member
            };
            if !allowed {
                foreign.push(id.to_string());
            }
        }
        foreign
    }

    // ----- money -------------------------------------------------------------------------------

    /// Reads the journal entries written since the last call, checks each one's sign and
    /// account, folds them into the running totals and checks every lot and account they
    /// touched. `also` are accounts the step addressed (checked even without new entries).
    pub fn after_change(
        &mut self,
        ledger: &Ledger,
        now: DateTime<Utc>,
        also: &[String],
    ) -> Result<(), String> {
        let mut touched_lots = BTreeSet::new();
        let mut touched_accounts: BTreeSet<String> = also.iter().cloned().collect();
        let entries: Vec<NewEntry> = self
            .conn
            .prepare_cached(
                "SELECT j.id, j.kind, j.account_id, j.lot_id, j.amount, l.account_id
                 FROM journal j LEFT JOIN lots l ON l.id = j.lot_id WHERE j.id > ?1 ORDER BY j.id",
            )
            .unwrap()
            .query_map([self.last_journal_id], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            })
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        for (id, kind, account, lot, amount, lot_account) in entries {
            self.last_journal_id = id;
            match MONEY_KINDS.iter().find(|(k, _)| *k == kind) {
                Some((_, Sign::Positive)) if amount <= 0 => {
                    return Err(format!(
                        "journal entry {id} ({kind}) has amount {amount}, not > 0"
                    ));
                }
                Some((_, Sign::Negative)) if amount >= 0 => {
                    return Err(format!(
                        "journal entry {id} ({kind}) has amount {amount}, not < 0"
                    ));
                }
                None if amount != 0 => {
                    return Err(format!(
                        "journal entry {id} ({kind}) moves {amount} but its kind moves no money"
                    ));
                }
                _ => {}
            }
            if let Some(lot) = lot {
                if lot_account.as_deref() != Some(account.as_str()) {
                    return Err(format!(
                        "journal entry {id} ({kind}) of account {account} touches lot {lot} of {lot_account:?}: credits moved between accounts"
                    ));
                }
                *self.lot_journal.entry(lot).or_default() += amount;
                touched_lots.insert(lot);
            } else if amount != 0 {
                return Err(format!(
                    "journal entry {id} ({kind}) moves {amount} without a lot"
                ));
            }
            *self.kind_totals.entry(kind).or_default() += amount;
            touched_accounts.insert(account);
        }
        for lot in touched_lots {
            self.check_lot(lot)?;
        }
        self.check_conservation()?;
        for account in &touched_accounts {
            self.check_balance(ledger, account, now)?;
        }
        Ok(())
    }

    /// One lot: its `remaining` equals the sum of its journal entries and stays within
    /// `0..=amount`; the mirror and the running sum of `remaining` follow it.
    fn check_lot(&mut self, lot: i64) -> Result<(), String> {
        let row: Option<LotMirror> = self
            .conn
            .prepare_cached("SELECT account_id, remaining, amount FROM lots WHERE id = ?1")
            .unwrap()
            .query_row([lot], |r| {
                Ok(LotMirror {
                    account: r.get(0)?,
                    remaining: r.get(1)?,
                    amount: r.get(2)?,
                })
            })
            .optional()
            .unwrap();
        let row = row.ok_or_else(|| format!("the journal names lot {lot}, which doesn't exist"))?;
        let journal = self.lot_journal.get(&lot).copied().unwrap_or(0);
        if row.remaining != journal {
            return Err(format!(
                "lot {lot}: remaining {} but its journal entries add up to {journal}",
                row.remaining
            ));
        }
        if row.remaining < 0 || row.remaining > row.amount {
            return Err(format!(
                "lot {lot}: remaining {} outside 0..={}",
                row.remaining, row.amount
            ));
        }
        let before = self.lots.get(&lot).map_or(0, |l| l.remaining);
        self.total_remaining += row.remaining - before;
        self.lots.insert(lot, row);
        Ok(())
    }

    /// The whole ledger: everything granted or reissued, less what was spent, plus what came
    /// back, less what was revoked or expired, is exactly what the lots still hold.
    fn check_conservation(&self) -> Result<(), String> {
        let journal: i64 = MONEY_KINDS
            .iter()
            .map(|(kind, _)| self.kind_totals.get(*kind).copied().unwrap_or(0))
            .sum();
        if journal != self.total_remaining {
            return Err(format!(
                "money not conserved: journal totals {:?} add up to {journal}, the lots hold {}",
                self.kind_totals, self.total_remaining
            ));
        }
        Ok(())
    }

    /// An account's balance as the ledger reports it equals the live lots' remaining summed
    /// here in SQL, and is not negative.
    fn check_balance(
        &self,
        ledger: &Ledger,
        account: &str,
        now: DateTime<Utc>,
    ) -> Result<(), String> {
        let ours: Option<i64> = self
            .conn
            .prepare_cached(
                "SELECT (SELECT coalesce(sum(remaining), 0) FROM lots WHERE account_id = ?1 AND remaining > 0
                   AND (expires_at IS NULL OR expires_at > ?2) AND granted_at <= ?2)
                 FROM accounts WHERE id = ?1",
            )
            .unwrap()
            .query_row(params![account, now.timestamp()], |r| r.get(0))
            .optional()
            .unwrap();
        let Some(ours) = ours else {
            return Ok(()); // an account the step named but nobody opened
        };
        let balance = ledger
            .balance(&AccountId::new(account), now)
            .map_err(|e| format!("balance of {account}: {e}"))?;
        if balance.available < Credits::ZERO {
            return Err(format!(
                "{account}: negative balance {:?}",
                balance.available
            ));
        }
        if balance.available != Credits::from_minor(ours) {
            return Err(format!(
                "{account}: the ledger says {:?} available, its live lots hold {ours}",
                balance.available
            ));
        }
        Ok(())
    }

    /// Everything from scratch: every lot against the mirror and against a fresh sum of the
    /// journal, the totals by kind, and no journal entry on another account's lot.
    pub fn full_check(&mut self) -> Result<(), String> {
        let lots: HashMap<i64, LotMirror> = self
            .conn
            .prepare_cached("SELECT id, account_id, remaining, amount FROM lots")
            .unwrap()
            .query_map([], |r| {
                Ok((
                    r.get(0)?,
                    LotMirror {
                        account: r.get(1)?,
                        remaining: r.get(2)?,
                        amount: r.get(3)?,
                    },
                ))
            })
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        if lots.len() != self.lots.len() {
            return Err(format!(
                "{} lots in the table, {} seen through the journal",
                lots.len(),
                self.lots.len()
            ));
        }
        for (id, lot) in &lots {
            if self.lots.get(id) != Some(lot) {
                return Err(format!(
                    "lot {id} changed without a journal entry: now {lot:?}, last seen {:?}",
                    self.lots.get(id)
                ));
            }
        }
        let sums: HashMap<i64, i64> = self
            .conn
            .prepare_cached(
                "SELECT lot_id, sum(amount) FROM journal WHERE lot_id IS NOT NULL GROUP BY lot_id",
            )
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        for (id, lot) in &lots {
            let journal = sums.get(id).copied().unwrap_or(0);
            if lot.remaining != journal {
                return Err(format!(
                    "lot {id}: remaining {} but its journal adds up to {journal}",
                    lot.remaining
                ));
            }
        }
        let totals: BTreeMap<String, i64> = self
            .conn
            .prepare_cached("SELECT kind, sum(amount) FROM journal GROUP BY kind")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        if totals != self.kind_totals {
            return Err(format!(
                "journal totals {totals:?}, running totals {:?}",
                self.kind_totals
            ));
        }
        let crossing: i64 = self
            .conn
            .query_row(
                "SELECT count(*) FROM journal j JOIN lots l ON l.id = j.lot_id WHERE l.account_id <> j.account_id",
                [],
                |r| r.get(0),
            )
            .unwrap();
        if crossing != 0 {
            return Err(format!(
                "{crossing} journal entries touch another account's lot"
            ));
        }
        let two_members: i64 = self
            .conn
            .query_row(
                "SELECT count(*) FROM (SELECT account_id FROM links GROUP BY account_id HAVING count(*) > 1)",
                [],
                |r| r.get(0),
            )
            .unwrap();
        if two_members != 0 {
            return Err(format!(
                "{two_members} accounts are linked to more than one member"
            ));
        }
        self.check_conservation()
    }
}
