//! AdaGrad with a configurable initial accumulator and gradient clipping.

use ndarray::{Array2, ArrayView2};
use serde::{Deserialize, Serialize};

use super::{
    check_dense, check_learning_rate, for_each_row, Optimizer, OptimizerState, StateTable,
};
use crate::{Error, Result};

/// Hyperparameters of [`AdaGrad`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AdaGradConfig {
    /// Step size (finite, `>= 0`). Default 0.05, GloVe's `eta`.
    pub learning_rate: f32,
    /// Starting value of every accumulator (finite, `>= 0`). PyTorch starts
    /// at 0; GloVe at 1. Default 0.
    pub initial_accumulator: f32,
    /// Added to the root of the accumulator (finite, `> 0`). Default 1e-10.
    pub eps: f32,
    /// Clip each gradient component to `±clip` before use (`> 0`), or no
    /// clipping. GloVe clips at 100. Default none.
    pub clip: Option<f32>,
    /// Whether the current squared gradient enters the accumulator before
    /// the update (PyTorch, the textbook) or after it (GloVe). Default true.
    pub accumulate_before_update: bool,
}

impl Default for AdaGradConfig {
    fn default() -> Self {
        AdaGradConfig {
            learning_rate: 0.05,
            initial_accumulator: 0.0,
            eps: 1e-10,
            clip: None,
            accumulate_before_update: true,
        }
    }
}

impl AdaGradConfig {
    /// Checks every field; the error names the first bad one.
    pub fn validate(&self) -> Result<()> {
        check_learning_rate(self.learning_rate)?;
        if !self.initial_accumulator.is_finite() || self.initial_accumulator < 0.0 {
            return Err(Error::invalid_parameter(
                "initial_accumulator",
                format!(
                    "must be a finite number >= 0, got {}",
                    self.initial_accumulator
                ),
            ));
        }
        if !self.eps.is_finite() || self.eps <= 0.0 {
            return Err(Error::invalid_parameter(
                "eps",
                format!("must be a finite number > 0, got {}", self.eps),
            ));
        }
        if let Some(clip) = self.clip {
            if clip.is_nan() || clip <= 0.0 {
                return Err(Error::invalid_parameter(
                    "clip",
                    format!("must be > 0, got {clip}"),
                ));
            }
        }
        Ok(())
    }
}

/// AdaGrad: per-component step sizes shrinking with the sum of squared
/// gradients seen so far.
///
/// With `g` the gradient clipped to `±clip` and `G` the accumulator
/// (starting at `initial_accumulator`):
///
/// * accumulate before update (default): `G ← G + g²; w ← w − lr · g / (√G + eps)`
/// * accumulate after update (GloVe): `w ← w − lr · g / (√G + eps); G ← G + g²`
///
/// GloVe's own rule accumulates the *scaled* gradient `η · clip(g, ±c)`
/// and divides by the old accumulator; it is this optimizer with
/// `learning_rate = 1`, `initial_accumulator = 1`, gradients passed as
/// `η · g`, `clip = Some(η · c)` and `accumulate_before_update = false`.
///
/// ```
/// use embed_core::optim::{AdaGrad, AdaGradConfig, Optimizer};
/// let mut opt = AdaGrad::new(AdaGradConfig { learning_rate: 0.1, ..Default::default() })?;
/// let mut w = vec![1.0_f32];
/// opt.step_dense("w", &mut w, &[2.0])?; // G = 4, w = 1 − 0.1 · 2 / 2
/// assert!((w[0] - 0.9).abs() < 1e-6);
/// # Ok::<(), embed_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct AdaGrad {
    config: AdaGradConfig,
    table: StateTable,
}

impl AdaGrad {
    const KIND: &'static str = "adagrad";

    /// AdaGrad with validated hyperparameters.
    pub fn new(config: AdaGradConfig) -> Result<Self> {
        config.validate()?;
        Ok(AdaGrad {
            config,
            table: StateTable::default(),
        })
    }

    /// The hyperparameters in force.
    pub fn config(&self) -> &AdaGradConfig {
        &self.config
    }
}

#[inline]
fn adagrad_update(weights: &mut [f32], accumulator: &mut [f32], grad: &[f32], c: &AdaGradConfig) {
    let clip = c.clip.unwrap_or(f32::INFINITY);
    for ((w, acc), &g) in weights.iter_mut().zip(accumulator.iter_mut()).zip(grad) {
        let g = g.clamp(-clip, clip);
        if c.accumulate_before_update {
            *acc += g * g;
            *w -= c.learning_rate * g / (acc.sqrt() + c.eps);
        } else {
            *w -= c.learning_rate * g / (acc.sqrt() + c.eps);
            *acc += g * g;
        }
    }
}

impl Optimizer for AdaGrad {
    fn learning_rate(&self) -> f32 {
        self.config.learning_rate
    }

    fn set_learning_rate(&mut self, learning_rate: f32) -> Result<()> {
        check_learning_rate(learning_rate)?;
        self.config.learning_rate = learning_rate;
        Ok(())
    }

    fn step_dense(&mut self, name: &str, param: &mut [f32], grad: &[f32]) -> Result<()> {
        check_dense(name, param, grad)?;
        let state = self
            .table
            .slot(name, param.len(), 1, self.config.initial_accumulator)?;
        state.steps += 1;
        adagrad_update(param, &mut state.buffers[0], grad, &self.config);
        Ok(())
    }

    fn step_rows(
        &mut self,
        name: &str,
        param: &mut Array2<f32>,
        rows: &[usize],
        grads: ArrayView2<'_, f32>,
    ) -> Result<()> {
        let config = self.config;
        let state = self
            .table
            .slot(name, param.len(), 1, config.initial_accumulator)?;
        let accumulator = &mut state.buffers[0];
        for_each_row(name, param, rows, grads, |offset, w, g| {
            adagrad_update(w, &mut accumulator[offset..offset + w.len()], g, &config);
        })?;
        state.steps += 1;
        Ok(())
    }

    fn steps(&self, name: &str) -> u64 {
        self.table.steps(name)
    }

    fn state(&self) -> OptimizerState {
        self.table.to_state(Self::KIND, self.config.learning_rate)
    }

    fn load_state(&mut self, state: OptimizerState) -> Result<()> {
        self.config.learning_rate = self.table.load(Self::KIND, 1, state)?;
        Ok(())
    }
}
