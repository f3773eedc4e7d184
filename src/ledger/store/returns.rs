//! Returns and their lines, as rows.

use crate::error::Result;
use crate::money::Credits;
use chrono::{DateTime, Utc};

pub trait ReturnRows {
    /// Inserts a return of the order `order_id` (its totals zero until set); returns its row id.
    fn insert_return(
        &mut self,
        return_id: &str,
        order_id: i64,
        returned_at: DateTime<Utc>,
    ) -> Result<i64>;
    fn insert_return_item(
        &mut self,
        return_row: i64,
        order_item_id: i64,
        quantity: i64,
        credits: Credits,
        other: Credits,
    ) -> Result<()>;
    fn set_return_totals(
        &mut self,
        return_row: i64,
        credits_refunded: Credits,
        other_refunded: Credits,
    ) -> Result<()>;
}
