//! SQL for questions the FAQ could not answer.

use super::{SqliteTx, at, ts};
use crate::error::Result;
use crate::ledger::store::UnansweredRows;
use chrono::{DateTime, Utc};
use rusqlite::params;

impl UnansweredRows for SqliteTx<'_> {
    fn insert_unanswered(
        &mut self,
        member_id: &str,
        question: &str,
        asked_at: DateTime<Utc>,
    ) -> Result<()> {
        self.0.execute(
            "INSERT INTO unanswered (member_id, question, asked_at) VALUES (?1, ?2, ?3)",
            params![member_id, question, ts(asked_at)],
        )?;
        Ok(())
    }

    fn unanswered_count(&mut self) -> Result<u64> {
        Ok(self
            .0
            .query_row("SELECT count(*) FROM unanswered", [], |r| r.get(0))?)
    }

    fn unanswered(&mut self, limit: usize) -> Result<Vec<(String, u64, DateTime<Utc>)>> {
        let mut stmt = self.0.prepare_cached(
            "SELECT lower(trim(question)) AS q, count(*), max(asked_at) FROM unanswered
             GROUP BY q ORDER BY count(*) DESC, max(asked_at) DESC LIMIT ?1",
        )?;
        Ok(stmt
            .query_map([limit as i64], |r| {
                Ok((r.get(0)?, r.get(1)?, at(r.get(2)?)))
            })?
            .collect::<rusqlite::Result<_>>()?)
    }
}
