//! The shape and regularisation of a biLM to train.

use embed_core::{Error, Result};
use serde::{Deserialize, Serialize};

use crate::chars::MAX_CHARS;
use crate::options::{Activation, CharCnnOptions, ElmoOptions, EmbeddingOptions, LstmOptions};

/// Rows of the trainable character table: AllenNLP ids 1..=261 (bilm-tf's
/// ids 0..=260; id 0 marks a padded token and reads a zero vector).
pub const CHAR_EMBED_ROWS: usize = 261;

/// What TensorFlow's LSTM cell adds to the forget gate's pre-activation;
/// the stored bias `B` does not include it.
pub const FORGET_BIAS: f32 = 1.0;

/// Everything that fixes the network's shape, plus dropout.
///
/// [`BiLmConfig::validate`] checks every field and names the first bad one.
///
/// ```
/// use embed_elmo::train::BiLmConfig;
/// let config = BiLmConfig::small(10_000);
/// assert_eq!(config.n_filters(), 256);
/// config.validate()?;
/// let bad = BiLmConfig { lstm_dim: 0, ..config };
/// assert!(bad.validate().unwrap_err().to_string().contains("lstm_dim"));
/// # Ok::<(), embed_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BiLmConfig {
    /// `(width, number of filters)` per convolution.
    pub char_filters: Vec<(usize, usize)>,
    /// Width of a character vector.
    pub char_embed_dim: usize,
    /// Character ids per token; must be 50 (AllenNLP's mapper).
    pub max_chars: usize,
    /// Activation after the max over positions.
    pub activation: Activation,
    /// Number of highway layers.
    pub n_highway: usize,
    /// Width of the token layer (the projection after the highway layers).
    pub projection_dim: usize,
    /// Width of each LSTM's memory cell.
    pub lstm_dim: usize,
    /// Width of each LSTM's projected output; equal to `projection_dim`
    /// (bilm-tf's `options.json` has one `projection_dim` for both).
    pub lstm_proj_dim: usize,
    /// LSTM layers per direction.
    pub n_layers: usize,
    /// Cells are clipped to `±cell_clip`; 0 = no clipping.
    pub cell_clip: f32,
    /// Projected states are clipped to `±proj_clip`; 0 = no clipping.
    pub proj_clip: f32,
    /// Add each LSTM layer's input to its output from the second layer on.
    pub use_skip_connections: bool,
    /// Number of words the softmax predicts (ids ordered by falling
    /// frequency for the sampled softmax's log-uniform sampler).
    pub vocab_size: usize,
    /// Drop probability on every LSTM layer's input and on the top layer's
    /// output before the softmax (bilm-tf's `dropout`), in `[0, 1)`.
    pub dropout: f32,
}

impl BiLmConfig {
    /// The small configuration: filters of widths 1–5 (256 in all), one
    /// highway layer, LSTMs of 256 cells projected to 128, two layers.
    pub fn small(vocab_size: usize) -> Self {
        BiLmConfig {
            char_filters: vec![(1, 32), (2, 32), (3, 64), (4, 64), (5, 64)],
            char_embed_dim: 16,
            max_chars: MAX_CHARS,
            activation: Activation::Relu,
            n_highway: 1,
            projection_dim: 128,
            lstm_dim: 256,
            lstm_proj_dim: 128,
            n_layers: 2,
            cell_clip: 3.0,
            proj_clip: 3.0,
            use_skip_connections: true,
            vocab_size,
            dropout: 0.1,
        }
    }

    /// bilm-tf's published configuration (the "original" ELMo: 2048
    /// filters, two highway layers, LSTMs of 4096 cells projected to 512).
    pub fn bilm_tf(vocab_size: usize) -> Self {
        BiLmConfig {
            char_filters: vec![
                (1, 32),
                (2, 32),
                (3, 64),
                (4, 128),
                (5, 256),
                (6, 512),
                (7, 1024),
            ],
            n_highway: 2,
            projection_dim: 512,
            lstm_dim: 4096,
            lstm_proj_dim: 512,
            ..BiLmConfig::small(vocab_size)
        }
    }

    /// Total number of convolution filters.
    pub fn n_filters(&self) -> usize {
        self.char_filters.iter().map(|&(_, n)| n).sum()
    }

    /// Checks every field; the error names the first bad one.
    pub fn validate(&self) -> Result<()> {
        if self.char_filters.is_empty() {
            return Err(Error::invalid_parameter(
                "char_filters",
                "needs at least one (width, count)",
            ));
        }
        if self.max_chars != MAX_CHARS {
            return Err(Error::invalid_parameter(
                "max_chars",
                format!(
                    "is {}, the character mapper makes {MAX_CHARS}",
                    self.max_chars
                ),
            ));
        }
        for &(width, count) in &self.char_filters {
            if width == 0 || width > self.max_chars || count == 0 {
                return Err(Error::invalid_parameter(
                    "char_filters",
                    format!(
                        "({width}, {count}): width must be 1..={} and count at least 1",
                        self.max_chars
                    ),
                ));
            }
        }
        for (name, value) in [
            ("char_embed_dim", self.char_embed_dim),
            ("projection_dim", self.projection_dim),
            ("lstm_dim", self.lstm_dim),
            ("lstm_proj_dim", self.lstm_proj_dim),
            ("n_layers", self.n_layers),
            ("vocab_size", self.vocab_size),
        ] {
            if value == 0 {
                return Err(Error::invalid_parameter(name, "must be at least 1"));
            }
        }
        if self.lstm_proj_dim != self.projection_dim {
            return Err(Error::invalid_parameter(
                "lstm_proj_dim",
                format!(
                    "is {}, must equal projection_dim ({}): bilm-tf's options.json has one projection_dim for both",
                    self.lstm_proj_dim, self.projection_dim
                ),
            ));
        }
        if self.vocab_size > u32::MAX as usize {
            return Err(Error::invalid_parameter(
                "vocab_size",
                format!("{} does not fit 32-bit word ids", self.vocab_size),
            ));
        }
        for (name, value) in [("cell_clip", self.cell_clip), ("proj_clip", self.proj_clip)] {
            if !(value.is_finite() && value >= 0.0) {
                return Err(Error::invalid_parameter(
                    name,
                    format!("is {value}, must be finite and not negative (0 = no clipping)"),
                ));
            }
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(Error::invalid_parameter(
                "dropout",
                format!("is {}, must lie in [0, 1)", self.dropout),
            ));
        }
        Ok(())
    }

    /// The `options.json` an inference model of this shape reads.
    pub fn to_options(&self) -> ElmoOptions {
        ElmoOptions {
            char_cnn: CharCnnOptions {
                activation: self.activation,
                filters: self.char_filters.clone(),
                n_highway: self.n_highway,
                embedding: EmbeddingOptions {
                    dim: self.char_embed_dim,
                },
                max_characters_per_token: self.max_chars,
            },
            lstm: LstmOptions {
                dim: self.lstm_dim,
                projection_dim: self.projection_dim,
                n_layers: self.n_layers,
                cell_clip: self.cell_clip,
                proj_clip: self.proj_clip,
                use_skip_connections: self.use_skip_connections,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bad_field_is_named() {
        let good = BiLmConfig::small(100);
        good.validate().unwrap();
        let cases: Vec<(&str, BiLmConfig)> = vec![
            (
                "char_filters",
                BiLmConfig {
                    char_filters: vec![],
                    ..good.clone()
                },
            ),
            (
                "char_filters",
                BiLmConfig {
                    char_filters: vec![(0, 3)],
                    ..good.clone()
                },
            ),
            (
                "char_filters",
                BiLmConfig {
                    char_filters: vec![(51, 3)],
                    ..good.clone()
                },
            ),
            (
                "max_chars",
                BiLmConfig {
                    max_chars: 49,
                    ..good.clone()
                },
            ),
            (
                "char_embed_dim",
                BiLmConfig {
                    char_embed_dim: 0,
                    ..good.clone()
                },
            ),
            (
                "projection_dim",
                BiLmConfig {
                    projection_dim: 0,
                    ..good.clone()
                },
            ),
            (
                "lstm_dim",
                BiLmConfig {
                    lstm_dim: 0,
                    ..good.clone()
                },
            ),
            (
                "lstm_proj_dim",
                BiLmConfig {
                    lstm_proj_dim: 64,
                    ..good.clone()
                },
            ),
            (
                "n_layers",
                BiLmConfig {
                    n_layers: 0,
                    ..good.clone()
                },
            ),
            (
                "vocab_size",
                BiLmConfig {
                    vocab_size: 0,
                    ..good.clone()
                },
            ),
            (
                "cell_clip",
                BiLmConfig {
                    cell_clip: -1.0,
                    ..good.clone()
                },
            ),
            (
                "proj_clip",
                BiLmConfig {
                    proj_clip: f32::NAN,
                    ..good.clone()
                },
            ),
            (
                "dropout",
                BiLmConfig {
                    dropout: 1.0,
                    ..good.clone()
                },
            ),
        ];
        for (field, config) in cases {
            let message = config.validate().unwrap_err().to_string();
            assert!(
                message.contains(&format!("`{field}`")),
                "{field}: {message}"
            );
        }
    }

    #[test]
    fn options_round_trip_through_json() {
        let options = BiLmConfig::small(10).to_options();
        let json = serde_json::to_string(&options).unwrap();
        assert_eq!(
            ElmoOptions::from_json(&json, "options.json").unwrap(),
            options
        );
    }
}
