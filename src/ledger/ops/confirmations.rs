//! Changes waiting for their asker to confirm them: stored, read, and decided exactly once.

use super::Ledger;
use crate::error::Result;
use crate::ledger::store::prelude::*;
use crate::ledger::{Confirmation, MemberId};
use chrono::{DateTime, Utc};

impl<S: Store> Ledger<S> {
    /// Stores a change waiting for `asker` to confirm it until `expires_at`. The same id
    /// again (a retried request) keeps the first.
    pub fn ask_confirmation(
        &self,
        id: &str,
        asker: &MemberId,
        request: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<()> {
        self.store
            .write(|tx| tx.insert_confirmation(id, asker.as_str(), request, now, expires_at))
    }

    /// A stored confirmation, if there is one with this id.
    pub fn confirmation(&self, id: &str) -> Result<Option<Confirmation>> {
        self.store.read(|tx| tx.confirmation(id))
    }

    /// Records the answer to a confirmation: true when this call decided it, false when it
    /// had been answered already or had expired at `now` (then nothing changes). One
    /// conditional write, so of two presses at once exactly one decides.
    pub fn decide_confirmation(&self, id: &str, accept: bool, now: DateTime<Utc>) -> Result<bool> {
        self.store
            .write(|tx| tx.decide_confirmation(id, accept, now))
    }
}
