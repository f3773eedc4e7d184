//! Returns: recording one. It reads the order's lines, allocations and lots from the store,
//! asks `rules::plan_return` what goes back where, and writes it; plus what a return does
//! with credit whose lot has expired (the account's policy).

use super::Ledger;
use super::accounts::account;
use super::checks::{check_id, check_optional_text, check_text, or_default};
use super::lots::{insert_lot, lot};
use crate::error::{Field, Result, UserError};
use crate::ledger::rules::{self, BoughtLine, ReturnedCredit, SpentAllocation};
use crate::ledger::store::Entry;
use crate::ledger::store::prelude::*;
use crate::ledger::{
    Act, ExpiredLotPolicy, IdempotencyKey, JournalKind, LotId, ReturnReceipt, ReturnRequest,
    ReturnScope, ReturnedItem, Source, When,
};
use crate::money::Credits;
use chrono::Duration;
use std::collections::{HashMap, hash_map};

impl<S: Store> Ledger<S> {
    /// Records a return of a whole order or some of its items. Idempotent by the return id.
    pub fn record_return(
        &self,
        actor: &str,
        when: impl Into<When>,
        request: &ReturnRequest,
    ) -> Result<ReturnReceipt> {
        check_id(Field::ReturnId, request.return_id.as_str())?;
        check_id(Field::OrderId, request.order_external_id.as_str())?;
        check_optional_text(Field::Reason, &request.reason)?;
        if let ReturnScope::Items(lines) = &request.scope {
            if lines.is_empty() {
                return Err(UserError::EmptyField {
                    field: Field::ReturnItems,
                }
                .into());
            }
            for (n, line) in lines.iter().enumerate() {
                check_text(Field::ReturnItem(n), &line.sku)?;
                if line.quantity < 1 {
                    return Err(UserError::ItemQuantity {
                        item: line.sku.clone(),
                        line: n,
                    }
                    .into());
                }
            }
        }
        let act = Act::new(
            actor,
            when,
            IdempotencyKey::order_return(request.return_id.as_str()),
        );
        let conflict = UserError::ReturnAlreadyRecorded(request.return_id.to_string());
        let policy = self.settings.expired_lot_policy;
        let reissue_days = self.settings.reissue_days;
        self.keyed("return", &act, request, conflict, |tx, journal| {
            let order = tx
                .order_by_external_id(request.order_external_id.as_str())?
                .ok_or_else(|| UserError::UnknownOrder(request.order_external_id.to_string()))?;
            let (order_id, account_id, other_method) =
                (order.id, order.account_id, order.other_method);
            if act.now < order.placed_at {
                return Err(UserError::ReturnBeforeOrder.into());
            }
            self.check_dated(tx, &act, account_id.as_str())?;
            let policy = expired_credit_policy(tx, account_id.as_str(), policy)?;
            let items = tx.order_items(order_id)?;
            let wanted: Vec<(usize, i64)> = match &request.scope {
                ReturnScope::Whole => {
                    let all: Vec<(usize, i64)> = items
                        .iter()
                        .enumerate()
                        .filter(|(_, i)| i.quantity > i.returned_quantity)
                        .map(|(n, i)| (n, i.quantity - i.returned_quantity))
                        .collect();
                    if all.is_empty() {
                        return Err(UserError::NothingToReturn(
                            request.order_external_id.to_string(),
                        )
                        .into());
                    }
                    all
                }
                ReturnScope::Items(lines) => {
                    let mut wanted: Vec<(usize, i64)> = Vec::new();
                    for line in lines {
                        let n = items
                            .iter()
                            .position(|i| i.sku == line.sku.trim())
                            .ok_or_else(|| UserError::UnknownItem {
                                order: request.order_external_id.to_string(),
                                item: line.sku.clone(),
                            })?;
                        match wanted.iter_mut().find(|(m, _)| *m == n) {
                            Some((_, q)) => {
                                *q = q.checked_add(line.quantity).ok_or_else(|| {
                                    UserError::ReturnTooMany {
                                        item: items[n].sku.clone(),
                                        bought: items[n].quantity,
                                        returned: items[n].returned_quantity,
                                        asked: i64::MAX,
                                    }
                                })?
                            }
                            None => wanted.push((n, line.quantity)),
                        }
                    }
                    for &(n, quantity) in &wanted {
                        let item = &items[n];
                        if quantity > item.quantity - item.returned_quantity {
                            return Err(UserError::ReturnTooMany {
                                item: item.sku.clone(),
                                bought: item.quantity,
                                returned: item.returned_quantity,
                                asked: quantity,
                            }
                            .into());
                        }
                    }
                    wanted
                }
            };
            let return_row = tx.insert_return(request.return_id.as_str(), order_id, act.now)?;
            let reason = or_default(&request.reason, "return");
            let mut receipt = ReturnReceipt {
                return_id: request.return_id.clone(),
                order_external_id: request.order_external_id.clone(),
                account_id: account_id.clone(),
                items: Vec::new(),
                credits_restored: Credits::ZERO,
                reissued: None,
                expired_at_once: Credits::ZERO,
                revoked_at_once: Credits::ZERO,
                other_refunded: Credits::ZERO,
                other_method,
            };
            // Read every row the plan needs, then plan without the database, then write. A
            // lot's revoked flag and expiry don't change during the return, so reading them
            // first sees what reading them one by one would.
            let lines: Vec<BoughtLine> = items
                .iter()
                .map(|item| BoughtLine {
                    total: item.total,
                    credits: item.credits,
                    quantity: item.quantity,
                    returned_quantity: item.returned_quantity,
                })
                .collect();
            let mut allocations: Vec<Vec<SpentAllocation>> = vec![Vec::new(); items.len()];
            let mut lot_states: HashMap<LotId, (bool, bool)> = HashMap::new();
            for &(n, _) in &wanted {
                allocations[n] = tx.spent_allocations(items[n].id)?;
                for alloc in &allocations[n] {
                    if let hash_map::Entry::Vacant(slot) = lot_states.entry(alloc.lot_id) {
                        let target = lot(tx, alloc.lot_id)?;
                        slot.insert((target.revoked, target.is_live(act.live_at())));
                    }
                }
            }
            let plan = rules::plan_return(&lines, &allocations, &wanted, policy, |lot_id| {
                lot_states[&lot_id]
            });
            let mut to_reissue: Vec<(i64, Credits)> = Vec::new();
            for part in plan {
                let item = &items[part.line];
                for (back, fate) in part.give_backs {
                    // Credit lost again at once still goes through its lot, refund then
                    // revoke/expire, so the journal shows both the return and the loss.
                    let taken_back_as = match fate {
                        ReturnedCredit::Restored => None,
                        ReturnedCredit::Revoked => {
                            Some((JournalKind::Revoke, "revoked before the return"))
                        }
                        ReturnedCredit::Expired => {
                            Some((JournalKind::Expire, "expired before the return"))
                        }
                        ReturnedCredit::Reissued => {
                            to_reissue.push((back.allocation_id, back.amount));
                            continue;
                        }
                    };
                    tx.change_remaining(back.lot_id, back.amount)?;
                    journal.write(
                        tx,
                        Entry::new(JournalKind::Refund, account_id.as_str(), reason)
                            .lot(back.lot_id, back.amount)
                            .order(order_id)
                            .allocation(back.allocation_id),
                    )?;
                    match taken_back_as {
                        None => receipt.credits_restored += back.amount,
                        Some((kind, why)) => {
                            let delta = Credits::ZERO - back.amount;
                            tx.change_remaining(back.lot_id, delta)?;
                            journal.write(
                                tx,
                                Entry::new(kind, account_id.as_str(), why).lot(back.lot_id, delta),
                            )?;
                            if kind == JournalKind::Revoke {
                                receipt.revoked_at_once += back.amount;
                            } else {
                                receipt.expired_at_once += back.amount;
                            }
                        }
                    }
                }
                let (quantity, credits, other) = (part.quantity, part.credits, part.other);
                tx.insert_return_item(return_row, item.id, quantity, credits, other)?;
                receipt.other_refunded += other;
                receipt.items.push(ReturnedItem {
                    sku: item.sku.clone(),
                    title: item.title.clone(),
                    quantity,
                    credits,
                    other,
                });
            }
            if !to_reissue.is_empty() {
                let amount: Credits = to_reissue.iter().map(|(_, a)| *a).sum();
                let expires_at = act.now + Duration::days(i64::from(reissue_days.max(1)));
                let reason = format!("refund, order {}", request.order_external_id);
                let new_lot = insert_lot(
                    tx,
                    &act,
                    account_id.as_str(),
                    amount,
                    Source::Refund,
                    &reason,
                    Some(expires_at),
                    Some(order_id),
                )?;
                // The new lot starts empty and each entry fills it, so its remaining is the sum
                // of its journal entries like every other lot's.
                tx.change_remaining(new_lot.id, Credits::ZERO - amount)?;
                for (allocation_id, part) in to_reissue {
                    tx.change_remaining(new_lot.id, part)?;
                    journal.write(
                        tx,
                        Entry::new(JournalKind::Reissue, account_id.as_str(), &reason)
                            .lot(new_lot.id, part)
                            .order(order_id)
                            .allocation(allocation_id),
                    )?;
                }
                receipt.reissued = Some(lot(tx, new_lot.id)?);
            }
            tx.set_return_totals(
                return_row,
                receipt.credits_returned(),
                receipt.other_refunded,
            )?;
            Ok(receipt)
        })
    }
}

/// What a return does with credit whose grant expired meanwhile, on this account: the
/// configured policy, except that a closed account gets no new refund grant — it can't
/// receive credits — so there such credit expires at once.
pub(super) fn expired_credit_policy(
    tx: &mut (impl StoreTx + ?Sized),
    account_id: &str,
    configured: ExpiredLotPolicy,
) -> Result<ExpiredLotPolicy> {
    Ok(if account(tx, account_id)?.closed {
        ExpiredLotPolicy::Expire
    } else {
        configured
    })
}
