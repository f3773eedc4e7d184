//! Questions the FAQ could not answer: recorded, counted, and listed most asked first.

use super::Ledger;
use crate::error::Result;
use crate::ledger::MemberId;
use crate::ledger::store::prelude::*;
use chrono::{DateTime, Utc};

impl<S: Store> Ledger<S> {
    /// How many unanswered questions are stored.
    pub fn unanswered_total(&self) -> Result<u64> {
        self.store.read(|tx| tx.unanswered_count())
    }

    /// Records a question the FAQ could not answer (its first 500 characters).
    pub fn record_unanswered(
        &self,
        member_id: &MemberId,
        question: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.store.write(|tx| {
            tx.insert_unanswered(member_id.as_str(), truncate_chars(question, 500), now)
        })
    }

    /// Unanswered questions, most asked first: (question, times asked, last asked).
    pub fn unanswered(&self, limit: usize) -> Result<Vec<(String, u64, DateTime<Utc>)>> {
        self.store.read(|tx| tx.unanswered(limit))
    }
}

fn truncate_chars(text: &str, max: usize) -> &str {
    match text.char_indices().nth(max) {
        Some((cut, _)) => &text[..cut],
        None => text,
    }
}
