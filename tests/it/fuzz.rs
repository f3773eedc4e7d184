//! The fuzz targets of `tests/fuzz_targets` in `cargo test`: every corpus entry (including
//! each input a fuzzing run once found failing), then 5,000 generated inputs per target from
//! a fixed seed. Longer runs: `cargo bench --bench fuzz` (a million inputs per target;
//! `CREDITBOT_FUZZ_INPUTS` and `CREDITBOT_FUZZ_SEED` change the count and the seed).

#[path = "../fuzz_targets/mod.rs"]
mod targets;

use targets::{Rng, TARGETS, corpus, generate, run};

#[test]
fn every_corpus_input_is_handled_and_accepted_ones_round_trip() {
    for target in TARGETS {
        for input in corpus(target.name) {
            if let Err(why) = run(target, &input) {
                panic!("{}: {input:?}: {why}", target.name);
            }
        }
    }
}

#[test]
fn generated_inputs_are_handled_and_accepted_ones_round_trip() {
    let seed = 20_261_201;
    for target in TARGETS {
        let corpus = corpus(target.name);
        let mut rng = Rng::new(seed);
        let mut accepted = 0;
        for n in 0..5_000 {
            let input = generate(&mut rng, &corpus, target.tokens);
            match run(target, &input) {
                Ok(true) => accepted += 1,
                Ok(false) => {}
                Err(why) => panic!(
                    "{} input {n} of seed {seed}: {input:?}: {why}\n(add it to tests/fuzz_targets/corpus/{}.txt once fixed)",
                    target.name, target.name
                ),
            }
        }
        // A generator that never makes an acceptable input would test only the refusals.
        println!(
            "{}: {accepted} of 5,000 generated inputs accepted",
            target.name
        );
        assert!(
            accepted >= 25,
            "{}: only {accepted} of 5,000 inputs accepted",
            target.name
        );
    }
}
