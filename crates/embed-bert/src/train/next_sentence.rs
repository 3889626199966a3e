//! The next-sentence-prediction head of `BertForPreTraining`: the pooler
//! over the `[CLS]` position and a two-way classifier.
//!
//! ```text
//! h_N[CLS] ─► dense ─► tanh ─► dense (2 classes) ─► cross-entropy
//!             pooler            cls.seq_relationship
//! ```
//!
//! Class 0 ([`IS_NEXT`](super::pairs::IS_NEXT)) means segment B continues
//! segment A, class 1 ([`IS_RANDOM`](super::pairs::IS_RANDOM)) that B is a
//! random segment (Hugging Face's `next_sentence_label`). No dropout, as in
//! `transformers`.

use embed_core::nn::cross_entropy::{softmax_cross_entropy, CrossEntropyStats};
use embed_core::nn::linear::{linear_backward, linear_forward};
use embed_core::Result;
use ndarray::{Array2, ArrayView2, ArrayViewMut2};

use super::pass::reshape;
use super::tensors::{Dense, DenseGrad};

/// The head's weights: the pooler (`[hidden, hidden]`) and the classifier
/// (`[2, hidden]`).
#[derive(Debug, Clone)]
pub(crate) struct HeadWeights<'a> {
    pub pooler: Dense<'a>,
    pub classifier: Dense<'a>,
}

/// The head's gradients.
#[derive(Debug, Clone)]
pub(crate) struct HeadGrads {
    pub pooler: DenseGrad,
    pub classifier: DenseGrad,
}

impl HeadGrads {
    pub fn zeros(hidden: usize) -> Self {
        HeadGrads {
            pooler: DenseGrad::zeros(hidden, hidden),
            classifier: DenseGrad::zeros(hidden, 2),
        }
    }

    pub fn zero(&mut self) {
        self.pooler.zero();
        self.classifier.zero();
    }

    pub fn add(&mut self, other: &HeadGrads) {
        self.pooler.add(&other.pooler);
        self.classifier.add(&other.classifier);
    }
}

/// What the forward pass keeps for the backward pass (the `[CLS]` rows
/// stay with the caller). Reused between batches.
#[derive(Debug, Default)]
pub(crate) struct HeadCache {
    /// `tanh(pooler(cls))`, `[sequences, hidden]`.
    pooled: Array2<f32>,
    /// The two logits per sequence; their gradient after a training pass.
    logits: Array2<f32>,
    /// Scratch for the pooled output's gradient.
    d_pooled: Array2<f32>,
}

impl HeadCache {
    /// The logits of the last forward pass (before any gradient was taken).
    pub fn logits(&self) -> &Array2<f32> {
        &self.logits
    }
}

/// Forward pass over the `[CLS]` rows (`[sequences, hidden]`) and the
/// cross-entropy against `labels` (one per sequence, `-100` to skip one).
/// With `grad_scale`, the logits are replaced by the gradient of
/// `grad_scale · loss_sum`, ready for [`backward`].
pub(crate) fn forward(
    w: &HeadWeights<'_>,
    cls: ArrayView2<'_, f32>,
    labels: &[i32],
    grad_scale: Option<f32>,
    cache: &mut HeadCache,
) -> Result<CrossEntropyStats> {
    let (n, h) = cls.dim();
    reshape(&mut cache.pooled, (n, h));
    linear_forward(
        cls,
        w.pooler.weight,
        Some(w.pooler.bias),
        cache.pooled.view_mut(),
        false,
    );
    cache.pooled.mapv_inplace(f32::tanh);
    reshape(&mut cache.logits, (n, 2));
    linear_forward(
        cache.pooled.view(),
        w.classifier.weight,
        Some(w.classifier.bias),
        cache.logits.view_mut(),
        false,
    );
    softmax_cross_entropy(cache.logits.view_mut(), labels, grad_scale)
}

/// Backward pass from the logits' gradient left by [`forward`] over the
/// same `[CLS]` rows `cls`: adds the parameters' gradients to `g` and the
/// rows' gradient to `d_cls`.
pub(crate) fn backward(
    w: &HeadWeights<'_>,
    cls: ArrayView2<'_, f32>,
    cache: &mut HeadCache,
    g: &mut HeadGrads,
    d_cls: ArrayViewMut2<'_, f32>,
) {
    let (n, h) = cls.dim();
    reshape(&mut cache.d_pooled, (n, h));
    linear_backward(
        cache.pooled.view(),
        w.classifier.weight,
        cache.logits.view(),
        Some(cache.d_pooled.view_mut()),
        false,
        g.classifier.weight.view_mut(),
        Some(g.classifier.bias.view_mut()),
    );
    // d tanh(x) / dx = 1 − tanh(x)².
    cache
        .d_pooled
        .zip_mut_with(&cache.pooled, |d, &y| *d *= 1.0 - y * y);
    linear_backward(
        cls,
        w.pooler.weight,
        cache.d_pooled.view(),
        Some(d_cls),
        true,
        g.pooler.weight.view_mut(),
        Some(g.pooler.bias.view_mut()),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::pairs::{IS_NEXT, IS_RANDOM};
    use embed_core::nn::cross_entropy::IGNORE_INDEX;
    use embed_core::nn::gradcheck::{max_relative_error, numerical_gradient};
    use ndarray::Array1;
    use proptest::prelude::*;
    use rand::Rng as _;

    fn random(shape: (usize, usize), seed: u64, scale: f32) -> Array2<f32> {
        let mut rng = embed_core::seed::rng(seed, 0);
        Array2::from_shape_fn(shape, |_| rng.gen_range(-scale..scale))
    }

    /// The head's weights in `[pooler.weight, pooler.bias, classifier.weight,
    /// classifier.bias]`, biases as one-row matrices.
    fn weights(w: &[Array2<f32>]) -> HeadWeights<'_> {
        HeadWeights {
            pooler: Dense {
                weight: w[0].view(),
                bias: w[1].row(0),
            },
            classifier: Dense {
                weight: w[2].view(),
                bias: w[3].row(0),
            },
        }
    }

    /// `scale · loss_sum` of the head at `[cls, pooler.weight, pooler.bias,
    /// classifier.weight, classifier.bias]`.
    fn loss(inputs: &[Array2<f32>; 5], labels: &[i32], scale: f32) -> f64 {
        let mut cache = HeadCache::default();
        let stats = forward(
            &weights(&inputs[1..]),
            inputs[0].view(),
            labels,
            None,
            &mut cache,
        )
        .unwrap();
        stats.loss_sum * f64::from(scale)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]
        /// Tolerance: 2e-3 relative, gradients below 1e-2 compared
        /// absolutely (f32 forward, step 1e-2, inputs and weights in ±1 so
        /// that tanh is well away from saturation and flatness alike).
        #[test]
        fn gradients_match_finite_differences(
            n in 1usize..5,
            h in 1usize..7,
            seed in 0u64..10_000,
            label_bits in 0u32..64,
            ignore_first in any::<bool>(),
        ) {
            let inputs = [
                random((n, h), seed, 1.0),
                random((h, h), seed + 1, 1.0),
                random((1, h), seed + 2, 0.5),
                random((2, h), seed + 3, 1.0),
                random((1, 2), seed + 4, 0.5),
            ];
            let mut labels: Vec<i32> = (0..n).map(|i| ((label_bits >> i) & 1) as i32).collect();
            if ignore_first && n > 1 {
                labels[0] = IGNORE_INDEX;
            }
            let scale = 1.0 / n as f32;

            let w = weights(&inputs[1..]);
            let cls = inputs[0].view();
            let mut cache = HeadCache::default();
            forward(&w, cls, &labels, Some(scale), &mut cache).unwrap();
            let mut g = HeadGrads::zeros(h);
            let mut d_cls = Array2::zeros((n, h));
            backward(&w, cls, &mut cache, &mut g, d_cls.view_mut());

            let analytic = [
                ("cls", d_cls.as_slice().unwrap()),
                ("pooler.weight", g.pooler.weight.as_slice().unwrap()),
                ("pooler.bias", g.pooler.bias.as_slice().unwrap()),
                ("classifier.weight", g.classifier.weight.as_slice().unwrap()),
                ("classifier.bias", g.classifier.bias.as_slice().unwrap()),
            ];
            for (i, (name, analytic)) in analytic.into_iter().enumerate() {
                let mut x = inputs[i].clone();
                let mut probe = inputs.clone();
                let numeric = numerical_gradient(x.as_slice_mut().unwrap(), 1e-2, |xs| {
                    probe[i].as_slice_mut().unwrap().copy_from_slice(xs);
                    loss(&probe, &labels, scale)
                });
                let err = max_relative_error(analytic, &numeric, 1e-2);
                prop_assert!(err < 2e-3, "{}: relative error {}", name, err);
            }
        }
    }

    #[test]
    fn a_confident_right_answer_costs_little_and_counts_as_correct() {
        let h = 3;
        let cls = Array2::from_elem((2, h), 1.0f32);
        let pw = Array2::eye(h);
        let pb = Array1::zeros(h);
        // Class 1 scores 10 · tanh(1) · 3 higher than class 0.
        let cw = ndarray::array![[0.0f32, 0.0, 0.0], [10.0, 10.0, 10.0]];
        let cb = Array1::zeros(2);
        let w = HeadWeights {
            pooler: Dense {
                weight: pw.view(),
                bias: pb.view(),
            },
            classifier: Dense {
                weight: cw.view(),
                bias: cb.view(),
            },
        };
        let mut cache = HeadCache::default();
        let stats = forward(&w, cls.view(), &[IS_RANDOM, IS_NEXT], None, &mut cache).unwrap();
        assert_eq!((stats.count, stats.correct), (2, 1));
        let margin = f64::from(30.0 * 1f32.tanh());
        // −log σ(margin) + −log σ(−margin) ≈ margin.
        assert!((stats.loss_sum - margin).abs() < 1e-3, "{}", stats.loss_sum);
        assert!(forward(&w, cls.view(), &[2, 0], None, &mut cache).is_err());
    }
}
