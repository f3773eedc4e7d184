//! SQL for orders, their lines and the allocations that paid for them.

use super::lots::source_from;
use super::{PgTx, ts};
use crate::error::Result;
use crate::ledger::rules::SpentAllocation;
use crate::ledger::store::{NewOrder, OrderRow, OrderRows, StoredItem};
use crate::ledger::{ItemKind, LotId, LotShare, OrderItemRequest, OrderSummary};
use crate::money::Credits;

impl OrderRows for PgTx<'_> {
    fn insert_order(&mut self, order: &NewOrder) -> Result<i64> {
        self.one(
            "INSERT INTO orders (external_id, account_id, placed_at, credit_choice, other_method, credits_applied, other_amount)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            &[
                &order.external_id,
                &order.account_id,
                &ts(order.placed_at),
                &order.credit_choice,
                &order.other_method,
                &order.credits_applied.minor(),
                &order.other_amount.minor(),
            ],
            |r| r.try_get(0),
        )
    }

    fn insert_order_item(
        &mut self,
        order_id: i64,
        line: usize,
        item: &OrderItemRequest,
        credits: Credits,
    ) -> Result<i64> {
        self.one(
            "INSERT INTO order_items (order_id, line, sku, title, kind, unit_price, quantity, credits)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
            &[
                &order_id,
                &(line as i64),
                &item.sku,
                &item.title,
                &item.kind.as_str(),
                &item.unit_price.minor(),
                &item.quantity,
                &credits.minor(),
            ],
            |r| r.try_get(0),
        )
    }

    fn insert_allocation(
        &mut self,
        order_item_id: i64,
        lot_id: LotId,
        amount: Credits,
    ) -> Result<i64> {
        self.one(
            "INSERT INTO allocations (order_item_id, lot_id, amount) VALUES ($1, $2, $3) RETURNING id",
            &[&order_item_id, &lot_id, &amount.minor()],
            |r| r.try_get(0),
        )
    }

    fn order_by_external_id(&mut self, external_id: &str) -> Result<Option<OrderRow>> {
        self.opt(
            "SELECT id, account_id, placed_at, other_method, credits_applied, other_amount
             FROM orders WHERE external_id = $1",
            &[&external_id],
            |r| {
                Ok(OrderRow {
                    id: r.try_get(0)?,
                    account_id: r.try_get(1)?,
                    placed_at: r.try_get(2)?,
                    other_method: r.try_get(3)?,
                    credits_applied: Credits::from_minor(r.try_get(4)?),
                    other_amount: Credits::from_minor(r.try_get(5)?),
                })
            },
        )
    }

    fn order_items(&mut self, order_id: i64) -> Result<Vec<StoredItem>> {
        // `sum` of bigints is a numeric in PostgreSQL: cast back to the minor units' type.
        self.all(
            "SELECT i.id, i.line, i.sku, i.title, i.kind, i.unit_price, i.quantity, i.credits,
                    coalesce(sum(r.quantity), 0)::bigint, coalesce(sum(r.credits), 0)::bigint,
                    coalesce(sum(r.other), 0)::bigint
             FROM order_items i LEFT JOIN return_items r ON r.order_item_id = i.id
             WHERE i.order_id = $1 GROUP BY i.id ORDER BY i.line",
            &[&order_id],
            |r| {
                let unit_price = Credits::from_minor(r.try_get(5)?);
                let quantity: i64 = r.try_get(6)?;
                Ok(StoredItem {
                    id: r.try_get(0)?,
                    line: r.try_get::<_, i64>(1)? as usize,
                    sku: r.try_get(2)?,
                    title: r.try_get(3)?,
                    kind: if r.try_get::<_, &str>(4)? == "physical" {
                        ItemKind::Physical
                    } else {
                        ItemKind::Digital
                    },
                    unit_price,
                    quantity,
                    total: Credits::from_minor(unit_price.minor() * quantity),
                    credits: Credits::from_minor(r.try_get(7)?),
                    returned_quantity: r.try_get(8)?,
                    credits_returned: Credits::from_minor(r.try_get(9)?),
                    other_returned: Credits::from_minor(r.try_get(10)?),
                })
            },
        )
    }

    fn lot_shares(&mut self, order_item_id: i64) -> Result<Vec<LotShare>> {
        self.all(
            "SELECT a.lot_id, l.source, a.amount FROM allocations a JOIN lots l ON l.id = a.lot_id
             WHERE a.order_item_id = $1 ORDER BY a.id",
            &[&order_item_id],
            |r| {
                Ok(LotShare {
                    lot_id: r.try_get(0)?,
                    source: source_from(r.try_get(1)?),
                    amount: Credits::from_minor(r.try_get(2)?),
                })
            },
        )
    }

    fn spent_allocations(&mut self, order_item_id: i64) -> Result<Vec<SpentAllocation>> {
        self.all(
            "SELECT a.id, a.lot_id, a.amount,
                    coalesce((SELECT sum(j.amount) FROM journal j
                              WHERE j.allocation_id = a.id AND j.kind IN ('refund', 'reissue')), 0)::bigint
             FROM allocations a WHERE a.order_item_id = $1 ORDER BY a.id",
            &[&order_item_id],
            |r| {
                Ok(SpentAllocation {
                    allocation_id: r.try_get(0)?,
                    lot_id: r.try_get(1)?,
                    taken: Credits::from_minor(r.try_get(2)?),
                    given_back: Credits::from_minor(r.try_get(3)?),
                })
            },
        )
    }

    fn recent_orders(&mut self, account_id: &str, limit: usize) -> Result<Vec<OrderSummary>> {
        self.all(
            "SELECT o.external_id, o.placed_at, o.credits_applied + o.other_amount, o.credits_applied
             FROM orders o WHERE o.account_id = $1 ORDER BY o.placed_at DESC, o.id DESC LIMIT $2",
            &[&account_id, &(limit as i64)],
            |r| {
                Ok(OrderSummary {
                    external_id: r.try_get(0)?,
                    placed_at: r.try_get(1)?,
                    total: Credits::from_minor(r.try_get(2)?),
                    credits_applied: Credits::from_minor(r.try_get(3)?),
                })
            },
        )
    }
}
