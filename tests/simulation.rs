//! The seeded simulation of the assistant and the ledger together (issue 11, item 9): see
//! `tests/sim/mod.rs` for what happens and what is checked after every event.
//!
//! `cargo test --test simulation` runs 100,000 events with the default seed. A failure
//! prints its seed, event number and the command that replays it exactly:
//!
//! ```text
//! CREDITBOT_SIM_SEED=12345 CREDITBOT_SIM_EVENTS=100000 cargo test --test simulation
//! ```
//!
//! Ten million events: `CREDITBOT_SIM_SEED=7 CREDITBOT_SIM_EVENTS=10000000 cargo bench
//! --bench simulation` (release build, with every check; see `benches/simulation.rs`).

mod sim;

use sim::Config;

#[test]
fn a_hundred_thousand_events_keep_every_invariant() {
    let config = Config::new(sim::seed_from_env(), sim::events_from_env(100_000));
    println!("seed {} · {} events", config.seed, config.events);
    let report = sim::run(&config);
    println!("{:#?}", report.stats);
    let stats = &report.stats;
    // The run exercised what it claims to (a plan that drifted into doing nothing would pass
    // every invariant trivially).
    assert!(
        stats.feed_accepted > 0 && stats.feed_refused > 0,
        "{stats:?}"
    );
    assert!(stats.retries > 0 && stats.late_replays > 0, "{stats:?}");
    assert!(
        stats.sweeps > 1 && stats.restarts > 0 && stats.clock_jumps > 0,
        "{stats:?}"
    );
    assert!(
        stats.foreign_order_probes > 0 && stats.balance_figures_checked > 0,
        "{stats:?}"
    );
    assert!(stats.links_redeemed > 0 && stats.checksums > 0, "{stats:?}");
}

#[test]
fn the_same_seed_replays_exactly() {
    let config = Config::new(sim::seed_from_env() ^ 0x5eed, 3_000);
    let first = sim::run(&config);
    let second = sim::run(&config);
    assert_eq!(first.digest, second.digest, "seed {}", config.seed);
    assert_eq!(first.final_balances, second.final_balances);
    let other = sim::run(&Config::new(config.seed + 1, 3_000));
    assert_ne!(first.digest, other.digest, "another seed, another run");
}
