//! SQL for lots (grants): reading, inserting and changing one, the read queries over lots,
//! and admins' notes on changes to them.

use super::{SqliteTx, at, ts};
use crate::error::Result;
use crate::ledger::rules::SpendableLot;
use crate::ledger::store::{ExpiredLot, LotRows, NewLot};
use crate::ledger::{Lot, LotId, Source};
use crate::money::Credits;
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Row, params};

const LOT_COLUMNS: &str = "l.id, l.account_id, l.amount, l.remaining, l.source, l.reason, l.granted_by, l.granted_at, l.expires_at,
     (SELECT o.external_id FROM orders o WHERE o.id = l.refund_of_order), l.revoked";

fn lot_from_row(row: &Row) -> rusqlite::Result<Lot> {
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

fn expired_from_row(r: &Row) -> rusqlite::Result<ExpiredLot> {
    Ok(ExpiredLot {
        lot_id: r.get(0)?,
        account_id: r.get(1)?,
        remaining: Credits::from_minor(r.get(2)?),
        expires_at: at(r.get(3)?),
    })
}

impl LotRows for SqliteTx<'_> {
    fn lot(&mut self, lot_id: LotId) -> Result<Option<Lot>> {
        Ok(self
            .0
            .prepare_cached(&format!("SELECT {LOT_COLUMNS} FROM lots l WHERE l.id = ?1"))?
            .query_row([lot_id], lot_from_row)
            .optional()?)
    }

    fn insert_lot(&mut self, lot: &NewLot) -> Result<LotId> {
        self.0
            .prepare_cached(
                "INSERT INTO lots (account_id, amount, remaining, source, reason, granted_by, granted_at, expires_at, refund_of_order)
                 VALUES (?1, ?2, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?
            .execute(params![
                lot.account_id,
                lot.amount.minor(),
                lot.source.as_str(),
                lot.reason,
                lot.granted_by,
                ts(lot.granted_at),
                lot.expires_at.map(ts),
                lot.refund_of_order
            ])?;
        Ok(LotId::new(self.0.last_insert_rowid()))
    }

    fn change_remaining(&mut self, lot_id: LotId, delta: Credits) -> Result<()> {
        self.0
            .prepare_cached("UPDATE lots SET remaining = remaining + ?1 WHERE id = ?2")?
            .execute(params![delta.minor(), lot_id])?;
        Ok(())
    }

    fn mark_revoked(&mut self, lot_id: LotId) -> Result<()> {
        self.0
            .execute("UPDATE lots SET revoked = 1 WHERE id = ?1", [lot_id])?;
        Ok(())
    }

    fn set_expiry(&mut self, lot_id: LotId, expires_at: Option<DateTime<Utc>>) -> Result<()> {
        self.0.execute(
            "UPDATE lots SET expires_at = ?1 WHERE id = ?2",
            params![expires_at.map(ts), lot_id],
        )?;
        Ok(())
    }

    fn spendable_lots(
        &mut self,
        account_id: &str,
        granted_by: DateTime<Utc>,
        live_at: DateTime<Utc>,
    ) -> Result<Vec<SpendableLot>> {
        let mut stmt = self.0.prepare_cached(
            "SELECT id, remaining, expires_at, granted_at FROM lots
             WHERE account_id = ?1 AND remaining > 0 AND (expires_at IS NULL OR expires_at > ?3)
               AND granted_at <= ?2",
        )?;
        Ok(stmt
            .query_map(params![account_id, ts(granted_by), ts(live_at)], |r| {
                Ok(SpendableLot {
                    id: r.get(0)?,
                    remaining: Credits::from_minor(r.get(1)?),
                    expires_at: r.get::<_, Option<i64>>(2)?.map(at),
                    granted_at: at(r.get(3)?),
                })
            })?
            .collect::<rusqlite::Result<_>>()?)
    }

    fn live_lots(&mut self, account_id: &str, now: DateTime<Utc>) -> Result<Vec<Lot>> {
        let mut stmt = self.0.prepare_cached(&format!(
            "SELECT {LOT_COLUMNS} FROM lots l WHERE l.account_id = ?1 AND l.remaining > 0
             AND (l.expires_at IS NULL OR l.expires_at > ?2) AND l.granted_at <= ?2"
        ))?;
        Ok(stmt
            .query_map(params![account_id, ts(now)], lot_from_row)?
            .collect::<rusqlite::Result<_>>()?)
    }

    fn lots_of(&mut self, account_id: &str) -> Result<Vec<Lot>> {
        let mut stmt = self.0.prepare_cached(&format!(
            "SELECT {LOT_COLUMNS} FROM lots l WHERE l.account_id = ?1 ORDER BY l.id DESC"
        ))?;
        Ok(stmt
            .query_map([account_id], lot_from_row)?
            .collect::<rusqlite::Result<_>>()?)
    }

    fn live_lots_numbered(
        &mut self,
        low: LotId,
        high: LotId,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Lot>> {
        let mut stmt = self.0.prepare_cached(&format!(
            "SELECT {LOT_COLUMNS} FROM lots l WHERE l.id BETWEEN ?1 AND ?2 AND l.remaining > 0
             AND (l.expires_at IS NULL OR l.expires_at > ?3) AND l.granted_at <= ?3
             ORDER BY l.id DESC LIMIT ?4"
        ))?;
        Ok(stmt
            .query_map(params![low, high, ts(now), limit as i64], lot_from_row)?
            .collect::<rusqlite::Result<_>>()?)
    }

    fn latest_lot_like(
        &mut self,
        account_id: &str,
        amount: Credits,
        reason: &str,
        since: DateTime<Utc>,
    ) -> Result<Option<Lot>> {
        Ok(self
            .0
            .prepare_cached(&format!(
                "SELECT {LOT_COLUMNS} FROM lots l WHERE l.account_id = ?1 AND l.amount = ?2
                 AND l.reason = ?3 AND l.granted_at > ?4 ORDER BY l.id DESC LIMIT 1"
            ))?
            .query_row(
                params![account_id, amount.minor(), reason, ts(since)],
                lot_from_row,
            )
            .optional()?)
    }

    fn expired_lots(&mut self, now: DateTime<Utc>) -> Result<Vec<ExpiredLot>> {
        let mut stmt = self.0.prepare_cached(
            "SELECT id, account_id, remaining, expires_at FROM lots
             WHERE remaining > 0 AND expires_at IS NOT NULL AND expires_at <= ?1",
        )?;
        Ok(stmt
            .query_map([ts(now)], expired_from_row)?
            .collect::<rusqlite::Result<_>>()?)
    }

    fn expired_lots_of(&mut self, account_id: &str, now: DateTime<Utc>) -> Result<Vec<ExpiredLot>> {
        let mut stmt = self.0.prepare_cached(
            "SELECT id, account_id, remaining, expires_at FROM lots
             WHERE account_id = ?1 AND remaining > 0 AND expires_at IS NOT NULL
               AND expires_at <= ?2 AND revoked = 0",
        )?;
        Ok(stmt
            .query_map(params![account_id, ts(now)], expired_from_row)?
            .collect::<rusqlite::Result<_>>()?)
    }

    fn expired_from_lot(&mut self, account_id: &str, lot_id: LotId) -> Result<Credits> {
        // By account first: `journal_by_account` narrows it to that account's entries.
        let sum: i64 = self
            .0
            .prepare_cached(
                "SELECT coalesce(-sum(amount), 0) FROM journal
                 WHERE account_id = ?1 AND lot_id = ?2 AND kind = 'expire'",
            )?
            .query_row(params![account_id, lot_id], |r| r.get(0))?;
        Ok(Credits::from_minor(sum))
    }

    fn insert_admin_note(
        &mut self,
        op_key: &str,
        note: &str,
        actor: &str,
        at: DateTime<Utc>,
    ) -> Result<()> {
        self.0.execute(
            "INSERT INTO admin_notes (op_key, note, actor, at) VALUES (?1, ?2, ?3, ?4)",
            params![op_key, note, actor, ts(at)],
        )?;
        Ok(())
    }
}
