//! The words of reminders: the private message, and the replies of `/reminders` and
//! `/admin reminders`. Member-facing; the voice of `assistant::text`.

use chrono::{DateTime, Utc};

use crate::ledger::{DueGrant, MemberReminders, ReminderRunRecord, Source};
use crate::money::{Credits, Currency};
use crate::words::{CREDITS_PAY_FOR, Style};

/// "promotion: Black Friday", or just "promotion" when the reason says nothing more.
fn grant_label(grant: &DueGrant) -> String {
    let reason = grant.reason.trim();
    if reason.is_empty() || reason.eq_ignore_ascii_case(grant.source.as_str()) {
        grant.source.as_str().to_string()
    } else if grant.source == Source::Refund {
        format!("refund ({reason})")
    } else {
        format!("{}: {reason}", grant.source.as_str())
    }
}

/// The reminder a member reads: the amount and date first, each grant, what credits buy,
/// and where to see the rest.
pub fn message(
    grants: &[DueGrant],
    currency: &Currency,
    style: Style,
    now: DateTime<Utc>,
) -> String {
    let total: Credits = grants.iter().map(|g| g.remaining).sum();
    let soonest = grants.iter().map(|g| g.expires_at).min().unwrap_or(now);
    let mut out = if grants.len() == 1 {
        format!(
            "⏰ {} of your credits expires {}.",
            currency.format(total),
            style.date_relative(soonest, now)
        )
    } else {
        format!(
            "⏰ {} of your credits expires soon, the first on {}:",
            currency.format(total),
            style.date_relative(soonest, now)
        )
    };
    if grants.len() > 1 {
        for grant in grants.iter().take(10) {
            out.push_str(&format!(
                "\n  {}  {}  expires {}",
                currency.format(grant.remaining),
                grant_label(grant),
                style.date_relative(grant.expires_at, now)
            ));
        }
        if grants.len() > 10 {
            out.push_str(&format!("\n  …and {} more.", grants.len() - 10));
        }
    } else if let Some(grant) = grants.first() {
        out.push_str(&format!(" It's from {}.", grant_label(grant)));
    }
    out.push_str(&format!(
        "\n{CREDITS_PAY_FOR} Use them before then — the soonest-expiring are spent first.\n/balance shows all your credits · /reminders off stops these messages."
    ));
    out
}

/// "7 days and 1 day".
pub fn days_list(days: &[u32]) -> String {
    let words: Vec<String> = days
        .iter()
        .map(|d| crate::words::count(*d, "day"))
        .collect();
    match words.as_slice() {
        [] => "never".into(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// `/reminders`: the member's setting and how to change it.
pub fn setting(
    setting: &MemberReminders,
    thresholds: &[u32],
    enabled_here: bool,
    style: Style,
) -> String {
    if !enabled_here {
        return "Expiry reminders are switched off on this server, so none are sent. /expiry shows when your credits expire.".into();
    }
    if !setting.enabled {
        return "Expiry reminders are off: you won't get a message before credit expires. /reminders on turns them back on.".into();
    }
    let mut out = format!(
        "Expiry reminders are on: a private message {} before credit of yours expires.",
        days_list(thresholds)
    );
    if let Some((_, since)) = &setting.undeliverable {
        out.push_str(&format!(
            "\nBut Discord didn't let me message you on {}, so none are sent: allow direct messages from this server's members, then run /reminders on.",
            style.date(*since)
        ));
    }
    out.push_str("\n/reminders days:3 changes when · /reminders off stops them.");
    out
}

/// After `/reminders on|off|days:N`.
pub fn changed(setting: &MemberReminders, thresholds: &[u32]) -> String {
    if setting.enabled {
        format!(
            "Done — you'll get a private message {} before credit of yours expires. /reminders off stops them.",
            days_list(thresholds)
        )
    } else {
        "Done — no more expiry reminders. /reminders on turns them back on; /expiry shows your dates any time.".into()
    }
}

/// `/admin reminders`: the last run and the next.
pub fn admin_status(
    last: Option<&ReminderRunRecord>,
    next: Option<DateTime<Utc>>,
    due_now: usize,
    enabled: bool,
    days: &[u32],
    style: Style,
    now: DateTime<Utc>,
) -> String {
    let mut out = String::new();
    match last {
        None => out.push_str("No reminder run has sent anything yet."),
        Some(run) => {
            out.push_str(&format!(
                "Last run {}: {} sent, {} skipped, {} failed.",
                style.date_relative(run.started_at, now),
                run.sent,
                run.skipped,
                run.failed
            ));
            if let Some(skipped) = run.detail["skipped"].as_object() {
                for (reason, count) in skipped {
                    out.push_str(&format!("\n  skipped {count}: {reason}"));
                }
            }
            if let Some(failed) = run.detail["failed"].as_array() {
                for failure in failed.iter().take(10) {
                    out.push_str(&format!(
                        "\n  failed {}: {}",
                        style.member(failure["member"].as_str().unwrap_or("?")),
                        failure["reason"].as_str().unwrap_or("?")
                    ));
                }
                if failed.len() > 10 {
                    out.push_str(&format!("\n  …and {} more failures.", failed.len() - 10));
                }
            }
        }
    }
    if !enabled {
        out.push_str("\nReminders are switched off ([reminders] enabled = false in bot.toml).");
        return out;
    }
    match next {
        Some(next) => out.push_str(&format!(
            "\nNext run {}; {} due now. Reminders go {} before an expiry.",
            style.date_relative(next, now),
            crate::words::count(due_now as u32, "message"),
            days_list(days)
        )),
        None => out.push_str(&format!(
            "\nRuns start when the bot (with a token) starts; {} due now.",
            crate::words::count(due_now as u32, "message")
        )),
    }
    out
}
