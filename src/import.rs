//! `creditbot import`: accounts, grants, orders and returns from JSON Lines, idempotent by
//! each line's key, with a summary of what was imported, skipped as duplicate, or rejected.
//! The line shapes are those of `wire` (shared with the HTTP API).

use chrono::{DateTime, Utc};
use serde::Deserialize;
use std::io::BufRead;

use crate::error::{Error, UserError};
use crate::ledger::{Act, Ledger};
use crate::wire::{AccountIn, FieldError, GrantIn, OrderIn, ReturnIn, feed_grant_key, field_of};

/// One line of an import file: `{"type": "grant", …}`.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Record {
    Account(AccountIn),
    Grant(GrantIn),
    Order(OrderIn),
    Return(ReturnIn),
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

/// Imports every line of `input`; `progress` is called with each line number.
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
            .and_then(|record| apply(ledger, record, actor, now));
        match outcome {
            Ok(Outcome::Imported) => summary.imported += 1,
            Ok(Outcome::Duplicate) => summary.duplicates += 1,
            Err(reason) => summary.rejected.push((number, reason)),
        }
    }
    Ok(summary)
}

/// A refused field: its reason, after the field's name when the reason alone doesn't say
/// which field it is about ("items[2].unit_price: That amount is too large.").
fn describe_field(error: &FieldError) -> String {
    if error.field == field_of(&error.error) {
        error.error.to_string()
    } else {
        format!("{}: {}", error.field, error.error)
    }
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

/// serde's message, with a hint when an amount came as a JSON number.
pub fn describe_json_error(error: &serde_json::Error) -> String {
    let text = error.to_string();
    if text.contains("invalid type: floating point") || text.contains("invalid type: integer") {
        format!("{text} (amounts are strings, like \"12.50\")")
    } else {
        text
    }
}

/// Applies one record; a refusal is described for the summary.
fn apply(
    ledger: &Ledger,
    record: Record,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<Outcome, String> {
    let currency = ledger.currency();
    let key = match &record {
        Record::Account(account) => format!("import:account:{}", account.id),
        // The shop's own keys, in their own namespace (shared with the store API).
        Record::Grant(grant) => grant
            .key
            .as_deref()
            .filter(|k| !k.trim().is_empty())
            .map(feed_grant_key)
            .ok_or_else(|| {
                UserError::EmptyField {
                    field: "The grant's key",
                }
                .to_string()
            })?,
        Record::Order(order) => format!("order:{}", order.id),
        Record::Return(ret) => format!("return:{}", ret.id),
    };
    let duplicate = ledger.has_operation(&key).map_err(|e| describe(&e))?;
    let done = match record {
        Record::Account(account) => {
            if !duplicate && ledger.account(&account.id).is_ok() {
                return Ok(Outcome::Duplicate);
            }
            ledger
                .open_account(&Act::new(actor, now, key), &account.id, &account.name)
                .map(drop)
        }
        Record::Grant(grant) => {
            // A replay answers the first result; the same key with other content is refused.
            let (request, at) = grant
                .to_request(currency, now)
                .map_err(|e| describe_field(&e))?;
            ledger.grant(&Act::new(actor, at, key), &request).map(drop)
        }
        Record::Order(order) => {
            let (request, at) = order
                .to_request(currency, now)
                .map_err(|e| describe_field(&e))?;
            ledger.record_order(actor, at, &request).map(drop)
        }
        Record::Return(ret) => {
            let (request, at) = ret.to_request(now).map_err(|e| describe_field(&e))?;
            ledger.record_return(actor, at, &request).map(drop)
        }
    };
    done.map_err(|e| describe(&e))?;
    Ok(if duplicate {
        Outcome::Duplicate
    } else {
        Outcome::Imported
    })
}
