//! SQL for expiry reminders: members' settings, the candidates of a run, the claims and the
//! record of runs.

use super::lots::source_from;
use super::{SqliteTx, at, ts};
use crate::error::Result;
use crate::ledger::store::ReminderRows;
use crate::ledger::store::reminders::{
    DueGrant, MemberReminders, ReminderCandidate, ReminderChange, ReminderRunRecord,
};
use crate::ledger::{AccountId, LotId};
use crate::money::Credits;
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

/// The candidates query; `?3` (the member) is only in the one-member variant.
const CANDIDATE_SELECT: &str = "SELECT l.id, l.account_id, k.member_id, l.remaining, l.source,
        l.reason, l.expires_at, s.enabled, s.days_before, s.undeliverable_reason,
        s.undeliverable_at,
        (SELECT min(r.threshold_days) FROM reminders r WHERE r.lot_id = l.id)
     FROM lots l
     JOIN links k ON k.account_id = l.account_id
     LEFT JOIN reminder_settings s ON s.member_id = k.member_id";

fn candidate_from_row(r: &rusqlite::Row) -> rusqlite::Result<ReminderCandidate> {
    let undeliverable = match (r.get::<_, Option<String>>(9)?, r.get::<_, Option<i64>>(10)?) {
        (Some(reason), Some(since)) => Some((reason, at(since))),
        _ => None,
    };
    Ok(ReminderCandidate {
        lot_id: r.get(0)?,
        account_id: r.get(1)?,
        member_id: r.get(2)?,
        remaining: Credits::from_minor(r.get(3)?),
        source: source_from(r.get_ref(4)?.as_str()?),
        reason: r.get(5)?,
        expires_at: at(r.get(6)?),
        setting: MemberReminders {
            enabled: r.get::<_, Option<bool>>(7)?.unwrap_or(true),
            days_before: r.get(8)?,
            undeliverable,
        },
        reminded_at_days: r.get(11)?,
    })
}

impl ReminderRows for SqliteTx<'_> {
    fn member_reminders(&mut self, member_id: &str) -> Result<Option<MemberReminders>> {
        Ok(self
            .0
            .prepare_cached(
                "SELECT enabled, days_before, undeliverable_reason, undeliverable_at
                 FROM reminder_settings WHERE member_id = ?1",
            )?
            .query_row([member_id], |r| {
                let undeliverable =
                    match (r.get::<_, Option<String>>(2)?, r.get::<_, Option<i64>>(3)?) {
                        (Some(reason), Some(since)) => Some((reason, at(since))),
                        _ => None,
                    };
                Ok(MemberReminders {
                    enabled: r.get(0)?,
                    days_before: r.get(1)?,
                    undeliverable,
                })
            })
            .optional()?)
    }

    fn change_member_reminders(
        &mut self,
        member_id: &str,
        change: ReminderChange,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let now = ts(now);
        let tx = &self.0;
        tx.execute(
            "INSERT OR IGNORE INTO reminder_settings (member_id, updated_at) VALUES (?1, ?2)",
            params![member_id, now],
        )?;
        match change {
            ReminderChange::On => tx.execute(
                "UPDATE reminder_settings SET enabled = 1, undeliverable_at = NULL,
                 undeliverable_reason = NULL, updated_at = ?2 WHERE member_id = ?1",
                params![member_id, now],
            )?,
            ReminderChange::Off => tx.execute(
                "UPDATE reminder_settings SET enabled = 0, updated_at = ?2 WHERE member_id = ?1",
                params![member_id, now],
            )?,
            ReminderChange::Days(days) => tx.execute(
                "UPDATE reminder_settings SET enabled = 1, days_before = ?3, updated_at = ?2
                 WHERE member_id = ?1",
                params![member_id, now, days],
            )?,
        };
        Ok(())
    }

    fn max_member_reminder_days(&mut self) -> Result<Option<u32>> {
        Ok(self.0.query_row(
            "SELECT max(days_before) FROM reminder_settings WHERE enabled = 1",
            [],
            |r| r.get(0),
        )?)
    }

    /// Kept as two statements so the all-members run still reads the lots by the sweep's
    /// index.
    fn reminder_candidates(
        &mut self,
        now: DateTime<Utc>,
        horizon: DateTime<Utc>,
        member_id: Option<&str>,
    ) -> Result<Vec<ReminderCandidate>> {
        let extra = if member_id.is_some() {
            "k.member_id = ?3 AND"
        } else {
            ""
        };
        let mut stmt = self.0.prepare_cached(&format!(
            "{CANDIDATE_SELECT}
             WHERE {extra} l.remaining > 0 AND l.expires_at IS NOT NULL
               AND l.expires_at > ?1 AND l.expires_at <= ?2
               AND l.granted_at <= ?1 AND l.revoked = 0"
        ))?;
        Ok(match member_id {
            Some(member) => stmt
                .query_map(params![ts(now), ts(horizon), member], candidate_from_row)?
                .collect::<rusqlite::Result<_>>()?,
            None => stmt
                .query_map(params![ts(now), ts(horizon)], candidate_from_row)?
                .collect::<rusqlite::Result<_>>()?,
        })
    }

    /// By the small `accounts_closed` index.
    fn closed_accounts(&mut self) -> Result<Vec<AccountId>> {
        Ok(self
            .0
            .prepare_cached("SELECT id FROM accounts INDEXED BY accounts_closed WHERE closed = 1")?
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?)
    }

    fn reminded_at_or_within(&mut self, lot_id: LotId, threshold_days: u32) -> Result<bool> {
        Ok(self
            .0
            .prepare_cached("SELECT 1 FROM reminders WHERE lot_id = ?1 AND threshold_days <= ?2")?
            .exists(params![lot_id, threshold_days])?)
    }

    fn claim_reminder(
        &mut self,
        run_id: Option<i64>,
        member_id: &str,
        account_id: &str,
        grant: &DueGrant,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let inserted = self
            .0
            .prepare_cached(
                "INSERT OR IGNORE INTO reminders (lot_id, threshold_days, member_id, account_id,
                     amount, expires_at, state, run_id, claimed_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'sending', ?7, ?8)",
            )?
            .execute(params![
                grant.lot_id,
                grant.threshold_days,
                member_id,
                account_id,
                grant.remaining.minor(),
                ts(grant.expires_at),
                run_id,
                ts(now)
            ])?;
        Ok(inserted == 1)
    }

    fn finish_reminder(
        &mut self,
        lot_id: LotId,
        threshold_days: u32,
        state: &str,
        error: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.0
            .prepare_cached(
                "UPDATE reminders SET state = ?3, finished_at = ?4, error = ?5
                 WHERE lot_id = ?1 AND threshold_days = ?2",
            )?
            .execute(params![lot_id, threshold_days, state, ts(now), error])?;
        Ok(())
    }

    fn mark_undeliverable(
        &mut self,
        member_id: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let now = ts(now);
        self.0.execute(
            "INSERT OR IGNORE INTO reminder_settings (member_id, updated_at) VALUES (?1, ?2)",
            params![member_id, now],
        )?;
        self.0.execute(
            "UPDATE reminder_settings SET undeliverable_at = ?2, undeliverable_reason = ?3,
             updated_at = ?2 WHERE member_id = ?1",
            params![member_id, now, reason],
        )?;
        Ok(())
    }

    fn insert_reminder_run(&mut self, started_at: DateTime<Utc>) -> Result<i64> {
        self.0.execute(
            "INSERT INTO reminder_runs (started_at) VALUES (?1)",
            [ts(started_at)],
        )?;
        Ok(self.0.last_insert_rowid())
    }

    fn finish_reminder_run(
        &mut self,
        run_id: i64,
        finished_at: DateTime<Utc>,
        counts: (u64, u64, u64),
        detail: &serde_json::Value,
    ) -> Result<()> {
        let (sent, skipped, failed) = counts;
        self.0.execute(
            "UPDATE reminder_runs SET finished_at = ?2, sent = ?3, skipped = ?4, failed = ?5,
             detail = ?6 WHERE id = ?1",
            params![
                run_id,
                ts(finished_at),
                sent as i64,
                skipped as i64,
                failed as i64,
                detail.to_string()
            ],
        )?;
        Ok(())
    }

    fn last_reminder_run(&mut self) -> Result<Option<ReminderRunRecord>> {
        Ok(self
            .0
            .query_row(
                "SELECT id, started_at, finished_at, sent, skipped, failed, detail
                 FROM reminder_runs ORDER BY id DESC LIMIT 1",
                [],
                |r| {
                    Ok(ReminderRunRecord {
                        id: r.get(0)?,
                        started_at: at(r.get(1)?),
                        finished_at: r.get::<_, Option<i64>>(2)?.map(at),
                        sent: r.get::<_, i64>(3)? as u64,
                        skipped: r.get::<_, i64>(4)? as u64,
                        failed: r.get::<_, i64>(5)? as u64,
                        detail: serde_json::from_str(&r.get::<_, String>(6)?).unwrap_or_default(),
                    })
                },
            )
            .optional()?)
    }

    #[cfg(any(test, feature = "test-support"))]
    fn reminders_of(&mut self, member_id: &str) -> Result<Vec<(LotId, u32, String)>> {
        let mut stmt = self.0.prepare_cached(
            "SELECT lot_id, threshold_days, state FROM reminders WHERE member_id = ?1
             ORDER BY claimed_at DESC, lot_id, threshold_days",
        )?;
        Ok(stmt
            .query_map([member_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<rusqlite::Result<_>>()?)
    }
}
