//! Optimizers: one trait, dense and row-sparse updates.
//!
//! An [`Optimizer`] updates parameters addressed by name, so that it can
//! keep per-parameter state (AdaGrad's accumulator, Adam's moments) and
//! save it for a checkpoint ([`Optimizer::state`], [`OptimizerState`] is
//! serde-serialisable) and restore it ([`Optimizer::load_state`]).
//!
//! * [`Optimizer::step_dense`] updates a whole parameter from its gradient;
//! * [`Optimizer::step_rows`] updates only some rows of a matrix (an
//!   embedding table that saw a few words), keeping per-row state: rows not
//!   named are left as they are, parameters and state alike.
//!
//! Each call to `step_dense` or `step_rows` for a name counts one step of
//! that parameter ([`Optimizer::steps`]); Adam's bias correction uses it.
//! Learning-rate schedules ([`crate::schedule`]) drive
//! [`Optimizer::set_learning_rate`].
//!
//! Implementations: [`Sgd`], [`AdaGrad`], [`Adam`] (with AdamW's decoupled
//! weight decay).
//!
//! ```
//! use embed_core::optim::{Optimizer, Sgd};
//! let mut opt = Sgd::new(0.5)?;
//! let mut w = vec![1.0_f32, 2.0];
//! opt.step_dense("w", &mut w, &[1.0, -2.0])?;
//! assert_eq!(w, vec![0.5, 3.0]);
//! # Ok::<(), embed_core::Error>(())
//! ```

mod adagrad;
mod adam;
mod sgd;

pub use adagrad::{AdaGrad, AdaGradConfig};
pub use adam::{decays_unless_bias_or_layer_norm, Adam, AdamConfig};
pub use sgd::Sgd;

use std::collections::BTreeMap;

use ndarray::{Array2, ArrayView2};
use serde::{Deserialize, Serialize};

use crate::params::{GradientStore, ParameterStore};
use crate::{Error, Result};

/// Updates named parameters from their gradients.
pub trait Optimizer: Send {
    /// The learning rate the next step uses.
    fn learning_rate(&self) -> f32;

    /// Sets the learning rate for the following steps (finite, `>= 0`).
    fn set_learning_rate(&mut self, learning_rate: f32) -> Result<()>;

    /// One step on a whole parameter: `param` and `grad` have the same length,
    /// which must not change between calls for the same `name`.
    fn step_dense(&mut self, name: &str, param: &mut [f32], grad: &[f32]) -> Result<()>;

    /// One step on the rows `rows` of the matrix `param`; row `k` of `grads`
    /// is the gradient of row `rows[k]`. Other rows and their state are left
    /// untouched. A row listed twice is updated twice, in order; merge
    /// duplicate rows first to get one update with the summed gradient.
    fn step_rows(
        &mut self,
        name: &str,
        param: &mut Array2<f32>,
        rows: &[usize],
        grads: ArrayView2<'_, f32>,
    ) -> Result<()>;

    /// Steps taken so far on parameter `name` (0 if none).
    fn steps(&self, name: &str) -> u64;

    /// A copy of the optimizer's state, for a checkpoint.
    fn state(&self) -> OptimizerState;

    /// Restores a state saved by [`Optimizer::state`] of the same kind of optimizer.
    fn load_state(&mut self, state: OptimizerState) -> Result<()>;
}

/// An optimizer's state: what a checkpoint needs to resume training.
///
/// ```
/// use embed_core::optim::{AdaGrad, AdaGradConfig, Optimizer};
/// let mut opt = AdaGrad::new(AdaGradConfig::default())?;
/// let mut w = vec![1.0_f32];
/// opt.step_dense("w", &mut w, &[0.5])?;
/// let saved = opt.state();
/// let mut resumed = AdaGrad::new(AdaGradConfig::default())?;
/// resumed.load_state(saved.clone())?;
/// assert_eq!(resumed.state(), saved);
/// # Ok::<(), embed_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OptimizerState {
    /// Which optimizer wrote it (`"sgd"`, `"adagrad"`, `"adam"`).
    pub kind: String,
    /// The learning rate in force.
    pub learning_rate: f32,
    /// Per-parameter state, by parameter name.
    pub params: BTreeMap<String, ParamState>,
}

/// The state an optimizer keeps for one parameter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParamState {
    /// Steps taken on this parameter.
    pub steps: u64,
    /// Buffers of the parameter's length (AdaGrad: the accumulator; Adam:
    /// first and second moments), flattened in row-major order.
    pub buffers: Vec<Vec<f32>>,
}

/// Applies one step of `optimizer` to every parameter that has a gradient
/// in `grads`.
///
/// ```
/// use embed_core::optim::{step_store, Optimizer, Sgd};
/// use embed_core::params::{GradientStore, ParameterStore};
/// use ndarray::ArrayD;
/// let mut params = ParameterStore::new(0);
/// params.insert("w", ArrayD::from_elem(vec![2], 1.0));
/// let mut grads = GradientStore::zeros_like(&params);
/// grads.accumulate("w", ArrayD::from_elem(vec![2], 2.0).view())?;
/// step_store(&mut Sgd::new(0.25)?, &mut params, &grads)?;
/// assert_eq!(params.get("w").unwrap().as_slice().unwrap(), &[0.5, 0.5]);
/// # Ok::<(), embed_core::Error>(())
/// ```
pub fn step_store(
    optimizer: &mut dyn Optimizer,
    params: &mut ParameterStore,
    grads: &GradientStore,
) -> Result<()> {
    for (name, grad) in grads.iter() {
        let param = params.get_mut(name).ok_or_else(|| Error::MissingTensor {
            name: name.to_string(),
        })?;
        if param.shape() != grad.shape() {
            return Err(Error::ShapeMismatch {
                name: name.to_string(),
                expected: param.shape().to_vec(),
                actual: grad.shape().to_vec(),
            });
        }
        let grad = grad.as_standard_layout();
        let grad = grad.as_slice().ok_or_else(|| layout_error(name))?;
        if param.as_slice().is_none() {
            *param = param.as_standard_layout().into_owned();
        }
        let param = param.as_slice_mut().ok_or_else(|| layout_error(name))?;
        optimizer.step_dense(name, param, grad)?;
    }
    Ok(())
}

fn layout_error(name: &str) -> Error {
    Error::InvalidInput(format!("parameter `{name}` is not stored contiguously"))
}

pub(crate) fn check_learning_rate(learning_rate: f32) -> Result<()> {
    if !learning_rate.is_finite() || learning_rate < 0.0 {
        return Err(Error::invalid_parameter(
            "learning_rate",
            format!("must be a finite number >= 0, got {learning_rate}"),
        ));
    }
    Ok(())
}

/// Per-parameter state of an optimizer with `buffers` buffers per parameter.
#[derive(Debug, Clone, Default)]
pub(crate) struct StateTable {
    params: BTreeMap<String, ParamState>,
}

impl StateTable {
    /// The state of `name`, created with buffers of `len` values `fill` on
    /// first use; an error if `name` was seen before with another length.
    pub(crate) fn slot(
        &mut self,
        name: &str,
        len: usize,
        buffers: usize,
        fill: f32,
    ) -> Result<&mut ParamState> {
        if !self.params.contains_key(name) {
            self.params.insert(
                name.to_string(),
                ParamState {
                    steps: 0,
                    buffers: vec![vec![fill; len]; buffers],
                },
            );
        }
        let state = self
            .params
            .get_mut(name)
            .ok_or_else(|| Error::MissingTensor {
                name: name.to_string(),
            })?;
        let known = state.buffers.first().map_or(len, Vec::len);
        if known != len {
            return Err(Error::ShapeMismatch {
                name: name.to_string(),
                expected: vec![known],
                actual: vec![len],
            });
        }
        Ok(state)
    }

    pub(crate) fn steps(&self, name: &str) -> u64 {
        self.params.get(name).map_or(0, |s| s.steps)
    }

    pub(crate) fn to_state(&self, kind: &str, learning_rate: f32) -> OptimizerState {
        OptimizerState {
            kind: kind.to_string(),
            learning_rate,
            params: self.params.clone(),
        }
    }

    /// Replaces the table by `state` after checking it was written by
    /// `kind` with `buffers` equal-length buffers per parameter.
    pub(crate) fn load(
        &mut self,
        kind: &str,
        buffers: usize,
        state: OptimizerState,
    ) -> Result<f32> {
        if state.kind != kind {
            return Err(Error::InvalidInput(format!(
                "optimizer state was written by `{}`, cannot load it into `{kind}`",
                state.kind
            )));
        }
        check_learning_rate(state.learning_rate)?;
        for (name, p) in &state.params {
            let len = p.buffers.first().map_or(0, Vec::len);
            if p.buffers.len() != buffers || p.buffers.iter().any(|b| b.len() != len) {
                return Err(Error::InvalidInput(format!(
                    "optimizer state of `{name}` needs {buffers} buffers of equal length"
                )));
            }
        }
        self.params = state.params;
        Ok(state.learning_rate)
    }
}

/// Checks the arguments of a row-sparse step and calls `update(offset,
/// param_row, grad_row)` for each listed row, where `offset` is the row's
/// first index in the flattened matrix (for the state buffers).
pub(crate) fn for_each_row(
    name: &str,
    param: &mut Array2<f32>,
    rows: &[usize],
    grads: ArrayView2<'_, f32>,
    mut update: impl FnMut(usize, &mut [f32], &[f32]),
) -> Result<()> {
    let (n_rows, cols) = param.dim();
    if grads.dim() != (rows.len(), cols) {
        return Err(Error::ShapeMismatch {
            name: format!("{name} (row gradients)"),
            expected: vec![rows.len(), cols],
            actual: grads.shape().to_vec(),
        });
    }
    if let Some(&bad) = rows.iter().find(|&&r| r >= n_rows) {
        return Err(Error::InvalidInput(format!(
            "row {bad} of parameter `{name}` is out of range (it has {n_rows} rows)"
        )));
    }
    let grads = grads.as_standard_layout();
    let grads = grads.as_slice().ok_or_else(|| layout_error(name))?;
    if param.as_slice().is_none() {
        *param = param.as_standard_layout().into_owned();
    }
    let weights = param.as_slice_mut().ok_or_else(|| layout_error(name))?;
    if cols == 0 {
        return Ok(());
    }
    for (&row, grad) in rows.iter().zip(grads.chunks_exact(cols)) {
        let offset = row * cols;
        update(offset, &mut weights[offset..offset + cols], grad);
    }
    Ok(())
}

pub(crate) fn check_dense(name: &str, param: &[f32], grad: &[f32]) -> Result<()> {
    if param.len() != grad.len() {
        return Err(Error::ShapeMismatch {
            name: format!("{name} (gradient)"),
            expected: vec![param.len()],
            actual: vec![grad.len()],
        });
    }
    Ok(())
}
