//! FAQ understanding benchmark: prints one JSON line per figure (`cargo bench --bench faq`).
//!
//! - `approach` lines: the intent models compared on the same features and data, each
//!   trained here, with accuracy on the dev set, on the held-out set (reported, never
//!   used to choose), `none` answered, CLINC150 validation answered, and training time.
//!   Besides the bot's model (a gate and an intent model, both logistic regressions), one
//!   flat logistic regression over every class and a linear SVM (both gated the same way);
//!   ablations drop one feature step at a time, so each step shows what it earns.
//! - `classify`: per-question latency of the bot's matcher over the dev set (median,
//!   p99), against a baseline measured in the same run: a naive linear scan of every
//!   training example by word overlap, no index.
//! - `understand`: the whole plain-word path (split into parts, classify each, extract
//!   order ids, amounts, dates and mentions).
//! - `catalog_load` / `matcher_memory`: training time and size.
mod common;

use creditbot::faq::features::FeatureOptions;
use creditbot::faq::model::{Structure, TrainOptions, Trainer};
use creditbot::faq::{Catalog, Faq, Matcher, Policies, Thresholds, eval};
use std::collections::HashSet;
use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

const ROUNDS: usize = 200;
/// The linear-scan baseline compares with every training example: fewer rounds suffice.
const BASELINE_ROUNDS: usize = 3;

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

/// Times each question separately, `rounds` times over the whole set.
fn time_each(questions: &[String], rounds: usize, mut classify: impl FnMut(&str)) -> (f64, f64) {
    let mut micros = Vec::with_capacity(questions.len() * rounds);
    for _ in 0..rounds {
        for q in questions {
            let start = Instant::now();
            classify(q);
            micros.push(start.elapsed().as_secs_f64() * 1e6);
        }
    }
    percentiles(micros)
}

fn labelled(file: &str) -> Vec<eval::Labelled> {
    let path = format!("{}/tests/data/{file}", env!("CARGO_MANIFEST_DIR"));
    eval::parse_tsv(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// CLINC150 validation rows outside the intents we answer on purpose (as tests/it/faq.rs).
fn clinc_unrelated() -> Vec<eval::Labelled> {
    const OURS: &[&str] = &[
        "balance",
        "rewards_balance",
        "expiration_date",
        "transfer",
        "redeem_rewards",
        "greeting",
        "what_can_i_ask_you",
        "goodbye",
        "thank_you",
        "are_you_a_bot",
        "who_made_you",
        "what_is_your_name",
        "how_old_are_you",
        "where_are_you_from",
        "do_you_have_pets",
        "what_are_your_hobbies",
        "who_do_you_work_for",
    ];
    labelled("clinc150_val.tsv")
        .into_iter()
        .filter(|row| !OURS.contains(&row.intent.as_str()))
        .map(|row| eval::Labelled {
            intent: "none".into(),
            question: row.question,
        })
        .collect()
}

fn compare_approaches(dev: &[eval::Labelled], holdout: &[eval::Labelled]) {
    let catalog = Catalog::builtin().expect("builtin catalog");
    let clinc = clinc_unrelated();
    let all = FeatureOptions::default();
    let softmax = TrainOptions::default();
    let hinge = TrainOptions {
        trainer: Trainer::Hinge,
        learning_rate: 0.2,
        ..TrainOptions::default()
    };
    let flat = TrainOptions {
        structure: Structure::Flat,
        ..TrainOptions::default()
    };
    let approaches: Vec<(&str, FeatureOptions, TrainOptions)> = vec![
        ("logistic_regression", all, softmax),
        ("flat_logistic_regression", all, flat),
        ("linear_svm", all, hinge),
        (
            "lr_without_typo_correction",
            FeatureOptions {
                typo_correction: false,
                ..all
            },
            softmax,
        ),
        (
            "lr_without_synonyms",
            FeatureOptions {
                synonyms: false,
                ..all
            },
            softmax,
        ),
        (
            "lr_without_bigrams",
            FeatureOptions {
                bigrams: false,
                ..all
            },
            softmax,
        ),
        (
            "lr_without_char_ngrams",
            FeatureOptions {
                char_grams: false,
                ..all
            },
            softmax,
        ),
    ];
    for (name, features, training) in approaches {
        let start = Instant::now();
        let matcher = Matcher::with_options(&catalog, Thresholds::default(), features, training);
        let train_ms = start.elapsed().as_secs_f64() * 1e3;
        let faq = Faq::with_matcher(catalog.clone(), Arc::new(matcher), &Policies::default());
        let dev_report = eval::evaluate(&faq, dev);
        let holdout_report = eval::evaluate(&faq, holdout);
        let clinc_report = eval::evaluate(&faq, &clinc);
        println!(
            r#"{{"figure":"approach","name":"{name}","dev_accuracy":{:.4},"dev_macro_f1":{:.4},"dev_none_answered":{:.4},"holdout_accuracy":{:.4},"holdout_none_answered":{:.4},"clinc_val_answered":{:.4},"train_ms":{train_ms:.1}}}"#,
            dev_report.accuracy(),
            dev_report.macro_f1,
            dev_report.none_answered_rate(),
            holdout_report.accuracy(),
            holdout_report.none_answered_rate(),
            clinc_report.none_answered_rate(),
        );
    }
}

fn main() {
    let dev = labelled("faq_dev.tsv");
    let holdout = labelled("faq_holdout.tsv");
    let questions: Vec<String> = dev.iter().map(|row| row.question.clone()).collect();

    let rss_before = rss_bytes();
    let start = Instant::now();
    let faq = Faq::builtin().expect("builtin catalog");
    let load_ms = start.elapsed().as_secs_f64() * 1e3;
    let rss_after = rss_bytes();
    let (terms, examples) = faq.matcher().size();
    println!(
        r#"{{"figure":"catalog_load","ms":{load_ms:.2},"terms":{terms},"examples":{examples},"features":{}}}"#,
        faq.matcher().features()
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
    let (median, p99) = time_each(&questions, ROUNDS, |q| {
        black_box(faq.classify(black_box(q)));
    });
    println!(
        r#"{{"figure":"classify","median_us":{median:.2},"p99_us":{p99:.2},"questions":{},"rounds":{ROUNDS}}}"#,
        questions.len()
    );

    // The whole plain-word path: parts, each part classified, entities extracted.
    let now = chrono::Utc::now();
    for q in &questions {
        black_box(faq.understand(q, "bench", now));
    }
    let (understand_median, understand_p99) = time_each(&questions, ROUNDS / 4, |q| {
        black_box(faq.understand(black_box(q), "bench", now));
    });
    println!(
        r#"{{"figure":"understand","median_us":{understand_median:.2},"p99_us":{understand_p99:.2},"questions":{},"rounds":{}}}"#,
        questions.len(),
        ROUNDS / 4
    );

    // Baseline: lower-case word sets, Jaccard overlap against every example, linear scan.
    let catalog = faq.catalog();
    let extra = catalog.borrowed.iter().flat_map(|extra| &extra.examples);
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
    let (base_median, base_p99) = time_each(&questions, BASELINE_ROUNDS, |q| {
        let words = word_set(q);
        let best = examples
            .iter()
            .map(|e| e.intersection(&words).count() as f32 / e.union(&words).count().max(1) as f32)
            .fold(0.0f32, f32::max);
        black_box(best);
    });
    println!(
        r#"{{"figure":"baseline_linear_scan","median_us":{base_median:.2},"p99_us":{base_p99:.2},"examples":{},"rounds":{BASELINE_ROUNDS}}}"#,
        examples.len()
    );

    compare_approaches(&dev, &holdout);
}
