//! SQL for expiry reminders: members' settings, the grants a run may remind about, the claim
//! that makes each (grant, threshold) reminded at most once across processes, and the record
//! of runs. Planning (which threshold is due) is `crate::reminders`, over these values.

use chrono::{DateTime, Duration, Utc};
use rusqlite::{OptionalExtension, Transaction, params};
use serde::{Deserialize, Serialize};

use super::lots::source_from;
use super::{Ledger, at, ts};
use crate::error::Result;
use crate::ledger::{LotId, Source, whole_seconds};
use crate::money::Credits;

/// A member's reminder setting (no row: on, at the configured days).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberReminders {
    pub enabled: bool,
    /// The first reminder this many days before an expiry; `None`: the configured days.
    pub days_before: Option<u32>,
    /// Discord refused to DM them (50007): why, and since when. Cleared by turning on.
    pub undeliverable: Option<(String, DateTime<Utc>)>,
}

impl Default for MemberReminders {
    fn default() -> Self {
        MemberReminders {
            enabled: true,
            days_before: None,
            undeliverable: None,
        }
    }
}

/// What a member asked to change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReminderChange {
    On,
    Off,
    Days(u32),
}

/// A live grant of a linked member expiring within a run's window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReminderCandidate {
    pub lot_id: LotId,
    pub account_id: String,
    pub member_id: String,
    pub remaining: Credits,
    pub source: Source,
    pub reason: String,
    pub expires_at: DateTime<Utc>,
    pub setting: MemberReminders,
    /// The smallest threshold this grant was ever reminded (or claimed) at.
    pub reminded_at_days: Option<u32>,
}

/// One grant in a message, with the threshold it is reminded at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DueGrant {
    pub lot_id: LotId,
    pub threshold_days: u32,
    pub remaining: Credits,
    pub source: Source,
    pub reason: String,
    pub expires_at: DateTime<Utc>,
}

/// How sending one member's message ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReminderOutcome {
    Sent,
    /// Not sent, for this reason; the grants are not reminded again.
    Failed(String),
    /// Discord can't DM this member (50007): recorded, and they are skipped until they turn
    /// reminders on again.
    Undeliverable(String),
}

/// A run as `/admin reminders` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReminderRunRecord {
    pub id: i64,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub sent: u64,
    pub skipped: u64,
    pub failed: u64,
    pub detail: serde_json::Value,
}

impl Ledger {
    /// A member's reminder setting.
    pub fn member_reminders(&self, member_id: &str) -> Result<MemberReminders> {
        self.read(|tx| member_setting(tx, member_id))
    }

    /// Changes a member's reminder setting and returns it. `On` also clears a recorded
    /// "Discord can't DM you", so the next run tries again.
    pub fn set_member_reminders(
        &self,
        member_id: &str,
        change: ReminderChange,
        now: DateTime<Utc>,
    ) -> Result<MemberReminders> {
        let now = ts(whole_seconds(now));
        self.write(|tx| {
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
            member_setting(tx, member_id)
        })
    }

    /// The largest `days_before` any member chose (the window a run must look through).
    pub fn max_member_reminder_days(&self) -> Result<Option<u32>> {
        self.read(|tx| {
            Ok(tx.query_row(
                "SELECT max(days_before) FROM reminder_settings WHERE enabled = 1",
                [],
                |r| r.get(0),
            )?)
        })
    }

    /// Every live grant with credit on it, of a linked member of an open account, expiring
    /// after `now` and within `window_days` of it, with the member's setting and how far the
    /// grant has been reminded already. One read snapshot; the lots come by the sweep's index.
    pub fn reminder_candidates(
        &self,
        now: DateTime<Utc>,
        window_days: u32,
    ) -> Result<Vec<ReminderCandidate>> {
        self.candidates_where("", None, now, window_days)
    }

    /// [`Ledger::reminder_candidates`] of one member only.
    pub fn reminder_candidates_of(
        &self,
        member_id: &str,
        now: DateTime<Utc>,
        window_days: u32,
    ) -> Result<Vec<ReminderCandidate>> {
        self.candidates_where("k.member_id = ?3 AND", Some(member_id), now, window_days)
    }

    /// The candidates query with an extra leading condition (`?3` is `member_id`), kept as
    /// separate SQL so the all-members run still reads the lots by the sweep's index.
    fn candidates_where(
        &self,
        extra: &str,
        member_id: Option<&str>,
        now: DateTime<Utc>,
        window_days: u32,
    ) -> Result<Vec<ReminderCandidate>> {
        let now = whole_seconds(now);
        let horizon = now + Duration::days(i64::from(window_days));
        self.read(|tx| {
            let mut stmt = tx.prepare_cached(&format!(
                "{CANDIDATE_SELECT}
                 WHERE {extra} l.remaining > 0 AND l.expires_at IS NOT NULL
                   AND l.expires_at > ?1 AND l.expires_at <= ?2
                   AND l.granted_at <= ?1 AND l.revoked = 0"
            ))?;
            let rows = match member_id {
                Some(member) => stmt
                    .query_map(params![ts(now), ts(horizon), member], candidate_from_row)?
                    .collect::<rusqlite::Result<_>>()?,
                None => stmt
                    .query_map(params![ts(now), ts(horizon)], candidate_from_row)?
                    .collect::<rusqlite::Result<_>>()?,
            };
            without_closed_accounts(tx, rows)
        })
    }
}

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

impl Ledger {
    /// Claims the grants of one member's message before it is sent: in one write
    /// transaction, checks the member is still linked to `account_id` with reminders on and
    /// deliverable, then records each grant at its threshold as 'sending' unless it was
    /// reminded at that threshold or a closer one already (by this or another process).
    /// Returns the grants claimed; only those may be sent, and never claimed again.
    pub fn claim_reminders(
        &self,
        run_id: Option<i64>,
        member_id: &str,
        account_id: &str,
        grants: &[DueGrant],
        now: DateTime<Utc>,
    ) -> Result<Vec<DueGrant>> {
        let now = ts(whole_seconds(now));
        self.write(|tx| {
            let linked: Option<String> = tx
                .query_row(
                    "SELECT account_id FROM links WHERE member_id = ?1",
                    [member_id],
                    |r| r.get(0),
                )
                .optional()?;
            if linked.as_deref() != Some(account_id) {
                return Ok(Vec::new());
            }
            let closed: bool = tx.query_row(
                "SELECT closed FROM accounts WHERE id = ?1",
                [account_id],
                |r| r.get(0),
            )?;
            if closed {
                return Ok(Vec::new());
            }
            let setting = member_setting(tx, member_id)?;
            if !setting.enabled || setting.undeliverable.is_some() {
                return Ok(Vec::new());
            }
            let mut reminded = tx.prepare_cached(
                "SELECT 1 FROM reminders WHERE lot_id = ?1 AND threshold_days <= ?2",
            )?;
            let mut insert = tx.prepare_cached(
                "INSERT OR IGNORE INTO reminders (lot_id, threshold_days, member_id, account_id,
                     amount, expires_at, state, run_id, claimed_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'sending', ?7, ?8)",
            )?;
            let mut claimed = Vec::new();
            for grant in grants {
                if reminded.exists(params![grant.lot_id, grant.threshold_days])? {
                    continue;
                }
                let inserted = insert.execute(params![
                    grant.lot_id,
                    grant.threshold_days,
                    member_id,
                    account_id,
                    grant.remaining.minor(),
                    ts(grant.expires_at),
                    run_id,
                    now
                ])?;
                if inserted == 1 {
                    claimed.push(grant.clone());
                }
            }
            Ok(claimed)
        })
    }

    /// Records how sending claimed grants ended.
    pub fn finish_reminders(
        &self,
        member_id: &str,
        grants: &[DueGrant],
        outcome: &ReminderOutcome,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let now = ts(whole_seconds(now));
        let (state, error) = match outcome {
            ReminderOutcome::Sent => ("sent", None),
            ReminderOutcome::Failed(reason) | ReminderOutcome::Undeliverable(reason) => {
                ("failed", Some(reason.as_str()))
            }
        };
        self.write(|tx| {
            let mut update = tx.prepare_cached(
                "UPDATE reminders SET state = ?3, finished_at = ?4, error = ?5
                 WHERE lot_id = ?1 AND threshold_days = ?2",
            )?;
            for grant in grants {
                update.execute(params![grant.lot_id, grant.threshold_days, state, now, error])?;
            }
            if let ReminderOutcome::Undeliverable(reason) = outcome {
                tx.execute(
                    "INSERT OR IGNORE INTO reminder_settings (member_id, updated_at) VALUES (?1, ?2)",
                    params![member_id, now],
                )?;
                tx.execute(
                    "UPDATE reminder_settings SET undeliverable_at = ?2, undeliverable_reason = ?3,
                     updated_at = ?2 WHERE member_id = ?1",
                    params![member_id, now, reason],
                )?;
            }
            Ok(())
        })
    }

    /// Starts recording a run; returns its id.
    pub fn start_reminder_run(&self, now: DateTime<Utc>) -> Result<i64> {
        let now = ts(whole_seconds(now));
        self.write(|tx| {
            tx.execute("INSERT INTO reminder_runs (started_at) VALUES (?1)", [now])?;
            Ok(tx.last_insert_rowid())
        })
    }

    /// Records how a run ended.
    pub fn finish_reminder_run(
        &self,
        run_id: i64,
        finished: DateTime<Utc>,
        counts: (u64, u64, u64),
        detail: &serde_json::Value,
    ) -> Result<()> {
        let (sent, skipped, failed) = counts;
        self.write(|tx| {
            tx.execute(
                "UPDATE reminder_runs SET finished_at = ?2, sent = ?3, skipped = ?4, failed = ?5,
                 detail = ?6 WHERE id = ?1",
                params![
                    run_id,
                    ts(whole_seconds(finished)),
                    sent as i64,
                    skipped as i64,
                    failed as i64,
                    detail.to_string()
                ],
            )?;
            Ok(())
        })
    }

    /// The latest run, if any.
    pub fn last_reminder_run(&self) -> Result<Option<ReminderRunRecord>> {
        self.read(|tx| {
            Ok(tx
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
                            detail: serde_json::from_str(&r.get::<_, String>(6)?)
                                .unwrap_or_default(),
                        })
                    },
                )
                .optional()?)
        })
    }

    /// Reminder rows of a member (newest first): `(lot, threshold, state)`. Only tests call
    /// it (no `export` does yet), so a release build leaves it out.
    #[cfg(any(test, feature = "test-support"))]
    pub fn reminders_of(&self, member_id: &str) -> Result<Vec<(LotId, u32, String)>> {
        self.read(|tx| {
            let mut stmt = tx.prepare_cached(
                "SELECT lot_id, threshold_days, state FROM reminders WHERE member_id = ?1
                 ORDER BY claimed_at DESC, lot_id, threshold_days",
            )?;
            Ok(stmt
                .query_map([member_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect::<rusqlite::Result<_>>()?)
        })
    }
}

/// Leaves out the grants of closed accounts (by the small `accounts_closed` index, rather
/// than a probe of `accounts` per grant).
fn without_closed_accounts(
    tx: &Transaction,
    mut candidates: Vec<ReminderCandidate>,
) -> Result<Vec<ReminderCandidate>> {
    let closed: std::collections::HashSet<String> = tx
        .prepare_cached("SELECT id FROM accounts INDEXED BY accounts_closed WHERE closed = 1")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    if !closed.is_empty() {
        candidates.retain(|c| !closed.contains(&c.account_id));
    }
    Ok(candidates)
}

fn member_setting(tx: &Transaction, member_id: &str) -> Result<MemberReminders> {
    Ok(tx
        .prepare_cached(
            "SELECT enabled, days_before, undeliverable_reason, undeliverable_at
             FROM reminder_settings WHERE member_id = ?1",
        )?
        .query_row([member_id], |r| {
            let undeliverable = match (r.get::<_, Option<String>>(2)?, r.get::<_, Option<i64>>(3)?)
            {
                (Some(reason), Some(since)) => Some((reason, at(since))),
                _ => None,
            };
            Ok(MemberReminders {
                enabled: r.get(0)?,
                days_before: r.get(1)?,
                undeliverable,
            })
        })
        .optional()?
        .unwrap_or_default())
}
