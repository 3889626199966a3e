//! Training BERT: the masked-language model with forward and backward
//! passes ([`MlmModel`]), optionally with next-sentence prediction.
//!
//! Parameters live in a [`ParameterStore`](embed_core::params::ParameterStore)
//! under Hugging Face's `BertForMaskedLM` names (`BertForPreTraining`'s
//! with the next-sentence head of [`next_sentence`], trained on the
//! sentence pairs of [`pairs`]), so a checkpoint written here loads in
//! `transformers` and the other way round. The layers come
//! from [`embed_core::nn`], each checked against finite differences.

pub mod checkpoint;
pub mod data;
pub mod masking;
mod mlm_model;
mod names;
pub mod next_sentence;
pub mod pairs;
mod pass;
pub mod pretrain;
mod tensors;

pub use mlm_model::{GradScale, MlmBatch, MlmModel, MlmSettings, MlmStats};
