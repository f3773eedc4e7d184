//! SQL for returns and their lines.

use super::{SqliteTx, ts};
use crate::error::Result;
use crate::ledger::store::ReturnRows;
use crate::money::Credits;
use chrono::{DateTime, Utc};
use rusqlite::params;

impl ReturnRows for SqliteTx<'_> {
    fn insert_return(
        &mut self,
        return_id: &str,
        order_id: i64,
        returned_at: DateTime<Utc>,
    ) -> Result<i64> {
        self.0.execute(
            "INSERT INTO returns
             (return_id, order_id, returned_at, credits_refunded, other_refunded)
             VALUES (?1, ?2, ?3, 0, 0)",
            params![return_id, order_id, ts(returned_at)],
        )?;
        Ok(self.0.last_insert_rowid())
    }

    fn insert_return_item(
        &mut self,
        return_row: i64,
        order_item_id: i64,
        quantity: i64,
        credits: Credits,
        other: Credits,
    ) -> Result<()> {
        self.0.execute(
            "INSERT INTO return_items (return_row, order_item_id, quantity, credits, other)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                return_row,
                order_item_id,
                quantity,
                credits.minor(),
                other.minor()
            ],
        )?;
        Ok(())
    }

    fn set_return_totals(
        &mut self,
        return_row: i64,
        credits_refunded: Credits,
        other_refunded: Credits,
    ) -> Result<()> {
        self.0.execute(
            "UPDATE returns SET credits_refunded = ?1, other_refunded = ?2
             WHERE id = ?3",
            params![credits_refunded.minor(), other_refunded.minor(), return_row],
        )?;
        Ok(())
    }
}
