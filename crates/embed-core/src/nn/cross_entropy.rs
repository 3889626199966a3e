//! Softmax cross-entropy over a vocabulary, with PyTorch's ignore index
//! (`-100`): rows labelled `-100` add nothing to the loss or gradient.
//!
//! ```
//! use embed_core::nn::cross_entropy::{softmax_cross_entropy, IGNORE_INDEX};
//! use ndarray::array;
//! let mut logits = array![[0.0_f32, 0.0], [5.0, 1.0]];
//! let stats = softmax_cross_entropy(logits.view_mut(), &[1, IGNORE_INDEX], Some(1.0))?;
//! assert!((stats.loss_sum - std::f64::consts::LN_2).abs() < 1e-6);
//! assert_eq!((stats.count, stats.correct), (1, 0));
//! // The logits now hold the gradient: softmax − one-hot, and 0 on ignored rows.
//! assert_eq!(logits, array![[0.5, -0.5], [0.0, 0.0]]);
//! # Ok::<(), embed_core::Error>(())
//! ```

use ndarray::{ArrayView1, ArrayViewMut2};

use super::fastmath::{dispatch, exp, max8, sum8};
use crate::{Error, Result};

/// The label of rows that are not predicted (PyTorch's `ignore_index`).
pub const IGNORE_INDEX: i32 = -100;

/// Loss and accuracy of a batch of rows.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CrossEntropyStats {
    /// Sum of `−log softmax(logits)[label]` over labelled rows, in f64.
    pub loss_sum: f64,
    /// Number of labelled rows.
    pub count: usize,
    /// Labelled rows whose arg-max (first index among equal maxima) is the label.
    pub correct: usize,
}

/// Cross-entropy of every row of `logits` (`[rows, classes]`) against
/// `labels` (one per row, `IGNORE_INDEX` to skip the row).
///
/// With `grad_scale = Some(s)`, `logits` is overwritten by the gradient of
/// `s · loss_sum`: `s·(softmax − one_hot)` on labelled rows and 0 on
/// ignored rows. With `None` the logits are left as they are.
///
/// A label outside `[0, classes)` other than `IGNORE_INDEX` is an error,
/// reported before anything is computed. A non-finite loss is returned as
/// it is (the caller decides what divergence means).
pub fn softmax_cross_entropy(
    mut logits: ArrayViewMut2<'_, f32>,
    labels: &[i32],
    grad_scale: Option<f32>,
) -> Result<CrossEntropyStats> {
    let (rows, classes) = logits.dim();
    if labels.len() != rows {
        return Err(Error::InvalidInput(format!(
            "{} labels for {rows} rows of logits",
            labels.len()
        )));
    }
    if let Some(&bad) = labels
        .iter()
        .find(|&&l| l != IGNORE_INDEX && (l < 0 || l as usize >= classes))
    {
        return Err(Error::InvalidInput(format!(
            "label {bad} is outside the {classes} classes (use {IGNORE_INDEX} to skip a position)"
        )));
    }
    let mut stats = CrossEntropyStats::default();
    let mut scratch = vec![0.0f32; classes];
    for (mut row, &label) in logits.rows_mut().into_iter().zip(labels) {
        match row.as_slice_mut() {
            Some(values) => row_loss(values, label, grad_scale, &mut scratch, &mut stats),
            None => {
                let mut values = row.to_vec();
                row_loss(&mut values, label, grad_scale, &mut scratch, &mut stats);
                row.assign(&ArrayView1::from(&values));
            }
        }
    }
    Ok(stats)
}

/// Loss of one row (label checked), and its gradient in place when asked.
fn row_loss(
    values: &mut [f32],
    label: i32,
    grad_scale: Option<f32>,
    scratch: &mut [f32],
    stats: &mut CrossEntropyStats,
) {
    if label == IGNORE_INDEX {
        if grad_scale.is_some() {
            values.fill(0.0);
        }
        return;
    }
    let label = label as usize;
    let max = max8(values);
    let target = values[label];
    // Correct when the label is the arg-max (the first index on ties).
    if target >= max && values[..label].iter().all(|&v| v < target) {
        stats.correct += 1;
    }
    let sum = exp_shifted(values, max, scratch);
    let log_sum = f64::from(max) + f64::from(sum).ln();
    stats.loss_sum += log_sum - f64::from(target);
    stats.count += 1;
    if let Some(scale) = grad_scale {
        let factor = scale / sum;
        for (v, &e) in values.iter_mut().zip(scratch.iter()) {
            *v = e * factor;
        }
        values[label] -= scale;
    }
}

/// Writes `exp(x − max)` into `out` and returns its sum.
fn exp_shifted(xs: &[f32], max: f32, out: &mut [f32]) -> f32 {
    dispatch!(exp_shifted_avx2, (xs: &[f32], max: f32, out: &mut [f32]) -> f32, {
        for (o, &x) in out.iter_mut().zip(xs) {
            *o = exp(x - max);
        }
        sum8(out)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::gradcheck::{max_relative_error, numerical_gradient};
    use crate::nn::testing::random_array;
    use ndarray::Array2;
    use proptest::prelude::*;

    fn loss(logits: &Array2<f32>, labels: &[i32]) -> f64 {
        let mut copy = logits.clone();
        softmax_cross_entropy(copy.view_mut(), labels, None)
            .unwrap()
            .loss_sum
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        /// Tolerance: 1e-2 relative, gradients below 1e-2 compared
        /// absolutely (f32 logits in [-3, 3), step 1e-2, loss in f64).
        #[test]
        fn gradient_matches_finite_differences(
            rows in 1usize..5, classes in 1usize..12,
            raw in proptest::collection::vec(-1i32..12, 5), seed in 0u64..1000, scale in 0.1f32..2.0,
        ) {
            let labels: Vec<i32> = raw[..rows].iter().map(|&l| if l < 0 { IGNORE_INDEX } else { l % classes as i32 }).collect();
            let mut logits: Array2<f32> = random_array((rows, classes), seed) * 3.0;
            let mut grad = logits.clone();
            let stats = softmax_cross_entropy(grad.view_mut(), &labels, Some(scale)).unwrap();
            prop_assert_eq!(stats.count, labels.iter().filter(|&&l| l >= 0).count());
            let dim = logits.dim();
            let numeric = numerical_gradient(logits.as_slice_mut().unwrap(), 1e-2, |xs| {
                f64::from(scale) * loss(&Array2::from_shape_vec(dim, xs.to_vec()).unwrap(), &labels)
            });
            prop_assert!(max_relative_error(grad.as_slice().unwrap(), &numeric, 1e-2) < 1e-2);
        }
    }

    #[test]
    fn matches_log_softmax_in_f64_and_counts_correct_rows() {
        let mut logits =
            Array2::from_shape_vec((2, 3), vec![1.0f32, 2.0, 3.0, 10.0, -10.0, 0.0]).unwrap();
        let stats = softmax_cross_entropy(logits.view_mut(), &[2, 1], None).unwrap();
        let lse0 = (1f64.exp() + 2f64.exp() + 3f64.exp()).ln();
        let lse1 = (10f64.exp() + (-10f64).exp() + 1.0).ln();
        assert!((stats.loss_sum - (lse0 - 3.0 + lse1 + 10.0)).abs() < 1e-5);
        assert_eq!((stats.count, stats.correct), (2, 1));
    }

    #[test]
    fn bad_labels_are_errors() {
        let mut logits = Array2::<f32>::zeros((2, 3));
        for labels in [vec![0, 3], vec![-1, 0], vec![0]] {
            let err = softmax_cross_entropy(logits.view_mut(), &labels, Some(1.0)).unwrap_err();
            assert!(matches!(err, Error::InvalidInput(_)), "{labels:?}: {err}");
        }
    }

    #[test]
    fn strided_rows_get_their_gradient() {
        let base = random_array::<_, ndarray::Ix2>((4, 3), 9);
        let mut t = base.t().to_owned(); // standard [3, 4]
        let mut strided = t.view_mut().reversed_axes(); // [4, 3], not contiguous rows
        let mut contiguous = base.clone();
        let labels = [0, IGNORE_INDEX, 2, 1];
        let a = softmax_cross_entropy(strided.view_mut(), &labels, Some(1.0)).unwrap();
        let b = softmax_cross_entropy(contiguous.view_mut(), &labels, Some(1.0)).unwrap();
        assert_eq!(a, b);
        assert_eq!(strided.to_owned(), contiguous);
    }
}
