//! Orders and spending: recording an order with the credits it spends, and reading orders back
//! (an account's list, an order's payment breakdown).

use super::accounts::require_open_account;
use super::checks::{check_id, check_optional_text};
use super::journal::Entry;
use super::lots::{change_remaining, lot, source_from};
use super::returns::{expired_credit_policy, spent_allocations};
use super::{Ledger, at, ts};
use crate::error::{Field, Result, UserError};
use crate::ledger::rules::{self, LineToPay, ReturnedCredit, SpendableLot};
use crate::ledger::{
    Act, Allocation, CreditChoice, IdempotencyKey, ItemBreakdown, ItemKind, JournalKind, LotShare,
    OrderBreakdown, OrderReceipt, OrderRequest, OrderSummary, When, whole_seconds,
};
use crate::money::Credits;
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Transaction, params};

impl Ledger {
    /// Every order of an account, newest first.
    pub fn orders_of(&self, account_id: &str) -> Result<Vec<OrderSummary>> {
        self.recent_orders(account_id, usize::MAX >> 1)
    }

    /// Records a purchase and spends credits on its digital items as the member chose.
    /// Idempotent by the order's external id.
    pub fn record_order(
        &self,
        actor: &str,
        when: impl Into<When>,
        request: &OrderRequest,
    ) -> Result<OrderReceipt> {
        validate_order(request)?;
        let act = Act::new(actor, when, IdempotencyKey::order(&request.external_id));
        let conflict = UserError::OrderAlreadyRecorded(request.external_id.clone());
        self.keyed("order", &act, request, conflict, |tx, journal| {
            require_open_account(tx, &request.account_id)?;
            self.check_dated(tx, &act, &request.account_id)?;
            let lines: Vec<LineToPay> = request
                .items
                .iter()
                .map(|item| LineToPay {
                    kind: item.kind,
                    total: item.unit_price.checked_mul(item.quantity).unwrap_or(Credits::ZERO),
                })
                .collect();
            let total: Credits = lines.iter().map(|l| l.total).sum();
            let mut lots = spendable_lots(tx, &request.account_id, &act)?;
            rules::sort_for_spending(&mut lots);
            let cap = match request.credits {
                CreditChoice::All => None,
                CreditChoice::None => Some(Credits::ZERO),
                CreditChoice::UpTo(cap) => Some(cap),
            };
            let takes = rules::allocate(&lines, &lots, cap);
            let credits_applied: Credits = takes.iter().map(|t| t.amount).sum();
            let other_amount = total - credits_applied;
            let other_method = request.other_method.as_deref().map(str::trim).filter(|m| !m.is_empty());
            if other_amount.is_positive() && other_method.is_none() {
                return Err(UserError::PaymentMethodMissing.into());
            }
            tx.execute(
                "INSERT INTO orders (external_id, account_id, placed_at, credit_choice, other_method, credits_applied, other_amount)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    request.external_id,
                    request.account_id,
                    ts(act.now),
                    choice_text(request.credits),
                    other_method,
                    credits_applied.minor(),
                    other_amount.minor()
                ],
            )?;
            let order_id = tx.last_insert_rowid();
            let mut allocations = Vec::with_capacity(takes.len());
            for (line, (item, pay)) in request.items.iter().zip(&lines).enumerate() {
                let line_credits: Credits = takes.iter().filter(|t| t.line == line).map(|t| t.amount).sum();
                tx.execute(
                    "INSERT INTO order_items (order_id, line, sku, title, kind, unit_price, quantity, credits)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                    params![order_id, line as i64, item.sku, item.title, item.kind.as_str(), item.unit_price.minor(), item.quantity, line_credits.minor()],
                )?;
                let item_id = tx.last_insert_rowid();
                debug_assert!(line_credits <= pay.total);
                for take in takes.iter().filter(|t| t.line == line) {
                    tx.execute(
                        "INSERT INTO allocations (order_item_id, lot_id, amount) VALUES (?1, ?2, ?3)",
                        params![item_id, take.lot_id, take.amount.minor()],
                    )?;
                    let allocation_id = tx.last_insert_rowid();
                    let delta = Credits::ZERO - take.amount;
                    change_remaining(tx, take.lot_id, delta)?;
                    journal.write(
                        tx,
                        Entry::new(JournalKind::Spend, &request.account_id, "order")
                            .lot(take.lot_id, delta)
                            .order(order_id)
                            .allocation(allocation_id),
                    )?;
                    allocations.push(Allocation { line, sku: item.sku.clone(), lot_id: take.lot_id, amount: take.amount });
                }
            }
            Ok(OrderReceipt {
                external_id: request.external_id.clone(),
                account_id: request.account_id.clone(),
                total,
                credits_applied,
                other_amount,
                other_method: other_method.map(str::to_string),
                allocations,
            })
        })
    }

    /// An order's payment breakdown, per item and per lot, with what a return at `now` would
    /// give back (and what it would not: credit from a revoked grant, or from an expired one
    /// under the `expire` policy or on a closed account).
    pub fn order_breakdown(&self, external_id: &str, now: DateTime<Utc>) -> Result<OrderBreakdown> {
        let now = whole_seconds(now);
        let policy = self.settings.expired_lot_policy;
        self.read(|tx| {
            let (order_id, account_id, placed_at, other_method, credits_applied, other_amount) = tx
                .query_row(
                    "SELECT id, account_id, placed_at, other_method, credits_applied, other_amount
                     FROM orders WHERE external_id = ?1",
                    [external_id],
                    |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?, r.get::<_, Option<String>>(3)?, r.get::<_, i64>(4)?, r.get::<_, i64>(5)?)),
                )
                .optional()?
                .ok_or_else(|| UserError::UnknownOrder(external_id.to_string()))?;
            let policy = expired_credit_policy(tx, &account_id, policy)?;
            let mut items = Vec::new();
            for item in order_items(tx, order_id)? {
                let mut stmt = tx.prepare_cached(
                    "SELECT a.lot_id, l.source, a.amount FROM allocations a JOIN lots l ON l.id = a.lot_id
                     WHERE a.order_item_id = ?1 ORDER BY a.id",
                )?;
                let credits_by_lot = stmt
                    .query_map([item.id], |r| {
                        Ok(LotShare { lot_id: r.get(0)?, source: source_from(r.get_ref(1)?.as_str()?), amount: Credits::from_minor(r.get(2)?) })
                    })?
                    .collect::<rusqlite::Result<_>>()?;
                let left = item.quantity - item.returned_quantity;
                let other = item.total - item.credits;
                let credits_back = rules::return_share(item.credits, item.quantity, item.returned_quantity, left);
                let mut return_would_forfeit = Credits::ZERO;
                for back in rules::give_back(&spent_allocations(tx, item.id)?, credits_back) {
                    let source = lot(tx, back.lot_id)?;
                    if !ReturnedCredit::of(source.revoked, source.is_live(now), policy).comes_back() {
                        return_would_forfeit += back.amount;
                    }
                }
                items.push(ItemBreakdown {
                    line: item.line,
                    sku: item.sku.clone(),
                    title: item.title.clone(),
                    kind: item.kind,
                    unit_price: item.unit_price,
                    quantity: item.quantity,
                    total: item.total,
                    credits: item.credits,
                    credits_by_lot,
                    other,
                    returned_quantity: item.returned_quantity,
                    credits_returned: item.credits_returned,
                    other_returned: item.other_returned,
                    return_would_restore: credits_back - return_would_forfeit,
                    return_would_forfeit,
                    return_would_refund_other: rules::return_share(other, item.quantity, item.returned_quantity, left),
                });
            }
            Ok(OrderBreakdown {
                external_id: external_id.to_string(),
                account_id,
                placed_at: at(placed_at),
                total: items.iter().map(|i| i.total).sum(),
                credits_applied: Credits::from_minor(credits_applied),
                other_amount: Credits::from_minor(other_amount),
                other_method,
                items,
            })
        })
    }

    /// An account's most recent orders, newest first.
    pub fn recent_orders(&self, account_id: &str, limit: usize) -> Result<Vec<OrderSummary>> {
        self.read(|tx| {
            let mut stmt = tx.prepare_cached(
                "SELECT o.external_id, o.placed_at, o.credits_applied + o.other_amount, o.credits_applied
                 FROM orders o WHERE o.account_id = ?1 ORDER BY o.placed_at DESC, o.id DESC LIMIT ?2",
            )?;
            Ok(stmt
                .query_map(params![account_id, limit as i64], |r| {
                    Ok(OrderSummary {
                        external_id: r.get(0)?,
                        placed_at: at(r.get(1)?),
                        total: Credits::from_minor(r.get(2)?),
                        credits_applied: Credits::from_minor(r.get(3)?),
                    })
                })?
                .collect::<rusqlite::Result<_>>()?)
        })
    }
}

fn validate_order(request: &OrderRequest) -> Result<()> {
    check_id(Field::OrderId, &request.external_id)?;
    check_id(Field::AccountId, &request.account_id)?;
    if request.items.is_empty() {
        return Err(UserError::OrderWithoutItems.into());
    }
    let mut total = Credits::ZERO;
    for (n, item) in request.items.iter().enumerate() {
        check_id(Field::ItemSku(n), &item.sku)?;
        check_optional_text(Field::ItemTitle(n), &item.title)?;
        if item.quantity < 1 {
            return Err(UserError::ItemQuantity {
                item: item.sku.clone(),
                line: n,
            }
            .into());
        }
        if item.unit_price.minor() < 0 {
            return Err(UserError::ItemPriceNegative {
                item: item.sku.clone(),
                line: n,
            }
            .into());
        }
        if request.items[..n].iter().any(|other| other.sku == item.sku) {
            return Err(UserError::ItemDuplicated {
                item: item.sku.clone(),
                line: n,
            }
            .into());
        }
        total = item
            .unit_price
            .checked_mul(item.quantity)
            .and_then(|line| total.checked_add(line))
            .ok_or(UserError::OrderTooLarge)?;
    }
    if let CreditChoice::UpTo(cap) = request.credits
        && cap.minor() < 0
    {
        return Err(UserError::AmountNegative.into());
    }
    if let Some(method) = &request.other_method {
        check_optional_text(Field::PaymentMethod, method)?;
    }
    Ok(())
}

fn choice_text(choice: CreditChoice) -> String {
    match choice {
        CreditChoice::All => "all".into(),
        CreditChoice::None => "none".into(),
        CreditChoice::UpTo(cap) => format!("up_to:{}", cap.minor()),
    }
}

/// The lots a change can spend from: granted by its `at`, and live at both its `at` and the
/// moment it was recorded (see [`When`]), however long ago the sweep last ran.
fn spendable_lots(tx: &Transaction, account_id: &str, act: &Act) -> Result<Vec<SpendableLot>> {
    let mut stmt = tx.prepare_cached(
        "SELECT id, remaining, expires_at, granted_at FROM lots
         WHERE account_id = ?1 AND remaining > 0 AND (expires_at IS NULL OR expires_at > ?3)
           AND granted_at <= ?2",
    )?;
    Ok(stmt
        .query_map(params![account_id, ts(act.now), ts(act.live_at())], |r| {
            Ok(SpendableLot {
                id: r.get(0)?,
                remaining: Credits::from_minor(r.get(1)?),
                expires_at: r.get::<_, Option<i64>>(2)?.map(at),
                granted_at: at(r.get(3)?),
            })
        })?
        .collect::<rusqlite::Result<_>>()?)
}

/// An order line with what has been returned of it so far.
pub(super) struct StoredItem {
    pub(super) id: i64,
    pub(super) line: usize,
    pub(super) sku: String,
    pub(super) title: String,
    pub(super) kind: ItemKind,
    pub(super) unit_price: Credits,
    pub(super) quantity: i64,
    pub(super) total: Credits,
    pub(super) credits: Credits,
    pub(super) returned_quantity: i64,
    pub(super) credits_returned: Credits,
    pub(super) other_returned: Credits,
}

pub(super) fn order_items(tx: &Transaction, order_id: i64) -> Result<Vec<StoredItem>> {
    let mut stmt = tx.prepare_cached(
        "SELECT i.id, i.line, i.sku, i.title, i.kind, i.unit_price, i.quantity, i.credits,
                coalesce(sum(r.quantity), 0), coalesce(sum(r.credits), 0), coalesce(sum(r.other), 0)
         FROM order_items i LEFT JOIN return_items r ON r.order_item_id = i.id
         WHERE i.order_id = ?1 GROUP BY i.id ORDER BY i.line",
    )?;
    Ok(stmt
        .query_map([order_id], |r| {
            let unit_price = Credits::from_minor(r.get(5)?);
            let quantity: i64 = r.get(6)?;
            Ok(StoredItem {
                id: r.get(0)?,
                line: r.get::<_, i64>(1)? as usize,
                sku: r.get(2)?,
                title: r.get(3)?,
                kind: if r.get_ref(4)?.as_str()? == "physical" {
                    ItemKind::Physical
                } else {
                    ItemKind::Digital
                },
                unit_price,
                quantity,
                total: Credits::from_minor(unit_price.minor() * quantity),
                credits: Credits::from_minor(r.get(7)?),
                returned_quantity: r.get(8)?,
                credits_returned: Credits::from_minor(r.get(9)?),
                other_returned: Credits::from_minor(r.get(10)?),
            })
        })?
        .collect::<rusqlite::Result<_>>()?)
}
