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
//! # Behaviour
//!
//! - Stateless: every call starts the LSTMs from zero state, so a sentence
//!   always gets the same vectors (AllenNLP's `ElmoLstm` carries the final
//!   states of one call into the next; that mode is not offered).
//! - Tokens longer than 48 bytes are cut at byte 48, as the reference does.
//! - An empty sentence is run as `<S> </S>` and yields no rows; an empty batch
//!   yields tensors with no rows.
//! - `lstm.use_skip_connections` is honoured as bilm-tf does (AllenNLP always
//!   adds the residual; every released model has it on). `n_characters` is
//!   not read.
//! - Memory grows with the number of tokens in one [`ElmoModel::forward`]
//!   call; callers bound it by their batch size.
//!
//! # Weights file
//!
//! `weights.hdf5` is read (and [`weights::write_hdf5`] writes it) with
//! `hdf5-pure`, a pure-Rust HDF5 implementation: nothing has to be installed
//! on the system and no cargo feature is needed, so loading is always built
//! and tested.
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
pub mod train;
pub mod weights;
pub mod writer;

pub use chars::char_ids;
pub use embedder::{ElmoEmbedder, Readout};
pub use layers::ScalarMix;
pub use model::{ElmoModel, ElmoOutput};
pub use options::ElmoOptions;
