//! The voice every reply shares, below the assistant and the reminders alike: English counts
//! ("1 day", "30 days", so no reply says "1 days"), how dates and members are written
//! ([`Style`]), and the one product sentence both speak.

use chrono::{DateTime, Utc};

/// `n` and `noun`, the noun plural unless `n` is 1. For nouns whose plural adds an "s".
pub fn count(n: u32, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// What credits are for, in every reply that explains them.
pub const CREDITS_PAY_FOR: &str = "Credits pay for ebooks, music, films, TV and apps.";

/// How dates and members are written: Discord's markup (each reader sees their own locale
/// and time zone) or plain text for the console.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    Discord,
    Plain,
}

impl Style {
    /// A calendar date: `12 Dec 2026` or `<t:…:D>`.
    pub fn date(self, at: DateTime<Utc>) -> String {
        match self {
            Style::Discord => format!("<t:{}:D>", at.timestamp()),
            Style::Plain => at.format("%-d %b %Y").to_string(),
        }
    }

    /// A date with how far it is: `12 Dec 2026 (in 16 days)` or `<t:…:D> (<t:…:R>)`.
    pub fn date_relative(self, at: DateTime<Utc>, now: DateTime<Utc>) -> String {
        match self {
            Style::Discord => format!("<t:{0}:D> (<t:{0}:R>)", at.timestamp()),
            Style::Plain => format!("{} ({})", self.date(at), relative_days(at, now)),
        }
    }

    /// A member: `<@123>` on Discord, `@alice` in the console.
    pub fn member(self, member_id: &str) -> String {
        match self {
            Style::Discord if member_id.chars().all(|c| c.is_ascii_digit()) => {
                format!("<@{member_id}>")
            }
            _ => format!("@{member_id}"),
        }
    }
}

/// "today", "tomorrow", "in 16 days", "yesterday", "3 days ago", by calendar days (UTC).
pub fn relative_days(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    match (at.date_naive() - now.date_naive()).num_days() {
        0 => "today".into(),
        1 => "tomorrow".into(),
        -1 => "yesterday".into(),
        n if n > 1 => format!("in {n} days"),
        n => format!("{} days ago", -n),
    }
}

#[cfg(test)]
mod tests {
    use super::count;

    #[test]
    fn one_is_singular_and_every_other_count_plural() {
        assert_eq!(count(1, "day"), "1 day");
        assert_eq!(count(0, "day"), "0 days");
        assert_eq!(count(30, "decimal"), "30 decimals");
    }
}
