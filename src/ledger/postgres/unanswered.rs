//! SQL for questions the FAQ could not answer.

use super::{PgTx, ts};
use crate::error::Result;
use crate::ledger::store::UnansweredRows;
use chrono::{DateTime, Utc};

impl UnansweredRows for PgTx<'_> {
    fn insert_unanswered(
        &mut self,
        member_id: &str,
        question: &str,
        asked_at: DateTime<Utc>,
    ) -> Result<()> {
        self.exec(
            "INSERT INTO unanswered (member_id, question, asked_at) VALUES ($1, $2, $3)",
            &[&member_id, &question, &ts(asked_at)],
        )?;
        Ok(())
    }

    fn unanswered_count(&mut self) -> Result<u64> {
        self.one("SELECT count(*) FROM unanswered", &[], |r| {
            Ok(r.try_get::<_, i64>(0)? as u64)
        })
    }

    /// Grouped as SQLite's `lower(trim(…))` groups them: its `lower` folds ASCII letters only,
    /// as `ascii_lower` does.
    fn unanswered(&mut self, limit: usize) -> Result<Vec<(String, u64, DateTime<Utc>)>> {
        self.all(
            "SELECT ascii_lower(trim(question)) AS q, count(*), max(asked_at)
             FROM unanswered GROUP BY q ORDER BY count(*) DESC, max(asked_at) DESC LIMIT $1",
            &[&(limit as i64)],
            |r| Ok((r.try_get(0)?, r.try_get::<_, i64>(1)? as u64, r.try_get(2)?)),
        )
    }
}
