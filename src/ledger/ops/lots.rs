//! The lots table's rows: reading a lot, inserting one, moving what is left of it, and the
//! receipt of a change to one.

use super::queries::balance_in;
use super::{at, ts};
use crate::error::{Result, UserError};
use crate::ledger::{Act, Lot, LotId, LotReceipt, Source};
use crate::money::Credits;
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Row, Transaction, params};

pub(super) const LOT_COLUMNS: &str = "l.id, l.account_id, l.amount, l.remaining, l.source, l.reason, l.granted_by, l.granted_at, l.expires_at,
     (SELECT o.external_id FROM orders o WHERE o.id = l.refund_of_order), l.revoked";

pub(super) fn lot_from_row(row: &Row) -> rusqlite::Result<Lot> {
    Ok(Lot {
        id: row.get(0)?,
        account_id: row.get(1)?,
        amount: Credits::from_minor(row.get(2)?),
        remaining: Credits::from_minor(row.get(3)?),
        source: source_from(row.get_ref(4)?.as_str()?),
        reason: row.get(5)?,
        granted_by: row.get(6)?,
        granted_at: at(row.get(7)?),
        expires_at: row.get::<_, Option<i64>>(8)?.map(at),
        refund_of_order: row.get(9)?,
        revoked: row.get(10)?,
    })
}

/// A stored source name; one written by a newer version reads as `admin` rather than failing.
pub(super) fn source_from(text: &str) -> Source {
    Source::parse(text).unwrap_or(Source::Admin)
}

pub(super) fn lot(tx: &Transaction, lot_id: LotId) -> Result<Lot> {
    Ok(tx
        .prepare_cached(&format!("SELECT {LOT_COLUMNS} FROM lots l WHERE l.id = ?1"))?
        .query_row([lot_id], lot_from_row)
        .optional()?
        .ok_or(UserError::UnknownGrant(lot_id))?)
}

#[allow(clippy::too_many_arguments)]
pub(super) fn insert_lot(
    tx: &Transaction,
    act: &Act,
    account_id: &str,
    amount: Credits,
    source: Source,
    reason: &str,
    expires_at: Option<DateTime<Utc>>,
    refund_of_order: Option<i64>,
) -> Result<Lot> {
    tx.prepare_cached(
        "INSERT INTO lots (account_id, amount, remaining, source, reason, granted_by, granted_at, expires_at, refund_of_order)
         VALUES (?1, ?2, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        account_id,
        amount.minor(),
        source.as_str(),
        reason,
        act.actor,
        ts(act.now),
        expires_at.map(ts),
        refund_of_order
    ])?;
    lot(tx, tx.last_insert_rowid())
}

pub(super) fn change_remaining(tx: &Transaction, lot_id: LotId, delta: Credits) -> Result<()> {
    tx.prepare_cached("UPDATE lots SET remaining = remaining + ?1 WHERE id = ?2")?
        .execute(params![delta.minor(), lot_id])?;
    Ok(())
}

/// The receipt of a change to `lot_id`, read inside the change's transaction.
pub(super) fn lot_receipt(
    tx: &Transaction,
    before: Option<Lot>,
    lot_id: LotId,
    now: DateTime<Utc>,
) -> Result<LotReceipt> {
    let lot = lot(tx, lot_id)?;
    let balance_after = Some(balance_in(tx, &lot.account_id, now)?.available);
    Ok(LotReceipt {
        lot,
        before,
        balance_after,
    })
}
