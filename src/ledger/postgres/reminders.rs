//! SQL for expiry reminders: members' settings, the candidates of a run, the claims and the
//! record of runs. Thresholds and days are `u32` in Rust and `bigint` here.

use super::lots::source_from;
use super::{PgTx, ts};
use crate::error::Result;
use crate::ledger::store::ReminderRows;
use crate::ledger::store::reminders::{
    DueGrant, MemberReminders, ReminderCandidate, ReminderChange, ReminderRunRecord,
};
use crate::ledger::{AccountId, LotId};
use crate::money::Credits;
use chrono::{DateTime, Utc};
use postgres::Row;

/// The candidates query; `$3` (the member) is only in the one-member variant.
const CANDIDATE_SELECT: &str = "SELECT l.id, l.account_id, k.member_id, l.remaining, l.source,
        l.reason, l.expires_at, s.enabled, s.days_before, s.undeliverable_reason,
        s.undeliverable_at,
        (SELECT min(r.threshold_days) FROM reminders r WHERE r.lot_id = l.id)
     FROM lots l
     JOIN links k ON k.account_id = l.account_id
     LEFT JOIN reminder_settings s ON s.member_id = k.member_id";

/// "Undeliverable since, because" from its two columns (both set, or neither).
fn undeliverable(
    reason: Option<String>,
    since: Option<DateTime<Utc>>,
) -> Option<(String, DateTime<Utc>)> {
    reason.zip(since)
}

fn days(value: Option<i64>) -> Option<u32> {
    value.map(|days| days as u32)
}

fn candidate_from_row(r: &Row) -> Result<ReminderCandidate, postgres::Error> {
    Ok(ReminderCandidate {
        lot_id: r.try_get(0)?,
        account_id: r.try_get(1)?,
        member_id: r.try_get(2)?,
        remaining: Credits::from_minor(r.try_get(3)?),
        source: source_from(r.try_get(4)?),
        reason: r.try_get(5)?,
        expires_at: r.try_get(6)?,
        setting: MemberReminders {
            enabled: r.try_get::<_, Option<bool>>(7)?.unwrap_or(true),
            days_before: days(r.try_get(8)?),
            undeliverable: undeliverable(r.try_get(9)?, r.try_get(10)?),
        },
        reminded_at_days: days(r.try_get(11)?),
    })
}

impl PgTx<'_> {
    /// A member's settings row, inserted with the defaults if they have none yet.
    fn ensure_reminder_settings(&mut self, member_id: &str, now: DateTime<Utc>) -> Result<()> {
        self.exec(
            "INSERT INTO reminder_settings (member_id, updated_at) VALUES ($1, $2)
             ON CONFLICT (member_id) DO NOTHING",
            &[&member_id, &now],
        )?;
        Ok(())
    }
}

impl ReminderRows for PgTx<'_> {
    fn member_reminders(&mut self, member_id: &str) -> Result<Option<MemberReminders>> {
        self.opt(
            "SELECT enabled, days_before, undeliverable_reason, undeliverable_at
             FROM reminder_settings WHERE member_id = $1",
            &[&member_id],
            |r| {
                Ok(MemberReminders {
                    enabled: r.try_get(0)?,
                    days_before: days(r.try_get(1)?),
                    undeliverable: undeliverable(r.try_get(2)?, r.try_get(3)?),
                })
            },
        )
    }

    fn change_member_reminders(
        &mut self,
        member_id: &str,
        change: ReminderChange,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let now = ts(now);
        self.ensure_reminder_settings(member_id, now)?;
        match change {
            ReminderChange::On => self.exec(
                "UPDATE reminder_settings SET enabled = true, undeliverable_at = NULL,
                 undeliverable_reason = NULL, updated_at = $2 WHERE member_id = $1",
                &[&member_id, &now],
            )?,
            ReminderChange::Off => self.exec(
                "UPDATE reminder_settings SET enabled = false, updated_at = $2 WHERE member_id = $1",
                &[&member_id, &now],
            )?,
            ReminderChange::Days(days) => self.exec(
                "UPDATE reminder_settings SET enabled = true, days_before = $3, updated_at = $2
                 WHERE member_id = $1",
                &[&member_id, &now, &i64::from(days)],
            )?,
        };
        Ok(())
    }

    fn max_member_reminder_days(&mut self) -> Result<Option<u32>> {
        self.one(
            "SELECT max(days_before) FROM reminder_settings WHERE enabled",
            &[],
            |r| Ok(days(r.try_get(0)?)),
        )
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
            "k.member_id = $3 AND"
        } else {
            ""
        };
        let sql = format!(
            "{CANDIDATE_SELECT}
             WHERE {extra} l.remaining > 0 AND l.expires_at IS NOT NULL
               AND l.expires_at > $1 AND l.expires_at <= $2
               AND l.granted_at <= $1 AND NOT l.revoked"
        );
        let (now, horizon) = (ts(now), ts(horizon));
        match member_id {
            Some(member) => self.all(&sql, &[&now, &horizon, &member], candidate_from_row),
            None => self.all(&sql, &[&now, &horizon], candidate_from_row),
        }
    }

    /// By the small `accounts_closed` index.
    fn closed_accounts(&mut self) -> Result<Vec<AccountId>> {
        self.all("SELECT id FROM accounts WHERE closed", &[], |r| {
            r.try_get(0)
        })
    }

    fn reminded_at_or_within(&mut self, lot_id: LotId, threshold_days: u32) -> Result<bool> {
        Ok(self
            .opt(
                "SELECT 1 FROM reminders WHERE lot_id = $1 AND threshold_days <= $2 LIMIT 1",
                &[&lot_id, &i64::from(threshold_days)],
                |_| Ok(()),
            )?
            .is_some())
    }

    fn claim_reminder(
        &mut self,
        run_id: Option<i64>,
        member_id: &str,
        account_id: &str,
        grant: &DueGrant,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let inserted = self.exec(
            "INSERT INTO reminders (lot_id, threshold_days, member_id, account_id,
                 amount, expires_at, state, run_id, claimed_at)
             VALUES ($1, $2, $3, $4, $5, $6, 'sending', $7, $8)
             ON CONFLICT (lot_id, threshold_days) DO NOTHING",
            &[
                &grant.lot_id,
                &i64::from(grant.threshold_days),
                &member_id,
                &account_id,
                &grant.remaining.minor(),
                &ts(grant.expires_at),
                &run_id,
                &ts(now),
            ],
        )?;
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
        self.exec(
            "UPDATE reminders SET state = $3, finished_at = $4, error = $5
             WHERE lot_id = $1 AND threshold_days = $2",
            &[
                &lot_id,
                &i64::from(threshold_days),
                &state,
                &ts(now),
                &error,
            ],
        )?;
        Ok(())
    }

    fn mark_undeliverable(
        &mut self,
        member_id: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let now = ts(now);
        self.ensure_reminder_settings(member_id, now)?;
        self.exec(
            "UPDATE reminder_settings SET undeliverable_at = $2, undeliverable_reason = $3,
             updated_at = $2 WHERE member_id = $1",
            &[&member_id, &now, &reason],
        )?;
        Ok(())
    }

    fn insert_reminder_run(&mut self, started_at: DateTime<Utc>) -> Result<i64> {
        self.one(
            "INSERT INTO reminder_runs (started_at) VALUES ($1) RETURNING id",
            &[&ts(started_at)],
            |r| r.try_get(0),
        )
    }

    fn finish_reminder_run(
        &mut self,
        run_id: i64,
        finished_at: DateTime<Utc>,
        counts: (u64, u64, u64),
        detail: &serde_json::Value,
    ) -> Result<()> {
        let (sent, skipped, failed) = counts;
        self.exec(
            "UPDATE reminder_runs SET finished_at = $2, sent = $3, skipped = $4, failed = $5,
             detail = $6 WHERE id = $1",
            &[
                &run_id,
                &ts(finished_at),
                &(sent as i64),
                &(skipped as i64),
                &(failed as i64),
                &detail.to_string(),
            ],
        )?;
        Ok(())
    }

    fn last_reminder_run(&mut self) -> Result<Option<ReminderRunRecord>> {
        self.opt(
            "SELECT id, started_at, finished_at, sent, skipped, failed, detail
             FROM reminder_runs ORDER BY id DESC LIMIT 1",
            &[],
            |r| {
                Ok(ReminderRunRecord {
                    id: r.try_get(0)?,
                    started_at: r.try_get(1)?,
                    finished_at: r.try_get(2)?,
                    sent: r.try_get::<_, i64>(3)? as u64,
                    skipped: r.try_get::<_, i64>(4)? as u64,
                    failed: r.try_get::<_, i64>(5)? as u64,
                    detail: serde_json::from_str(r.try_get(6)?).unwrap_or_default(),
                })
            },
        )
    }

    #[cfg(any(test, feature = "test-support"))]
    fn reminders_of(&mut self, member_id: &str) -> Result<Vec<(LotId, u32, String)>> {
        self.all(
            "SELECT lot_id, threshold_days, state FROM reminders WHERE member_id = $1
             ORDER BY claimed_at DESC, lot_id, threshold_days",
            &[&member_id],
            |r| Ok((r.try_get(0)?, r.try_get::<_, i64>(1)? as u32, r.try_get(2)?)),
        )
    }
}
