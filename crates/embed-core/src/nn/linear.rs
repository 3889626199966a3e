//! Fully connected layer `y = x·Wᵀ + b` with PyTorch's `[outputs, inputs]`
//! weight layout, over a batch of rows.
//!
//! ```
//! use embed_core::nn::linear::{linear_backward, linear_forward};
//! use ndarray::{array, Array1, Array2};
//! let w = array![[1.0_f32, 2.0], [0.0, 1.0], [1.0, 0.0]]; // 2 → 3
//! let b = array![0.0_f32, 0.5, -1.0];
//! let x = array![[1.0_f32, 1.0]];
//! let mut y = Array2::zeros((1, 3));
//! linear_forward(x.view(), w.view(), Some(b.view()), y.view_mut(), false);
//! assert_eq!(y, array![[3.0, 1.5, 0.0]]);
//!
//! let dy = array![[1.0_f32, 0.0, 1.0]];
//! let (mut dw, mut db) = (Array2::zeros((3, 2)), Array1::zeros(3));
//! let mut dx = Array2::zeros((1, 2));
//! linear_backward(x.view(), w.view(), dy.view(), Some(dx.view_mut()), false, dw.view_mut(), Some(db.view_mut()));
//! assert_eq!(dx, array![[2.0, 2.0]]);
//! assert_eq!(dw, array![[1.0, 1.0], [0.0, 0.0], [1.0, 1.0]]);
//! assert_eq!(db, array![1.0, 0.0, 1.0]);
//! ```

use ndarray::{ArrayView1, ArrayView2, ArrayViewMut1, ArrayViewMut2};

use crate::linalg::matmul_into;

/// `out = x·Wᵀ + b` (`out += x·Wᵀ + b` when `accumulate`), on the calling
/// thread. `x: [n, in]`, `weight: [out, in]`, `bias: [out]`, `out: [n, out]`.
///
/// # Panics
/// When the shapes do not chain.
pub fn linear_forward(
    x: ArrayView2<'_, f32>,
    weight: ArrayView2<'_, f32>,
    bias: Option<ArrayView1<'_, f32>>,
    mut out: ArrayViewMut2<'_, f32>,
    accumulate: bool,
) {
    matmul_into(x, weight.t(), out.view_mut(), accumulate, false);
    if let Some(bias) = bias {
        assert_eq!(bias.len(), out.ncols(), "linear: bias width");
        let bias = bias.as_standard_layout();
        let bias = bias.as_slice().expect("standard layout");
        for mut row in out.rows_mut() {
            match row.as_slice_mut() {
                Some(row) => add_assign(row, bias),
                None => row.iter_mut().zip(bias).for_each(|(y, b)| *y += b),
            }
        }
    }
}

/// Gradients of [`linear_forward`] given `dy = ∂L/∂y`: adds `dyᵀ·x` to
/// `dweight` and the column sums of `dy` to `dbias`; writes `dy·W` to `dx`
/// (adds it when `accumulate_dx`).
///
/// # Panics
/// When the shapes do not chain.
pub fn linear_backward(
    x: ArrayView2<'_, f32>,
    weight: ArrayView2<'_, f32>,
    dy: ArrayView2<'_, f32>,
    dx: Option<ArrayViewMut2<'_, f32>>,
    accumulate_dx: bool,
    dweight: ArrayViewMut2<'_, f32>,
    dbias: Option<ArrayViewMut1<'_, f32>>,
) {
    matmul_into(dy.t(), x, dweight, true, false);
    if let Some(mut dbias) = dbias {
        assert_eq!(dbias.len(), dy.ncols(), "linear: bias gradient width");
        match dbias.as_slice_mut() {
            Some(db) => {
                for row in dy.rows() {
                    match row.as_slice() {
                        Some(row) => add_assign(db, row),
                        None => db.iter_mut().zip(row).for_each(|(d, g)| *d += g),
                    }
                }
            }
            None => {
                for row in dy.rows() {
                    dbias.iter_mut().zip(row).for_each(|(d, g)| *d += g);
                }
            }
        }
    }
    if let Some(dx) = dx {
        matmul_into(dy, weight, dx, accumulate_dx, false);
    }
}

#[inline]
pub(crate) fn add_assign(ys: &mut [f32], xs: &[f32]) {
    for (y, x) in ys.iter_mut().zip(xs) {
        *y += x;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::gradcheck::{max_relative_error, numerical_gradient, weighted_sum};
    use crate::nn::testing::random_array;
    use ndarray::{Array1, Array2};
    use proptest::prelude::*;

    fn forward(x: &Array2<f32>, w: &Array2<f32>, b: &Array1<f32>) -> Array2<f32> {
        let mut y = Array2::zeros((x.nrows(), w.nrows()));
        linear_forward(x.view(), w.view(), Some(b.view()), y.view_mut(), false);
        y
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        /// Tolerance: 1e-2 relative, with gradients below 1e-1 compared
        /// absolutely (f32 forward, step 1e-2; the layer is linear, so the
        /// differences are exact up to rounding).
        #[test]
        fn gradients_match_finite_differences(n in 1usize..5, inputs in 1usize..7, outputs in 1usize..6, seed in 0u64..1000) {
            let mut x = random_array((n, inputs), seed);
            let mut w = random_array((outputs, inputs), seed + 1);
            let mut b = random_array(outputs, seed + 2);
            let r = random_array((n, outputs), seed + 3);
            let r_flat = r.as_slice().unwrap().to_vec();
            let (mut dw, mut db, mut dx) = (Array2::zeros(w.dim()), Array1::zeros(outputs), Array2::zeros(x.dim()));
            linear_backward(x.view(), w.view(), r.view(), Some(dx.view_mut()), false, dw.view_mut(), Some(db.view_mut()));

            let (w0, b0, x0) = (w.clone(), b.clone(), x.clone());
            let nx = numerical_gradient(x.as_slice_mut().unwrap(), 1e-2, |xs| {
                let x = Array2::from_shape_vec(x0.dim(), xs.to_vec()).unwrap();
                weighted_sum(forward(&x, &w0, &b0).as_slice().unwrap(), &r_flat)
            });
            let nw = numerical_gradient(w.as_slice_mut().unwrap(), 1e-2, |ws| {
                let w = Array2::from_shape_vec(w0.dim(), ws.to_vec()).unwrap();
                weighted_sum(forward(&x0, &w, &b0).as_slice().unwrap(), &r_flat)
            });
            let nb = numerical_gradient(b.as_slice_mut().unwrap(), 1e-2, |bs| {
                let b = Array1::from_vec(bs.to_vec());
                weighted_sum(forward(&x0, &w0, &b).as_slice().unwrap(), &r_flat)
            });
            prop_assert!(max_relative_error(dx.as_slice().unwrap(), &nx, 1e-1) < 1e-2);
            prop_assert!(max_relative_error(dw.as_slice().unwrap(), &nw, 1e-1) < 1e-2);
            prop_assert!(max_relative_error(db.as_slice().unwrap(), &nb, 1e-1) < 1e-2);
        }
    }

    #[test]
    fn backward_accumulates_parameter_gradients() {
        let x = random_array((3, 4), 1);
        let w = random_array((2, 4), 2);
        let dy = random_array((3, 2), 3);
        let mut dw = Array2::zeros((2, 4));
        let mut dx = Array2::from_elem((3, 4), 1.0f32);
        for _ in 0..2 {
            linear_backward(
                x.view(),
                w.view(),
                dy.view(),
                Some(dx.view_mut()),
                true,
                dw.view_mut(),
                None,
            );
        }
        let expected_dw = dy.t().dot(&x) * 2.0;
        let expected_dx = dy.dot(&w) * 2.0 + 1.0;
        assert!(dw
            .iter()
            .zip(&expected_dw)
            .all(|(a, b)| (a - b).abs() < 1e-5));
        assert!(dx
            .iter()
            .zip(&expected_dx)
            .all(|(a, b)| (a - b).abs() < 1e-5));
    }
}
