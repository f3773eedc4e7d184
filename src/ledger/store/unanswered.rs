//! Questions the FAQ could not answer, as rows.

use crate::error::Result;
use chrono::{DateTime, Utc};

pub trait UnansweredRows {
    fn insert_unanswered(
        &mut self,
        member_id: &str,
        question: &str,
        asked_at: DateTime<Utc>,
    ) -> Result<()>;
    fn unanswered_count(&mut self) -> Result<u64>;
    /// Questions grouped ignoring case and surrounding space, most asked first (then most
    /// recently asked): (question, times asked, last asked), at most `limit`.
    fn unanswered(&mut self, limit: usize) -> Result<Vec<(String, u64, DateTime<Utc>)>>;
}
