//! ELMo for the embed workspace, compatible with AllenNLP and bilm-tf.
//!
//! - [`chars`]: character ids exactly as AllenNLP's `ELMoCharacterMapper`.
//! - [`ElmoOptions`] and [`weights::Hdf5Weights`]: bilm-tf's `options.json`
//!   and `weights.hdf5` (read with the pure-Rust `hdf5-pure`; no C library).
//! - [`ElmoModel`]: char-CNN, highway, projection and the biLSTM stacks;
//!   [`ElmoModel::forward`] gives every layer's activations for a batch.
//! - [`ScalarMix`] and [`ElmoEmbedder`]: AllenNLP's scalar mix and the
//!   [`embed_core::ContextualEmbedder`] built on it.
//!
//! ```no_run
//! use embed_core::ContextualEmbedder;
//! use embed_elmo::{ElmoEmbedder, ElmoModel};
//!
//! let model = ElmoModel::load("options.json", "weights.hdf5")?;
//! let out = model.forward(&[vec!["The", "cat", "sat"]])?;
//! assert_eq!(out.activations.len(), 3); // token layer + 2 biLSTM layers
//! let elmo = ElmoEmbedder::average(model)?;
//! let vectors = elmo.embed_sequence(&["The", "cat", "sat"])?;
//! assert_eq!(vectors.nrows(), 3);
//! # Ok::<(), embed_core::Error>(())
//! ```

pub mod chars;
pub mod embedder;
pub mod layers;
pub mod model;
pub mod options;
pub mod weights;

pub use chars::char_ids;
pub use embedder::{ElmoEmbedder, Readout};
pub use layers::ScalarMix;
pub use model::{ElmoModel, ElmoOutput};
pub use options::ElmoOptions;
