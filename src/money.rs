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

    /// Parses a positive amount typed by a person: `12.50`, `12.5`, `$12.50`, `12`, ` 7 `.
    ///
    /// Refuses text that is not a number, negative and zero amounts, and more decimals than
    /// the currency has, each with its own error.
    pub fn parse_positive(&self, text: &str) -> Result<Credits, UserError> {
        let trimmed = text.trim();
        let without_symbol = trimmed
            .strip_prefix(self.symbol().unwrap_or("\u{0}"))
            .unwrap_or(trimmed)
            .trim();
        let without_code = without_symbol
            .strip_suffix(self.code.as_str())
            .unwrap_or(without_symbol)
            .trim();
        // Thousands separators are a common habit ("1,000.00"), but "2,50" means 2.50 in much
        // of the world: a comma is accepted only where it groups thousands.
        if without_code.contains(',') && !groups_thousands(without_code) {
            return Err(UserError::AmountCommaDecimal(self.input(text)));
        }
        let digits = without_code.replace(',', "");
        if digits.is_empty() {
            return Err(UserError::AmountNotANumber(self.input(text)));
        }
        let value = Decimal::from_str_exact(&digits)
            .map_err(|_| UserError::AmountNotANumber(self.input(text)))?;
        if value.is_sign_negative() && !value.is_zero() {
            return Err(UserError::AmountNegative);
        }
        if value.is_zero() {
            return Err(UserError::AmountZero);
        }
        self.from_decimal(value)
    }

    /// What was typed, for a refusal that shows an example in this currency.
    fn input(&self, text: &str) -> AmountInput {
        AmountInput::new(text, self.scale)
    }

    /// Parses a grant amount: positive, and no more than the configured maximum per grant.
    pub fn parse_grant(&self, text: &str) -> Result<Credits, UserError> {
        let amount = self.parse_positive(text)?;
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

    #[test]
    fn parses_plain_and_decorated_amounts() {
        let usd = Currency::usd();
        for (text, minor) in [
            ("12.50", 1250),
            ("12.5", 1250),
            ("12", 1200),
            ("$12.50", 1250),
            (" 0.01 ", 1),
            ("1,000.00", 100_000),
            ("12.500", 1250),
            ("7 USD", 700),
        ] {
            assert_eq!(
                usd.parse_positive(text),
                Ok(Credits::from_minor(minor)),
                "{text}"
            );
        }
    }

    #[test]
    fn refuses_bad_amounts_with_their_own_error() {
        let usd = Currency::usd();
        assert_eq!(
            usd.parse_positive("12.505"),
            Err(UserError::AmountTooManyDecimals { found: 3, scale: 2 })
        );
        assert_eq!(usd.parse_positive("-5"), Err(UserError::AmountNegative));
        assert_eq!(usd.parse_positive("0.00"), Err(UserError::AmountZero));
        assert!(matches!(
            usd.parse_positive("ten"),
            Err(UserError::AmountNotANumber(_))
        ));
        assert!(matches!(
            usd.parse_positive(""),
            Err(UserError::AmountNotANumber(_))
        ));
        assert!(matches!(
            usd.parse_positive("1e3"),
            Err(UserError::AmountNotANumber(_))
        ));
        assert!(matches!(
            usd.parse_grant("1000.01"),
            Err(UserError::AmountTooLarge { .. })
        ));
        assert!(matches!(
            usd.parse_positive("99999999999999999999999"),
            Err(UserError::AmountTooLargeToStore) | Err(UserError::AmountNotANumber(_))
        ));
        for decimal_comma in [
            "2,50", "9,99", "1,2,3", "1,0000", ",100", "1,000,5", "1.000,50",
        ] {
            assert_eq!(
                usd.parse_positive(decimal_comma),
                Err(UserError::AmountCommaDecimal(AmountInput::new(
                    decimal_comma,
                    2
                ))),
                "{decimal_comma}"
            );
        }
        assert_eq!(
            usd.parse_positive("12,345.50"),
            Ok(Credits::from_minor(1_234_550))
        );
        assert_eq!(usd.parse_grant("1000"), Ok(Credits::from_minor(100_000)));
    }

    #[test]
    fn error_text_reads_for_a_member() {
        let usd = Currency::usd();
        let err = usd.parse_positive("12.505").unwrap_err();
        assert_eq!(
            err.to_string(),
            "That amount has 3 decimals; credits use 2 (for example 12.50)."
        );
    }

    #[test]
    fn refusals_count_decimals_as_written_and_give_an_example_in_the_currency() {
        let jpy = Currency::new("JPY", 0, Credits::from_minor(100_000));
        assert_eq!(
            jpy.parse_positive("12.50").unwrap_err().to_string(),
            "That amount has 2 decimals; credits use whole numbers only (for example 12)."
        );
        assert_eq!(jpy.parse_positive("12.00"), Ok(Credits::from_minor(12)));
        assert_eq!(
            jpy.parse_positive("twelve").unwrap_err().to_string(),
            "\"twelve\" isn't an amount I can read; write it like 12."
        );
        assert!(
            jpy.parse_positive("2,5")
                .unwrap_err()
                .to_string()
                .contains("credits use whole numbers only; write it like 12")
        );
        let usd = Currency::usd();
        assert_eq!(
            usd.parse_positive("12.5050").unwrap_err().to_string(),
            "That amount has 4 decimals; credits use 2 (for example 12.50)."
        );
        let kwd = Currency::new("KWD", 3, Credits::from_minor(1));
        assert!(
            kwd.parse_positive("1.0005")
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
        assert_eq!(three.parse_positive("1.005"), Ok(Credits::from_minor(1005)));
    }

    #[test]
    fn decimal_round_trip_is_exact() {
        let usd = Currency::usd();
        let amount = Credits::from_minor(1999);
        assert_eq!(usd.to_decimal(amount).to_string(), "19.99");
        assert_eq!(usd.from_decimal(usd.to_decimal(amount)), Ok(amount));
    }
}
