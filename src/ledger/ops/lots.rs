//! Lots within a change: reading one (refused when unknown), inserting one, and the receipt
//! of a change to one.

use super::queries::balance_in;
use crate::error::{Result, UserError};
use crate::ledger::store::NewLot;
use crate::ledger::store::prelude::*;
use crate::ledger::{Act, Lot, LotId, LotReceipt, Source};
use crate::money::Credits;
use chrono::{DateTime, Utc};

pub(super) fn lot(tx: &mut (impl StoreTx + ?Sized), lot_id: LotId) -> Result<Lot> {
    Ok(tx
        .lot(lot_id)?
        .ok_or(UserError::UnknownGrant(lot_id.get()))?)
}

#[allow(clippy::too_many_arguments)]
pub(super) fn insert_lot(
    tx: &mut (impl StoreTx + ?Sized),
    act: &Act,
    account_id: &str,
    amount: Credits,
    source: Source,
    reason: &str,
    expires_at: Option<DateTime<Utc>>,
    refund_of_order: Option<i64>,
) -> Result<Lot> {
    let lot_id = tx.insert_lot(&NewLot {
        account_id,
        amount,
        source,
        reason,
        granted_by: &act.actor,
        granted_at: act.now,
        expires_at,
        refund_of_order,
    })?;
    lot(tx, lot_id)
}

/// The receipt of a change to `lot_id`, read inside the change's transaction.
pub(super) fn lot_receipt(
    tx: &mut (impl StoreTx + ?Sized),
    before: Option<Lot>,
    lot_id: LotId,
    now: DateTime<Utc>,
) -> Result<LotReceipt> {
    let lot = lot(tx, lot_id)?;
    let balance_after = Some(balance_in(tx, lot.account_id.as_str(), now)?.available);
    Ok(LotReceipt {
        lot,
        before,
        balance_after,
    })
}
