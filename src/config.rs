//! bot.toml: every setting with its default, environment overrides, and refusal of unknown keys.
//!
//! Loading reads one file; nothing here opens a database or a network connection.

use serde::Deserialize;
use std::path::{Path, PathBuf};

use crate::ledger::{ExpiredLotPolicy, LedgerSettings};
use crate::money::{Credits, Currency, MAX_SCALE};

/// The whole configuration. Every section and key is optional; unknown keys are errors.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub database: DatabaseConfig,
    pub credits: CreditsConfig,
    pub returns: ReturnsConfig,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// The SQLite file.
    pub path: PathBuf,
    /// `normal` (default; durable at each checkpoint, safe against corruption) or `full`
    /// (every commit durable even through power loss, slower).
    pub synchronous: Synchronous,
    /// How long a writer waits for another writer's lock before giving up.
    pub busy_timeout_ms: u64,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        DatabaseConfig {
            path: PathBuf::from("creditbot.db"),
            synchronous: Synchronous::Normal,
            busy_timeout_ms: 5_000,
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
        let config: Config = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: origin.to_path_buf(),
            message: e.message().to_string(),
        })?;
        config.ledger_settings(origin)?;
        Ok(config)
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
        let unchecked = Currency::new(&credits.currency, credits.decimals, Credits::ZERO);
        let max_grant = unchecked
            .parse_positive(&credits.max_grant)
            .map_err(|e| invalid("credits.max_grant", e.to_string()))?;
        Ok(LedgerSettings {
            currency: Currency::new(&credits.currency, credits.decimals, max_grant),
            default_expiry_days: (credits.default_expiry_days > 0)
                .then_some(credits.default_expiry_days),
            link_code_ttl_hours: credits.link_code_ttl_hours.max(1),
            expired_lot_policy: self.returns.expired_lot_policy,
            reissue_days: self.returns.reissue_days,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_config_parses_and_sets_every_section() {
        let text = include_str!("../bot.toml.example");
        let config = Config::parse(text, Path::new("bot.toml.example")).unwrap();
        assert_eq!(config.credits.currency, "USD");
        assert_eq!(config.returns.reissue_days, 30);
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
    fn a_bad_value_names_its_key() {
        let err = Config::parse("[credits]\nmax_grant = \"-3\"\n", Path::new("b.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("credits.max_grant"), "{err}");
    }
}
