//! Expiry reminders in the ledger: members' settings, the grants a run may remind about, the
//! claim that makes each (grant, threshold) reminded at most once across processes, and the
//! record of runs. Planning (which threshold is due) is `crate::reminders`, over these values.

use super::Ledger;
use crate::error::Result;
#[cfg(any(test, feature = "test-support"))]
use crate::ledger::LotId;
use crate::ledger::store::prelude::*;
use crate::ledger::store::reminders::{
    DueGrant, MemberReminders, ReminderCandidate, ReminderChange, ReminderOutcome,
    ReminderRunRecord,
};
use crate::ledger::{AccountId, MemberId, whole_seconds};
use chrono::{DateTime, Duration, Utc};
use std::collections::HashSet;

impl<S: Store> Ledger<S> {
    /// A member's reminder setting (none stored: on, at the configured days).
    pub fn member_reminders(&self, member_id: &MemberId) -> Result<MemberReminders> {
        self.store
            .read(|tx| Ok(tx.member_reminders(member_id.as_str())?.unwrap_or_default()))
    }

    /// Changes a member's reminder setting and returns it. `On` also clears a recorded
    /// "Discord can't DM you", so the next run tries again.
    pub fn set_member_reminders(
        &self,
        member_id: &MemberId,
        change: ReminderChange,
        now: DateTime<Utc>,
    ) -> Result<MemberReminders> {
        let now = whole_seconds(now);
        self.store.write(|tx| {
            tx.change_member_reminders(member_id.as_str(), change, now)?;
            Ok(tx.member_reminders(member_id.as_str())?.unwrap_or_default())
        })
    }

    /// The largest `days_before` any member chose (the window a run must look through).
    pub fn max_member_reminder_days(&self) -> Result<Option<u32>> {
        self.store.read(|tx| tx.max_member_reminder_days())
    }

    /// Every live grant with credit on it, of a linked member of an open account, expiring
    /// after `now` and within `window_days` of it, with the member's setting and how far the
    /// grant has been reminded already. One read snapshot.
    pub fn reminder_candidates(
        &self,
        now: DateTime<Utc>,
        window_days: u32,
    ) -> Result<Vec<ReminderCandidate>> {
        self.candidates(None, now, window_days)
    }

    /// [`Ledger::reminder_candidates`] of one member only.
    pub fn reminder_candidates_of(
        &self,
        member_id: &MemberId,
        now: DateTime<Utc>,
        window_days: u32,
    ) -> Result<Vec<ReminderCandidate>> {
        self.candidates(Some(member_id.as_str()), now, window_days)
    }

    fn candidates(
        &self,
        member_id: Option<&str>,
        now: DateTime<Utc>,
        window_days: u32,
    ) -> Result<Vec<ReminderCandidate>> {
        let now = whole_seconds(now);
        let horizon = now + Duration::days(i64::from(window_days));
        self.store.read(|tx| {
            let mut candidates = tx.reminder_candidates(now, horizon, member_id)?;
            // Closed accounts get no reminders; they are few, so they are read once rather
            // than looked up per grant.
            let closed: HashSet<AccountId> = tx.closed_accounts()?.into_iter().collect();
            if !closed.is_empty() {
                candidates.retain(|c| !closed.contains(&c.account_id));
            }
            Ok(candidates)
        })
    }

    /// Claims the grants of one member's message before it is sent: in one write
    /// transaction, checks the member is still linked to `account_id` with reminders on and
    /// deliverable, then records each grant at its threshold as 'sending' unless it was
    /// reminded at that threshold or a closer one already (by this or another process).
    /// Returns the grants claimed; only those may be sent, and never claimed again.
    pub fn claim_reminders(
        &self,
        run_id: Option<i64>,
        member_id: &MemberId,
        account_id: &AccountId,
        grants: &[DueGrant],
        now: DateTime<Utc>,
    ) -> Result<Vec<DueGrant>> {
        let (member_id, account_id) = (member_id.as_str(), account_id.as_str());
        let now = whole_seconds(now);
        self.store.write(|tx| {
            let linked = tx.link_of_member(member_id)?;
            if linked.as_ref().map(|l| l.account_id.as_str()) != Some(account_id) {
                return Ok(Vec::new());
            }
            if tx.account(account_id)?.is_none_or(|a| a.closed) {
                return Ok(Vec::new());
            }
            let setting = tx.member_reminders(member_id)?.unwrap_or_default();
            if !setting.enabled || setting.undeliverable.is_some() {
                return Ok(Vec::new());
            }
            let mut claimed = Vec::new();
            for grant in grants {
                if tx.reminded_at_or_within(grant.lot_id, grant.threshold_days)? {
                    continue;
                }
                if tx.claim_reminder(run_id, member_id, account_id, grant, now)? {
                    claimed.push(grant.clone());
                }
            }
            Ok(claimed)
        })
    }

    /// Records how sending claimed grants ended.
    pub fn finish_reminders(
        &self,
        member_id: &MemberId,
        grants: &[DueGrant],
        outcome: &ReminderOutcome,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let member_id = member_id.as_str();
        let now = whole_seconds(now);
        let (state, error) = match outcome {
            ReminderOutcome::Sent => ("sent", None),
            ReminderOutcome::Failed(reason) | ReminderOutcome::Undeliverable(reason) => {
                ("failed", Some(reason.as_str()))
            }
        };
        self.store.write(|tx| {
            for grant in grants {
                tx.finish_reminder(grant.lot_id, grant.threshold_days, state, error, now)?;
            }
            if let ReminderOutcome::Undeliverable(reason) = outcome {
                tx.mark_undeliverable(member_id, reason, now)?;
            }
            Ok(())
        })
    }

    /// Starts recording a run; returns its id.
    pub fn start_reminder_run(&self, now: DateTime<Utc>) -> Result<i64> {
        let now = whole_seconds(now);
        self.store.write(|tx| tx.insert_reminder_run(now))
    }

    /// Records how a run ended.
    pub fn finish_reminder_run(
        &self,
        run_id: i64,
        finished: DateTime<Utc>,
        counts: (u64, u64, u64),
        detail: &serde_json::Value,
    ) -> Result<()> {
        let finished = whole_seconds(finished);
        self.store
            .write(|tx| tx.finish_reminder_run(run_id, finished, counts, detail))
    }

    /// The latest run, if any.
    pub fn last_reminder_run(&self) -> Result<Option<ReminderRunRecord>> {
        self.store.read(|tx| tx.last_reminder_run())
    }

    /// Reminder rows of a member (newest first): `(lot, threshold, state)`. Only tests call
    /// it (no `export` does yet), so a release build leaves it out.
    #[cfg(any(test, feature = "test-support"))]
    pub fn reminders_of(&self, member_id: &MemberId) -> Result<Vec<(LotId, u32, String)>> {
        self.store.read(|tx| tx.reminders_of(member_id.as_str()))
    }
}
