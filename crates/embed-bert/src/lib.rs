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
//!   softmax, attention).

pub mod config;
pub mod layers;
pub mod model;
pub mod tokenizer;
pub mod weights;

pub use config::BertConfig;
pub use model::{BertForMaskedLm, BertModel, BertOutput};
pub use tokenizer::{Encoding, PaddedBatch, SpecialIds, Tokenizer, TokenizerConfig, Vocab};
