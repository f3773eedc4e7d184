//! SQL for changes waiting for their asker to confirm them.

use super::{SqliteTx, at, ts};
use crate::error::Result;
use crate::ledger::Confirmation;
use crate::ledger::store::ConfirmationRows;
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

impl ConfirmationRows for SqliteTx<'_> {
    fn insert_confirmation(
        &mut self,
        id: &str,
        asker: &str,
        request: &str,
        created_at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<()> {
        self.0.execute(
            "INSERT OR IGNORE INTO confirmations (id, asker, request, created_at, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![id, asker, request, ts(created_at), ts(expires_at)],
        )?;
        Ok(())
    }

    fn confirmation(&mut self, id: &str) -> Result<Option<Confirmation>> {
        Ok(self
            .0
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
    }

    fn decide_confirmation(&mut self, id: &str, accept: bool, now: DateTime<Utc>) -> Result<bool> {
        let changed = self.0.execute(
            "UPDATE confirmations SET decided_at = ?1, decision = ?2
             WHERE id = ?3 AND decided_at IS NULL AND expires_at > ?1",
            params![ts(now), if accept { "yes" } else { "no" }, id],
        )?;
        Ok(changed == 1)
    }
}
