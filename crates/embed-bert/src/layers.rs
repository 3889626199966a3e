//! The forward building blocks of a Transformer encoder, each small and on
//! its own: matrix product, linear layer, layer norm, GELU, softmax and
//! scaled dot-product attention for one sequence and head.
//!
//! Activations are row-major `[tokens, features]` matrices; every function
//! works in place or into a caller-owned buffer, so a forward pass
//! allocates per batch, never per token.

use std::sync::OnceLock;

use ndarray::{Array1, Array2, ArrayView1, ArrayView2, ArrayViewMut2, Axis, Zip};
use rayon::prelude::*;

pub use embed_core::linalg::matmul_into;
use embed_core::linalg::{matmul_panels_into, ColumnPanels};
/// The vectorising `exp` and `erf` the encoder's softmax and GELU use.
pub use embed_core::nn::fastmath::{erf, exp};
use embed_core::nn::fastmath::{max8, sum8};

/// Rows per parallel task in element-wise work.
const ROWS_PER_TASK: usize = 16;

/// Where a layer runs: split across the current rayon pool, or on the
/// calling thread alone (when the caller already runs one task per thread).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Threads {
    /// Split across the current rayon pool.
    Pool,
    /// On the calling thread only.
    Caller,
}

/// A dense layer `y = x · W + b`, with `W` stored `[inputs, outputs]`.
///
/// Inputs of a few rows (one short sentence) are multiplied with a copy of
/// `W` laid out in column panels, made on first use: such products are
/// bound by reading the weights, which the panels let stream in order.
#[derive(Debug, Clone)]
pub struct Linear {
    /// `[inputs, outputs]`.
    weight: Array2<f32>,
    /// `[outputs]`.
    bias: Array1<f32>,
    /// `weight` as column panels, for inputs of few rows.
    panels: OnceLock<ColumnPanels>,
}

/// Inputs of at most this many rows go through [`ColumnPanels`].
const FEW_ROWS: usize = 16;

impl Linear {
    /// Builds a layer from a weight `[inputs, outputs]` and a bias
    /// `[outputs]`.
    ///
    /// # Panics
    /// When the bias length differs from the weight's number of columns.
    pub fn new(weight: Array2<f32>, bias: Array1<f32>) -> Self {
        assert_eq!(weight.ncols(), bias.len(), "one bias per output");
        Linear {
            weight,
            bias,
            panels: OnceLock::new(),
        }
    }

    /// Builds a layer from a PyTorch-layout weight `[outputs, inputs]`.
    pub fn from_torch(weight: ArrayView2<'_, f32>, bias: Array1<f32>) -> Self {
        Linear::new(weight.t().as_standard_layout().into_owned(), bias)
    }

    /// The weight, `[inputs, outputs]`.
    pub fn weight(&self) -> ArrayView2<'_, f32> {
        self.weight.view()
    }

    /// The bias, `[outputs]`.
    pub fn bias(&self) -> ArrayView1<'_, f32> {
        self.bias.view()
    }

    /// Number of input features.
    pub fn inputs(&self) -> usize {
        self.weight.nrows()
    }

    /// Number of output features.
    pub fn outputs(&self) -> usize {
        self.weight.ncols()
    }

    /// `out = x · W + b` (`out += x · W + b` when `accumulate`), split
    /// across the current rayon pool.
    pub fn forward_into(
        &self,
        x: ArrayView2<'_, f32>,
        out: ArrayViewMut2<'_, f32>,
        accumulate: bool,
    ) {
        self.forward_into_on(x, out, accumulate, Threads::Pool);
    }

    /// [`Linear::forward_into`] on the pool or on the calling thread alone.
    pub(crate) fn forward_into_on(
        &self,
        x: ArrayView2<'_, f32>,
        mut out: ArrayViewMut2<'_, f32>,
        accumulate: bool,
        threads: Threads,
    ) {
        if accumulate {
            out += &self.bias;
        } else {
            out.assign(&self.bias.broadcast(out.dim()).expect("bias width"));
        }
        self.product_into_on(x, out, true, threads);
    }

    /// `out = residual + x · W + b`: the residual connection in the pass
    /// that writes the bias, rather than a copy before it.
    pub(crate) fn forward_residual_into_on(
        &self,
        x: ArrayView2<'_, f32>,
        residual: ArrayView2<'_, f32>,
        mut out: ArrayViewMut2<'_, f32>,
        threads: Threads,
    ) {
        Zip::from(&mut out)
            .and(&residual)
            .and_broadcast(&self.bias)
            .for_each(|o, &r, &b| *o = r + b);
        self.product_into_on(x, out, true, threads);
    }

    /// `out = activation(x · W + b)`: the product written without the
    /// bias, which is added row by row just before the activation, while
    /// the row is in cache, rather than in a pass of its own.
    pub(crate) fn forward_activated_into_on(
        &self,
        x: ArrayView2<'_, f32>,
        mut out: ArrayViewMut2<'_, f32>,
        activation: Activation,
        threads: Threads,
    ) {
        self.product_into_on(x, out.view_mut(), false, threads);
        activation.forward_biased_inplace_on(out, Some(self.bias.view()), threads);
    }

    /// `out = x · W` (`out += x · W` when `accumulate`).
    fn product_into_on(
        &self,
        x: ArrayView2<'_, f32>,
        out: ArrayViewMut2<'_, f32>,
        accumulate: bool,
        threads: Threads,
    ) {
        let parallel = threads == Threads::Pool;
        if x.nrows() <= FEW_ROWS {
            let panels = self
                .panels
                .get_or_init(|| ColumnPanels::new(self.weight.view()));
            matmul_panels_into(x, panels, out, accumulate, parallel);
        } else {
            matmul_into(x, self.weight.view(), out, accumulate, parallel);
        }
    }

    /// `x · W + b` as a new matrix.
    ///
    /// ```
    /// use embed_bert::layers::Linear;
    /// use ndarray::array;
    /// let layer = Linear::from_torch(array![[1.0f32, 0.0], [1.0, 1.0], [0.0, 2.0]].view(), array![0.0, 0.5, 1.0]);
    /// assert_eq!(layer.forward(array![[3.0f32, 4.0]].view()), array![[3.0, 7.5, 9.0]]);
    /// ```
    pub fn forward(&self, x: ArrayView2<'_, f32>) -> Array2<f32> {
        let mut out = Array2::zeros((x.nrows(), self.outputs()));
        self.forward_into(x, out.view_mut(), false);
        out
    }
}

impl PartialEq for Linear {
    /// Same weight and bias (whether the panels were made does not count).
    fn eq(&self, other: &Self) -> bool {
        self.weight == other.weight && self.bias == other.bias
    }
}

/// Layer normalisation over the last axis with a learned scale and shift.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerNorm {
    /// Scale (γ).
    pub weight: Array1<f32>,
    /// Shift (β).
    pub bias: Array1<f32>,
    /// Added to the variance before the square root.
    pub eps: f32,
}

impl LayerNorm {
    /// Normalises every row of `x` in place.
    ///
    /// ```
    /// use embed_bert::layers::LayerNorm;
    /// use ndarray::array;
    /// let ln = LayerNorm { weight: array![1.0, 1.0], bias: array![0.0, 0.5], eps: 0.0 };
    /// let mut x = array![[1.0f32, 3.0]];
    /// ln.forward_inplace(x.view_mut());
    /// assert_eq!(x, array![[-1.0, 1.5]]);
    /// ```
    pub fn forward_inplace(&self, x: ArrayViewMut2<'_, f32>) {
        self.forward_inplace_on(x, Threads::Pool);
    }

    /// [`LayerNorm::forward_inplace`] on the pool or on the calling thread.
    pub(crate) fn forward_inplace_on(&self, mut x: ArrayViewMut2<'_, f32>, threads: Threads) {
        let weight = self.weight.view();
        let bias = self.bias.view();
        let eps = self.eps;
        let normalise = |mut rows: ArrayViewMut2<'_, f32>| {
            for mut row in rows.rows_mut() {
                match row.as_slice_mut() {
                    Some(row) => layer_norm_row(row, weight, bias, eps),
                    None => {
                        let mut owned = row.to_vec();
                        layer_norm_row(&mut owned, weight, bias, eps);
                        row.assign(&ArrayView1::from(&owned));
                    }
                }
            }
        };
        match threads {
            Threads::Pool => x
                .axis_chunks_iter_mut(Axis(0), ROWS_PER_TASK)
                .into_par_iter()
                .for_each(normalise),
            Threads::Caller => normalise(x),
        }
    }
}

/// One row of layer norm: two passes (mean, then variance of the
/// deviations), as PyTorch computes it.
#[inline]
fn layer_norm_row(
    row: &mut [f32],
    weight: ArrayView1<'_, f32>,
    bias: ArrayView1<'_, f32>,
    eps: f32,
) {
    let n = row.len() as f32;
    let mean = sum8(row) / n;
    for x in row.iter_mut() {
        *x -= mean;
    }
    let mut acc = [0.0f32; 8];
    let mut chunks = row.chunks_exact(8);
    for chunk in &mut chunks {
        for (a, x) in acc.iter_mut().zip(chunk) {
            *a += x * x;
        }
    }
    let tail: f32 = chunks.remainder().iter().map(|x| x * x).sum();
    let var = (acc.iter().sum::<f32>() + tail) / n;
    let inv = 1.0 / (var + eps).sqrt();
    let (Some(w), Some(b)) = (weight.as_slice(), bias.as_slice()) else {
        for ((x, w), b) in row.iter_mut().zip(weight).zip(bias) {
            *x = *x * inv * w + b;
        }
        return;
    };
    for ((x, w), b) in row.iter_mut().zip(w).zip(b) {
        *x = *x * inv * w + b;
    }
}

/// The activation of the feed-forward block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    /// `x·Φ(x)` with the exact (erf) normal CDF — BERT's `gelu`.
    Gelu,
    /// The tanh approximation of GELU (`gelu_new`, `gelu_pytorch_tanh`).
    GeluTanh,
    /// `max(x, 0)`.
    Relu,
}

impl Activation {
    /// Applies the activation to every element, in parallel over rows.
    pub fn forward_inplace(self, x: ArrayViewMut2<'_, f32>) {
        self.forward_inplace_on(x, Threads::Pool);
    }

    /// [`Activation::forward_inplace`] on the pool or on the calling thread.
    pub(crate) fn forward_inplace_on(self, x: ArrayViewMut2<'_, f32>, threads: Threads) {
        self.forward_biased_inplace_on(x, None, threads);
    }

    /// `x = activation(x + bias)` row by row (`activation(x)` without a
    /// bias), on the pool or on the calling thread.
    pub(crate) fn forward_biased_inplace_on(
        self,
        mut x: ArrayViewMut2<'_, f32>,
        bias: Option<ArrayView1<'_, f32>>,
        threads: Threads,
    ) {
        let activate = |mut rows: ArrayViewMut2<'_, f32>| {
            for mut row in rows.rows_mut() {
                if let Some(bias) = &bias {
                    row += bias;
                }
                match row.as_slice_mut() {
                    Some(xs) => self.apply(xs),
                    None => row.mapv_inplace(|v| {
                        let mut one = [v];
                        self.apply(&mut one);
                        one[0]
                    }),
                }
            }
        };
        match threads {
            Threads::Pool => x
                .axis_chunks_iter_mut(Axis(0), ROWS_PER_TASK)
                .into_par_iter()
                .for_each(activate),
            Threads::Caller => activate(x),
        }
    }

    /// Applies the activation to a slice.
    pub fn apply(self, xs: &mut [f32]) {
        match self {
            Activation::Gelu => gelu_erf(xs),
            Activation::GeluTanh => {
                for x in xs {
                    let inner = 0.797_884_6 * (*x + 0.044_715 * *x * *x * *x);
                    *x = 0.5 * *x * (1.0 + inner.tanh());
                }
            }
            Activation::Relu => {
                for x in xs {
                    *x = x.max(0.0);
                }
            }
        }
    }
}

/// Runs `$body` compiled for AVX-512 or AVX2+FMA when the CPU has them,
/// otherwise for the baseline target; the body is the same code either
/// way, and lane-wise, so every variant gives the same results.
macro_rules! dispatch {
    ($name:ident, ($($arg:ident : $ty:ty),*) $(-> $ret:ty)?, $body:block) => {{
        #[cfg(target_arch = "x86_64")]
        {
            #[target_feature(enable = "avx512f,avx2,fma")]
            unsafe fn wide($($arg: $ty),*) $(-> $ret)? $body
            if std::arch::is_x86_feature_detected!("avx512f") {
                // SAFETY: the CPU supports the features the function was
                // compiled for (checked just above).
                return unsafe { wide($($arg),*) };
            }
            #[target_feature(enable = "avx2,fma")]
            unsafe fn $name($($arg: $ty),*) $(-> $ret)? $body
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                // SAFETY: as above.
                return unsafe { $name($($arg),*) };
            }
        }
        $body
    }};
}

/// `x·Φ(x) = x/2·(1 + erf(x/√2))` over a slice.
pub fn gelu_erf(xs: &mut [f32]) {
    dispatch!(gelu_avx2, (xs: &mut [f32]), {
        for x in xs {
            *x = 0.5 * *x * (1.0 + erf(*x * std::f32::consts::FRAC_1_SQRT_2));
        }
    });
}

/// Softmax of one row in place (stable: the maximum is subtracted first).
pub fn softmax_inplace(row: &mut [f32]) {
    dispatch!(softmax_avx2, (row: &mut [f32]), {
        let max = max8(row);
        for x in row.iter_mut() {
            *x = exp(*x - max);
        }
        let inv = 1.0 / sum8(row);
        for x in row.iter_mut() {
            *x *= inv;
        }
    });
}

/// The unnormalised attention weights of one query's scores, in place:
/// `exp(scale · (s + mask − max))`, `max` taken over `s + mask`. A key's
/// `mask` is 0, or −∞ for a padded key, which gets weight 0. Returns the
/// weights' sum, the softmax's divisor.
///
/// This is `softmax(scale · s + mask)` up to that division, which the
/// caller applies to the `d`-wide output rather than the `t`-wide weights.
/// When every key is padded, every weight is 1: Hugging Face's additive
/// mask then leaves a uniform softmax.
///
/// ```
/// use embed_bert::layers::attention_weights;
/// let mut row = [2.0f32, 0.0, 7.0];
/// let sum = attention_weights(&mut row, &[0.0, 0.0, f32::NEG_INFINITY], 0.5);
/// assert_eq!(row[2], 0.0);
/// assert!((row[0] - 1.0).abs() < 1e-6 && (row[1] - (-1.0f32).exp()).abs() < 1e-6);
/// assert!((sum - row[0] - row[1]).abs() < 1e-6);
/// ```
///
/// # Panics
/// When `scores` and `mask` differ in length.
pub fn attention_weights(scores: &mut [f32], mask: &[f32], scale: f32) -> f32 {
    assert_eq!(scores.len(), mask.len(), "one mask entry per key");
    dispatch!(weights_avx2, (scores: &mut [f32], mask: &[f32], scale: f32) -> f32, {
        // Plain loops over the row, which the compiler vectorises.
        for (x, &m) in scores.iter_mut().zip(mask) {
            *x += m;
        }
        let max = max8(scores);
        if max == f32::NEG_INFINITY {
            scores.fill(1.0);
            return scores.len() as f32;
        }
        // `exp` is 0 far below zero, so a padded key's −∞ gives 0.
        for x in scores.iter_mut() {
            *x = exp(scale * (*x - max));
        }
        sum8(scores)
    })
}

/// Scaled dot-product attention of one sequence and head:
/// `out = softmax(q·kᵀ/√d + mask) · v`.
///
/// `key_mask[j] == false` marks a padded key: like Hugging Face, its score
/// gets the most negative f32 added, so it receives no weight. `scores` is
/// a `[t, t]` scratch buffer.
pub fn attention_head(
    q: ArrayView2<'_, f32>,
    k: ArrayView2<'_, f32>,
    v: ArrayView2<'_, f32>,
    key_mask: &[bool],
    mut scores: ArrayViewMut2<'_, f32>,
    mut out: ArrayViewMut2<'_, f32>,
) {
    let scale = 1.0 / (q.ncols() as f32).sqrt();
    matmul_into(q, k.t(), scores.view_mut(), false, false);
    SCRATCH.with(|scratch| {
        let (mask, sums) = &mut *scratch.borrow_mut();
        mask.clear();
        mask.extend(
            key_mask
                .iter()
                .map(|&keep| if keep { 0.0 } else { f32::NEG_INFINITY }),
        );
        sums.clear();
        sums.extend(scores.rows_mut().into_iter().map(|mut row| {
            let row = row.as_slice_mut().expect("scores buffer is contiguous");
            attention_weights(row, mask, scale)
        }));
        matmul_into(scores.view(), v, out.view_mut(), false, false);
        for (mut row, &sum) in out.rows_mut().into_iter().zip(sums.iter()) {
            row *= 1.0 / sum;
        }
    });
}

thread_local! {
    /// One head's additive key mask and softmax divisors, per thread.
    static SCRATCH: std::cell::RefCell<(Vec<f32>, Vec<f32>)> =
        const { std::cell::RefCell::new((Vec::new(), Vec::new())) };
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    /// erf by its Taylor series / continued fraction in f64, for reference.
    fn erf_f64(x: f64) -> f64 {
        // Abramowitz–Stegun 7.1.5 series; f64 cancellation stays below
        // 1e-12 for |x| ≤ 3.
        let mut sum = 0.0;
        let mut term = x;
        let mut n = 0.0;
        while term.abs() > 1e-17 || n < 5.0 {
            sum += term / (2.0 * n + 1.0);
            n += 1.0;
            term *= -x * x / n;
            if n > 200.0 {
                break;
            }
        }
        (sum * 2.0 / std::f64::consts::PI.sqrt()).clamp(-1.0, 1.0)
    }

    #[test]
    fn erf_is_accurate() {
        let mut worst = 0.0f64;
        for i in -3000..=3000 {
            let x = i as f32 / 1000.0;
            let err = (erf(x) as f64 - erf_f64(x as f64)).abs();
            worst = worst.max(err);
        }
        assert!(worst < 5e-7, "max abs error {worst}");
        // Beyond 3, erf is within erfc(3) = 2.2e-5 of ±1.
        for i in 3001..=8000 {
            let x = i as f32 / 1000.0;
            let e = erf(x);
            assert!(e <= 1.0 && e > 1.0 - 2.3e-5, "erf({x}) = {e}");
            assert_eq!(erf(-x), -e);
        }
    }

    #[test]
    fn exp_is_accurate() {
        let mut worst = 0.0f64;
        for i in -8700..=8800 {
            let x = i as f32 / 100.0;
            let exact = (x as f64).exp();
            let rel = ((exp(x) as f64) - exact).abs() / exact;
            worst = worst.max(rel);
        }
        assert!(worst < 3e-7, "max rel error {worst}");
        assert_eq!(exp(f32::MIN), 0.0);
        assert_eq!(exp(-100.0), 0.0);
    }

    #[test]
    fn attention_weights_are_the_masked_softmax_up_to_their_sum() {
        for len in 1..40 {
            let scores: Vec<f32> = (0..len)
                .map(|j| ((j * 37 % 11) as f32 - 5.0) * 1.7)
                .collect();
            let keep: Vec<bool> = (0..len).map(|j| j == 0 || j % 3 != 1).collect();
            let scale = 0.125;
            // Hugging Face's form: scaled scores plus the most negative f32.
            let mut expected: Vec<f32> = scores
                .iter()
                .zip(&keep)
                .map(|(&s, &k)| s * scale + if k { 0.0 } else { f32::MIN })
                .collect();
            softmax_inplace(&mut expected);
            let mask: Vec<f32> = keep
                .iter()
                .map(|&k| if k { 0.0 } else { f32::NEG_INFINITY })
                .collect();
            let mut weights = scores.clone();
            let sum = attention_weights(&mut weights, &mask, scale);
            for (j, (w, e)) in weights.iter().zip(&expected).enumerate() {
                assert!(
                    (w / sum - e).abs() < 1e-6,
                    "len {len}, key {j}: {} vs {e}",
                    w / sum
                );
            }
        }
    }

    #[test]
    fn fully_padded_keys_get_uniform_weights_as_in_hugging_face() {
        let mut expected = vec![1.5f32 + f32::MIN, -0.5 + f32::MIN];
        softmax_inplace(&mut expected);
        let mut weights = [3.0f32, -1.0];
        let sum = attention_weights(&mut weights, &[f32::NEG_INFINITY; 2], 0.5);
        assert_eq!(
            [weights[0] / sum, weights[1] / sum],
            [expected[0], expected[1]]
        );
    }

    #[test]
    fn softmax_ignores_masked_keys() {
        let q = array![[1.0f32, 0.0], [0.0, 1.0]];
        let k = array![[1.0f32, 0.0], [5.0, 5.0]];
        let v = array![[1.0f32, 2.0], [100.0, 100.0]];
        let mut scores = Array2::zeros((2, 2));
        let mut out = Array2::zeros((2, 2));
        attention_head(
            q.view(),
            k.view(),
            v.view(),
            &[true, false],
            scores.view_mut(),
            out.view_mut(),
        );
        assert_eq!(out, array![[1.0, 2.0], [1.0, 2.0]]);
    }

    #[test]
    fn matmul_matches_ndarray_on_strided_views() {
        let a = Array2::from_shape_fn((7, 5), |(i, j)| (i * 5 + j) as f32 * 0.1);
        let b = Array2::from_shape_fn((9, 5), |(i, j)| (i as f32 - j as f32) * 0.3);
        let mut c = Array2::zeros((7, 9));
        matmul_into(a.view(), b.t(), c.view_mut(), false, true);
        let expected = a.dot(&b.t());
        for (x, y) in c.iter().zip(expected.iter()) {
            assert!((x - y).abs() < 1e-4);
        }
    }

    #[test]
    fn matmul_accumulates_in_parallel() {
        let a = Array2::from_shape_fn((5, 300), |(i, j)| ((i * 7 + j) % 13) as f32 * 0.1 - 0.6);
        let b = Array2::from_shape_fn((300, 700), |(i, j)| ((i + 3 * j) % 11) as f32 * 0.05 - 0.25);
        let start = Array2::from_elem((5, 700), 1.0f32);
        for (accumulate, parallel) in [(false, false), (true, true)] {
            let mut c = start.clone();
            matmul_into(a.view(), b.view(), c.view_mut(), accumulate, parallel);
            let mut expected = a.dot(&b);
            if accumulate {
                expected += &start;
            }
            for (x, y) in c.iter().zip(expected.iter()) {
                assert!((x - y).abs() < 1e-3, "{x} vs {y}");
            }
        }
    }

    #[test]
    fn few_and_many_rows_give_the_same_outputs() {
        let weight = Array2::from_shape_fn((70, 40), |(i, j)| {
            ((i * 3 + j * 7) % 17) as f32 * 0.05 - 0.4
        });
        let layer = Linear::from_torch(
            weight.view(),
            Array1::from_shape_fn(70, |i| i as f32 * 0.01),
        );
        let x = Array2::from_shape_fn((40, 40), |(i, j)| ((i * 11 + j) % 9) as f32 * 0.1 - 0.4);
        // 40 rows take the general product, 5 rows the column panels.
        let many = layer.forward(x.view());
        for first in [0, 5, 35] {
            let few = layer.forward(x.slice(ndarray::s![first..first + 5, ..]));
            for (a, b) in few
                .iter()
                .zip(many.slice(ndarray::s![first..first + 5, ..]))
            {
                assert!((a - b).abs() < 1e-5, "{a} vs {b}");
            }
        }
    }

    #[test]
    fn fused_residual_and_activation_match_the_separate_steps() {
        let weight = Array2::from_shape_fn((30, 20), |(i, j)| {
            ((i * 5 + j * 3) % 13) as f32 * 0.05 - 0.3
        });
        let layer = Linear::from_torch(
            weight.view(),
            Array1::from_shape_fn(30, |i| i as f32 * 0.02),
        );
        // 40 rows take the general product, 5 rows the column panels.
        for rows in [40, 5] {
            let x =
                Array2::from_shape_fn((rows, 20), |(i, j)| ((i * 7 + j) % 11) as f32 * 0.1 - 0.5);
            let residual = Array2::from_shape_fn((rows, 30), |(i, j)| (i + 2 * j) as f32 * 0.01);
            for threads in [Threads::Pool, Threads::Caller] {
                let mut fused = Array2::zeros((rows, 30));
                layer.forward_residual_into_on(
                    x.view(),
                    residual.view(),
                    fused.view_mut(),
                    threads,
                );
                let expected = layer.forward(x.view()) + &residual;
                for (a, b) in fused.iter().zip(&expected) {
                    assert!((a - b).abs() < 1e-5, "residual, {rows} rows: {a} vs {b}");
                }
                for activation in [Activation::Gelu, Activation::GeluTanh, Activation::Relu] {
                    let mut fused = Array2::zeros((rows, 30));
                    layer.forward_activated_into_on(
                        x.view(),
                        fused.view_mut(),
                        activation,
                        threads,
                    );
                    let mut expected = layer.forward(x.view());
                    activation.forward_inplace(expected.view_mut());
                    for (a, b) in fused.iter().zip(&expected) {
                        assert!(
                            (a - b).abs() < 1e-5,
                            "{activation:?}, {rows} rows: {a} vs {b}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn layer_norm_matches_the_definition() {
        let ln = LayerNorm {
            weight: array![1.0, 2.0, 0.5],
            bias: array![0.0, 1.0, -1.0],
            eps: 1e-12,
        };
        let mut x = array![[1.0f32, 2.0, 6.0]];
        ln.forward_inplace(x.view_mut());
        let mean = 3.0f32;
        let sd = ((4.0f32 + 1.0 + 9.0) / 3.0).sqrt();
        let expected = [
            (1.0 - mean) / sd,
            (2.0 - mean) / sd * 2.0 + 1.0,
            (6.0 - mean) / sd * 0.5 - 1.0,
        ];
        for (x, e) in x.iter().zip(expected) {
            assert!((x - e).abs() < 1e-6);
        }
    }
}
