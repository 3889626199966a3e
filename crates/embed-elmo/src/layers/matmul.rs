//! Matrix products: the workspace's `gemm`-backed kernels, on one thread
//! (ELMo parallelises over chunks of the batch itself).

use ndarray::{Array2, ArrayView2};

/// `a @ b` as a new array, on one thread.
///
/// ```
/// use embed_elmo::layers::matmul::matmul;
/// use ndarray::array;
/// let a = array![[1.0f32, 2.0], [3.0, 4.0]];
/// assert_eq!(matmul(a.view(), a.view()), array![[7.0, 10.0], [15.0, 22.0]]);
/// ```
pub fn matmul(a: ArrayView2<f32>, b: ArrayView2<f32>) -> Array2<f32> {
    embed_core::linalg::matmul(a, b)
}
