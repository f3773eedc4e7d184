//! creditbot: a credit ledger over SQLite and the assistant that answers members about it.
//!
//! The map of the crate (arrows point down; nothing below imports what is above):
//! - transports: `console` (and, behind the `discord` feature, the Discord adapter)
//! - `faq`: question understanding (catalog, normalisation, matcher) — no I/O but the catalog file
//! - `ledger`: the credit rules (`ledger::rules`) and their SQLite store (`ledger::store`)
//! - `money`: exact amounts (`Credits`) and their currency
//! - `db`: opening SQLite, pragmas, migrations
//! - `config`: bot.toml and environment overrides
pub mod assistant;
pub mod config;
pub mod console;
pub mod db;
pub mod demo;
#[cfg(feature = "discord")]
pub mod discord;
pub mod discord_api;
pub mod error;
pub mod export;
pub mod faq;
pub mod http;
pub mod import;
pub mod ledger;
pub mod money;
pub mod offload;
pub mod sweeper;
pub mod wire;
