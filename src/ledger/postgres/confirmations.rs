//! SQL for changes waiting for their asker to confirm them.

use super::{PgTx, ts};
use crate::error::Result;
use crate::ledger::Confirmation;
use crate::ledger::store::ConfirmationRows;
use chrono::{DateTime, Utc};

impl ConfirmationRows for PgTx<'_> {
    fn insert_confirmation(
        &mut self,
        id: &str,
        asker: &str,
        request: &str,
        created_at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<()> {
        self.exec(
            "INSERT INTO confirmations (id, asker, request, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING",
            &[&id, &asker, &request, &ts(created_at), &ts(expires_at)],
        )?;
        Ok(())
    }

    fn confirmation(&mut self, id: &str) -> Result<Option<Confirmation>> {
        self.opt(
            "SELECT id, asker, request, expires_at, decision FROM confirmations WHERE id = $1",
            &[&id],
            |r| {
                Ok(Confirmation {
                    id: r.try_get(0)?,
                    asker: r.try_get(1)?,
                    request: r.try_get(2)?,
                    expires_at: r.try_get(3)?,
                    decision: r.try_get::<_, Option<&str>>(4)?.map(|d| d == "yes"),
                })
            },
        )
    }

    fn decide_confirmation(&mut self, id: &str, accept: bool, now: DateTime<Utc>) -> Result<bool> {
        let changed = self.exec(
            "UPDATE confirmations SET decided_at = $1, decision = $2
             WHERE id = $3 AND decided_at IS NULL AND expires_at > $1",
            &[&ts(now), &if accept { "yes" } else { "no" }, &id],
        )?;
        Ok(changed == 1)
    }
}
