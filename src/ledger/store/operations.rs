//! Idempotent operations, as rows: the result stored under each request's key. What a key
//! means (replay, conflict, fingerprint) is `ledger::ops`; the store only keeps the rows.

use crate::error::Result;
use chrono::{DateTime, Utc};

/// What was stored under a key: the request's fingerprint and its result (JSON).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredOperation {
    pub fingerprint: String,
    pub result: String,
}

pub trait OperationRows {
    fn operation(&mut self, key: &str) -> Result<Option<StoredOperation>>;
    fn has_operation(&mut self, key: &str) -> Result<bool>;
    fn insert_operation(
        &mut self,
        key: &str,
        kind: &str,
        fingerprint: &str,
        result: &str,
        actor: &str,
        at: DateTime<Utc>,
    ) -> Result<()>;
}
