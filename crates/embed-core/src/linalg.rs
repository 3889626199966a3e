//! Dense matrix products for the neural models (BERT, ELMo), through the
//! `gemm` crate, which picks AVX2 or AVX-512 kernels at run time, so one
//! portable build runs at the machine's speed.

use ndarray::{Array2, ArrayView2, ArrayViewMut2};

/// `c = a · b` (or `c += a · b` when `accumulate`), any strides.
///
/// With `parallel`, the product is split across the current rayon pool.
///
/// ```
/// use embed_core::linalg::matmul_into;
/// use ndarray::array;
/// let a = array![[1.0f32, 2.0], [3.0, 4.0]];
/// let mut c = array![[1.0f32, 1.0], [1.0, 1.0]];
/// matmul_into(a.view(), a.t(), c.view_mut(), true, false);
/// assert_eq!(c, array![[6.0, 12.0], [12.0, 26.0]]);
/// ```
///
/// # Panics
/// When the shapes do not chain (`a: [m, k]`, `b: [k, n]`, `c: [m, n]`).
pub fn matmul_into(
    a: ArrayView2<'_, f32>,
    b: ArrayView2<'_, f32>,
    mut c: ArrayViewMut2<'_, f32>,
    accumulate: bool,
    parallel: bool,
) {
    let (m, k) = a.dim();
    let (k2, n) = b.dim();
    assert_eq!(k, k2, "matmul: inner dimensions differ");
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
    let parallelism = if parallel && rayon::current_num_threads() > 1 {
        gemm::Parallelism::Rayon(rayon::current_num_threads())
    } else {
        gemm::Parallelism::None
    };
    let (a_rs, a_cs) = (a.strides()[0], a.strides()[1]);
    let (b_rs, b_cs) = (b.strides()[0], b.strides()[1]);
    let (c_rs, c_cs) = (c.strides()[0], c.strides()[1]);
    // SAFETY: the three views are valid for their shapes and strides
    // (checked above to chain as m×k · k×n = m×n); `c` is borrowed mutably,
    // so it cannot alias `a` or `b`. With `read_dst == false` gemm never
    // reads `c`, so its initial content does not matter.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            c_cs,
            c_rs,
            accumulate,
            a.as_ptr(),
            a_cs,
            a_rs,
            b.as_ptr(),
            b_cs,
            b_rs,
            1.0,
            1.0,
            false,
            false,
            false,
            parallelism,
        );
    }
}

/// `a · b` as a new array, on one thread.
///
/// ```
/// use embed_core::linalg::matmul;
/// use ndarray::array;
/// let a = array![[1.0f32, 2.0], [3.0, 4.0]];
/// assert_eq!(matmul(a.view(), a.view()), array![[7.0, 10.0], [15.0, 22.0]]);
/// ```
pub fn matmul(a: ArrayView2<'_, f32>, b: ArrayView2<'_, f32>) -> Array2<f32> {
    let mut c = Array2::zeros((a.nrows(), b.ncols()));
    matmul_into(a, b, c.view_mut(), false, false);
    c
}
