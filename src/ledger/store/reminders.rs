//! Expiry reminders, as rows: members' settings, the grants a run may remind about, the
//! claims that make each (grant, threshold) reminded at most once, and the record of runs.
//! Planning (which threshold is due) is `crate::reminders`; the checks around a claim are
//! `ledger::ops::reminders`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::ledger::{AccountId, LotId, MemberId, Source};
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
    pub account_id: AccountId,
    pub member_id: MemberId,
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

pub trait ReminderRows {
    /// A member's stored setting; `None` when they never changed it.
    fn member_reminders(&mut self, member_id: &str) -> Result<Option<MemberReminders>>;
    /// Applies a change to a member's setting (`On` also clears "undeliverable").
    fn change_member_reminders(
        &mut self,
        member_id: &str,
        change: ReminderChange,
        now: DateTime<Utc>,
    ) -> Result<()>;
    /// The largest `days_before` of a member with reminders on.
    fn max_member_reminder_days(&mut self) -> Result<Option<u32>>;
    /// Unrevoked lots with credit left, granted by `now`, expiring after `now` and by
    /// `horizon`, of accounts a member is linked to (only `member_id`'s, if given), with the
    /// member's setting and the smallest threshold each was claimed at. Closed accounts'
    /// lots are included: the caller leaves them out.
    fn reminder_candidates(
        &mut self,
        now: DateTime<Utc>,
        horizon: DateTime<Utc>,
        member_id: Option<&str>,
    ) -> Result<Vec<ReminderCandidate>>;
    /// The ids of the closed accounts.
    fn closed_accounts(&mut self) -> Result<Vec<AccountId>>;
    /// Whether `lot_id` was claimed at `threshold_days` or a closer threshold.
    fn reminded_at_or_within(&mut self, lot_id: LotId, threshold_days: u32) -> Result<bool>;
    /// Claims a grant at its threshold as 'sending', unless that exact claim exists; true
    /// when this call made it.
    fn claim_reminder(
        &mut self,
        run_id: Option<i64>,
        member_id: &str,
        account_id: &str,
        grant: &DueGrant,
        now: DateTime<Utc>,
    ) -> Result<bool>;
    /// Records how sending a claimed reminder ended: `sent` or `failed` with `error`.
    fn finish_reminder(
        &mut self,
        lot_id: LotId,
        threshold_days: u32,
        state: &str,
        error: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<()>;
    /// Records that Discord can't DM this member.
    fn mark_undeliverable(
        &mut self,
        member_id: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<()>;
    /// Starts recording a run; returns its id.
    fn insert_reminder_run(&mut self, started_at: DateTime<Utc>) -> Result<i64>;
    fn finish_reminder_run(
        &mut self,
        run_id: i64,
        finished_at: DateTime<Utc>,
        counts: (u64, u64, u64),
        detail: &serde_json::Value,
    ) -> Result<()>;
    fn last_reminder_run(&mut self) -> Result<Option<ReminderRunRecord>>;
    /// A member's reminder rows, newest first: `(lot, threshold, state)`.
    #[cfg(any(test, feature = "test-support"))]
    fn reminders_of(&mut self, member_id: &str) -> Result<Vec<(LotId, u32, String)>>;
}
