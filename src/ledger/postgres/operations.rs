//! SQL for idempotent operations: the result stored under each request's key.

use super::{PgTx, ts};
use crate::error::Result;
use crate::ledger::store::{OperationRows, StoredOperation};
use chrono::{DateTime, Utc};

impl OperationRows for PgTx<'_> {
    fn operation(&mut self, key: &str) -> Result<Option<StoredOperation>> {
        self.opt(
            "SELECT fingerprint, result FROM operations WHERE idem_key = $1",
            &[&key],
            |row| {
                Ok(StoredOperation {
                    fingerprint: row.try_get(0)?,
                    result: row.try_get(1)?,
                })
            },
        )
    }

    fn has_operation(&mut self, key: &str) -> Result<bool> {
        Ok(self
            .opt(
                "SELECT 1 FROM operations WHERE idem_key = $1",
                &[&key],
                |_| Ok(()),
            )?
            .is_some())
    }

    /// A concurrent transaction inserting the same key makes this fail with a unique
    /// violation (or a serialization failure): `PgStore::write` runs the change again, and
    /// then it finds the key and replays.
    fn insert_operation(
        &mut self,
        key: &str,
        kind: &str,
        fingerprint: &str,
        result: &str,
        actor: &str,
        at: DateTime<Utc>,
    ) -> Result<()> {
        self.exec(
            "INSERT INTO operations (idem_key, kind, fingerprint, result, actor, at)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[&key, &kind, &fingerprint, &result, &actor, &ts(at)],
        )?;
        Ok(())
    }
}
