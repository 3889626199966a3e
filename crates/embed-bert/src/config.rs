//! The model's shape and settings, read from Hugging Face's `config.json`.

use std::path::Path;

use embed_core::{Error, Location, Result};
use serde::{Deserialize, Serialize};

use crate::layers::Activation;

/// The architecture of a BERT encoder, validated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BertConfig {
    /// Rows of the word-embedding table.
    pub vocab_size: usize,
    /// Width of every hidden state.
    pub hidden_size: usize,
    /// Number of encoder layers.
    pub num_hidden_layers: usize,
    /// Attention heads per layer; divides `hidden_size`.
    pub num_attention_heads: usize,
    /// Width of the feed-forward block.
    pub intermediate_size: usize,
    /// Feed-forward activation name (`gelu`, `gelu_new`,
    /// `gelu_pytorch_tanh` or `relu`).
    #[serde(default = "default_act")]
    pub hidden_act: String,
    /// Rows of the position table: the longest input the model can read.
    pub max_position_embeddings: usize,
    /// Number of token types (segments).
    #[serde(default = "default_type_vocab")]
    pub type_vocab_size: usize,
    /// Added to the variance in every layer norm.
    #[serde(default = "default_eps")]
    pub layer_norm_eps: f64,
    /// Id of `[PAD]`.
    #[serde(default)]
    pub pad_token_id: usize,
    /// Only `absolute` positions are supported.
    #[serde(default = "default_position_type")]
    pub position_embedding_type: String,
}

fn default_act() -> String {
    "gelu".into()
}
fn default_type_vocab() -> usize {
    2
}
fn default_eps() -> f64 {
    1e-12
}
fn default_position_type() -> String {
    "absolute".into()
}

impl BertConfig {
    /// Checks that every token id is inside the vocabulary and every token
    /// type inside the type table, naming the first one that is not.
    pub fn check_ids<'a>(
        &self,
        input_ids: impl IntoIterator<Item = &'a u32>,
        token_type_ids: impl IntoIterator<Item = &'a u32>,
    ) -> Result<()> {
        if let Some(id) = input_ids
            .into_iter()
            .find(|&&id| id as usize >= self.vocab_size)
        {
            return Err(Error::InvalidInput(format!(
                "token id {id} is outside the vocabulary of {}",
                self.vocab_size
            )));
        }
        if let Some(t) = token_type_ids
            .into_iter()
            .find(|&&t| t as usize >= self.type_vocab_size)
        {
            return Err(Error::InvalidInput(format!(
                "token type {t} is outside the model's {} types",
                self.type_vocab_size
            )));
        }
        Ok(())
    }

    /// Reads and validates `config.json`; a missing field is a format error
    /// naming it.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let config: BertConfig = serde_json::from_str(&text)
            .map_err(|e| Error::format(path, Location::Line(e.line() as u64), e.to_string()))?;
        config.validate()?;
        Ok(config)
    }

    /// Checks that the fields are consistent, one error per bad field.
    ///
    /// ```
    /// let mut config = embed_bert::BertConfig::tiny();
    /// config.num_attention_heads = 3;
    /// let err = config.validate().unwrap_err();
    /// assert!(err.to_string().contains("num_attention_heads"));
    /// ```
    pub fn validate(&self) -> Result<()> {
        let positive = [
            ("vocab_size", self.vocab_size),
            ("hidden_size", self.hidden_size),
            ("num_hidden_layers", self.num_hidden_layers),
            ("num_attention_heads", self.num_attention_heads),
            ("intermediate_size", self.intermediate_size),
            ("max_position_embeddings", self.max_position_embeddings),
            ("type_vocab_size", self.type_vocab_size),
        ];
        for (name, value) in positive {
            if value == 0 {
                return Err(Error::invalid_parameter(name, "must be at least 1"));
            }
        }
        if !self.hidden_size.is_multiple_of(self.num_attention_heads) {
            return Err(Error::invalid_parameter(
                "num_attention_heads",
                format!(
                    "{} heads do not divide hidden_size {}",
                    self.num_attention_heads, self.hidden_size
                ),
            ));
        }
        if !(self.layer_norm_eps.is_finite() && self.layer_norm_eps >= 0.0) {
            return Err(Error::invalid_parameter(
                "layer_norm_eps",
                format!(
                    "{} is not a finite non-negative number",
                    self.layer_norm_eps
                ),
            ));
        }
        if self.pad_token_id >= self.vocab_size {
            return Err(Error::invalid_parameter(
                "pad_token_id",
                format!(
                    "{} is outside vocab_size {}",
                    self.pad_token_id, self.vocab_size
                ),
            ));
        }
        if self.position_embedding_type != "absolute" {
            return Err(Error::invalid_parameter(
                "position_embedding_type",
                format!(
                    "`{}` is not supported (only `absolute`)",
                    self.position_embedding_type
                ),
            ));
        }
        self.activation()?;
        Ok(())
    }

    /// The feed-forward activation.
    pub fn activation(&self) -> Result<Activation> {
        match self.hidden_act.as_str() {
            "gelu" => Ok(Activation::Gelu),
            "gelu_new" | "gelu_pytorch_tanh" => Ok(Activation::GeluTanh),
            "relu" => Ok(Activation::Relu),
            other => Err(Error::invalid_parameter(
                "hidden_act",
                format!("`{other}` is not supported (gelu, gelu_new, gelu_pytorch_tanh, relu)"),
            )),
        }
    }

    /// Width of one attention head.
    pub fn head_size(&self) -> usize {
        self.hidden_size / self.num_attention_heads
    }

    /// A small configuration for examples and tests.
    pub fn tiny() -> Self {
        BertConfig {
            vocab_size: 16,
            hidden_size: 8,
            num_hidden_layers: 2,
            num_attention_heads: 2,
            intermediate_size: 16,
            hidden_act: default_act(),
            max_position_embeddings: 12,
            type_vocab_size: 2,
            layer_norm_eps: 1e-12,
            pad_token_id: 0,
            position_embedding_type: default_position_type(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<BertConfig> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        std::fs::write(&path, json).unwrap();
        BertConfig::from_file(&path)
    }

    #[test]
    fn reads_hugging_face_fields() {
        let c = parse(
            r#"{"vocab_size": 10, "hidden_size": 4, "num_hidden_layers": 1,
                "num_attention_heads": 2, "intermediate_size": 8,
                "max_position_embeddings": 16, "layer_norm_eps": 1e-5, "model_type": "bert"}"#,
        )
        .unwrap();
        assert_eq!(c.head_size(), 2);
        assert_eq!(c.type_vocab_size, 2);
        assert_eq!(c.activation().unwrap(), Activation::Gelu);
    }

    #[test]
    fn missing_field_is_named() {
        let err = parse(r#"{"vocab_size": 10, "hidden_size": 4}"#).unwrap_err();
        assert!(matches!(err, Error::Format { .. }));
        assert!(err.to_string().contains("num_hidden_layers"), "{err}");
    }

    #[test]
    fn inconsistent_fields_are_rejected() {
        let mut c = BertConfig::tiny();
        c.hidden_size = 10;
        c.num_attention_heads = 4;
        assert!(matches!(
            c.validate(),
            Err(Error::InvalidParameter {
                name: "num_attention_heads",
                ..
            })
        ));
        let mut c = BertConfig::tiny();
        c.num_attention_heads = 0;
        assert!(c.validate().is_err());
        let mut c = BertConfig::tiny();
        c.hidden_act = "swish".into();
        assert!(matches!(
            c.validate(),
            Err(Error::InvalidParameter {
                name: "hidden_act",
                ..
            })
        ));
    }
}
