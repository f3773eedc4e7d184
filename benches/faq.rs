//! FAQ matcher benchmark: prints one JSON line per figure (`cargo bench --bench faq`).
//!
//! Per-question latency over the dev set with the matcher loaded (median, p99), catalog
//! load time, approximate matcher memory, and a baseline measured in the same run: a
//! naive linear scan of every catalog example with word overlap, no index.
mod common;

use creditbot::faq::{Faq, eval};
use std::collections::HashSet;
use std::hint::black_box;
use std::time::Instant;

const ROUNDS: usize = 200;

fn rss_bytes() -> Option<usize> {
    common::rss_kb(None).map(|kb| kb as usize * 1024)
}

fn percentiles(mut micros: Vec<f64>) -> (f64, f64) {
    micros.sort_by(f64::total_cmp);
    (
        common::quantile(&micros, 0.5),
        common::quantile(&micros, 0.99),
    )
}

/// Times each question separately, `ROUNDS` times over the whole set.
fn time_each(questions: &[String], mut classify: impl FnMut(&str)) -> (f64, f64) {
    let mut micros = Vec::with_capacity(questions.len() * ROUNDS);
    for _ in 0..ROUNDS {
        for q in questions {
            let start = Instant::now();
            classify(q);
            micros.push(start.elapsed().as_secs_f64() * 1e6);
        }
    }
    percentiles(micros)
}

fn main() {
    let dev = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/faq_dev.tsv"
    ))
    .unwrap();
    let questions: Vec<String> = eval::parse_tsv(&dev)
        .unwrap()
        .into_iter()
        .map(|row| row.question)
        .collect();

    let rss_before = rss_bytes();
    let start = Instant::now();
    let faq = Faq::builtin().expect("builtin catalog");
    let load_ms = start.elapsed().as_secs_f64() * 1e3;
    let rss_after = rss_bytes();
    let (terms, examples) = faq.matcher().size();
    println!(
        r#"{{"figure":"catalog_load","ms":{load_ms:.2},"terms":{terms},"examples":{examples}}}"#
    );
    println!(
        r#"{{"figure":"matcher_memory","approx_bytes":{},"rss_delta_bytes":{}}}"#,
        faq.matcher().approximate_bytes(),
        rss_after
            .zip(rss_before)
            .map_or(-1, |(a, b)| a as i64 - b as i64)
    );

    // Warm the thread-local scratch and caches once.
    for q in &questions {
        black_box(faq.classify(q));
    }
    let (median, p99) = time_each(&questions, |q| {
        black_box(faq.classify(black_box(q)));
    });
    println!(
        r#"{{"figure":"classify","median_us":{median:.2},"p99_us":{p99:.2},"questions":{},"rounds":{ROUNDS}}}"#,
        questions.len()
    );

    // Baseline: lower-case word sets, Jaccard overlap against every example, linear scan.
    let catalog = faq.catalog();
    let extra = catalog.extra_none.iter().flat_map(|extra| &extra.examples);
    let word_set = |text: &str| -> HashSet<String> {
        text.split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
            .collect()
    };
    let examples: Vec<HashSet<String>> = catalog
        .intents
        .iter()
        .flat_map(|i| &i.examples)
        .chain(extra)
        .map(|e| word_set(e))
        .collect();
    let (base_median, base_p99) = time_each(&questions, |q| {
        let words = word_set(q);
        let best = examples
            .iter()
            .map(|e| e.intersection(&words).count() as f32 / e.union(&words).count().max(1) as f32)
            .fold(0.0f32, f32::max);
        black_box(best);
    });
    println!(
        r#"{{"figure":"baseline_linear_scan","median_us":{base_median:.2},"p99_us":{base_p99:.2},"examples":{}}}"#,
        examples.len()
    );
}
