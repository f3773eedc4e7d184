//! Changes waiting for their asker to confirm them, as rows.

use crate::error::Result;
use crate::ledger::Confirmation;
use chrono::{DateTime, Utc};

pub trait ConfirmationRows {
    /// Stores a confirmation unless one with this id exists (then keeps that one).
    fn insert_confirmation(
        &mut self,
        id: &str,
        asker: &str,
        request: &str,
        created_at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<()>;
    fn confirmation(&mut self, id: &str) -> Result<Option<Confirmation>>;
    /// Decides a confirmation not decided yet and unexpired at `now`, in one conditional
    /// write: true when this call decided it.
    fn decide_confirmation(&mut self, id: &str, accept: bool, now: DateTime<Utc>) -> Result<bool>;
}
