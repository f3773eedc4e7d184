//! `creditbot export MEMBER|ACCOUNT`: everything the ledger holds about one account, as JSON
//! (amounts as exact decimal strings, shapes from `wire`), for a member's data request or an audit.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::error::{Result, UserError};
use crate::ledger::{Account, AccountId, Ledger, MemberId};
use crate::wire;

/// The account with this id, or the account linked to this member.
pub fn resolve(ledger: &Ledger, member_or_account: &str) -> Result<Account> {
    match ledger.account(&AccountId::new(member_or_account)) {
        Ok(account) => Ok(account),
        Err(_) => ledger
            .account_for_member(&MemberId::new(member_or_account.trim_start_matches('@')))?
            .ok_or_else(|| UserError::UnknownAccount(member_or_account.to_string()).into()),
    }
}

pub fn export(ledger: &Ledger, member_or_account: &str, now: DateTime<Utc>) -> Result<Value> {
    let account = resolve(ledger, member_or_account)?;
    let currency = ledger.currency();
    let balance = ledger.balance(&account.id, now)?;
    let lots: Vec<Value> = ledger
        .lots(&account.id)?
        .iter()
        .map(|lot| wire::lot_json(lot, currency))
        .collect();
    let mut orders = Vec::new();
    for summary in ledger.orders_of(&account.id)? {
        orders.push(wire::order_breakdown_json(
            &ledger.order_breakdown(&summary.external_id, now)?,
            currency,
        ));
    }
    let mut history = Vec::new();
    let mut page = 1;
    loop {
        let chunk = ledger.history(&account.id, page, 100)?;
        history.extend(
            chunk
                .entries
                .iter()
                .map(|e| wire::history_entry_json(e, currency)),
        );
        if page >= chunk.pages {
            break;
        }
        page += 1;
    }
    Ok(json!({
        "account": wire::account_json(&account),
        "member": ledger.member_for_account(&account.id)?,
        "currency": currency.code(),
        "exported_at": now,
        "available": wire::money(currency, balance.available),
        "lots": lots,
        "orders": orders,
        "history": history,
    }))
}
