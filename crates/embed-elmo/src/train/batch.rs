//! What one training step reads and carries: a window of two token streams,
//! the recurrent state between windows, and the loss.

use embed_core::nn::lstm::{LstmShape, LstmState};
use embed_core::{Error, Result};

use super::config::BiLmConfig;
use crate::chars::MAX_CHARS;

/// A window of `unroll` steps of `batch` token streams, for both directions.
///
/// bilm-tf trains the two directions on two separate streams: the forward
/// language model reads the text in order, the backward one reads it
/// reversed (every sentence reversed, `</S>` first). Each direction runs its
/// LSTMs forward in time over its own stream and carries its state from one
/// window to the next; row `b` of a window continues row `b` of the previous
/// window in both streams.
///
/// All arrays are row-major over `[batch][unroll]` (then `[50]` for
/// character ids):
///
/// - `char_ids` / `backward_char_ids`: AllenNLP character ids of each
///   position's token (see [`crate::chars`]); all zeros for a padded
///   position.
/// - `forward_targets[b][t]`: the word id of the token after position `t` in
///   the forward stream; `backward_targets[b][t]`: the word id of the token
///   after position `t` in the backward stream (the one before it in the
///   text).
/// - `mask` / `backward_mask`: 1 where the target is real and counts in the
///   loss, 0 for padding (the end of the data). Padded positions still run
///   through the LSTMs, so put them only at the end of a stream.
///
/// ```
/// use embed_elmo::train::BiLmBatch;
/// let batch = BiLmBatch::zeros(2, 3);
/// assert_eq!(batch.char_ids.len(), 2 * 3 * 50);
/// assert_eq!(batch.tokens(), 0); // nothing unmasked yet
/// batch.validate(100).unwrap();
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct BiLmBatch {
    /// Number of streams (rows).
    pub batch: usize,
    /// Steps per window.
    pub unroll: usize,
    /// `[batch][unroll][50]`: the forward stream.
    pub char_ids: Vec<u16>,
    /// `[batch][unroll]`: the next word of the forward stream.
    pub forward_targets: Vec<u32>,
    /// `[batch][unroll][50]`: the backward (reversed) stream.
    pub backward_char_ids: Vec<u16>,
    /// `[batch][unroll]`: the next word of the backward stream.
    pub backward_targets: Vec<u32>,
    /// `[batch][unroll]`: 1 where the forward target counts.
    pub mask: Vec<u8>,
    /// `[batch][unroll]`: 1 where the backward target counts.
    pub backward_mask: Vec<u8>,
}

impl BiLmBatch {
    /// A window of padding only (every mask 0), to fill in.
    pub fn zeros(batch: usize, unroll: usize) -> Self {
        let positions = batch * unroll;
        BiLmBatch {
            batch,
            unroll,
            char_ids: vec![0; positions * MAX_CHARS],
            forward_targets: vec![0; positions],
            backward_char_ids: vec![0; positions * MAX_CHARS],
            backward_targets: vec![0; positions],
            mask: vec![0; positions],
            backward_mask: vec![0; positions],
        }
    }

    /// Targets that count in the loss, both directions together.
    pub fn tokens(&self) -> usize {
        self.forward_tokens() + self.backward_tokens()
    }

    /// Forward targets that count.
    pub fn forward_tokens(&self) -> usize {
        self.mask.iter().filter(|&&m| m != 0).count()
    }

    /// Backward targets that count.
    pub fn backward_tokens(&self) -> usize {
        self.backward_mask.iter().filter(|&&m| m != 0).count()
    }

    /// Checks every length, and that counted targets are below `vocab_size`.
    pub fn validate(&self, vocab_size: usize) -> Result<()> {
        let positions = self.batch * self.unroll;
        for (name, len, expected) in [
            ("char_ids", self.char_ids.len(), positions * MAX_CHARS),
            (
                "backward_char_ids",
                self.backward_char_ids.len(),
                positions * MAX_CHARS,
            ),
            ("forward_targets", self.forward_targets.len(), positions),
            ("backward_targets", self.backward_targets.len(), positions),
            ("mask", self.mask.len(), positions),
            ("backward_mask", self.backward_mask.len(), positions),
        ] {
            if len != expected {
                return Err(Error::InvalidInput(format!(
                    "batch field `{name}` has {len} values, expected {expected} for {} rows of {} steps",
                    self.batch, self.unroll
                )));
            }
        }
        for (name, targets, mask) in [
            ("forward_targets", &self.forward_targets, &self.mask),
            (
                "backward_targets",
                &self.backward_targets,
                &self.backward_mask,
            ),
        ] {
            if let Some((&bad, _)) = targets
                .iter()
                .zip(mask)
                .find(|&(&t, &m)| m != 0 && t as usize >= vocab_size)
            {
                return Err(Error::InvalidInput(format!(
                    "batch field `{name}` holds word id {bad}, outside the vocabulary of {vocab_size}"
                )));
            }
        }
        Ok(())
    }
}

/// The LSTM states carried from one window to the next: per direction, per
/// layer, `h` `[batch, lstm_proj_dim]` and `c` `[batch, lstm_dim]`.
///
/// ```
/// use embed_elmo::train::{BiLmConfig, BiLmState};
/// let state = BiLmState::zeros(&BiLmConfig::small(100), 4);
/// assert_eq!(state.forward.len(), 2);
/// assert_eq!(state.backward[1].c.dim(), (4, 256));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct BiLmState {
    /// The forward direction's layers, first to last.
    pub forward: Vec<LstmState>,
    /// The backward direction's layers, first to last.
    pub backward: Vec<LstmState>,
}

impl BiLmState {
    /// The zero state of `batch` rows (how bilm-tf starts every stream).
    pub fn zeros(config: &BiLmConfig, batch: usize) -> Self {
        let shape = lstm_shape(config, 0);
        let layers = vec![LstmState::zeros(batch, &shape); config.n_layers];
        BiLmState {
            forward: layers.clone(),
            backward: layers,
        }
    }

    /// Number of rows.
    pub fn batch(&self) -> usize {
        self.forward.first().map_or(0, LstmState::batch)
    }

    /// Zeroes row `row` of every layer in both directions (a stream that
    /// starts over).
    pub fn reset_row(&mut self, row: usize) {
        for layer in self.forward.iter_mut().chain(&mut self.backward) {
            if row < layer.batch() {
                layer.h.row_mut(row).fill(0.0);
                layer.c.row_mut(row).fill(0.0);
            }
        }
    }

    /// The direction `0` (forward) or `1` (backward).
    pub(crate) fn direction_mut(&mut self, direction: usize) -> &mut Vec<LstmState> {
        if direction == 0 {
            &mut self.forward
        } else {
            &mut self.backward
        }
    }

    pub(crate) fn check(&self, config: &BiLmConfig, batch: usize) -> Result<()> {
        for layers in [&self.forward, &self.backward] {
            if layers.len() != config.n_layers
                || layers.iter().any(|l| {
                    l.h.dim() != (batch, config.lstm_proj_dim)
                        || l.c.dim() != (batch, config.lstm_dim)
                })
            {
                return Err(Error::InvalidInput(format!(
                    "the state does not fit {} layers of {batch} rows (cell {}, projection {})",
                    config.n_layers, config.lstm_dim, config.lstm_proj_dim
                )));
            }
        }
        Ok(())
    }
}

/// The LSTM shape of layer `layer` (its input is the token layer for the
/// first layer, the layer below for the others).
pub(crate) fn lstm_shape(config: &BiLmConfig, layer: usize) -> LstmShape {
    LstmShape {
        input_dim: if layer == 0 {
            config.projection_dim
        } else {
            config.lstm_proj_dim
        },
        cell_dim: config.lstm_dim,
        proj_dim: config.lstm_proj_dim,
        cell_clip: config.cell_clip,
        proj_clip: config.proj_clip,
        forget_bias: super::config::FORGET_BIAS,
    }
}

/// How the output layer scores the vocabulary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SoftmaxMode {
    /// Every word, every position.
    Full,
    /// TensorFlow's sampled softmax: each direction draws `samples` distinct
    /// words per window (log-uniform over frequency-ordered ids) and scores
    /// each position against its target and those.
    Sampled {
        /// Distinct words drawn per direction and window.
        samples: usize,
    },
}

/// Summed losses of a window.
///
/// Under [`SoftmaxMode::Sampled`] the sums are of the sampled-softmax loss
/// that training minimises; [`crate::train::BiLm::evaluate`] always gives
/// the full softmax's negative log-likelihood.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LossStats {
    /// Σ −log p(target) over the forward targets that count (nats).
    pub forward_nll: f64,
    /// The same over the backward targets.
    pub backward_nll: f64,
    /// Targets counted, both directions together.
    pub tokens: usize,
    /// Forward targets counted.
    pub forward_tokens: usize,
    /// Backward targets counted.
    pub backward_tokens: usize,
}

impl LossStats {
    /// Mean loss per target over both directions (what the gradient is of).
    pub fn mean_nll(&self) -> f64 {
        if self.tokens == 0 {
            0.0
        } else {
            (self.forward_nll + self.backward_nll) / self.tokens as f64
        }
    }

    /// `exp` of [`LossStats::mean_nll`]: the perplexity averaged over both
    /// directions, as bilm-tf reports it.
    ///
    /// ```
    /// use embed_elmo::train::LossStats;
    /// let stats = LossStats { forward_nll: 2.0, backward_nll: 4.0, tokens: 4, forward_tokens: 2, backward_tokens: 2 };
    /// assert!((stats.perplexity() - 1.5f64.exp()).abs() < 1e-12);
    /// ```
    pub fn perplexity(&self) -> f64 {
        self.mean_nll().exp()
    }

    /// Perplexity of the forward direction alone.
    pub fn forward_perplexity(&self) -> f64 {
        (self.forward_nll / self.forward_tokens.max(1) as f64).exp()
    }

    /// Perplexity of the backward direction alone.
    pub fn backward_perplexity(&self) -> f64 {
        (self.backward_nll / self.backward_tokens.max(1) as f64).exp()
    }
}

impl std::ops::AddAssign for LossStats {
    fn add_assign(&mut self, other: LossStats) {
        self.forward_nll += other.forward_nll;
        self.backward_nll += other.backward_nll;
        self.tokens += other.tokens;
        self.forward_tokens += other.forward_tokens;
        self.backward_tokens += other.backward_tokens;
    }
}
