//! SQL for lots (grants): reading, inserting and changing one, the read queries over lots,
//! and admins' notes on changes to them.

use super::{PgTx, ts};
use crate::error::Result;
use crate::ledger::rules::SpendableLot;
use crate::ledger::store::{ExpiredLot, LotRows, NewLot};
use crate::ledger::{Lot, LotId, Source};
use crate::money::Credits;
use chrono::{DateTime, Utc};
use postgres::Row;

const LOT_COLUMNS: &str = "l.id, l.account_id, l.amount, l.remaining, l.source, l.reason, l.granted_by, l.granted_at, l.expires_at,
     (SELECT o.external_id FROM orders o WHERE o.id = l.refund_of_order), l.revoked";

fn lot_from_row(row: &Row) -> Result<Lot, postgres::Error> {
    Ok(Lot {
        id: row.try_get(0)?,
        account_id: row.try_get(1)?,
        amount: Credits::from_minor(row.try_get(2)?),
        remaining: Credits::from_minor(row.try_get(3)?),
        source: source_from(row.try_get(4)?),
        reason: row.try_get(5)?,
        granted_by: row.try_get(6)?,
        granted_at: row.try_get(7)?,
        expires_at: row.try_get(8)?,
        refund_of_order: row.try_get(9)?,
        revoked: row.try_get(10)?,
    })
}

/// A stored source name; one written by a newer version reads as `admin` rather than failing.
pub(super) fn source_from(text: &str) -> Source {
    Source::parse(text).unwrap_or(Source::Admin)
}

fn expired_from_row(r: &Row) -> Result<ExpiredLot, postgres::Error> {
    Ok(ExpiredLot {
        lot_id: r.try_get(0)?,
        account_id: r.try_get(1)?,
        remaining: Credits::from_minor(r.try_get(2)?),
        expires_at: r.try_get(3)?,
    })
}

impl LotRows for PgTx<'_> {
    fn lot(&mut self, lot_id: LotId) -> Result<Option<Lot>> {
        self.opt(
            &format!("SELECT {LOT_COLUMNS} FROM lots l WHERE l.id = $1"),
            &[&lot_id],
            lot_from_row,
        )
    }

    fn insert_lot(&mut self, lot: &NewLot) -> Result<LotId> {
        self.one(
            "INSERT INTO lots (account_id, amount, remaining, source, reason, granted_by, granted_at, expires_at, refund_of_order)
             VALUES ($1, $2, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
            &[
                &lot.account_id,
                &lot.amount.minor(),
                &lot.source.as_str(),
                &lot.reason,
                &lot.granted_by,
                &ts(lot.granted_at),
                &lot.expires_at.map(ts),
                &lot.refund_of_order,
            ],
            |r| r.try_get(0),
        )
    }

    fn change_remaining(&mut self, lot_id: LotId, delta: Credits) -> Result<()> {
        self.exec(
            "UPDATE lots SET remaining = remaining + $1 WHERE id = $2",
            &[&delta.minor(), &lot_id],
        )?;
        Ok(())
    }

    fn mark_revoked(&mut self, lot_id: LotId) -> Result<()> {
        self.exec("UPDATE lots SET revoked = true WHERE id = $1", &[&lot_id])?;
        Ok(())
    }

    fn set_expiry(&mut self, lot_id: LotId, expires_at: Option<DateTime<Utc>>) -> Result<()> {
        self.exec(
            "UPDATE lots SET expires_at = $1 WHERE id = $2",
            &[&expires_at.map(ts), &lot_id],
        )?;
        Ok(())
    }

    fn spendable_lots(
        &mut self,
        account_id: &str,
        granted_by: DateTime<Utc>,
        live_at: DateTime<Utc>,
    ) -> Result<Vec<SpendableLot>> {
        self.all(
            "SELECT id, remaining, expires_at, granted_at FROM lots
             WHERE account_id = $1 AND remaining > 0 AND (expires_at IS NULL OR expires_at > $3)
               AND granted_at <= $2",
            &[&account_id, &ts(granted_by), &ts(live_at)],
            |r| {
                Ok(SpendableLot {
                    id: r.try_get(0)?,
                    remaining: Credits::from_minor(r.try_get(1)?),
                    expires_at: r.try_get(2)?,
                    granted_at: r.try_get(3)?,
                })
            },
        )
    }

    fn live_lots(&mut self, account_id: &str, now: DateTime<Utc>) -> Result<Vec<Lot>> {
        self.all(
            &format!(
                "SELECT {LOT_COLUMNS} FROM lots l WHERE l.account_id = $1 AND l.remaining > 0
                 AND (l.expires_at IS NULL OR l.expires_at > $2) AND l.granted_at <= $2"
            ),
            &[&account_id, &ts(now)],
            lot_from_row,
        )
    }

    fn lots_of(&mut self, account_id: &str) -> Result<Vec<Lot>> {
        self.all(
            &format!("SELECT {LOT_COLUMNS} FROM lots l WHERE l.account_id = $1 ORDER BY l.id DESC"),
            &[&account_id],
            lot_from_row,
        )
    }

    fn live_lots_numbered(
        &mut self,
        low: LotId,
        high: LotId,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Lot>> {
        self.all(
            &format!(
                "SELECT {LOT_COLUMNS} FROM lots l WHERE l.id BETWEEN $1 AND $2 AND l.remaining > 0
                 AND (l.expires_at IS NULL OR l.expires_at > $3) AND l.granted_at <= $3
                 ORDER BY l.id DESC LIMIT $4"
            ),
            &[&low, &high, &ts(now), &(limit as i64)],
            lot_from_row,
        )
    }

    fn latest_lot_like(
        &mut self,
        account_id: &str,
        amount: Credits,
        reason: &str,
        since: DateTime<Utc>,
    ) -> Result<Option<Lot>> {
        self.opt(
            &format!(
                "SELECT {LOT_COLUMNS} FROM lots l WHERE l.account_id = $1 AND l.amount = $2
                 AND l.reason = $3 AND l.granted_at > $4 ORDER BY l.id DESC LIMIT 1"
            ),
            &[&account_id, &amount.minor(), &reason, &ts(since)],
            lot_from_row,
        )
    }

    fn expired_lots(&mut self, now: DateTime<Utc>) -> Result<Vec<ExpiredLot>> {
        self.all(
            "SELECT id, account_id, remaining, expires_at FROM lots
             WHERE remaining > 0 AND expires_at IS NOT NULL AND expires_at <= $1",
            &[&ts(now)],
            expired_from_row,
        )
    }

    fn expired_lots_of(&mut self, account_id: &str, now: DateTime<Utc>) -> Result<Vec<ExpiredLot>> {
        self.all(
            "SELECT id, account_id, remaining, expires_at FROM lots
             WHERE account_id = $1 AND remaining > 0 AND expires_at IS NOT NULL
               AND expires_at <= $2 AND NOT revoked",
            &[&account_id, &ts(now)],
            expired_from_row,
        )
    }

    fn expired_from_lot(&mut self, account_id: &str, lot_id: LotId) -> Result<Credits> {
        // `sum` of bigints is a numeric in PostgreSQL: cast back to the minor units' type.
        self.one(
            "SELECT coalesce(-sum(amount), 0)::bigint FROM journal
             WHERE account_id = $1 AND lot_id = $2 AND kind = 'expire'",
            &[&account_id, &lot_id],
            |r| Ok(Credits::from_minor(r.try_get(0)?)),
        )
    }

    fn insert_admin_note(
        &mut self,
        op_key: &str,
        note: &str,
        actor: &str,
        at: DateTime<Utc>,
    ) -> Result<()> {
        self.exec(
            "INSERT INTO admin_notes (op_key, note, actor, at) VALUES ($1, $2, $3, $4)",
            &[&op_key, &note, &actor, &ts(at)],
        )?;
        Ok(())
    }
}
