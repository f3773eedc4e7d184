//! Questions the FAQ could not answer: recorded, counted, and listed most asked first.

use super::{Ledger, at, ts};
use crate::error::Result;
use chrono::{DateTime, Utc};
use rusqlite::params;

impl Ledger {
    /// How many unanswered questions are stored.
    pub fn unanswered_total(&self) -> Result<u64> {
        self.with_conn(|conn| {
            Ok(conn.query_row("SELECT count(*) FROM unanswered", [], |r| r.get(0))?)
        })
    }

    /// Records a question the FAQ could not answer.
    pub fn record_unanswered(
        &self,
        member_id: &str,
        question: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO unanswered (member_id, question, asked_at) VALUES (?1, ?2, ?3)",
                params![member_id, truncate_chars(question, 500), ts(now)],
            )?;
            Ok(())
        })
    }

    /// Unanswered questions, most asked first: (question, times asked, last asked).
    pub fn unanswered(&self, limit: usize) -> Result<Vec<(String, u64, DateTime<Utc>)>> {
        self.read(|tx| {
            let mut stmt = tx.prepare_cached(
                "SELECT lower(trim(question)) AS q, count(*), max(asked_at) FROM unanswered
                 GROUP BY q ORDER BY count(*) DESC, max(asked_at) DESC LIMIT ?1",
            )?;
            Ok(stmt
                .query_map([limit as i64], |r| {
                    Ok((r.get(0)?, r.get(1)?, at(r.get(2)?)))
                })?
                .collect::<rusqlite::Result<_>>()?)
        })
    }
}

fn truncate_chars(text: &str, max: usize) -> &str {
    match text.char_indices().nth(max) {
        Some((cut, _)) => &text[..cut],
        None => text,
    }
}
