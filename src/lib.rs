//! # embed
//!
//! Train, load, evaluate and serve word and contextual embeddings.
//!
//! This facade re-exports the workspace's crates so that one dependency gives
//! the whole toolkit.

pub use embed_core as core;
