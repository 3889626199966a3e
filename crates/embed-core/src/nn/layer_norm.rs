//! Layer normalisation over the last axis, `y = (x − μ)/√(σ² + ε)·γ + β`,
//! in place, with the normalised rows kept for the backward pass.
//!
//! ```
//! use embed_core::nn::layer_norm::{layer_norm_backward, layer_norm_forward, LayerNormCache};
//! use ndarray::{array, Array1};
//! let (gamma, beta) = (array![1.0_f32, 1.0], array![0.0_f32, 0.5]);
//! let mut x = array![[1.0_f32, 3.0]];
//! let mut cache = LayerNormCache::default();
//! layer_norm_forward(x.view_mut(), gamma.view(), beta.view(), 0.0, &mut cache);
//! assert_eq!(x, array![[-1.0, 1.5]]);
//! // The output does not depend on a shift of the input: the gradient of
//! // y₀ − y₁ sums to zero over the row.
//! let mut dy = array![[1.0_f32, -1.0]];
//! let (mut dgamma, mut dbeta) = (Array1::zeros(2), Array1::zeros(2));
//! layer_norm_backward(dy.view_mut(), gamma.view(), &cache, dgamma.view_mut(), dbeta.view_mut());
//! assert!((dy[[0, 0]] + dy[[0, 1]]).abs() < 1e-6);
//! assert_eq!(dbeta, array![1.0, -1.0]);
//! ```

use ndarray::{Array2, ArrayView1, ArrayViewMut1, ArrayViewMut2};

use super::fastmath::{dot8, sum8};

/// What [`layer_norm_backward`] needs from the forward pass: the
/// normalised rows `x̂` and each row's `1/√(σ² + ε)`. Reused across calls
/// without reallocating when the shape is unchanged.
#[derive(Debug, Clone, Default)]
pub struct LayerNormCache {
    normalized: Array2<f32>,
    inv_std: Vec<f32>,
}

impl LayerNormCache {
    /// The normalised rows `x̂` (before scale and shift).
    pub fn normalized(&self) -> &Array2<f32> {
        &self.normalized
    }
}

/// Normalises every row of `x` in place (mean and variance in two passes,
/// as PyTorch does), remembering `x̂` and `1/σ` in `cache`.
///
/// # Panics
/// When `gamma` or `beta` do not match the width of `x`.
pub fn layer_norm_forward(
    mut x: ArrayViewMut2<'_, f32>,
    gamma: ArrayView1<'_, f32>,
    beta: ArrayView1<'_, f32>,
    eps: f32,
    cache: &mut LayerNormCache,
) {
    let (rows, width) = x.dim();
    assert_eq!(gamma.len(), width, "layer norm: gamma width");
    assert_eq!(beta.len(), width, "layer norm: beta width");
    if cache.normalized.dim() != (rows, width) {
        cache.normalized = Array2::zeros((rows, width));
    }
    cache.inv_std.resize(rows, 0.0);
    let gamma = gamma.to_vec();
    let beta = beta.to_vec();
    let n = width as f32;
    for ((mut row, mut xhat), inv_std) in x
        .rows_mut()
        .into_iter()
        .zip(cache.normalized.rows_mut())
        .zip(cache.inv_std.iter_mut())
    {
        let xhat = xhat.as_slice_mut().expect("cache rows are contiguous");
        xhat.iter_mut().zip(row.iter()).for_each(|(h, &v)| *h = v);
        let mean = sum8(xhat) / n;
        xhat.iter_mut().for_each(|h| *h -= mean);
        let var = dot8(xhat, xhat) / n;
        let inv = 1.0 / (var + eps).sqrt();
        *inv_std = inv;
        xhat.iter_mut().for_each(|h| *h *= inv);
        for (((y, &h), &g), &b) in row.iter_mut().zip(xhat.iter()).zip(&gamma).zip(&beta) {
            *y = h * g + b;
        }
    }
}

/// Backward pass of [`layer_norm_forward`]: turns `dy` (in place) into
/// `∂L/∂x` and adds `Σ dy ⊙ x̂` to `dgamma` and `Σ dy` to `dbeta`.
///
/// `∂L/∂x = (1/σ)·(g − mean(g) − x̂·mean(g ⊙ x̂))` with `g = dy ⊙ γ`.
///
/// # Panics
/// When the shapes differ from the forward pass.
pub fn layer_norm_backward(
    mut dy: ArrayViewMut2<'_, f32>,
    gamma: ArrayView1<'_, f32>,
    cache: &LayerNormCache,
    mut dgamma: ArrayViewMut1<'_, f32>,
    mut dbeta: ArrayViewMut1<'_, f32>,
) {
    let (rows, width) = dy.dim();
    assert_eq!(
        cache.normalized.dim(),
        (rows, width),
        "layer norm: cache shape"
    );
    let gamma = gamma.to_vec();
    let mut dg = vec![0.0f32; width];
    let mut db = vec![0.0f32; width];
    let mut g = vec![0.0f32; width];
    let n = width as f32;
    for ((mut row, xhat), &inv) in dy
        .rows_mut()
        .into_iter()
        .zip(cache.normalized.rows())
        .zip(&cache.inv_std)
    {
        let xhat = xhat.as_slice().expect("cache rows are contiguous");
        for ((((gi, &d), &gm), &h), (dgi, dbi)) in g
            .iter_mut()
            .zip(row.iter())
            .zip(&gamma)
            .zip(xhat)
            .zip(dg.iter_mut().zip(db.iter_mut()))
        {
            *gi = d * gm;
            *dgi += d * h;
            *dbi += d;
        }
        let mean_g = sum8(&g) / n;
        let mean_gx = dot8(&g, xhat) / n;
        for ((d, &gi), &h) in row.iter_mut().zip(&g).zip(xhat) {
            *d = inv * (gi - mean_g - h * mean_gx);
        }
    }
    dgamma.iter_mut().zip(&dg).for_each(|(a, b)| *a += b);
    dbeta.iter_mut().zip(&db).for_each(|(a, b)| *a += b);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::gradcheck::{max_relative_error, numerical_gradient, weighted_sum};
    use crate::nn::testing::random_array;
    use ndarray::{Array1, Array2};
    use proptest::prelude::*;

    fn forward(x: &Array2<f32>, gamma: &Array1<f32>, beta: &Array1<f32>, eps: f32) -> Array2<f32> {
        let mut y = x.clone();
        layer_norm_forward(
            y.view_mut(),
            gamma.view(),
            beta.view(),
            eps,
            &mut LayerNormCache::default(),
        );
        y
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        /// Tolerance: 2e-2 relative, gradients below 5e-2 compared
        /// absolutely (f32 forward, step 3e-3 on inputs spread over [-1, 1]).
        /// Rows whose spread is not large against the step are skipped:
        /// there the output turns sharply within one step (two nearly equal
        /// values normalise to ±1), and a finite difference measures no
        /// derivative.
        #[test]
        fn gradients_match_finite_differences(n in 1usize..4, width in 2usize..12, seed in 0u64..1000) {
            let mut x = random_array((n, width), seed);
            let min_spread = x
                .rows()
                .into_iter()
                .map(|row| row.std(0.0))
                .fold(f32::INFINITY, f32::min);
            prop_assume!(min_spread > 0.1);
            let mut gamma = random_array(width, seed + 1) + 1.0;
            let mut beta = random_array(width, seed + 2);
            let r = random_array((n, width), seed + 3);
            let r_flat = r.as_slice().unwrap().to_vec();
            let eps = 1e-5;
            let mut cache = LayerNormCache::default();
            let mut y = x.clone();
            layer_norm_forward(y.view_mut(), gamma.view(), beta.view(), eps, &mut cache);
            let mut dx = r.clone();
            let (mut dgamma, mut dbeta) = (Array1::zeros(width), Array1::zeros(width));
            layer_norm_backward(dx.view_mut(), gamma.view(), &cache, dgamma.view_mut(), dbeta.view_mut());

            let (x0, g0, b0) = (x.clone(), gamma.clone(), beta.clone());
            let nx = numerical_gradient(x.as_slice_mut().unwrap(), 3e-3, |xs| {
                let x = Array2::from_shape_vec(x0.dim(), xs.to_vec()).unwrap();
                weighted_sum(forward(&x, &g0, &b0, eps).as_slice().unwrap(), &r_flat)
            });
            let ng = numerical_gradient(gamma.as_slice_mut().unwrap(), 3e-3, |gs| {
                weighted_sum(forward(&x0, &Array1::from_vec(gs.to_vec()), &b0, eps).as_slice().unwrap(), &r_flat)
            });
            let nb = numerical_gradient(beta.as_slice_mut().unwrap(), 3e-3, |bs| {
                weighted_sum(forward(&x0, &g0, &Array1::from_vec(bs.to_vec()), eps).as_slice().unwrap(), &r_flat)
            });
            prop_assert!(max_relative_error(dx.as_slice().unwrap(), &nx, 5e-2) < 2e-2);
            prop_assert!(max_relative_error(dgamma.as_slice().unwrap(), &ng, 5e-2) < 2e-2);
            prop_assert!(max_relative_error(dbeta.as_slice().unwrap(), &nb, 5e-2) < 2e-2);
        }
    }

    #[test]
    fn forward_matches_the_definition() {
        let x = Array2::from_shape_vec((1, 3), vec![1.0f32, 2.0, 6.0]).unwrap();
        let gamma = Array1::from_vec(vec![1.0f32, 2.0, 0.5]);
        let beta = Array1::from_vec(vec![0.0f32, 1.0, -1.0]);
        let y = forward(&x, &gamma, &beta, 1e-12);
        let sd = (14.0f32 / 3.0).sqrt();
        let expected = [-2.0 / sd, -1.0 / sd * 2.0 + 1.0, 3.0 / sd * 0.5 - 1.0];
        for (a, b) in y.iter().zip(expected) {
            assert!((a - b).abs() < 1e-6);
        }
    }
}
