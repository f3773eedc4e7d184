//! Returns: recording one. The store reads the order's lines, allocations and lots, asks
//! `rules::plan_return` what goes back where, and writes it; plus what a return does with
//! credit whose lot has expired (the account's policy).

use super::accounts::account;
use super::checks::{check_id, check_optional_text, check_text, or_default};
use super::journal::Entry;
use super::lots::{change_remaining, insert_lot, lot};
use super::orders::order_items;
use super::{Ledger, ts};
use crate::error::{Field, Result, UserError};
use crate::ledger::rules::{self, BoughtLine, ReturnedCredit, SpentAllocation};
use crate::ledger::{
    Act, ExpiredLotPolicy, IdempotencyKey, JournalKind, LotId, ReturnReceipt, ReturnRequest,
    ReturnScope, ReturnedItem, Source, When,
};
use crate::money::Credits;
use chrono::Duration;
use rusqlite::{OptionalExtension, Transaction, params};
use std::collections::{HashMap, hash_map};

impl Ledger {
    /// Records a return of a whole order or some of its items. Idempotent by the return id.
    pub fn record_return(
        &self,
        actor: &str,
        when: impl Into<When>,
        request: &ReturnRequest,
    ) -> Result<ReturnReceipt> {
        check_id(Field::ReturnId, &request.return_id)?;
        check_id(Field::OrderId, &request.order_external_id)?;
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
            IdempotencyKey::order_return(&request.return_id),
        );
        let conflict = UserError::ReturnAlreadyRecorded(request.return_id.clone());
        let policy = self.settings.expired_lot_policy;
        let reissue_days = self.settings.reissue_days;
        self.keyed("return", &act, request, conflict, |tx, journal| {
            let (order_id, account_id, other_method, placed_at) = tx
                .query_row(
                    "SELECT id, account_id, other_method, placed_at FROM orders
                     WHERE external_id = ?1",
                    [&request.order_external_id],
                    |r| {
                        Ok((
                            r.get::<_, i64>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, Option<String>>(2)?,
                            r.get::<_, i64>(3)?,
                        ))
                    },
                )
                .optional()?
                .ok_or_else(|| UserError::UnknownOrder(request.order_external_id.clone()))?;
            if ts(act.now) < placed_at {
                return Err(UserError::ReturnBeforeOrder.into());
            }
            self.check_dated(tx, &act, &account_id)?;
            let policy = expired_credit_policy(tx, &account_id, policy)?;
            let items = order_items(tx, order_id)?;
            let wanted: Vec<(usize, i64)> = match &request.scope {
                ReturnScope::Whole => {
                    let all: Vec<(usize, i64)> = items
                        .iter()
                        .enumerate()
                        .filter(|(_, i)| i.quantity > i.returned_quantity)
                        .map(|(n, i)| (n, i.quantity - i.returned_quantity))
                        .collect();
                    if all.is_empty() {
                        return Err(
                            UserError::NothingToReturn(request.order_external_id.clone()).into(),
                        );
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
                                order: request.order_external_id.clone(),
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
            tx.execute(
                "INSERT INTO returns
                 (return_id, order_id, returned_at, credits_refunded, other_refunded)
                 VALUES (?1, ?2, ?3, 0, 0)",
                params![request.return_id, order_id, ts(act.now)],
            )?;
            let return_row = tx.last_insert_rowid();
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
                allocations[n] = spent_allocations(tx, items[n].id)?;
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
                    change_remaining(tx, back.lot_id, back.amount)?;
                    journal.write(
                        tx,
                        Entry::new(JournalKind::Refund, &account_id, reason)
                            .lot(back.lot_id, back.amount)
                            .order(order_id)
                            .allocation(back.allocation_id),
                    )?;
                    match taken_back_as {
                        None => receipt.credits_restored += back.amount,
                        Some((kind, why)) => {
                            let delta = Credits::ZERO - back.amount;
                            change_remaining(tx, back.lot_id, delta)?;
                            journal.write(
                                tx,
                                Entry::new(kind, &account_id, why).lot(back.lot_id, delta),
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
                tx.execute(
                    "INSERT INTO return_items (return_row, order_item_id, quantity, credits, other)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![
                        return_row,
                        item.id,
                        quantity,
                        credits.minor(),
                        other.minor()
                    ],
                )?;
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
                    &account_id,
                    amount,
                    Source::Refund,
                    &reason,
                    Some(expires_at),
                    Some(order_id),
                )?;
                // The new lot starts empty and each entry fills it, so its remaining is the sum
                // of its journal entries like every other lot's.
                change_remaining(tx, new_lot.id, Credits::ZERO - amount)?;
                for (allocation_id, part) in to_reissue {
                    change_remaining(tx, new_lot.id, part)?;
                    journal.write(
                        tx,
                        Entry::new(JournalKind::Reissue, &account_id, &reason)
                            .lot(new_lot.id, part)
                            .order(order_id)
                            .allocation(allocation_id),
                    )?;
                }
                receipt.reissued = Some(lot(tx, new_lot.id)?);
            }
            tx.execute(
                "UPDATE returns SET credits_refunded = ?1, other_refunded = ?2
                 WHERE id = ?3",
                params![
                    receipt.credits_returned().minor(),
                    receipt.other_refunded.minor(),
                    return_row
                ],
            )?;
            Ok(receipt)
        })
    }
}

/// What a return does with credit whose grant expired meanwhile, on this account: the
/// configured policy, except that a closed account gets no new refund grant — it can't
/// receive credits — so there such credit expires at once.
pub(super) fn expired_credit_policy(
    tx: &Transaction,
    account_id: &str,
    configured: ExpiredLotPolicy,
) -> Result<ExpiredLotPolicy> {
    Ok(if account(tx, account_id)?.closed {
        ExpiredLotPolicy::Expire
    } else {
        configured
    })
}

pub(super) fn spent_allocations(
    tx: &Transaction,
    order_item_id: i64,
) -> Result<Vec<SpentAllocation>> {
    let mut stmt = tx.prepare_cached(
        "SELECT a.id, a.lot_id, a.amount,
                coalesce((SELECT sum(j.amount) FROM journal j WHERE j.allocation_id = a.id AND j.kind IN ('refund', 'reissue')), 0)
         FROM allocations a WHERE a.order_item_id = ?1 ORDER BY a.id",
    )?;
    Ok(stmt
        .query_map([order_item_id], |r| {
            Ok(SpentAllocation {
                allocation_id: r.get(0)?,
                lot_id: r.get(1)?,
                taken: Credits::from_minor(r.get(2)?),
                given_back: Credits::from_minor(r.get(3)?),
            })
        })?
        .collect::<rusqlite::Result<_>>()?)
}
