//! The integration tests, as one test binary (`cargo test --test it`; one module's tests:
//! `cargo test --test it ledger_model::`). One binary links serenity, axum and the crate
//! once instead of once per test file.
//!
//! The modules share one process: a test must not set environment variables, install a panic
//! hook or a global tracing subscriber, or change the working directory. Tests that run the
//! `creditbot` binary (`CARGO_BIN_EXE_creditbot`) or re-run this one (`ledger_crash`) give the
//! child its environment instead.

// Amounts are written dollars_cents: usd(12_50) is $12.50.
#![allow(clippy::inconsistent_digit_grouping)]

// Shared by the tests below.
mod common;
// Without the `discord` feature, `discord` (its main user) is left out.
#[cfg_attr(not(feature = "discord"), allow(dead_code))]
mod fake_discord;
mod sim;
// Test bodies run over each store of the ledger.
mod stores;
// A creditbot process from the built binary, its logs collected.
mod process;

mod assistant;
mod cli;
mod copy;
// The real bot through the built binary: without the `discord` feature it has no bot to run.
#[cfg(feature = "discord")]
mod discord;
mod faq;
mod fuzz;
#[cfg(feature = "http")]
mod http;
#[cfg(feature = "http")]
mod http_interactions;
mod layers;
mod ledger;
mod ledger_concurrency;
mod ledger_crash;
mod ledger_model;
#[cfg(feature = "postgres")]
mod ledger_postgres;
mod ledger_rows;
#[cfg(feature = "http")]
mod openapi_refusals;
// A throwaway PostgreSQL cluster, and the test that it starts and goes.
mod pg;
mod reminders;
mod reminders_discord;
#[cfg(feature = "http")]
mod replicas;
mod simulation;
mod stopping;
mod voice;
