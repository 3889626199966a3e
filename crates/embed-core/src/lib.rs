//! # embed-core
//!
//! The shared layer every model of the embed workspace stands on:
//!
//! * [`Embedder`], [`StaticEmbedder`] and [`ContextualEmbedder`] — what a
//!   model offers the rest of the workspace;
//! * [`Error`] — the one error type, with file, offset and parameter context;
//! * [`observer`] — training progress callbacks that can stop training;
//! * [`seed`] — the seeding policy and the workspace's generator.

pub mod embedder;
pub mod error;
pub mod observer;
pub mod seed;

pub use embedder::{ContextualEmbedder, Embedder, Lookup, StaticEmbedder};
pub use error::{Error, Location, Result};
pub use observer::{Control, Progress, TrainingObserver};
