//! The layers of the ELMo network, each with one job.
//!
//! They hold plain ndarray `f32` weights in the orientation of bilm-tf's
//! files (`x @ W`), so that loading is a copy and the same layers can serve a
//! trainer later.

pub mod char_cnn;
pub mod dense;
pub mod highway;
pub mod lstm;
pub mod matmul;
pub mod scalar_mix;
pub mod small_batch;

pub use char_cnn::CharCnn;
pub use dense::Dense;
pub use highway::Highway;
pub use lstm::LstmCellWithProjection;
pub use scalar_mix::ScalarMix;

/// The logistic function.
#[inline]
pub(crate) fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}
