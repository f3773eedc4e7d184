//! SQL for returns and their lines.

use super::{PgTx, ts};
use crate::error::Result;
use crate::ledger::store::ReturnRows;
use crate::money::Credits;
use chrono::{DateTime, Utc};

impl ReturnRows for PgTx<'_> {
    fn insert_return(
        &mut self,
        return_id: &str,
        order_id: i64,
        returned_at: DateTime<Utc>,
    ) -> Result<i64> {
        self.one(
            "INSERT INTO returns
             (return_id, order_id, returned_at, credits_refunded, other_refunded)
             VALUES ($1, $2, $3, 0, 0) RETURNING id",
            &[&return_id, &order_id, &ts(returned_at)],
            |r| r.try_get(0),
        )
    }

    fn insert_return_item(
        &mut self,
        return_row: i64,
        order_item_id: i64,
        quantity: i64,
        credits: Credits,
        other: Credits,
    ) -> Result<()> {
        self.exec(
            "INSERT INTO return_items (return_row, order_item_id, quantity, credits, other)
             VALUES ($1, $2, $3, $4, $5)",
            &[
                &return_row,
                &order_item_id,
                &quantity,
                &credits.minor(),
                &other.minor(),
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
        self.exec(
            "UPDATE returns SET credits_refunded = $1, other_refunded = $2 WHERE id = $3",
            &[
                &credits_refunded.minor(),
                &other_refunded.minor(),
                &return_row,
            ],
        )?;
        Ok(())
    }
}
