//! Softmax output layers over a vocabulary: the full softmax and
//! TensorFlow's sampled softmax (`tf.nn.sampled_softmax_loss` with a
//! log-uniform candidate sampler, `unique=True` and
//! `remove_accidental_hits=True`), as bilm-tf trains ELMo.
//!
//! Both compute `logits = h @ Wᵀ + b` with the weight `[classes, dim]` (one
//! row per class) and return the cross-entropy against each row's target
//! together with the gradients.
//!
//! The sampled softmax scores each row against its target and a set of
//! classes drawn once for the whole batch. Each logit is corrected by
//! subtracting the log of the class's expected count under the sampler,
//! which makes the sampled loss an estimate of the full one; a sampled class
//! equal to a row's target (an accidental hit) is removed from that row.
//! The log-uniform (Zipfian) sampler assumes class ids are ordered from the
//! most to the least frequent:
//!
//! ```text
//! P(k) = (ln(k + 2) − ln(k + 1)) / ln(classes + 1)
//! ```
//!
//! ```
//! use embed_core::nn::sampled_softmax::{full_softmax_loss, LogUniformSampler, SoftmaxParams};
//! use ndarray::{array, Array1, Array2};
//! let weight = Array2::<f32>::zeros((4, 2));
//! let bias = Array1::<f32>::zeros(4);
//! let params = SoftmaxParams { weight: weight.view(), bias: bias.view() };
//! // Uniform logits over 4 classes: the loss is ln 4 per row.
//! let loss = full_softmax_loss(&params, array![[1.0f32, 2.0]].view(), &[3], &[1.0], None)?;
//! assert!((loss.nll_sum - 4f64.ln()).abs() < 1e-6);
//!
//! let sampler = LogUniformSampler::new(1000)?;
//! let sample = sampler.sample_unique(10, &mut embed_core::seed::rng(1, 0))?;
//! assert_eq!(sample.ids.len(), 10);
//! assert!(sample.tries >= 10);
//! # Ok::<(), embed_core::Error>(())
//! ```

use std::collections::HashSet;

use ndarray::{s, Array1, Array2, ArrayView1, ArrayView2, ArrayViewMut1, ArrayViewMut2, Axis};
use rand::Rng as _;

use super::cross_entropy::{softmax_cross_entropy, IGNORE_INDEX};
use crate::linalg::matmul_into;
use crate::seed::Rng;
use crate::{Error, Result};

/// Rows of logits the full softmax holds at once.
const FULL_SOFTMAX_BLOCK: usize = 256;

/// TensorFlow's log-uniform (Zipfian) candidate sampler over `[0, range_max)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LogUniformSampler {
    range_max: usize,
    log_range: f64,
}

/// Classes drawn without repetition, and how many draws that took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SampledIds {
    /// Distinct class ids, in the order drawn.
    pub ids: Vec<u32>,
    /// Number of draws (with repetition) needed to collect them.
    pub tries: u64,
}

impl LogUniformSampler {
    /// A sampler over `range_max` classes (at least 1).
    pub fn new(range_max: usize) -> Result<Self> {
        if range_max == 0 || range_max > u32::MAX as usize {
            return Err(Error::invalid_parameter(
                "vocab_size",
                format!(
                    "the sampler needs 1..={} classes, got {range_max}",
                    u32::MAX
                ),
            ));
        }
        Ok(LogUniformSampler {
            range_max,
            log_range: (range_max as f64 + 1.0).ln(),
        })
    }

    /// Number of classes.
    pub fn range_max(&self) -> usize {
        self.range_max
    }

    /// The probability of drawing `id` in one draw.
    pub fn probability(&self, id: u32) -> f64 {
        let k = f64::from(id);
        ((k + 2.0) / (k + 1.0)).ln() / self.log_range
    }

    /// One draw.
    pub fn sample(&self, rng: &mut Rng) -> u32 {
        let u: f64 = rng.gen();
        let value = ((u * self.log_range).exp() as u64).saturating_sub(1);
        (value % self.range_max as u64) as u32
    }

    /// Draws until `count` distinct ids are collected (TensorFlow's
    /// `unique=True`).
    pub fn sample_unique(&self, count: usize, rng: &mut Rng) -> Result<SampledIds> {
        if count > self.range_max {
            return Err(Error::invalid_parameter(
                "samples",
                format!(
                    "{count} distinct samples asked from {} classes",
                    self.range_max
                ),
            ));
        }
        let mut seen = HashSet::with_capacity(count);
        let mut ids = Vec::with_capacity(count);
        let mut tries = 0u64;
        while ids.len() < count {
            let id = self.sample(rng);
            tries += 1;
            if seen.insert(id) {
                ids.push(id);
            }
        }
        Ok(SampledIds { ids, tries })
    }

    /// The expected number of times `id` appears among `tries` draws, as
    /// TensorFlow computes it for unique sampling: `1 − (1 − p)^tries`, or
    /// `p · samples` when no draw was repeated.
    pub fn expected_count(&self, id: u32, sample: &SampledIds) -> f64 {
        let p = self.probability(id);
        if sample.tries == sample.ids.len() as u64 {
            p * sample.ids.len() as f64
        } else {
            -((sample.tries as f64) * (-p).ln_1p()).exp_m1()
        }
    }
}

/// The softmax layer's weights.
#[derive(Debug, Clone, Copy)]
pub struct SoftmaxParams<'a> {
    /// `[classes, dim]`.
    pub weight: ArrayView2<'a, f32>,
    /// `[classes]`.
    pub bias: ArrayView1<'a, f32>,
}

/// Gradients of the softmax layer's weights; losses add to them.
#[derive(Debug)]
pub struct SoftmaxGrads<'a> {
    /// `[classes, dim]`.
    pub weight: ArrayViewMut2<'a, f32>,
    /// `[classes]`.
    pub bias: ArrayViewMut1<'a, f32>,
}

/// The loss of a batch of rows.
#[derive(Debug, Clone)]
pub struct SoftmaxLoss {
    /// Sum of the cross-entropy over the rows with a non-zero weight (not
    /// weighted), in f64.
    pub nll_sum: f64,
    /// Number of rows with a non-zero weight.
    pub count: usize,
    /// The gradient of `Σ weight · cross-entropy` with respect to the
    /// hidden rows, when gradients were asked for.
    pub d_hidden: Option<Array2<f32>>,
}

fn check_inputs(
    params: &SoftmaxParams<'_>,
    hidden: ArrayView2<'_, f32>,
    targets: &[u32],
    row_weights: &[f32],
) -> Result<()> {
    let (classes, dim) = params.weight.dim();
    if params.bias.len() != classes {
        return Err(Error::ShapeMismatch {
            name: "softmax bias".into(),
            expected: vec![classes],
            actual: vec![params.bias.len()],
        });
    }
    if hidden.ncols() != dim {
        return Err(Error::ShapeMismatch {
            name: "softmax input".into(),
            expected: vec![hidden.nrows(), dim],
            actual: hidden.shape().to_vec(),
        });
    }
    if targets.len() != hidden.nrows() || row_weights.len() != hidden.nrows() {
        return Err(Error::InvalidInput(format!(
            "{} targets and {} weights for {} rows",
            targets.len(),
            row_weights.len(),
            hidden.nrows()
        )));
    }
    if let Some((&bad, _)) = targets
        .iter()
        .zip(row_weights)
        .find(|&(&t, &w)| w != 0.0 && t as usize >= classes)
    {
        return Err(Error::InvalidInput(format!(
            "target {bad} is outside the {classes} classes"
        )));
    }
    Ok(())
}

fn check_grads(params: &SoftmaxParams<'_>, grads: &SoftmaxGrads<'_>) -> Result<()> {
    if grads.weight.shape() != params.weight.shape() || grads.bias.shape() != params.bias.shape() {
        return Err(Error::ShapeMismatch {
            name: "softmax gradient".into(),
            expected: params.weight.shape().to_vec(),
            actual: grads.weight.shape().to_vec(),
        });
    }
    Ok(())
}

/// Multiplies each row of `d` by its weight.
fn weigh_rows(mut d: ArrayViewMut2<'_, f32>, row_weights: &[f32]) {
    for (mut row, &w) in d.rows_mut().into_iter().zip(row_weights) {
        row.mapv_inplace(|v| v * w);
    }
}

/// Cross-entropy of every row of `hidden` (`[rows, dim]`) against its
/// target over all classes. Rows whose weight is 0 are skipped; with
/// `grads`, the gradient of `Σ weight · cross-entropy` is added to them and
/// returned for `hidden`.
pub fn full_softmax_loss(
    params: &SoftmaxParams<'_>,
    hidden: ArrayView2<'_, f32>,
    targets: &[u32],
    row_weights: &[f32],
    grads: Option<&mut SoftmaxGrads<'_>>,
) -> Result<SoftmaxLoss> {
    check_inputs(params, hidden, targets, row_weights)?;
    let mut grads = grads;
    if let Some(g) = grads.as_deref() {
        check_grads(params, g)?;
    }
    let classes = params.weight.nrows();
    let labels: Vec<i32> = targets
        .iter()
        .zip(row_weights)
        .map(|(&t, &w)| if w != 0.0 { t as i32 } else { IGNORE_INDEX })
        .collect();
    let mut d_hidden = grads.as_ref().map(|_| Array2::zeros(hidden.raw_dim()));
    let (mut nll_sum, mut count) = (0.0, 0);
    // Blocks of rows bound the logits' memory for large vocabularies.
    let block = FULL_SOFTMAX_BLOCK.min(hidden.nrows()).max(1);
    let mut logits = Array2::zeros((block, classes));
    for start in (0..hidden.nrows()).step_by(block) {
        let end = (start + block).min(hidden.nrows());
        let rows = hidden.slice(s![start..end, ..]);
        let mut logits = logits.slice_mut(s![..end - start, ..]);
        matmul_into(rows, params.weight.t(), logits.view_mut(), false, false);
        logits += &params.bias;
        let want_grads = grads.is_some();
        let stats = softmax_cross_entropy(
            logits.view_mut(),
            &labels[start..end],
            want_grads.then_some(1.0),
        )?;
        nll_sum += stats.loss_sum;
        count += stats.count;
        if let (Some(grads), Some(d_hidden)) = (grads.as_deref_mut(), d_hidden.as_mut()) {
            weigh_rows(logits.view_mut(), &row_weights[start..end]);
            matmul_into(
                logits.view(),
                params.weight,
                d_hidden.slice_mut(s![start..end, ..]),
                false,
                false,
            );
            matmul_into(logits.t(), rows, grads.weight.view_mut(), true, false);
            grads.bias += &logits.sum_axis(Axis(0));
        }
    }
    Ok(SoftmaxLoss {
        nll_sum,
        count,
        d_hidden,
    })
}

/// The sampled softmax loss of every row of `hidden` against its target and
/// the classes of `sample` (drawn by `sampler`), with the log
/// expected-count correction and accidental hits removed. Rows whose weight
/// is 0 are skipped; with `grads`, the gradient of `Σ weight · loss` is
/// added to them (only the target and sampled rows of the weight change)
/// and returned for `hidden`.
pub fn sampled_softmax_loss(
    params: &SoftmaxParams<'_>,
    hidden: ArrayView2<'_, f32>,
    targets: &[u32],
    row_weights: &[f32],
    sampler: &LogUniformSampler,
    sample: &SampledIds,
    grads: Option<&mut SoftmaxGrads<'_>>,
) -> Result<SoftmaxLoss> {
    if let Some(g) = grads.as_deref() {
        check_grads(params, g)?;
    }
    let (loss, rows) = sampled_softmax(
        params,
        hidden,
        targets,
        row_weights,
        sampler,
        sample,
        grads.is_some(),
    )?;
    if let (Some(grads), Some(rows)) = (grads, rows) {
        rows.add_to(grads)?;
    }
    Ok(loss)
}

/// [`sampled_softmax_loss`] with the weight gradient returned as the rows
/// it touches rather than added to a dense gradient (a large vocabulary's
/// weight gradient is mostly zeros).
pub fn sampled_softmax_loss_rows(
    params: &SoftmaxParams<'_>,
    hidden: ArrayView2<'_, f32>,
    targets: &[u32],
    row_weights: &[f32],
    sampler: &LogUniformSampler,
    sample: &SampledIds,
) -> Result<(SoftmaxLoss, SoftmaxRowGrads)> {
    let (loss, rows) =
        sampled_softmax(params, hidden, targets, row_weights, sampler, sample, true)?;
    Ok((loss, rows.unwrap_or_default()))
}

/// Gradients of some rows of the softmax layer: row `k` of `weight` and
/// `bias[k]` belong to class `rows[k]`. A class may appear more than once;
/// its gradient is the sum.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SoftmaxRowGrads {
    /// The class of each row.
    pub rows: Vec<u32>,
    /// `[rows, dim]`.
    pub weight: Array2<f32>,
    /// One value per row.
    pub bias: Vec<f32>,
}

impl SoftmaxRowGrads {
    /// Adds these rows to a dense gradient.
    pub fn add_to(&self, grads: &mut SoftmaxGrads<'_>) -> Result<()> {
        let (classes, dim) = grads.weight.dim();
        if self.weight.dim() != (self.rows.len(), dim) || self.bias.len() != self.rows.len() {
            return Err(Error::ShapeMismatch {
                name: "softmax row gradients".into(),
                expected: vec![self.rows.len(), dim],
                actual: self.weight.shape().to_vec(),
            });
        }
        if let Some(&bad) = self.rows.iter().find(|&&r| r as usize >= classes) {
            return Err(Error::InvalidInput(format!(
                "gradient row for class {bad} of {classes}"
            )));
        }
        for ((&class, row), &b) in self.rows.iter().zip(self.weight.rows()).zip(&self.bias) {
            let mut target = grads.weight.row_mut(class as usize);
            target += &row;
            grads.bias[class as usize] += b;
        }
        Ok(())
    }
}

fn sampled_softmax(
    params: &SoftmaxParams<'_>,
    hidden: ArrayView2<'_, f32>,
    targets: &[u32],
    row_weights: &[f32],
    sampler: &LogUniformSampler,
    sample: &SampledIds,
    want_grads: bool,
) -> Result<(SoftmaxLoss, Option<SoftmaxRowGrads>)> {
    check_inputs(params, hidden, targets, row_weights)?;
    let (classes, dim) = params.weight.dim();
    if sampler.range_max() != classes {
        return Err(Error::InvalidInput(format!(
            "the sampler draws from {} classes, the softmax has {classes}",
            sampler.range_max()
        )));
    }
    if let Some(&bad) = sample.ids.iter().find(|&&id| id as usize >= classes) {
        return Err(Error::InvalidInput(format!(
            "sampled class {bad} is outside the {classes} classes"
        )));
    }
    let n_sampled = sample.ids.len();
    let rows = hidden.nrows();
    let mut sampled_weight = Array2::<f32>::zeros((n_sampled, dim));
    let mut sampled_shift = Array1::<f32>::zeros(n_sampled);
    for (k, &id) in sample.ids.iter().enumerate() {
        sampled_weight
            .row_mut(k)
            .assign(&params.weight.row(id as usize));
        sampled_shift[k] =
            params.bias[id as usize] - sampler.expected_count(id, sample).ln() as f32;
    }
    // Column 0 holds each row's target logit, the rest the sampled ones.
    let mut logits = Array2::<f32>::zeros((rows, 1 + n_sampled));
    matmul_into(
        hidden,
        sampled_weight.t(),
        logits.slice_mut(s![.., 1..]),
        false,
        false,
    );
    let mut labels = vec![IGNORE_INDEX; rows];
    for (n, mut row) in logits.rows_mut().into_iter().enumerate() {
        if row_weights[n] == 0.0 {
            continue;
        }
        labels[n] = 0;
        let target = targets[n];
        let t = target as usize;
        row[0] = params.weight.row(t).dot(&hidden.row(n)) + params.bias[t]
            - sampler.expected_count(target, sample).ln() as f32;
        for (k, &id) in sample.ids.iter().enumerate() {
            row[1 + k] = if id == target {
                f32::MIN
            } else {
                row[1 + k] + sampled_shift[k]
            };
        }
    }
    let stats = softmax_cross_entropy(logits.view_mut(), &labels, want_grads.then_some(1.0))?;
    if !want_grads {
        let loss = SoftmaxLoss {
            nll_sum: stats.loss_sum,
            count: stats.count,
            d_hidden: None,
        };
        return Ok((loss, None));
    }
    weigh_rows(logits.view_mut(), row_weights);
    let d_sampled = logits.slice(s![.., 1..]);
    let mut d_hidden = Array2::zeros(hidden.raw_dim());
    matmul_into(
        d_sampled,
        sampled_weight.view(),
        d_hidden.view_mut(),
        false,
        false,
    );
    // Rows of the weight gradient: the sampled classes, then one per
    // counted target.
    let counted: Vec<usize> = (0..rows).filter(|&n| logits[[n, 0]] != 0.0).collect();
    let mut grads = SoftmaxRowGrads {
        rows: sample.ids.clone(),
        weight: Array2::zeros((n_sampled + counted.len(), dim)),
        bias: d_sampled.sum_axis(Axis(0)).to_vec(),
    };
    matmul_into(
        d_sampled.t(),
        hidden,
        grads.weight.slice_mut(s![..n_sampled, ..]),
        false,
        false,
    );
    for (k, &n) in counted.iter().enumerate() {
        let d = logits[[n, 0]];
        let t = targets[n];
        d_hidden
            .row_mut(n)
            .scaled_add(d, &params.weight.row(t as usize));
        grads
            .weight
            .row_mut(n_sampled + k)
            .scaled_add(d, &hidden.row(n));
        grads.rows.push(t);
        grads.bias.push(d);
    }
    let loss = SoftmaxLoss {
        nll_sum: stats.loss_sum,
        count: stats.count,
        d_hidden: Some(d_hidden),
    };
    Ok((loss, Some(grads)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::gradcheck::{max_relative_error, numerical_gradient};
    use crate::nn::testing::random_array;
    use proptest::prelude::*;

    #[test]
    fn the_sampler_follows_the_log_uniform_law() {
        let sampler = LogUniformSampler::new(10).unwrap();
        let total: f64 = (0..10).map(|k| sampler.probability(k)).sum();
        assert!((total - 1.0).abs() < 1e-12);
        let mut counts = [0usize; 10];
        let mut rng = crate::seed::rng(3, 0);
        let draws = 200_000;
        for _ in 0..draws {
            counts[sampler.sample(&mut rng) as usize] += 1;
        }
        for (k, &c) in counts.iter().enumerate() {
            let p = sampler.probability(k as u32);
            // Five standard deviations of a binomial count.
            let sd = (draws as f64 * p * (1.0 - p)).sqrt();
            assert!(
                (c as f64 - draws as f64 * p).abs() < 5.0 * sd,
                "class {k}: {c}"
            );
        }
    }

    #[test]
    fn unique_samples_and_their_expected_counts() {
        let sampler = LogUniformSampler::new(50).unwrap();
        let sample = sampler
            .sample_unique(20, &mut crate::seed::rng(5, 0))
            .unwrap();
        let distinct: HashSet<u32> = sample.ids.iter().copied().collect();
        assert_eq!(distinct.len(), 20);
        assert!(sample.tries > 20);
        let p = sampler.probability(0);
        let expected = 1.0 - (1.0 - p).powf(sample.tries as f64);
        assert!((sampler.expected_count(0, &sample) - expected).abs() < 1e-12);
        let once = SampledIds {
            ids: vec![3, 4],
            tries: 2,
        };
        assert!((sampler.expected_count(7, &once) - 2.0 * sampler.probability(7)).abs() < 1e-15);
        assert!(sampler
            .sample_unique(51, &mut crate::seed::rng(5, 0))
            .is_err());
        assert!(LogUniformSampler::new(0).is_err());
    }

    #[test]
    fn sampled_logits_follow_the_definition() {
        // One row, target 2, samples {0, 2, 3}: sample 2 is an accidental hit.
        let weight: Array2<f32> = random_array((5, 3), 1);
        let bias: Array1<f32> = random_array(5, 2);
        let hidden: Array2<f32> = random_array((1, 3), 3);
        let sampler = LogUniformSampler::new(5).unwrap();
        let sample = SampledIds {
            ids: vec![0, 2, 3],
            tries: 4,
        };
        let params = SoftmaxParams {
            weight: weight.view(),
            bias: bias.view(),
        };
        let loss = sampled_softmax_loss(
            &params,
            hidden.view(),
            &[2],
            &[1.0],
            &sampler,
            &sample,
            None,
        )
        .unwrap();
        let logit = |k: usize| {
            f64::from(weight.row(k).dot(&hidden.row(0)) + bias[k])
                - sampler.expected_count(k as u32, &sample).ln()
        };
        let (t, a, b) = (logit(2), logit(0), logit(3));
        let expected = (t.exp() + a.exp() + b.exp()).ln() - t;
        assert!(
            (loss.nll_sum - expected).abs() < 1e-5,
            "{} vs {expected}",
            loss.nll_sum
        );
        assert_eq!(loss.count, 1);
    }

    #[test]
    fn full_softmax_in_blocks_equals_row_by_row() {
        let rows = 2 * FULL_SOFTMAX_BLOCK + 3;
        let weight: Array2<f32> = random_array((7, 3), 1);
        let bias: Array1<f32> = random_array(7, 2);
        let hidden: Array2<f32> = random_array((rows, 3), 3);
        let targets: Vec<u32> = (0..rows as u32).map(|r| r % 7).collect();
        let row_weights: Vec<f32> = (0..rows).map(|r| (r % 3) as f32 * 0.5).collect();
        let params = SoftmaxParams {
            weight: weight.view(),
            bias: bias.view(),
        };
        let (mut gw, mut gb) = (Array2::zeros((7, 3)), Array1::zeros(7));
        let mut grads = SoftmaxGrads {
            weight: gw.view_mut(),
            bias: gb.view_mut(),
        };
        let all = full_softmax_loss(
            &params,
            hidden.view(),
            &targets,
            &row_weights,
            Some(&mut grads),
        )
        .unwrap();
        let (mut rw, mut rb) = (Array2::zeros((7, 3)), Array1::zeros(7));
        let mut nll = 0.0;
        for r in 0..rows {
            let mut grads = SoftmaxGrads {
                weight: rw.view_mut(),
                bias: rb.view_mut(),
            };
            let one = full_softmax_loss(
                &params,
                hidden.slice(s![r..r + 1, ..]),
                &targets[r..r + 1],
                &row_weights[r..r + 1],
                Some(&mut grads),
            )
            .unwrap();
            nll += one.nll_sum;
            let d = one.d_hidden.unwrap();
            assert!((&d.row(0) - &all.d_hidden.as_ref().unwrap().row(r))
                .iter()
                .all(|x| x.abs() < 1e-6));
        }
        assert_eq!(all.count, row_weights.iter().filter(|&&w| w != 0.0).count());
        assert!((all.nll_sum - nll).abs() < 1e-6 * nll);
        assert!((&gw - &rw)
            .iter()
            .chain((&gb - &rb).iter())
            .all(|x| x.abs() < 1e-4));
    }

    #[test]
    fn row_gradients_add_up_to_the_dense_ones() {
        let weight: Array2<f32> = random_array((30, 4), 1);
        let bias: Array1<f32> = random_array(30, 2);
        let hidden: Array2<f32> = random_array((6, 4), 3);
        let targets = [0u32, 5, 5, 29, 1, 0];
        let row_weights = [0.5f32, 1.0, 0.0, 0.25, 1.0, 1.0];
        let sampler = LogUniformSampler::new(30).unwrap();
        let sample = sampler
            .sample_unique(8, &mut crate::seed::rng(2, 0))
            .unwrap();
        let params = SoftmaxParams {
            weight: weight.view(),
            bias: bias.view(),
        };
        let (mut gw, mut gb) = (Array2::zeros((30, 4)), Array1::zeros(30));
        let dense = sampled_softmax_loss(
            &params,
            hidden.view(),
            &targets,
            &row_weights,
            &sampler,
            &sample,
            Some(&mut SoftmaxGrads {
                weight: gw.view_mut(),
                bias: gb.view_mut(),
            }),
        )
        .unwrap();
        let (sparse, rows) = sampled_softmax_loss_rows(
            &params,
            hidden.view(),
            &targets,
            &row_weights,
            &sampler,
            &sample,
        )
        .unwrap();
        assert_eq!(dense.nll_sum, sparse.nll_sum);
        assert_eq!(dense.d_hidden, sparse.d_hidden);
        let (mut rw, mut rb) = (Array2::zeros((30, 4)), Array1::zeros(30));
        rows.add_to(&mut SoftmaxGrads {
            weight: rw.view_mut(),
            bias: rb.view_mut(),
        })
        .unwrap();
        assert_eq!((gw, gb), (rw, rb));
        assert_eq!(rows.rows.len(), 8 + 5);
    }

    /// Which loss a gradient test checks.
    #[derive(Debug, Clone, Copy)]
    enum Kind {
        Full,
        Sampled,
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]
        /// Gradients of `Σ weight · loss` within 1e-2 relative (below 0.1
        /// absolute) of central differences with step 1e-2; one row has
        /// weight 0 and must get no gradient.
        #[test]
        fn gradients_match_finite_differences(
            rows in 1usize..4,
            dim in 1usize..5,
            classes in 2usize..9,
            kind in prop_oneof![Just(Kind::Full), Just(Kind::Sampled)],
            seed in 0u64..1000,
        ) {
            use rand::Rng as _;
            let mut rng = crate::seed::rng(seed, 1);
            let weight: Array2<f32> = random_array((classes, dim), seed);
            let bias: Array1<f32> = random_array(classes, seed + 1);
            let hidden: Array2<f32> = random_array((rows + 1, dim), seed + 2);
            let targets: Vec<u32> = (0..=rows).map(|_| rng.gen_range(0..classes as u32)).collect();
            let mut row_weights: Vec<f32> = (0..rows).map(|_| rng.gen_range(0.1f32..1.0)).collect();
            row_weights.push(0.0);
            let sampler = LogUniformSampler::new(classes).unwrap();
            let sample = sampler.sample_unique(classes / 2 + 1, &mut rng).unwrap();
            let loss = |w: &Array2<f32>, b: &Array1<f32>, h: &Array2<f32>| -> f64 {
                let params = SoftmaxParams { weight: w.view(), bias: b.view() };
                // The weighted sum, through the unweighted one row by row.
                (0..h.nrows()).filter(|&n| row_weights[n] != 0.0).map(|n| {
                    let row = h.slice(s![n..n + 1, ..]);
                    let l = match kind {
                        Kind::Full => full_softmax_loss(&params, row, &targets[n..n + 1], &[1.0], None),
                        Kind::Sampled => sampled_softmax_loss(&params, row, &targets[n..n + 1], &[1.0], &sampler, &sample, None),
                    };
                    f64::from(row_weights[n]) * l.unwrap().nll_sum
                }).sum()
            };
            let mut gw = Array2::zeros(weight.raw_dim());
            let mut gb = Array1::zeros(bias.raw_dim());
            let params = SoftmaxParams { weight: weight.view(), bias: bias.view() };
            let mut grads = SoftmaxGrads { weight: gw.view_mut(), bias: gb.view_mut() };
            let result = match kind {
                Kind::Full => full_softmax_loss(&params, hidden.view(), &targets, &row_weights, Some(&mut grads)),
                Kind::Sampled => sampled_softmax_loss(&params, hidden.view(), &targets, &row_weights, &sampler, &sample, Some(&mut grads)),
            }.unwrap();
            prop_assert_eq!(result.count, rows);
            let dh = result.d_hidden.unwrap();
            prop_assert!(dh.row(rows).iter().all(|&g| g == 0.0));

            let mut values = weight.clone();
            let numeric = numerical_gradient(values.as_slice_mut().unwrap(), 1e-2, |v| {
                loss(&Array2::from_shape_vec(weight.raw_dim(), v.to_vec()).unwrap(), &bias, &hidden)
            });
            prop_assert!(max_relative_error(gw.as_slice().unwrap(), &numeric, 1e-1) < 1e-2, "weight");
            let mut values = bias.clone();
            let numeric = numerical_gradient(values.as_slice_mut().unwrap(), 1e-2, |v| {
                loss(&weight, &Array1::from_vec(v.to_vec()), &hidden)
            });
            prop_assert!(max_relative_error(gb.as_slice().unwrap(), &numeric, 1e-1) < 1e-2, "bias");
            let mut values = hidden.clone();
            let numeric = numerical_gradient(values.as_slice_mut().unwrap(), 1e-2, |v| {
                loss(&weight, &bias, &Array2::from_shape_vec(hidden.raw_dim(), v.to_vec()).unwrap())
            });
            prop_assert!(max_relative_error(dh.as_slice().unwrap(), &numeric, 1e-1) < 1e-2, "hidden");
        }
    }
}
