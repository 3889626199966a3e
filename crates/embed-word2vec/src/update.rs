//! The inner updates of word2vec: skip-gram pairs and CBOW windows, one
//! sentence at a time.
//!
//! Each update copies the rows it needs from the shared matrices into
//! thread-local buffers, computes on plain slices (vectorised dot/axpy) and
//! writes its changes back (an output row's step is
//! [`SharedMatrix::dot_and_update`]: one read, one write), exactly the
//! arithmetic of word2vec C's `TrainModelThread`:
//!
//! * every output row `t` (the centre word and the noise words, or the
//!   Huffman path's inner nodes) gets `g · h`, with
//!   `g = α (label − σ(h · out_t))`;
//! * the input side gets the sum of `g · out_t` over the targets.
//!
//! The random draws of a sentence (each position's window shrink and the
//! noise words of every prediction) are made before the sentence is
//! trained. Noise words are spread over the whole vocabulary, so their
//! output rows are mostly not in cache; knowing them ahead lets the update
//! prefetch the rows of the next predictions ([`SharedMatrix::prefetch_row`])
//! while it computes the current one, instead of waiting on memory for
//! each row in turn.

use embed_core::hogwild::SharedMatrix;
use embed_core::seed::Lcg;
use embed_vocab::{HuffmanTree, NoiseSampler};

use crate::sigmoid::Sigmoid;

/// How many predictions ahead the output rows of noise words are
/// prefetched: one skip-gram prediction (six rows of 100 values) takes
/// longer than a load from memory, so two is enough to hide it.
const PREFETCH_PREDICTIONS: usize = 2;

/// The output layers an update trains, with what they need to choose targets.
pub(crate) struct OutputLayers<'a> {
    /// Negative sampling: output rows per word, and the noise distribution.
    pub negative: Option<(&'a SharedMatrix, &'a NoiseSampler, usize)>,
    /// Hierarchical softmax: output rows per inner node, and the tree.
    pub hierarchical: Option<(&'a SharedMatrix, &'a HuffmanTree)>,
}

impl OutputLayers<'_> {
    /// Noise words per prediction (0 without negative sampling).
    fn negatives_per_prediction(&self) -> usize {
        self.negative.map_or(0, |(_, _, k)| k)
    }
}

/// Thread-local scratch space of one training thread, reused from sentence
/// to sentence (no allocation once the buffers have grown).
pub(crate) struct Scratch {
    /// The hidden layer: an input row (skip-gram) or the combined context (CBOW).
    pub hidden: Vec<f32>,
    /// The gradient for the input side, accumulated over the targets.
    pub grad: Vec<f32>,
    /// A copy of the output row being scored.
    pub row: Vec<f32>,
    /// The random draws of the current sentence.
    draws: Draws,
}

impl Scratch {
    pub(crate) fn new(dim: usize) -> Self {
        Scratch {
            hidden: vec![0.0; dim],
            grad: vec![0.0; dim],
            row: vec![0.0; dim],
            draws: Draws::default(),
        }
    }
}

/// The random draws of one sentence, in the order training uses them.
#[derive(Default)]
struct Draws {
    /// Context span of each position (word2vec C's reduced window).
    spans: Vec<usize>,
    /// Noise words, `negative` per prediction, prediction after prediction.
    noise: Vec<u32>,
    /// How many entries of `noise` have had their rows prefetched.
    prefetched: usize,
}

impl Draws {
    /// Draws the spans of a sentence of `len` words and the noise words of
    /// its predictions; `predictions(pos, span)` says how many predictions
    /// position `pos` makes with that span.
    fn draw(
        &mut self,
        len: usize,
        window: usize,
        layers: &OutputLayers<'_>,
        rng: &mut Lcg,
        predictions: impl Fn(usize, usize) -> usize,
    ) {
        self.spans.clear();
        self.noise.clear();
        self.prefetched = 0;
        for pos in 0..len {
            let span = reduced_window(window, rng);
            self.spans.push(span);
            if let Some((_, noise, negative)) = layers.negative {
                for _ in 0..predictions(pos, span) * negative {
                    self.noise.push(noise.sample(rng.next_u64()));
                }
            }
        }
    }

    /// Prefetches the output rows of the noise words before index `end`.
    #[inline]
    fn prefetch_until(&mut self, layers: &OutputLayers<'_>, end: usize) {
        if let Some((out, _, _)) = layers.negative {
            let end = end.min(self.noise.len());
            for &t in &self.noise[self.prefetched.min(end)..end] {
                out.prefetch_row(t as usize);
            }
            self.prefetched = self.prefetched.max(end);
        }
    }
}

/// Loss and number of predictions of an update, for reporting.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub(crate) struct LossSum {
    pub loss: f64,
    pub predictions: u64,
}

/// Trains the output layers to predict `word` from `hidden`, accumulating
/// the input gradient into `grad` (which the caller zeroes); `negatives`
/// are the noise words drawn for this prediction (a draw equal to `word`
/// is skipped, as in word2vec C). Returns the prediction's log-loss.
#[allow(clippy::too_many_arguments)]
#[inline]
pub(crate) fn predict(
    word: u32,
    negatives: &[u32],
    layers: &OutputLayers<'_>,
    alpha: f32,
    sigmoid: &Sigmoid,
    hidden: &[f32],
    grad: &mut [f32],
    row: &mut [f32],
) -> f64 {
    let mut loss = 0.0;
    if let Some((nodes, tree)) = layers.hierarchical {
        for (&node, &code) in tree.points(word).iter().zip(tree.code(word)) {
            // Saturated nodes are skipped (a zero gradient changes nothing).
            nodes.dot_and_update(node as usize, hidden, grad, row, |score| {
                sigmoid.hierarchical(score, code).map_or(0.0, |(g, l)| {
                    loss += l;
                    g * alpha
                })
            });
        }
    }
    if let Some((out, _, _)) = layers.negative {
        let noise = negatives.iter().filter(|&&t| t != word);
        for (target, positive) in std::iter::once((word, true)).chain(noise.map(|&t| (t, false))) {
            out.dot_and_update(target as usize, hidden, grad, row, |score| {
                let (g, l) = sigmoid.negative_sampling(score, positive);
                loss += l;
                g * alpha
            });
        }
    }
    loss
}

/// A uniform draw in `[0, 1)` from the top 24 bits of the generator.
///
/// word2vec C takes the *low* 16 bits of its LCG, whose period is only
/// 2^16 (its initial vectors repeat every 16,384 rows at dim 100); the high
/// bits of the same generator have no such pattern.
#[inline]
pub(crate) fn unit_random(rng: &mut Lcg) -> f32 {
    (rng.next_u64() >> 40) as f32 * (1.0 / (1u32 << 24) as f32)
}

/// word2vec C's random window shrink: a reduction `b` drawn uniformly from
/// `0..window`, leaving `window - b` words on each side.
#[inline]
pub(crate) fn reduced_window(window: usize, rng: &mut Lcg) -> usize {
    window - (rng.next_u64() % window as u64) as usize
}

/// The context positions around `pos` within `span` words, in a sentence of `len`.
#[inline]
fn context(pos: usize, span: usize, len: usize) -> impl Iterator<Item = usize> {
    let lo = pos.saturating_sub(span);
    let hi = (pos + span + 1).min(len);
    (lo..hi).filter(move |&c| c != pos)
}

/// The number of context positions of [`context`].
#[inline]
fn context_len(pos: usize, span: usize, len: usize) -> usize {
    let lo = pos.saturating_sub(span);
    let hi = (pos + span + 1).min(len);
    hi - lo - 1
}

/// Skip-gram over one sentence: at every position, every context word's
/// input row predicts the centre word.
#[allow(clippy::too_many_arguments)]
pub(crate) fn skip_gram_sentence(
    sentence: &[u32],
    window: usize,
    input: &SharedMatrix,
    layers: &OutputLayers<'_>,
    alpha: f32,
    sigmoid: &Sigmoid,
    rng: &mut Lcg,
    scratch: &mut Scratch,
) -> LossSum {
    let len = sentence.len();
    let Scratch {
        hidden,
        grad,
        row,
        draws,
    } = scratch;
    draws.draw(len, window, layers, rng, |pos, span| {
        context_len(pos, span, len)
    });
    let negative = layers.negatives_per_prediction();
    let mut next = 0;
    let mut sum = LossSum::default();
    for (pos, &word) in sentence.iter().enumerate() {
        for c in context(pos, draws.spans[pos], len) {
            draws.prefetch_until(layers, next + (PREFETCH_PREDICTIONS + 1) * negative);
            let negatives = &draws.noise[next..next + negative];
            next += negative;
            let ctx = sentence[c] as usize;
            input.read_row(ctx, hidden);
            grad.fill(0.0);
            sum.loss += predict(word, negatives, layers, alpha, sigmoid, hidden, grad, row);
            sum.predictions += 1;
            input.add_to_row(ctx, 1.0, grad);
        }
    }
    sum
}

/// CBOW over one sentence: at every position the mean (or sum) of the
/// context's input rows predicts the centre word; every context row then
/// receives the whole gradient, as in word2vec C.
#[allow(clippy::too_many_arguments)]
pub(crate) fn cbow_sentence(
    sentence: &[u32],
    window: usize,
    mean: bool,
    input: &SharedMatrix,
    layers: &OutputLayers<'_>,
    alpha: f32,
    sigmoid: &Sigmoid,
    rng: &mut Lcg,
    scratch: &mut Scratch,
) -> LossSum {
    let len = sentence.len();
    let Scratch {
        hidden,
        grad,
        row,
        draws,
    } = scratch;
    draws.draw(len, window, layers, rng, |pos, span| {
        usize::from(context_len(pos, span, len) > 0)
    });
    let negative = layers.negatives_per_prediction();
    let mut next = 0;
    let mut sum = LossSum::default();
    for (pos, &word) in sentence.iter().enumerate() {
        let span = draws.spans[pos];
        let count = context_len(pos, span, len);
        if count == 0 {
            continue;
        }
        draws.prefetch_until(layers, next + (PREFETCH_PREDICTIONS + 1) * negative);
        let negatives = &draws.noise[next..next + negative];
        next += negative;
        hidden.fill(0.0);
        for c in context(pos, span, len) {
            input.row_axpy_into(sentence[c] as usize, 1.0, hidden);
        }
        if mean {
            embed_core::kernels::scale(1.0 / count as f32, hidden);
        }
        grad.fill(0.0);
        sum.loss += predict(word, negatives, layers, alpha, sigmoid, hidden, grad, row);
        sum.predictions += 1;
        for c in context(pos, span, len) {
            input.add_to_row(sentence[c] as usize, 1.0, grad);
        }
    }
    sum
}

#[cfg(test)]
#[allow(clippy::needless_range_loop)] // The checks index several arrays in step.
mod tests {
    use super::*;
    use crate::params::SigmoidMode;
    use ndarray::Array2;
    use proptest::prelude::*;

    fn noise() -> NoiseSampler {
        NoiseSampler::new(&[50, 40, 30, 20, 10, 5], 0.75).unwrap()
    }

    /// `count` noise words drawn with a generator in state `rng`.
    fn draw(count: usize, noise: &NoiseSampler, mut rng: Lcg) -> Vec<u32> {
        (0..count).map(|_| noise.sample(rng.next_u64())).collect()
    }

    /// The targets `predict` trains for `word` with these noise words.
    fn targets(word: u32, negatives: &[u32]) -> Vec<(u32, bool)> {
        let mut out = vec![(word, true)];
        out.extend(
            negatives
                .iter()
                .filter(|&&t| t != word)
                .map(|&t| (t, false)),
        );
        out
    }

    fn logistic(x: f64) -> f64 {
        1.0 / (1.0 + (-x).exp())
    }

    fn dot64(a: &[f32], b: &[f32]) -> f64 {
        a.iter().zip(b).map(|(x, y)| *x as f64 * *y as f64).sum()
    }

    #[test]
    fn negative_sampling_matches_plain_arithmetic() {
        let dim = 5;
        let out0 =
            Array2::from_shape_fn((6, dim), |(i, j)| ((i * 7 + j) as f32 * 0.37).sin() * 0.5);
        let hidden: Vec<f32> = (0..dim).map(|j| (j as f32 * 0.9).cos() * 0.4).collect();
        let out = SharedMatrix::from_array(out0.clone());
        let noise = noise();
        let sigmoid = Sigmoid::new(SigmoidMode::Exact);
        let negatives = draw(3, &noise, Lcg::new(42));
        let picked = targets(2, &negatives);
        let layers = OutputLayers {
            negative: Some((&out, &noise, 3)),
            hierarchical: None,
        };
        let (mut grad, mut row) = (vec![0.0; dim], vec![0.0; dim]);
        let alpha = 0.1;
        let loss = predict(
            2, &negatives, &layers, alpha, &sigmoid, &hidden, &mut grad, &mut row,
        );

        // Sequential reference: each target's row is updated before the next
        // is scored (a target drawn twice sees its first update).
        let mut expected_out = out0.clone();
        let mut expected_grad = vec![0.0f64; dim];
        let mut expected_loss = 0.0;
        for (t, positive) in picked {
            let row: Vec<f32> = expected_out.row(t as usize).to_vec();
            let f = dot64(&hidden, &row);
            let label = if positive { 1.0 } else { 0.0 };
            let g = (label - logistic(f)) * alpha as f64;
            expected_loss += if positive {
                -logistic(f).ln()
            } else {
                -logistic(-f).ln()
            };
            for j in 0..dim {
                expected_grad[j] += g * row[j] as f64;
                expected_out[[t as usize, j]] += (g * hidden[j] as f64) as f32;
            }
        }
        assert!(
            (loss - expected_loss).abs() < 1e-2,
            "{loss} vs {expected_loss}"
        );
        for j in 0..dim {
            assert!((grad[j] as f64 - expected_grad[j]).abs() < 1e-5);
        }
        let got = out.into_array();
        for (a, b) in got.iter().zip(expected_out.iter()) {
            assert!((a - b).abs() < 1e-5);
        }
    }

    /// Plain sequential f64 arithmetic for one sentence, drawing from the
    /// generator in the order of [`Draws::draw`] (each position's span, then
    /// its noise words).
    #[allow(clippy::too_many_arguments)]
    fn reference_sentence(
        cbow: bool,
        sentence: &[u32],
        window: usize,
        input: &mut Array2<f64>,
        out: &mut Array2<f64>,
        noise: &NoiseSampler,
        negative: usize,
        alpha: f64,
        mut rng: Lcg,
    ) {
        let len = sentence.len();
        let (mut spans, mut draws) = (Vec::new(), Vec::new());
        for pos in 0..len {
            let span = reduced_window(window, &mut rng);
            spans.push(span);
            let n = context_len(pos, span, len);
            let predictions = if cbow { usize::from(n > 0) } else { n };
            for _ in 0..predictions * negative {
                draws.push(noise.sample(rng.next_u64()));
            }
        }
        let dim = input.ncols();
        let mut next = 0;
        let mut step = |word: u32, h: &[f64], out: &mut Array2<f64>| -> Vec<f64> {
            let mut grad = vec![0.0; dim];
            for (t, positive) in targets(word, &draws[next..next + negative]) {
                let t = t as usize;
                let f: f64 = (0..dim).map(|j| h[j] * out[[t, j]]).sum();
                let g = (if positive { 1.0 } else { 0.0 } - logistic(f)) * alpha;
                for j in 0..dim {
                    grad[j] += g * out[[t, j]];
                    out[[t, j]] += g * h[j];
                }
            }
            next += negative;
            grad
        };
        for (pos, &word) in sentence.iter().enumerate() {
            let ctx: Vec<usize> = context(pos, spans[pos], len)
                .map(|c| sentence[c] as usize)
                .collect();
            if cbow {
                if ctx.is_empty() {
                    continue;
                }
                let h: Vec<f64> = (0..dim)
                    .map(|j| ctx.iter().map(|&c| input[[c, j]]).sum::<f64>() / ctx.len() as f64)
                    .collect();
                let grad = step(word, &h, out);
                for &c in &ctx {
                    for j in 0..dim {
                        input[[c, j]] += grad[j];
                    }
                }
            } else {
                for &c in &ctx {
                    let h = input.row(c).to_vec();
                    let grad = step(word, &h, out);
                    for j in 0..dim {
                        input[[c, j]] += grad[j];
                    }
                }
            }
        }
    }

    #[test]
    fn sentences_match_plain_sequential_arithmetic() {
        let dim = 5;
        let sentence = [4, 5, 3, 1, 1, 0, 2, 5, 4];
        let noise = noise();
        let sigmoid = Sigmoid::new(SigmoidMode::Exact);
        for cbow in [false, true] {
            let input0 =
                Array2::from_shape_fn((6, dim), |(i, j)| ((i * 5 + j) as f32 * 0.71).sin() * 0.3);
            let out0 =
                Array2::from_shape_fn((6, dim), |(i, j)| ((i * 3 + j) as f32 * 0.37).cos() * 0.3);
            let input = SharedMatrix::from_array(input0.clone());
            let out = SharedMatrix::from_array(out0.clone());
            let layers = OutputLayers {
                negative: Some((&out, &noise, 2)),
                hierarchical: None,
            };
            let mut scratch = Scratch::new(dim);
            let alpha = 0.2;
            let sum = if cbow {
                cbow_sentence(
                    &sentence,
                    3,
                    true,
                    &input,
                    &layers,
                    alpha,
                    &sigmoid,
                    &mut Lcg::new(7),
                    &mut scratch,
                )
            } else {
                skip_gram_sentence(
                    &sentence,
                    3,
                    &input,
                    &layers,
                    alpha,
                    &sigmoid,
                    &mut Lcg::new(7),
                    &mut scratch,
                )
            };
            assert!(sum.predictions > 0 && sum.loss > 0.0);
            let mut expected_in = input0.mapv(f64::from);
            let mut expected_out = out0.mapv(f64::from);
            reference_sentence(
                cbow,
                &sentence,
                3,
                &mut expected_in,
                &mut expected_out,
                &noise,
                2,
                alpha as f64,
                Lcg::new(7),
            );
            for (got, start, expected) in [(input, input0, expected_in), (out, out0, expected_out)]
            {
                let got = got.into_array();
                assert_ne!(got, start, "cbow {cbow}: nothing trained");
                for (a, b) in got.iter().zip(expected.iter()) {
                    assert!((*a as f64 - b).abs() < 1e-5, "cbow {cbow}: {a} vs {b}");
                }
            }
        }
    }

    #[test]
    fn skip_gram_leaves_rows_of_other_words_alone() {
        let dim = 4;
        let input = SharedMatrix::from_array(Array2::from_elem((6, dim), 0.1));
        let out = SharedMatrix::from_array(Array2::from_elem((6, dim), 0.2));
        let noise = noise();
        let layers = OutputLayers {
            negative: Some((&out, &noise, 2)),
            hierarchical: None,
        };
        let sigmoid = Sigmoid::new(SigmoidMode::Table);
        let mut scratch = Scratch::new(dim);
        let sentence = [4, 5, 3];
        let sum = skip_gram_sentence(
            &sentence,
            1,
            &input,
            &layers,
            0.5,
            &sigmoid,
            &mut Lcg::new(3),
            &mut scratch,
        );
        // Window 1: positions 0 and 2 have one context word, position 1 two.
        assert_eq!(sum.predictions, 4);
        let input = input.into_array();
        for id in [0, 1, 2] {
            assert!(input.row(id).iter().all(|&v| v == 0.1), "row {id} changed");
        }
        for id in sentence {
            assert!(input.row(id as usize).iter().any(|&v| v != 0.1));
        }
    }

    #[test]
    fn hierarchical_softmax_trains_the_path_nodes() {
        let counts = [40u64, 30, 20, 10];
        let tree = HuffmanTree::new(&counts).unwrap();
        let dim = 4;
        let nodes = SharedMatrix::zeros(3, dim);
        let layers = OutputLayers {
            negative: None,
            hierarchical: Some((&nodes, &tree)),
        };
        let sigmoid = Sigmoid::new(SigmoidMode::Exact);
        let hidden = [0.5, -0.5, 0.25, 1.0];
        let (mut grad, mut row) = (vec![0.0; dim], vec![0.0; dim]);
        let loss = predict(3, &[], &layers, 1.0, &sigmoid, &hidden, &mut grad, &mut row);
        // All node vectors start at zero: every node contributes ln 2.
        let path = tree.code(3).len();
        assert!((loss - path as f64 * std::f64::consts::LN_2).abs() < 1e-2);
        let nodes = nodes.into_array();
        for (&node, &code) in tree.points(3).iter().zip(tree.code(3)) {
            let g = (1.0 - code as f32) - 0.5;
            for j in 0..dim {
                assert!((nodes[[node as usize, j]] - g * hidden[j]).abs() < 1e-6);
            }
        }
    }

    #[test]
    fn unit_random_is_uniform_on_the_unit_interval() {
        let mut rng = Lcg::new(1);
        let mut buckets = [0u32; 10];
        for _ in 0..100_000 {
            let u = unit_random(&mut rng);
            assert!((0.0..1.0).contains(&u));
            buckets[(u * 10.0) as usize] += 1;
        }
        // Each bucket expects 10,000 draws (standard deviation about 95).
        assert!(
            buckets.iter().all(|&b| (9_500..10_500).contains(&b)),
            "{buckets:?}"
        );
    }

    #[test]
    fn reduced_window_stays_in_range_and_covers_it() {
        let mut rng = Lcg::new(5);
        let mut seen = [false; 6];
        for _ in 0..1000 {
            let w = reduced_window(5, &mut rng);
            assert!((1..=5).contains(&w));
            seen[w] = true;
        }
        assert!(seen[1..].iter().all(|&s| s));
    }

    proptest! {
        /// With alpha = 1 the input gradient is minus the derivative of the
        /// negative-sampling loss with respect to the hidden layer.
        #[test]
        fn input_gradient_matches_finite_differences(
            hidden in proptest::collection::vec(-0.5f32..0.5, 6),
            rows in proptest::collection::vec(-0.5f32..0.5, 36),
            seed in 0u64..1000,
        ) {
            let dim = 6;
            let out0 = Array2::from_shape_vec((6, dim), rows).unwrap();
            let noise = noise();
            let sigmoid = Sigmoid::new(SigmoidMode::Exact);
            let negatives = draw(3, &noise, Lcg::new(seed));
            let picked = targets(1, &negatives);
            // Distinct targets only: a repeated target's second score sees
            // the first update, which the analytic loss below does not model.
            let mut ids: Vec<u32> = picked.iter().map(|t| t.0).collect();
            ids.sort_unstable();
            ids.dedup();
            prop_assume!(ids.len() == picked.len());
            let loss_at = |h: &[f64]| -> f64 {
                picked.iter().map(|&(t, positive)| {
                    let f: f64 = h.iter().zip(out0.row(t as usize)).map(|(a, b)| a * *b as f64).sum();
                    if positive { -logistic(f).ln() } else { -logistic(-f).ln() }
                }).sum()
            };
            let out = SharedMatrix::from_array(out0.clone());
            let layers = OutputLayers { negative: Some((&out, &noise, 3)), hierarchical: None };
            let (mut grad, mut row) = (vec![0.0; dim], vec![0.0; dim]);
            predict(1, &negatives, &layers, 1.0, &sigmoid, &hidden, &mut grad, &mut row);
            let h: Vec<f64> = hidden.iter().map(|&v| v as f64).collect();
            for j in 0..dim {
                let eps = 1e-5;
                let (mut hp, mut hm) = (h.clone(), h.clone());
                hp[j] += eps;
                hm[j] -= eps;
                let numeric = (loss_at(&hp) - loss_at(&hm)) / (2.0 * eps);
                prop_assert!((grad[j] as f64 + numeric).abs() < 1e-4,
                    "component {}: grad {} vs -dL/dh {}", j, grad[j], -numeric);
            }
        }
    }
}
