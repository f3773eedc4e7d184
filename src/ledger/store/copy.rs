//! A whole ledger moved between stores (`creditbot copy`): the tables in the order their
//! foreign keys allow, each column's kind, and the store-neutral values rows are read as, so
//! that an SQLite file and a PostgreSQL database compare, checksum and total alike.
//!
//! Each store implements [`Tables`] with its own SQL (`ledger::sqlite::copy`,
//! `ledger::postgres::copy`); this module decides what a copy does: copy into an empty
//! database, do nothing when the destination already holds the same ledger, refuse anything
//! else, and read both sides back before it says done. Ids are copied as they are: members
//! read "grant #57", and journal rows name lot, order and allocation ids.
//!
//! A copy holds the whole ledger in memory once per side (a shop's ledger, not a bank's).

use crate::error::{Error, Result};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// What a column holds, which decides how each store reads and writes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Int,
    Text,
    /// A moment, as whole seconds since the epoch (SQLite: integer; PostgreSQL: timestamptz).
    Time,
    /// SQLite: 0/1; PostgreSQL: boolean.
    Bool,
}

/// One column of a copied table. Nullable or not is the schema's business, not the copy's:
/// any column may carry [`Value::Null`].
#[derive(Clone, Copy, Debug)]
pub struct Column {
    pub name: &'static str,
    pub kind: Kind,
}

/// One copied table.
#[derive(Clone, Copy, Debug)]
pub struct Table {
    pub name: &'static str,
    pub columns: &'static [Column],
    /// Whether `id` is a generated identity: PostgreSQL's sequence must then continue after
    /// the copied ids.
    pub generated_id: bool,
}

impl Table {
    /// The position of column `name` (a programming error when there is none).
    pub fn column(&self, name: &str) -> usize {
        self.columns
            .iter()
            .position(|c| c.name == name)
            .unwrap_or_else(|| panic!("{} has no column {name}", self.name))
    }
}

const fn col(name: &'static str, kind: Kind) -> Column {
    Column { name, kind }
}

use Kind::{Bool, Int, Text, Time};

/// Every table of the ledger, each after the tables its foreign keys name. Both stores' final
/// schemas have exactly these tables and columns (`tests/it/copy.rs` checks they miss none).
pub const TABLES: &[Table] = &[
    Table {
        name: "accounts",
        generated_id: false,
        columns: &[
            col("id", Text),
            col("display_name", Text),
            col("created_at", Time),
            col("closed", Bool),
        ],
    },
    Table {
        name: "links",
        generated_id: false,
        columns: &[
            col("member_id", Text),
            col("account_id", Text),
            col("linked_at", Time),
            col("linked_by", Text),
        ],
    },
    Table {
        name: "link_codes",
        generated_id: false,
        columns: &[
            col("code_hash", Text),
            col("account_id", Text),
            col("created_at", Time),
            col("created_by", Text),
            col("expires_at", Time),
            col("used_at", Time),
            col("used_by", Text),
            col("voided_at", Time),
        ],
    },
    Table {
        name: "orders",
        generated_id: true,
        columns: &[
            col("id", Int),
            col("external_id", Text),
            col("account_id", Text),
            col("placed_at", Time),
            col("credit_choice", Text),
            col("other_method", Text),
            col("credits_applied", Int),
            col("other_amount", Int),
        ],
    },
    Table {
        name: "lots",
        generated_id: true,
        columns: &[
            col("id", Int),
            col("account_id", Text),
            col("amount", Int),
            col("remaining", Int),
            col("source", Text),
            col("reason", Text),
            col("granted_by", Text),
            col("granted_at", Time),
            col("expires_at", Time),
            col("refund_of_order", Int),
            col("revoked", Bool),
        ],
    },
    Table {
        name: "order_items",
        generated_id: true,
        columns: &[
            col("id", Int),
            col("order_id", Int),
            col("line", Int),
            col("sku", Text),
            col("title", Text),
            col("kind", Text),
            col("unit_price", Int),
            col("quantity", Int),
            col("credits", Int),
        ],
    },
    Table {
        name: "allocations",
        generated_id: true,
        columns: &[
            col("id", Int),
            col("order_item_id", Int),
            col("lot_id", Int),
            col("amount", Int),
        ],
    },
    Table {
        name: "returns",
        generated_id: true,
        columns: &[
            col("id", Int),
            col("return_id", Text),
            col("order_id", Int),
            col("returned_at", Time),
            col("credits_refunded", Int),
            col("other_refunded", Int),
        ],
    },
    Table {
        name: "return_items",
        generated_id: false,
        columns: &[
            col("return_row", Int),
            col("order_item_id", Int),
            col("quantity", Int),
            col("credits", Int),
            col("other", Int),
        ],
    },
    Table {
        name: "operations",
        generated_id: false,
        columns: &[
            col("idem_key", Text),
            col("kind", Text),
            col("fingerprint", Text),
            col("result", Text),
            col("actor", Text),
            col("at", Time),
        ],
    },
    Table {
        name: "journal",
        generated_id: true,
        columns: &[
            col("id", Int),
            col("entry_key", Text),
            col("op_key", Text),
            col("kind", Text),
            col("account_id", Text),
            col("member_id", Text),
            col("lot_id", Int),
            col("order_id", Int),
            col("allocation_id", Int),
            col("amount", Int),
            col("detail", Text),
            col("actor", Text),
            col("reason", Text),
            col("at", Time),
            col("effective_at", Time),
        ],
    },
    Table {
        name: "unanswered",
        generated_id: true,
        columns: &[
            col("id", Int),
            col("member_id", Text),
            col("question", Text),
            col("asked_at", Time),
        ],
    },
    Table {
        name: STORE_SETTINGS,
        generated_id: false,
        columns: &[col("id", Int), col("currency", Text), col("decimals", Int)],
    },
    Table {
        name: "admin_notes",
        generated_id: false,
        columns: &[
            col("op_key", Text),
            col("note", Text),
            col("actor", Text),
            col("at", Time),
        ],
    },
    Table {
        name: "confirmations",
        generated_id: false,
        columns: &[
            col("id", Text),
            col("asker", Text),
            col("request", Text),
            col("created_at", Time),
            col("expires_at", Time),
            col("decided_at", Time),
            col("decision", Text),
        ],
    },
    Table {
        name: "reminder_settings",
        generated_id: false,
        columns: &[
            col("member_id", Text),
            col("enabled", Bool),
            col("days_before", Int),
            col("undeliverable_at", Time),
            col("undeliverable_reason", Text),
            col("updated_at", Time),
        ],
    },
    Table {
        name: "reminder_runs",
        generated_id: true,
        columns: &[
            col("id", Int),
            col("started_at", Time),
            col("finished_at", Time),
            col("sent", Int),
            col("skipped", Int),
            col("failed", Int),
            col("detail", Text),
        ],
    },
    Table {
        name: "reminders",
        generated_id: false,
        columns: &[
            col("lot_id", Int),
            col("threshold_days", Int),
            col("member_id", Text),
            col("account_id", Text),
            col("amount", Int),
            col("expires_at", Time),
            col("state", Text),
            col("run_id", Int),
            col("claimed_at", Time),
            col("finished_at", Time),
            col("error", Text),
        ],
    },
];

/// The table of the currency a database keeps its amounts in. Opening a database for the
/// bot records one there, so a database that holds only that row still counts as empty.
pub const STORE_SETTINGS: &str = "store_settings";

/// One value as both stores read it. Ordered, so rows sort the same whatever order (or
/// collation) a store answers in.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Value {
    Null,
    Int(i64),
    Text(String),
    /// Whole seconds since the epoch.
    Time(i64),
    Bool(bool),
}

pub type Row = Vec<Value>;

/// The row-level access a copy needs; each store implements it with its own SQL.
pub trait Tables {
    /// Every row of every table in [`TABLES`] (in that order, each row's values in the order
    /// of [`Table::columns`]), read in one consistent snapshot.
    fn read_tables(&self) -> Result<Vec<Vec<Row>>>;

    /// In one write transaction: refuses (an error, writing nothing) unless every table but
    /// [`STORE_SETTINGS`] is still empty, as the copy saw it a moment before, then inserts `rows` (one list per
    /// table of [`TABLES`]) as they are, ids included, and moves each generated id on past
    /// the largest copied one.
    fn insert_into_empty(&self, rows: &[Vec<Row>]) -> Result<()>;
}

/// What [`Tables::insert_into_empty`] answers when `table` filled up between the copy's look
/// and its write (another process wrote meanwhile).
pub fn not_empty(table: &str) -> Error {
    Error::internal(
        "copying the ledger",
        format!("the destination's {table} table is no longer empty; nothing was copied"),
    )
}

/// A whole ledger as read from one store: rows sorted, so two stores holding the same
/// ledger hold equal snapshots.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    tables: Vec<Vec<Row>>,
}

impl Snapshot {
    pub fn read(store: &impl Tables) -> Result<Snapshot> {
        let mut tables = store.read_tables()?;
        if tables.len() != TABLES.len() {
            return Err(Error::internal(
                "reading the ledger to copy",
                format!("{} tables read, {} expected", tables.len(), TABLES.len()),
            ));
        }
        for rows in &mut tables {
            rows.sort();
        }
        Ok(Snapshot { tables })
    }

    fn rows(&self, name: &str) -> (&Table, &[Row]) {
        let i = TABLES
            .iter()
            .position(|t| t.name == name)
            .unwrap_or_else(|| panic!("no table {name}"));
        (&TABLES[i], &self.tables[i])
    }

    /// Whether it holds anything but the currency setting.
    pub fn holds_ledger(&self) -> bool {
        TABLES
            .iter()
            .zip(&self.tables)
            .any(|(table, rows)| table.name != STORE_SETTINGS && !rows.is_empty())
    }

    /// The currency setting row, if any (code, decimals).
    pub fn currency(&self) -> Option<(String, u32)> {
        let (table, rows) = self.rows(STORE_SETTINGS);
        let row = rows.first()?;
        match (
            &row[table.column("currency")],
            &row[table.column("decimals")],
        ) {
            (Value::Text(code), Value::Int(decimals)) => {
                Some((code.clone(), u32::try_from(*decimals).ok()?))
            }
            _ => None,
        }
    }

    /// SHA-256 over every table by name and every row's values, identical for the same
    /// ledger on either store.
    pub fn checksum(&self) -> String {
        let mut hash = Sha256::new();
        for (table, rows) in TABLES.iter().zip(&self.tables) {
            hash.update(table.name.as_bytes());
            hash.update(b"\n");
            for row in rows {
                hash.update(format!("{row:?}\n").as_bytes());
            }
        }
        hex::encode(hash.finalize())
    }

    /// The figures a copy is checked by.
    pub fn totals(&self) -> Totals {
        let (_, account_rows) = self.rows("accounts");
        let (lots, lot_rows) = self.rows("lots");
        let (journal, entries) = self.rows("journal");
        let int = |row: &Row, i: usize| match row[i] {
            Value::Int(n) => n,
            _ => 0,
        };
        let (amount, remaining) = (lots.column("amount"), lots.column("remaining"));
        let (kind, delta) = (journal.column("kind"), journal.column("amount"));
        let mut by_kind = BTreeMap::new();
        for entry in entries {
            if let Value::Text(k) = &entry[kind] {
                *by_kind.entry(k.clone()).or_insert(0i64) += int(entry, delta);
            }
        }
        Totals {
            currency: self.currency(),
            accounts: account_rows.len() as u64,
            grants: lot_rows.len() as u64,
            journal_entries: entries.len() as u64,
            granted: lot_rows.iter().map(|r| int(r, amount)).sum(),
            remaining: lot_rows.iter().map(|r| int(r, remaining)).sum(),
            journal_by_kind: by_kind,
        }
    }

    /// The rows still to write into `destination`, an empty database (see
    /// [`holds_ledger`](Self::holds_ledger)): all of them, but the currency setting only
    /// when the destination keeps none yet.
    fn rows_missing_from(&self, destination: &Snapshot) -> Vec<Vec<Row>> {
        TABLES
            .iter()
            .zip(self.tables.iter().zip(&destination.tables))
            .map(|(table, (ours, theirs))| {
                if table.name == STORE_SETTINGS && !theirs.is_empty() {
                    Vec::new()
                } else {
                    ours.clone()
                }
            })
            .collect()
    }
}

/// The figures both sides of a copy must agree on. Amounts in minor units.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Totals {
    /// The currency the amounts are in (code, decimals), as the database keeps it.
    pub currency: Option<(String, u32)>,
    pub accounts: u64,
    pub grants: u64,
    pub journal_entries: u64,
    /// The sum of every grant's amount.
    pub granted: i64,
    /// The sum of every grant's remaining.
    pub remaining: i64,
    /// The sum of the journal's amounts, by kind.
    pub journal_by_kind: BTreeMap<String, i64>,
}

impl Totals {
    /// The credits orders took: the spend entries' deltas are negative.
    pub fn spent(&self) -> i64 {
        -self.journal_by_kind.get("spend").copied().unwrap_or(0)
    }

    /// The first figure on which `self` and `other` differ, named, with both values.
    pub fn first_difference(&self, other: &Totals) -> Option<String> {
        if self.currency != other.currency {
            return Some(format!(
                "the currency: {:?} vs {:?}",
                self.currency, other.currency
            ));
        }
        let pairs = [
            ("accounts", self.accounts, other.accounts),
            ("grants", self.grants, other.grants),
            (
                "journal entries",
                self.journal_entries,
                other.journal_entries,
            ),
        ];
        for (name, a, b) in pairs {
            if a != b {
                return Some(format!("{name}: {a} vs {b}"));
            }
        }
        let money = [
            ("credits granted", self.granted, other.granted),
            ("credits remaining", self.remaining, other.remaining),
        ];
        for (name, a, b) in money {
            if a != b {
                return Some(format!("{name} (minor units): {a} vs {b}"));
            }
        }
        let kinds: std::collections::BTreeSet<_> = self
            .journal_by_kind
            .keys()
            .chain(other.journal_by_kind.keys())
            .collect();
        for kind in kinds {
            let a = self.journal_by_kind.get(kind).copied().unwrap_or(0);
            let b = other.journal_by_kind.get(kind).copied().unwrap_or(0);
            if a != b {
                return Some(format!(
                    "journal total of {kind} entries (minor units): {a} vs {b}"
                ));
            }
        }
        None
    }
}

/// What a copy did, or why it did nothing.
#[derive(Debug)]
pub enum Outcome {
    /// The destination was empty and now holds the source's ledger; both sides agree.
    Copied(Totals),
    /// The destination already held exactly the source's ledger; nothing was written.
    AlreadyThere(Totals),
    /// The destination holds another ledger (or keeps another currency); nothing written.
    Refused(Refusal),
    /// The copy was written but reading both sides back disagrees on this figure.
    Mismatch(String),
}

#[derive(Debug)]
pub enum Refusal {
    DifferentLedger,
    /// The destination keeps its amounts in another currency (code, decimals): source's, then
    /// the destination's.
    DifferentCurrency(String, String),
}

/// Copies the ledger in `from` into `to` (see the module's doc), then reads both back and
/// compares their totals and checksums.
pub fn copy(from: &impl Tables, to: &impl Tables) -> Result<Outcome> {
    let source = Snapshot::read(from)?;
    let destination = Snapshot::read(to)?;
    if destination == source {
        return Ok(Outcome::AlreadyThere(source.totals()));
    }
    if destination.holds_ledger() {
        return Ok(Outcome::Refused(Refusal::DifferentLedger));
    }
    // A destination opened by the bot keeps a currency already; it must be the source's.
    if let Some(theirs) = destination.currency() {
        if source.currency().as_ref() != Some(&theirs) {
            let show = |currency: Option<(String, u32)>| match currency {
                Some((code, decimals)) => format!("{code} with {decimals} decimals"),
                None => "none recorded".into(),
            };
            return Ok(Outcome::Refused(Refusal::DifferentCurrency(
                show(source.currency()),
                show(Some(theirs)),
            )));
        }
    }
    to.insert_into_empty(&source.rows_missing_from(&destination))?;
    // Read back from both sides: the source too, so a write to it meanwhile shows up here.
    let (source, copied) = (Snapshot::read(from)?, Snapshot::read(to)?);
    let (expected, got) = (source.totals(), copied.totals());
    if let Some(difference) = expected.first_difference(&got) {
        return Ok(Outcome::Mismatch(difference));
    }
    // The totals agree; the checksum covers every other value of every row.
    if source.checksum() != copied.checksum() {
        return Ok(Outcome::Mismatch(
            "content checksum (the totals agree, some row differs)".into(),
        ));
    }
    Ok(Outcome::Copied(got))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    /// A store in memory; `lose_last_entry` makes its inserts drop the journal's last row,
    /// as a faulty store would.
    struct Memory {
        tables: RefCell<Vec<Vec<Row>>>,
        lose_last_entry: bool,
    }

    impl Memory {
        fn empty() -> Memory {
            Memory {
                tables: RefCell::new(vec![Vec::new(); TABLES.len()]),
                lose_last_entry: false,
            }
        }

        fn with(rows: &[(&str, Vec<Value>)]) -> Memory {
            let memory = Memory::empty();
            for (name, row) in rows {
                let i = TABLES.iter().position(|t| t.name == *name).unwrap();
                memory.tables.borrow_mut()[i].push(row.clone());
            }
            memory
        }
    }

    impl Tables for Memory {
        fn read_tables(&self) -> Result<Vec<Vec<Row>>> {
            Ok(self.tables.borrow().clone())
        }

        fn insert_into_empty(&self, rows: &[Vec<Row>]) -> Result<()> {
            let mut tables = self.tables.borrow_mut();
            for (i, rows) in rows.iter().enumerate() {
                tables[i].extend(rows.iter().cloned());
                if self.lose_last_entry && TABLES[i].name == "journal" {
                    tables[i].pop();
                }
            }
            Ok(())
        }
    }

    fn text(s: &str) -> Value {
        Value::Text(s.into())
    }

    fn ledger() -> Memory {
        let entry = |id: i64, kind: &str, amount: i64| {
            let mut row = vec![Value::Null; 15];
            row[0] = Value::Int(id);
            row[3] = text(kind);
            row[9] = Value::Int(amount);
            row
        };
        Memory::with(&[
            (
                "accounts",
                vec![
                    text("ACC-1"),
                    text("Sam"),
                    Value::Time(1),
                    Value::Bool(false),
                ],
            ),
            (
                "store_settings",
                vec![Value::Int(1), text("USD"), Value::Int(2)],
            ),
            ("journal", entry(1, "grant", 1_000)),
            ("journal", entry(2, "spend", -250)),
        ])
    }

    #[test]
    fn a_copy_into_an_empty_store_agrees_and_again_changes_nothing() {
        let (from, to) = (ledger(), Memory::empty());
        let Outcome::Copied(totals) = copy(&from, &to).unwrap() else {
            panic!("not copied")
        };
        assert_eq!(
            (totals.accounts, totals.journal_entries, totals.spent()),
            (1, 2, 250)
        );
        assert!(matches!(
            copy(&from, &to).unwrap(),
            Outcome::AlreadyThere(_)
        ));
    }

    #[test]
    fn another_ledger_or_currency_is_refused_and_left_alone() {
        let to = Memory::with(&[(
            "accounts",
            vec![
                text("ACC-2"),
                text("Kim"),
                Value::Time(1),
                Value::Bool(true),
            ],
        )]);
        let before = to.read_tables().unwrap();
        assert!(matches!(
            copy(&ledger(), &to).unwrap(),
            Outcome::Refused(Refusal::DifferentLedger)
        ));
        assert_eq!(before, to.read_tables().unwrap());

        let euros = Memory::with(&[(
            "store_settings",
            vec![Value::Int(1), text("EUR"), Value::Int(2)],
        )]);
        assert!(matches!(
            copy(&ledger(), &euros).unwrap(),
            Outcome::Refused(Refusal::DifferentCurrency(..))
        ));
    }

    #[test]
    fn a_store_that_loses_a_row_is_caught_by_name() {
        let to = Memory {
            lose_last_entry: true,
            ..Memory::empty()
        };
        let Outcome::Mismatch(figure) = copy(&ledger(), &to).unwrap() else {
            panic!("not caught")
        };
        assert_eq!(figure, "journal entries: 2 vs 1");
    }

    #[test]
    fn the_checksum_ignores_the_order_rows_were_read_in() {
        let (a, b) = (ledger(), ledger());
        b.tables
            .borrow_mut()
            .iter_mut()
            .for_each(|rows| rows.reverse());
        assert_eq!(
            Snapshot::read(&a).unwrap().checksum(),
            Snapshot::read(&b).unwrap().checksum()
        );
    }
}
