//! Whole-ledger checks that prove invariants (money conservation, one account per entry, a
//! refused request changed nothing), over PostgreSQL, for tests and benches.

use super::PgStore;
use crate::error::Result;
use crate::ledger::LotId;
use crate::ledger::store::audit::Checksum;
use crate::ledger::store::{Audit, Store};
use crate::money::Credits;

impl Audit for PgStore {
    fn content_checksum(&self) -> Result<String> {
        self.read(|tx| {
            let tables: Vec<String> = tx.all(
                "SELECT tablename::text FROM pg_tables WHERE schemaname = current_schema()
                 ORDER BY tablename",
                &[],
                |r| r.try_get(0),
            )?;
            let mut checksum = Checksum::default();
            for table in tables {
                // Each row as PostgreSQL writes a row value.
                let sql = format!("SELECT t::text FROM \"{table}\" t");
                checksum.table(&table, tx.all(&sql, &[], |r| r.try_get(0))?);
            }
            Ok(checksum.finish())
        })
    }

    fn journal_totals(&self) -> Result<Vec<(String, Credits)>> {
        self.read(|tx| {
            tx.all(
                "SELECT kind, sum(amount)::bigint FROM journal GROUP BY kind ORDER BY kind",
                &[],
                |r| Ok((r.try_get(0)?, Credits::from_minor(r.try_get(1)?))),
            )
        })
    }

    fn lot_journal_sums(&self) -> Result<Vec<(LotId, Credits, Credits)>> {
        self.read(|tx| {
            tx.all(
                "SELECT l.id, l.remaining,
                        coalesce((SELECT sum(amount) FROM journal j WHERE j.lot_id = l.id), 0)::bigint
                 FROM lots l ORDER BY l.id",
                &[],
                |r| {
                    Ok((
                        r.try_get(0)?,
                        Credits::from_minor(r.try_get(1)?),
                        Credits::from_minor(r.try_get(2)?),
                    ))
                },
            )
        })
    }

    fn entries_touching_two_accounts(&self) -> Result<u64> {
        self.read(|tx| {
            tx.one(
                "SELECT count(*) FROM journal j JOIN lots l ON l.id = j.lot_id
                 WHERE l.account_id <> j.account_id",
                &[],
                |r| Ok(r.try_get::<_, i64>(0)? as u64),
            )
        })
    }
}
