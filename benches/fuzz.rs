//! Fuzzing run: every target of `tests/fuzz_targets` for a million generated inputs (or
//! `CREDITBOT_FUZZ_INPUTS`) from seed `CREDITBOT_FUZZ_SEED` (default 1), printing one JSON
//! line per target: inputs per second through the target and, as the baseline measured in
//! the same run, inputs per second of the generator alone.
//!
//!     cargo bench --bench fuzz
//!     CREDITBOT_FUZZ_INPUTS=10000000 CREDITBOT_FUZZ_SEED=7 cargo bench --bench fuzz
//!
//! A failing input is printed with its target, seed and number, and the run exits 1: add
//! the input to `tests/fuzz_targets/corpus/<target>.txt` so `cargo test` keeps it fixed.

#[path = "../tests/fuzz_targets/mod.rs"]
mod targets;

use std::time::Instant;
use targets::{Rng, TARGETS, corpus, generate, run};

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let inputs = env_number("CREDITBOT_FUZZ_INPUTS", 1_000_000);
    let seed = env_number("CREDITBOT_FUZZ_SEED", 1);
    // Panics are caught and reported as failures; their default message would only repeat it.
    std::panic::set_hook(Box::new(|_| {}));
    let mut failed = false;
    for target in TARGETS {
        let corpus = corpus(target.name);
        let mut rng = Rng::new(seed);
        let started = Instant::now();
        let mut length = 0usize;
        for _ in 0..inputs {
            length += generate(&mut rng, &corpus, target.tokens).len();
        }
        let generating = started.elapsed().as_secs_f64();
        let mut rng = Rng::new(seed);
        let (mut accepted, mut failures) = (0u64, 0u64);
        let started = Instant::now();
        for n in 0..inputs {
            let input = generate(&mut rng, &corpus, target.tokens);
            match run(target, &input) {
                Ok(true) => accepted += 1,
                Ok(false) => {}
                Err(why) => {
                    failures += 1;
                    if failures <= 5 {
                        eprintln!("{} seed {seed} input {n}: {input:?}: {why}", target.name);
                    }
                }
            }
        }
        let fuzzing = started.elapsed().as_secs_f64();
        failed |= failures > 0;
        println!(
            "{{\"bench\":\"fuzz\",\"target\":\"{}\",\"seed\":{seed},\"inputs\":{inputs},\"accepted\":{accepted},\"failures\":{failures},\"inputs_per_second\":{:.0},\"baseline_generate_only_per_second\":{:.0},\"mean_input_chars\":{:.1}}}",
            target.name,
            inputs as f64 / fuzzing,
            inputs as f64 / generating,
            length as f64 / inputs as f64,
        );
    }
    if failed {
        std::process::exit(1);
    }
}
