//! creditbot: a credit ledger over SQLite and the assistant that answers members about it.
//!
//! The map of the crate (arrows point down; nothing below imports what is above):
//! - transports: `console`, `discord` (serenity gateway, behind the `discord` feature) and
//!   `http` (axum: Discord's interactions endpoint and the store API, behind the `http`
//!   feature; so are `dm::rest`'s direct messages over reqwest); `offload` and
//!   `sweeper` are the async glue they share (blocking pool, hourly expiry sweep), and
//!   `shutdown` how they stop (signals, time limits)
//! - `discord_api`: Discord's JSON shapes (commands, interactions, responses), no client
//! - `assistant`: `handle(Request) -> Reply` — commands, admin checks, privacy, limits
//! - `faq`: question understanding (catalog, normalisation, matcher) — no I/O but the catalog file
//! - `import`, `export`, `wire`, `demo`: the shop's JSON feed and data in and out
//! - `lines`: text input a line at a time, a line that isn't UTF-8 reported, not fatal
//! - `ledger`: the credit rules (`ledger::rules`) and their SQLite store (`ledger::store`)
//! - `money`: exact amounts (`Credits`), their currency and the amount grammar
//! - `grammar`: the one parser each for times, expiries and client keys, shared by every door
//! - `db`: opening SQLite, pragmas, migrations
//! - `config`, `error`: bot.toml with environment overrides; user-facing and internal errors
//! - `words`: English counts ("1 day", "30 days") for every reply
pub mod assistant;
pub mod config;
pub mod console;
pub mod db;
pub mod demo;
#[cfg(feature = "discord")]
pub mod discord;
pub mod discord_api;
pub mod dm;
pub mod error;
pub mod export;
pub mod faq;
pub mod grammar;
#[cfg(feature = "http")]
pub mod http;
pub mod import;
pub mod ledger;
pub mod lines;
pub mod money;
pub mod offload;
pub mod reminders;
pub mod shutdown;
pub mod sweeper;
pub mod wire;
pub mod words;
