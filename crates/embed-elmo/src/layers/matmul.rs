//! Matrix products through the `gemm` crate.

use ndarray::{Array2, ArrayView2, ArrayViewMut2};

/// `c = a @ b`, or `c += a @ b` with `accumulate`, on one thread (callers
/// parallelise over chunks of the batch).
///
/// # Panics
/// When the shapes do not chain (`a: [m, k]`, `b: [k, n]`, `c: [m, n]`).
///
/// ```
/// use embed_elmo::layers::matmul::matmul_into;
/// use ndarray::array;
/// let a = array![[1.0f32, 2.0], [3.0, 4.0]];
/// let mut c = array![[1.0f32, 1.0], [1.0, 1.0]];
/// matmul_into(a.view(), a.view(), c.view_mut(), true);
/// assert_eq!(c, array![[8.0, 11.0], [16.0, 23.0]]);
/// ```
pub fn matmul_into(
    a: ArrayView2<f32>,
    b: ArrayView2<f32>,
    mut c: ArrayViewMut2<f32>,
    accumulate: bool,
) {
    let (m, k) = a.dim();
    let (k_b, n) = b.dim();
    assert_eq!(k, k_b, "matmul: inner dimensions differ");
    assert_eq!(c.dim(), (m, n), "matmul: output shape");
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            c.fill(0.0);
        }
        return;
    }
    let (a_rows, a_cols) = (a.strides()[0], a.strides()[1]);
    let (b_rows, b_cols) = (b.strides()[0], b.strides()[1]);
    let (c_rows, c_cols) = (c.strides()[0], c.strides()[1]);
    // SAFETY: each view is valid for its shape and strides, and the shapes
    // chain (checked above); `c` is borrowed mutably so it aliases neither
    // `a` nor `b`. Without `accumulate` gemm does not read `c`.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            c_cols,
            c_rows,
            accumulate,
            a.as_ptr(),
            a_cols,
            a_rows,
            b.as_ptr(),
            b_cols,
            b_rows,
            1.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

/// `a @ b` as a new array.
pub fn matmul(a: ArrayView2<f32>, b: ArrayView2<f32>) -> Array2<f32> {
    let mut c = Array2::zeros((a.nrows(), b.ncols()));
    matmul_into(a, b, c.view_mut(), false);
    c
}
