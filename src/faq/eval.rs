//! Evaluating the matcher against a labelled TSV (`intent<TAB>question`): accuracy,
//! macro-F1, how often off-topic questions get an intent, and each wrong answer.
//!
//! Used by `creditbot faq eval` and tests/faq.rs. Reads only the file it is given; must
//! not import the ledger, the database or anything that talks to a network.
use super::Faq;
use super::catalog::NONE_ID;
use std::collections::BTreeMap;
use std::fmt;

/// One labelled question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Labelled {
    pub intent: String,
    pub question: String,
}

/// A line that is neither a comment, blank, nor `intent<TAB>question`.
#[derive(Debug, thiserror::Error)]
#[error("line {line}: expected `intent<TAB>question`")]
pub struct TsvError {
    pub line: usize,
}

/// Parses the TSV; lines starting with `#` and blank lines are skipped.
pub fn parse_tsv(text: &str) -> Result<Vec<Labelled>, TsvError> {
    let mut rows = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let (intent, question) = line.split_once('\t').ok_or(TsvError { line: i + 1 })?;
        rows.push(Labelled {
            intent: intent.trim().to_owned(),
            question: question.to_owned(),
        });
    }
    Ok(rows)
}

/// A question the matcher got wrong.
#[derive(Debug, Clone, PartialEq)]
pub struct WrongAnswer {
    pub expected: String,
    pub got: String,
    pub score: f32,
    pub question: String,
}

/// The figures of one evaluation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    pub total: usize,
    pub correct: usize,
    pub macro_f1: f64,
    /// Questions labelled `none`, and how many of them got an intent.
    pub none_total: usize,
    pub none_answered: usize,
    /// Questions answered with "did you mean?" (counted as their first choice).
    pub did_you_mean: usize,
    pub wrong: Vec<WrongAnswer>,
    /// (expected, got) → how many questions; every label seen, in catalog order.
    pub confusion: BTreeMap<(String, String), usize>,
    pub labels: Vec<String>,
}

impl Report {
    pub fn accuracy(&self) -> f64 {
        ratio(self.correct, self.total)
    }

    pub fn none_answered_rate(&self) -> f64 {
        ratio(self.none_answered, self.none_total)
    }
}

fn ratio(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// Classifies every question; a did-you-mean counts as its first choice, the way the
/// `faq classify` command prints it.
pub fn evaluate(faq: &Faq, rows: &[Labelled]) -> Report {
    let mut report = Report::default();
    // label → (true positives, predicted, expected)
    let mut counts: BTreeMap<&str, (usize, usize, usize)> = BTreeMap::new();
    for row in rows {
        let found = faq.classify(&row.question);
        let got = faq.label(&found);
        report.total += 1;
        report.did_you_mean +=
            usize::from(matches!(found.decision, super::Decision::DidYouMean(..)));
        counts.entry(got).or_default().1 += 1;
        counts.entry(row.intent.as_str()).or_default().2 += 1;
        *report
            .confusion
            .entry((row.intent.clone(), got.to_owned()))
            .or_default() += 1;
        if row.intent == NONE_ID {
            report.none_total += 1;
            report.none_answered += usize::from(got != NONE_ID);
        }
        if got == row.intent {
            report.correct += 1;
            counts.entry(got).or_default().0 += 1;
        } else {
            report.wrong.push(WrongAnswer {
                expected: row.intent.clone(),
                got: got.to_owned(),
                score: found.score(),
                question: row.question.clone(),
            });
        }
    }
    let f1s: Vec<f64> = counts
        .values()
        .map(|&(hits, predicted, expected)| {
            let precision = ratio(hits, predicted);
            let recall = ratio(hits, expected);
            if precision + recall == 0.0 {
                0.0
            } else {
                2.0 * precision * recall / (precision + recall)
            }
        })
        .collect();
    report.macro_f1 = f1s.iter().sum::<f64>() / f1s.len().max(1) as f64;
    // Catalog order, then any label the catalog doesn't know (a typo in the TSV shows).
    let catalog_ids = faq.catalog().intents.iter().map(|i| i.id.as_str());
    for label in catalog_ids.chain(counts.keys().copied()) {
        if counts.contains_key(label) && !report.labels.iter().any(|l| l == label) {
            report.labels.push(label.to_owned());
        }
    }
    report
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "questions\t{}", self.total)?;
        writeln!(
            f,
            "accuracy\t{:.4}\t({}/{})",
            self.accuracy(),
            self.correct,
            self.total
        )?;
        writeln!(f, "macro_f1\t{:.4}", self.macro_f1)?;
        writeln!(
            f,
            "none_answered_rate\t{:.4}\t({}/{})",
            self.none_answered_rate(),
            self.none_answered,
            self.none_total
        )?;
        writeln!(f, "did_you_mean\t{}", self.did_you_mean)?;
        writeln!(
            f,
            "wrong\t{}\t(expected\tgot\tscore\tquestion)",
            self.wrong.len()
        )?;
        for wrong in &self.wrong {
            writeln!(
                f,
                "wrong\t{}\t{}\t{:.3}\t{}",
                wrong.expected, wrong.got, wrong.score, wrong.question
            )?;
        }
        // Rows: the expected intent; columns: what the matcher said.
        writeln!(f, "confusion\texpected\\got\t{}", self.labels.join("\t"))?;
        for expected in &self.labels {
            let cells: Vec<String> = self
                .labels
                .iter()
                .map(|got| {
                    let key = (expected.clone(), got.clone());
                    self.confusion.get(&key).copied().unwrap_or(0).to_string()
                })
                .collect();
            writeln!(f, "confusion\t{expected}\t{}", cells.join("\t"))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tsv_skips_comments_and_blank_lines_and_rejects_bad_lines() {
        let rows = parse_tsv("# c\n\nbalance\thow much?\nnone\tweather\n").unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(
            rows[0],
            Labelled {
                intent: "balance".into(),
                question: "how much?".into()
            }
        );
        assert_eq!(parse_tsv("ok\tfine\nno tab here\n").unwrap_err().line, 2);
    }

    #[test]
    fn figures_are_computed_per_label() {
        let faq = Faq::builtin().unwrap();
        let rows = parse_tsv("balance\thow much credit do I have\nnone\twhat is my credit score\nexpiry\tzzzz qqqq\n").unwrap();
        let report = evaluate(&faq, &rows);
        assert_eq!(
            (
                report.total,
                report.correct,
                report.none_total,
                report.none_answered
            ),
            (3, 2, 1, 0)
        );
        assert_eq!(report.wrong.len(), 1);
        assert_eq!(report.wrong[0].got, "none");
        // The confusion table: rows expected, columns got, catalog order.
        assert_eq!(report.labels, ["balance", "expiry", "none"]);
        let text = report.to_string();
        assert!(
            text.contains("confusion\texpected\\got\tbalance\texpiry\tnone\n"),
            "{text}"
        );
        assert!(text.contains("confusion\texpiry\t0\t0\t1\n"), "{text}");
        assert!(text.contains("confusion\tbalance\t1\t0\t0\n"), "{text}");
        // balance F1 1, none F1 2/3 (precision 1/2), expiry F1 0.
        assert!(
            (report.macro_f1 - (1.0 + 2.0 / 3.0) / 3.0).abs() < 1e-9,
            "{}",
            report.macro_f1
        );
    }
}
