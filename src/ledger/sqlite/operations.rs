//! SQL for idempotent operations: the result stored under each request's key.

use super::{SqliteTx, ts};
use crate::error::Result;
use crate::ledger::store::{OperationRows, StoredOperation};
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

impl OperationRows for SqliteTx<'_> {
    fn operation(&mut self, key: &str) -> Result<Option<StoredOperation>> {
        Ok(self
            .0
            .prepare_cached("SELECT fingerprint, result FROM operations WHERE idem_key = ?1")?
            .query_row([key], |row| {
                Ok(StoredOperation {
                    fingerprint: row.get(0)?,
                    result: row.get(1)?,
                })
            })
            .optional()?)
    }

    fn has_operation(&mut self, key: &str) -> Result<bool> {
        Ok(self
            .0
            .prepare_cached("SELECT 1 FROM operations WHERE idem_key = ?1")?
            .exists([key])?)
    }

    fn insert_operation(
        &mut self,
        key: &str,
        kind: &str,
        fingerprint: &str,
        result: &str,
        actor: &str,
        at: DateTime<Utc>,
    ) -> Result<()> {
        self.0
            .prepare_cached(
                "INSERT INTO operations (idem_key, kind, fingerprint, result, actor, at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![key, kind, fingerprint, result, actor, ts(at)])?;
        Ok(())
    }
}
