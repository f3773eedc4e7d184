//! `creditbot export MEMBER|ACCOUNT`: everything the ledger holds about one account, as JSON
//! (amounts as exact decimal strings), for a member's data request or an audit.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::error::{Result, UserError};
use crate::ledger::{Account, Ledger};
use crate::money::Credits;

/// The account with this id, or the account linked to this member.
pub fn resolve(ledger: &Ledger, member_or_account: &str) -> Result<Account> {
    match ledger.account(member_or_account) {
        Ok(account) => Ok(account),
        Err(_) => ledger
            .account_for_member(member_or_account.trim_start_matches('@'))?
            .ok_or_else(|| UserError::UnknownAccount(member_or_account.to_string()).into()),
    }
}

pub fn export(ledger: &Ledger, member_or_account: &str, now: DateTime<Utc>) -> Result<Value> {
    let account = resolve(ledger, member_or_account)?;
    let currency = ledger.currency();
    let money = |c: Credits| currency.to_decimal(c).to_string();
    let balance = ledger.balance(&account.id, now)?;
    let lots: Vec<Value> = ledger
        .lots(&account.id)?
        .into_iter()
        .map(|lot| {
            json!({
                "id": lot.id,
                "amount": money(lot.amount),
                "remaining": money(lot.remaining),
                "source": lot.source.as_str(),
                "reason": lot.reason,
                "granted_by": lot.granted_by,
                "granted_at": lot.granted_at,
                "expires_at": lot.expires_at,
                "refund_of_order": lot.refund_of_order,
            })
        })
        .collect();
    let mut orders = Vec::new();
    for summary in ledger.orders_of(&account.id)? {
        let order = ledger.order_breakdown(&summary.external_id)?;
        let items: Vec<Value> = order
            .items
            .iter()
            .map(|item| {
                json!({
                    "sku": item.sku,
                    "title": item.title,
                    "kind": item.kind.as_str(),
                    "unit_price": money(item.unit_price),
                    "quantity": item.quantity,
                    "credits": money(item.credits),
                    "credits_by_lot": item.credits_by_lot.iter().map(|s| json!({"lot": s.lot_id, "amount": money(s.amount)})).collect::<Vec<_>>(),
                    "other": money(item.other),
                    "returned_quantity": item.returned_quantity,
                    "credits_returned": money(item.credits_returned),
                    "other_returned": money(item.other_returned),
                })
            })
            .collect();
        orders.push(json!({
            "id": order.external_id,
            "placed_at": order.placed_at,
            "total": money(order.total),
            "credits_applied": money(order.credits_applied),
            "other_amount": money(order.other_amount),
            "other_method": order.other_method,
            "items": items,
        }));
    }
    let mut history = Vec::new();
    let mut page = 1;
    loop {
        let chunk = ledger.history(&account.id, page, 100)?;
        history.extend(chunk.entries.into_iter().map(|e| {
            json!({
                "id": e.id,
                "kind": e.kind,
                "amount": money(e.amount),
                "lot": e.lot_id,
                "order": e.order_external_id,
                "detail": e.detail,
                "actor": e.actor,
                "reason": e.reason,
                "at": e.at,
            })
        }));
        if page >= chunk.pages {
            break;
        }
        page += 1;
    }
    Ok(json!({
        "account": {
            "id": account.id,
            "display_name": account.display_name,
            "created_at": account.created_at,
            "closed": account.closed,
        },
        "member": ledger.member_for_account(&account.id)?,
        "currency": currency.code(),
        "exported_at": now,
        "available": money(balance.available),
        "lots": lots,
        "orders": orders,
        "history": history,
    }))
}
