//! `creditbot import`: accounts, grants, orders and returns from JSON Lines, idempotent by
//! each line's key, with a summary of what was imported, skipped as duplicate, or rejected.
//! The line shapes are those of `wire` (shared with the HTTP API).

use chrono::{DateTime, Utc};
use std::io::BufRead;

use crate::error::{Error, Field, UserError};
use crate::ledger::{AccountId, Act, IdempotencyKey, Ledger};
use crate::lines::{Line, Lines};
use crate::wire::{
    AccountIn, FieldError, GrantIn, OrderIn, ReturnIn, client_grant_key, field_of, from_json,
    refuse_duplicate_keys,
};

/// One line of an import file: `{"type": "grant", …}` (read by `parse_line`, which names the
/// field at fault).
#[derive(Debug, PartialEq)]
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
    /// Why reading stopped before the end of the input (the lines after it were not read).
    pub unread: Option<String>,
}

impl Summary {
    /// Whether anything was refused or left unread: the import's exit status.
    pub fn is_complete(&self) -> bool {
        self.rejected.is_empty() && self.unread.is_none()
    }
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
        if let Some(reason) = &self.unread {
            writeln!(f, "  {reason}")?;
        }
        Ok(())
    }
}

enum Outcome {
    Imported,
    Duplicate,
}

/// How far an import has read: after each line, its number and the bytes read up to it.
#[derive(Clone, Copy, Debug)]
pub struct Progress {
    pub line: usize,
    pub bytes: u64,
}

/// Imports every line of `input`; `progress` is called after each line.
///
/// Each line stands alone: one that isn't UTF-8 or JSON, or that the ledger refuses, is
/// listed with its number and the import goes on. A read error ends the import, and the
/// summary says so (the lines before it are imported, as each line is its own write).
pub fn import(
    ledger: &Ledger,
    input: impl BufRead,
    actor: &str,
    now: DateTime<Utc>,
    mut progress: impl FnMut(Progress),
) -> Summary {
    let mut summary = Summary::default();
    let mut lines = Lines::new(input);
    while let Some(next) = lines.next() {
        let (number, line) = match next {
            Ok(read) => read,
            Err(error) => {
                summary.unread = Some(format!(
                    "Reading stopped after line {} ({error}); nothing after it was imported.",
                    lines.lines_read()
                ));
                break;
            }
        };
        let outcome = match &line {
            Line::Text(text) if text.trim().is_empty() => None,
            Line::Text(text) => {
                Some(parse_line(text).and_then(|record| apply(ledger, record, actor, now)))
            }
            Line::Undecodable { .. } => line.problem().map(Err),
        };
        match outcome {
            None => {}
            Some(Ok(Outcome::Imported)) => summary.imported += 1,
            Some(Ok(Outcome::Duplicate)) => summary.duplicates += 1,
            Some(Err(reason)) => summary.rejected.push((number, reason)),
        }
        progress(Progress {
            line: number,
            bytes: lines.bytes_read(),
        });
    }
    summary
}

/// A refused field: its reason, after the field's name when the reason alone doesn't say
/// which field it is about ("items[2].unit_price: That amount is too large.").
fn describe_field(error: &FieldError) -> String {
    let message = crate::wire::feed_message(&error.error);
    if error.field == field_of(&error.error) {
        message
    } else {
        format!("{}: {message}", error.field)
    }
}

fn describe(error: &Error) -> String {
    match error {
        Error::User(user) => crate::wire::feed_message(user),
        Error::Internal { .. } => {
            tracing::error!(%error, "import failed on a line");
            format!("internal error ({error})")
        }
    }
}

/// Reads one line: its `type`, then the rest as that record, naming the field at fault
/// ("items[0].quantity must be a whole number, like 2, not 1.5.").
pub fn parse_line(line: &str) -> Result<Record, String> {
    // `type` is read apart from the rest, so a second `type` must be caught before.
    refuse_duplicate_keys(line.as_bytes()).map_err(|e| e.message)?;
    let mut value: serde_json::Value =
        serde_json::from_str(line).map_err(|e| format!("The line isn't valid JSON ({e})."))?;
    let Some(fields) = value.as_object_mut() else {
        return Err("The line must be a JSON object, like {\"type\": \"grant\", …}.".to_string());
    };
    let kind = fields.remove("type");
    let rest = serde_json::to_vec(&value).map_err(|e| e.to_string())?;
    let record = match kind.as_ref().and_then(|k| k.as_str()) {
        Some("account") => from_json(&rest, "line").map(Record::Account),
        Some("grant") => from_json(&rest, "line").map(Record::Grant),
        Some("order") => from_json(&rest, "line").map(Record::Order),
        Some("return") => from_json(&rest, "line").map(Record::Return),
        _ => {
            return Err(
                "type must be \"account\", \"grant\", \"order\" or \"return\".".to_string(),
            );
        }
    };
    record.map_err(|e| e.message)
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
        Record::Account(account) => IdempotencyKey::import_account(&account.id).into(),
        // The shop's own keys, in their own namespace (shared with the store API).
        Record::Grant(grant) => grant
            .key
            .as_deref()
            .ok_or_else(|| {
                UserError::EmptyField {
                    field: Field::RequestKey,
                }
                .to_string()
            })
            .and_then(|key| client_grant_key("key", key).map_err(|e| e.message))?,
        Record::Order(order) => IdempotencyKey::order(&order.id).into(),
        Record::Return(ret) => IdempotencyKey::order_return(&ret.id).into(),
    };
    let duplicate = ledger.has_operation(&key).map_err(|e| describe(&e))?;
    let done = match record {
        Record::Account(account) => {
            let id = AccountId::new(account.id.as_str());
            if !duplicate && ledger.account(&id).is_ok() {
                return Ok(Outcome::Duplicate);
            }
            ledger
                .open_account(&Act::new(actor, now, key), &id, &account.name)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_naming_a_key_twice_is_refused_not_read_as_the_last() {
        let refused = |line: &str| parse_line(line).err();
        assert_eq!(
            refused(r#"{"type":"grant","key":"k4","account":"ACC-1","amount":"1","amount":"900"}"#)
                .as_deref(),
            Some("amount appears twice; give each field once.")
        );
        assert_eq!(
            refused(r#"{"type":"return","type":"grant","key":"k","account":"A","amount":"1"}"#)
                .as_deref(),
            Some("type appears twice; give each field once.")
        );
        assert!(
            refused(r#"{"type":"grant","key":"k\u200b4","account":"A","amount":"1"}"#).is_none(),
            "the key is checked when the line is applied, not read"
        );
    }

    #[test]
    fn a_line_of_the_wrong_shape_is_refused_naming_its_field() {
        let refused = |line: &str| parse_line(line).unwrap_err();
        assert_eq!(
            refused(
                r#"{"type":"order","id":"O","account":"A","items":[{"sku":"a","kind":"digital","unit_price":"1","quantity":1.5}]}"#
            ),
            "items[0].quantity must be a whole number, like 2, not 1.5."
        );
        let amount = refused(r#"{"type":"grant","key":"k","account":"A","amount":12.5}"#);
        assert!(amount.starts_with("amount must be a string"), "{amount}");
        assert!(amount.contains("amounts are strings"), "{amount}");
        assert_eq!(
            refused(r#"{"type":"account","id":7}"#),
            "id must be a string, not 7."
        );
        assert!(refused(r#"{"type":"refund","id":"R"}"#).starts_with("type must be"));
        assert!(refused("not json").starts_with("The line isn't valid JSON"));
        assert!(matches!(
            parse_line(r#"{"type":"return","id":"R","order":"O"}"#),
            Ok(Record::Return(_))
        ));
    }
}
