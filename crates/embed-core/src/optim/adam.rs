//! Adam and AdamW.

use std::fmt;
use std::sync::Arc;

use ndarray::{Array2, ArrayView2};
use serde::{Deserialize, Serialize};

use super::{
    check_dense, check_learning_rate, for_each_row, Optimizer, OptimizerState, StateTable,
};
use crate::{Error, Result};

/// Hyperparameters of [`Adam`]. The default is PyTorch's `Adam`;
/// [`AdamConfig::adamw`] gives PyTorch's `AdamW`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AdamConfig {
    /// Step size (finite, `>= 0`). Default 1e-3.
    pub learning_rate: f32,
    /// Decay of the first moment, in `[0, 1)`. Default 0.9.
    pub beta1: f32,
    /// Decay of the second moment, in `[0, 1)`. Default 0.999.
    pub beta2: f32,
    /// Added to the denominator (finite, `> 0`). Default 1e-8.
    pub eps: f32,
    /// Weight decay λ (finite, `>= 0`). Default 0.
    pub weight_decay: f32,
    /// `true`: AdamW's decoupled decay `w ← w − lr·λ·w` before the Adam
    /// update; `false`: L2 decay added to the gradient, `g ← g + λ·w`
    /// (PyTorch `Adam`'s `weight_decay`). Default false.
    pub decoupled_weight_decay: bool,
}

impl Default for AdamConfig {
    fn default() -> Self {
        AdamConfig {
            learning_rate: 1e-3,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
            decoupled_weight_decay: false,
        }
    }
}

impl AdamConfig {
    /// AdamW: decoupled weight decay `weight_decay` at `learning_rate`,
    /// other fields at their defaults.
    ///
    /// ```
    /// let c = embed_core::optim::AdamConfig::adamw(5e-5, 0.01);
    /// assert!(c.decoupled_weight_decay);
    /// assert_eq!(c.weight_decay, 0.01);
    /// ```
    pub fn adamw(learning_rate: f32, weight_decay: f32) -> Self {
        AdamConfig {
            learning_rate,
            weight_decay,
            decoupled_weight_decay: true,
            ..AdamConfig::default()
        }
    }

    /// Checks every field; the error names the first bad one.
    pub fn validate(&self) -> Result<()> {
        check_learning_rate(self.learning_rate)?;
        for (name, beta) in [("beta1", self.beta1), ("beta2", self.beta2)] {
            if !(0.0..1.0).contains(&beta) {
                return Err(Error::invalid_parameter(
                    name,
                    format!("must lie in [0, 1), got {beta}"),
                ));
            }
        }
        if !self.eps.is_finite() || self.eps <= 0.0 {
            return Err(Error::invalid_parameter(
                "eps",
                format!("must be a finite number > 0, got {}", self.eps),
            ));
        }
        if !self.weight_decay.is_finite() || self.weight_decay < 0.0 {
            return Err(Error::invalid_parameter(
                "weight_decay",
                format!("must be a finite number >= 0, got {}", self.weight_decay),
            ));
        }
        Ok(())
    }
}

/// The usual BERT rule for which parameters decay: all but biases and
/// layer-norm parameters.
///
/// ```
/// use embed_core::optim::decays_unless_bias_or_layer_norm as decays;
/// assert!(decays("encoder.layer.0.attention.self.query.weight"));
/// assert!(!decays("encoder.layer.0.attention.self.query.bias"));
/// assert!(!decays("encoder.layer.0.output.LayerNorm.weight"));
/// assert!(!decays("embeddings.layer_norm.gamma"));
/// ```
pub fn decays_unless_bias_or_layer_norm(name: &str) -> bool {
    let last = name.rsplit('.').next().unwrap_or(name);
    let lower = name.to_ascii_lowercase();
    let layer_norm = lower.contains("layernorm") || lower.contains("layer_norm");
    !(last == "bias" || layer_norm)
}

type DecayFilter = Arc<dyn Fn(&str) -> bool + Send + Sync>;

/// Adam with bias correction, optionally with decoupled weight decay (AdamW),
/// following PyTorch's `Adam`/`AdamW`. At step `t` of a parameter:
///
/// ```text
/// w ← w − lr·λ·w                       (AdamW, if the parameter decays)
/// m ← β₁·m + (1−β₁)·g
/// v ← β₂·v + (1−β₂)·g²
/// w ← w − (lr / (1−β₁ᵗ)) · m / (√v / √(1−β₂ᵗ) + eps)
/// ```
///
/// [`Adam::with_decay_filter`] chooses which parameters decay, by name.
/// In [`Optimizer::step_rows`] the moments of rows not listed are not
/// decayed ("lazy" Adam) and `t` counts the calls for the parameter.
///
/// ```
/// use embed_core::optim::{Adam, AdamConfig, Optimizer};
/// let mut opt = Adam::new(AdamConfig { learning_rate: 0.1, ..Default::default() })?;
/// let mut w = vec![1.0_f32, -1.0];
/// opt.step_dense("w", &mut w, &[3.0, -0.5])?;
/// // The first Adam step moves every component by about lr against its gradient's sign.
/// assert!((w[0] - 0.9).abs() < 1e-6 && (w[1] + 0.9).abs() < 1e-6);
/// # Ok::<(), embed_core::Error>(())
/// ```
#[derive(Clone)]
pub struct Adam {
    config: AdamConfig,
    decays: DecayFilter,
    table: StateTable,
}

impl fmt::Debug for Adam {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Adam")
            .field("config", &self.config)
            .field("table", &self.table)
            .finish_non_exhaustive()
    }
}

impl Adam {
    const KIND: &'static str = "adam";

    /// Adam with validated hyperparameters; every parameter decays.
    pub fn new(config: AdamConfig) -> Result<Self> {
        config.validate()?;
        Ok(Adam {
            config,
            decays: Arc::new(|_| true),
            table: StateTable::default(),
        })
    }

    /// Applies weight decay only to the parameters whose name `decays`
    /// accepts, e.g. [`decays_unless_bias_or_layer_norm`].
    ///
    /// ```
    /// use embed_core::optim::{decays_unless_bias_or_layer_norm, Adam, AdamConfig, Optimizer};
    /// let mut opt = Adam::new(AdamConfig::adamw(0.1, 0.5))?
    ///     .with_decay_filter(decays_unless_bias_or_layer_norm);
    /// let (mut w, mut b) = (vec![1.0_f32], vec![1.0_f32]);
    /// opt.step_dense("dense.weight", &mut w, &[0.0])?;
    /// opt.step_dense("dense.bias", &mut b, &[0.0])?;
    /// assert!((w[0] - 0.95).abs() < 1e-7); // 1 − 0.1 · 0.5 · 1
    /// assert_eq!(b[0], 1.0);
    /// # Ok::<(), embed_core::Error>(())
    /// ```
    pub fn with_decay_filter(
        mut self,
        decays: impl Fn(&str) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.decays = Arc::new(decays);
        self
    }

    /// The hyperparameters in force.
    pub fn config(&self) -> &AdamConfig {
        &self.config
    }
}

/// Constants of one Adam step of one parameter.
#[derive(Clone, Copy)]
struct AdamStep {
    beta1: f32,
    beta2: f32,
    eps: f32,
    step_size: f32,
    bias_correction2_sqrt: f32,
    /// Multiplier of `w` before the update (AdamW), 1 when none.
    shrink: f32,
    /// L2 coefficient added to the gradient (Adam), 0 when none.
    l2: f32,
}

impl AdamStep {
    fn new(config: &AdamConfig, step: u64, decays: bool) -> Self {
        let t = i32::try_from(step).unwrap_or(i32::MAX);
        let bias_correction1 = 1.0 - f64::from(config.beta1).powi(t);
        let bias_correction2 = 1.0 - f64::from(config.beta2).powi(t);
        let lr = f64::from(config.learning_rate);
        let decay = if decays { config.weight_decay } else { 0.0 };
        let (shrink, l2) = if config.decoupled_weight_decay {
            ((1.0 - lr * f64::from(decay)) as f32, 0.0)
        } else {
            (1.0, decay)
        };
        AdamStep {
            beta1: config.beta1,
            beta2: config.beta2,
            eps: config.eps,
            step_size: (lr / bias_correction1) as f32,
            bias_correction2_sqrt: bias_correction2.sqrt() as f32,
            shrink,
            l2,
        }
    }

    #[inline]
    fn apply(&self, weights: &mut [f32], m: &mut [f32], v: &mut [f32], grad: &[f32]) {
        let it = weights
            .iter_mut()
            .zip(m.iter_mut())
            .zip(v.iter_mut())
            .zip(grad);
        for (((w, m), v), &g) in it {
            let g = g + self.l2 * *w;
            *w *= self.shrink;
            *m = self.beta1 * *m + (1.0 - self.beta1) * g;
            *v = self.beta2 * *v + (1.0 - self.beta2) * g * g;
            let denom = v.sqrt() / self.bias_correction2_sqrt + self.eps;
            *w -= self.step_size * *m / denom;
        }
    }
}

impl Optimizer for Adam {
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
        let decays = (self.decays)(name);
        let state = self.table.slot(name, param.len(), 2, 0.0)?;
        state.steps += 1;
        let step = AdamStep::new(&self.config, state.steps, decays);
        let [m, v] = state.buffers.as_mut_slice() else {
            unreachable!("Adam keeps two buffers per parameter")
        };
        step.apply(param, m, v, grad);
        Ok(())
    }

    fn step_rows(
        &mut self,
        name: &str,
        param: &mut Array2<f32>,
        rows: &[usize],
        grads: ArrayView2<'_, f32>,
    ) -> Result<()> {
        let decays = (self.decays)(name);
        let state = self.table.slot(name, param.len(), 2, 0.0)?;
        let step = AdamStep::new(&self.config, state.steps + 1, decays);
        let [m, v] = state.buffers.as_mut_slice() else {
            unreachable!("Adam keeps two buffers per parameter")
        };
        for_each_row(name, param, rows, grads, |offset, w, g| {
            let range = offset..offset + w.len();
            step.apply(w, &mut m[range.clone()], &mut v[range], g);
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
        self.config.learning_rate = self.table.load(Self::KIND, 2, state)?;
        Ok(())
    }
}
