//! SQL for the journal: writing an entry and reading an account's entries back.

use super::{PgTx, ts};
use crate::error::Result;
use crate::ledger::store::{Entry, JournalRows};
use crate::ledger::{Act, HistoryEntry, JournalKind};
use crate::money::Credits;
use postgres::types::{FromSql, Type};

impl JournalRows for PgTx<'_> {
    fn insert_entry(&mut self, entry_key: &str, act: &Act, entry: &Entry) -> Result<()> {
        self.exec(
            "INSERT INTO journal (entry_key, op_key, kind, account_id, member_id, lot_id, order_id, allocation_id, amount, detail, actor, reason, at, effective_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
            &[
                &entry_key,
                &act.key,
                &entry.kind.as_str(),
                &entry.account_id,
                &entry.member_id,
                &entry.lot_id,
                &entry.order_id,
                &entry.allocation_id,
                &entry.amount.minor(),
                &entry.detail,
                &act.actor,
                &entry.reason,
                &ts(act.now),
                &entry.effective_at.map(ts),
            ],
        )?;
        Ok(())
    }

    fn has_entry(&mut self, entry_key: &str) -> Result<bool> {
        Ok(self
            .opt(
                "SELECT 1 FROM journal WHERE entry_key = $1",
                &[&entry_key],
                |_| Ok(()),
            )?
            .is_some())
    }

    fn entry_count(&mut self, account_id: &str) -> Result<u64> {
        self.one(
            "SELECT count(*) FROM journal WHERE account_id = $1",
            &[&account_id],
            |r| Ok(r.try_get::<_, i64>(0)? as u64),
        )
    }

    fn entries(
        &mut self,
        account_id: &str,
        limit: u64,
        offset: u64,
        with_notes: bool,
    ) -> Result<Vec<HistoryEntry>> {
        self.all(
            "SELECT j.id, j.kind, j.amount, j.lot_id, o.external_id, j.detail, j.actor, j.reason,
                    coalesce(j.effective_at, j.at), j.at,
                    CASE WHEN $4 AND j.kind IN ('grant', 'revoke', 'expiry_change')
                         THEN (SELECT n.note FROM admin_notes n WHERE n.op_key = j.op_key) END
             FROM journal j LEFT JOIN orders o ON o.id = j.order_id
             WHERE j.account_id = $1 ORDER BY coalesce(j.effective_at, j.at) DESC, j.id DESC
             LIMIT $2 OFFSET $3",
            &[&account_id, &(limit as i64), &(offset as i64), &with_notes],
            |r| {
                Ok(HistoryEntry {
                    id: r.try_get(0)?,
                    kind: r.try_get(1)?,
                    amount: Credits::from_minor(r.try_get(2)?),
                    lot_id: r.try_get(3)?,
                    order_external_id: r.try_get(4)?,
                    detail: r.try_get(5)?,
                    actor: r.try_get(6)?,
                    reason: r.try_get(7)?,
                    at: r.try_get(8)?,
                    recorded_at: Some(r.try_get(9)?),
                    note: r.try_get(10)?,
                })
            },
        )
    }
}

/// A kind as the journal stores it; a name this binary doesn't know is a corrupt row, not a
/// kind to show as text.
impl<'a> FromSql<'a> for JournalKind {
    fn from_sql(
        ty: &Type,
        raw: &'a [u8],
    ) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        let text = <&str as FromSql>::from_sql(ty, raw)?;
        JournalKind::parse(text).ok_or_else(|| format!("unknown journal kind {text:?}").into())
    }

    fn accepts(ty: &Type) -> bool {
        <&str as FromSql>::accepts(ty)
    }
}
