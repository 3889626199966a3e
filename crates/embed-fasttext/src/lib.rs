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

//!
//! ## Differences from the fastText tool
//!
//! * Random numbers come from the workspace's generator, one stream per
//!   thread, so models differ from the tool's bit for bit but not in
//!   distribution; negatives are drawn ∝ count^0.5 with an alias table
//!   instead of a 10^7-entry table.
//! * Words of equal count are ordered by first appearance (fastText's sort
//!   leaves their order unspecified).
//! * Skip-gram computes a word's hidden vector once and moves it by each
//!   step's gradient (the exact change of the mean of its rows) instead of
//!   re-averaging the rows for every context word, and adds the sum of
//!   those gradients to the word's rows once, after its last context.
//! * With the softmax and one-vs-all losses, which update every output row
//!   on every example, each thread works on its own copy of the output
//!   matrix and exchanges changes with the shared one every 16 examples: the
//!   other threads' updates arrive a few examples late, instead of whenever
//!   memory happens to show them.
//! * Hierarchical softmax walks a target's path in the Huffman tree from
//!   the root down (the tool goes up from the leaf): the same nodes and
//!   updates, summed into the hidden gradient in the other order.
//! * Bytes that are not UTF-8 inside a training word become U+FFFD; a
//!   `.bin` whose dictionary holds such a word is rejected. The label
//!   prefix is always `__label__`. Quantized `.ftz` models are rejected.

pub mod args;
pub mod bin_format;
pub mod dictionary;
mod fit;
mod label_tree;
mod local_output;
pub mod model;
pub mod params;
mod reader;
pub mod tables;
mod train;

pub use args::{LossKind, ModelArgs, ModelKind};
pub use dictionary::Dictionary;
pub use model::{FastText, Prediction, TestReport};
pub use params::{FastTextParams, FastTextParamsBuilder};
