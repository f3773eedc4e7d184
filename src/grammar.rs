//! The grammar of the values every door reads: times, expiry dates and durations, and client
//! idempotency keys. One parser each, shared by chat, the console, the store API, `import`
//! and config, so a value one door takes is a value every door takes. Amounts have theirs in
//! `money` (`Currency::parse_amount`); ids are checked by the ledger, which owns them.

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, Utc};
use serde::{Deserialize, Deserializer};

use crate::error::UserError;
use crate::ledger::Expiry;

/// The longest expiry in days: a hundred years.
pub const MAX_EXPIRY_DAYS: u32 = 36_500;

/// A point in time, as RFC 3339 with a zone: `2026-11-26T12:00:00Z`,
/// `2026-11-26T13:00:00+01:00`, with or without fractions of a second. Nothing looser: no
/// space for the `T`, no missing zone, no surrounding spaces.
pub fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    // chrono's RFC 3339 parser also takes a space or a lower-case `t` for the `T`; the
    // documented form has exactly `T`, so a client's other spellings are refused, not guessed.
    if text.as_bytes().get(10) != Some(&b'T') {
        return None;
    }
    let at = DateTime::parse_from_rfc3339(text).ok()?.with_timezone(&Utc);
    // An offset can carry a time written in year 0 or 9999 out of the years RFC 3339 can
    // write in UTC (to -0001 or +10000), where it could never be written back.
    (0..=9999).contains(&at.year()).then_some(at)
}

/// Reads an optional `at` from JSON with [`parse_time`], so the store API and `import` take
/// exactly the times chat and config do.
pub fn deserialize_time<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<DateTime<Utc>>, D::Error> {
    let text = Option::<String>::deserialize(deserializer)?;
    text.map(|text| {
        parse_time(&text).ok_or_else(|| {
            serde::de::Error::invalid_value(
                serde::de::Unexpected::Str(&text),
                &"an RFC 3339 time, like \"2026-11-26T12:00:00Z\"",
            )
        })
    })
    .transpose()
}

/// An expiry as admins and the shop write it: a number of days (`90`, `90d`, `90 days`,
/// `1 day`), a date (`2027-06-30`, the credits stop counting at the start of that day, UTC),
/// an RFC 3339 time ([`parse_time`]), or `never`. Spaces around it are ignored. `None` for no
/// text at all.
pub fn parse_expiry(text: Option<&str>, now: DateTime<Utc>) -> Result<Option<Expiry>, UserError> {
    let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    if text.eq_ignore_ascii_case("never") {
        return Ok(Some(Expiry::Never));
    }
    if let Some(days) = parse_days(text) {
        return match u32::try_from(days) {
            Ok(days @ 1..=MAX_EXPIRY_DAYS) => Ok(Some(Expiry::InDays(days))),
            _ if days <= 0 => Err(UserError::DateInPast),
            _ => Err(UserError::DateNotReadable(text.to_string())),
        };
    }
    let at = if let Some(date) = parse_date(text) {
        date.and_time(NaiveTime::MIN).and_utc()
    } else if let Some(at) = parse_time(text) {
        at
    } else {
        return Err(UserError::DateNotReadable(text.to_string()));
    };
    if at <= now {
        return Err(UserError::DateInPast);
    }
    Ok(Some(Expiry::At(at)))
}

/// A count of days: an optional `-`, ASCII digits, then nothing, `d`, ` day` or ` days`.
/// Out-of-range counts come back as they are, for the caller to refuse by name.
fn parse_days(text: &str) -> Option<i64> {
    let number = ["d", " days", " day"]
        .iter()
        .find_map(|unit| text.strip_suffix(unit))
        .unwrap_or(text);
    let digits = number.strip_prefix('-').unwrap_or(number);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // Too many digits for an i64 is still a count of days, just far too many.
    Some(number.parse::<i64>().unwrap_or(i64::MAX))
}

/// A calendar date written `YYYY-MM-DD`, exactly (chrono alone would also take `2027-6-3`).
fn parse_date(text: &str) -> Option<NaiveDate> {
    let shape = text.len() == 10
        && text.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            _ => b.is_ascii_digit(),
        });
    shape
        .then(|| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok())
        .flatten()
}

/// The longest client idempotency key taken, in characters.
pub const MAX_KEY_CHARS: usize = 200;

/// Why a client's idempotency key was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyProblem {
    Empty,
    /// Only printable ASCII without spaces: letters, digits and punctuation.
    NotPrintableAscii,
    TooLong {
        length: usize,
    },
}

/// Checks a client's idempotency key, wherever it comes from (the `Idempotency-Key` header,
/// a request body's or an import line's `key`): 1 to [`MAX_KEY_CHARS`] characters of
/// printable ASCII without spaces, so two keys that look the same are the same.
pub fn check_client_key(key: &str) -> Result<(), KeyProblem> {
    if key.is_empty() {
        return Err(KeyProblem::Empty);
    }
    if !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(KeyProblem::NotPrintableAscii);
    }
    let length = key.chars().count();
    if length > MAX_KEY_CHARS {
        return Err(KeyProblem::TooLong { length });
    }
    Ok(())
}

impl KeyProblem {
    /// What the client reads, naming the field (`Idempotency-Key` or `key`).
    pub fn message(self, field: &str) -> String {
        match self {
            KeyProblem::Empty => format!("{field} can't be empty"),
            KeyProblem::NotPrintableAscii => format!(
                "{field} must be printable ASCII without spaces (letters, digits and punctuation)"
            ),
            KeyProblem::TooLong { length } => {
                format!("{field} is too long ({length} characters; at most {MAX_KEY_CHARS})")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn expiries_read_as_days_dates_or_never() {
        let now = Utc.with_ymd_and_hms(2026, 11, 26, 12, 0, 0).unwrap();
        assert_eq!(parse_expiry(None, now), Ok(None));
        assert_eq!(parse_expiry(Some("90"), now), Ok(Some(Expiry::InDays(90))));
        assert_eq!(parse_expiry(Some("never"), now), Ok(Some(Expiry::Never)));
        assert_eq!(
            parse_expiry(Some("2027-06-30"), now),
            Ok(Some(Expiry::At(
                Utc.with_ymd_and_hms(2027, 6, 30, 0, 0, 0).unwrap()
            )))
        );
        assert_eq!(
            parse_expiry(Some("2025-01-01"), now),
            Err(UserError::DateInPast)
        );
        assert_eq!(parse_expiry(Some("0"), now), Err(UserError::DateInPast));
        assert_eq!(parse_expiry(Some("-3"), now), Err(UserError::DateInPast));
        assert_eq!(
            parse_expiry(Some("2027-13-01"), now),
            Err(UserError::DateNotReadable("2027-13-01".into()))
        );
        assert_eq!(
            parse_expiry(Some("soon"), now),
            Err(UserError::DateNotReadable("soon".into()))
        );
    }
    #[test]
    fn day_counts_take_one_unit_once() {
        let now = Utc.with_ymd_and_hms(2026, 11, 26, 12, 0, 0).unwrap();
        for (text, days) in [
            ("90", 90),
            ("90d", 90),
            ("90 days", 90),
            ("1 day", 1),
            (" 7 ", 7),
        ] {
            assert_eq!(
                parse_expiry(Some(text), now),
                Ok(Some(Expiry::InDays(days))),
                "{text}"
            );
        }
        for odd in [
            "90dd",
            "90 days days",
            "90 daysd",
            "+90",
            "9_0",
            "90.0",
            "2027-6-30",
            "2027-06-30 ",
        ] {
            let read = parse_expiry(Some(odd), now);
            // A trailing space is trimmed, so only the inner oddities are refused.
            if odd.trim() == "2027-06-30" {
                assert!(read.is_ok());
                continue;
            }
            assert_eq!(
                read,
                Err(UserError::DateNotReadable(odd.trim().to_string())),
                "{odd}"
            );
        }
        assert_eq!(
            parse_expiry(Some("99999999999999999999"), now),
            Err(UserError::DateNotReadable("99999999999999999999".into()))
        );
    }

    #[test]
    fn times_are_rfc3339_with_a_capital_t_and_a_zone() {
        let noon = Utc.with_ymd_and_hms(2026, 11, 26, 12, 0, 0).unwrap();
        assert_eq!(parse_time("2026-11-26T12:00:00Z"), Some(noon));
        assert_eq!(parse_time("2026-11-26T13:00:00+01:00"), Some(noon));
        for odd in [
            "2026-11-26 12:00:00Z",
            "2026-11-26t12:00:00Z",
            "2026-11-26T12:00:00",
            " 2026-11-26T12:00:00Z",
            "2026-11-26T12:00:00Z ",
            "2026-11-26",
            "",
            // Found by fuzzing: these leave the years UTC can be written in.
            "0000-01-01T00:00:00+01:00",
            "9999-12-31T23:59:59-23:59",
        ] {
            assert_eq!(parse_time(odd), None, "{odd:?}");
        }
    }

    #[test]
    fn client_keys_are_printable_ascii_of_bounded_length() {
        assert_eq!(check_client_key("order-9001/retry.2"), Ok(()));
        assert_eq!(check_client_key(""), Err(KeyProblem::Empty));
        for odd in ["k\u{200B}4", "k 4", " k4", "k4\n", "clé"] {
            assert_eq!(
                check_client_key(odd),
                Err(KeyProblem::NotPrintableAscii),
                "{odd:?}"
            );
        }
        assert_eq!(
            check_client_key(&"k".repeat(MAX_KEY_CHARS + 1)),
            Err(KeyProblem::TooLong {
                length: MAX_KEY_CHARS + 1
            })
        );
    }
}
