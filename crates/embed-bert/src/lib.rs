//! # embed-bert
//!
//! BERT for the embed workspace:
//!
//! * [`Tokenizer`] — Hugging Face's BERT tokenizer (clean-up, lower-casing
//!   and accent stripping, punctuation and CJK splitting, greedy WordPiece),
//!   giving the same ids;

pub mod tokenizer;

pub use tokenizer::{Encoding, PaddedBatch, SpecialIds, Tokenizer, TokenizerConfig, Vocab};
