//! `creditbot import`: accounts, grants, orders and returns from JSON Lines, idempotent by
//! each line's key, with a summary of what was imported, skipped as duplicate, or rejected.
//!
//! Amounts are JSON strings ("12.50"), never JSON numbers: a number would pass through a
//! float on the way in.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use std::io::BufRead;

use crate::assistant::parse_expiry;
use crate::error::{Error, UserError};
use crate::ledger::{
    Act, CreditChoice, Expiry, GrantRequest, ItemKind, Ledger, OrderItemRequest, OrderRequest,
    ReturnLine, ReturnRequest, ReturnScope, Source,
};

/// One line of an import file.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum Record {
    Account {
        id: String,
        #[serde(default)]
        name: String,
    },
    Grant {
        /// The idempotency key: the same key imported twice grants once.
        key: String,
        account: String,
        amount: String,
        #[serde(default)]
        source: Option<String>,
        #[serde(default)]
        reason: String,
        /// Days, a date (2027-06-30), an RFC 3339 time, or "never"; default from the config.
        #[serde(default)]
        expires: Option<String>,
        /// When it was granted; default now.
        #[serde(default)]
        at: Option<DateTime<Utc>>,
    },
    Order {
        id: String,
        account: String,
        items: Vec<ImportItem>,
        /// "all" (default), "none", or an amount ("12.00").
        #[serde(default)]
        credits: Option<String>,
        #[serde(default)]
        method: Option<String>,
        #[serde(default)]
        at: Option<DateTime<Utc>>,
    },
    Return {
        id: String,
        order: String,
        /// The items and quantities; absent: the whole order.
        #[serde(default)]
        items: Option<Vec<ImportReturnItem>>,
        #[serde(default)]
        reason: String,
        #[serde(default)]
        at: Option<DateTime<Utc>>,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportItem {
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
pub struct ImportReturnItem {
    pub sku: String,
    #[serde(default = "one")]
    pub quantity: i64,
}

fn one() -> i64 {
    1
}

/// What an import did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub imported: usize,
    pub duplicates: usize,
    /// (line number, reason)
    pub rejected: Vec<(usize, String)>,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "imported {}, skipped {} as duplicate, rejected {}",
            self.imported,
            self.duplicates,
            self.rejected.len()
        )?;
        for (line, reason) in &self.rejected {
            writeln!(f, "  line {line}: {reason}")?;
        }
        Ok(())
    }
}

enum Outcome {
    Imported,
    Duplicate,
}

/// Imports every line of `input`; `progress` is called after each line.
pub fn import(
    ledger: &Ledger,
    input: impl BufRead,
    actor: &str,
    now: DateTime<Utc>,
    mut progress: impl FnMut(usize),
) -> std::io::Result<Summary> {
    let mut summary = Summary::default();
    for (index, line) in input.lines().enumerate() {
        let line = line?;
        let number = index + 1;
        progress(number);
        if line.trim().is_empty() {
            continue;
        }
        let outcome = serde_json::from_str::<Record>(&line)
            .map_err(|e| describe_json_error(&e))
            .and_then(|record| apply(ledger, record, actor, now).map_err(|e| describe(&e)));
        match outcome {
            Ok(Outcome::Imported) => summary.imported += 1,
            Ok(Outcome::Duplicate) => summary.duplicates += 1,
            Err(reason) => summary.rejected.push((number, reason)),
        }
    }
    Ok(summary)
}

fn describe(error: &Error) -> String {
    match error {
        Error::User(user) => user.to_string(),
        Error::Internal { .. } => {
            tracing::error!(%error, "import failed on a line");
            format!("internal error ({error})")
        }
    }
}

fn describe_json_error(error: &serde_json::Error) -> String {
    let text = error.to_string();
    if text.contains("invalid type: floating point") || text.contains("invalid type: integer") {
        format!("{text} (amounts are strings, like \"12.50\")")
    } else {
        text
    }
}

fn apply(
    ledger: &Ledger,
    record: Record,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<Outcome, Error> {
    let currency = ledger.currency();
    let key = match &record {
        Record::Account { id, .. } => format!("import:account:{id}"),
        Record::Grant { key, .. } => key.clone(),
        Record::Order { id, .. } => format!("order:{id}"),
        Record::Return { id, .. } => format!("return:{id}"),
    };
    let duplicate = ledger.has_operation(&key)?;
    match record {
        Record::Account { id, name } => {
            if !duplicate && ledger.account(&id).is_ok() {
                return Ok(Outcome::Duplicate);
            }
            ledger.open_account(&Act::new(actor, now, key), &id, &name)?;
        }
        Record::Grant {
            key,
            account,
            amount,
            source,
            reason,
            expires,
            at,
        } => {
            let at = at.unwrap_or(now);
            let source = match source {
                Some(text) => Source::parse(&text).ok_or(UserError::UnknownSource(text))?,
                None => Source::Admin,
            };
            let request = GrantRequest {
                account_id: account,
                amount: currency.parse_grant(&amount)?,
                source,
                reason,
                // Whether a date is past is the ledger's to say, after its key lookup, so a
                // line imported again later still reads as a duplicate.
                expiry: parse_expiry(expires.as_deref(), DateTime::<Utc>::MIN_UTC)?
                    .unwrap_or(Expiry::Default),
            };
            // A replay answers the first result; the same key with other content is refused.
            ledger.grant(&Act::new(actor, at, key), &request)?;
        }
        Record::Order {
            id,
            account,
            items,
            credits,
            method,
            at,
        } => {
            let credits = match credits.as_deref().map(str::trim) {
                None | Some("all") => CreditChoice::All,
                Some("none") => CreditChoice::None,
                Some(amount) => CreditChoice::UpTo(currency.parse_positive(amount)?),
            };
            let items = items
                .into_iter()
                .map(|item| {
                    Ok(OrderItemRequest {
                        title: if item.title.trim().is_empty() {
                            item.sku.clone()
                        } else {
                            item.title
                        },
                        unit_price: parse_price(currency, &item.unit_price)?,
                        sku: item.sku,
                        kind: item.kind,
                        quantity: item.quantity,
                    })
                })
                .collect::<Result<Vec<_>, UserError>>()?;
            let request = OrderRequest {
                external_id: id,
                account_id: account,
                items,
                credits,
                other_method: method,
            };
            // Replays answer the first receipt; a changed order is refused by the ledger.
            ledger.record_order(actor, at.unwrap_or(now), &request)?;
        }
        Record::Return {
            id,
            order,
            items,
            reason,
            at,
        } => {
            let scope = match items {
                None => ReturnScope::Whole,
                Some(items) => ReturnScope::Items(
                    items
                        .into_iter()
                        .map(|i| ReturnLine {
                            sku: i.sku,
                            quantity: i.quantity,
                        })
                        .collect(),
                ),
            };
            let request = ReturnRequest {
                return_id: id,
                order_external_id: order,
                scope,
                reason,
            };
            ledger.record_return(actor, at.unwrap_or(now), &request)?;
        }
    }
    Ok(if duplicate {
        Outcome::Duplicate
    } else {
        Outcome::Imported
    })
}

/// A unit price: zero is allowed (free items), negative and over-precise ones are not.
fn parse_price(
    currency: &crate::money::Currency,
    text: &str,
) -> Result<crate::money::Credits, UserError> {
    match currency.parse_positive(text) {
        Err(UserError::AmountZero) => Ok(crate::money::Credits::ZERO),
        other => other,
    }
}
