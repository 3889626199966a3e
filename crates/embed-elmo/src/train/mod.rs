//! Training ELMo's bidirectional language model.
//!
//! - [`BiLmConfig`]: the network's shape and dropout, validated.
//! - [`BiLmBatch`] and [`BiLmState`]: a window of the two token streams
//!   and the LSTM state carried between windows (bilm-tf's truncated
//!   back-propagation through time).
//! - [`BiLm`]: the model — parameters named as bilm-tf's datasets, a
//!   forward and backward pass with full or sampled softmax, evaluation, and
//!   the weights an inference [`crate::ElmoModel`] loads.

mod batch;
pub mod bigram;
mod bilm;
pub mod checkpoint;
mod config;
pub mod data;
mod network;
pub mod trainer;

pub use batch::{BiLmBatch, BiLmState, LossStats, SoftmaxMode};
pub use bilm::{BiLm, BiLmActivations};
pub use config::{BiLmConfig, CHAR_EMBED_ROWS, FORGET_BIAS};
