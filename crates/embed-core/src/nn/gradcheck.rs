//! Central finite differences, to check backward passes.
//!
//! A layer's test builds a scalar loss `L = Σ out ⊙ r` from its output and
//! a fixed random `r` (so the upstream gradient is `r`), runs the backward
//! pass with `r`, and compares each analytic gradient with
//! [`numerical_gradient`] through [`max_relative_error`].
//!
//! ```
//! use embed_core::nn::gradcheck::{max_relative_error, numerical_gradient};
//! // L(x) = Σ x³ has gradient 3x².
//! let mut x = vec![0.5_f32, -1.0, 2.0];
//! let numeric = numerical_gradient(&mut x, 1e-2, |x| x.iter().map(|&v| f64::from(v).powi(3)).sum());
//! let analytic: Vec<f32> = x.iter().map(|v| 3.0 * v * v).collect();
//! assert!(max_relative_error(&analytic, &numeric, 1e-3) < 1e-3);
//! ```

/// The gradient of `loss` at `x` by central differences with step `step`:
/// `(L(x + h·eᵢ) − L(x − h·eᵢ)) / (2h)` for every element `i`, where `h`
/// is the step as actually represented in f32 around `x[i]`. `x` is
/// restored before returning.
pub fn numerical_gradient(
    x: &mut [f32],
    step: f32,
    mut loss: impl FnMut(&[f32]) -> f64,
) -> Vec<f64> {
    (0..x.len())
        .map(|i| {
            let original = x[i];
            let up = original + step;
            let down = original - step;
            x[i] = up;
            let loss_up = loss(x);
            x[i] = down;
            let loss_down = loss(x);
            x[i] = original;
            (loss_up - loss_down) / (f64::from(up) - f64::from(down))
        })
        .collect()
}

/// The largest `|analytic − numeric| / max(|numeric|, floor)` over all
/// elements: relative error for large gradients, absolute error (divided
/// by `floor`) for gradients near zero.
///
/// # Panics
/// When the slices differ in length.
pub fn max_relative_error(analytic: &[f32], numeric: &[f64], floor: f64) -> f64 {
    assert_eq!(analytic.len(), numeric.len(), "gradient lengths differ");
    analytic
        .iter()
        .zip(numeric)
        .map(|(&a, &n)| (f64::from(a) - n).abs() / n.abs().max(floor))
        .fold(0.0, f64::max)
}

/// `Σ values ⊙ weights` in f64: the scalar loss whose gradient with
/// respect to `values` is `weights`.
pub fn weighted_sum(values: &[f32], weights: &[f32]) -> f64 {
    values
        .iter()
        .zip(weights)
        .map(|(&v, &w)| f64::from(v) * f64::from(w))
        .sum()
}
