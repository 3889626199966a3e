//! # embed-fasttext
//!
//! fastText (Bojanowski et al. 2017; Joulin et al. 2017) with Facebook
//! fastText's semantics and file format:
//!
//! * subword word vectors: a word is the mean of its own row and the rows
//!   of its hashed character n-grams, so unknown words get vectors too;
//! * [`FastText`] — load and save `.bin` models made by the fastText tool,
//!   write `.vec` files, look words up (a [`embed_core::StaticEmbedder`]),
//!   predict labels and test a supervised model;
//! * [`FastTextParams`] — fastText's options and defaults, validated;
//!   [`FastText::fit_unsupervised`] (skip-gram, CBOW) and
//!   [`FastText::fit_supervised`] (classification) train on a text file
//!   with several lock-free threads;
//! * [`dictionary`] — words, labels, subwords and word n-grams;
//! * [`bin_format`] — the `.bin` layout, read without trusting its header.
//!
//! ```
//! use embed_core::{Lookup, StaticEmbedder};
//! use embed_fasttext::FastText;
//! let model = FastText::load(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tiny.bin"))?;
//! match model.lookup("anarchists") {
//!     Lookup::InVocabulary(v) => println!("row {v}"),
//!     Lookup::Synthesized(v) => println!("from n-grams {v}"),
//!     Lookup::Unknown => println!("no n-grams"),
//! }
//! # Ok::<(), embed_core::Error>(())
//! ```

pub mod args;
pub mod bin_format;
pub mod dictionary;
mod fit;
pub mod model;
pub mod params;
mod reader;
pub mod tables;
mod train;
pub mod tree;

pub use args::{LossKind, ModelArgs, ModelKind};
pub use dictionary::Dictionary;
pub use model::{FastText, Prediction, TestReport};
pub use params::{FastTextParams, FastTextParamsBuilder};
