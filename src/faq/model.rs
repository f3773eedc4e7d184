//! The intent model: a linear classifier over the sparse features of `features`, trained
//! on the catalog's examples when the FAQ is built.
//!
//! Owns the weights, the two trainers compared in BENCHMARKS.md (multinomial logistic
//! regression and one-vs-rest linear SVM) and the class scores of a question. Pure
//! arithmetic: no I/O, no clock, no randomness beyond a fixed-seed shuffle, so the same
//! examples always give the same model. Must not import the ledger, the database or
//! anything that talks to a network.
//!
//! Why these choices:
//! - **Linear over sparse features.** A question has about a hundred active features, so
//!   scoring it is a hundred rows of `classes` weights: a few microseconds. Training is
//!   a few passes of SGD over a few thousand examples, well under a second in release.
//! - **AdaGrad** step sizes: rare features (a typo's n-grams, a rare word) get larger
//!   steps than common ones, so they still learn something in few epochs, without a
//!   learning-rate schedule to tune.
//! - **Class weights**: off-topic examples outnumber each real intent twenty to one; each
//!   class's examples are weighted so the classes count about equally, with `none` kept a
//!   little heavier (`NONE_WEIGHT`), because answering an off-topic question as if it
//!   were about credits is worse than asking again.
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

/// One training example: its features and its class.
pub struct Example {
    pub features: Vec<(u64, f32)>,
    pub class: usize,
}

/// The trained classifier: one linear model, or a gate and an intent model.
pub enum IntentModel {
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
        examples: &[Example],
        classes: usize,
        none_class: usize,
        options: &TrainOptions,
    ) -> IntentModel {
        match options.structure {
            Structure::Flat => {
                IntentModel::Flat(LinearModel::train(examples, classes, none_class, options))
            }
            Structure::Gated => {
                let gate_options = TrainOptions {
                    l2: options.gate_l2,
                    ..*options
                };
                // The gate learns "about credits or not" from every example; the intent
                // model learns the intents from theirs alone.
                let gate = LinearModel::train_relabelled(examples, 2, 1, &gate_options, |class| {
                    Some(usize::from(class == none_class))
                });
                let intents = LinearModel::train_relabelled(
                    examples,
                    classes,
                    none_class,
                    options,
                    |class| (class != none_class).then_some(class),
                );
                IntentModel::Gated {
                    none_class,
                    gate,
                    intents,
                }
            }
        }
    }

    /// Class probabilities (every class, `none` included) of a question's features,
    /// written into `out`; `gate` is a buffer for the gated structure.
    pub fn probabilities(
        &self,
        features: &[(u64, f32)],
        out: &mut Vec<f32>,
        gate_buffer: &mut Vec<f32>,
    ) {
        match self {
            IntentModel::Flat(model) => model.probabilities(features, out),
            IntentModel::Gated {
                none_class,
                gate,
                intents,
            } => {
                gate.probabilities(features, gate_buffer);
                intents.probabilities(features, out);
                let about = gate_buffer[0];
                // The intent model never saw `none`: renormalise without it.
                let rest = (1.0 - out[*none_class]).max(f32::MIN_POSITIVE);
                for (class, p) in out.iter_mut().enumerate() {
                    *p = if class == *none_class {
                        gate_buffer[1]
                    } else {
                        about * *p / rest
                    };
                }
            }
        }
    }

    /// Number of features with weights (the larger model's).
    pub fn features(&self) -> usize {
        match self {
            IntentModel::Flat(model) => model.features(),
            IntentModel::Gated { gate, intents, .. } => gate.features().max(intents.features()),
        }
    }

    /// Approximate heap bytes held (for the benchmark).
    pub fn approximate_bytes(&self) -> usize {
        match self {
            IntentModel::Flat(model) => model.approximate_bytes(),
            IntentModel::Gated { gate, intents, .. } => {
                gate.approximate_bytes() + intents.approximate_bytes()
            }
        }
    }
}

/// The trained weights.
pub struct LinearModel {
    classes: usize,
    /// Feature key → row in `weights`. Features never seen in training have no row:
    /// their weight would be zero anyway.
    rows: HashMap<u64, u32, KeyHasher>,
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
    /// Trains on `examples` (classes `0..classes`); `none_class` gets `none_weight`.
    pub fn train(
        examples: &[Example],
        classes: usize,
        none_class: usize,
        options: &TrainOptions,
    ) -> LinearModel {
        LinearModel::train_relabelled(examples, classes, none_class, options, Some)
    }

    /// Like `train`, with each example's class mapped by `relabel` (`None` leaves the
    /// example out), so one set of examples serves several models without copies.
    fn train_relabelled(
        examples: &[Example],
        classes: usize,
        none_class: usize,
        options: &TrainOptions,
        relabel: impl Fn(usize) -> Option<usize>,
    ) -> LinearModel {
        let mut rows: HashMap<u64, u32, KeyHasher> = HashMap::default();
        // Examples with their features as rows, summed per row (keys may repeat).
        let mut indexed: Vec<(Vec<(u32, f32)>, usize)> = Vec::with_capacity(examples.len());
        for example in examples {
            let Some(class) = relabel(example.class) else {
                continue;
            };
            let mut features: Vec<(u32, f32)> = example
                .features
                .iter()
                .map(|&(key, value)| {
                    let next = rows.len() as u32;
                    (*rows.entry(key).or_insert(next), value)
                })
                .collect();
            features.sort_unstable_by_key(|&(row, _)| row);
            features.dedup_by(|b, a| {
                if a.0 == b.0 {
                    a.1 += b.1;
                    true
                } else {
                    false
                }
            });
            indexed.push((features, class));
        }
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

        let mut weights = vec![0.0f32; rows.len() * classes];
        let mut squares = vec![1e-6f32; rows.len() * classes];
        let mut bias = vec![0.0f32; classes];
        let mut bias_squares = vec![1e-6f32; classes];
        let mut order: Vec<usize> = (0..indexed.len()).collect();
        let mut rng = XorShift(0x2545_f491_4f6c_dd1d);
        let mut scores = vec![0.0f32; classes];
        let mut gradient = vec![0.0f32; classes];
        for _ in 0..options.epochs {
            rng.shuffle(&mut order);
            for &i in &order {
                let (features, class) = &indexed[i];
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
            rows,
            weights,
            bias,
        }
    }

    /// Class probabilities of a question's features, written into `out`.
    pub fn probabilities(&self, features: &[(u64, f32)], out: &mut Vec<f32>) {
        out.clear();
        out.extend_from_slice(&self.bias);
        for &(key, value) in features {
            if let Some(&row) = self.rows.get(&key) {
                let base = row as usize * self.classes;
                for (score, w) in out.iter_mut().zip(&self.weights[base..base + self.classes]) {
                    *score += w * value;
                }
            }
        }
        softmax(out);
    }

    /// Number of features with weights.
    pub fn features(&self) -> usize {
        self.rows.len()
    }

    /// Approximate heap bytes held (for the benchmark).
    pub fn approximate_bytes(&self) -> usize {
        self.rows.capacity() * (8 + 4 + 1) + (self.weights.len() + self.bias.len()) * 4
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

    fn example(keys: &[u64], class: usize) -> Example {
        Example {
            features: keys.iter().map(|&k| (k, 1.0)).collect(),
            class,
        }
    }

    fn toy() -> Vec<Example> {
        // Class 0 has feature 1, class 1 feature 2, class 2 (none) feature 3; 4 is shared.
        let mut examples = Vec::new();
        for _ in 0..20 {
            examples.push(example(&[1, 4], 0));
            examples.push(example(&[2, 4], 1));
            examples.push(example(&[3], 2));
        }
        examples
    }

    #[test]
    fn both_trainers_separate_separable_classes() {
        for trainer in [Trainer::Softmax, Trainer::Hinge] {
            let options = TrainOptions {
                trainer,
                ..TrainOptions::default()
            };
            let model = LinearModel::train(&toy(), 3, 2, &options);
            let mut p = Vec::new();
            for (key, class) in [(1u64, 0usize), (2, 1), (3, 2)] {
                model.probabilities(&[(key, 1.0), (4, 1.0)], &mut p);
                let best = (0..3).max_by(|&a, &b| p[a].total_cmp(&p[b])).unwrap();
                assert_eq!(best, class, "{trainer:?} {p:?}");
            }
        }
    }

    #[test]
    fn training_is_deterministic() {
        let a = LinearModel::train(&toy(), 3, 2, &TrainOptions::default());
        let b = LinearModel::train(&toy(), 3, 2, &TrainOptions::default());
        assert_eq!(a.weights, b.weights);
        assert_eq!(a.bias, b.bias);
    }

    #[test]
    fn probabilities_sum_to_one_and_unknown_features_change_nothing() {
        let model = LinearModel::train(&toy(), 3, 2, &TrainOptions::default());
        let (mut with, mut without) = (Vec::new(), Vec::new());
        model.probabilities(&[(1, 1.0)], &mut without);
        model.probabilities(&[(1, 1.0), (999, 1.0)], &mut with);
        assert_eq!(with, without);
        assert!((with.iter().sum::<f32>() - 1.0).abs() < 1e-5);
    }
}
