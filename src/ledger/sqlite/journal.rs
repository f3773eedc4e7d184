//! SQL for the journal: writing an entry and reading an account's entries back.

use super::{SqliteTx, at, ts};
use crate::error::Result;
use crate::ledger::store::{Entry, JournalRows};
use crate::ledger::{Act, HistoryEntry, JournalKind};
use crate::money::Credits;
use rusqlite::params;

impl JournalRows for SqliteTx<'_> {
    fn insert_entry(&mut self, entry_key: &str, act: &Act, entry: &Entry) -> Result<()> {
        self.0.prepare_cached(
            "INSERT INTO journal (entry_key, op_key, kind, account_id, member_id, lot_id, order_id, allocation_id, amount, detail, actor, reason, at, effective_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
        )?
        .execute(params![
            entry_key,
            act.key,
            entry.kind.as_str(),
            entry.account_id,
            entry.member_id,
            entry.lot_id,
            entry.order_id,
            entry.allocation_id,
            entry.amount.minor(),
            entry.detail,
            act.actor,
            entry.reason,
            ts(act.now),
            entry.effective_at.map(ts)
        ])?;
        Ok(())
    }

    fn has_entry(&mut self, entry_key: &str) -> Result<bool> {
        Ok(self
            .0
            .prepare_cached("SELECT 1 FROM journal WHERE entry_key = ?1")?
            .exists([entry_key])?)
    }

    fn entry_count(&mut self, account_id: &str) -> Result<u64> {
        Ok(self.0.query_row(
            "SELECT count(*) FROM journal WHERE account_id = ?1",
            [account_id],
            |r| r.get(0),
        )?)
    }

    fn entries(
        &mut self,
        account_id: &str,
        limit: u64,
        offset: u64,
        with_notes: bool,
    ) -> Result<Vec<HistoryEntry>> {
        let mut stmt = self.0.prepare_cached(
            "SELECT j.id, j.kind, j.amount, j.lot_id, o.external_id, j.detail, j.actor, j.reason,
                    coalesce(j.effective_at, j.at), j.at,
                    CASE WHEN ?4 AND j.kind IN ('grant', 'revoke', 'expiry_change')
                         THEN (SELECT n.note FROM admin_notes n WHERE n.op_key = j.op_key) END
             FROM journal j LEFT JOIN orders o ON o.id = j.order_id
             WHERE j.account_id = ?1 ORDER BY coalesce(j.effective_at, j.at) DESC, j.id DESC
             LIMIT ?2 OFFSET ?3",
        )?;
        Ok(stmt
            .query_map(
                params![account_id, limit as i64, offset as i64, with_notes],
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
            .collect::<rusqlite::Result<_>>()?)
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
