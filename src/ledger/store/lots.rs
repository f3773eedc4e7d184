//! Lots (grants), as rows: reading, inserting and changing one, and the read queries over
//! an account's lots.

use crate::error::Result;
use crate::ledger::rules::SpendableLot;
use crate::ledger::{AccountId, Lot, LotId, Source};
use crate::money::Credits;
use chrono::{DateTime, Utc};

/// A lot to insert; it starts with `remaining` equal to `amount`.
#[derive(Clone, Debug)]
pub struct NewLot<'a> {
    pub account_id: &'a str,
    pub amount: Credits,
    pub source: Source,
    pub reason: &'a str,
    pub granted_by: &'a str,
    pub granted_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    /// For a refund lot: the row id of the order whose return issued it.
    pub refund_of_order: Option<i64>,
}

/// A lot that has expired with credit left on it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExpiredLot {
    pub lot_id: LotId,
    pub account_id: AccountId,
    pub remaining: Credits,
    pub expires_at: DateTime<Utc>,
}

pub trait LotRows {
    fn lot(&mut self, lot_id: LotId) -> Result<Option<Lot>>;
    /// Inserts a lot and returns its id.
    fn insert_lot(&mut self, lot: &NewLot) -> Result<LotId>;
    /// Adds `delta` (negative to take) to what is left of a lot.
    fn change_remaining(&mut self, lot_id: LotId, delta: Credits) -> Result<()>;
    fn mark_revoked(&mut self, lot_id: LotId) -> Result<()>;
    fn set_expiry(&mut self, lot_id: LotId, expires_at: Option<DateTime<Utc>>) -> Result<()>;

    /// The account's lots with credit left, granted by `granted_by`, unexpired at `live_at`
    /// (in no particular order).
    fn spendable_lots(
        &mut self,
        account_id: &str,
        granted_by: DateTime<Utc>,
        live_at: DateTime<Utc>,
    ) -> Result<Vec<SpendableLot>>;
    /// [`LotRows::spendable_lots`] at one instant, as whole lots (a balance).
    fn live_lots(&mut self, account_id: &str, now: DateTime<Utc>) -> Result<Vec<Lot>>;
    /// Every lot of an account, newest first.
    fn lots_of(&mut self, account_id: &str) -> Result<Vec<Lot>>;
    /// Live lots (credit left, granted by and unexpired at `now`) numbered `low..=high`,
    /// newest first, at most `limit`.
    fn live_lots_numbered(
        &mut self,
        low: LotId,
        high: LotId,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Lot>>;
    /// The latest lot of an account of `amount` for `reason` granted after `since`.
    fn latest_lot_like(
        &mut self,
        account_id: &str,
        amount: Credits,
        reason: &str,
        since: DateTime<Utc>,
    ) -> Result<Option<Lot>>;
    /// Every lot, of any account, expired at `now` with credit left (what a sweep writes).
    fn expired_lots(&mut self, now: DateTime<Utc>) -> Result<Vec<ExpiredLot>>;
    /// An account's unrevoked lots expired at `now` with credit left.
    fn expired_lots_of(&mut self, account_id: &str, now: DateTime<Utc>) -> Result<Vec<ExpiredLot>>;
    /// Credit taken off a lot by its `expire` journal entries (a positive amount).
    fn expired_from_lot(&mut self, account_id: &str, lot_id: LotId) -> Result<Credits>;
    /// Attaches an admin's note to the change written under `op_key`.
    fn insert_admin_note(
        &mut self,
        op_key: &str,
        note: &str,
        actor: &str,
        at: DateTime<Utc>,
    ) -> Result<()>;
}
