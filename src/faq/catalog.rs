//! The FAQ catalog: intents (id, title, examples, answers) and synonyms, read from TOML.
//!
//! Owns parsing and validating the catalog only; it must not import the ledger, the
//! database or anything that talks to a network. The default catalog is embedded in the
//! binary; `Catalog::load_from_path` reads a replacement (a path from bot.toml).
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

/// The catalog shipped in the binary.
pub const BUILTIN_CATALOG: &str = include_str!("catalog.toml");

/// Ids every catalog must define, with the meaning given in docs/product.md.
pub const REQUIRED_IDS: [&str; 12] = [
    "about", "balance", "earn", "expiry", "transfer", "refund", "physical", "combine", "order",
    "link", "help", NONE_ID,
];

/// The intent for everything that is not about credits.
pub const NONE_ID: &str = "none";

/// Thanks, goodbyes and small talk: a short friendly reply, never logged as unanswered,
/// with no pointer to figures or linking.
pub const SMALL_TALK_ID: &str = "thanks";

/// A Discord message holds at most this many characters.
pub const MAX_MESSAGE_CHARS: usize = 2000;

/// Placeholders an answer's `personal` text may use (see `render`).
pub const PLACEHOLDERS: [&str; 11] = [
    "answer",
    "brief",
    "soonest",
    "account",
    "balance",
    "lots",
    "next_expiry",
    "expiring_30",
    "never_expiring",
    "orders_applied",
    "orders_refund",
];

/// Placeholders any answer may use, filled once from the shop's policies when the FAQ is
/// built (see `Policies`).
pub const POLICY_PLACEHOLDERS: [&str; 1] = ["expired_credits"];

/// A replacement catalog may be small; the model needs a handful of examples per intent
/// to learn anything, and the builtin one has over a hundred each (tests/faq.rs).
const MIN_EXAMPLES: usize = 10;
const MAX_EXAMPLES: usize = 1_000;

/// Why a catalog could not be used.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("cannot read the FAQ catalog {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("the FAQ catalog is not valid TOML: {0}")]
    Toml(#[from] toml::de::Error),
    #[error("the FAQ catalog is missing the required intent `{0}`")]
    MissingIntent(&'static str),
    #[error("the FAQ catalog defines intent `{0}` twice")]
    DuplicateIntent(String),
    #[error("intent `{id}` has {count} examples; it needs {MIN_EXAMPLES} to {MAX_EXAMPLES}")]
    ExampleCount { id: String, count: usize },
    #[error("intent `{id}` has an empty title or answer")]
    Empty { id: String },
    #[error(
        "the answer of intent `{id}` has {chars} characters; a message holds {MAX_MESSAGE_CHARS}"
    )]
    AnswerTooLong { id: String, chars: usize },
    #[error("borrowed examples ({data_set}) name the unknown intent `{intent}`")]
    UnknownBorrowedIntent { data_set: String, intent: String },
    #[error("intent `{id}` uses the unknown placeholder {{{name}}}")]
    UnknownPlaceholder { id: String, name: String },
}

/// One FAQ intent as written in the catalog.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Intent {
    pub id: String,
    pub title: String,
    pub examples: Vec<String>,
    /// Extra single words or short phrases that signal this intent; matched like examples.
    #[serde(default)]
    pub keywords: Vec<String>,
    /// The general answer: true in every place, for every asker.
    pub answer: String,
    /// One or two sentences of explanation that follow a member's own figures
    /// (`{brief}`); the general answer stands in when absent.
    #[serde(default)]
    pub brief: Option<String>,
    /// For a linked member in a private place, instead of the general answer: their own
    /// figure or yes/no first, then `{brief}`. Placeholders are filled by `render`.
    #[serde(default)]
    pub personal: Option<String>,
}

/// Training examples borrowed from a public data set (see tools/none_sample.py): mostly
/// off-topic questions for `none`, and small talk for `thanks` and `help`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Borrowed {
    /// The data set, its authors and licence.
    pub source: String,
    /// The catalog intent these examples teach.
    pub intent: String,
    pub examples: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogFile {
    #[serde(default)]
    synonyms: BTreeMap<String, Vec<String>>,
    intent: Vec<Intent>,
    #[serde(default)]
    borrowed: Vec<Borrowed>,
}

/// A validated catalog. Intent order is the file's order; `none` is one of the intents.
#[derive(Debug, Clone)]
pub struct Catalog {
    /// canonical word → variants (one word, or a two-word phrase).
    pub synonyms: BTreeMap<String, Vec<String>>,
    pub intents: Vec<Intent>,
    /// More examples from public data sets (CLINC150, BANKING77), kept apart so they can
    /// be counted and credited.
    pub borrowed: Vec<Borrowed>,
}

impl Catalog {
    /// The catalog embedded in the binary.
    pub fn builtin() -> Result<Catalog, CatalogError> {
        Catalog::from_toml_str(BUILTIN_CATALOG)
    }

    /// A replacement catalog, e.g. the `faq.catalog` path of bot.toml.
    pub fn load_from_path(path: &Path) -> Result<Catalog, CatalogError> {
        let text = std::fs::read_to_string(path).map_err(|source| CatalogError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Catalog::from_toml_str(&text)
    }

    /// Parses and validates: required ids, example counts, answer lengths, placeholders.
    pub fn from_toml_str(text: &str) -> Result<Catalog, CatalogError> {
        let catalog = Catalog::parse_unchecked(text)?;
        catalog.validate()?;
        Ok(catalog)
    }

    /// Parses without the catalog-wide rules, so unit tests can build tiny catalogs.
    pub(crate) fn parse_unchecked(text: &str) -> Result<Catalog, CatalogError> {
        let file: CatalogFile = toml::from_str(text)?;
        Ok(Catalog {
            synonyms: file.synonyms,
            intents: file.intent,
            borrowed: file.borrowed,
        })
    }

    fn validate(&self) -> Result<(), CatalogError> {
        for required in REQUIRED_IDS {
            if self.position(required).is_none() {
                return Err(CatalogError::MissingIntent(required));
            }
        }
        for (i, intent) in self.intents.iter().enumerate() {
            if self.intents[..i].iter().any(|other| other.id == intent.id) {
                return Err(CatalogError::DuplicateIntent(intent.id.clone()));
            }
            // `none` may hold any number of counter-examples; real intents need enough
            // to learn from, and not so many that one drowns the others.
            let count = intent.examples.len();
            if intent.id != NONE_ID && !(MIN_EXAMPLES..=MAX_EXAMPLES).contains(&count) {
                return Err(CatalogError::ExampleCount {
                    id: intent.id.clone(),
                    count,
                });
            }
            if intent.title.trim().is_empty() || intent.answer.trim().is_empty() {
                return Err(CatalogError::Empty {
                    id: intent.id.clone(),
                });
            }
            let chars = intent.answer.chars().count();
            if chars > MAX_MESSAGE_CHARS {
                return Err(CatalogError::AnswerTooLong {
                    id: intent.id.clone(),
                    chars,
                });
            }
            // The general answer may state policies; the personal text may also use figures.
            let in_answer =
                placeholders(&intent.answer).find(|name| !POLICY_PLACEHOLDERS.contains(name));
            let in_brief = placeholders(intent.brief.as_deref().unwrap_or_default())
                .find(|name| !POLICY_PLACEHOLDERS.contains(name));
            let in_personal = placeholders(intent.personal.as_deref().unwrap_or_default())
                .find(|name| !POLICY_PLACEHOLDERS.contains(name) && !PLACEHOLDERS.contains(name));
            if let Some(name) = in_answer.or(in_brief).or(in_personal) {
                return Err(CatalogError::UnknownPlaceholder {
                    id: intent.id.clone(),
                    name: name.to_string(),
                });
            }
        }
        for borrowed in &self.borrowed {
            if self.position(&borrowed.intent).is_none() {
                return Err(CatalogError::UnknownBorrowedIntent {
                    data_set: borrowed.source.clone(),
                    intent: borrowed.intent.clone(),
                });
            }
        }
        Ok(())
    }

    /// Index of the intent with this id.
    pub fn position(&self, id: &str) -> Option<usize> {
        self.intents.iter().position(|intent| intent.id == id)
    }
}

/// The `{name}` placeholders of a template, in order.
pub(crate) fn placeholders(template: &str) -> impl Iterator<Item = &str> {
    template
        .split('{')
        .skip(1)
        .filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_catalog_is_valid() {
        let catalog = Catalog::builtin().expect("builtin catalog");
        for id in REQUIRED_IDS {
            assert!(catalog.position(id).is_some(), "{id}");
        }
        let none: usize = catalog
            .borrowed
            .iter()
            .filter(|b| b.intent == NONE_ID)
            .map(|b| b.examples.len())
            .sum();
        assert!(none > 1_000, "{none} borrowed none examples");
        assert!(
            catalog
                .borrowed
                .iter()
                .any(|b| b.source.contains("BANKING77"))
        );
    }

    #[test]
    fn missing_required_intent_is_rejected() {
        let text = BUILTIN_CATALOG.replace("id = \"refund\"", "id = \"refunds\"");
        assert!(matches!(
            Catalog::from_toml_str(&text),
            Err(CatalogError::MissingIntent("refund"))
        ));
    }

    #[test]
    fn unknown_placeholder_is_rejected() {
        let text = BUILTIN_CATALOG.replace("{expiring_30}", "{expiring_soon}");
        assert!(matches!(
            Catalog::from_toml_str(&text),
            Err(CatalogError::UnknownPlaceholder { .. })
        ));
    }

    #[test]
    fn a_figure_placeholder_in_a_general_answer_is_rejected() {
        // General answers are shown in public too, where no figures may appear.
        let text = BUILTIN_CATALOG.replace("{expired_credits}", "{balance}");
        assert!(matches!(
            Catalog::from_toml_str(&text),
            Err(CatalogError::UnknownPlaceholder { name, .. }) if name == "balance"
        ));
    }

    #[test]
    fn placeholders_are_found_in_order() {
        let found: Vec<_> = placeholders("a {x} b {y}} {z").collect();
        assert_eq!(found, ["x", "y"]);
    }
}
