//! bot.toml: every setting with its default, environment overrides, and refusal of unknown keys.
//!
//! Loading reads one file; nothing here opens a database or a network connection.
//!
//! It sits below the ledger and the assistant: the checked settings they run by
//! ([`LedgerSettings`], [`ConfirmSettings`]) are plain data defined here, and they re-export them.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

use crate::money::{AmountSyntax, Credits, Currency, MAX_SCALE};

mod location;
mod shards;

pub use location::{DatabaseLocation, LocationError, POSTGRES_DEFAULT_PORT, PostgresUrl};
pub use shards::Shards;

/// The whole configuration. Every section and key is optional; unknown keys are errors.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub database: DatabaseConfig,
    pub credits: CreditsConfig,
    pub returns: ReturnsConfig,
    pub ledger: LedgerConfig,
    pub faq: FaqConfig,
    pub discord: DiscordConfig,
    pub http: HttpConfig,
    pub confirm: ConfirmConfig,
    pub reminders: RemindersConfig,
}

/// The sections a `CREDITBOT_<SECTION>_<KEY>` environment variable may set.
const SECTIONS: [&str; 9] = [
    "database",
    "credits",
    "returns",
    "ledger",
    "faq",
    "discord",
    "http",
    "confirm",
    "reminders",
];

/// A secret (token, key) whose `Debug` never shows it, so it can't reach a log by accident.
#[derive(Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn is_set(&self) -> bool {
        !self.0.trim().is_empty()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.is_set() {
            "Secret(set)"
        } else {
            "Secret(empty)"
        })
    }
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct FaqConfig {
    /// A catalog TOML replacing the built-in one; empty: the built-in catalog.
    pub catalog_path: Option<PathBuf>,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DiscordConfig {
    /// The bot token (or DISCORD_TOKEN). Without one, `creditbot run` starts the console.
    pub token: Secret,
    /// Guilds to register slash commands in (instant); empty: register globally.
    pub guild_ids: Vec<u64>,
    /// Members who may run admin commands…
    pub admin_user_ids: Vec<u64>,
    /// …and roles whose members may.
    pub admin_role_ids: Vec<u64>,
    /// Channels where the bot answers every message through the FAQ (needs MESSAGE_CONTENT).
    pub faq_channel_ids: Vec<u64>,
    /// Discord's API base URL; change it only to run behind a proxy for Discord.
    pub api_base: String,
    /// The gateway shards this process runs, "0-3" or "2", with `shard_count`; neither:
    /// serenity's automatic sharding (as many shards as Discord recommends, all here).
    /// Kept as written (a string, or an integer from an environment variable) and checked
    /// by [`DiscordConfig::shards`].
    pub shard_ids: Option<toml::Value>,
    /// How many shards the bot has across all its processes.
    pub shard_count: Option<i64>,
}

impl DiscordConfig {
    /// The shards this process runs, checked; `None` when neither key is set.
    pub fn shards(&self) -> Result<Option<Shards>, (&'static str, String)> {
        shards::check(self.shard_ids.as_ref(), self.shard_count)
    }
}

impl Default for DiscordConfig {
    fn default() -> Self {
        DiscordConfig {
            token: Secret::default(),
            guild_ids: Vec::new(),
            admin_user_ids: Vec::new(),
            admin_role_ids: Vec::new(),
            faq_channel_ids: Vec::new(),
            api_base: "https://discord.com".into(),
            shard_ids: None,
            shard_count: None,
        }
    }
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Address `creditbot serve` listens on.
    pub listen: String,
    /// The Discord application's Ed25519 public key, hex.
    pub public_key: String,
    /// Bearer token of the store API (or CREDITBOT_API_TOKEN).
    pub api_token: Secret,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            listen: "127.0.0.1:8080".into(),
            public_key: String::new(),
            api_token: Secret::default(),
        }
    }
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// Where the ledger is: a SQLite file (a path or `sqlite:PATH`) or `postgres://…`.
    /// A URL may carry a password, so it is kept as a [`Secret`]; [`Self::location`] reads it.
    pub url: Option<Secret>,
    /// The SQLite file, when `url` isn't set (the older key; a file may set one of the two).
    pub path: PathBuf,
    /// `normal` (default; durable at each checkpoint, safe against corruption) or `full`
    /// (every commit durable even through power loss, slower).
    pub synchronous: Synchronous,
    /// How long a writer waits for another writer's lock before giving up.
    pub busy_timeout_ms: u64,
    /// PostgreSQL: at most this many connections per process; callers beyond it wait.
    pub pool_size: usize,
    /// PostgreSQL: how long connecting, or waiting for a free connection, may take.
    pub connect_timeout_ms: u64,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        DatabaseConfig {
            url: None,
            path: PathBuf::from("creditbot.db"),
            synchronous: Synchronous::Normal,
            busy_timeout_ms: 5_000,
            pool_size: 8,
            connect_timeout_ms: 5_000,
        }
    }
}

impl DatabaseConfig {
    /// Where the ledger is: `url` when set, else `path`. Which one the file, the environment
    /// and `--db` end up setting is decided before (see [`Config::parse_with_env`]).
    pub fn location(&self) -> Result<DatabaseLocation, LocationError> {
        match &self.url {
            Some(url) => DatabaseLocation::parse(url.expose()),
            None => Ok(DatabaseLocation::Sqlite(self.path.clone())),
        }
    }
}

#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Synchronous {
    #[default]
    Normal,
    Full,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct CreditsConfig {
    /// ISO currency code shown with amounts.
    pub currency: String,
    /// Decimals an amount has (2 for cents).
    pub decimals: u32,
    /// The largest single grant, as decimal text.
    pub max_grant: String,
    /// Days until a new grant expires when none is given; 0 means grants never expire.
    pub default_expiry_days: u32,
    /// Hours a link code stays valid.
    pub link_code_ttl_hours: u32,
}

impl Default for CreditsConfig {
    fn default() -> Self {
        CreditsConfig {
            currency: "USD".into(),
            decimals: 2,
            max_grant: "1000".into(),
            default_expiry_days: 365,
            link_code_ttl_hours: 24,
        }
    }
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ReturnsConfig {
    /// What a return does with credit that goes back to a lot that has expired meanwhile:
    /// `reissue` (a new refund lot that expires `reissue_days` later) or `expire`.
    pub expired_lot_policy: ExpiredLotPolicy,
    pub reissue_days: u32,
}

impl Default for ReturnsConfig {
    fn default() -> Self {
        ReturnsConfig {
            expired_lot_policy: ExpiredLotPolicy::Reissue,
            reissue_days: 30,
        }
    }
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LedgerConfig {
    /// How many days before it is recorded a grant, order or return fed by the store API or
    /// `import` may be dated (its `at`).
    pub max_backdate_days: u32,
}

impl Default for LedgerConfig {
    fn default() -> Self {
        LedgerConfig {
            max_backdate_days: 30,
        }
    }
}

/// When an admin is asked to confirm before a change (a button on Discord, yes/no in the
/// console). A member's /unlink and a grant repeating one of the last ten minutes always ask.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ConfirmConfig {
    /// A grant of more than this asks first, as decimal text.
    pub grant_above: String,
    /// A revoke taking back more than this asks first, as decimal text.
    pub revoke_above: String,
}

impl Default for ConfirmConfig {
    fn default() -> Self {
        ConfirmConfig {
            grant_above: "100".into(),
            revoke_above: "50".into(),
        }
    }
}

/// `[reminders]`: private messages to linked members before their credit expires.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RemindersConfig {
    /// Send reminders at all (`run` and `serve` with a token; `creditbot remind`).
    pub enabled: bool,
    /// Remind this many days before a grant expires, once per grant and number.
    pub days_before: Vec<u32>,
    /// How often `run` and `serve` look for reminders to send.
    pub run_every_minutes: u32,
    /// At most this many messages a minute.
    pub max_per_minute: u32,
}

impl Default for RemindersConfig {
    fn default() -> Self {
        RemindersConfig {
            enabled: true,
            days_before: vec![7, 1],
            run_every_minutes: 60,
            max_per_minute: 50,
        }
    }
}

/// The most days before an expiry a reminder may come (config and `/reminders days:`).
pub const MAX_REMINDER_DAYS: u32 = 60;

impl RemindersConfig {
    /// Checks the section; `origin` names the file in errors.
    pub fn check(&self, origin: &Path) -> Result<(), ConfigError> {
        let invalid = |key, message: String| ConfigError::Invalid {
            path: origin.to_path_buf(),
            key,
            message,
        };
        if let Some(bad) = self
            .days_before
            .iter()
            .find(|d| **d == 0 || **d > MAX_REMINDER_DAYS)
        {
            return Err(invalid(
                "reminders.days_before",
                format!("each between 1 and {MAX_REMINDER_DAYS}, not {bad}"),
            ));
        }
        if self.enabled && self.days_before.is_empty() {
            return Err(invalid(
                "reminders.days_before",
                "needs at least one number of days (or set enabled = false)".into(),
            ));
        }
        if !(1..=10_080).contains(&self.run_every_minutes) {
            return Err(invalid(
                "reminders.run_every_minutes",
                format!(
                    "between 1 and 10080 (a week), not {}",
                    self.run_every_minutes
                ),
            ));
        }
        if !(1..=3_000).contains(&self.max_per_minute) {
            return Err(invalid(
                "reminders.max_per_minute",
                format!("between 1 and 3000, not {}", self.max_per_minute),
            ));
        }
        Ok(())
    }
}

/// The longest expiry or reissue period, in days: the same 100 years an admin may type.
pub const MAX_DAYS: u32 = 36_500;
/// The longest a link code may stay valid, in hours.
pub const MAX_LINK_CODE_TTL_HOURS: u32 = 8_760;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("can't read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{path}: {key}: {message}")]
    Invalid {
        path: PathBuf,
        key: &'static str,
        message: String,
    },
}

impl Config {
    /// Reads and checks a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Config::parse(&text, path)
    }

    /// Parses config text; `origin` names the file in errors.
    pub fn parse(text: &str, origin: &Path) -> Result<Config, ConfigError> {
        Config::parse_with_env(text, origin, std::iter::empty())
    }

    /// Reads `path` if it exists (defaults otherwise), then applies the environment.
    pub fn load_or_default(path: &Path) -> Result<Config, ConfigError> {
        let text = if path.exists() {
            std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                path: path.to_path_buf(),
                source,
            })?
        } else {
            String::new()
        };
        Config::parse_with_env(&text, path, std::env::vars())
    }

    /// Parses config text, then overrides keys from `CREDITBOT_<SECTION>_<KEY>` variables,
    /// `DISCORD_TOKEN` and `CREDITBOT_API_TOKEN`. A variable naming a known section but an
    /// unknown key is an error like an unknown key in the file.
    ///
    /// The database location, from strongest to weakest: `CREDITBOT_DATABASE_URL`,
    /// `CREDITBOT_DATABASE_PATH`, then the file's `url` or `path` (one of them: a file setting
    /// both is refused), then `creditbot.db`. (`--db` beats them all; `main` applies it.)
    pub fn parse_with_env(
        text: &str,
        origin: &Path,
        env: impl Iterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let parse_error = |message: String| ConfigError::Parse {
            path: origin.to_path_buf(),
            message,
        };
        let invalid = |key, message: String| ConfigError::Invalid {
            path: origin.to_path_buf(),
            key,
            message,
        };
        let mut table: toml::Table =
            toml::from_str(text).map_err(|e| parse_error(e.message().to_string()))?;
        if let Some(toml::Value::Table(database)) = table.get("database") {
            if database.contains_key("url") && database.contains_key("path") {
                return Err(invalid(
                    "database.url",
                    "set url or path, not both (url takes a file path too)".into(),
                ));
            }
        }
        let is_location =
            |section: &str, key: &str| section == "database" && LOCATION_KEYS.contains(&key);
        let mut overrides: Vec<(String, String, toml::Value)> = env
            .filter_map(|(name, value)| {
                let (section, key) = env_key(&name)?;
                // A location is text even when it looks like a number or a boolean.
                let value = if is_location(&section, &key) {
                    toml::Value::String(value)
                } else {
                    env_value(&value)
                };
                Some((section, key, value))
            })
            .collect();
        // A location from the environment replaces the file's whole (the URL before the path),
        // so a file's `path` and an environment's URL are no conflict.
        let env_location = LOCATION_KEYS.iter().find_map(|wanted| {
            overrides
                .iter()
                .position(|(section, key, _)| is_location(section, key) && key == wanted)
        });
        if let Some(at) = env_location {
            let (section, key, value) = overrides.remove(at);
            overrides.retain(|(section, key, _)| !is_location(section, key));
            if let Some(database) = section_of(&mut table, &section) {
                for old in LOCATION_KEYS {
                    database.remove(old);
                }
                database.insert(key, value);
            }
        }
        for (section, key, value) in overrides {
            if let Some(section_table) = section_of(&mut table, &section) {
                section_table.insert(key, value);
            }
        }
        let config: Config = toml::Value::Table(table)
            .try_into()
            .map_err(|e: toml::de::Error| parse_error(e.message().to_string()))?;
        config
            .database
            .location()
            .map_err(|e| invalid("database.url", e.to_string()))?;
        if !(1..=1_000).contains(&config.database.pool_size) {
            return Err(invalid(
                "database.pool_size",
                format!("between 1 and 1000, not {}", config.database.pool_size),
            ));
        }
        config
            .discord
            .shards()
            .map_err(|(key, message)| invalid(key, message))?;
        config.ledger_settings(origin)?;
        config.confirm_settings(origin)?;
        config.reminders.check(origin)?;
        Ok(config)
    }

    /// The confirmation thresholds, checked, in the configured currency.
    pub fn confirm_settings(&self, origin: &Path) -> Result<ConfirmSettings, ConfigError> {
        let currency = self.ledger_settings(origin)?.currency;
        let amount = |key, text: &str| {
            currency
                .parse_positive(text, AmountSyntax::Plain)
                .map_err(|e| ConfigError::Invalid {
                    path: origin.to_path_buf(),
                    key,
                    message: e.to_string(),
                })
        };
        Ok(ConfirmSettings {
            grant_above: amount("confirm.grant_above", &self.confirm.grant_above)?,
            revoke_above: amount("confirm.revoke_above", &self.confirm.revoke_above)?,
        })
    }

    /// The ledger's settings, checked.
    pub fn ledger_settings(&self, origin: &Path) -> Result<LedgerSettings, ConfigError> {
        let invalid = |key, message: String| ConfigError::Invalid {
            path: origin.to_path_buf(),
            key,
            message,
        };
        let credits = &self.credits;
        if credits.decimals > MAX_SCALE {
            return Err(invalid(
                "credits.decimals",
                format!("at most {MAX_SCALE}, not {}", credits.decimals),
            ));
        }
        if credits.currency.trim().is_empty() {
            return Err(invalid("credits.currency", "can't be empty".into()));
        }
        // Durations are added to dates; an unbounded one would overflow a date on every
        // grant, code or return instead of failing here, once, naming its key.
        let bounded = |key, value: u32, min: u32, max: u32, unit: &str| {
            if value > max {
                Err(invalid(key, format!("at most {max} {unit}, not {value}")))
            } else if value < min {
                Err(invalid(key, format!("at least {min}, not {value}")))
            } else {
                Ok(())
            }
        };
        // 0 days of default expiry means "never expires"; a code or a refund grant that
        // lasts 0 would be useless, so those start at 1.
        bounded(
            "credits.default_expiry_days",
            credits.default_expiry_days,
            0,
            MAX_DAYS,
            "days (100 years)",
        )?;
        bounded(
            "credits.link_code_ttl_hours",
            credits.link_code_ttl_hours,
            1,
            MAX_LINK_CODE_TTL_HOURS,
            "hours (a year)",
        )?;
        bounded(
            "returns.reissue_days",
            self.returns.reissue_days,
            1,
            MAX_DAYS,
            "days (100 years)",
        )?;
        bounded(
            "ledger.max_backdate_days",
            self.ledger.max_backdate_days,
            0,
            MAX_DAYS,
            "days (100 years)",
        )?;
        let unchecked = Currency::new(&credits.currency, credits.decimals, Credits::ZERO);
        let max_grant = unchecked
            .parse_positive(&credits.max_grant, AmountSyntax::Plain)
            .map_err(|e| invalid("credits.max_grant", e.to_string()))?;
        Ok(LedgerSettings {
            currency: Currency::new(&credits.currency, credits.decimals, max_grant),
            default_expiry_days: (credits.default_expiry_days > 0)
                .then_some(credits.default_expiry_days),
            link_code_ttl_hours: credits.link_code_ttl_hours,
            expired_lot_policy: self.returns.expired_lot_policy,
            reissue_days: self.returns.reissue_days,
            max_backdate_days: self.ledger.max_backdate_days,
        })
    }
}

/// The `[database]` keys that say where the ledger is, the stronger first.
const LOCATION_KEYS: [&str; 2] = ["url", "path"];

/// A section of the config table, created empty if the file has none; `None` when the file
/// gives that name something other than a table, which deserializing then refuses, naming it.
fn section_of<'t>(table: &'t mut toml::Table, section: &str) -> Option<&'t mut toml::Table> {
    table
        .entry(section)
        .or_insert_with(|| toml::Value::Table(toml::Table::new()))
        .as_table_mut()
}

/// The (section, key) an environment variable sets, if it is one of ours.
fn env_key(name: &str) -> Option<(String, String)> {
    match name {
        "DISCORD_TOKEN" => return Some(("discord".into(), "token".into())),
        "CREDITBOT_API_TOKEN" => return Some(("http".into(), "api_token".into())),
        _ => {}
    }
    let rest = name.strip_prefix("CREDITBOT_")?.to_ascii_lowercase();
    SECTIONS.iter().find_map(|section| {
        let key = rest.strip_prefix(section)?.strip_prefix('_')?;
        (!key.is_empty()).then(|| (section.to_string(), key.to_string()))
    })
}

/// An environment value as TOML: numbers, booleans and lists as such, anything else a string.
fn env_value(raw: &str) -> toml::Value {
    toml::from_str::<toml::Table>(&format!("v = {raw}"))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(raw.to_string()))
}

/// How the ledger is set up (from bot.toml's `[credits]` and `[returns]`).
#[derive(Clone, Debug, PartialEq)]
pub struct LedgerSettings {
    pub currency: Currency,
    /// Days until a grant without an explicit expiry expires; `None`: it never does.
    pub default_expiry_days: Option<u32>,
    pub link_code_ttl_hours: u32,
    pub expired_lot_policy: ExpiredLotPolicy,
    pub reissue_days: u32,
    /// How far before the moment it is recorded a feed request's `at` may be dated.
    pub max_backdate_days: u32,
}

impl Default for LedgerSettings {
    fn default() -> Self {
        LedgerSettings {
            currency: Currency::usd(),
            default_expiry_days: Some(365),
            link_code_ttl_hours: 24,
            expired_lot_policy: ExpiredLotPolicy::Reissue,
            reissue_days: 30,
            max_backdate_days: 30,
        }
    }
}

/// What a return does with credit whose lot has expired meanwhile.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExpiredLotPolicy {
    /// Issue a new refund lot expiring `reissue_days` after the return.
    #[default]
    Reissue,
    /// Put it back on the old lot and expire it at once.
    Expire,
}

/// When admins are asked to confirm (from bot.toml's `[confirm]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfirmSettings {
    /// A grant of more than this asks first.
    pub grant_above: Credits,
    /// A revoke taking back more than this asks first.
    pub revoke_above: Credits,
}

impl ConfirmSettings {
    /// The defaults: grants above 100 and revokes above 50, in the currency's units.
    pub fn defaults_for(currency: &Currency) -> Self {
        let whole = |units: i64| Credits::from_minor(units * 10_i64.pow(currency.scale()));
        ConfirmSettings {
            grant_above: whole(100),
            revoke_above: whole(50),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_thresholds_follow_the_currency_decimals() {
        let usd = ConfirmSettings::defaults_for(&Currency::usd());
        assert_eq!(usd.grant_above, Credits::from_minor(10_000));
        assert_eq!(usd.revoke_above, Credits::from_minor(5_000));
    }

    #[test]
    fn the_example_config_parses_and_sets_every_section() {
        let text = include_str!("../bot.toml.example");
        let config = Config::parse(text, Path::new("bot.toml.example")).unwrap();
        assert_eq!(config.credits.currency, "USD");
        assert_eq!(config.returns.reissue_days, 30);
        assert_eq!(config.confirm, ConfirmConfig::default());
        assert_eq!(config.reminders, RemindersConfig::default());
    }

    #[test]
    fn confirmation_thresholds_are_amounts_in_the_currency() {
        let config = Config::parse(
            "[credits]\ndecimals = 0\n[confirm]\ngrant_above = \"500\"\n",
            Path::new("b.toml"),
        )
        .unwrap();
        let settings = config.confirm_settings(Path::new("b.toml")).unwrap();
        assert_eq!(settings.grant_above, Credits::from_minor(500));
        assert_eq!(settings.revoke_above, Credits::from_minor(50));
        let err = Config::parse("[confirm]\nrevoke_above = \"ten\"\n", Path::new("b.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("confirm.revoke_above"), "{err}");
    }

    #[test]
    fn reminder_days_out_of_range_are_refused_naming_the_key() {
        let err = Config::parse("[reminders]\ndays_before = [7, 0]\n", Path::new("b.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("reminders.days_before"), "{err}");
        let err = Config::parse("[reminders]\nmax_per_minute = 0\n", Path::new("b.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("reminders.max_per_minute"), "{err}");
        let ok = Config::parse(
            "[reminders]\nenabled = false\ndays_before = [14, 3]\nrun_every_minutes = 15\n",
            Path::new("b.toml"),
        )
        .unwrap();
        assert_eq!(ok.reminders.days_before, vec![14, 3]);
        assert!(!ok.reminders.enabled);
    }

    #[test]
    fn a_pool_size_out_of_range_is_refused_naming_the_key() {
        for bad in ["0", "1001"] {
            let err = Config::parse(
                &format!("[database]\npool_size = {bad}\n"),
                Path::new("b.toml"),
            )
            .unwrap_err()
            .to_string();
            assert_eq!(
                err,
                format!("b.toml: database.pool_size: between 1 and 1000, not {bad}")
            );
        }
        let ok = Config::parse("[database]\npool_size = 20\n", Path::new("b.toml")).unwrap();
        assert_eq!(ok.database.pool_size, 20);
    }

    #[test]
    fn an_empty_file_gives_the_defaults() {
        let config = Config::parse("", Path::new("bot.toml")).unwrap();
        assert_eq!(config, Config::default());
        let settings = config.ledger_settings(Path::new("bot.toml")).unwrap();
        assert_eq!(settings.currency.max_grant(), Credits::from_minor(100_000));
        assert_eq!(settings.default_expiry_days, Some(365));
    }

    #[test]
    fn an_unknown_key_is_named_with_its_file() {
        let err = Config::parse("[credits]\ncurrancy = \"EUR\"\n", Path::new("my.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("my.toml"), "{err}");
        assert!(err.contains("currancy"), "{err}");
    }

    #[test]
    fn the_environment_overrides_the_file() {
        let env = [
            ("CREDITBOT_DATABASE_PATH", "/tmp/x.db"),
            ("CREDITBOT_CREDITS_DEFAULT_EXPIRY_DAYS", "90"),
            ("DISCORD_TOKEN", "secret-token"),
            ("CREDITBOT_DISCORD_ADMIN_USER_IDS", "[1, 2]"),
            ("CREDITBOT_CRASH_CHILD", "ignored: not a section of ours"),
            ("PATH", "/usr/bin"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()));
        let config = Config::parse_with_env(
            "[database]\npath = \"file.db\"\n",
            Path::new("bot.toml"),
            env.into_iter(),
        )
        .unwrap();
        assert_eq!(config.database.path, PathBuf::from("/tmp/x.db"));
        assert_eq!(config.credits.default_expiry_days, 90);
        assert_eq!(config.discord.token.expose(), "secret-token");
        assert_eq!(config.discord.admin_user_ids, vec![1, 2]);
        assert!(!format!("{config:?}").contains("secret-token"));
    }

    /// The location a config ends up with, from a file and an environment.
    fn location(text: &str, env: &[(&str, &str)]) -> Result<DatabaseLocation, String> {
        let env = env.iter().map(|(k, v)| (k.to_string(), v.to_string()));
        Config::parse_with_env(text, Path::new("b.toml"), env)
            .map(|c| c.database.location().unwrap())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn the_database_location_follows_its_precedence() {
        let file = |p: &str| DatabaseLocation::Sqlite(PathBuf::from(p));
        let pg = "postgres://shop:hunter2@db:5432/ledger";
        assert_eq!(location("", &[]), Ok(file("creditbot.db")));
        assert_eq!(
            location("[database]\npath = \"a.db\"\n", &[]),
            Ok(file("a.db"))
        );
        assert_eq!(
            location("[database]\nurl = \"sqlite:b.db\"\n", &[]),
            Ok(file("b.db"))
        );
        let from_file = location(&format!("[database]\nurl = \"{pg}\"\n"), &[]).unwrap();
        assert_eq!(from_file.to_string(), "postgres://shop:***@db:5432/ledger");
        // The environment's URL beats the file's path (no conflict), its path the file's URL,
        // and its URL its path.
        let env_url = [("CREDITBOT_DATABASE_URL", pg)];
        assert_eq!(
            location("[database]\npath = \"a.db\"\n", &env_url),
            Ok(from_file.clone())
        );
        let env_path = [("CREDITBOT_DATABASE_PATH", "/tmp/e.db")];
        assert_eq!(
            location(&format!("[database]\nurl = \"{pg}\"\n"), &env_path),
            Ok(file("/tmp/e.db"))
        );
        let both = [env_path[0], env_url[0]];
        assert_eq!(location("", &both), Ok(from_file));
        // A path that looks like a number is still a path.
        assert_eq!(
            location("", &[("CREDITBOT_DATABASE_URL", "2026")]),
            Ok(file("2026"))
        );
    }

    #[test]
    fn a_file_setting_url_and_path_or_a_bad_url_is_refused() {
        assert_eq!(
            location("[database]\nurl = \"x.db\"\npath = \"y.db\"\n", &[]),
            Err(
                "b.toml: database.url: set url or path, not both (url takes a file path too)"
                    .into()
            )
        );
        let bad = "[database]\nurl = \"postgres://shop:hunter2@db:port/ledger\"\n";
        assert_eq!(
            location(bad, &[]),
            Err(
                "b.toml: database.url: the PostgreSQL URL's port isn't a number from 1 to 65535"
                    .into()
            )
        );
        let env = [("CREDITBOT_DATABASE_URL", "mongodb://shop:hunter2@db")];
        let refused = location("", &env).unwrap_err();
        assert!(
            refused.contains("unknown database URL scheme \"mongodb\""),
            "{refused}"
        );
        assert!(!refused.contains("hunter2"), "{refused}");
        let config = Config::parse(
            "[database]\nurl = \"postgres://shop:hunter2@db/ledger\"\n",
            Path::new("b.toml"),
        )
        .unwrap();
        assert!(!format!("{config:?}").contains("hunter2"));
    }

    #[test]
    fn shards_come_from_the_file_or_the_environment_both_or_neither() {
        let shards = |text: &str, env: &[(&str, &str)]| {
            let env = env.iter().map(|(k, v)| (k.to_string(), v.to_string()));
            Config::parse_with_env(text, Path::new("b.toml"), env)
                .map(|c| c.discord.shards().unwrap().map(|s| s.to_string()))
                .map_err(|e| e.to_string())
        };
        assert_eq!(shards("", &[]), Ok(None));
        let file = "[discord]\nshard_ids = \"1-2\"\nshard_count = 4\n";
        assert_eq!(shards(file, &[]), Ok(Some("shards 1-2 of 4".into())));
        let env = [
            ("CREDITBOT_DISCORD_SHARD_IDS", "2"),
            ("CREDITBOT_DISCORD_SHARD_COUNT", "8"),
        ];
        assert_eq!(shards(file, &env), Ok(Some("shard 2 of 8".into())));
        assert_eq!(
            shards("[discord]\nshard_count = 4\n", &[]),
            Err("b.toml: discord.shard_count: needs shard_ids too (set both, or neither for automatic sharding)".into())
        );
        assert_eq!(
            shards("", &[("CREDITBOT_DISCORD_SHARD_IDS", "0-3")]),
            Err("b.toml: discord.shard_ids: needs shard_count too (set both, or neither for automatic sharding)".into())
        );
        assert_eq!(
            shards("[discord]\nshard_ids = \"0-3\"\nshard_count = 2\n", &[]),
            Err("b.toml: discord.shard_ids: shard 3 doesn't exist: with shard_count = 2 the ids go from 0 to 1".into())
        );
        assert_eq!(
            shards("[discord]\nshard_ids = \"2-1\"\nshard_count = 4\n", &[]),
            Err(
                "b.toml: discord.shard_ids: the range 2-1 is empty; write the lower id first (1-2)"
                    .into()
            )
        );
    }

    #[test]
    fn an_unknown_environment_key_is_an_error() {
        let env = [("CREDITBOT_CREDITS_CURRANCY".to_string(), "EUR".to_string())];
        let err = Config::parse_with_env("", Path::new("bot.toml"), env.into_iter())
            .unwrap_err()
            .to_string();
        assert!(err.contains("currancy"), "{err}");
    }

    #[test]
    fn a_bad_value_names_its_key() {
        let err = Config::parse("[credits]\nmax_grant = \"-3\"\n", Path::new("b.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("credits.max_grant"), "{err}");
    }

    #[test]
    fn durations_are_bounded_naming_their_key() {
        let table = [
            (
                "[credits]\ndefault_expiry_days = 4000000000\n",
                "credits.default_expiry_days",
            ),
            (
                "[credits]\ndefault_expiry_days = 36501\n",
                "credits.default_expiry_days",
            ),
            (
                "[credits]\nlink_code_ttl_hours = 4000000000\n",
                "credits.link_code_ttl_hours",
            ),
            (
                "[returns]\nreissue_days = 4000000000\n",
                "returns.reissue_days",
            ),
        ];
        for (text, key) in table {
            let err = Config::parse(text, Path::new("b.toml"))
                .unwrap_err()
                .to_string();
            assert!(err.contains(key), "{text}: {err}");
            assert!(err.contains("at most"), "{text}: {err}");
        }
        for (text, key) in [
            (
                "[credits]\nlink_code_ttl_hours = 0\n",
                "credits.link_code_ttl_hours",
            ),
            ("[returns]\nreissue_days = 0\n", "returns.reissue_days"),
        ] {
            let err = Config::parse(text, Path::new("b.toml"))
                .unwrap_err()
                .to_string();
            assert!(err.contains(key), "{text}: {err}");
            assert!(err.contains("at least 1, not 0"), "{text}: {err}");
        }
        let edge = "[credits]\ndefault_expiry_days = 36500\nlink_code_ttl_hours = 8760\n[returns]\nreissue_days = 36500\n";
        let config = Config::parse(edge, Path::new("b.toml")).unwrap();
        assert_eq!(config.credits.default_expiry_days, 36_500);
        let env = [(
            "CREDITBOT_CREDITS_DEFAULT_EXPIRY_DAYS".to_string(),
            "4000000000".to_string(),
        )];
        let err = Config::parse_with_env("", Path::new("b.toml"), env.into_iter())
            .unwrap_err()
            .to_string();
        assert!(err.contains("credits.default_expiry_days"), "{err}");
    }
}
