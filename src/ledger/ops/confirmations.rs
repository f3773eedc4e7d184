//! Changes waiting for their asker to confirm them: stored, read, and decided exactly once.

use super::{Ledger, at, ts};
use crate::error::Result;
use crate::ledger::Confirmation;
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

impl Ledger {
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
}
