//! The inner updates of word2vec: one skip-gram pair, one CBOW window.
//!
//! Each update copies the rows it needs from the shared matrices into
//! thread-local buffers, computes on plain slices (vectorised dot/axpy) and
//! adds its changes back with [`SharedMatrix::add_to_row`] (an output row's
//! step is [`SharedMatrix::dot_and_update`]), exactly the arithmetic of
//! word2vec C's `TrainModelThread`:
//!
//! * every output row `t` (the centre word and the noise words, or the
//!   Huffman path's inner nodes) gets `g · h`, with
//!   `g = α (label − σ(h · out_t))`;
//! * the input side gets the sum of `g · out_t` over the targets.

use embed_core::hogwild::SharedMatrix;
use embed_core::seed::Lcg;
use embed_vocab::{HuffmanTree, NoiseSampler};

use crate::sigmoid::Sigmoid;

/// The output layers an update trains, with what they need to choose targets.
pub(crate) struct OutputLayers<'a> {
    /// Negative sampling: output rows per word, and the noise distribution.
    pub negative: Option<(&'a SharedMatrix, &'a NoiseSampler, usize)>,
    /// Hierarchical softmax: output rows per inner node, and the tree.
    pub hierarchical: Option<(&'a SharedMatrix, &'a HuffmanTree)>,
}

/// Thread-local scratch space of one training thread.
pub(crate) struct Scratch {
    /// The hidden layer: an input row (skip-gram) or the combined context (CBOW).
    pub hidden: Vec<f32>,
    /// The gradient for the input side, accumulated over the targets.
    pub grad: Vec<f32>,
    /// A copy of the output row being scored.
    pub row: Vec<f32>,
}

impl Scratch {
    pub(crate) fn new(dim: usize) -> Self {
        Scratch {
            hidden: vec![0.0; dim],
            grad: vec![0.0; dim],
            row: vec![0.0; dim],
        }
    }
}

/// Loss and number of predictions of an update, for reporting.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub(crate) struct LossSum {
    pub loss: f64,
    pub predictions: u64,
}

/// Trains the output layers to predict `word` from `scratch.hidden`,
/// accumulating the input gradient into `scratch.grad` (which the caller
/// zeroes). Returns the prediction's log-loss.
#[inline]
pub(crate) fn predict(
    word: u32,
    layers: &OutputLayers<'_>,
    alpha: f32,
    sigmoid: &Sigmoid,
    rng: &mut Lcg,
    scratch: &mut Scratch,
) -> f64 {
    let Scratch { hidden, grad, row } = scratch;
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
    if let Some((out, noise, negative)) = layers.negative {
        for d in 0..=negative {
            let (target, positive) = if d == 0 {
                (word, true)
            } else {
                let t = noise.sample(rng.next_u64());
                if t == word {
                    continue;
                }
                (t, false)
            };
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

/// One skip-gram position: every context word's input row predicts the
/// centre word `sentence[pos]`.
#[allow(clippy::too_many_arguments)]
#[inline]
pub(crate) fn skip_gram_position(
    sentence: &[u32],
    pos: usize,
    window: usize,
    input: &SharedMatrix,
    layers: &OutputLayers<'_>,
    alpha: f32,
    sigmoid: &Sigmoid,
    rng: &mut Lcg,
    scratch: &mut Scratch,
) -> LossSum {
    let word = sentence[pos];
    let span = reduced_window(window, rng);
    let mut sum = LossSum::default();
    for c in context(pos, span, sentence.len()) {
        let ctx = sentence[c] as usize;
        input.read_row(ctx, &mut scratch.hidden);
        scratch.grad.fill(0.0);
        sum.loss += predict(word, layers, alpha, sigmoid, rng, scratch);
        sum.predictions += 1;
        input.add_to_row(ctx, 1.0, &scratch.grad);
    }
    sum
}

/// One CBOW position: the mean (or sum) of the context's input rows
/// predicts the centre word; every context row then receives the whole
/// gradient, as in word2vec C.
#[allow(clippy::too_many_arguments)]
#[inline]
pub(crate) fn cbow_position(
    sentence: &[u32],
    pos: usize,
    window: usize,
    mean: bool,
    input: &SharedMatrix,
    layers: &OutputLayers<'_>,
    alpha: f32,
    sigmoid: &Sigmoid,
    rng: &mut Lcg,
    scratch: &mut Scratch,
) -> LossSum {
    let word = sentence[pos];
    let span = reduced_window(window, rng);
    scratch.hidden.fill(0.0);
    let mut count = 0usize;
    for c in context(pos, span, sentence.len()) {
        input.row_axpy_into(sentence[c] as usize, 1.0, &mut scratch.hidden);
        count += 1;
    }
    if count == 0 {
        return LossSum::default();
    }
    if mean {
        embed_core::kernels::scale(1.0 / count as f32, &mut scratch.hidden);
    }
    scratch.grad.fill(0.0);
    let loss = predict(word, layers, alpha, sigmoid, rng, scratch);
    for c in context(pos, span, sentence.len()) {
        input.add_to_row(sentence[c] as usize, 1.0, &scratch.grad);
    }
    LossSum {
        loss,
        predictions: 1,
    }
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

    /// The targets `predict` will pick with a generator in state `rng`.
    fn targets(word: u32, negative: usize, noise: &NoiseSampler, mut rng: Lcg) -> Vec<(u32, bool)> {
        let mut out = vec![(word, true)];
        for _ in 0..negative {
            let t = noise.sample(rng.next_u64());
            if t != word {
                out.push((t, false));
            }
        }
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
        let rng = Lcg::new(42);
        let picked = targets(2, 3, &noise, rng.clone());
        let layers = OutputLayers {
            negative: Some((&out, &noise, 3)),
            hierarchical: None,
        };
        let mut scratch = Scratch::new(dim);
        scratch.hidden.copy_from_slice(&hidden);
        let alpha = 0.1;
        let loss = predict(2, &layers, alpha, &sigmoid, &mut rng.clone(), &mut scratch);

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
            assert!((scratch.grad[j] as f64 - expected_grad[j]).abs() < 1e-5);
        }
        let got = out.into_array();
        for (a, b) in got.iter().zip(expected_out.iter()) {
            assert!((a - b).abs() < 1e-5);
        }
    }

    #[test]
    fn skip_gram_updates_only_the_context_rows_it_trained() {
        let dim = 4;
        let input = SharedMatrix::from_array(Array2::from_elem((6, dim), 0.1));
        let out = SharedMatrix::from_array(Array2::from_elem((6, dim), 0.2));
        let noise = noise();
        let layers = OutputLayers {
            negative: Some((&out, &noise, 2)),
            hierarchical: None,
        };
        let sigmoid = Sigmoid::new(SigmoidMode::Table);
        let mut rng = Lcg::new(3);
        let mut scratch = Scratch::new(dim);
        // Window 1: the context of position 1 is positions 0 and 2.
        let sentence = [4, 5, 3, 1];
        let sum = skip_gram_position(
            &sentence,
            1,
            1,
            &input,
            &layers,
            0.5,
            &sigmoid,
            &mut rng,
            &mut scratch,
        );
        assert_eq!(sum.predictions, 2);
        let input = input.into_array();
        for id in [0, 1, 2, 5] {
            assert!(input.row(id).iter().all(|&v| v == 0.1), "row {id} changed");
        }
        assert!(input.row(4).iter().any(|&v| v != 0.1));
        assert!(input.row(3).iter().any(|&v| v != 0.1));
    }

    #[test]
    fn cbow_adds_the_whole_gradient_to_every_context_row() {
        let dim = 3;
        let input0 = Array2::from_shape_fn((6, dim), |(i, j)| (i + j) as f32 * 0.05);
        let input = SharedMatrix::from_array(input0.clone());
        let out = SharedMatrix::from_array(Array2::from_elem((6, dim), 0.3));
        let noise = noise();
        let layers = OutputLayers {
            negative: Some((&out, &noise, 1)),
            hierarchical: None,
        };
        let sigmoid = Sigmoid::new(SigmoidMode::Exact);
        let mut scratch = Scratch::new(dim);
        let sentence = [0, 1, 2];
        // Window 1 (no shrink possible): context rows 0 and 2.
        let sum = cbow_position(
            &sentence,
            1,
            1,
            true,
            &input,
            &layers,
            0.5,
            &sigmoid,
            &mut Lcg::new(9),
            &mut scratch,
        );
        assert_eq!(sum.predictions, 1);
        // The hidden layer was the mean of rows 0 and 2.
        for j in 0..dim {
            let mean = (input0[[0, j]] + input0[[2, j]]) / 2.0;
            assert!((scratch.hidden[j] - mean).abs() < 1e-7);
        }
        let input = input.into_array();
        for j in 0..dim {
            let d0 = input[[0, j]] - input0[[0, j]];
            let d2 = input[[2, j]] - input0[[2, j]];
            assert!((d0 - scratch.grad[j]).abs() < 1e-7 && (d2 - scratch.grad[j]).abs() < 1e-7);
        }
        assert_eq!(input.row(1), input0.row(1));
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
        let mut scratch = Scratch::new(dim);
        scratch.hidden.copy_from_slice(&[0.5, -0.5, 0.25, 1.0]);
        let loss = predict(3, &layers, 1.0, &sigmoid, &mut Lcg::new(1), &mut scratch);
        // All node vectors start at zero: every node contributes ln 2.
        let path = tree.code(3).len();
        assert!((loss - path as f64 * std::f64::consts::LN_2).abs() < 1e-2);
        let nodes = nodes.into_array();
        for (&node, &code) in tree.points(3).iter().zip(tree.code(3)) {
            let g = (1.0 - code as f32) - 0.5;
            for j in 0..dim {
                assert!((nodes[[node as usize, j]] - g * scratch.hidden[j]).abs() < 1e-6);
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
            let picked = targets(1, 3, &noise, Lcg::new(seed));
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
            let mut scratch = Scratch::new(dim);
            scratch.hidden.copy_from_slice(&hidden);
            predict(1, &layers, 1.0, &sigmoid, &mut Lcg::new(seed), &mut scratch);
            let h: Vec<f64> = hidden.iter().map(|&v| v as f64).collect();
            for j in 0..dim {
                let eps = 1e-5;
                let (mut hp, mut hm) = (h.clone(), h.clone());
                hp[j] += eps;
                hm[j] -= eps;
                let numeric = (loss_at(&hp) - loss_at(&hm)) / (2.0 * eps);
                prop_assert!((scratch.grad[j] as f64 + numeric).abs() < 1e-4,
                    "component {}: grad {} vs -dL/dh {}", j, scratch.grad[j], -numeric);
            }
        }
    }
}
