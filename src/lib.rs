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
//! - `dm`: what Discord's answers to a direct message mean (and, with `http`, the sender)
//! - `reminders`: planning and sending expiry reminders, over a `Deliver` a transport gives
//! - `import`, `export`, `wire`, `demo`: the shop's JSON feed and data in and out
//! - `faq`: question understanding (catalog, normalisation, matcher) — no I/O but the catalog file
//! - `grammar`: the one parser each for times, expiries and client keys, shared by every door
//! - `ledger`: the credit rules (`ledger::rules`) and operations (`ledger::ops`), written once
//!   over a store interface (`ledger::store`) that SQLite implements (`ledger::sqlite`)
//! - `db`: opening SQLite, pragmas, migrations
//! - `money`: exact amounts (`Credits`), their currency and the amount grammar
//! - `lines`: text input a line at a time, a line that isn't UTF-8 reported, not fatal
//! - `config`: bot.toml with environment overrides, and the plain settings of the layers
//!   above (`LedgerSettings`, `ConfirmSettings`, where the ledger is, which gateway shards
//!   run), so it imports none of them
//! - `error`: refusals (`UserError`) and internal errors, and the apology's `Reference`
//! - `words`: the voice every reply shares: English counts ("1 day", "30 days"), how dates
//!   and members are written (`Style`)
//!
//! `tests/it/layers.rs` holds the order as a table and fails on an import that points up.
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
