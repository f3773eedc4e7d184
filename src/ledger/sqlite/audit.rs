//! Whole-ledger checks that prove invariants (money conservation, one account per entry, a
//! refused request changed nothing) and copies of the database for tests and benches. They
//! read the SQLite file as it is, so they are the SQLite ledger's own.

use super::SqliteStore;
use crate::error::{Error, Result};
use crate::ledger::LotId;
use crate::ledger::store::audit::Checksum;
use crate::ledger::store::{Audit, Store};
use crate::money::Credits;
use rusqlite::Connection;
use std::path::Path;

impl SqliteStore {
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
}

impl Audit for SqliteStore {
    /// A checksum over every row of every table, to prove a refused request changed nothing.
    fn content_checksum(&self) -> Result<String> {
        self.read(|tx| {
            let tx = &tx.0;
            let tables: Vec<String> = {
                let mut stmt = tx.prepare(
                    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
                )?;
                stmt.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?
            };
            let mut checksum = Checksum::default();
            for table in tables {
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
                checksum.table(&table, lines);
            }
            Ok(checksum.finish())
        })
    }

    /// Journal totals by kind over the whole ledger, for audits and invariant checks.
    fn journal_totals(&self) -> Result<Vec<(String, Credits)>> {
        self.read(|tx| {
            let tx = &tx.0;
            let mut stmt =
                tx.prepare("SELECT kind, sum(amount) FROM journal GROUP BY kind ORDER BY kind")?;
            Ok(stmt
                .query_map([], |r| Ok((r.get(0)?, Credits::from_minor(r.get(1)?))))?
                .collect::<rusqlite::Result<_>>()?)
        })
    }

    /// For each lot: its remaining and the sum of its journal entries (they must agree).
    fn lot_journal_sums(&self) -> Result<Vec<(LotId, Credits, Credits)>> {
        self.read(|tx| {
            let tx = &tx.0;
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
    fn entries_touching_two_accounts(&self) -> Result<u64> {
        self.read(|tx| {
            let tx = &tx.0;
            Ok(tx.query_row(
                "SELECT count(*) FROM journal j JOIN lots l ON l.id = j.lot_id WHERE l.account_id <> j.account_id",
                [],
                |r| r.get(0),
            )?)
        })
    }
}
