//! The intent model: a linear classifier over the sparse features of `features`, trained
//! on the catalog's examples when the FAQ is built.
//!
//! Owns the training examples' feature index, the weights, the structures and trainers
//! compared in BENCHMARKS.md (a gate plus an intent model, or one flat model; multinomial
//! logistic regression or one-vs-rest linear SVM) and the class scores of a question. Pure
//! arithmetic: no I/O, no clock, no randomness beyond a fixed-seed shuffle, so the same
//! examples always give the same model. Must not import the ledger, the database or
//! anything that talks to a network.
//!
//! Why these choices:
//! - **Linear over sparse features.** A question has about a hundred active features, so
//!   scoring it is a hundred rows of `classes` weights: a few microseconds. Training is
//!   a dozen passes of SGD over ten thousand examples, under half a second in release.
//! - **AdaGrad** step sizes: rare features (a typo's n-grams, a rare word) get larger
//!   steps than common ones, so they still learn something in few epochs, without a
//!   learning-rate schedule to tune.
//! - **Class weights**: off-topic examples outnumber each real intent twenty to one; each
//!   class's examples are weighted so the classes count about equally, with `none` kept
//!   heavier (`TrainOptions::none_weight`), because answering an off-topic question as if
//!   it were about credits is worse than asking again.
//! - **Softmax probabilities** (logistic regression) give the answer / did-you-mean / none
//!   decision calibrated numbers to cut on; the SVM's margins go through the same softmax
//!   for a like-for-like comparison.
use std::collections::HashMap;

/// Which loss the trainer minimises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trainer {
    /// Multinomial logistic regression (softmax cross-entropy).
    Softmax,
    /// One-vs-rest linear SVM (hinge loss per class).
    Hinge,
}

/// How the classes are modelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Structure {
    /// One model over every class, `none` included.
    Flat,
    /// A gate (about credits, or not) and, apart, a model over the real intents: the
    /// intents are then learnt without thousands of off-topic examples pulling at them,
    /// and the gate learns one thing only. P(intent) = P(about credits) × P(intent | about).
    Gated,
}

/// Training settings; the defaults were chosen on the dev set (BENCHMARKS.md).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrainOptions {
    pub structure: Structure,
    pub trainer: Trainer,
    pub epochs: usize,
    /// AdaGrad's base step.
    pub learning_rate: f32,
    /// L2 penalty applied to the weights an example touches.
    pub l2: f32,
    /// The gate's L2 penalty (`Structure::Gated`): a stronger one keeps a single word
    /// seen mostly off-topic ("purchase", "transfer") from shutting the gate on its own.
    pub gate_l2: f32,
    /// Weight of the `none` class relative to a balanced share.
    pub none_weight: f32,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            structure: Structure::Gated,
            trainer: Trainer::Softmax,
            epochs: 12,
            learning_rate: 0.25,
            l2: 1e-5,
            gate_l2: 3e-3,
            none_weight: 2.5,
        }
    }
}

/// Class gradients smaller than this are not applied (see `LinearModel::train`).
const MIN_GRADIENT: f32 = 1e-3;

/// Training examples, their features stored as rows of one shared index, in one
/// contiguous buffer: thousands of small vectors would stay in the allocator's heap after
/// training (tens of MB of resident memory for nothing), one large buffer goes back.
#[derive(Default)]
pub struct Examples {
    /// Feature key → row. The trained model keeps it to look features up.
    rows: HashMap<u64, u32, KeyHasher>,
    /// Every example's (row, value) pairs, sorted by row, one entry per row.
    entries: Vec<(u32, f32)>,
    /// Example `i` is `entries[ends[i - 1]..ends[i]]` (from 0 for the first).
    ends: Vec<usize>,
    classes: Vec<usize>,
}

impl Examples {
    /// Adds an example; its keys may repeat (their values are summed).
    pub fn push(&mut self, features: &[(u64, f32)], class: usize) {
        let start = self.entries.len();
        for &(key, value) in features {
            let next = self.rows.len() as u32;
            let row = *self.rows.entry(key).or_insert(next);
            self.entries.push((row, value));
        }
        let own = &mut self.entries[start..];
        own.sort_unstable_by_key(|&(row, _)| row);
        let mut kept = start;
        for i in start..self.entries.len() {
            let (row, value) = self.entries[i];
            if kept > start && self.entries[kept - 1].0 == row {
                self.entries[kept - 1].1 += value;
            } else {
                self.entries[kept] = (row, value);
                kept += 1;
            }
        }
        self.entries.truncate(kept);
        self.ends.push(kept);
        self.classes.push(class);
    }

    pub fn len(&self) -> usize {
        self.classes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.classes.is_empty()
    }

    fn features(&self, i: usize) -> &[(u32, f32)] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.entries[start..self.ends[i]]
    }
}

/// The trained classifier: one linear model, or a gate and an intent model, over one
/// feature index.
pub struct IntentModel {
    /// Feature key → row of the weights. Features never seen in training have no row:
    /// their weight would be zero anyway.
    rows: HashMap<u64, u32, KeyHasher>,
    structure: Trained,
}

enum Trained {
    Flat(LinearModel),
    Gated {
        none_class: usize,
        /// Class 0: about credits; class 1: not.
        gate: LinearModel,
        intents: LinearModel,
    },
}

impl IntentModel {
    pub fn train(
        examples: Examples,
        classes: usize,
        none_class: usize,
        options: &TrainOptions,
    ) -> IntentModel {
        let structure = match options.structure {
            Structure::Flat => Trained::Flat(LinearModel::train(
                &examples, classes, none_class, options, Some,
            )),
            Structure::Gated => {
                let gate_options = TrainOptions {
                    l2: options.gate_l2,
                    ..*options
                };
                // The gate learns "about credits or not" from every example; the intent
                // model learns the intents from theirs alone.
                let gate = LinearModel::train(&examples, 2, 1, &gate_options, |class| {
                    Some(usize::from(class == none_class))
                });
                let intents =
                    LinearModel::train(&examples, classes, none_class, options, |class| {
                        (class != none_class).then_some(class)
                    });
                Trained::Gated {
                    none_class,
                    gate,
                    intents,
                }
            }
        };
        IntentModel {
            rows: examples.rows,
            structure,
        }
    }

    /// Class probabilities (every class, `none` included) of a question's features,
    /// written into `out`; `rows` and `gate` are buffers.
    pub fn probabilities(
        &self,
        features: &[(u64, f32)],
        out: &mut Vec<f32>,
        rows: &mut Vec<(u32, f32)>,
        gate: &mut Vec<f32>,
    ) {
        rows.clear();
        rows.extend(
            features
                .iter()
                .filter_map(|(key, value)| Some((*self.rows.get(key)?, *value))),
        );
        match &self.structure {
            Trained::Flat(model) => model.probabilities(rows, out),
            Trained::Gated {
                none_class,
                gate: gate_model,
                intents,
            } => {
                gate_model.probabilities(rows, gate);
                intents.probabilities(rows, out);
                let about = gate[0];
                // The intent model never saw `none`: renormalise without it.
                let rest = (1.0 - out[*none_class]).max(f32::MIN_POSITIVE);
                for (class, p) in out.iter_mut().enumerate() {
                    *p = if class == *none_class {
                        gate[1]
                    } else {
                        about * *p / rest
                    };
                }
            }
        }
    }

    /// Number of features with weights.
    pub fn features(&self) -> usize {
        self.rows.len()
    }

    /// Approximate heap bytes held (for the benchmark).
    pub fn approximate_bytes(&self) -> usize {
        let models = match &self.structure {
            Trained::Flat(model) => model.approximate_bytes(),
            Trained::Gated { gate, intents, .. } => {
                gate.approximate_bytes() + intents.approximate_bytes()
            }
        };
        self.rows.capacity() * (8 + 4 + 1) + models
    }
}

/// The trained weights of one linear model.
pub struct LinearModel {
    classes: usize,
    /// Row-major: `classes` weights per feature, so one feature's weights are contiguous.
    weights: Vec<f32>,
    bias: Vec<f32>,
}

/// Feature keys are already hashes (or small term ids): mixing them once more with a
/// multiply is enough, and much cheaper than SipHash on the hot path.
#[derive(Default, Clone, Copy)]
pub struct KeyHasher(u64);

impl std::hash::Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    fn write_u64(&mut self, key: u64) {
        self.0 = (key ^ (key >> 29)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

impl std::hash::BuildHasher for KeyHasher {
    type Hasher = KeyHasher;
    fn build_hasher(&self) -> KeyHasher {
        KeyHasher(0)
    }
}

impl LinearModel {
    /// Trains on `examples`, each example's class mapped by `relabel` into
    /// `0..classes` (`None` leaves it out), so one set of examples serves several
    /// models; `none_class` gets `none_weight`.
    fn train(
        examples: &Examples,
        classes: usize,
        none_class: usize,
        options: &TrainOptions,
        relabel: impl Fn(usize) -> Option<usize>,
    ) -> LinearModel {
        let rows = examples.rows.len();
        let indexed: Vec<(usize, usize)> = (0..examples.len())
            .filter_map(|i| Some((i, relabel(examples.classes[i])?)))
            .collect();
        let mut counts = vec![0usize; classes];
        for (_, class) in &indexed {
            counts[*class] += 1;
        }
        let total = indexed.len().max(1) as f32;
        let class_weight: Vec<f32> = counts
            .iter()
            .enumerate()
            .map(|(class, &count)| {
                let balanced = total / (classes as f32 * count.max(1) as f32);
                if class == none_class {
                    balanced * options.none_weight
                } else {
                    balanced
                }
            })
            .collect();

        let mut weights = vec![0.0f32; rows * classes];
        let mut squares = vec![1e-6f32; rows * classes];
        let mut bias = vec![0.0f32; classes];
        let mut bias_squares = vec![1e-6f32; classes];
        let mut order: Vec<usize> = (0..indexed.len()).collect();
        let mut rng = XorShift(0x2545_f491_4f6c_dd1d);
        let mut scores = vec![0.0f32; classes];
        let mut gradient = vec![0.0f32; classes];
        for _ in 0..options.epochs {
            rng.shuffle(&mut order);
            for &i in &order {
                let (example, class) = &indexed[i];
                let features = examples.features(*example);
                let sample_weight = class_weight[*class];
                scores.copy_from_slice(&bias);
                for &(row, value) in features {
                    let base = row as usize * classes;
                    for (score, w) in scores.iter_mut().zip(&weights[base..base + classes]) {
                        *score += w * value;
                    }
                }
                match options.trainer {
                    Trainer::Softmax => {
                        softmax(&mut scores);
                        for (k, g) in gradient.iter_mut().enumerate() {
                            let target = if k == *class { 1.0 } else { 0.0 };
                            *g = (scores[k] - target) * sample_weight;
                        }
                    }
                    Trainer::Hinge => {
                        for (k, g) in gradient.iter_mut().enumerate() {
                            let sign = if k == *class { 1.0 } else { -1.0 };
                            *g = if sign * scores[k] < 1.0 {
                                -sign * sample_weight
                            } else {
                                0.0
                            };
                        }
                    }
                }
                for &(row, value) in features {
                    let base = row as usize * classes;
                    for (k, &class_gradient) in gradient.iter().enumerate() {
                        // Once an example is learnt, most classes' gradients are tiny:
                        // skipping them (and their L2 step) saves training time at no
                        // measurable cost in accuracy.
                        if class_gradient.abs() < MIN_GRADIENT {
                            continue;
                        }
                        let at = base + k;
                        let g = class_gradient * value + options.l2 * weights[at];
                        squares[at] += g * g;
                        weights[at] -= options.learning_rate * g / squares[at].sqrt();
                    }
                }
                for k in 0..classes {
                    let g = gradient[k];
                    bias_squares[k] += g * g;
                    bias[k] -= options.learning_rate * g / bias_squares[k].sqrt();
                }
            }
        }
        LinearModel {
            classes,
            weights,
            bias,
        }
    }

    /// Class probabilities of a question's (row, value) features, written into `out`.
    fn probabilities(&self, rows: &[(u32, f32)], out: &mut Vec<f32>) {
        out.clear();
        out.extend_from_slice(&self.bias);
        for &(row, value) in rows {
            let base = row as usize * self.classes;
            for (score, w) in out.iter_mut().zip(&self.weights[base..base + self.classes]) {
                *score += w * value;
            }
        }
        softmax(out);
    }

    /// Approximate heap bytes held (for the benchmark).
    fn approximate_bytes(&self) -> usize {
        (self.weights.len() + self.bias.len()) * 4
    }
}

/// In place; stable for large scores.
fn softmax(scores: &mut [f32]) {
    let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for s in scores.iter_mut() {
        *s = (*s - max).exp();
        sum += *s;
    }
    scores.iter_mut().for_each(|s| *s /= sum);
}

/// A fixed-seed generator for the training order: same examples, same model.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// Fisher–Yates.
    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = (self.next() % (i as u64 + 1)) as usize;
            items.swap(i, j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toy() -> Examples {
        // Class 0 has feature 1, class 1 feature 2, class 2 (none) feature 3; 4 is shared.
        let mut examples = Examples::default();
        for _ in 0..20 {
            examples.push(&[(1, 1.0), (4, 1.0)], 0);
            examples.push(&[(2, 1.0), (4, 1.0)], 1);
            examples.push(&[(3, 1.0)], 2);
        }
        examples
    }

    fn probabilities(model: &IntentModel, features: &[(u64, f32)]) -> Vec<f32> {
        let (mut out, mut rows, mut gate) = (Vec::new(), Vec::new(), Vec::new());
        model.probabilities(features, &mut out, &mut rows, &mut gate);
        out
    }

    #[test]
    fn every_trainer_and_structure_separates_separable_classes() {
        for trainer in [Trainer::Softmax, Trainer::Hinge] {
            for structure in [Structure::Flat, Structure::Gated] {
                let options = TrainOptions {
                    trainer,
                    structure,
                    ..TrainOptions::default()
                };
                let model = IntentModel::train(toy(), 3, 2, &options);
                for (key, class) in [(1u64, 0usize), (2, 1), (3, 2)] {
                    let p = probabilities(&model, &[(key, 1.0), (4, 1.0)]);
                    let best = (0..3).max_by(|&a, &b| p[a].total_cmp(&p[b])).unwrap();
                    assert_eq!(best, class, "{trainer:?} {structure:?} {p:?}");
                }
            }
        }
    }

    #[test]
    fn training_is_deterministic() {
        let a = IntentModel::train(toy(), 3, 2, &TrainOptions::default());
        let b = IntentModel::train(toy(), 3, 2, &TrainOptions::default());
        for features in [&[(1u64, 1.0f32)][..], &[(2, 1.0), (4, 0.5)], &[(3, 1.0)]] {
            assert_eq!(probabilities(&a, features), probabilities(&b, features));
        }
    }

    #[test]
    fn probabilities_sum_to_one_and_unknown_features_change_nothing() {
        let model = IntentModel::train(toy(), 3, 2, &TrainOptions::default());
        let without = probabilities(&model, &[(1, 1.0)]);
        let with = probabilities(&model, &[(1, 1.0), (999, 1.0)]);
        assert_eq!(with, without);
        assert!((with.iter().sum::<f32>() - 1.0).abs() < 1e-5);
    }

    #[test]
    fn repeated_keys_of_an_example_are_summed_into_one_row() {
        let mut examples = Examples::default();
        examples.push(&[(7, 1.0), (5, 0.5), (7, 2.0)], 0);
        examples.push(&[(5, 1.0)], 1);
        assert_eq!(examples.features(0), [(0, 3.0), (1, 0.5)]);
        assert_eq!(examples.features(1), [(1, 1.0)]);
    }
}
