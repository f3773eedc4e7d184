//! Question understanding: the FAQ catalog, text normalisation, the matcher that maps a
//! member's plain-word question to one intent (or `none`), and the rendering of answers.
//!
//! Owns nothing but text: it must not import the ledger, the database or anything that
//! talks to a network. Personal figures come in as plain strings (`PersonalFigures`),
//! filled by the assistant; time comes in as a parameter, the clock is never read here.
//!
//! - `catalog`: the TOML catalog (embedded default, replaceable by a path)
//! - `normalize`: NFKC, case folding, Discord markup, words
//! - `features`: words → terms (stems, synonyms, typo correction) → sparse features
//! - `model`: the linear intent model and its trainers
//! - `matcher`: trains the model on the catalog; the answer / did-you-mean / none decision
//! - `parts`: where a message holding several questions may be cut
//! - `entities`: order ids, amounts, dates and mentions a question carries
//! - `render`: answers per asker and place, always within one Discord message
//! - `eval`: accuracy and friends over a labelled TSV (`creditbot faq eval`)
pub mod catalog;
pub mod entities;
pub mod eval;
pub mod features;
pub mod matcher;
pub mod model;
pub mod normalize;
pub mod parts;
pub mod render;

pub use catalog::{Catalog, CatalogError, Intent, NONE_ID};
pub use entities::{DateMention, DateRelation, Entities, Mention};
pub use matcher::{Decision, IntentIndex, Match, Matcher, Thresholds};
pub use render::{Asker, LotLine, NextExpiry, OrderFigures, PersonalFigures, Place};

use chrono::{DateTime, Utc};
use std::io::{BufRead, Write};
use std::path::Path;
use std::sync::{Arc, OnceLock};

/// What the bot says to a question, ready for a transport to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaqReply {
    /// The answer of one intent, rendered for the asker and place.
    Answer { intent: String, text: String },
    /// "I'm not sure which you mean:" with two choices (intent id, title), best first.
    Choose {
        prompt: String,
        choices: [(String, String); 2],
    },
    /// Not about credits (or not understood): what the bot can help with.
    NotUnderstood { text: String },
}

/// One question of a message and what the matcher made of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Part {
    pub text: String,
    pub found: Match,
}

/// What a member's message asks: one part, or up to `parts::MAX_PARTS` questions in the
/// order asked, and the details the message carries.
#[derive(Debug, Clone, PartialEq)]
pub struct Understanding {
    pub parts: Vec<Part>,
    pub entities: Entities,
}

impl Understanding {
    /// True when no part could be answered (logged for admins).
    pub fn is_unanswered(&self) -> bool {
        self.parts.iter().all(|part| part.found.is_unanswered())
    }
}

/// Shown above the two did-you-mean choices.
pub const CHOOSE_PROMPT: &str = "I'm not sure which you mean:";

/// The shop's policies that answers state, filled into their policy placeholders once, when
/// the FAQ is built, so an answer never contradicts the bot's own configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policies {
    /// Days a new refund credit lasts when a return brings back credits that expired
    /// meanwhile; `None` when such credits stay expired (the `expire` policy).
    pub reissue_days: Option<u32>,
}

impl Default for Policies {
    fn default() -> Self {
        Policies {
            reissue_days: Some(30),
        }
    }
}

impl Policies {
    /// What `{expired_credits}` says: what a return does with credits that expired meanwhile.
    fn expired_credits(&self) -> String {
        match self.reissue_days {
            Some(days) => format!(
                "If the original credits have expired meanwhile, you get them back as a new refund credit that expires {} later, so you still have time to use it.",
                crate::words::count(days, "day")
            ),
            None => "If the original credits have expired meanwhile, they stay expired: a return can't bring back credits whose date has passed.".to_owned(),
        }
    }

    /// `template` with every policy placeholder (`catalog::POLICY_PLACEHOLDERS`) filled;
    /// other placeholders stay as they are.
    fn fill(&self, template: &str) -> String {
        template.replace("{expired_credits}", &self.expired_credits())
    }
}

/// A loaded catalog with its matcher: build once, share by reference.
pub struct Faq {
    catalog: Catalog,
    matcher: Arc<Matcher>,
    none_intent: IntentIndex,
}

/// The builtin catalog's matcher, trained once per process: training takes a fraction of
/// a second, but tests and benchmarks build many `Faq`s, and the model depends only on
/// the catalog's examples (policies change answers, not understanding).
fn builtin_matcher(catalog: &Catalog) -> Arc<Matcher> {
    static BUILTIN: OnceLock<Arc<Matcher>> = OnceLock::new();
    BUILTIN
        .get_or_init(|| Arc::new(Matcher::new(catalog, Thresholds::default())))
        .clone()
}

impl Faq {
    /// The embedded catalog with the default thresholds and policies.
    pub fn builtin() -> Result<Faq, CatalogError> {
        Faq::builtin_with(&Policies::default())
    }

    /// The embedded catalog with the default thresholds, stating these policies.
    pub fn builtin_with(policies: &Policies) -> Result<Faq, CatalogError> {
        let catalog = Catalog::builtin()?;
        let matcher = builtin_matcher(&catalog);
        Ok(Faq::with_matcher(catalog, matcher, policies))
    }

    /// A replacement catalog (bot.toml's catalog path) with the default thresholds.
    pub fn load_from_path(path: &Path, policies: &Policies) -> Result<Faq, CatalogError> {
        Ok(Faq::new(
            Catalog::load_from_path(path)?,
            Thresholds::default(),
            policies,
        ))
    }

    /// Trains a matcher on `catalog`, which must be validated (as `Catalog`'s public
    /// constructors do).
    pub fn new(catalog: Catalog, thresholds: Thresholds, policies: &Policies) -> Faq {
        let matcher = Arc::new(Matcher::new(&catalog, thresholds));
        Faq::with_matcher(catalog, matcher, policies)
    }

    /// `matcher` must have been trained on `catalog`.
    pub fn with_matcher(mut catalog: Catalog, matcher: Arc<Matcher>, policies: &Policies) -> Faq {
        for intent in &mut catalog.intents {
            intent.answer = policies.fill(&intent.answer);
            intent.brief = intent.brief.as_deref().map(|text| policies.fill(text));
            intent.personal = intent.personal.as_deref().map(|text| policies.fill(text));
        }
        let none_intent = catalog
            .position(NONE_ID)
            .expect("a validated catalog has `none`");
        Faq {
            catalog,
            matcher,
            none_intent,
        }
    }

    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    pub fn matcher(&self) -> &Matcher {
        &self.matcher
    }

    /// Classifies without side effects (the command line, evaluation, benchmarks).
    pub fn classify(&self, question: &str) -> Match {
        self.matcher.classify(question)
    }

    /// Understands a member's message: its questions (several when it chains questions
    /// about different things, each confidently understood), and the order ids, amounts,
    /// dates and mentions it carries (dates resolved against `now`). When nothing is
    /// understood it is recorded as a `tracing` event (target
    /// `creditbot::faq::unanswered`) so admins can see what the catalog lacks; the
    /// assistant also stores it. `now` is passed in, never read here.
    pub fn understand(&self, question: &str, member: &str, now: DateTime<Utc>) -> Understanding {
        let found = self.classify(question);
        let understanding = Understanding {
            parts: self.split(question, found),
            entities: entities::extract(question, now),
        };
        if found.is_unanswered() && understanding.is_unanswered() {
            let nearest = found
                .best
                .map_or("", |(i, _)| self.catalog.intents[i].id.as_str());
            tracing::info!(
                target: "creditbot::faq::unanswered",
                member,
                at = %now.to_rfc3339(),
                text = question,
                nearest,
                score = found.score(),
                "unanswered question"
            );
        }
        understanding
    }

    /// The questions of a message: its parts when at least two are each answered with a
    /// different intent (small talk and greetings around them are dropped: "hi! how much
    /// do I have and when does it expire"), else the whole message as one.
    fn split(&self, message: &str, whole: Match) -> Vec<Part> {
        let one = || {
            vec![Part {
                text: message.trim().to_owned(),
                found: whole,
            }]
        };
        let candidates = parts::candidate_parts(message);
        if candidates.len() < 2 {
            return one();
        }
        let mut kept: Vec<Part> = Vec::new();
        for text in candidates {
            let found = self.classify(&text);
            let Decision::Answer(intent) = found.decision else {
                continue;
            };
            let id = self.catalog.intents[intent].id.as_str();
            let repeated = kept
                .iter()
                .any(|part| part.found.decision == found.decision);
            if id != "help" && id != catalog::SMALL_TALK_ID && !repeated {
                kept.push(Part { text, found });
            }
        }
        if kept.len() < 2 {
            return one();
        }
        kept.truncate(parts::MAX_PARTS);
        kept
    }

    /// The catalog id a match is labelled with: the (first) intent, or `none`.
    pub fn label(&self, found: &Match) -> &str {
        found
            .top_intent()
            .map_or(NONE_ID, |i| self.catalog.intents[i].id.as_str())
    }

    pub fn intent(&self, index: IntentIndex) -> &Intent {
        &self.catalog.intents[index]
    }

    /// The answer of one intent for this asker and place (≤ 2,000 characters).
    pub fn render(&self, index: IntentIndex, asker: &Asker, place: Place) -> String {
        render::render(self.intent(index), asker, place)
    }

    /// The reply to a classified question.
    pub fn reply(&self, found: &Match, asker: &Asker, place: Place) -> FaqReply {
        let choice = |i: IntentIndex| (self.intent(i).id.clone(), self.intent(i).title.clone());
        match found.decision {
            Decision::Answer(i) => FaqReply::Answer {
                intent: self.intent(i).id.clone(),
                text: self.render(i, asker, place),
            },
            Decision::DidYouMean(first, second) => FaqReply::Choose {
                prompt: CHOOSE_PROMPT.to_owned(),
                choices: [choice(first), choice(second)],
            },
            // The none answer is general; no link hint or pointer needed.
            Decision::None => FaqReply::NotUnderstood {
                text: self.intent(self.none_intent).answer.clone(),
            },
        }
    }
}

fn builtin_or_io_error() -> std::io::Result<Faq> {
    Faq::builtin().map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}

/// `creditbot faq classify`: one `<intent>\t<score>` line per input line, in order.
/// A did-you-mean prints its first choice; `none` prints the score that decided it.
/// Lines are read as bytes: one that isn't UTF-8 is classified with its bad bytes replaced
/// (U+FFFD), so every input line still gets its output line.
pub fn run_classify(mut input: impl BufRead, mut out: impl Write) -> std::io::Result<()> {
    let faq = builtin_or_io_error()?;
    let mut line = Vec::new();
    loop {
        line.clear();
        if input.read_until(b'\n', &mut line)? == 0 {
            break;
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.strip_suffix('\n').unwrap_or(&text);
        let text = text.strip_suffix('\r').unwrap_or(text);
        let found = faq.classify(text);
        writeln!(out, "{}\t{:.3}", faq.label(&found), found.score())?;
    }
    out.flush()
}

/// `creditbot faq eval FILE`: accuracy, macro-F1, none-answered rate, wrong answers.
pub fn run_eval(path: &Path, mut out: impl Write) -> std::io::Result<()> {
    let faq = builtin_or_io_error()?;
    let text = std::fs::read_to_string(path)?;
    let rows = eval::parse_tsv(&text)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
    write!(out, "{}", eval::evaluate(&faq, &rows))?;
    out.flush()
}
