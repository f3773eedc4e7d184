//! Expiry reminders: a private message to a linked member before credit of theirs expires.
//!
//! - **Planning** ([`plan`]) is a plain function over the grants the ledger hands out
//!   ([`Ledger::reminder_candidates`]): for each grant, the smallest of the member's thresholds
//!   it has crossed is due unless the grant was reminded at that threshold or a closer one.
//!   One message per member gathers every due grant.
//! - **Sending** ([`run`]) claims each member's grants in the database first (a unique key per
//!   grant and threshold: two processes racing send once), then hands the text to a
//!   [`Deliver`] given by the transport (serenity in `run`, Discord's REST API in `serve` and
//!   `creditbot remind`), retrying as Discord asks and never sending a message twice.
//!
//! No network here, and no clock: `now` is passed in, and waiting goes through [`Pause`].

pub mod text;

use chrono::{DateTime, Duration as Days, Utc};
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use prometheus_client::metrics::counter::Counter;
use sha2::{Digest, Sha256};

use crate::config::{MAX_REMINDER_DAYS, RemindersConfig};
use crate::error::{Error, Result};
use crate::ledger::{
    AccountId, DueGrant, Ledger, MemberId, MemberReminders, ReminderCandidate, ReminderOutcome,
};

/// How reminders are set up (from `[reminders]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    pub enabled: bool,
    /// Largest first, without repeats.
    pub days_before: Vec<u32>,
    pub every: Duration,
    pub max_per_minute: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings::from(&RemindersConfig::default())
    }
}

impl From<&RemindersConfig> for Settings {
    fn from(config: &RemindersConfig) -> Self {
        let mut days = config.days_before.clone();
        days.sort_unstable_by(|a, b| b.cmp(a));
        days.dedup();
        Settings {
            enabled: config.enabled,
            days_before: days,
            every: Duration::from_secs(u64::from(config.run_every_minutes) * 60),
            max_per_minute: config.max_per_minute.max(1),
        }
    }
}

impl Settings {
    /// A member's thresholds, largest first: the configured days, or, when they chose
    /// `days:N`, N and then the configured days closer to the expiry than N.
    pub fn thresholds(&self, member: &MemberReminders) -> Vec<u32> {
        match member.days_before {
            None => self.days_before.clone(),
            Some(first) => std::iter::once(first)
                .chain(self.days_before.iter().copied().filter(|d| *d < first))
                .collect(),
        }
    }

    /// The least time between two requests to Discord, to stay within `max_per_minute`.
    pub fn pace(&self) -> Duration {
        Duration::from_secs(60) / self.max_per_minute
    }

    /// The window a run looks through: the largest threshold anyone may have.
    fn window(&self, member_max: Option<u32>) -> u32 {
        let configured = self.days_before.first().copied().unwrap_or(0);
        configured
            .max(member_max.unwrap_or(0))
            .min(MAX_REMINDER_DAYS)
    }
}

/// The smallest threshold (in days) that `expires_at` has crossed at `now`, if any.
pub fn crossed_threshold(
    thresholds: &[u32],
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Option<u32> {
    if expires_at <= now {
        return None;
    }
    thresholds
        .iter()
        .copied()
        .filter(|days| expires_at - Days::days(i64::from(*days)) <= now)
        .min()
}

/// One member's message: every grant due for them in this run, soonest expiry first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberMessage {
    pub member_id: MemberId,
    pub account_id: AccountId,
    pub grants: Vec<DueGrant>,
}

/// Why a member with due grants gets no message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum SkipReason {
    /// They ran `/reminders off`.
    TurnedOff,
    /// Discord refused to DM them before (50007), and they haven't turned reminders on since.
    CantDm,
    /// Another run (another process) claimed these grants first.
    ClaimedElsewhere,
}

impl SkipReason {
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::TurnedOff => "reminders turned off",
            SkipReason::CantDm => "Discord can't DM them",
            SkipReason::ClaimedElsewhere => "already being sent by another run",
        }
    }
}

/// What a run would send.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// By member id.
    pub messages: Vec<MemberMessage>,
    /// Members with due grants who get nothing, and why.
    pub skipped: Vec<(MemberId, SkipReason)>,
}

/// Plans a run at `now` from the ledger's candidates.
pub fn plan(
    mut candidates: Vec<ReminderCandidate>,
    settings: &Settings,
    now: DateTime<Utc>,
) -> Plan {
    // One member's grants next to each other, then one pass.
    candidates.sort_unstable_by(|a, b| a.member_id.cmp(&b.member_id));
    let mut plan = Plan::default();
    let mut rest = candidates.into_iter().peekable();
    while let Some(first) = rest.next() {
        let thresholds = settings.thresholds(&first.setting);
        let skip = if !first.setting.enabled {
            Some(SkipReason::TurnedOff)
        } else if first.setting.undeliverable.is_some() {
            Some(SkipReason::CantDm)
        } else {
            None
        };
        let (member_id, account_id) = (first.member_id.clone(), first.account_id.clone());
        let mut grants = Vec::new();
        let mut next = Some(first);
        while let Some(c) = next {
            if let Some(threshold) = crossed_threshold(&thresholds, c.expires_at, now)
                && c.reminded_at_days.is_none_or(|done| done > threshold)
            {
                grants.push(DueGrant {
                    lot_id: c.lot_id,
                    threshold_days: threshold,
                    remaining: c.remaining,
                    source: c.source,
                    reason: c.reason,
                    expires_at: c.expires_at,
                });
            }
            next = rest.next_if(|n| n.member_id == member_id);
        }
        if grants.is_empty() {
            continue;
        }
        match skip {
            Some(reason) => plan.skipped.push((member_id, reason)),
            None => {
                grants.sort_by_key(|g| (g.expires_at, g.lot_id));
                plan.messages.push(MemberMessage {
                    member_id,
                    account_id,
                    grants,
                });
            }
        }
    }
    plan
}

/// Plans a run at `now` over the whole ledger.
pub fn plan_run(ledger: &Ledger, settings: &Settings, now: DateTime<Utc>) -> Result<Plan> {
    let window = settings.window(ledger.max_member_reminder_days()?);
    let candidates = ledger.reminder_candidates(now, window)?;
    Ok(plan(candidates, settings, now))
}

/// What one member would be reminded of at `now` (the console shows it at start).
pub fn due_for_member(
    ledger: &Ledger,
    settings: &Settings,
    member_id: &MemberId,
    now: DateTime<Utc>,
) -> Result<Option<MemberMessage>> {
    let window = settings.window(ledger.member_reminders(member_id)?.days_before);
    let candidates = ledger.reminder_candidates_of(member_id, now, window)?;
    Ok(plan(candidates, settings, now)
        .messages
        .into_iter()
        .find(|m| m.member_id == *member_id))
}

/// Why Discord didn't take a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SendError {
    /// 50007: the member doesn't accept DMs from the bot. Not retried.
    CantDm(String),
    /// 429: try again after this long.
    RateLimited(Duration),
    /// 5xx, a timeout, a dropped connection: try again later (the same nonce makes a retry
    /// of a message Discord did take harmless).
    Transient(String),
    /// Anything else (a bad request, an unknown user): not retried.
    Permanent(String),
}

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Sends one private message to a member. `nonce` is the same on every try of one message:
/// Discord then creates it at most once (`enforce_nonce`).
pub trait Deliver: Send + Sync {
    fn send<'a>(
        &'a self,
        member_id: &'a str,
        text: &'a str,
        nonce: &'a str,
    ) -> BoxFuture<'a, std::result::Result<(), SendError>>;
}

/// Waiting between requests and before retries; tests record instead of sleeping.
pub trait Pause: Send + Sync {
    fn pause(&self, how_long: Duration) -> BoxFuture<'_, ()>;
}

/// Waits on tokio's timer.
pub struct Sleep;

impl Pause for Sleep {
    fn pause(&self, how_long: Duration) -> BoxFuture<'_, ()> {
        Box::pin(tokio::time::sleep(how_long))
    }
}

/// The reminder counters `/metrics` shows (cheap to clone: each is shared).
#[derive(Clone, Debug, Default)]
pub struct Counters {
    pub sent: Counter,
    pub failed: Counter,
    pub skipped: Counter,
}

impl Counters {
    /// The process's counters, which `/metrics` shows and the long-running transports count
    /// in.
    pub fn process() -> &'static Counters {
        static PROCESS: std::sync::OnceLock<Counters> = std::sync::OnceLock::new();
        PROCESS.get_or_init(Counters::default)
    }
}

/// How many tries one message gets (429s included) before it counts as failed.
pub const MAX_TRIES: u32 = 5;
/// The first wait after a 5xx or a timeout; doubled each time.
pub const FIRST_BACKOFF: Duration = Duration::from_secs(2);

/// What a run did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    pub sent: u64,
    pub skipped: u64,
    pub failed: u64,
    /// Skipped members by reason.
    pub skipped_by: BTreeMap<String, u64>,
    /// (member, reason) of each failure.
    pub failures: Vec<(MemberId, String)>,
}

impl Report {
    fn skip(&mut self, reason: SkipReason, counters: Option<&Counters>) {
        self.skipped += 1;
        *self.skipped_by.entry(reason.as_str().into()).or_default() += 1;
        if let Some(c) = counters {
            c.skipped.inc();
        }
    }

    pub fn detail(&self) -> serde_json::Value {
        serde_json::json!({
            "skipped": self.skipped_by,
            "failed": self.failures.iter().map(|(member, reason)| {
                serde_json::json!({ "member": member, "reason": reason })
            }).collect::<Vec<_>>(),
        })
    }
}

/// The nonce of a member's message: the same for every try of it, different for any other
/// message (Discord keeps at most 25 characters).
pub fn nonce(member_id: &str, grants: &[DueGrant]) -> String {
    let mut hash = Sha256::new();
    hash.update(member_id.as_bytes());
    for grant in grants {
        hash.update(format!(":{}@{}", grant.lot_id, grant.threshold_days).as_bytes());
    }
    format!("r{}", &hex::encode(hash.finalize())[..24])
}

/// Everything a run needs.
pub struct Runner {
    pub ledger: Arc<Ledger>,
    pub settings: Settings,
    pub deliver: Arc<dyn Deliver>,
    pub pause: Arc<dyn Pause>,
    pub counters: Option<Counters>,
}

impl Runner {
    /// One run at `now`: plans, then for each member claims their grants, sends one message
    /// and records the outcome; records the run for `/admin reminders`.
    pub async fn run(&self, now: DateTime<Utc>) -> Result<Report> {
        let (settings, counters) = (&self.settings, self.counters.as_ref());
        let plan = self
            .blocking({
                let settings = settings.clone();
                move |ledger| plan_run(ledger, &settings, now)
            })
            .await?;
        let mut report = Report::default();
        for (_, reason) in &plan.skipped {
            report.skip(*reason, counters);
        }
        // Every run is recorded, so `/admin reminders` can tell when the next one comes.
        let run_id = self.blocking(move |l| l.start_reminder_run(now)).await?;
        let currency = self.ledger.currency().clone();
        let mut first_request = true;
        for message in plan.messages {
            let claim = {
                let (member, account, grants) = (
                    message.member_id.clone(),
                    message.account_id.clone(),
                    message.grants.clone(),
                );
                self.blocking(move |l| {
                    l.claim_reminders(Some(run_id), &member, &account, &grants, now)
                })
                .await?
            };
            if claim.is_empty() {
                report.skip(SkipReason::ClaimedElsewhere, counters);
                continue;
            }
            let body = text::message(&claim, &currency, crate::words::Style::Discord, now);
            let nonce = nonce(message.member_id.as_str(), &claim);
            let outcome = self
                .deliver_one(
                    message.member_id.as_str(),
                    &body,
                    &nonce,
                    &mut first_request,
                )
                .await;
            match &outcome {
                ReminderOutcome::Sent => {
                    report.sent += 1;
                    if let Some(c) = counters {
                        c.sent.inc();
                    }
                }
                ReminderOutcome::Failed(reason) | ReminderOutcome::Undeliverable(reason) => {
                    report.failed += 1;
                    report
                        .failures
                        .push((message.member_id.clone(), reason.clone()));
                    if let Some(c) = counters {
                        c.failed.inc();
                    }
                    tracing::warn!(member = %message.member_id, %reason, "a reminder wasn't sent");
                }
            }
            let member = message.member_id.clone();
            self.blocking(move |l| l.finish_reminders(&member, &claim, &outcome, now))
                .await?;
        }
        let (counts, detail) = (
            (report.sent, report.skipped, report.failed),
            report.detail(),
        );
        self.blocking(move |l| l.finish_reminder_run(run_id, now, counts, &detail))
            .await?;
        Ok(report)
    }

    /// Tries one message until Discord takes it, refuses it for good, or `MAX_TRIES` pass.
    async fn deliver_one(
        &self,
        member_id: &str,
        body: &str,
        nonce: &str,
        first_request: &mut bool,
    ) -> ReminderOutcome {
        let mut backoff = FIRST_BACKOFF;
        let mut last = String::new();
        for _ in 0..MAX_TRIES {
            if !*first_request {
                self.pause.pause(self.settings.pace()).await;
            }
            *first_request = false;
            match self.deliver.send(member_id, body, nonce).await {
                Ok(()) => return ReminderOutcome::Sent,
                Err(SendError::CantDm(reason)) => return ReminderOutcome::Undeliverable(reason),
                Err(SendError::Permanent(reason)) => return ReminderOutcome::Failed(reason),
                Err(SendError::RateLimited(wait)) => {
                    last = format!("rate limited (retry after {:.1} s)", wait.as_secs_f64());
                    self.pause.pause(wait).await;
                }
                Err(SendError::Transient(reason)) => {
                    last = reason;
                    self.pause.pause(backoff).await;
                    backoff *= 2;
                }
            }
        }
        ReminderOutcome::Failed(format!("gave up after {MAX_TRIES} tries: {last}"))
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Ledger) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let ledger = Arc::clone(&self.ledger);
        tokio::task::spawn_blocking(move || f(&ledger))
            .await
            .map_err(|e| Error::internal("running a reminder step", e))?
    }

    /// Runs every `settings.every` until the task is dropped or aborted.
    pub async fn run_periodically(self) {
        let mut ticks = tokio::time::interval(self.settings.every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            match self.run(Utc::now()).await {
                Ok(report) if report.sent + report.failed + report.skipped > 0 => {
                    tracing::info!(
                        sent = report.sent,
                        skipped = report.skipped,
                        failed = report.failed,
                        "reminder run"
                    )
                }
                Ok(_) => {}
                Err(error) => {
                    tracing::warn!(%error, "the reminder run failed; it runs again later")
                }
            }
        }
    }
}
