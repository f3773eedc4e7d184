//! The JSON shapes of the shop's feed and of ledger answers, shared by `creditbot import`,
//! `creditbot export` and the HTTP store API, so each shape is written once.
//!
//! Amounts are JSON strings ("12.50") both ways: a JSON number would pass through a float.
//! No I/O here: values in, values out.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::assistant::parse_expiry;
use crate::error::UserError;
use crate::ledger::{
    Account, Balance, CreditChoice, Expiry, GrantRequest, HistoryEntry, ItemKind, Lot,
    OrderBreakdown, OrderItemRequest, OrderReceipt, OrderRequest, ReturnLine, ReturnReceipt,
    ReturnRequest, ReturnScope, Source,
};
use crate::money::{Credits, Currency};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountIn {
    pub id: String,
    #[serde(default)]
    pub name: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrantIn {
    /// The idempotency key (import lines carry it here; the HTTP API takes a header).
    #[serde(default)]
    pub key: Option<String>,
    pub account: String,
    pub amount: String,
    /// gift, promotion, goodwill, refund or admin (default admin).
    #[serde(default)]
    pub source: Option<String>,
    #[serde(default)]
    pub reason: String,
    /// Days, a date (2027-06-30), an RFC 3339 time, or "never"; default from the config.
    #[serde(default)]
    pub expires: Option<String>,
    /// When it was granted; default now.
    #[serde(default)]
    pub at: Option<DateTime<Utc>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemIn {
    pub sku: String,
    #[serde(default)]
    pub title: String,
    pub kind: ItemKind,
    pub unit_price: String,
    #[serde(default = "one")]
    pub quantity: i64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderIn {
    pub id: String,
    pub account: String,
    pub items: Vec<ItemIn>,
    /// "all" (default), "none", or an amount ("12.00").
    #[serde(default)]
    pub credits: Option<String>,
    /// The other payment method, needed when credits don't cover the total.
    #[serde(default)]
    pub method: Option<String>,
    #[serde(default)]
    pub at: Option<DateTime<Utc>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReturnItemIn {
    pub sku: String,
    #[serde(default = "one")]
    pub quantity: i64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReturnIn {
    pub id: String,
    pub order: String,
    /// The items and quantities; absent: everything not returned yet.
    #[serde(default)]
    pub items: Option<Vec<ReturnItemIn>>,
    #[serde(default)]
    pub reason: String,
    #[serde(default)]
    pub at: Option<DateTime<Utc>>,
}

fn one() -> i64 {
    1
}

impl GrantIn {
    pub fn to_request(&self, currency: &Currency) -> Result<GrantRequest, UserError> {
        Ok(GrantRequest {
            account_id: self.account.clone(),
            amount: currency.parse_grant(&self.amount)?,
            source: match &self.source {
                Some(text) => {
                    Source::parse(text).ok_or_else(|| UserError::UnknownSource(text.clone()))?
                }
                None => Source::Admin,
            },
            reason: self.reason.clone(),
            // Whether a date is past is the ledger's to say, after its key lookup, so a
            // request replayed later still reads as a replay.
            expiry: parse_expiry(self.expires.as_deref(), DateTime::<Utc>::MIN_UTC)?
                .unwrap_or(Expiry::Default),
        })
    }
}

impl OrderIn {
    pub fn to_request(&self, currency: &Currency) -> Result<OrderRequest, UserError> {
        let credits = match self.credits.as_deref().map(str::trim) {
            None | Some("all") => CreditChoice::All,
            Some("none") => CreditChoice::None,
            Some(amount) => CreditChoice::UpTo(currency.parse_positive(amount)?),
        };
        let items = self
            .items
            .iter()
            .map(|item| {
                Ok(OrderItemRequest {
                    sku: item.sku.clone(),
                    title: if item.title.trim().is_empty() {
                        item.sku.clone()
                    } else {
                        item.title.clone()
                    },
                    kind: item.kind,
                    unit_price: parse_price(currency, &item.unit_price)?,
                    quantity: item.quantity,
                })
            })
            .collect::<Result<Vec<_>, UserError>>()?;
        Ok(OrderRequest {
            external_id: self.id.clone(),
            account_id: self.account.clone(),
            items,
            credits,
            other_method: self.method.clone(),
        })
    }
}

impl ReturnIn {
    pub fn to_request(&self) -> ReturnRequest {
        ReturnRequest {
            return_id: self.id.clone(),
            order_external_id: self.order.clone(),
            scope: match &self.items {
                None => ReturnScope::Whole,
                Some(items) => ReturnScope::Items(
                    items
                        .iter()
                        .map(|i| ReturnLine {
                            sku: i.sku.clone(),
                            quantity: i.quantity,
                        })
                        .collect(),
                ),
            },
            reason: self.reason.clone(),
        }
    }
}

/// A unit price: zero is allowed (free items), negative and over-precise ones are not.
fn parse_price(currency: &Currency, text: &str) -> Result<Credits, UserError> {
    match currency.parse_positive(text) {
        Err(UserError::AmountZero) => Ok(Credits::ZERO),
        other => other,
    }
}

/// Which field of a request a refusal is about, for API error bodies.
pub fn field_of(error: &UserError) -> &'static str {
    match error {
        UserError::AmountNotANumber(_)
        | UserError::AmountNegative
        | UserError::AmountZero
        | UserError::AmountTooManyDecimals { .. }
        | UserError::AmountTooLarge { .. } => "amount",
        UserError::DateNotReadable(_) | UserError::DateInPast => "expires",
        UserError::UnknownSource(_) => "source",
        UserError::UnknownAccount(_) | UserError::AccountClosed(_) => "account",
        UserError::OrderWithoutItems
        | UserError::ItemQuantity { .. }
        | UserError::ItemPriceNegative { .. }
        | UserError::ItemDuplicated(_)
        | UserError::UnknownItem { .. }
        | UserError::ReturnTooMany { .. }
        | UserError::OrderTooLarge => "items",
        UserError::PaymentMethodMissing => "method",
        UserError::UnknownOrder(_) | UserError::NothingToReturn(_) => "order",
        UserError::EmptyField { field } | UserError::FieldTooLong { field, .. } => match *field {
            "The order id" | "The return id" => "id",
            "The account id" => "account",
            "The reason" => "reason",
            "An item's SKU" | "An item's title" | "The list of items to return" => "items",
            "The payment method" => "method",
            "The request key" => "Idempotency-Key",
            _ => "request",
        },
        _ => "request",
    }
}

pub fn money(currency: &Currency, amount: Credits) -> String {
    currency.to_decimal(amount).to_string()
}

pub fn account_json(account: &Account) -> Value {
    json!({
        "id": account.id,
        "display_name": account.display_name,
        "created_at": account.created_at,
        "closed": account.closed,
    })
}

pub fn lot_json(lot: &Lot, currency: &Currency) -> Value {
    json!({
        "id": lot.id,
        "account": lot.account_id,
        "amount": money(currency, lot.amount),
        "remaining": money(currency, lot.remaining),
        "source": lot.source.as_str(),
        "reason": lot.reason,
        "granted_by": lot.granted_by,
        "granted_at": lot.granted_at,
        "expires_at": lot.expires_at,
        "refund_of_order": lot.refund_of_order,
    })
}

pub fn balance_json(balance: &Balance, currency: &Currency) -> Value {
    json!({
        "account": balance.account_id,
        "currency": currency.code(),
        "available": money(currency, balance.available),
        "next_expiry": balance.next_expiry().map(|(amount, at)| json!({"amount": money(currency, amount), "at": at})),
        "lots": balance.lots.iter().map(|lot| lot_json(lot, currency)).collect::<Vec<_>>(),
    })
}

pub fn history_entry_json(entry: &HistoryEntry, currency: &Currency) -> Value {
    json!({
        "id": entry.id,
        "kind": entry.kind,
        "amount": money(currency, entry.amount),
        "lot": entry.lot_id,
        "order": entry.order_external_id,
        "detail": entry.detail,
        "actor": entry.actor,
        "reason": entry.reason,
        "at": entry.at,
    })
}

pub fn order_breakdown_json(order: &OrderBreakdown, currency: &Currency) -> Value {
    let items: Vec<Value> = order
        .items
        .iter()
        .map(|item| {
            json!({
                "sku": item.sku,
                "title": item.title,
                "kind": item.kind.as_str(),
                "unit_price": money(currency, item.unit_price),
                "quantity": item.quantity,
                "credits": money(currency, item.credits),
                "credits_by_lot": item.credits_by_lot.iter().map(|s| json!({"lot": s.lot_id, "amount": money(currency, s.amount)})).collect::<Vec<_>>(),
                "other": money(currency, item.other),
                "returned_quantity": item.returned_quantity,
                "credits_returned": money(currency, item.credits_returned),
                "other_returned": money(currency, item.other_returned),
                "return_would_restore": money(currency, item.return_would_restore),
                "return_would_refund_other": money(currency, item.return_would_refund_other),
            })
        })
        .collect();
    json!({
        "id": order.external_id,
        "account": order.account_id,
        "placed_at": order.placed_at,
        "total": money(currency, order.total),
        "credits_applied": money(currency, order.credits_applied),
        "other_amount": money(currency, order.other_amount),
        "other_method": order.other_method,
        "items": items,
    })
}

pub fn order_receipt_json(receipt: &OrderReceipt, currency: &Currency) -> Value {
    json!({
        "id": receipt.external_id,
        "account": receipt.account_id,
        "total": money(currency, receipt.total),
        "credits_applied": money(currency, receipt.credits_applied),
        "other_amount": money(currency, receipt.other_amount),
        "other_method": receipt.other_method,
        "allocations": receipt.allocations.iter().map(|a| json!({
            "sku": a.sku, "lot": a.lot_id, "amount": money(currency, a.amount)
        })).collect::<Vec<_>>(),
    })
}

pub fn return_receipt_json(receipt: &ReturnReceipt, currency: &Currency) -> Value {
    json!({
        "id": receipt.return_id,
        "order": receipt.order_external_id,
        "account": receipt.account_id,
        "items": receipt.items.iter().map(|i| json!({
            "sku": i.sku, "title": i.title, "quantity": i.quantity,
            "credits": money(currency, i.credits), "other": money(currency, i.other),
        })).collect::<Vec<_>>(),
        "credits_restored": money(currency, receipt.credits_restored),
        "reissued": receipt.reissued.as_ref().map(|lot| lot_json(lot, currency)),
        "expired_at_once": money(currency, receipt.expired_at_once),
        "other_refunded": money(currency, receipt.other_refunded),
        "other_method": receipt.other_method,
    })
}
