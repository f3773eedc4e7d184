//! From a question's text to the sparse features the intent model reads.
//!
//! Owns the vocabulary learnt from the training texts (stems, the catalog's synonyms and
//! phrases, one-edit typo correction) and the feature keys; no I/O, no clock; must not
//! import the ledger, the database or anything that talks to a network.
//!
//! A question becomes, in order:
//! - **words**: `normalize::fold_into` (NFKC, case, Discord markup, apostrophes), split on
//!   anything that is not a letter or digit; every run of digits is one word (`0`): order
//!   numbers and amounts carry no topic, `entities` reads them separately.
//! - **terms**: a word the training texts used, else its Snowball stem, else the word it
//!   is one edit away from (4+ letters only; `chek` → check, `credt` → credit), else it
//!   stays unknown. Candidates come from a delete-one index (SymSpell style) and are
//!   confirmed with `strsim::osa_distance`, so a correction costs a few hash lookups.
//! - **synonyms**: a catalog synonym adds its canonical term ("creds" also counts as
//!   credit), and a two-word variant replaces the pair ("credit card" → card, "gift card"
//!   → giftcard), so a model never has to learn that a credit card is not credit.
//! - **features**, each group scaled to unit length so no group drowns the others:
//!   term unigrams, term bigrams (with a start marker, so "how much" opening a question
//!   differs from one in the middle), and character 3–5-grams of each word padded with
//!   `^`/`$` (slang, truncations and typos beyond one edit still share most of them).
//!
//! Which of these steps earn their place is measured, not assumed: `FeatureOptions` turns
//! each off, and `benches/faq.rs` reports accuracy with and without it.
use super::catalog::Catalog;
use super::normalize::{NUMBER_WORD, canonical_number, fold_into, words};
use rust_stemmers::{Algorithm, Stemmer};
use std::collections::HashMap;

/// A vocabulary id: a stem, or a canonical synonym.
pub type TermId = u32;

/// Words shorter than this are neither corrected nor used as corrections: at 3 letters
/// one edit reaches too many other words ("the" → "then", "tea", …).
const MIN_TYPO_CHARS: usize = 4;

/// How much of a question is read, in characters: a question is a sentence or two, and
/// a pasted document must not stall the bot.
pub const MAX_QUESTION_CHARS: usize = 1_000;

/// Which steps of the pipeline run; all on by default. For measuring what each earns.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FeatureOptions {
    pub typo_correction: bool,
    pub synonyms: bool,
    pub bigrams: bool,
    pub char_grams: bool,
    /// Weight of each group (unigrams are 1.0).
    pub bigram_weight: f32,
    pub char_weight: f32,
}

impl Default for FeatureOptions {
    fn default() -> Self {
        FeatureOptions {
            typo_correction: true,
            synonyms: true,
            bigrams: true,
            char_grams: true,
            bigram_weight: 0.7,
            char_weight: 0.8,
        }
    }
}

/// A catalog word that typos may be corrected to.
struct TypoTarget {
    word: Box<str>,
    term: TermId,
    /// How often the training texts use it: breaks ties between equally close candidates.
    uses: u32,
}

/// The vocabulary: built once from the catalog (synonyms) and the training texts.
pub struct Vocabulary {
    stemmer: Stemmer,
    options: FeatureOptions,
    /// Folded training word → its term, so known words skip stemming.
    by_word: HashMap<Box<str>, TermId>,
    by_stem: HashMap<Box<str>, TermId>,
    typo_targets: Vec<TypoTarget>,
    typo_by_word: HashMap<Box<str>, u32>,
    /// Every target with one character deleted → the targets it came from.
    typo_deletes: HashMap<Box<str>, Vec<u32>>,
    /// Two consecutive terms replaced by one ("credit card" → card).
    phrases: HashMap<(TermId, TermId), TermId>,
    /// term → the canonical synonym it also counts as.
    synonym_of: Vec<Option<TermId>>,
}

/// Per-call buffers, reused so a query allocates little.
#[derive(Default)]
pub struct Scratch {
    folded: String,
    word: String,
    slots: Vec<Option<TermId>>,
    keys: Vec<(u64, f32)>,
}

/// Feature key groups, in the key's top bits so groups never collide.
const UNIGRAM: u64 = 1 << 60;
const BIGRAM: u64 = 2 << 60;
const CHARS: u64 = 3 << 60;
const KEY_MASK: u64 = (1 << 60) - 1;
/// Stands before the first term of a question in bigrams.
const START: TermId = TermId::MAX;

impl Vocabulary {
    /// Learns the synonyms of `catalog` and every word of `texts`.
    pub fn new<'a>(
        catalog: &Catalog,
        texts: impl IntoIterator<Item = &'a str>,
        options: FeatureOptions,
    ) -> Vocabulary {
        let mut vocabulary = Vocabulary {
            stemmer: Stemmer::create(Algorithm::English),
            options,
            by_word: HashMap::new(),
            by_stem: HashMap::new(),
            typo_targets: Vec::new(),
            typo_by_word: HashMap::new(),
            typo_deletes: HashMap::new(),
            phrases: HashMap::new(),
            synonym_of: Vec::new(),
        };
        if options.synonyms {
            vocabulary.add_synonyms(catalog);
        }
        for text in texts {
            vocabulary.learn_text(text);
        }
        vocabulary
    }

    /// Number of distinct terms.
    pub fn len(&self) -> usize {
        self.synonym_of.len()
    }

    pub fn is_empty(&self) -> bool {
        self.synonym_of.is_empty()
    }

    /// The feature keys of `text` with their values, written into `scratch.keys`
    /// (unsorted, possibly repeated keys: the model sums them).
    pub fn features<'s>(&self, text: &str, scratch: &'s mut Scratch) -> &'s [(u64, f32)] {
        let text = match text.char_indices().nth(MAX_QUESTION_CHARS) {
            Some((end, _)) => &text[..end],
            None => text,
        };
        let Scratch {
            folded,
            word,
            slots,
            keys,
        } = scratch;
        fold_into(text, folded);
        slots.clear();
        keys.clear();
        let mut char_keys = 0usize;
        for w in words(folded) {
            let w = canonical_number(w);
            slots.push(self.resolve(w, word));
            if self.options.char_grams && w != NUMBER_WORD {
                let before = keys.len();
                push_grams(w, keys);
                char_keys += keys.len() - before;
            }
        }
        if char_keys > 0 {
            let value = self.options.char_weight / (char_keys as f32).sqrt();
            keys.iter_mut().for_each(|(_, v)| *v = value);
        }
        // Terms after phrases; each one's synonym added as a unigram too.
        let start = keys.len();
        let mut previous = START;
        let mut unigrams = 0usize;
        let mut i = 0;
        let mut bigram_keys: Vec<u64> = Vec::new();
        while i < slots.len() {
            let Some(term) = slots[i] else {
                previous = START;
                i += 1;
                continue;
            };
            let (term, step) = match slots.get(i + 1) {
                Some(Some(next)) if self.phrases.contains_key(&(term, *next)) => {
                    (self.phrases[&(term, *next)], 2)
                }
                _ => (term, 1),
            };
            keys.push((UNIGRAM | u64::from(term), 1.0));
            unigrams += 1;
            if let Some(synonym) = self.synonym_of[term as usize] {
                keys.push((UNIGRAM | u64::from(synonym), 1.0));
                unigrams += 1;
            }
            if self.options.bigrams {
                bigram_keys.push(BIGRAM | (pair_hash(previous, term) & KEY_MASK));
            }
            previous = term;
            i += step;
        }
        if unigrams > 0 {
            let value = 1.0 / (unigrams as f32).sqrt();
            keys[start..].iter_mut().for_each(|(_, v)| *v = value);
        }
        if !bigram_keys.is_empty() {
            let value = self.options.bigram_weight / (bigram_keys.len() as f32).sqrt();
            keys.extend(bigram_keys.into_iter().map(|key| (key, value)));
        }
        keys
    }

    /// The term of one folded word: known word, known stem, or a one-edit typo of a
    /// known word; `None` when nothing like it was ever seen.
    fn resolve(&self, word: &str, buffer: &mut String) -> Option<TermId> {
        if let Some(&term) = self.by_word.get(word) {
            return Some(term);
        }
        let stem = self.stemmer.stem(word);
        if let Some(&term) = self.by_stem.get(stem.as_ref()) {
            return Some(term);
        }
        if self.options.typo_correction {
            self.correct_typo(word, buffer)
        } else {
            None
        }
    }

    /// The closest typo target within one edit, preferring the most used word, then the
    /// earliest learnt (deterministic).
    fn correct_typo(&self, word: &str, buffer: &mut String) -> Option<TermId> {
        if word.chars().count() < MIN_TYPO_CHARS {
            return None;
        }
        let mut best: Option<&TypoTarget> = None;
        let mut consider = |target: u32| {
            let candidate = &self.typo_targets[target as usize];
            if strsim::osa_distance(word, &candidate.word) <= 1
                && best.is_none_or(|b| candidate.uses > b.uses)
            {
                best = Some(candidate);
            }
        };
        // The word is a target with one letter missing.
        for &target in self.typo_deletes.get(word).into_iter().flatten() {
            consider(target);
        }
        for (start, c) in word.char_indices() {
            buffer.clear();
            buffer.push_str(&word[..start]);
            buffer.push_str(&word[start + c.len_utf8()..]);
            // The word has one letter too many …
            if let Some(&target) = self.typo_by_word.get(buffer.as_str()) {
                consider(target);
            }
            // … or one letter substituted or two letters swapped.
            for &target in self.typo_deletes.get(buffer.as_str()).into_iter().flatten() {
                consider(target);
            }
        }
        best.map(|target| target.term)
    }

    fn intern_stem(&mut self, stem: &str) -> TermId {
        let next = self.synonym_of.len() as TermId;
        let term = *self.by_stem.entry(stem.into()).or_insert(next);
        if term == next {
            self.synonym_of.push(None);
        }
        term
    }

    /// The term of a training word, recording the word for lookups and typo correction.
    fn learn_word(&mut self, word: &str) -> TermId {
        let word = canonical_number(word);
        let term = match self.by_word.get(word) {
            Some(&term) => term,
            None => {
                let stem = self.stemmer.stem(word).into_owned();
                let term = self.intern_stem(&stem);
                self.by_word.insert(word.into(), term);
                term
            }
        };
        if word.chars().count() >= MIN_TYPO_CHARS && !word.bytes().all(|b| b.is_ascii_digit()) {
            let next = self.typo_targets.len() as u32;
            let index = *self.typo_by_word.entry(word.into()).or_insert(next);
            if index == next {
                self.typo_targets.push(TypoTarget {
                    word: word.into(),
                    term,
                    uses: 0,
                });
                for (start, c) in word.char_indices() {
                    let deleted = format!("{}{}", &word[..start], &word[start + c.len_utf8()..]);
                    let targets = self.typo_deletes.entry(deleted.into()).or_default();
                    if !targets.contains(&index) {
                        targets.push(index);
                    }
                }
            }
            self.typo_targets[index as usize].uses += 1;
        }
        term
    }

    fn add_synonyms(&mut self, catalog: &Catalog) {
        for (canonical, variants) in &catalog.synonyms {
            let canonical = self.learn_text(canonical);
            let Some(&canonical) = canonical.first() else {
                continue;
            };
            for variant in variants {
                match self.learn_text(variant)[..] {
                    [one] if one != canonical => self.synonym_of[one as usize] = Some(canonical),
                    [first, second] => {
                        self.phrases.insert((first, second), canonical);
                    }
                    _ => {}
                }
            }
        }
    }

    fn learn_text(&mut self, text: &str) -> Vec<TermId> {
        let mut folded = String::new();
        fold_into(text, &mut folded);
        words(&folded).map(|w| self.learn_word(w)).collect()
    }

    /// Approximate heap bytes held (for the benchmark).
    pub fn approximate_bytes(&self) -> usize {
        use std::mem::size_of;
        let entry = |key: usize, value: usize| key + value + size_of::<Box<str>>() + 8;
        let words: usize = self.by_word.keys().map(|k| entry(k.len(), 4)).sum();
        let stems: usize = self.by_stem.keys().map(|k| entry(k.len(), 4)).sum();
        let targets: usize = self
            .typo_targets
            .iter()
            .map(|t| t.word.len() + size_of::<TypoTarget>() + entry(t.word.len(), 4))
            .sum();
        let deletes: usize = self
            .typo_deletes
            .iter()
            .map(|(k, v)| entry(k.len(), size_of::<Vec<u32>>() + v.len() * 4))
            .sum();
        words + stems + targets + deletes + self.phrases.len() * 16 + self.synonym_of.len() * 8
    }
}

/// A bigram's key: both terms mixed (FNV-1a over their bytes).
fn pair_hash(a: TermId, b: TermId) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in a.to_le_bytes().into_iter().chain(b.to_le_bytes()) {
        hash = (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// Character n-grams (3 to 5 characters) of one word padded with `^` and `$`, as FNV-1a
/// hashes in the `CHARS` group: "cred" and "credit" share ^cr, cre, red, ^cre, cred, …
fn push_grams(word: &str, out: &mut Vec<(u64, f32)>) {
    const MIN: usize = 3;
    const MAX: usize = 5;
    let mut chars = [0u32; 34];
    let mut len = 0;
    chars[len] = '^' as u32;
    len += 1;
    for c in word.chars().take(chars.len() - 2) {
        chars[len] = c as u32;
        len += 1;
    }
    chars[len] = '$' as u32;
    len += 1;
    for start in 0..len {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for (offset, &c) in chars[start..len].iter().take(MAX).enumerate() {
            hash = (hash ^ u64::from(c)).wrapping_mul(0x0000_0100_0000_01b3);
            if offset + 1 >= MIN {
                out.push((CHARS | (hash & KEY_MASK), 0.0));
            }
        }
    }
}
