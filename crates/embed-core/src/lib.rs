//! # embed-core
//!
//! The shared layer every model of the embed workspace stands on:
//!
//! * [`Embedder`], [`StaticEmbedder`] and [`ContextualEmbedder`] — what a
//!   model offers the rest of the workspace;
//! * [`Error`] — the one error type, with file, offset and parameter context;
//! * [`observer`] — training progress callbacks that can stop training;
//! * [`seed`] — the seeding policy and the workspace's generator.
//! * [`params`] — named parameters addressed by path, and their gradients;
//! * [`optim`] — SGD, AdaGrad, Adam/AdamW with dense and row-sparse steps;
//! * [`schedule`] — learning-rate schedules;
//! * [`hogwild`] — a matrix threads update without locks.
//! * [`nn`] — layers with forward and backward passes, for training BERT and
//!   ELMo.
//! * [`WordVectors`] — words and vectors with neighbour queries; [`kernels`] —
//!   vectorised dot/axpy/top-k; [`formats`] — word2vec and GloVe files;
//!   [`io`] — atomic writes.

pub mod embedder;
pub mod error;
pub mod hogwild;
pub mod observer;
pub mod optim;
pub mod params;
pub mod schedule;
pub mod seed;

pub mod formats;
pub mod io;
pub mod kernels;
pub mod linalg;
pub mod nn;
pub mod vectors;

pub use embedder::{ContextualEmbedder, Embedder, Lookup, StaticEmbedder};
pub use error::{Error, Location, Result};
pub use observer::{Control, Progress, TrainingObserver};
pub use vectors::{QueryOptions, WordVectors};

/// The number of threads training uses when a configuration does not say:
/// the cores available to this process (1 when that cannot be known).
///
/// ```
/// assert!(embed_core::available_threads() >= 1);
/// ```
pub fn available_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}
