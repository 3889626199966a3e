//! The `options.json` of a bilm-tf / AllenNLP ELMo model.
//!
//! Only the fields the network's shape depends on are read; the rest
//! (`n_characters`, training settings) are ignored, as AllenNLP does.
//! [`ElmoOptions::from_json`] checks every field and names the first one
//! that is missing or out of range.

use std::path::Path;

use embed_core::{Error, Location, Result};
use serde::{Deserialize, Serialize};

use crate::chars::MAX_CHARS;

/// Activation applied to the max-pooled convolution features.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    /// `max(x, 0)`.
    Relu,
    /// `tanh(x)`.
    Tanh,
}

impl Activation {
    /// Applies the activation to one value.
    pub fn apply(self, x: f32) -> f32 {
        match self {
            Activation::Relu => x.max(0.0),
            Activation::Tanh => x.tanh(),
        }
    }
}

/// The `char_cnn` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CharCnnOptions {
    /// Activation after the max over positions.
    pub activation: Activation,
    /// `[width, number of filters]` per convolution.
    pub filters: Vec<(usize, usize)>,
    /// Number of highway layers.
    pub n_highway: usize,
    /// Character embedding size.
    pub embedding: EmbeddingOptions,
    /// Character ids per token; must be 50.
    pub max_characters_per_token: usize,
}

/// The `char_cnn.embedding` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmbeddingOptions {
    /// Width of a character vector.
    pub dim: usize,
}

/// The `lstm` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LstmOptions {
    /// Memory cell size.
    pub dim: usize,
    /// Size of the projected hidden state (and of the token layer).
    pub projection_dim: usize,
    /// Number of stacked layers per direction.
    pub n_layers: usize,
    /// Cell values are clipped to `±cell_clip`; 0 turns clipping off.
    pub cell_clip: f32,
    /// Projected states are clipped to `±proj_clip`; 0 turns clipping off.
    pub proj_clip: f32,
    /// Add each layer's input to its output from the second layer on
    /// (bilm-tf's setting; every released model has it on).
    #[serde(default = "default_true")]
    pub use_skip_connections: bool,
}

fn default_true() -> bool {
    true
}

/// A parsed and checked `options.json`.
///
/// ```
/// use embed_elmo::ElmoOptions;
/// let json = r#"{"lstm": {"dim": 32, "projection_dim": 16, "n_layers": 2, "cell_clip": 3,
///   "proj_clip": 3, "use_skip_connections": true},
///   "char_cnn": {"activation": "relu", "filters": [[1, 8], [2, 8]], "n_highway": 1,
///   "embedding": {"dim": 16}, "max_characters_per_token": 50}}"#;
/// let options = ElmoOptions::from_json(json, "options.json").unwrap();
/// assert_eq!(options.n_filters(), 16);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ElmoOptions {
    /// Character encoder settings.
    pub char_cnn: CharCnnOptions,
    /// biLSTM settings.
    pub lstm: LstmOptions,
}

impl ElmoOptions {
    /// Reads and checks an `options.json` file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Self::from_json(&text, path)
    }

    /// Parses and checks options; `path` names the source in errors.
    pub fn from_json(text: &str, path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let options: ElmoOptions = serde_json::from_str(text)
            .map_err(|e| Error::format(path, Location::Line(e.line() as u64), e.to_string()))?;
        options.validate()?;
        Ok(options)
    }

    /// Total number of convolution filters (the char-CNN feature width).
    pub fn n_filters(&self) -> usize {
        self.char_cnn.filters.iter().map(|&(_, n)| n).sum()
    }

    /// Width of every activation layer: forward ‖ backward.
    pub fn output_dim(&self) -> usize {
        2 * self.lstm.projection_dim
    }

    fn validate(&self) -> Result<()> {
        let cnn = &self.char_cnn;
        if cnn.max_characters_per_token != MAX_CHARS {
            return Err(Error::invalid_parameter(
                "char_cnn.max_characters_per_token",
                format!(
                    "is {}, the character mapper makes {MAX_CHARS}",
                    cnn.max_characters_per_token
                ),
            ));
        }
        if cnn.embedding.dim == 0 {
            return Err(Error::invalid_parameter(
                "char_cnn.embedding.dim",
                "must be at least 1",
            ));
        }
        if cnn.filters.is_empty() {
            return Err(Error::invalid_parameter(
                "char_cnn.filters",
                "needs at least one [width, count]",
            ));
        }
        for &(width, count) in &cnn.filters {
            if width == 0 || width > MAX_CHARS || count == 0 {
                return Err(Error::invalid_parameter(
                    "char_cnn.filters",
                    format!(
                        "[{width}, {count}]: width must be 1..={MAX_CHARS} and count at least 1"
                    ),
                ));
            }
        }
        let lstm = &self.lstm;
        for (name, value) in [
            ("lstm.dim", lstm.dim),
            ("lstm.projection_dim", lstm.projection_dim),
            ("lstm.n_layers", lstm.n_layers),
        ] {
            if value == 0 {
                return Err(Error::invalid_parameter(name, "must be at least 1"));
            }
        }
        for (name, value) in [
            ("lstm.cell_clip", lstm.cell_clip),
            ("lstm.proj_clip", lstm.proj_clip),
        ] {
            if !(value.is_finite() && value >= 0.0) {
                return Err(Error::invalid_parameter(
                    name,
                    format!("is {value}, must be finite and not negative (0 = no clipping)"),
                ));
            }
        }
        Ok(())
    }
}
