//! `cargo bench --bench simulation`: the throughput of the seeded simulation of the assistant
//! and ledger together (`tests/it/sim`, the code `cargo test --test it simulation::` runs), with
//! every invariant checked after every event, and in the same run a baseline: as many bare
//! `Ledger::grant` calls, one transaction each, as the simulation fed accepted requests.
//!
//! The seed and the number of events come from `CREDITBOT_SIM_SEED` (default 20261201) and
//! `CREDITBOT_SIM_EVENTS` (default 1,000,000), or from `--seed N` and `--events N` after `--`.
//! Ten million events with a seed (release build, every check on):
//!
//! ```text
//! CREDITBOT_SIM_SEED=7 CREDITBOT_SIM_EVENTS=10000000 cargo bench --bench simulation
//! ```
//!
//! A failing invariant panics with the seed, the event number and the command that replays
//! it. `SIM_BENCH_UNCHECKED=1` adds the same events without the checks, to show their cost.
//! Prints one JSON line per figure, like every bench here.

// The bench uses part of the simulation the tests share.
#[allow(dead_code)]
#[path = "../tests/it/sim/mod.rs"]
mod sim;

mod common;

use std::time::Instant;

use chrono::{TimeZone, Utc};
use creditbot::config::DatabaseConfig;
use creditbot::ledger::{AccountId, Act, Expiry, GrantRequest, Ledger, LedgerSettings, Source};
use creditbot::money::Credits;
use serde_json::json;

const BENCH: &str = "simulation";

fn main() {
    let seed = argument("--seed").unwrap_or_else(sim::seed_from_env);
    let events = argument("--events").unwrap_or_else(|| sim::events_from_env(1_000_000));
    common::machine(BENCH, json!({ "seed": seed, "events": events }));

    let started = Instant::now();
    let report = sim::run(&sim::Config::new(seed, events));
    let checked = started.elapsed();
    figure(
        "events_per_s",
        events as f64 / checked.as_secs_f64(),
        "events/s",
    );
    figure("run_s", checked.as_secs_f64(), "s");
    println!(
        "{}",
        json!({
            "bench": BENCH,
            "figure": "run",
            "seed": seed,
            "events": events,
            "digest": report.digest,
            "clock_at_end": report.end.to_rfc3339(),
            "stats": format!("{:?}", report.stats),
        })
    );

    if std::env::var_os("SIM_BENCH_UNCHECKED").is_some() {
        let started = Instant::now();
        sim::run(&sim::Config {
            checks: false,
            ..sim::Config::new(seed, events)
        });
        figure(
            "events_per_s_unchecked",
            events as f64 / started.elapsed().as_secs_f64(),
            "events/s",
        );
    }

    let writes = report.stats.feed_accepted.max(1);
    let rate = bare_grants_per_second(writes);
    figure("baseline_bare_grants_per_s", rate, "grants/s");
    figure("baseline_grants", writes as f64, "grants");
}

fn figure(name: &str, value: f64, unit: &str) {
    common::figure(BENCH, name, value, unit, 1);
}

/// `--name N` from the command line (`cargo bench --bench simulation -- --events 1000`).
fn argument(name: &str) -> Option<u64> {
    let args: Vec<String> = std::env::args().collect();
    let at = args.iter().position(|a| a == name)?;
    let value = args.get(at + 1)?;
    Some(
        value
            .replace('_', "")
            .parse()
            .unwrap_or_else(|_| panic!("{name} {value} is not a number")),
    )
}

/// The baseline: `count` grants on a fresh ledger over 150 accounts, one transaction each.
fn bare_grants_per_second(count: u64) -> f64 {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let ledger = Ledger::open(
        &dir.path().join("bare.db"),
        &DatabaseConfig::default(),
        LedgerSettings::default(),
    )
    .expect("open the ledger");
    let now = Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap();
    let accounts: Vec<String> = (0..150).map(|n| format!("ACC-{:05}", 70_001 + n)).collect();
    for id in &accounts {
        ledger
            .open_account(
                &Act::new("bench", now, format!("open:{id}")),
                &AccountId::new(id.as_str()),
                id,
            )
            .expect("open an account");
    }
    let started = Instant::now();
    for n in 0..count {
        let request = GrantRequest {
            account_id: AccountId::new(accounts[n as usize % accounts.len()].clone()),
            amount: Credits::from_minor(1_00 + (n as i64 % 5_000)),
            source: Source::Gift,
            reason: "bench".into(),
            expiry: Expiry::Default,
        };
        ledger
            .grant(&Act::new("bench", now, format!("bare:{n}")), &request)
            .expect("grant");
    }
    count as f64 / started.elapsed().as_secs_f64()
}
