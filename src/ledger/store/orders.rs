//! Orders, their lines and the allocations that paid for them, as rows.

use crate::error::Result;
use crate::ledger::rules::SpentAllocation;
use crate::ledger::{AccountId, ItemKind, LotId, LotShare, OrderItemRequest, OrderSummary};
use crate::money::Credits;
use chrono::{DateTime, Utc};

/// An order to insert.
#[derive(Clone, Debug)]
pub struct NewOrder<'a> {
    pub external_id: &'a str,
    pub account_id: &'a str,
    pub placed_at: DateTime<Utc>,
    /// The member's credit choice as stored: `all`, `none` or `up_to:{minor}`.
    pub credit_choice: &'a str,
    pub other_method: Option<&'a str>,
    pub credits_applied: Credits,
    pub other_amount: Credits,
}

/// A stored order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderRow {
    /// The row id (journal entries and refund lots refer to it).
    pub id: i64,
    pub account_id: AccountId,
    pub placed_at: DateTime<Utc>,
    pub other_method: Option<String>,
    pub credits_applied: Credits,
    pub other_amount: Credits,
}

/// An order line with what has been returned of it so far.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredItem {
    pub id: i64,
    pub line: usize,
    pub sku: String,
    pub title: String,
    pub kind: ItemKind,
    pub unit_price: Credits,
    pub quantity: i64,
    pub total: Credits,
    pub credits: Credits,
    pub returned_quantity: i64,
    pub credits_returned: Credits,
    pub other_returned: Credits,
}

pub trait OrderRows {
    /// Inserts an order and returns its row id.
    fn insert_order(&mut self, order: &NewOrder) -> Result<i64>;
    /// Inserts line `line` of an order, paid `credits` in credit; returns its row id.
    fn insert_order_item(
        &mut self,
        order_id: i64,
        line: usize,
        item: &OrderItemRequest,
        credits: Credits,
    ) -> Result<i64>;
    /// Records that `amount` of `lot_id` paid for an order line; returns the allocation's id.
    fn insert_allocation(
        &mut self,
        order_item_id: i64,
        lot_id: LotId,
        amount: Credits,
    ) -> Result<i64>;
    fn order_by_external_id(&mut self, external_id: &str) -> Result<Option<OrderRow>>;
    /// An order's lines in order, with what has been returned of each.
    fn order_items(&mut self, order_id: i64) -> Result<Vec<StoredItem>>;
    /// What each lot paid for an order line, in allocation order.
    fn lot_shares(&mut self, order_item_id: i64) -> Result<Vec<LotShare>>;
    /// An order line's allocations in order, with what refunds and reissues gave back of each.
    fn spent_allocations(&mut self, order_item_id: i64) -> Result<Vec<SpentAllocation>>;
    /// An account's most recent orders, newest first, at most `limit`.
    fn recent_orders(&mut self, account_id: &str, limit: usize) -> Result<Vec<OrderSummary>>;
}
