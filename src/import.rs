//! `creditbot import`: accounts, grants, orders and returns from JSON Lines, idempotent by
//! each line's key, with a summary of what was imported, skipped as duplicate, or rejected.
//! The line shapes are those of `wire` (shared with the HTTP API).

use chrono::{DateTime, Utc};
use serde::Deserialize;
use std::io::BufRead;

use crate::error::{Error, UserError};
use crate::ledger::{Act, Ledger};
use crate::wire::{AccountIn, GrantIn, OrderIn, ReturnIn};

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

/// serde's message, with a hint when an amount came as a JSON number.
pub fn describe_json_error(error: &serde_json::Error) -> String {
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
        Record::Account(account) => format!("import:account:{}", account.id),
        Record::Grant(grant) => {
            grant
                .key
                .clone()
                .filter(|k| !k.trim().is_empty())
                .ok_or(UserError::EmptyField {
                    field: "The grant's key",
                })?
        }
        Record::Order(order) => format!("order:{}", order.id),
        Record::Return(ret) => format!("return:{}", ret.id),
    };
    let duplicate = ledger.has_operation(&key)?;
    match record {
        Record::Account(account) => {
            if !duplicate && ledger.account(&account.id).is_ok() {
                return Ok(Outcome::Duplicate);
            }
            ledger.open_account(&Act::new(actor, now, key), &account.id, &account.name)?;
        }
        Record::Grant(grant) => {
            // A replay answers the first result; the same key with other content is refused.
            let request = grant.to_request(currency)?;
            ledger.grant(&Act::new(actor, grant.at.unwrap_or(now), key), &request)?;
        }
        Record::Order(order) => {
            ledger.record_order(actor, order.at.unwrap_or(now), &order.to_request(currency)?)?;
        }
        Record::Return(ret) => {
            ledger.record_return(actor, ret.at.unwrap_or(now), &ret.to_request())?;
        }
    }
    Ok(if duplicate {
        Outcome::Duplicate
    } else {
        Outcome::Imported
    })
}
