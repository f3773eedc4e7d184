//! Generated-input fuzzing of every parser at creditbot's doors, shared by `tests/fuzz.rs`
//! (the corpus plus a few thousand generated inputs per target, in `cargo test`) and
//! `benches/fuzz.rs` (a million or more per target: `cargo bench --bench fuzz`).
//!
//! The stable toolchain has no coverage-guided fuzzer (cargo-fuzz needs nightly), so inputs
//! are generated: mutations of each target's corpus (`corpus/<target>.txt`, one JSON string
//! per line) and of its tokens, by a seeded generator, so a failing seed replays exactly.
//! Every target checks two things: no input panics, and every input it accepts reads the same
//! again from its canonical form (what creditbot itself would write for that value).

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};
use creditbot::assistant::command;
use creditbot::grammar::{self, parse_expiry, parse_time};
use creditbot::ledger::Expiry;
use creditbot::money::{AmountSyntax, Currency};
use creditbot::wire::{self, AccountIn, GrantIn, OrderIn, ReturnIn};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::panic::{AssertUnwindSafe, catch_unwind};

/// A target: its name (and corpus file), tokens its inputs are made of, and its check, which
/// answers whether the input was accepted, or why an accepted input broke its round trip.
pub struct Target {
    pub name: &'static str,
    pub tokens: &'static [&'static str],
    pub check: fn(&str) -> Result<bool, String>,
}

pub const TARGETS: &[Target] = &[
    Target {
        name: "amount_plain",
        tokens: &[
            "0",
            "1",
            "9",
            "12",
            ".",
            ".5",
            "00",
            ",",
            "_",
            "+",
            "-",
            " ",
            "\n",
            "e3",
            "999999999999999999",
        ],
        check: |input| amount(input, AmountSyntax::Plain),
    },
    Target {
        name: "amount_typed",
        tokens: &[
            "$", "€", "1,000", ",000", "12", ".50", ".", ",", " ", "-", "USD", "0", "9",
        ],
        check: |input| amount(input, AmountSyntax::Typed),
    },
    Target {
        name: "expiry",
        tokens: &[
            "90",
            "d",
            " days",
            " day",
            "never",
            "2027-06-30",
            "T12:00:00Z",
            "+01:00",
            "-",
            "0",
            "13",
            "-31",
            ":",
            ".5",
        ],
        check: expiry,
    },
    Target {
        name: "time",
        tokens: &[
            "2026-11-26",
            "T",
            "t",
            " ",
            "12:00:00",
            "Z",
            "z",
            "+01:00",
            "-23:59",
            ".123456789",
            "9999",
            "0000",
            "60",
        ],
        check: time,
    },
    Target {
        name: "client_key",
        tokens: &["k", "order-9001", " ", "\u{200B}", "é", "\t", "/", "~", "!"],
        check: client_key,
    },
    Target {
        name: "typed_command",
        tokens: &[
            "/", "admin ", "grant ", "balance", "history ", "order ", "expiry ", "member:",
            "amount:", "reason:", "\"", "\\\"", "\\", " ", "@alice", "<@123>", "12.50", "2",
            "page:", "#7781",
        ],
        check: typed_command,
    },
    Target {
        name: "grant_json",
        tokens: JSON_TOKENS,
        check: |input| {
            json_round_trip::<GrantIn>(input, |g| {
                g.to_request(&Currency::usd(), now())
                    .map(drop)
                    .map_err(drop)
            })
        },
    },
    Target {
        name: "order_json",
        tokens: JSON_TOKENS,
        check: |input| {
            json_round_trip::<OrderIn>(input, |o| {
                o.to_request(&Currency::usd(), now())
                    .map(drop)
                    .map_err(drop)
            })
        },
    },
    Target {
        name: "return_json",
        tokens: JSON_TOKENS,
        check: |input| {
            json_round_trip::<ReturnIn>(input, |r| r.to_request(now()).map(drop).map_err(drop))
        },
    },
    Target {
        name: "account_json",
        tokens: JSON_TOKENS,
        check: |input| json_round_trip::<AccountIn>(input, |_| Ok(())),
    },
    Target {
        name: "import_line",
        tokens: JSON_TOKENS,
        check: import_line,
    },
    Target {
        name: "interaction",
        tokens: JSON_TOKENS,
        check: interaction,
    },
    Target {
        name: "config",
        tokens: &[
            "[credits]\n",
            "[ledger]\n",
            "[database]\n",
            "currency = ",
            "\"JPY\"",
            "decimals = ",
            "0",
            "7",
            "max_grant = ",
            "\"1_000\"",
            "\"12.50\"",
            "max_backdate_days = ",
            "-1",
            "\n",
            "=",
            "\"",
            "[[x]]",
        ],
        check: config,
    },
];

const JSON_TOKENS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    ":",
    ",",
    "\"",
    "null",
    "true",
    "1.5",
    "-1",
    "1e400",
    "\"\\u0000\"",
    "\"\\ud800\"",
    "\"type\":",
    "\"grant\"",
    "\"key\":",
    "\"amount\":",
    "\"12.50\"",
    "\"at\":",
    "\"2026-11-26T12:00:00Z\"",
    "\"items\":",
    "\"quantity\":",
    "\"sku\":",
    "\"id\":",
    "\"data\":",
    "\"options\":",
    "\"name\":",
    "\"value\":",
    "2",
    "3",
    "4",
];

/// The fixed "now" of every check, so a seed replays exactly.
pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 26, 12, 0, 0).unwrap()
}

/// Runs a target's check on one input, turning a panic into a failure that names it.
pub fn run(target: &Target, input: &str) -> Result<bool, String> {
    match catch_unwind(AssertUnwindSafe(|| (target.check)(input))) {
        Ok(result) => result,
        Err(panic) => Err(format!(
            "panicked: {}",
            panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default()
        )),
    }
}

fn amount(input: &str, syntax: AmountSyntax) -> Result<bool, String> {
    let mut accepted = false;
    for currency in [
        Currency::usd(),
        Currency::new("JPY", 0, creditbot::money::Credits::from_minor(1)),
    ] {
        let Ok(amount) = currency.parse_amount(input, syntax) else {
            continue;
        };
        accepted = true;
        let canonical = currency.to_decimal(amount).to_string();
        let again = currency.parse_amount(&canonical, AmountSyntax::Plain);
        if again != Ok(amount) {
            return Err(format!(
                "read as {amount:?}, but its canonical {canonical:?} reads as {again:?}"
            ));
        }
        let shown = currency.format(amount);
        let typed = currency.parse_amount(&shown, AmountSyntax::Typed);
        if typed != Ok(amount) {
            return Err(format!(
                "read as {amount:?}, but as shown ({shown:?}) reads as {typed:?}"
            ));
        }
    }
    Ok(accepted)
}

fn expiry(input: &str) -> Result<bool, String> {
    let Ok(Some(read)) = parse_expiry(Some(input), now()) else {
        return Ok(false);
    };
    let canonical = match read {
        Expiry::Never => "never".to_string(),
        Expiry::InDays(days) => days.to_string(),
        Expiry::At(at) => at.to_rfc3339_opts(SecondsFormat::AutoSi, true),
        Expiry::Default => return Err("parse_expiry gave Default".into()),
    };
    let again = parse_expiry(Some(&canonical), now());
    if again != Ok(Some(read)) {
        return Err(format!(
            "read as {read:?}, but {canonical:?} reads as {again:?}"
        ));
    }
    Ok(true)
}

fn time(input: &str) -> Result<bool, String> {
    let Some(at) = parse_time(input) else {
        return Ok(false);
    };
    let canonical = at.to_rfc3339_opts(SecondsFormat::AutoSi, true);
    match parse_time(&canonical) {
        Some(again) if again == at => Ok(true),
        other => Err(format!(
            "read as {at}, but {canonical:?} reads as {other:?}"
        )),
    }
}

fn client_key(input: &str) -> Result<bool, String> {
    if grammar::check_client_key(input).is_err() {
        return Ok(false);
    }
    // A key is its own canonical form; what matters is that it is stored in its namespace.
    let stored = wire::client_grant_key("key", input).map_err(|e| e.message)?;
    if stored != wire::feed_grant_key(input) {
        return Err(format!("stored as {stored:?}"));
    }
    Ok(true)
}

/// A typed line that reads as a command reads as the same command when written back with
/// every option named and quoted.
fn typed_command(input: &str) -> Result<bool, String> {
    let Some((path, options)) = command::parse_typed(input) else {
        return Ok(false);
    };
    let Ok(read) = command::parse(&path, &options) else {
        return Ok(false);
    };
    let mut canonical = format!("/{path}");
    for (name, value) in &options {
        canonical.push_str(&format!(
            " {name}:\"{}\"",
            value.replace('\\', "\\\\").replace('"', "\\\"")
        ));
    }
    let again = command::parse_typed(&canonical).map(|(p, o)| command::parse(&p, &o));
    if again != Some(Ok(read.clone())) {
        return Err(format!(
            "read as {read:?}, but {canonical:?} reads as {again:?}"
        ));
    }
    Ok(true)
}

/// A body a request type accepts reads the same from the JSON creditbot writes for it, and
/// turns into a ledger request (or a refusal) without panicking.
fn json_round_trip<T: DeserializeOwned + Serialize + PartialEq + std::fmt::Debug>(
    input: &str,
    convert: impl Fn(&T) -> Result<(), ()>,
) -> Result<bool, String> {
    let Ok(read) = wire::from_json::<T>(input.as_bytes(), "body") else {
        return Ok(false);
    };
    let _ = convert(&read);
    let canonical = serde_json::to_vec(&read).map_err(|e| e.to_string())?;
    match wire::from_json::<T>(&canonical, "body") {
        Ok(again) if again == read => Ok(true),
        other => Err(format!(
            "read as {read:?}, but {} reads as {other:?}",
            String::from_utf8_lossy(&canonical)
        )),
    }
}

fn import_line(input: &str) -> Result<bool, String> {
    use creditbot::import::{Record, parse_line};
    let Ok(read) = parse_line(input) else {
        return Ok(false);
    };
    let (kind, mut value) = match &read {
        Record::Account(a) => ("account", serde_json::to_value(a)),
        Record::Grant(g) => ("grant", serde_json::to_value(g)),
        Record::Order(o) => ("order", serde_json::to_value(o)),
        Record::Return(r) => ("return", serde_json::to_value(r)),
    };
    let value = value.as_mut().map_err(|e| e.to_string())?;
    value["type"] = kind.into();
    let canonical = value.to_string();
    match parse_line(&canonical) {
        Ok(again) if again == read => Ok(true),
        other => Err(format!(
            "read as {read:?}, but {canonical} reads as {other:?}"
        )),
    }
}

/// Discord's payloads are signed by Discord, but a parser must still never panic on one.
fn interaction(input: &str) -> Result<bool, String> {
    let Ok(value) = serde_json::from_str::<serde_json::Value>(input) else {
        return Ok(false);
    };
    let first = creditbot::discord_api::parse_interaction(&value);
    let again = creditbot::discord_api::parse_interaction(&value);
    if format!("{first:?}") != format!("{again:?}") {
        return Err("read differently twice".into());
    }
    Ok(first.is_ok())
}

/// A config file is read, or refused naming its key, and its settings checked, without
/// panicking; one that is accepted gives settings whose amounts read back.
fn config(input: &str) -> Result<bool, String> {
    let path = std::path::Path::new("fuzz.toml");
    let Ok(config) = creditbot::config::Config::parse(input, path) else {
        return Ok(false);
    };
    let Ok(settings) = config.ledger_settings(path) else {
        return Ok(false);
    };
    let currency = &settings.currency;
    let max = currency.to_decimal(currency.max_grant()).to_string();
    if currency.parse_amount(&max, AmountSyntax::Plain) != Ok(currency.max_grant()) {
        return Err(format!("max_grant {max} doesn't read back"));
    }
    Ok(true)
}

/// SplitMix64: small, fast and the same everywhere, so a seed replays exactly.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Characters that break parsers: separators, signs, quotes, escapes, invisible and
/// look-alike characters, controls and non-ASCII digits.
const SPICE: &[char] = &[
    '0', '1', '5', '9', '.', ',', '_', '+', '-', ' ', '\t', '\n', '\r', '$', '€', 'e', 'E', 'd',
    'T', 'Z', ':', '"', '\\', '{', '}', '[', ']', '\u{200B}', '\u{FEFF}', 'ä', '１', '/', '@', '<',
    '>', '#', '\0', 'x', 'é', '\u{301}',
];

/// The target's corpus, as stored in `tests/fuzz_targets/corpus/<name>.txt`.
pub fn corpus(name: &str) -> Vec<String> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz_targets/corpus")
        .join(format!("{name}.txt"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("can't read the corpus {}: {e}", path.display()));
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            serde_json::from_str::<String>(line)
                .unwrap_or_else(|e| panic!("{}: {line}: {e}", path.display()))
        })
        .collect()
}

/// One generated input: a corpus entry mutated a few times with tokens and spice.
pub fn generate(rng: &mut Rng, corpus: &[String], tokens: &[&str]) -> String {
    let mut text: Vec<char> = match rng.below(8) {
        0 => Vec::new(),
        _ => corpus[rng.below(corpus.len())].chars().collect(),
    };
    for _ in 0..1 + rng.below(3) {
        let at = rng.below(text.len() + 1);
        match rng.below(7) {
            0 | 1 => {
                let token = tokens[rng.below(tokens.len())];
                text.splice(at..at, token.chars());
            }
            2 => text.insert(at, SPICE[rng.below(SPICE.len())]),
            3 if !text.is_empty() => {
                text.remove(at.min(text.len() - 1));
            }
            4 if !text.is_empty() => {
                let at = at.min(text.len() - 1);
                text[at] = SPICE[rng.below(SPICE.len())];
            }
            5 if !text.is_empty() => {
                let end = (at + 1 + rng.below(8)).min(text.len());
                let copy: Vec<char> = text[at.min(end)..end].to_vec();
                text.splice(at..at, copy);
            }
            _ => {
                let other: Vec<char> = corpus[rng.below(corpus.len())].chars().collect();
                let cut = rng.below(other.len() + 1);
                text.truncate(at);
                text.extend(&other[cut..]);
            }
        }
    }
    text.into_iter().collect()
}
