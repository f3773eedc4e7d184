//! Exact money: `Credits` (integer minor units) and the `Currency` that parses and formats them.
//!
//! Amounts enter and leave as decimal text through rust_decimal and live everywhere else as
//! integer minor units (cents for USD), which is also how SQLite stores them. No float is ever
//! involved. This module imports nothing from the ledger, the database or a transport.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

use crate::error::{AmountInput, UserError};

/// An amount of credits in minor units of the configured currency (e.g. cents).
///
/// Signed so that journal deltas and differences can be expressed; the ledger's rules keep
/// balances and lot remainders at or above zero.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Credits(i64);

impl Credits {
    pub const ZERO: Credits = Credits(0);

    pub const fn from_minor(minor: i64) -> Self {
        Credits(minor)
    }

    pub const fn minor(self) -> i64 {
        self.0
    }

    pub fn is_zero(self) -> bool {
        self.0 == 0
    }

    pub fn is_positive(self) -> bool {
        self.0 > 0
    }

    pub fn checked_add(self, other: Credits) -> Option<Credits> {
        self.0.checked_add(other.0).map(Credits)
    }

    pub fn checked_mul(self, factor: i64) -> Option<Credits> {
        self.0.checked_mul(factor).map(Credits)
    }

    pub fn min(self, other: Credits) -> Credits {
        Credits(self.0.min(other.0))
    }
}

impl std::ops::Add for Credits {
    type Output = Credits;
    fn add(self, rhs: Credits) -> Credits {
        Credits(self.0 + rhs.0)
    }
}

impl std::ops::Sub for Credits {
    type Output = Credits;
    fn sub(self, rhs: Credits) -> Credits {
        Credits(self.0 - rhs.0)
    }
}

impl std::ops::AddAssign for Credits {
    fn add_assign(&mut self, rhs: Credits) {
        self.0 += rhs.0;
    }
}

impl std::ops::SubAssign for Credits {
    fn sub_assign(&mut self, rhs: Credits) {
        self.0 -= rhs.0;
    }
}

impl std::iter::Sum for Credits {
    fn sum<I: Iterator<Item = Credits>>(iter: I) -> Credits {
        Credits(iter.map(|c| c.0).sum())
    }
}

/// Which grammar an amount is read with. Both read exactly the numbers of the store API's
/// documented pattern, `^[0-9]+(\.[0-9]+)?$`, with at most the currency's decimals (as
/// written); a leading `-` is read only to say that amounts can't be negative.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AmountSyntax {
    /// The store API, import lines and config: the pattern and nothing else (no spaces,
    /// symbols, signs, separators, underscores, exponents or a trailing point).
    Plain,
    /// Typed by a person in chat or the console: the pattern, and also spaces around it, a
    /// leading currency symbol (`$12.50`) and commas between groups of three digits
    /// (`1,000.00`).
    Typed,
}

/// The configured currency: its code, how many decimals amounts have, and the largest grant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Currency {
    code: String,
    scale: u32,
    max_grant: Credits,
}

/// The most decimals any currency here may use; keeps `10^scale` far inside i64.
pub const MAX_SCALE: u32 = 6;

impl Currency {
    /// A currency with `scale` decimals. `max_grant` is in minor units.
    ///
    /// Panics if `scale` is over [`MAX_SCALE`]; the config checks that first.
    pub fn new(code: impl Into<String>, scale: u32, max_grant: Credits) -> Self {
        assert!(
            scale <= MAX_SCALE,
            "currency scale {scale} over {MAX_SCALE}"
        );
        Currency {
            code: code.into(),
            scale,
            max_grant,
        }
    }

    /// US dollars with cents, grants up to $1,000.00.
    pub fn usd() -> Self {
        Currency::new("USD", 2, Credits::from_minor(100_000))
    }

    pub fn code(&self) -> &str {
        &self.code
    }

    pub fn scale(&self) -> u32 {
        self.scale
    }

    pub fn max_grant(&self) -> Credits {
        self.max_grant
    }

    /// The amount as an exact decimal, e.g. 1250 minor units → 12.50.
    pub fn to_decimal(&self, amount: Credits) -> Decimal {
        Decimal::new(amount.minor(), self.scale)
    }

    /// A decimal amount in minor units, refusing more decimals than the currency has.
    /// Trailing zeros are fine ("12.500" is 12.50), but a refusal counts the decimals as
    /// written: "12.50" has 2, even where credits have none.
    pub fn from_decimal(&self, value: Decimal) -> Result<Credits, UserError> {
        let normalized = value.normalize();
        if normalized.scale() > self.scale {
            return Err(UserError::AmountTooManyDecimals {
                found: value.scale(),
                scale: self.scale,
            });
        }
        let factor = Decimal::from(10i64.pow(self.scale));
        normalized
            .checked_mul(factor)
            .and_then(|minor| i64::from_str(&minor.trunc().to_string()).ok())
            .map(Credits::from_minor)
            .ok_or(UserError::AmountTooLargeToStore)
    }

    /// Reads an amount of zero or more in the given syntax (see [`AmountSyntax`]).
    ///
    /// Refuses text that is not a number, a negative amount, and more decimals than the
    /// currency has (counted as written: "12.500" has 3), each with its own error.
    pub fn parse_amount(&self, text: &str, syntax: AmountSyntax) -> Result<Credits, UserError> {
        let input = || match syntax {
            AmountSyntax::Typed => AmountInput::new(text, self.scale),
            // A client sent exactly this: show a stray space or newline rather than trim it.
            AmountSyntax::Plain => AmountInput {
                text: text.escape_debug().to_string(),
                scale: self.scale,
            },
        };
        let mut body = text;
        if syntax == AmountSyntax::Typed {
            body = body.trim();
        }
        let mut negative = false;
        if let Some(rest) = body.strip_prefix('-') {
            negative = true;
            body = rest;
        }
        if syntax == AmountSyntax::Typed {
            if let Some(rest) = self.symbol().and_then(|symbol| body.strip_prefix(symbol)) {
                body = rest;
            }
            if let Some(rest) = body.strip_prefix('-').filter(|_| !negative) {
                negative = true;
                body = rest;
            }
        }
        // Thousands separators are a common habit in chat ("1,000.00"), but "2,50" means 2.50
        // in much of the world: a comma is accepted only where it groups thousands.
        let grouped;
        if syntax == AmountSyntax::Typed && body.contains(',') {
            if !groups_thousands(body) {
                return Err(UserError::AmountCommaDecimal(input()));
            }
            grouped = body.replace(',', "");
            body = &grouped;
        }
        let (whole, fraction) = match body.split_once('.') {
            Some((whole, fraction)) => (whole, fraction),
            None => (body, ""),
        };
        let all_digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
        if !all_digits(whole) || (body.contains('.') && !all_digits(fraction)) {
            return Err(UserError::AmountNotANumber(input()));
        }
        let decimals = fraction.len() as u32;
        if decimals > self.scale {
            return Err(UserError::AmountTooManyDecimals {
                found: decimals,
                scale: self.scale,
            });
        }
        let padded = format!("{whole}{fraction:0<width$}", width = self.scale as usize);
        let minor = padded
            .bytes()
            .try_fold(0i64, |sum, digit| {
                sum.checked_mul(10)?.checked_add(i64::from(digit - b'0'))
            })
            .ok_or(UserError::AmountTooLargeToStore)?;
        if negative && minor != 0 {
            return Err(UserError::AmountNegative);
        }
        Ok(Credits::from_minor(minor))
    }

    /// Reads an amount that must be more than zero (see [`Currency::parse_amount`]).
    pub fn parse_positive(&self, text: &str, syntax: AmountSyntax) -> Result<Credits, UserError> {
        let amount = self.parse_amount(text, syntax)?;
        if amount.is_zero() {
            return Err(UserError::AmountZero);
        }
        Ok(amount)
    }

    /// Parses a grant amount: positive, and no more than the configured maximum per grant.
    pub fn parse_grant(&self, text: &str, syntax: AmountSyntax) -> Result<Credits, UserError> {
        let amount = self.parse_positive(text, syntax)?;
        self.check_grant(amount)?;
        Ok(amount)
    }

    /// Refuses a grant amount that is zero, negative or over the maximum per grant.
    pub fn check_grant(&self, amount: Credits) -> Result<(), UserError> {
        if amount.minor() < 0 {
            return Err(UserError::AmountNegative);
        }
        if amount.is_zero() {
            return Err(UserError::AmountZero);
        }
        if amount > self.max_grant {
            return Err(UserError::AmountTooLarge {
                max: self.format(self.max_grant),
            });
        }
        Ok(())
    }

    /// A currency symbol placed before the amount, for the codes people know by symbol.
    fn symbol(&self) -> Option<&'static str> {
        match self.code.as_str() {
            "USD" | "CAD" | "AUD" | "NZD" => Some("$"),
            "EUR" => Some("€"),
            "GBP" => Some("£"),
            "JPY" => Some("¥"),
            _ => None,
        }
    }

    /// Formats with the configured decimals and a thousands separator: `$1,234.50`,
    /// `-$3.00`, or `12.50 CHF` for codes without a symbol.
    pub fn format(&self, amount: Credits) -> String {
        let scale = self.scale;
        let negative = amount.minor() < 0;
        let magnitude = amount.minor().unsigned_abs();
        let unit = 10u64.pow(scale);
        let whole = group_thousands(magnitude / unit);
        let number = if scale == 0 {
            whole
        } else {
            format!(
                "{whole}.{:0width$}",
                magnitude % unit,
                width = scale as usize
            )
        };
        let sign = if negative { "-" } else { "" };
        match self.symbol() {
            Some(symbol) => format!("{sign}{symbol}{number}"),
            None => format!("{sign}{number} {}", self.code),
        }
    }
}

/// True for "1,000", "12,345.50", "-1,000": commas only between groups of three digits.
fn groups_thousands(text: &str) -> bool {
    let whole = text.split('.').next().unwrap_or("");
    let whole = whole.strip_prefix('-').unwrap_or(whole);
    let mut groups = whole.split(',');
    let first_ok = groups
        .next()
        .is_some_and(|g| (1..=3).contains(&g.len()) && g.bytes().all(|b| b.is_ascii_digit()));
    first_ok
        && groups.all(|g| g.len() == 3 && g.bytes().all(|b| b.is_ascii_digit()))
        && !text.split('.').nth(1).is_some_and(|f| f.contains(','))
}

fn group_thousands(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

impl fmt::Display for Credits {
    /// Minor units, for logs; members always see `Currency::format`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} minor units", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use AmountSyntax::{Plain, Typed};

    #[test]
    fn plain_amounts_follow_the_documented_pattern_and_nothing_else() {
        let usd = Currency::usd();
        for (text, minor) in [
            ("12.50", 1250),
            ("12.5", 1250),
            ("12", 1200),
            ("0.01", 1),
            ("007", 700),
        ] {
            assert_eq!(
                usd.parse_positive(text, Plain),
                Ok(Credits::from_minor(minor)),
                "{text}"
            );
            assert_eq!(
                usd.parse_positive(text, Typed),
                Ok(Credits::from_minor(minor)),
                "{text}"
            );
        }
        // Each of these was once read as an amount by a door that should have refused it.
        for odd in [
            "1_000", "1,000", "1._5", "1__0", "+.5", "+5", " 12", "12\n", "12.", ".5", "$12",
            "1e3", "0x10", "12 USD", "１２", "1.2.3", "", " ", "-", "1 000", "NaN", "inf",
        ] {
            assert!(
                matches!(
                    usd.parse_positive(odd, Plain),
                    Err(UserError::AmountNotANumber(_))
                ),
                "{odd:?} must not be read as an amount: {:?}",
                usd.parse_positive(odd, Plain)
            );
        }
        assert_eq!(
            usd.parse_positive("-5", Plain),
            Err(UserError::AmountNegative)
        );
        assert_eq!(usd.parse_amount("0", Plain), Ok(Credits::ZERO));
        assert_eq!(
            usd.parse_positive("0.00", Plain),
            Err(UserError::AmountZero)
        );
        assert_eq!(
            usd.parse_positive("12.500", Plain),
            Err(UserError::AmountTooManyDecimals { found: 3, scale: 2 }),
            "decimals count as written"
        );
    }

    #[test]
    fn typed_amounts_may_also_have_a_symbol_spaces_and_thousands_groups() {
        let usd = Currency::usd();
        for (text, minor) in [
            ("$12.50", 1250),
            (" 0.01 ", 1),
            ("1,000.00", 100_000),
            ("$1,000", 100_000),
            ("12,345.50", 1_234_550),
        ] {
            assert_eq!(
                usd.parse_positive(text, Typed),
                Ok(Credits::from_minor(minor)),
                "{text}"
            );
        }
        for odd in [
            "1_000", "1._5", "+.5", "12.", "7 USD", "$ 12", "12$", "€12", "1e3",
        ] {
            assert!(
                matches!(
                    usd.parse_positive(odd, Typed),
                    Err(UserError::AmountNotANumber(_))
                ),
                "{odd:?}: {:?}",
                usd.parse_positive(odd, Typed)
            );
        }
        assert_eq!(
            usd.parse_positive("-$5", Typed),
            Err(UserError::AmountNegative)
        );
        assert_eq!(
            usd.parse_positive("$-5", Typed),
            Err(UserError::AmountNegative)
        );
        for decimal_comma in [
            "2,50", "9,99", "1,2,3", "1,0000", ",100", "1,000,5", "1.000,50",
        ] {
            assert_eq!(
                usd.parse_positive(decimal_comma, Typed),
                Err(UserError::AmountCommaDecimal(AmountInput::new(
                    decimal_comma,
                    2
                ))),
                "{decimal_comma}"
            );
        }
    }

    #[test]
    fn refuses_bad_amounts_with_their_own_error() {
        let usd = Currency::usd();
        assert_eq!(
            usd.parse_positive("12.505", Typed),
            Err(UserError::AmountTooManyDecimals { found: 3, scale: 2 })
        );
        assert!(matches!(
            usd.parse_grant("1000.01", Plain),
            Err(UserError::AmountTooLarge { .. })
        ));
        assert_eq!(
            usd.parse_positive("99999999999999999999999", Plain),
            Err(UserError::AmountTooLargeToStore)
        );
        assert_eq!(
            usd.parse_grant("1000", Plain),
            Ok(Credits::from_minor(100_000))
        );
        assert_eq!(
            usd.parse_positive(" 12", Plain).unwrap_err().to_string(),
            "\" 12\" isn't an amount I can read; write it like 12.50.",
            "a client is shown the stray space"
        );
    }

    #[test]
    fn every_accepted_amount_reads_back_from_its_canonical_form() {
        let three = Currency::new("KWD", 3, Credits::from_minor(1));
        for currency in [
            Currency::usd(),
            three,
            Currency::new("JPY", 0, Credits::from_minor(1)),
        ] {
            for minor in [0, 1, 9, 10, 99, 100, 1234, 100_000, i64::MAX] {
                let amount = Credits::from_minor(minor);
                let canonical = currency.to_decimal(amount).to_string();
                assert_eq!(
                    currency.parse_amount(&canonical, Plain),
                    Ok(amount),
                    "{canonical}"
                );
                assert_eq!(
                    currency.parse_amount(&currency.format(amount), Typed).ok(),
                    currency.symbol().map(|_| amount),
                    "{}",
                    currency.format(amount)
                );
            }
        }
    }

    #[test]
    fn error_text_reads_for_a_member() {
        let usd = Currency::usd();
        let err = usd.parse_positive("12.505", Typed).unwrap_err();
        assert_eq!(
            err.to_string(),
            "That amount has 3 decimals; credits use 2 (for example 12.50)."
        );
    }

    #[test]
    fn refusals_count_decimals_as_written_and_give_an_example_in_the_currency() {
        let jpy = Currency::new("JPY", 0, Credits::from_minor(100_000));
        assert_eq!(
            jpy.parse_positive("12.50", Typed).unwrap_err().to_string(),
            "That amount has 2 decimals; credits use whole numbers only (for example 12)."
        );
        assert_eq!(jpy.parse_positive("12", Typed), Ok(Credits::from_minor(12)));
        assert_eq!(
            jpy.parse_positive("twelve", Typed).unwrap_err().to_string(),
            "\"twelve\" isn't an amount I can read; write it like 12."
        );
        assert!(
            jpy.parse_positive("2,5", Typed)
                .unwrap_err()
                .to_string()
                .contains("credits use whole numbers only; write it like 12")
        );
        let usd = Currency::usd();
        assert_eq!(
            usd.parse_positive("12.5050", Typed)
                .unwrap_err()
                .to_string(),
            "That amount has 4 decimals; credits use 2 (for example 12.50)."
        );
        let kwd = Currency::new("KWD", 3, Credits::from_minor(1));
        assert!(
            kwd.parse_positive("1.0005", Typed)
                .unwrap_err()
                .to_string()
                .ends_with("credits use 3 (for example 12.500).")
        );
    }

    #[test]
    fn formats_with_configured_decimals() {
        let usd = Currency::usd();
        assert_eq!(usd.format(Credits::from_minor(1250)), "$12.50");
        assert_eq!(usd.format(Credits::from_minor(5)), "$0.05");
        assert_eq!(
            usd.format(Credits::from_minor(123_456_789)),
            "$1,234,567.89"
        );
        assert_eq!(usd.format(Credits::from_minor(-300)), "-$3.00");
        let chf = Currency::new("CHF", 2, Credits::from_minor(1));
        assert_eq!(chf.format(Credits::from_minor(1250)), "12.50 CHF");
        let jpy = Currency::new("JPY", 0, Credits::from_minor(1));
        assert_eq!(jpy.format(Credits::from_minor(1500)), "¥1,500");
        let three = Currency::new("KWD", 3, Credits::from_minor(1));
        assert_eq!(
            three.parse_positive("1.005", Plain),
            Ok(Credits::from_minor(1005))
        );
    }

    #[test]
    fn decimal_round_trip_is_exact() {
        let usd = Currency::usd();
        let amount = Credits::from_minor(1999);
        assert_eq!(usd.to_decimal(amount).to_string(), "19.99");
        assert_eq!(usd.from_decimal(usd.to_decimal(amount)), Ok(amount));
    }
}
