//! # embed-bert
//!
//! BERT for the embed workspace:
//!
//! * [`Tokenizer`] — Hugging Face's BERT tokenizer (clean-up, lower-casing
//!   and accent stripping, punctuation and CJK splitting, greedy WordPiece),
//!   giving the same ids;
//! * [`BertModel`] — the Transformer encoder, loaded from a Hugging Face
//!   checkpoint (`config.json` + `model.safetensors`), and
//!   [`BertForMaskedLm`] with its masked-language-model head;
//! * [`layers`] — the forward building blocks (linear, layer norm, GELU,
//!   softmax, attention);
//! * [`train`] — masked-LM pre-training: [`train::MlmModel`],
//!   `BertForMaskedLM` (or, with next-sentence prediction,
//!   `BertForPreTraining`) with forward and backward passes, data-parallel
//!   over a batch;
//! * [`SentenceEmbedder`] — sentence vectors (mean, `[CLS]` or max pooling,
//!   optional L2 normalisation, the sentence-transformers convention) and
//!   per-word vectors through the workspace's
//!   [`ContextualEmbedder`](embed_core::ContextualEmbedder).
//!
//! ```no_run
//! use embed_bert::{SentenceEmbedder, Tokenizer};
//! let dir = "models/all-MiniLM-L6-v2";
//! let tokenizer = Tokenizer::from_dir(dir)?;
//! println!("{:?}", tokenizer.encode("Hello world!", None)?.ids);
//! let embedder = SentenceEmbedder::load(dir)?; // mean pooling + normalisation
//! println!("{}", embedder.similarity("A man is eating food.", "A man eats bread.")?);
//! # Ok::<(), embed_core::Error>(())
//! ```

pub mod config;
pub mod embedder;
pub mod layers;
pub mod model;
pub mod pooling;
pub mod tokenizer;
pub mod train;
pub mod weights;

pub use config::BertConfig;
pub use embedder::{EmbedOptions, SentenceEmbedder};
pub use model::{BertForMaskedLm, BertModel, BertOutput};
pub use pooling::{Pooling, WordPooling};
pub use tokenizer::{Encoding, PaddedBatch, SpecialIds, Tokenizer, TokenizerConfig, Vocab};
