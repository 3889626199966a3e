//! Row softmax and its backward pass.
//!
//! ```
//! use embed_core::nn::softmax::{softmax_backward, softmax_inplace};
//! let mut p = [1.0_f32, 1.0, 1.0, 1.0];
//! softmax_inplace(&mut p);
//! assert!(p.iter().all(|&v| (v - 0.25).abs() < 1e-7));
//! // A gradient equal on every entry does not change a softmax.
//! let mut d = [3.0_f32; 4];
//! softmax_backward(&p, &mut d);
//! assert!(d.iter().all(|v| v.abs() < 1e-6));
//! ```

use super::fastmath::{dispatch, dot8, exp, max8, sum8};

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

/// Turns `dp = ∂L/∂p` into `∂L/∂s = p ⊙ (dp − ⟨dp, p⟩)` in place, where
/// `p = softmax(s)`.
///
/// # Panics
/// When the slices differ in length.
pub fn softmax_backward(probs: &[f32], dp: &mut [f32]) {
    assert_eq!(probs.len(), dp.len(), "softmax: lengths differ");
    let inner = dot8(probs, dp);
    for (d, &p) in dp.iter_mut().zip(probs) {
        *d = p * (*d - inner);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::gradcheck::{max_relative_error, numerical_gradient, weighted_sum};
    use crate::nn::testing::random_array;
    use ndarray::Array1;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        /// Tolerance: 1e-2 relative, gradients below 1e-2 compared
        /// absolutely (f32 forward, step 1e-2, scores in [-3, 3)).
        #[test]
        fn gradient_matches_finite_differences(n in 1usize..20, seed in 0u64..1000) {
            let mut s: Array1<f32> = random_array(n, seed) * 3.0;
            let r: Vec<f32> = random_array(n, seed + 1).to_vec();
            let mut p = s.to_vec();
            softmax_inplace(&mut p);
            let mut d = r.clone();
            softmax_backward(&p, &mut d);
            let numeric = numerical_gradient(s.as_slice_mut().unwrap(), 1e-2, |xs| {
                let mut p = xs.to_vec();
                softmax_inplace(&mut p);
                weighted_sum(&p, &r)
            });
            prop_assert!(max_relative_error(&d, &numeric, 1e-2) < 1e-2);
        }
    }
}
