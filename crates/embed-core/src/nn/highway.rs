//! A highway layer with bilm-tf's carry-gate convention:
//!
//! ```text
//! g = σ(x @ W_carry + b_carry)
//! y = g · relu(x @ W_transform + b_transform) + (1 − g) · x
//! ```
//!
//! bilm-tf calls `g` the carry gate although it weighs the transformed
//! branch. Weights are `[in, out]` (`x @ W`), as bilm-tf stores them.
//!
//! ```
//! use embed_core::nn::highway::{self, HighwayParams};
//! use ndarray::{array, Array1, Array2};
//! let w = Array2::<f32>::eye(2);
//! let zero = Array1::<f32>::zeros(2);
//! let shut = Array1::from_elem(2, -100.0f32);
//! let params = HighwayParams { transform_weight: w.view(), transform_bias: zero.view(), carry_weight: w.view(), carry_bias: shut.view() };
//! // A shut gate passes the input through.
//! let cache = highway::forward(&params, array![[1.5f32, -2.0]].view())?;
//! assert!((cache.outputs()[[0, 0]] - 1.5).abs() < 1e-6);
//! # Ok::<(), embed_core::Error>(())
//! ```

use ndarray::{Array2, ArrayView1, ArrayView2, ArrayViewMut1, ArrayViewMut2, Zip};

use super::linear::{linear_backward, linear_forward};
use crate::{Error, Result};

/// The weights of one highway layer.
#[derive(Debug, Clone, Copy)]
pub struct HighwayParams<'a> {
    /// `[dim, dim]`.
    pub transform_weight: ArrayView2<'a, f32>,
    /// `[dim]`.
    pub transform_bias: ArrayView1<'a, f32>,
    /// `[dim, dim]`.
    pub carry_weight: ArrayView2<'a, f32>,
    /// `[dim]`.
    pub carry_bias: ArrayView1<'a, f32>,
}

/// Gradients of one highway layer; backward passes add to them.
#[derive(Debug)]
pub struct HighwayGrads<'a> {
    /// `[dim, dim]`.
    pub transform_weight: ArrayViewMut2<'a, f32>,
    /// `[dim]`.
    pub transform_bias: ArrayViewMut1<'a, f32>,
    /// `[dim, dim]`.
    pub carry_weight: ArrayViewMut2<'a, f32>,
    /// `[dim]`.
    pub carry_bias: ArrayViewMut1<'a, f32>,
}

/// What the forward pass keeps for the backward pass.
#[derive(Debug, Clone)]
pub struct HighwayCache {
    inputs: Array2<f32>,
    /// `relu(x @ W_transform + b_transform)`.
    transformed: Array2<f32>,
    /// The gate `g`.
    gate: Array2<f32>,
    outputs: Array2<f32>,
}

impl HighwayCache {
    /// The layer's output, `[rows, dim]`.
    pub fn outputs(&self) -> ArrayView2<'_, f32> {
        self.outputs.view()
    }

    /// Takes the output, leaving the cache without it (the backward pass
    /// does not need it).
    pub fn take_outputs(&mut self) -> Array2<f32> {
        std::mem::take(&mut self.outputs)
    }
}

impl HighwayParams<'_> {
    fn check(&self, dim: usize) -> Result<()> {
        for (name, shape, expected) in [
            (
                "transform weight",
                self.transform_weight.shape(),
                &[dim, dim][..],
            ),
            ("transform bias", self.transform_bias.shape(), &[dim][..]),
            ("carry weight", self.carry_weight.shape(), &[dim, dim][..]),
            ("carry bias", self.carry_bias.shape(), &[dim][..]),
        ] {
            if shape != expected {
                return Err(Error::ShapeMismatch {
                    name: format!("highway {name}"),
                    expected: expected.to_vec(),
                    actual: shape.to_vec(),
                });
            }
        }
        Ok(())
    }
}

#[inline]
fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// Applies the layer to each row of `x` (`[rows, dim]`).
pub fn forward(params: &HighwayParams<'_>, x: ArrayView2<'_, f32>) -> Result<HighwayCache> {
    params.check(x.ncols())?;
    let mut transformed = Array2::zeros(x.raw_dim());
    linear_forward(
        x,
        params.transform_weight.t(),
        Some(params.transform_bias),
        transformed.view_mut(),
        false,
    );
    let mut gate = Array2::zeros(x.raw_dim());
    linear_forward(
        x,
        params.carry_weight.t(),
        Some(params.carry_bias),
        gate.view_mut(),
        false,
    );
    transformed.mapv_inplace(|t| t.max(0.0));
    gate.mapv_inplace(sigmoid);
    let mut outputs = Array2::zeros(x.raw_dim());
    Zip::from(&mut outputs)
        .and(&x)
        .and(&transformed)
        .and(&gate)
        .for_each(|y, &x, &t, &g| *y = g * t + (1.0 - g) * x);
    Ok(HighwayCache {
        inputs: x.to_owned(),
        transformed,
        gate,
        outputs,
    })
}

/// Back-propagates `d_outputs` through the layer, adding the weight
/// gradients to `grads`; returns the gradient of the input.
pub fn backward(
    params: &HighwayParams<'_>,
    cache: &HighwayCache,
    d_outputs: ArrayView2<'_, f32>,
    grads: &mut HighwayGrads<'_>,
) -> Result<Array2<f32>> {
    params.check(cache.inputs.ncols())?;
    if d_outputs.shape() != cache.inputs.shape() {
        return Err(Error::ShapeMismatch {
            name: "highway output gradient".into(),
            expected: cache.inputs.shape().to_vec(),
            actual: d_outputs.shape().to_vec(),
        });
    }
    let mut d_inputs = Array2::zeros(cache.inputs.raw_dim());
    let mut d_transform = Array2::zeros(cache.inputs.raw_dim());
    let mut d_carry = Array2::zeros(cache.inputs.raw_dim());
    Zip::from(&mut d_inputs)
        .and(&d_outputs)
        .and(&cache.gate)
        .for_each(|dx, &dy, &g| *dx = dy * (1.0 - g));
    Zip::from(&mut d_transform)
        .and(&mut d_carry)
        .and(&d_outputs)
        .and(&cache.inputs)
        .and(&cache.transformed)
        .and(&cache.gate)
        .for_each(|dt, dc, &dy, &x, &t, &g| {
            *dt = if t > 0.0 { dy * g } else { 0.0 };
            *dc = dy * (t - x) * g * (1.0 - g);
        });
    linear_backward(
        cache.inputs.view(),
        params.transform_weight.t(),
        d_transform.view(),
        Some(d_inputs.view_mut()),
        true,
        grads.transform_weight.view_mut().reversed_axes(),
        Some(grads.transform_bias.view_mut()),
    );
    linear_backward(
        cache.inputs.view(),
        params.carry_weight.t(),
        d_carry.view(),
        Some(d_inputs.view_mut()),
        true,
        grads.carry_weight.view_mut().reversed_axes(),
        Some(grads.carry_bias.view_mut()),
    );
    Ok(d_inputs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::gradcheck::{max_relative_error, numerical_gradient, weighted_sum};
    use crate::nn::testing::random_array;
    use ndarray::Array1;
    use proptest::prelude::*;

    fn outputs(p: &[Array2<f32>; 2], b: &[Array1<f32>; 2], x: &Array2<f32>) -> Array2<f32> {
        let params = HighwayParams {
            transform_weight: p[0].view(),
            transform_bias: b[0].view(),
            carry_weight: p[1].view(),
            carry_bias: b[1].view(),
        };
        forward(&params, x.view()).unwrap().outputs().to_owned()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]
        /// Gradients within 2e-2 relative (below 0.1 absolute) of central
        /// differences with step 1e-3; cases with a transform pre-activation
        /// within 0.02 of relu's kink are skipped.
        #[test]
        fn gradients_match_finite_differences(rows in 1usize..4, dim in 1usize..6, seed in 0u64..1000) {
            let weights = [random_array((dim, dim), seed), random_array((dim, dim), seed + 1)];
            let biases = [random_array(dim, seed + 2), random_array(dim, seed + 3)];
            let x: Array2<f32> = random_array((rows, dim), seed + 4);
            let pre = x.dot(&weights[0]) + &biases[0];
            prop_assume!(pre.iter().all(|v| v.abs() > 0.02));
            let y = outputs(&weights, &biases, &x);
            // Against the definition.
            let gate = (x.dot(&weights[1]) + &biases[1]).mapv(|v| 1.0 / (1.0 + (-v).exp()));
            let expected = &gate * &pre.mapv(|v| v.max(0.0)) + &(1.0 - &gate) * &x;
            prop_assert!((&y - &expected).iter().all(|d| d.abs() < 1e-5));

            let r: Array2<f32> = random_array(y.raw_dim(), seed + 5);
            let r_flat = r.as_slice().unwrap().to_vec();
            let params = HighwayParams { transform_weight: weights[0].view(), transform_bias: biases[0].view(), carry_weight: weights[1].view(), carry_bias: biases[1].view() };
            let cache = forward(&params, x.view()).unwrap();
            let mut gw = [Array2::zeros((dim, dim)), Array2::zeros((dim, dim))];
            let mut gb = [Array1::zeros(dim), Array1::zeros(dim)];
            let [gw0, gw1] = &mut gw;
            let [gb0, gb1] = &mut gb;
            let dx = backward(&params, &cache, r.view(), &mut HighwayGrads {
                transform_weight: gw0.view_mut(), transform_bias: gb0.view_mut(),
                carry_weight: gw1.view_mut(), carry_bias: gb1.view_mut(),
            }).unwrap();
            let loss = |w: &[Array2<f32>; 2], b: &[Array1<f32>; 2], x: &Array2<f32>| weighted_sum(outputs(w, b, x).as_slice().unwrap(), &r_flat);
            for k in 0..2 {
                let mut values = weights[k].clone();
                let numeric = numerical_gradient(values.as_slice_mut().unwrap(), 1e-3, |v| {
                    let mut w = weights.clone();
                    w[k] = Array2::from_shape_vec((dim, dim), v.to_vec()).unwrap();
                    loss(&w, &biases, &x)
                });
                prop_assert!(max_relative_error(gw[k].as_slice().unwrap(), &numeric, 1e-1) < 2e-2, "weight {}", k);
                let mut values = biases[k].clone();
                let numeric = numerical_gradient(values.as_slice_mut().unwrap(), 1e-3, |v| {
                    let mut b = biases.clone();
                    b[k] = Array1::from_vec(v.to_vec());
                    loss(&weights, &b, &x)
                });
                prop_assert!(max_relative_error(gb[k].as_slice().unwrap(), &numeric, 1e-1) < 2e-2, "bias {}", k);
            }
            let mut values = x.clone();
            let numeric = numerical_gradient(values.as_slice_mut().unwrap(), 1e-3, |v| {
                loss(&weights, &biases, &Array2::from_shape_vec((rows, dim), v.to_vec()).unwrap())
            });
            prop_assert!(max_relative_error(dx.as_slice().unwrap(), &numeric, 1e-1) < 2e-2, "input");
        }
    }
}
