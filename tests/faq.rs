//! FAQ matcher quality, measured from outside the module: the dev set and the CLINC150
//! validation split.
use creditbot::faq::{Faq, eval};
use std::path::PathBuf;

fn manifest_path(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(relative)
}

fn dev_report() -> eval::Report {
    let text = std::fs::read_to_string(manifest_path("tests/data/faq_dev.tsv"))
        .expect("tests/data/faq_dev.tsv");
    let rows = eval::parse_tsv(&text).expect("dev set parses");
    eval::evaluate(&Faq::builtin().expect("builtin catalog"), &rows)
}

#[test]
fn dev_set_has_enough_questions_per_intent() {
    let text = std::fs::read_to_string(manifest_path("tests/data/faq_dev.tsv")).unwrap();
    let rows = eval::parse_tsv(&text).unwrap();
    let faq = Faq::builtin().unwrap();
    for intent in &faq.catalog().intents {
        let count = rows.iter().filter(|row| row.intent == intent.id).count();
        let needed = if intent.id == "none" { 100 } else { 15 };
        assert!(
            count >= needed,
            "{}: {count} dev questions, need {needed}",
            intent.id
        );
    }
    // Dev questions must be worded differently from the catalog's examples.
    let catalog = faq.catalog();
    let extra = catalog.extra_none.iter().flat_map(|extra| &extra.examples);
    let examples: Vec<&String> = catalog
        .intents
        .iter()
        .flat_map(|i| &i.examples)
        .chain(extra)
        .collect();
    for row in &rows {
        let copied = examples
            .iter()
            .any(|e| e.eq_ignore_ascii_case(&row.question));
        assert!(
            !copied,
            "dev question copied from the catalog: {}",
            row.question
        );
    }
}

/// The issue's targets: accuracy ≥ 90 %, ≤ 3 % of `none` questions answered.
#[test]
fn dev_set_meets_the_issue_targets() {
    let report = dev_report();
    assert!(report.accuracy() >= 0.90, "{report}");
    assert!(report.none_answered_rate() <= 0.03, "{report}");
}

/// Generalisation, on questions written before this matcher was tuned and never used to
/// tune it (tests/data/faq_holdout.tsv). The bound is looser than the dev targets and set
/// just below what the matcher measured there (0.807 accuracy, 1/61 `none` answered); it guards against losing what we have,
/// it is not a target that was tuned for.
#[test]
fn holdout_set_generalises() {
    let text = std::fs::read_to_string(manifest_path("tests/data/faq_holdout.tsv"))
        .expect("tests/data/faq_holdout.tsv");
    let rows = eval::parse_tsv(&text).expect("holdout set parses");
    let report = eval::evaluate(&Faq::builtin().unwrap(), &rows);
    assert!(report.accuracy() >= HOLDOUT_ACCURACY, "{report}");
    assert!(
        report.none_answered_rate() <= HOLDOUT_NONE_ANSWERED,
        "{report}"
    );
}

const HOLDOUT_ACCURACY: f64 = 0.78;
const HOLDOUT_NONE_ANSWERED: f64 = 0.05;

/// CLINC150 validation split (never used for the catalog): at most 2 % of utterances
/// outside the near-credit intents may get an intent. Near-credit CLINC intents are
/// excluded from the count; what they should get is checked below.
#[test]
fn clinc150_validation_is_mostly_none() {
    let report = eval::evaluate(
        &Faq::builtin().unwrap(),
        &clinc_rows(|intent| !NEAR_CREDIT.contains(&intent)),
    );
    assert!(report.total >= 2900, "{} CLINC rows", report.total);
    assert!(report.none_answered_rate() <= 0.02, "{report}");
}

/// The deliberate mapping of CLINC's near-credit intents: a bank balance or reward
/// points question may get our `balance` (points are credits to us; "points earned" may
/// get `earn`), a card expiry our
/// `expiry`, a bank transfer our `transfer`, redeeming points `about`/`earn`/`balance`;
/// anything else must be `none`.
#[test]
fn clinc150_near_credit_intents_get_only_their_counterpart_or_none() {
    let faq = Faq::builtin().unwrap();
    let allowed = |clinc: &str| -> &[&str] {
        match clinc {
            "balance" => &["balance"],
            "rewards_balance" => &["balance", "earn"],
            "expiration_date" => &["expiry"],
            "transfer" => &["transfer"],
            _ => &["about", "earn", "balance"],
        }
    };
    let mut off = Vec::new();
    for (text, clinc) in clinc_pairs()
        .into_iter()
        .filter(|(_, intent)| NEAR_CREDIT.contains(&intent.as_str()))
    {
        let got = faq.label(&faq.classify(&text)).to_owned();
        if got != "none" && !allowed(&clinc).contains(&got.as_str()) {
            off.push(format!("{clinc} → {got}: {text}"));
        }
    }
    assert!(
        off.len() <= 5,
        "{} near-credit CLINC rows got an unrelated intent:\n{}",
        off.len(),
        off.join("\n")
    );
}

const NEAR_CREDIT: [&str; 5] = [
    "balance",
    "rewards_balance",
    "expiration_date",
    "transfer",
    "redeem_rewards",
];

/// (text, CLINC intent) of the validation split plus its out-of-scope rows.
fn clinc_pairs() -> Vec<(String, String)> {
    let path = manifest_path("../shared/data/clinc150/train_val.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "CLINC150 is required for this test and was not found at {} ({e}); \
             CI checks out shared/ beside the clone",
            path.display()
        )
    });
    let data: serde_json::Value = serde_json::from_str(&text).expect("CLINC150 JSON");
    ["val", "oos_val"]
        .iter()
        .flat_map(|split| data[split].as_array().expect("split").iter())
        .map(|row| {
            (
                row[0].as_str().unwrap().to_owned(),
                row[1].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn clinc_rows(keep: impl Fn(&str) -> bool) -> Vec<eval::Labelled> {
    clinc_pairs()
        .into_iter()
        .filter(|(_, intent)| keep(intent))
        .map(|(question, _)| eval::Labelled {
            intent: "none".into(),
            question,
        })
        .collect()
}

#[test]
fn classify_command_prints_one_line_per_question_in_order() {
    let input = "how much credit do I have\nwhat's my credit score\n\n";
    let mut out = Vec::new();
    creditbot::faq::run_classify(input.as_bytes(), &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(lines[0].starts_with("balance\t"), "{text}");
    assert!(lines[1].starts_with("none\t"), "{text}");
    assert!(lines[2].starts_with("none\t"), "{text}");
    for line in lines {
        let (_, score) = line.split_once('\t').unwrap();
        let score: f32 = score.parse().unwrap();
        assert!((0.0..=1.0).contains(&score), "{line}");
    }
}

#[test]
fn eval_command_prints_the_figures_and_wrong_answers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mini.tsv");
    std::fs::write(
        &path,
        "# comment\n\nbalance\thow much credit do I have\nexpiry\tzzzz\n",
    )
    .unwrap();
    let mut out = Vec::new();
    creditbot::faq::run_eval(&path, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    for key in [
        "accuracy\t0.5000",
        "macro_f1\t",
        "none_answered_rate\t",
        "wrong\texpiry\tnone\t",
    ] {
        assert!(text.contains(key), "missing {key:?} in:\n{text}");
    }
}

#[test]
fn classify_command_answers_every_line_even_one_that_is_not_utf8() {
    let mut input = b"how much credit do I have\n".to_vec();
    input.extend_from_slice(b"do my credits \xff\xfe expire\r\n");
    input.extend_from_slice(b"\xc3\x28\n");
    input.extend_from_slice(b"what's my credit score");
    let mut out = Vec::new();
    creditbot::faq::run_classify(input.as_slice(), &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert!(lines[0].starts_with("balance\t"), "{text}");
    assert!(lines[1].starts_with("expiry\t"), "{text}");
    assert!(lines[2].starts_with("none\t"), "{text}");
    assert!(lines[3].starts_with("none\t"), "{text}");
}

#[test]
fn a_huge_question_is_classified_quickly_by_its_start() {
    let faq = Faq::builtin().unwrap();
    let start = std::time::Instant::now();
    // One 100,000-character "word" and a long sentence of distinct made-up words: the
    // worst cases for the typo step.
    let word = "x".repeat(100_000);
    let words: String = (0..20_000).map(|n| format!("qz{n} ")).collect();
    for question in [&word, &words] {
        faq.classify(question);
    }
    let elapsed = start.elapsed();
    assert!(elapsed.as_secs() < 5, "took {elapsed:?}");
    // Only the first 1,000 characters count: what follows them changes nothing.
    let question = format!("do my credits expire {}", "z".repeat(2_000));
    let padded = format!("{question} how much credit do I have");
    assert_eq!(faq.classify(&question), faq.classify(&padded));
    assert_eq!(faq.label(&faq.classify(&padded)), "expiry");
}

#[test]
fn the_refund_answer_states_the_configured_policy_for_expired_credits() {
    use creditbot::faq::{Asker, Place, Policies};
    let refund = |policies: &Policies| {
        let faq = Faq::builtin_with(policies).unwrap();
        let index = faq.catalog().position("refund").unwrap();
        faq.render(index, &Asker::Unlinked, Place::Public)
    };
    assert!(
        refund(&Policies::default()).contains("a new refund credit that expires 30 days later")
    );
    assert!(
        refund(&Policies {
            reissue_days: Some(10)
        })
        .contains("a new refund credit that expires 10 days later")
    );
    let expire = refund(&Policies { reissue_days: None });
    assert!(expire.contains("they stay expired"), "{expire}");
    assert!(!expire.contains("new refund credit"), "{expire}");
    assert!(!expire.contains('{'), "{expire}");
}
