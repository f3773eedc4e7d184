//! The seeded simulation of the assistant and the ledger together (issue 11, item 9): see
//! `tests/it/sim/mod.rs` for what happens and what is checked after every event.
//!
//! `cargo test --test it simulation::` runs 100,000 events with the default seed. A failure
//! prints its seed, event number and the command that replays it exactly:
//!
//! ```text
//! CREDITBOT_SIM_SEED=12345 CREDITBOT_SIM_EVENTS=100000 cargo test --test it simulation::
//! ```
//!
//! Ten million events: `CREDITBOT_SIM_SEED=7 CREDITBOT_SIM_EVENTS=10000000 cargo bench
//! --bench simulation` (release build, with every check; see `benches/simulation.rs`).

use crate::sim::{self, Config, Sweeps};

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

/// The same events twice: once with sweeps whenever the plan draws one, once with a single
/// sweep at the end. Every feed request must come out the same (accepted or refused, credits
/// applied, restored, reissued) and every account must end with the same balance.
#[test]
fn the_outcome_does_not_depend_on_when_sweeps_ran() {
    let seed = sim::seed_from_env();
    let events = sim::events_from_env(20_000);
    let run = |sweeps| {
        sim::run(&Config {
            sweeps,
            // The invariants are the other test's; this one compares outcomes.
            checks: false,
            record_feed: true,
            ..Config::new(seed, events)
        })
    };
    let swept = run(Sweeps::AtRandomMoments);
    let unswept = run(Sweeps::OnlyAtTheEnd);
    assert!(swept.stats.sweeps > 1 && unswept.stats.sweeps == 1);
    if let Some(difference) = sim::first_difference(&swept, &unswept) {
        panic!(
            "seed {seed}: the ledger's result depends on when sweeps ran.\n{difference}\nreplay: CREDITBOT_SIM_SEED={seed} CREDITBOT_SIM_EVENTS={events} cargo test --test it simulation::the_outcome_does_not_depend -- --include-ignored"
        );
    }
}
