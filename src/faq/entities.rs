//! Entity extraction: the order ids, amounts, dates and mentions a member's
//! question carries, so an answer can use them ("was credit used on order
//! 7781?", "will my $12.50 expire before christmas?", "can I give it to @sam?").
//!
//! This module owns only the reading of the words. It is pure: no I/O, no
//! config, and it never reads the clock — `now` is passed in, and every
//! relative date ("tomorrow", "next month", "in 2 weeks") is resolved against
//! `now`'s UTC calendar date. Whatever it cannot read with confidence it leaves
//! out: a missing entity makes the answer general, a wrong one makes it wrong.
//!
//! # How it reads
//!
//! The text is scanned by a fixed sequence of passes. Each pass *claims* the
//! spans it recognises, and later passes skip anything overlapping a claim, so
//! one piece of text is read as one thing only. Some passes claim without
//! reporting anything (URLs, e-mail addresses, times, phone numbers, ambiguous
//! numeric dates): their job is to keep look-alike digits away from the order
//! id and amount passes. The order, most specific first:
//!
//! 1. Discord markup: `<@id>`/`<@!id>` give [`Mention::User`]; role, channel,
//!    emoji, timestamp and command markup (`<@&…>`, `<#…>`, `<:x:…>`, `<t:…>`,
//!    `</cmd:…>`) are claimed and dropped, since their ids are not users.
//! 2. URLs and e-mail addresses: claimed, so `sam@example.com` is no `@sam` and
//!    digits inside a link are no order id.
//! 3. `@name`: a Discord username (letters, digits, `_`, `.`; 2–32 characters,
//!    starting with a letter or `_` so that `@10` or `@5pm` stay "at");
//!    `@everyone` and `@here` are pings, not people. `@` followed by a 17–20
//!    digit snowflake is a user id. Names are kept as written (case included);
//!    duplicates are dropped case-insensitively, as Discord usernames are.
//! 4. Times (`10:30`, `5pm`, `10.30am`, `at 10.30`): claimed, never ids or
//!    amounts.
//! 5. Dates (see below).
//! 6. Amounts (see below).
//! 7. Explicit order ids: a word `order`/`orders`/`ord`, optionally followed
//!    by markers `#`, `no.`, `nr`, `num`, `number`, `id`, `ref` or `:`, then an
//!    alphanumeric id (`7781`, `A-1234`); or `#` directly before an id. With a
//!    marker (or `#`) an all-digit id needs 3+ digits; after the bare word
//!    "order" (which may be a verb: "can I order 100 ebooks") it needs 4+
//!    digits and must not be followed by a quantity word. A mixed id needs 3+
//!    digits (so `order mp3s` is not one). Ids are kept as written.
//! 8. Phone numbers, claimed: `+` and 8–15 digits in groups; `(555) 123-4567`;
//!    `555-123-4567`, `555.123.4567`, `555 123 4567`; and a 10+ digit number
//!    starting with `0` (`07700 900123`, also unspaced: a leading 0 is a phone
//!    trunk prefix, not how order numbers look). A single unseparated run not
//!    starting with 0 is not a phone (10–12 digits read as an order id).
//! 9. Bare snowflakes (17–20 digits) give [`Mention::User`].
//! 10. Bare order ids: a standalone number of 4–12 digits. Not a year
//!     (a 4-digit 1990–2100), not inside a word or a number (`h264`, `x1234`,
//!     `1080p`, `1.2345`, `A-1234` without "order"), not a percentage, not a
//!     quantity (followed by `days`, `ebooks`, `points`, …), and not after a
//!     word that names some other number (`code 4821` — link codes! — `pin`,
//!     `account`, `page`, `phone`, `version`, …).
//!
//! # Amounts
//!
//! `$10`, `$ 10`, `10$`, `€5`, `£5`, `¥1200`, `usd 10`, `10 usd`, `10 dollars`,
//! `10 bucks`, `10 credits`, `10 creds`, `10 store credits`, `5 euros`,
//! `5 pounds`, `5 quid`, `1200 yen`, `50 cents` (= 0.50), `$1,000.00`, and a
//! bare number with exactly two decimals (`12.50`), which in this domain is
//! money. A bare integer is never an amount: without a money word it is as
//! likely a quantity or an id. Not amounts: percentages (`10%`, `12.50%`),
//! `2 credit cards`/`credit score`, ranges of bare numbers (`10-20`),
//! and numbers with more than two decimals. Thousands separators must be
//! well-formed (`1,000`); decimals use `.`, and a European `2,50 €` is left
//! out rather than misread as 50. A minus sign is ignored (`-$5` is 5): the
//! question's words, not the sign, say whether money came or went. The value is exact
//! ([`Decimal`], scale as written); the currency is not kept, because the
//! shop has one currency (from the config) and the API carries none — so
//! `€5` and `£5` are the same amount and deduplicate.
//!
//! # Dates
//!
//! Each mention is a period `from..=to` (one day, a week Monday–Sunday, a
//! month, a year) plus how the question relates to it, taken from the word
//! before it, which is kept in [`DateMention::text`]:
//! `before X`, `prior to X` → [`DateRelation::Before`] (strictly before
//! `from`); `by`, `until`, `till`, `through`, `within`, `on or before`,
//! `no later than`, and `in/within N days|weeks|months|years` →
//! [`DateRelation::By`] (on or before `to`); `on`, `in`, `during`, `at` and
//! no word → [`DateRelation::On`]. `since`, `after`, `from`, `for`, `of` are
//! recognised as date words but the relation enum has no "after", so the date
//! is reported bare (its `text` without the word) as `On` — the caller must not
//! read `On` as "only then" where that matters.
//!
//! - ISO `2027-01-05` (also `/` or `.` separated, `T…` time allowed after it).
//! - `dd/mm/yyyy`, `mm/dd/yyyy` (also `.` or `-`): only when unambiguous (one
//!   part above 12, or both equal); `05/01/2027` could be May 1 or Jan 5 and is
//!   claimed but not reported. Two-digit years are never reported.
//! - `5 jan`, `jan 5`, `january 5th`, `5th of january`, `the 5th of jan`,
//!   `17 dec 2026`, `dec 5, 2027`; `december 2026` (the month).
//! - A month name alone only after a preposition (`in december`, `by may`,
//!   `since march`): bare "may" and "march" are too often verbs. The month is
//!   the next one whose end is not past (the current month counts).
//! - `the 15th`/`15th` only after a preposition (`by the 15th`): the next such
//!   day on or after today.
//! - A year (1900–2100) only after a preposition (`in 2027`, `since 2020`,
//!   `of 2026`); a bare year is no date (and no order id either).
//! - `today`, `tonight`, `this morning/afternoon/evening`, `end of (the) day`,
//!   `tomorrow`, `tmrw`, `the day after tomorrow`, `yesterday`.
//! - Weekdays: `friday` and `next friday` = the first Friday strictly after
//!   today; `this friday`/`coming friday` = on or after today; `last friday` =
//!   the last one strictly before today. Abbreviations (`fri`, `sat`, `sun`)
//!   are skipped: they are ordinary words.
//! - `this/next/last week|month|year|weekend` (weeks run Monday–Sunday);
//!   `end of the week|month|year` (also `this`/`next`/`last`), `start of …`,
//!   `end of december`, `end of 2027` — the single day.
//! - `in/within (the next) N days|weeks|fortnights|months|years` and
//!   `N … from now` → `By`, `today..=today+N` (`in a month` = same day next
//!   month, clamped to its last day); `N days ago` → that day;
//!   `in/over/during the last/past N days` (or `the last week`) →
//!   `today-N..=today`. N is 1–999 or a word `a`, `an`, `one` … `twelve`.
//! - Holidays, next occurrence on or after today (or in a year written after
//!   them): `christmas`/`xmas` (Dec 25), `christmas eve` (Dec 24), `boxing day`
//!   (Dec 26), `new year`/`new years` (Jan 1), `new year's eve`/`nye`
//!   (Dec 31), `valentines` (Feb 14), `halloween` (Oct 31), `thanksgiving`
//!   (US, 4th Thursday of November), `black friday` (the day after),
//!   `cyber monday` (3 days after that).
//!
//! # Output
//!
//! Each list is in order of appearance, without duplicates: ids by exact
//! text, amounts by value (`10` and `10.00` are one), dates by
//! (`from`, `to`, `relation`), users by id, names case-insensitively.
//!
//! All regexes are compiled once and run by the `regex` crate, whose matching
//! is linear in the input; the passes add only logarithmic bookkeeping per
//! match, so extraction time is bounded by the text length (a few
//! milliseconds for a 1,000-character message). Compiling the patterns costs
//! once, on the first call (about 0.1 s in a release build).

use std::collections::{BTreeMap, HashSet};
use std::str::FromStr;
use std::sync::LazyLock;

use chrono::{DateTime, Datelike, Days, Months, NaiveDate, Utc, Weekday};
use regex::{Captures, Regex};
use rust_decimal::Decimal;

/// What a question carries, each list in order of appearance, no duplicates.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Entities {
    pub order_ids: Vec<String>,
    pub amounts: Vec<Decimal>,
    pub dates: Vec<DateMention>,
    pub mentions: Vec<Mention>,
}

/// A date or period named in the question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DateMention {
    /// The words as written, preposition included: "before christmas".
    pub text: String,
    /// First day of the period the words name.
    pub from: NaiveDate,
    /// Last day (inclusive) of that period; equal to `from` for one day.
    pub to: NaiveDate,
    pub relation: DateRelation,
}

/// How the question relates to the period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DateRelation {
    /// "before X": strictly before `from`.
    Before,
    /// "by X", "until X", "within X", "in 2 weeks": on or before `to`.
    By,
    /// "on X", "next month", "in december", a bare date: within `from..=to`.
    On,
}

/// Someone the question points at.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Mention {
    /// A Discord user id (snowflake), from `<@id>`, `<@!id>`, `@id` or bare.
    User(String),
    /// A typed `@name`, without the `@`.
    Name(String),
}

/// Extracts the entities of `text`, resolving relative dates against `now`.
pub fn extract(text: &str, now: DateTime<Utc>) -> Entities {
    let mut scan = Scan::new(text);
    scan.discord_markup();
    scan.links_and_emails();
    scan.names();
    scan.times();
    scan.dates(now.date_naive());
    scan.amounts();
    scan.explicit_order_ids();
    scan.phones();
    scan.bare_numbers();
    scan.finish()
}

// ---------------------------------------------------------------------------
// Patterns

const MONTH: &str = "january|february|march|april|may|june|july|august|september|october|november|december|jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec";
const YEAR: &str = r"19\d\d|20\d\d|2100";
const COUNT: &str = r"\d{1,3}|an?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve";
const UNIT: &str = "day|week|fortnight|month|year";
const NUMBER: &str = r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d{1,2})?";

/// Compiles a built-in pattern, after filling in the shared fragments.
fn pattern(p: &str) -> Regex {
    let p = p
        .replace("{MONTH}", MONTH)
        .replace("{YEAR}", YEAR)
        .replace("{COUNT}", COUNT)
        .replace("{UNIT}", UNIT)
        .replace("{NUMBER}", NUMBER);
    Regex::new(&p).expect("built-in pattern is valid")
}

macro_rules! patterns {
    ($($name:ident = $p:expr;)*) => {
        $(static $name: LazyLock<Regex> = LazyLock::new(|| pattern($p));)*
    };
}

patterns! {
    DISCORD_MARKUP = r"<(?P<kind>@!?|@&|#|a?:\w{1,32}:|t:|/[\w\- ]{1,32}:)(?P<id>\d{1,20})(?::[A-Za-z])?>";
    LINK = r"(?i)\b(?:https?://|www\.)[^\s<>]+";
    EMAIL = r"[\w.+%\-]+@[\w\-]+(?:\.[\w\-]+)+";
    AT_NAME = r"@(?:(?P<id>\d{17,20})|(?P<name>[A-Za-z_][A-Za-z0-9_.]{1,31}))";
    TIME = r"(?i)\b\d{1,2}:\d{2}(?::\d{2})?(?:\s*[ap]\.?m\b\.?)?|\b\d{1,2}(?:[.:]\d{2})?\s*[ap]\.?m\b\.?|\bat\s+\d{1,2}\.\d{2}\b";

    DATE_ISO = r"(?P<core>\b(?P<y>\d{4})(?P<s1>[-/.])(?P<m>\d{1,2})(?P<s2>[-/.])(?P<d>\d{1,2}))(?:\b|T)";
    DATE_NUMERIC = r"\b(?P<a>\d{1,2})(?P<s1>[-/.])(?P<b>\d{1,2})(?P<s2>[-/.])(?P<y>\d{4}|\d{2})\b";
    DATE_HOLIDAY = r"(?i)\b(?P<h>christmas\s+eve|x-?mas\s+eve|christmas(?:\s+day)?|x-?mas|boxing\s+day|new\s+year['’]?s?\s+eve|nye|new\s+year['’]?s?(?:\s+day)?|black\s+friday|cyber\s+monday|thanksgiving(?:\s+day)?|valentine['’]?s?(?:\s+day)?|halloween)\b(?:\s+(?P<y>{YEAR})\b)?";
    DATE_IN_LAST = r"(?i)\b(?:in|over|during|for|within)\s+the\s+(?:last|past|previous)\s+(?:(?P<n>{COUNT})\s+)?(?P<unit>{UNIT})s?\b";
    DATE_IN_N = r"(?i)\b(?:in|within)\s+(?:the\s+)?(?:next\s+|coming\s+)?(?P<n>{COUNT})\s+(?P<unit>{UNIT})s?\b";
    DATE_FROM_NOW = r"(?i)\b(?P<n>{COUNT})\s+(?P<unit>{UNIT})s?\s+from\s+(?:now|today)\b";
    DATE_AGO = r"(?i)\b(?P<n>{COUNT})\s+(?P<unit>{UNIT})s?\s+ago\b";
    DATE_EDGE_PERIOD = r"(?i)\b(?:the\s+)?(?P<which>end|start|beginning)\s+of\s+(?:the\s+)?(?:(?P<rel>this|next|last|current)\s+)?(?P<unit>week|month|year)\b";
    DATE_EDGE_MONTH = r"(?i)\b(?:the\s+)?(?P<which>end|start|beginning)\s+of\s+(?P<m>{MONTH})\b(?:\.?,?\s+(?P<y>{YEAR})\b)?";
    DATE_EDGE_YEAR = r"(?i)\b(?:the\s+)?(?P<which>end|start|beginning)\s+of\s+(?P<y>{YEAR})\b";
    DATE_DAY_MONTH = r"(?i)\b(?:the\s+)?(?P<d>\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<m>{MONTH})\b(?:,?\s+(?P<y>{YEAR})\b)?";
    DATE_MONTH_DAY = r"(?i)\b(?P<m>{MONTH})\.?\s+(?:the\s+)?(?P<d>\d{1,2})(?:st|nd|rd|th)?\b(?:,?\s+(?P<y>{YEAR})\b)?";
    DATE_MONTH_YEAR = r"(?i)\b(?P<m>{MONTH})\.?,?\s+(?:of\s+)?(?P<y>{YEAR})\b";
    DATE_NAMED = r"(?i)\b(?:(?:the\s+)?day\s+after\s+tomorrow|today|tonight|tomorrow|tmrw|yesterday|(?:the\s+)?end\s+of\s+(?:the\s+)?day|end\s+of\s+today|this\s+(?:morning|afternoon|evening))\b";
    DATE_WEEKDAY = r"(?i)\b(?:(?P<rel>this\s+coming|this|next|last|coming)\s+)?(?P<wd>monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b";
    DATE_PERIOD = r"(?i)\b(?P<rel>this|next|last|current)\s+(?P<unit>week|month|year|weekend)\b";
    DATE_MONTH_ALONE = r"(?i)\b(?:the\s+month\s+of\s+)?(?P<m>{MONTH})\b";
    DATE_ORDINAL = r"(?i)\b(?:the\s+)?(?P<d>\d{1,2})(?:st|nd|rd|th)\b";
    DATE_YEAR_ALONE = r"\b(?P<y>{YEAR})\b";

    AMOUNT_SYMBOL_FIRST = r"[$€£¥]\s?(?P<n>{NUMBER})";
    AMOUNT_SYMBOL_AFTER = r"(?P<n>{NUMBER})\s?[$€£¥]";
    AMOUNT_CODE_FIRST = r"(?i)\b(?:usd|eur|gbp|jpy|cad|aud)\s?(?P<n>{NUMBER})";
    AMOUNT_WORD_AFTER = r"(?i)(?P<n>{NUMBER})\s*(?:(?:store|shop|account|digital)\s+)?(?P<w>dollars?|bucks?|credits?|creds?|usd|eur|euros?|gbp|pounds?|quid|yen|cents?)\b";
    AMOUNT_TWO_DECIMALS = r"(?P<n>(?:\d{1,3}(?:,\d{3})+|\d+)\.\d{2})";

    ORDER_WORD = r"(?i)\b(?:orders?|ord)\b\.?\s*(?P<mk>(?:(?:no|nr|num|number|id|ref)\b\.?\s*|[#:]\s*)*)(?P<id>[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?)";
    ORDER_HASH = r"#(?P<id>[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?)";

    PHONE = r"\+\d{1,3}[ .\-]?(?:\(\d{1,4}\)[ .\-]?)?\d{1,4}(?:[ .\-]?\d{2,4}){1,5}|\(\d{2,5}\)[ .\-]?\d{3,4}[ .\-]?\d{3,4}|\b\d{3}[.\-]\d{3}[.\-]\d{4}|\b\d{3} \d{3} \d{4}|\b0\d{2,4}[ \-]?\d{3,4}[ \-]?\d{3,4}";
    DIGITS = r"\d+";
}

/// Words after a number that make it a quantity, not an id or a year.
const QUANTITY_WORDS: &[&str] = &[
    "day",
    "days",
    "week",
    "weeks",
    "month",
    "months",
    "year",
    "years",
    "hour",
    "hours",
    "hr",
    "hrs",
    "minute",
    "minutes",
    "min",
    "mins",
    "second",
    "seconds",
    "sec",
    "secs",
    "time",
    "times",
    "ebook",
    "ebooks",
    "book",
    "books",
    "song",
    "songs",
    "track",
    "tracks",
    "album",
    "albums",
    "film",
    "films",
    "movie",
    "movies",
    "episode",
    "episodes",
    "app",
    "apps",
    "game",
    "games",
    "item",
    "items",
    "point",
    "points",
    "pts",
    "people",
    "member",
    "members",
    "user",
    "users",
    "message",
    "messages",
    "page",
    "pages",
    "word",
    "words",
    "character",
    "characters",
    "chars",
    "copies",
    "downloads",
    "views",
    "percent",
    "pct",
    "kb",
    "mb",
    "gb",
    "tb",
    "px",
    "km",
    "miles",
    "kg",
    "lbs",
];

/// Money words: a year or id followed by one is really an amount.
const MONEY_WORDS: &[&str] = &[
    "dollar", "dollars", "buck", "bucks", "credit", "credits", "cred", "creds", "usd", "eur",
    "euro", "euros", "gbp", "pound", "pounds", "quid", "yen", "cent", "cents",
];

/// Words before a number that say it is some other kind of number.
const NOT_ORDER_WORDS: &[&str] = &[
    "code",
    "codes",
    "pin",
    "otp",
    "account",
    "acct",
    "page",
    "pg",
    "chapter",
    "ch",
    "ext",
    "extension",
    "zip",
    "postcode",
    "phone",
    "tel",
    "mobile",
    "cell",
    "version",
    "ver",
    "room",
    "apt",
    "suite",
    "level",
    "lvl",
    "vol",
    "volume",
    "episode",
    "ep",
    "season",
    "isbn",
    "step",
    "port",
    "tier",
];

/// Words after "credit(s)" that make it not store credit.
const NOT_CREDIT_WORDS: &[&str] = &[
    "card", "cards", "score", "scores", "limit", "limits", "union", "unions", "report", "reports",
    "rating", "ratings", "line", "lines", "bureau",
];

// ---------------------------------------------------------------------------
// The scan

enum Found {
    Order(String),
    Amount(Decimal),
    Date(DateMention),
    Mention(Mention),
}

struct Scan<'t> {
    text: &'t str,
    /// Claimed spans, start -> end; never overlapping.
    claims: BTreeMap<usize, usize>,
    found: Vec<(usize, Found)>,
}

impl<'t> Scan<'t> {
    fn new(text: &'t str) -> Self {
        Scan {
            text,
            claims: BTreeMap::new(),
            found: Vec::new(),
        }
    }

    /// Whether no claim overlaps `start..end`. Claims are disjoint, so only
    /// the last one starting before `end` can.
    fn free(&self, start: usize, end: usize) -> bool {
        self.claims
            .range(..end)
            .next_back()
            .is_none_or(|(_, &claimed_end)| claimed_end <= start)
    }

    fn claim(&mut self, start: usize, end: usize) {
        if start < end {
            self.claims.insert(start, end);
        }
    }

    fn emit(&mut self, start: usize, end: usize, found: Found) {
        self.claim(start, end);
        self.found.push((start, found));
    }

    fn discord_markup(&mut self) {
        let text = self.text;
        for caps in DISCORD_MARKUP.captures_iter(text) {
            let Some(whole) = caps.get(0) else { continue };
            let (start, end, kind, id) = (whole.start(), whole.end(), &caps["kind"], &caps["id"]);
            if matches!(kind, "@" | "@!") && is_snowflake(id) {
                self.emit(start, end, Found::Mention(Mention::User(id.to_string())));
            } else {
                self.claim(start, end);
            }
        }
    }

    fn links_and_emails(&mut self) {
        for re in [&*LINK, &*EMAIL] {
            for m in re.find_iter(self.text) {
                if self.free(m.start(), m.end()) {
                    self.claim(m.start(), m.end());
                }
            }
        }
    }

    fn names(&mut self) {
        let text = self.text;
        for caps in AT_NAME.captures_iter(text) {
            let Some(whole) = caps.get(0) else { continue };
            let start = whole.start();
            if !self.free(start, whole.end())
                || char_before(text, start)
                    .is_some_and(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | '@' | '<'))
            {
                continue;
            }
            if let Some(id) = caps.name("id") {
                if !joined_after(text, id.end()) {
                    let user = Mention::User(id.as_str().to_string());
                    self.emit(start, id.end(), Found::Mention(user));
                }
                continue;
            }
            let Some(name) = caps.name("name") else {
                continue;
            };
            if char_after(text, name.end())
                .is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.'))
            {
                continue; // longer than a username can be
            }
            let trimmed = name.as_str().trim_end_matches('.');
            let end = name.start() + trimmed.len();
            if trimmed.len() < 2 {
                continue;
            }
            if trimmed.eq_ignore_ascii_case("everyone") || trimmed.eq_ignore_ascii_case("here") {
                self.claim(start, end);
            } else {
                self.emit(
                    start,
                    end,
                    Found::Mention(Mention::Name(trimmed.to_string())),
                );
            }
        }
    }

    fn times(&mut self) {
        for m in TIME.find_iter(self.text) {
            if self.free(m.start(), m.end()) {
                self.claim(m.start(), m.end());
            }
        }
    }

    fn dates(&mut self, today: NaiveDate) {
        let text = self.text;
        for rule in date_rules() {
            for caps in rule.re.captures_iter(text) {
                let Some(core) = caps.name("core").or_else(|| caps.get(0)) else {
                    continue;
                };
                let (start, end) = (core.start(), core.end());
                if !self.free(start, end) {
                    continue;
                }
                let prep = match rule.kind {
                    RuleKind::Own(_) => None,
                    _ => preposition(text, start).filter(|(at, _)| self.free(*at, start)),
                };
                if let RuleKind::NeedsPrep { of_ok } = rule.kind {
                    let ok = match prep {
                        Some((_, Prep::Neutral { of })) => of_ok || !of,
                        Some((_, Prep::Rel(_))) => true,
                        None => false,
                    };
                    let next = next_word(text, end);
                    if !ok || word_in(next, QUANTITY_WORDS) || word_in(next, MONEY_WORDS) {
                        continue;
                    }
                }
                let Some((from, to)) = (rule.resolve)(&caps, today) else {
                    if matches!(rule.kind, RuleKind::Numeric) {
                        self.claim(start, end); // a date, but not one we can name
                    }
                    continue;
                };
                let (text_start, relation) = match (rule.kind, prep) {
                    (RuleKind::Own(relation), _) => (start, relation),
                    (_, Some((at, Prep::Rel(relation)))) => (at, relation),
                    _ => (start, DateRelation::On),
                };
                let mention = DateMention {
                    text: text[text_start..end].to_string(),
                    from,
                    to,
                    relation,
                };
                self.emit(text_start, end, Found::Date(mention));
            }
        }
    }

    fn amounts(&mut self) {
        let text = self.text;
        for (re, check_before) in [
            (&*AMOUNT_SYMBOL_FIRST, false),
            (&*AMOUNT_SYMBOL_AFTER, true),
            (&*AMOUNT_CODE_FIRST, false),
            (&*AMOUNT_WORD_AFTER, true),
            (&*AMOUNT_TWO_DECIMALS, true),
        ] {
            for caps in re.captures_iter(text) {
                let (Some(whole), Some(n)) = (caps.get(0), caps.name("n")) else {
                    continue;
                };
                if !self.free(whole.start(), whole.end())
                    || (check_before
                        && (joined_before(text, n.start()) || decimal_comma(text, n.start())))
                    || joined_after(text, whole.end())
                {
                    continue;
                }
                let word = caps.name("w").map_or("", |w| w.as_str());
                let lower = word.to_ascii_lowercase();
                if lower.starts_with("cred")
                    && word_in(next_word(text, whole.end()), NOT_CREDIT_WORDS)
                {
                    continue;
                }
                let Some(mut value) = parse_decimal(n.as_str()) else {
                    continue;
                };
                // 50 cents = 0.50 exactly: move the point, keep the digits.
                if lower.starts_with("cent") && value.set_scale(value.scale() + 2).is_err() {
                    continue;
                }
                self.emit(whole.start(), whole.end(), Found::Amount(value));
            }
        }
    }

    fn explicit_order_ids(&mut self) {
        let text = self.text;
        for caps in ORDER_WORD.captures_iter(text) {
            let (Some(whole), Some(id)) = (caps.get(0), caps.name("id")) else {
                continue;
            };
            let marked = caps
                .name("mk")
                .is_some_and(|m| !m.as_str().trim().is_empty());
            if !self.free(whole.start(), whole.end())
                || joined_after(text, id.end())
                || !plausible_order_id(id.as_str(), marked)
                || (!marked && word_in(next_word(text, id.end()), QUANTITY_WORDS))
            {
                continue;
            }
            self.emit(
                whole.start(),
                whole.end(),
                Found::Order(id.as_str().to_string()),
            );
        }
        for caps in ORDER_HASH.captures_iter(text) {
            let (Some(whole), Some(id)) = (caps.get(0), caps.name("id")) else {
                continue;
            };
            if !self.free(whole.start(), whole.end())
                || char_before(text, whole.start())
                    .is_some_and(|c| c.is_alphanumeric() || matches!(c, '&' | '<' | '_'))
                || joined_after(text, id.end())
                || !plausible_order_id(id.as_str(), true)
            {
                continue;
            }
            self.emit(
                whole.start(),
                whole.end(),
                Found::Order(id.as_str().to_string()),
            );
        }
    }

    fn phones(&mut self) {
        let text = self.text;
        for m in PHONE.find_iter(text) {
            let digits = m.as_str().bytes().filter(u8::is_ascii_digit).count();
            let min = if m.as_str().starts_with('+') { 8 } else { 10 };
            if self.free(m.start(), m.end())
                && (min..=15).contains(&digits)
                && !joined_before(text, m.start())
                && !joined_after(text, m.end())
            {
                self.claim(m.start(), m.end());
            }
        }
    }

    /// Bare snowflakes (user ids) and bare order ids.
    fn bare_numbers(&mut self) {
        let text = self.text;
        for m in DIGITS.find_iter(text) {
            let (start, end, digits) = (m.start(), m.end(), m.as_str());
            if !self.free(start, end) || joined_before(text, start) || joined_after(text, end) {
                continue;
            }
            if is_snowflake(digits) {
                self.emit(
                    start,
                    end,
                    Found::Mention(Mention::User(digits.to_string())),
                );
                continue;
            }
            let year_like = digits.len() == 4
                && digits
                    .parse::<u32>()
                    .is_ok_and(|y| (1990..=2100).contains(&y));
            let before = last_words(text, start, 1).first().map_or("", |(_, w)| {
                w.trim_end_matches(|c: char| !c.is_alphanumeric())
            });
            if !(4..=12).contains(&digits.len())
                || year_like
                || word_in(next_word(text, end), QUANTITY_WORDS)
                || word_in(before, NOT_ORDER_WORDS)
            {
                continue;
            }
            self.emit(start, end, Found::Order(digits.to_string()));
        }
    }

    fn finish(mut self) -> Entities {
        self.found.sort_by_key(|(start, _)| *start);
        let mut out = Entities::default();
        let mut ids = HashSet::new();
        let mut amounts = HashSet::new();
        let mut dates = HashSet::new();
        let mut mentions = HashSet::new();
        for (_, found) in self.found {
            match found {
                Found::Order(id) => {
                    if ids.insert(id.clone()) {
                        out.order_ids.push(id);
                    }
                }
                Found::Amount(value) => {
                    if amounts.insert(value.normalize()) {
                        out.amounts.push(value);
                    }
                }
                Found::Date(date) => {
                    if dates.insert((date.from, date.to, date.relation)) {
                        out.dates.push(date);
                    }
                }
                Found::Mention(mention) => {
                    let key = match &mention {
                        Mention::User(id) => Mention::User(id.clone()),
                        Mention::Name(name) => Mention::Name(name.to_lowercase()),
                    };
                    if mentions.insert(key) {
                        out.mentions.push(mention);
                    }
                }
            }
        }
        out
    }
}

// ---------------------------------------------------------------------------
// Date rules

#[derive(Clone, Copy)]
enum RuleKind {
    /// Relation from the preposition before it, if any.
    Plain,
    /// Numeric form: claimed even when it names no date we can tell.
    Numeric,
    /// Only a date after a preposition; `of_ok` accepts "of" too.
    NeedsPrep { of_ok: bool },
    /// The pattern holds its own preposition; the relation is fixed.
    Own(DateRelation),
}

type Period = (NaiveDate, NaiveDate);

struct DateRule {
    re: &'static LazyLock<Regex>,
    kind: RuleKind,
    resolve: fn(&Captures<'_>, NaiveDate) -> Option<Period>,
}

/// The date rules, most specific first (each claims before the next runs).
fn date_rules() -> [DateRule; 19] {
    use DateRelation::{By, On};
    let rule = |re, kind, resolve| DateRule { re, kind, resolve };
    [
        rule(&DATE_ISO, RuleKind::Numeric, resolve_iso),
        rule(&DATE_NUMERIC, RuleKind::Numeric, resolve_numeric),
        rule(&DATE_HOLIDAY, RuleKind::Plain, resolve_holiday),
        rule(&DATE_IN_LAST, RuleKind::Own(On), resolve_in_last),
        rule(&DATE_IN_N, RuleKind::Own(By), resolve_in_n),
        rule(&DATE_FROM_NOW, RuleKind::Own(By), resolve_in_n),
        rule(&DATE_AGO, RuleKind::Plain, resolve_ago),
        rule(&DATE_EDGE_PERIOD, RuleKind::Plain, resolve_edge_period),
        rule(&DATE_EDGE_MONTH, RuleKind::Plain, resolve_edge_month),
        rule(&DATE_EDGE_YEAR, RuleKind::Plain, resolve_edge_year),
        rule(&DATE_DAY_MONTH, RuleKind::Plain, resolve_day_month),
        rule(&DATE_MONTH_DAY, RuleKind::Plain, resolve_day_month),
        rule(&DATE_MONTH_YEAR, RuleKind::Plain, resolve_month_year),
        rule(&DATE_NAMED, RuleKind::Plain, resolve_named),
        rule(&DATE_WEEKDAY, RuleKind::Plain, resolve_weekday),
        rule(&DATE_PERIOD, RuleKind::Plain, resolve_period),
        rule(
            &DATE_MONTH_ALONE,
            RuleKind::NeedsPrep { of_ok: false },
            resolve_month_alone,
        ),
        rule(
            &DATE_ORDINAL,
            RuleKind::NeedsPrep { of_ok: false },
            resolve_ordinal,
        ),
        rule(
            &DATE_YEAR_ALONE,
            RuleKind::NeedsPrep { of_ok: true },
            resolve_year_alone,
        ),
    ]
}

fn day(d: NaiveDate) -> Option<Period> {
    Some((d, d))
}

fn group<'h>(caps: &Captures<'h>, name: &str) -> &'h str {
    caps.name(name).map_or("", |m| m.as_str())
}

fn number<T: FromStr>(caps: &Captures<'_>, name: &str) -> Option<T> {
    group(caps, name).parse().ok()
}

/// The optional year group `y`: `Ok(None)` when absent, `Err` when unusable.
fn optional_year(caps: &Captures<'_>) -> Result<Option<i32>, ()> {
    match caps.name("y") {
        None => Ok(None),
        Some(y) => y.as_str().parse().map(Some).map_err(|_| ()),
    }
}

fn resolve_iso(caps: &Captures<'_>, _today: NaiveDate) -> Option<Period> {
    if caps["s1"] != caps["s2"] {
        return None;
    }
    let year: i32 = number(caps, "y")?;
    if !(1900..=2100).contains(&year) {
        return None;
    }
    day(NaiveDate::from_ymd_opt(
        year,
        number(caps, "m")?,
        number(caps, "d")?,
    )?)
}

fn resolve_numeric(caps: &Captures<'_>, _today: NaiveDate) -> Option<Period> {
    if caps["s1"] != caps["s2"] || caps["y"].len() != 4 {
        return None;
    }
    let year: i32 = number(caps, "y")?;
    let (a, b): (u32, u32) = (number(caps, "a")?, number(caps, "b")?);
    let (d, m) = if a > 12 && b <= 12 {
        (a, b)
    } else if b > 12 && a <= 12 {
        (b, a)
    } else if a == b {
        (a, a)
    } else {
        return None; // 05/01/2027: May 1 or Jan 5
    };
    if !(1900..=2100).contains(&year) {
        return None;
    }
    day(NaiveDate::from_ymd_opt(year, m, d)?)
}

fn holiday_in(key: &str, year: i32) -> Option<NaiveDate> {
    let thanksgiving = || NaiveDate::from_weekday_of_month_opt(year, 11, Weekday::Thu, 4);
    let fixed = |m, d| NaiveDate::from_ymd_opt(year, m, d);
    if key == "nye" || (key.starts_with("new") && key.ends_with("eve")) {
        fixed(12, 31)
    } else if key.ends_with("eve") {
        fixed(12, 24)
    } else if key.starts_with("christmas") || key.starts_with("xmas") {
        fixed(12, 25)
    } else if key.starts_with("boxing") {
        fixed(12, 26)
    } else if key.starts_with("new") {
        fixed(1, 1)
    } else if key.starts_with("valentine") {
        fixed(2, 14)
    } else if key.starts_with("halloween") {
        fixed(10, 31)
    } else if key.starts_with("thanksgiving") {
        thanksgiving()
    } else if key.starts_with("black") {
        thanksgiving()?.succ_opt()
    } else if key.starts_with("cyber") {
        thanksgiving()?.checked_add_days(Days::new(4))
    } else {
        None
    }
}

fn resolve_holiday(caps: &Captures<'_>, today: NaiveDate) -> Option<Period> {
    let key: String = group(caps, "h")
        .to_lowercase()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace(['\'', '’', '-'], "");
    match optional_year(caps).ok()? {
        Some(year) => day(holiday_in(&key, year)?),
        None => day((today.year()..=today.year() + 1)
            .find_map(|y| holiday_in(&key, y).filter(|d| *d >= today))?),
    }
}

#[derive(Clone, Copy)]
enum Unit {
    Day,
    Week,
    Fortnight,
    Month,
    Year,
}

fn unit(caps: &Captures<'_>) -> Option<Unit> {
    let u = group(caps, "unit").to_ascii_lowercase();
    Some(match u.get(..3)? {
        "day" => Unit::Day,
        "wee" => Unit::Week,
        "for" => Unit::Fortnight,
        "mon" => Unit::Month,
        "yea" => Unit::Year,
        _ => return None,
    })
}

/// The count group `n` (digits or a word); 1 when absent.
fn count(caps: &Captures<'_>) -> Option<u32> {
    let Some(n) = caps.name("n") else {
        return Some(1);
    };
    let n = n.as_str().to_ascii_lowercase();
    const WORDS: [&str; 12] = [
        "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
        "twelve",
    ];
    match n.as_str() {
        "a" | "an" => Some(1),
        _ => match WORDS.iter().position(|w| *w == n) {
            Some(i) => u32::try_from(i + 1).ok(),
            None => n.parse().ok(),
        },
    }
}

/// `d` moved `n` units forward (or back).
fn shift(d: NaiveDate, n: u32, unit: Unit, forward: bool) -> Option<NaiveDate> {
    let days = |k: u64| {
        if forward {
            d.checked_add_days(Days::new(k))
        } else {
            d.checked_sub_days(Days::new(k))
        }
    };
    let months = |k: u32| {
        if forward {
            d.checked_add_months(Months::new(k))
        } else {
            d.checked_sub_months(Months::new(k))
        }
    };
    match unit {
        Unit::Day => days(u64::from(n)),
        Unit::Week => days(u64::from(n) * 7),
        Unit::Fortnight => days(u64::from(n) * 14),
        Unit::Month => months(n),
        Unit::Year => months(n.checked_mul(12)?),
    }
}

fn resolve_in_last(caps: &Captures<'_>, today: NaiveDate) -> Option<Period> {
    Some((shift(today, count(caps)?, unit(caps)?, false)?, today))
}

fn resolve_in_n(caps: &Captures<'_>, today: NaiveDate) -> Option<Period> {
    Some((today, shift(today, count(caps)?, unit(caps)?, true)?))
}

fn resolve_ago(caps: &Captures<'_>, today: NaiveDate) -> Option<Period> {
    day(shift(today, count(caps)?, unit(caps)?, false)?)
}

fn month_of(name: &str) -> Option<u32> {
    let key = name.get(..3)?.to_ascii_lowercase();
    const NAMES: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    let i = NAMES.iter().position(|m| *m == key)?;
    u32::try_from(i + 1).ok()
}

fn month_span(year: i32, month: u32) -> Option<Period> {
    let first = NaiveDate::from_ymd_opt(year, month, 1)?;
    let last = first.checked_add_months(Months::new(1))?.pred_opt()?;
    Some((first, last))
}

fn year_span(year: i32) -> Option<Period> {
    Some((
        NaiveDate::from_ymd_opt(year, 1, 1)?,
        NaiveDate::from_ymd_opt(year, 12, 31)?,
    ))
}

/// The named month in the given year, or else the next one not yet over.
fn month_named(month: u32, year: Option<i32>, today: NaiveDate) -> Option<Period> {
    let year = year.unwrap_or(if month >= today.month() {
        today.year()
    } else {
        today.year() + 1
    });
    month_span(year, month)
}

fn edge(caps: &Captures<'_>, (first, last): Period) -> Option<Period> {
    if group(caps, "which").eq_ignore_ascii_case("end") {
        day(last)
    } else {
        day(first)
    }
}

/// -1, 0 or 1 for "last", "this"/none, "next".
fn offset(caps: &Captures<'_>) -> i32 {
    match group(caps, "rel").to_ascii_lowercase().as_str() {
        "next" => 1,
        "last" => -1,
        _ => 0,
    }
}

/// The week (Mon–Sun), weekend (Sat–Sun), month or year `offset` from today's.
fn period(today: NaiveDate, unit: &str, offset: i32) -> Option<Period> {
    let step = |d: NaiveDate, days: u64| {
        if offset >= 0 {
            d.checked_add_days(Days::new(days * u64::from(offset.unsigned_abs())))
        } else {
            d.checked_sub_days(Days::new(days * u64::from(offset.unsigned_abs())))
        }
    };
    match unit.to_ascii_lowercase().as_str() {
        "week" => {
            let monday = today
                .checked_sub_days(Days::new(u64::from(today.weekday().num_days_from_monday())))?;
            let monday = step(monday, 7)?;
            Some((monday, monday.checked_add_days(Days::new(6))?))
        }
        "weekend" => {
            let saturday = if today.weekday() == Weekday::Sun {
                today.pred_opt()?
            } else {
                let ahead = 5 - today.weekday().num_days_from_monday();
                today.checked_add_days(Days::new(u64::from(ahead)))?
            };
            let saturday = step(saturday, 7)?;
            Some((saturday, saturday.succ_opt()?))
        }
        "month" => {
            let first = NaiveDate::from_ymd_opt(today.year(), today.month(), 1)?;
            let first = if offset >= 0 {
                first.checked_add_months(Months::new(offset.unsigned_abs()))?
            } else {
                first.checked_sub_months(Months::new(offset.unsigned_abs()))?
            };
            month_span(first.year(), first.month())
        }
        "year" => year_span(today.year() + offset),
        _ => None,
    }
}

fn resolve_edge_period(caps: &Captures<'_>, today: NaiveDate) -> Option<Period> {
    edge(caps, period(today, group(caps, "unit"), offset(caps))?)
}

fn resolve_edge_month(caps: &Captures<'_>, today: NaiveDate) -> Option<Period> {
    let month = month_of(group(caps, "m"))?;
    edge(caps, month_named(month, optional_year(caps).ok()?, today)?)
}

fn resolve_edge_year(caps: &Captures<'_>, _today: NaiveDate) -> Option<Period> {
    edge(caps, year_span(number(caps, "y")?)?)
}

fn resolve_day_month(caps: &Captures<'_>, today: NaiveDate) -> Option<Period> {
    let (m, d) = (month_of(group(caps, "m"))?, number(caps, "d")?);
    match optional_year(caps).ok()? {
        Some(year) => day(NaiveDate::from_ymd_opt(year, m, d)?),
        // Feb 29 may be up to 8 years away.
        None => day((today.year()..=today.year() + 8)
            .find_map(|y| NaiveDate::from_ymd_opt(y, m, d).filter(|x| *x >= today))?),
    }
}

fn resolve_month_year(caps: &Captures<'_>, _today: NaiveDate) -> Option<Period> {
    month_span(number(caps, "y")?, month_of(group(caps, "m"))?)
}

fn resolve_named(caps: &Captures<'_>, today: NaiveDate) -> Option<Period> {
    let words = caps.get(0)?.as_str().to_ascii_lowercase();
    if words.contains("after") {
        day(today.checked_add_days(Days::new(2))?)
    } else if words.starts_with("tom") || words == "tmrw" {
        day(today.succ_opt()?)
    } else if words == "yesterday" {
        day(today.pred_opt()?)
    } else {
        day(today)
    }
}

fn resolve_weekday(caps: &Captures<'_>, today: NaiveDate) -> Option<Period> {
    let target: Weekday = group(caps, "wd").parse().ok()?;
    let rel = group(caps, "rel").to_ascii_lowercase();
    let (from_monday, target) = (
        today.weekday().num_days_from_monday(),
        target.num_days_from_monday(),
    );
    if rel == "last" {
        let back = match (from_monday + 7 - target) % 7 {
            0 => 7,
            n => n,
        };
        return day(today.checked_sub_days(Days::new(u64::from(back)))?);
    }
    let ahead = match (target + 7 - from_monday) % 7 {
        0 if rel.is_empty() || rel == "next" => 7,
        n => n,
    };
    day(today.checked_add_days(Days::new(u64::from(ahead)))?)
}

fn resolve_period(caps: &Captures<'_>, today: NaiveDate) -> Option<Period> {
    period(today, group(caps, "unit"), offset(caps))
}

fn resolve_month_alone(caps: &Captures<'_>, today: NaiveDate) -> Option<Period> {
    month_named(month_of(group(caps, "m"))?, None, today)
}

fn resolve_ordinal(caps: &Captures<'_>, today: NaiveDate) -> Option<Period> {
    let d: u32 = number(caps, "d")?;
    let first = NaiveDate::from_ymd_opt(today.year(), today.month(), 1)?;
    day((0..12).find_map(|k| {
        let month = first.checked_add_months(Months::new(k))?;
        NaiveDate::from_ymd_opt(month.year(), month.month(), d).filter(|x| *x >= today)
    })?)
}

fn resolve_year_alone(caps: &Captures<'_>, _today: NaiveDate) -> Option<Period> {
    year_span(number(caps, "y")?)
}

// ---------------------------------------------------------------------------
// Text helpers

/// A word before a date that says how the question relates to it.
#[derive(Clone, Copy)]
enum Prep {
    Rel(DateRelation),
    /// since, after, from, for, of: a date word without a relation we carry.
    Neutral {
        of: bool,
    },
}

/// The preposition (one to three words) right before `start`, with its start.
fn preposition(text: &str, start: usize) -> Option<(usize, Prep)> {
    use DateRelation::{Before, By, On};
    if !text[..start].ends_with(char::is_whitespace) {
        return None;
    }
    let words = last_words(text, start, 3);
    let is = |i: usize, w: &str| words.get(i).is_some_and(|(_, x)| x.eq_ignore_ascii_case(w));
    let at = |i: usize| words.get(i).map_or(start, |(s, _)| *s);
    if is(0, "before") && is(1, "or") && is(2, "on") {
        return Some((at(2), Prep::Rel(By)));
    }
    if is(0, "than") && is(1, "later") && is(2, "no") {
        return Some((at(2), Prep::Rel(By)));
    }
    if is(0, "to") && is(1, "prior") {
        return Some((at(1), Prep::Rel(Before)));
    }
    if is(0, "until") && is(1, "up") {
        return Some((at(1), Prep::Rel(By)));
    }
    let word = words.first()?.1.to_ascii_lowercase();
    let prep = match word.as_str() {
        "before" => Prep::Rel(Before),
        "by" | "until" | "till" | "til" | "through" | "thru" | "within" => Prep::Rel(By),
        "on" | "in" | "during" | "at" => Prep::Rel(On),
        "since" | "after" | "from" | "for" => Prep::Neutral { of: false },
        "of" => Prep::Neutral { of: true },
        _ => return None,
    };
    Some((at(0), prep))
}

/// Up to `n` whitespace-separated words before `end`, last first, each with
/// its start; leading punctuation ("(by") is left out of the word.
fn last_words(text: &str, end: usize, n: usize) -> Vec<(usize, &str)> {
    let mut words = Vec::with_capacity(n);
    let mut end = end;
    while words.len() < n {
        let head = text[..end].trim_end();
        if head.is_empty() {
            break;
        }
        let word_start = head
            .char_indices()
            .rev()
            .find(|(_, c)| c.is_whitespace())
            .map_or(0, |(i, c)| i + c.len_utf8());
        let word = &head[word_start..];
        let trimmed = word.trim_start_matches(|c: char| !c.is_alphanumeric());
        words.push((word_start + (word.len() - trimmed.len()), trimmed));
        end = word_start;
    }
    words
}

/// The letters of the word right after `end` (after any spaces).
fn next_word(text: &str, end: usize) -> &str {
    let rest = text[end..].trim_start();
    let len = rest
        .find(|c: char| !c.is_alphabetic())
        .unwrap_or(rest.len());
    &rest[..len]
}

fn word_in(word: &str, list: &[&str]) -> bool {
    !word.is_empty() && list.iter().any(|w| w.eq_ignore_ascii_case(word))
}

fn char_before(text: &str, i: usize) -> Option<char> {
    text[..i].chars().next_back()
}

fn char_after(text: &str, i: usize) -> Option<char> {
    text[i..].chars().next()
}

/// Whether what starts at `i` continues a word, a number or a marker before
/// it (`h264`, `1.2345`, `A-1234`, `#1234`, `$1234`).
fn joined_before(text: &str, i: usize) -> bool {
    let mut before = text[..i].chars().rev();
    match before.next() {
        None => false,
        Some(c) if c.is_alphanumeric() || "_#@+&$€£¥".contains(c) => true,
        Some('.' | '-' | '/' | ':' | '\\') => before.next().is_some_and(char::is_alphanumeric),
        Some(_) => false,
    }
}

/// Whether what ends at `i` runs on into a word, a number or a unit (`1080p`,
/// `10%`, `12.505`, `10-20`); a comma or a sentence's full stop does not.
fn joined_after(text: &str, i: usize) -> bool {
    let mut after = text[i..].chars();
    match after.next() {
        None => false,
        Some(c) if c.is_alphanumeric() || "_%@$€£¥".contains(c) => true,
        Some('.' | '-' | '/' | ':' | '\\') => after.next().is_some_and(char::is_alphanumeric),
        Some(_) => false,
    }
}

/// Whether a number at `i` is the decimals of a European `2,50`: a comma
/// right after a digit (a list "7781,7782" is fine for ids, not for money).
fn decimal_comma(text: &str, i: usize) -> bool {
    let mut before = text[..i].chars().rev();
    before.next() == Some(',') && before.next().is_some_and(|c| c.is_ascii_digit())
}

fn is_snowflake(digits: &str) -> bool {
    (17..=20).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
}

/// Whether an id written after "order" or "#" looks like an order id.
fn plausible_order_id(id: &str, marked: bool) -> bool {
    let digits = id.bytes().filter(u8::is_ascii_digit).count();
    if id.len() > 32 || digits == 0 {
        return false;
    }
    if digits == id.len() {
        digits >= if marked { 3 } else { 4 }
    } else {
        digits >= 3
    }
}

fn parse_decimal(number: &str) -> Option<Decimal> {
    Decimal::from_str(&number.replace(',', "")).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use DateRelation::{Before, By, On};
    use chrono::TimeZone;
    use std::time::{Duration, Instant};

    /// Tuesday, 1 December 2026, noon UTC.
    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap()
    }

    fn ymd(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    /// The expected entities, built field by field in order of appearance.
    #[derive(Default)]
    struct Want(Entities);

    impl Want {
        fn id(mut self, id: &str) -> Self {
            self.0.order_ids.push(id.to_string());
            self
        }
        fn amount(mut self, amount: &str) -> Self {
            self.0.amounts.push(Decimal::from_str(amount).unwrap());
            self
        }
        fn span(mut self, text: &str, from: &str, to: &str, relation: DateRelation) -> Self {
            self.0.dates.push(DateMention {
                text: text.to_string(),
                from: ymd(from),
                to: ymd(to),
                relation,
            });
            self
        }
        fn day(self, text: &str, day: &str, relation: DateRelation) -> Self {
            self.span(text, day, day, relation)
        }
        fn user(mut self, id: &str) -> Self {
            self.0.mentions.push(Mention::User(id.to_string()));
            self
        }
        fn name(mut self, name: &str) -> Self {
            self.0.mentions.push(Mention::Name(name.to_string()));
            self
        }
    }

    fn none() -> Want {
        Want::default()
    }

    const SNOWFLAKE: &str = "123456789012345678";

    fn cases() -> Vec<(&'static str, Want)> {
        vec![
            // --- order ids
            ("was credit used on order 7781?", none().id("7781")),
            ("order #7781", none().id("7781")),
            (
                "order no. 7781 and order number 7782",
                none().id("7781").id("7782"),
            ),
            ("ord 7781 pls", none().id("7781")),
            ("/order #7781", none().id("7781")),
            ("what happened with order A-1234?", none().id("A-1234")),
            (
                "my order ORD-2026-0042 never came",
                none().id("ORD-2026-0042"),
            ),
            ("7781", none().id("7781")),
            ("#7781, order 7781 and 7781 again", none().id("7781")),
            (
                "orders 7781, 7782 and #7783",
                none().id("7781").id("7782").id("7783"),
            ),
            ("orders 7781,7782", none().id("7781").id("7782")),
            ("order id: 123456", none().id("123456")),
            ("order 0042", none().id("0042")),
            ("order #123", none().id("123")),
            ("is 123456789012 one of mine?", none().id("123456789012")),
            ("what about 1950?", none().id("1950")),
            ("in 1850 or by 2101", none().id("1850").id("2101")),
            // --- not order ids
            ("1234567890123 is too long for an order", none()),
            ("can I order 100 ebooks with credits?", none()),
            ("can I order 2500 ebooks?", none()),
            ("order history please", none()),
            ("can I order mp3s?", none()),
            ("what about 2024?", none()),
            ("call me at 555-123-4567", none()),
            ("my number is +1 555 123 4567", none()),
            ("(555) 123-4567 is my phone", none()),
            ("my mobile is 07700 900123", none()),
            ("london +44 20 7946 0958", none()),
            ("555.123.4567", none()),
            ("at 10:30 or 17:45", none()),
            ("my mp3 and 2fa and h264 and x1234 files, 1080p", none()),
            ("the link code 4821 doesn't work", none()),
            ("pin 9876 and account 55512", none()),
            ("10% off and 12.50% back", none()),
            ("email sam@example.com about 7781", none().id("7781")),
            ("see https://shop.example/orders/7781?ref=123456", none()),
            ("version 1.12.50 of the app", none()),
            ("ip 192.168.10.25", none()),
            ("I waited 1500 days", none()),
            // --- amounts
            ("I had $10", none().amount("10")),
            ("$12.50 left", none().amount("12.50")),
            ("10$ gone", none().amount("10")),
            (
                "€5 or £7 or ¥1200",
                none().amount("5").amount("7").amount("1200"),
            ),
            (
                "10 dollars, 11 bucks, 12 credits, 13 creds",
                none().amount("10").amount("11").amount("12").amount("13"),
            ),
            (
                "10 usd and usd 20 and USD30",
                none().amount("10").amount("20").amount("30"),
            ),
            ("was 12.50 refunded?", none().amount("12.50")),
            ("$1,000.00 of credit", none().amount("1000.00")),
            ("1,234 credits", none().amount("1234")),
            ("$1234 was charged", none().amount("1234")),
            ("1234 credits", none().amount("1234")),
            ("50 cents", none().amount("0.50")),
            ("$10 and then $10 again", none().amount("10")),
            ("$ 15 and 5 store credits", none().amount("15").amount("5")),
            ("$12.50 is 12.50", none().amount("12.50")),
            // --- not amounts
            ("i have 2 ebooks and 3 days left", none()),
            ("i have 2 credit cards", none()),
            ("10.5 or 1.505 or 10", none()),
            ("$10k", none()),
            ("US$5 and -$6", none().amount("5").amount("6")),
            ("2,50 € or 2,5 credits", none()),
            // --- dates
            (
                "expires 2027-01-05",
                none().day("2027-01-05", "2027-01-05", On),
            ),
            (
                "expires 2027-01-05T10:00:00Z",
                none().day("2027-01-05", "2027-01-05", On),
            ),
            (
                "before 2027-01-05",
                none().day("before 2027-01-05", "2027-01-05", Before),
            ),
            ("on 5 jan", none().day("on 5 jan", "2027-01-05", On)),
            ("by jan 5", none().day("by jan 5", "2027-01-05", By)),
            (
                "before january 5th",
                none().day("before january 5th", "2027-01-05", Before),
            ),
            (
                "the 5th of january",
                none().day("the 5th of january", "2027-01-05", On),
            ),
            ("17 dec 2026", none().day("17 dec 2026", "2026-12-17", On)),
            ("Dec 5, 2027", none().day("Dec 5, 2027", "2027-12-05", On)),
            ("dec 1", none().day("dec 1", "2026-12-01", On)),
            ("nov 30", none().day("nov 30", "2027-11-30", On)),
            (
                "25/12/2026 or 12/25/2026",
                none().day("25/12/2026", "2026-12-25", On),
            ),
            ("05/01/2027", none()),
            (
                "today or tomorrow",
                none()
                    .day("today", "2026-12-01", On)
                    .day("tomorrow", "2026-12-02", On),
            ),
            (
                "yesterday at 10:30",
                none().day("yesterday", "2026-11-30", On),
            ),
            ("friday", none().day("friday", "2026-12-04", On)),
            ("by Friday", none().day("by Friday", "2026-12-04", By)),
            ("next friday", none().day("next friday", "2026-12-04", On)),
            ("next tuesday", none().day("next tuesday", "2026-12-08", On)),
            ("this tuesday", none().day("this tuesday", "2026-12-01", On)),
            ("tuesday", none().day("tuesday", "2026-12-08", On)),
            (
                "this coming friday",
                none().day("this coming friday", "2026-12-04", On),
            ),
            (
                "on or before friday",
                none().day("on or before friday", "2026-12-04", By),
            ),
            (
                "next weekend",
                none().span("next weekend", "2026-12-12", "2026-12-13", On),
            ),
            ("on 13.1.2027", none().day("on 13.1.2027", "2027-01-13", On)),
            ("12.05.2027 or 1/2/2027", none()),
            ("on feb 29", none().day("on feb 29", "2028-02-29", On)),
            ("feb 30", none()),
            (
                "prior to 5 jan",
                none().day("prior to 5 jan", "2027-01-05", Before),
            ),
            (
                "up until christmas",
                none().day("up until christmas", "2026-12-25", By),
            ),
            ("end of 2027", none().day("end of 2027", "2027-12-31", On)),
            ("a week ago", none().day("a week ago", "2026-11-24", On)),
            (
                "over the past week",
                none().span("over the past week", "2026-11-24", "2026-12-01", On),
            ),
            (
                "within the next 2 weeks",
                none().span("within the next 2 weeks", "2026-12-01", "2026-12-15", By),
            ),
            ("last friday", none().day("last friday", "2026-11-27", On)),
            (
                "this week",
                none().span("this week", "2026-11-30", "2026-12-06", On),
            ),
            (
                "next week",
                none().span("next week", "2026-12-07", "2026-12-13", On),
            ),
            (
                "last week",
                none().span("last week", "2026-11-23", "2026-11-29", On),
            ),
            (
                "this weekend",
                none().span("this weekend", "2026-12-05", "2026-12-06", On),
            ),
            (
                "end of the month",
                none().day("end of the month", "2026-12-31", On),
            ),
            (
                "by the end of the month",
                none().day("by the end of the month", "2026-12-31", By),
            ),
            (
                "end of next month",
                none().day("end of next month", "2027-01-31", On),
            ),
            (
                "this month",
                none().span("this month", "2026-12-01", "2026-12-31", On),
            ),
            (
                "next month",
                none().span("next month", "2027-01-01", "2027-01-31", On),
            ),
            (
                "in december",
                none().span("in december", "2026-12-01", "2026-12-31", On),
            ),
            (
                "in november",
                none().span("in november", "2027-11-01", "2027-11-30", On),
            ),
            (
                "december 2027",
                none().span("december 2027", "2027-12-01", "2027-12-31", On),
            ),
            (
                "by may",
                none().span("by may", "2027-05-01", "2027-05-31", By),
            ),
            ("may I use credits on music?", none()),
            (
                "this year",
                none().span("this year", "2026-01-01", "2026-12-31", On),
            ),
            (
                "next year",
                none().span("next year", "2027-01-01", "2027-12-31", On),
            ),
            (
                "end of the year",
                none().day("end of the year", "2026-12-31", On),
            ),
            (
                "i started in 2019",
                none().span("in 2019", "2019-01-01", "2019-12-31", On),
            ),
            (
                "since 2020",
                none().span("2020", "2020-01-01", "2020-12-31", On),
            ),
            (
                "in 2 weeks",
                none().span("in 2 weeks", "2026-12-01", "2026-12-15", By),
            ),
            (
                "in 3 days",
                none().span("in 3 days", "2026-12-01", "2026-12-04", By),
            ),
            (
                "within 10 days",
                none().span("within 10 days", "2026-12-01", "2026-12-11", By),
            ),
            (
                "in a month",
                none().span("in a month", "2026-12-01", "2027-01-01", By),
            ),
            (
                "2 weeks from now",
                none().span("2 weeks from now", "2026-12-01", "2026-12-15", By),
            ),
            ("3 days ago", none().day("3 days ago", "2026-11-28", On)),
            (
                "in the last 30 days",
                none().span("in the last 30 days", "2026-11-01", "2026-12-01", On),
            ),
            (
                "until the 15th",
                none().day("until the 15th", "2026-12-15", By),
            ),
            (
                "no later than friday",
                none().day("no later than friday", "2026-12-04", By),
            ),
            ("tomorrow at 5pm", none().day("tomorrow", "2026-12-02", On)),
            // --- holidays
            (
                "before christmas",
                none().day("before christmas", "2026-12-25", Before),
            ),
            ("after Xmas", none().day("Xmas", "2026-12-25", On)),
            (
                "christmas 2027",
                none().day("christmas 2027", "2027-12-25", On),
            ),
            (
                "christmas eve",
                none().day("christmas eve", "2026-12-24", On),
            ),
            ("boxing day", none().day("boxing day", "2026-12-26", On)),
            ("new year", none().day("new year", "2027-01-01", On)),
            ("by new years", none().day("by new years", "2027-01-01", By)),
            (
                "new year's eve",
                none().day("new year's eve", "2026-12-31", On),
            ),
            ("black friday", none().day("black friday", "2027-11-26", On)),
            ("valentines", none().day("valentines", "2027-02-14", On)),
            ("halloween", none().day("halloween", "2027-10-31", On)),
            ("thanksgiving", none().day("thanksgiving", "2027-11-25", On)),
            ("cyber monday", none().day("cyber monday", "2027-11-29", On)),
            // --- mentions
            (
                "<@123456789012345678> gave me credits",
                none().user(SNOWFLAKE),
            ),
            ("<@!123456789012345678>", none().user(SNOWFLAKE)),
            ("can I give it to @sam?", none().name("sam")),
            ("@sam and @Sam and @sam.", none().name("sam")),
            ("@jo.doe_1 and @sam", none().name("jo.doe_1").name("sam")),
            ("123456789012345678", none().user(SNOWFLAKE)),
            (
                "@123456789012345678 and <@123456789012345678>",
                none().user(SNOWFLAKE),
            ),
            ("@everyone @here", none()),
            ("<@&123456789012345678> in <#123456789012345679>", none()),
            ("send to @a, meet @10 or @5pm", none()),
            ("mail sam@example.com or hi@sam", none()),
            // --- several at once
            (
                "was my $12.50 from order #7781 used before christmas? ask @sam",
                none()
                    .id("7781")
                    .amount("12.50")
                    .day("before christmas", "2026-12-25", Before)
                    .name("sam"),
            ),
            (
                "will the 10 credits <@123456789012345678> gave me on 17 dec 2026 expire by friday?",
                none()
                    .amount("10")
                    .day("on 17 dec 2026", "2026-12-17", On)
                    .day("by friday", "2026-12-04", By)
                    .user(SNOWFLAKE),
            ),
            (
                "order 7781 paid 2027-01-05 at 10:30 with $5, call 555-123-4567",
                none()
                    .id("7781")
                    .amount("5")
                    .day("2027-01-05", "2027-01-05", On),
            ),
            (
                "in 2 weeks or by friday",
                none()
                    .span("in 2 weeks", "2026-12-01", "2026-12-15", By)
                    .day("by friday", "2026-12-04", By),
            ),
        ]
    }

    #[test]
    fn extracts_every_case() {
        let cases = cases();
        assert!(cases.len() >= 70, "only {} cases", cases.len());
        let mut failures = Vec::new();
        for (text, Want(want)) in &cases {
            let got = extract(text, now());
            // Debug too, so an amount's scale ("12.50", not "12.5") counts.
            if got != *want || format!("{got:?}") != format!("{want:?}") {
                failures.push(format!("{text:?}\n   got: {got:?}\n  want: {want:?}"));
            }
        }
        assert!(
            failures.is_empty(),
            "{} of {} cases failed:\n{}",
            failures.len(),
            cases.len(),
            failures.join("\n")
        );
    }

    #[test]
    fn never_reads_the_clock() {
        let later = Utc.with_ymd_and_hms(2027, 6, 15, 0, 0, 0).unwrap();
        let got = extract("by friday", later);
        // 2027-06-15 is a Tuesday.
        assert_eq!(got.dates[0].from, ymd("2027-06-18"));
    }

    #[test]
    fn time_is_bounded_on_long_and_hostile_text() {
        let mixed = "was my $12.50 from order #7781 used before christmas? ask @sam, \
                     call 555-123-4567 by 17 dec 2026 or in 2 weeks <@123456789012345678> ";
        let inputs: Vec<String> = [
            "1 ",
            "9",
            "order ",
            "order no. ",
            "#",
            "@",
            "a@b.",
            "$1,",
            "12.50.",
            "in 2 ",
            "by ",
            "the end of ",
            "5 jan ",
            "1-",
            "+1 ",
            "<@",
            "é1",
            mixed,
        ]
        .iter()
        .map(|unit| unit.repeat(1000 / unit.chars().count() + 1))
        .collect();
        extract("warm up the regexes", now());
        for input in &inputs {
            assert!(input.chars().count() >= 1000);
            let started = Instant::now();
            let got = extract(input, now());
            let took = started.elapsed();
            assert!(
                took < Duration::from_secs(1),
                "{took:?} for {:?}…",
                &input[..20.min(input.len())]
            );
            let total = got.order_ids.len() + got.amounts.len() + got.dates.len();
            assert!(total + got.mentions.len() <= input.len());
        }
    }
}
