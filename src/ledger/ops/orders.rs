//! Orders and spending: recording an order with the credits it spends, and reading orders back
//! (an account's list, an order's payment breakdown).

use super::Ledger;
use super::accounts::require_open_account;
use super::checks::{check_id, check_optional_text};
use super::lots::lot;
use super::returns::expired_credit_policy;
use crate::error::{Field, Result, UserError};
use crate::ledger::rules::{self, LineToPay, ReturnedCredit, SpendableLot};
use crate::ledger::store::prelude::*;
use crate::ledger::store::{Entry, NewOrder};
use crate::ledger::{
    AccountId, Act, Allocation, CreditChoice, IdempotencyKey, ItemBreakdown, JournalKind,
    OrderBreakdown, OrderId, OrderReceipt, OrderRequest, OrderSummary, When, whole_seconds,
};
use crate::money::Credits;
use chrono::{DateTime, Utc};

impl<S: Store> Ledger<S> {
    /// Every order of an account, newest first.
    pub fn orders_of(&self, account_id: &AccountId) -> Result<Vec<OrderSummary>> {
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
        let act = Act::new(
            actor,
            when,
            IdempotencyKey::order(request.external_id.as_str()),
        );
        let conflict = UserError::OrderAlreadyRecorded(request.external_id.to_string());
        self.keyed("order", &act, request, conflict, |tx, journal| {
            require_open_account(tx, request.account_id.as_str())?;
            self.check_dated(tx, &act, request.account_id.as_str())?;
            let lines: Vec<LineToPay> = request
                .items
                .iter()
                .map(|item| LineToPay {
                    kind: item.kind,
                    total: item
                        .unit_price
                        .checked_mul(item.quantity)
                        .unwrap_or(Credits::ZERO),
                })
                .collect();
            let total: Credits = lines.iter().map(|l| l.total).sum();
            let mut lots = spendable_lots(tx, request.account_id.as_str(), &act)?;
            rules::sort_for_spending(&mut lots);
            let cap = match request.credits {
                CreditChoice::All => None,
                CreditChoice::None => Some(Credits::ZERO),
                CreditChoice::UpTo(cap) => Some(cap),
            };
            let takes = rules::allocate(&lines, &lots, cap);
            let credits_applied: Credits = takes.iter().map(|t| t.amount).sum();
            let other_amount = total - credits_applied;
            let other_method = request
                .other_method
                .as_deref()
                .map(str::trim)
                .filter(|m| !m.is_empty());
            if other_amount.is_positive() && other_method.is_none() {
                return Err(UserError::PaymentMethodMissing.into());
            }
            let order_id = tx.insert_order(&NewOrder {
                external_id: request.external_id.as_str(),
                account_id: request.account_id.as_str(),
                placed_at: act.now,
                credit_choice: &choice_text(request.credits),
                other_method,
                credits_applied,
                other_amount,
            })?;
            let mut allocations = Vec::with_capacity(takes.len());
            for (line, (item, pay)) in request.items.iter().zip(&lines).enumerate() {
                let line_credits: Credits = takes
                    .iter()
                    .filter(|t| t.line == line)
                    .map(|t| t.amount)
                    .sum();
                let item_id = tx.insert_order_item(order_id, line, item, line_credits)?;
                debug_assert!(line_credits <= pay.total);
                for take in takes.iter().filter(|t| t.line == line) {
                    let allocation_id = tx.insert_allocation(item_id, take.lot_id, take.amount)?;
                    let delta = Credits::ZERO - take.amount;
                    tx.change_remaining(take.lot_id, delta)?;
                    journal.write(
                        tx,
                        Entry::new(JournalKind::Spend, request.account_id.as_str(), "order")
                            .lot(take.lot_id, delta)
                            .order(order_id)
                            .allocation(allocation_id),
                    )?;
                    allocations.push(Allocation {
                        line,
                        sku: item.sku.clone(),
                        lot_id: take.lot_id,
                        amount: take.amount,
                    });
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
    pub fn order_breakdown(
        &self,
        external_id: &OrderId,
        now: DateTime<Utc>,
    ) -> Result<OrderBreakdown> {
        let now = whole_seconds(now);
        let policy = self.settings.expired_lot_policy;
        self.store.read(|tx| {
            let order = tx
                .order_by_external_id(external_id.as_str())?
                .ok_or_else(|| UserError::UnknownOrder(external_id.to_string()))?;
            let policy = expired_credit_policy(tx, order.account_id.as_str(), policy)?;
            let mut items = Vec::new();
            for item in tx.order_items(order.id)? {
                let credits_by_lot = tx.lot_shares(item.id)?;
                let left = item.quantity - item.returned_quantity;
                let other = item.total - item.credits;
                let credits_back =
                    rules::return_share(item.credits, item.quantity, item.returned_quantity, left);
                let mut return_would_forfeit = Credits::ZERO;
                for back in rules::give_back(&tx.spent_allocations(item.id)?, credits_back) {
                    let source = lot(tx, back.lot_id)?;
                    if !ReturnedCredit::of(source.revoked, source.is_live(now), policy).comes_back()
                    {
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
                    return_would_refund_other: rules::return_share(
                        other,
                        item.quantity,
                        item.returned_quantity,
                        left,
                    ),
                });
            }
            Ok(OrderBreakdown {
                external_id: external_id.clone(),
                account_id: order.account_id,
                placed_at: order.placed_at,
                total: items.iter().map(|i| i.total).sum(),
                credits_applied: order.credits_applied,
                other_amount: order.other_amount,
                other_method: order.other_method,
                items,
            })
        })
    }

    /// An account's most recent orders, newest first.
    pub fn recent_orders(&self, account_id: &AccountId, limit: usize) -> Result<Vec<OrderSummary>> {
        self.store
            .read(|tx| tx.recent_orders(account_id.as_str(), limit))
    }
}

fn validate_order(request: &OrderRequest) -> Result<()> {
    check_id(Field::OrderId, request.external_id.as_str())?;
    check_id(Field::AccountId, request.account_id.as_str())?;
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
fn spendable_lots(
    tx: &mut (impl StoreTx + ?Sized),
    account_id: &str,
    act: &Act,
) -> Result<Vec<SpendableLot>> {
    tx.spendable_lots(account_id, act.now, act.live_at())
}
