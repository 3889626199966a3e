//! GELU with the exact normal CDF, `gelu(x) = x·Φ(x) = x/2·(1 + erf(x/√2))`
//! (BERT's `gelu`), and its derivative `Φ(x) + x·φ(x)`.
//!
//! ```
//! use embed_core::nn::gelu::{gelu_backward, gelu_forward};
//! let x = [0.0_f32, 1.0, -1.0];
//! let mut y = [0.0_f32; 3];
//! gelu_forward(&x, &mut y);
//! assert!((y[1] - 0.841_344_7).abs() < 1e-6);
//! let mut d = [1.0_f32; 3];
//! gelu_backward(&x, &mut d);
//! assert!((d[0] - 0.5).abs() < 1e-6); // Φ(0)
//! ```

use super::fastmath::{dispatch, erf, exp};

const FRAC_1_SQRT_2PI: f32 = 0.398_942_3;

/// `y = gelu(x)` element-wise.
///
/// # Panics
/// When the slices differ in length.
pub fn gelu_forward(x: &[f32], y: &mut [f32]) {
    assert_eq!(x.len(), y.len(), "gelu: lengths differ");
    dispatch!(gelu_forward_avx2, (x: &[f32], y: &mut [f32]), {
        for (y, &x) in y.iter_mut().zip(x) {
            *y = 0.5 * x * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2));
        }
    });
}

/// `gelu(x)` in place.
pub fn gelu_inplace(x: &mut [f32]) {
    dispatch!(gelu_inplace_avx2, (x: &mut [f32]), {
        for x in x.iter_mut() {
            *x = 0.5 * *x * (1.0 + erf(*x * std::f32::consts::FRAC_1_SQRT_2));
        }
    });
}

/// Turns `dy` into `dx = dy ⊙ gelu'(x)` in place, where `x` is the
/// forward pass's input.
///
/// # Panics
/// When the slices differ in length.
pub fn gelu_backward(x: &[f32], dy: &mut [f32]) {
    assert_eq!(x.len(), dy.len(), "gelu: lengths differ");
    dispatch!(gelu_backward_avx2, (x: &[f32], dy: &mut [f32]), {
        for (d, &x) in dy.iter_mut().zip(x) {
            let cdf = 0.5 * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2));
            let pdf = FRAC_1_SQRT_2PI * exp(-0.5 * x * x);
            *d *= cdf + x * pdf;
        }
    });
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
        /// absolutely (f32 forward, step 1e-2 on inputs in [-4, 4)).
        #[test]
        fn gradient_matches_finite_differences(n in 1usize..40, seed in 0u64..1000) {
            let mut x: Array1<f32> = random_array(n, seed) * 4.0;
            let r: Array1<f32> = random_array(n, seed + 1);
            let r = r.to_vec();
            let mut d = r.clone();
            gelu_backward(x.as_slice().unwrap(), &mut d);
            let numeric = numerical_gradient(x.as_slice_mut().unwrap(), 1e-2, |xs| {
                let mut y = vec![0.0; xs.len()];
                gelu_forward(xs, &mut y);
                weighted_sum(&y, &r)
            });
            prop_assert!(max_relative_error(&d, &numeric, 1e-2) < 1e-2);
        }
    }

    #[test]
    fn in_place_matches_forward() {
        let x: Vec<f32> = (-50..50).map(|i| i as f32 * 0.13).collect();
        let mut y = vec![0.0; x.len()];
        gelu_forward(&x, &mut y);
        let mut z = x.clone();
        gelu_inplace(&mut z);
        assert_eq!(y, z);
        // Large inputs pass through, very negative ones vanish.
        assert!((y[99] - x[99]).abs() < 1e-4);
        assert!(y[0].abs() < 1e-4);
    }
}
