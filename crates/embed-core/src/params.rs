//! Named parameters addressed by path prefixes.
//!
//! A [`ParameterStore`] maps full names such as
//! `encoder.layer.0.attention.self.query.weight` to `f32` arrays. Model code
//! reaches its weights through a [`ParamScope`], which prefixes names with
//! the path of the module asking:
//!
//! * [`ParamScope::get`] reads a weight that must be there with the given
//!   shape (loading a checkpoint);
//! * [`ParamScope::get_or_init`] reads it if it is there and otherwise
//!   creates it with an [`Init`] (a fresh model) — so one constructor serves
//!   both cases.
//!
//! Fresh weights are drawn from a generator seeded by the store's seed and
//! the parameter's full name, so they do not depend on the order in which
//! layers are built.
//!
//! A [`GradientStore`] holds one gradient per parameter name, which layers
//! accumulate into during backward passes and which
//! [`optim::step_store`](crate::optim::step_store) applies.
//!
//! ```
//! use embed_core::params::{Init, ParamScope, ParameterStore};
//! use ndarray::{Array1, Array2, Ix1, Ix2};
//!
//! struct Linear { weight: Array2<f32>, bias: Array1<f32> }
//!
//! impl Linear {
//!     // One constructor for fresh and loaded weights.
//!     fn new(mut scope: ParamScope<'_>, inputs: usize, outputs: usize) -> embed_core::Result<Self> {
//!         let weight = scope.get_or_init("weight", &[outputs, inputs], Init::XavierUniform)?;
//!         let weight = weight.into_dimensionality::<Ix2>().unwrap().to_owned();
//!         let bias = scope.get_or_init("bias", &[outputs], Init::Zeros)?;
//!         let bias = bias.into_dimensionality::<Ix1>().unwrap().to_owned();
//!         Ok(Linear { weight, bias })
//!     }
//! }
//!
//! let mut store = ParameterStore::new(42);
//! let mut encoder = store.scope("encoder");
//! let layers = (0..2)
//!     .map(|i| Linear::new(encoder.scope("layer").scope(i), 3, 4))
//!     .collect::<Result<Vec<_>, _>>()?;
//! assert_eq!(layers[1].weight.dim(), (4, 3));
//! let names: Vec<&str> = store.names().collect();
//! assert_eq!(names, ["encoder.layer.0.bias", "encoder.layer.0.weight",
//!                    "encoder.layer.1.bias", "encoder.layer.1.weight"]);
//! // Loading code asks for the same names with `get`, which checks shapes.
//! let err = store.scope("encoder.layer.0").get("weight", &[3, 4]).unwrap_err();
//! assert_eq!(err.to_string(),
//!            "tensor `encoder.layer.0.weight` has shape [4, 3], expected [3, 4]");
//! # Ok::<(), embed_core::Error>(())
//! ```

use std::collections::BTreeMap;
use std::fmt::Display;

use ndarray::{ArrayD, ArrayViewD, IxDyn, Zip};
use rand::Rng as _;
use serde::{Deserialize, Serialize};

use crate::seed;
use crate::{Error, Result};

/// How to fill a parameter that is not in the store.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Init {
    /// All zeros (biases).
    Zeros,
    /// All ones (layer-norm gains).
    Ones,
    /// Every value equal to the given one.
    Constant(f32),
    /// Normal with mean 0 and standard deviation `std` (BERT: 0.02).
    Normal {
        /// Standard deviation, finite and `>= 0`.
        std: f32,
    },
    /// Uniform on `[-bound, bound)`.
    Uniform {
        /// Half-width, finite and `>= 0`.
        bound: f32,
    },
    /// Glorot/Xavier uniform: `bound = √(6 / (fan_in + fan_out))`, with the
    /// fans of a PyTorch weight of shape `[out, in, …]`
    /// (`fan_in = in · receptive`, `fan_out = out · receptive`, `receptive`
    /// the product of the remaining dimensions). Needs at least two dimensions.
    XavierUniform,
}

impl Init {
    /// An array of `shape` filled by this rule, drawing from `rng`.
    ///
    /// ```
    /// use embed_core::params::Init;
    /// let mut rng = embed_core::seed::rng(1, 0);
    /// let a = Init::Uniform { bound: 0.5 }.array(&[10, 10], &mut rng)?;
    /// assert!(a.iter().all(|x| x.abs() <= 0.5));
    /// assert!(Init::XavierUniform.array(&[10], &mut rng).is_err());
    /// # Ok::<(), embed_core::Error>(())
    /// ```
    pub fn array(&self, shape: &[usize], rng: &mut seed::Rng) -> Result<ArrayD<f32>> {
        let dim = IxDyn(shape);
        Ok(match *self {
            Init::Zeros => ArrayD::zeros(dim),
            Init::Ones => ArrayD::ones(dim),
            Init::Constant(value) => {
                if !value.is_finite() {
                    return Err(Error::invalid_parameter(
                        "init",
                        format!("constant must be finite, got {value}"),
                    ));
                }
                ArrayD::from_elem(dim, value)
            }
            Init::Normal { std } => {
                check_width("std", std)?;
                let mut a = ArrayD::zeros(dim);
                fill_standard_normal(a.iter_mut(), rng);
                a.mapv_inplace(|z| z * std);
                a
            }
            Init::Uniform { bound } => {
                check_width("bound", bound)?;
                uniform(dim, bound, rng)
            }
            Init::XavierUniform => {
                if shape.len() < 2 {
                    return Err(Error::invalid_parameter(
                        "init",
                        format!("Xavier initialisation needs at least 2 dimensions, got shape {shape:?}"),
                    ));
                }
                let receptive: usize = shape[2..].iter().product();
                let fan_out = shape[0] * receptive;
                let fan_in = shape[1] * receptive;
                let fans = (fan_in + fan_out).max(1);
                let bound = (6.0 / fans as f64).sqrt() as f32;
                uniform(dim, bound, rng)
            }
        })
    }
}

fn check_width(name: &'static str, value: f32) -> Result<()> {
    if !value.is_finite() || value < 0.0 {
        return Err(Error::invalid_parameter(
            name,
            format!("must be a finite number >= 0, got {value}"),
        ));
    }
    Ok(())
}

fn uniform(dim: IxDyn, bound: f32, rng: &mut seed::Rng) -> ArrayD<f32> {
    let bound = f64::from(bound);
    ArrayD::from_shape_simple_fn(dim, || ((rng.gen::<f64>() * 2.0 - 1.0) * bound) as f32)
}

/// Box–Muller: two standard normal values from two uniforms; fixed by
/// the generator alone, so seeds give the same weights everywhere.
fn fill_standard_normal<'a>(values: impl Iterator<Item = &'a mut f32>, rng: &mut seed::Rng) {
    let mut spare: Option<f64> = None;
    for v in values {
        let z = match spare.take() {
            Some(z) => z,
            None => {
                // 1 - U lies in (0, 1], so the logarithm is finite.
                let radius = (-2.0 * (1.0 - rng.gen::<f64>()).ln()).sqrt();
                let angle = std::f64::consts::TAU * rng.gen::<f64>();
                spare = Some(radius * angle.sin());
                radius * angle.cos()
            }
        };
        *v = z as f32;
    }
}

/// 64-bit FNV-1a, a stable hash of a parameter's name for its seed stream.
fn name_stream(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

fn joined(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else if name.is_empty() {
        prefix.to_string()
    } else {
        format!("{prefix}.{name}")
    }
}

fn check_shape(name: &str, array: &ArrayD<f32>, shape: &[usize]) -> Result<()> {
    if array.shape() != shape {
        return Err(Error::ShapeMismatch {
            name: name.to_string(),
            expected: shape.to_vec(),
            actual: array.shape().to_vec(),
        });
    }
    Ok(())
}

/// Parameters by full name, in name order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ParameterStore {
    seed: u64,
    tensors: BTreeMap<String, ArrayD<f32>>,
}

impl ParameterStore {
    /// An empty store whose fresh parameters derive from `seed`.
    pub fn new(seed: u64) -> Self {
        ParameterStore {
            seed,
            tensors: BTreeMap::new(),
        }
    }

    /// The seed fresh parameters derive from.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// A scope whose names start with `name` (which may itself contain dots).
    pub fn scope(&mut self, name: impl Display) -> ParamScope<'_> {
        ParamScope {
            prefix: name.to_string(),
            store: self,
        }
    }

    /// Stores `array` under the full `name`, returning what was there.
    pub fn insert(&mut self, name: impl Into<String>, array: ArrayD<f32>) -> Option<ArrayD<f32>> {
        self.tensors.insert(name.into(), array)
    }

    /// The parameter with full name `name`.
    pub fn get(&self, name: &str) -> Option<&ArrayD<f32>> {
        self.tensors.get(name)
    }

    /// The parameter `name`, which must have shape `shape`.
    ///
    /// ```
    /// use embed_core::params::ParameterStore;
    /// let store = ParameterStore::new(0);
    /// let err = store.get_checked("cls.bias", &[2]).unwrap_err();
    /// assert_eq!(err.to_string(), "missing tensor `cls.bias`");
    /// ```
    pub fn get_checked(&self, name: &str, shape: &[usize]) -> Result<ArrayViewD<'_, f32>> {
        let array = self.tensors.get(name).ok_or_else(|| Error::MissingTensor {
            name: name.to_string(),
        })?;
        check_shape(name, array, shape)?;
        Ok(array.view())
    }

    /// The parameter `name`, mutably.
    pub fn get_mut(&mut self, name: &str) -> Option<&mut ArrayD<f32>> {
        self.tensors.get_mut(name)
    }

    /// Removes and returns the parameter `name`.
    pub fn remove(&mut self, name: &str) -> Option<ArrayD<f32>> {
        self.tensors.remove(name)
    }

    /// Whether a parameter `name` is stored.
    pub fn contains(&self, name: &str) -> bool {
        self.tensors.contains_key(name)
    }

    /// Every full name, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> + '_ {
        self.tensors.keys().map(String::as_str)
    }

    /// Every `(name, parameter)`, in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &ArrayD<f32>)> + '_ {
        self.tensors.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Every `(name, parameter)` mutably, in name order.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&str, &mut ArrayD<f32>)> + '_ {
        self.tensors.iter_mut().map(|(k, v)| (k.as_str(), v))
    }

    /// Number of parameters (tensors).
    pub fn len(&self) -> usize {
        self.tensors.len()
    }

    /// Whether the store is empty.
    pub fn is_empty(&self) -> bool {
        self.tensors.is_empty()
    }

    /// Total number of scalar values over all parameters.
    pub fn num_values(&self) -> usize {
        self.tensors.values().map(ArrayD::len).sum()
    }
}

/// A view of a [`ParameterStore`] under a name prefix.
///
/// Made by [`ParameterStore::scope`] and nested with [`ParamScope::scope`];
/// names given to its methods are joined to the prefix with dots.
#[derive(Debug)]
pub struct ParamScope<'a> {
    store: &'a mut ParameterStore,
    prefix: String,
}

impl ParamScope<'_> {
    /// A nested scope `prefix.name`.
    ///
    /// ```
    /// let mut store = embed_core::params::ParameterStore::new(0);
    /// let mut encoder = store.scope("encoder");
    /// assert_eq!(encoder.scope("layer").scope(3).path("bias"), "encoder.layer.3.bias");
    /// ```
    pub fn scope(&mut self, name: impl Display) -> ParamScope<'_> {
        ParamScope {
            prefix: joined(&self.prefix, &name.to_string()),
            store: self.store,
        }
    }

    /// The prefix of this scope.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The full name of `name` in this scope.
    pub fn path(&self, name: &str) -> String {
        joined(&self.prefix, name)
    }

    /// The parameter `name`, which must exist with shape `shape`; errors
    /// name the full path and both shapes.
    pub fn get(&self, name: &str, shape: &[usize]) -> Result<ArrayViewD<'_, f32>> {
        self.store.get_checked(&self.path(name), shape)
    }

    /// The parameter `name` with shape `shape`, created by `init` if absent.
    /// Its random stream depends only on the store's seed and the full name.
    ///
    /// ```
    /// use embed_core::params::{Init, ParameterStore};
    /// let mut a = ParameterStore::new(7);
    /// let mut b = ParameterStore::new(7);
    /// b.scope("other").get_or_init("w", &[2], Init::Ones)?; // built first, changes nothing
    /// let wa = a.scope("m").get_or_init("w", &[3, 2], Init::Normal { std: 0.02 })?.to_owned();
    /// let wb = b.scope("m").get_or_init("w", &[3, 2], Init::Normal { std: 0.02 })?.to_owned();
    /// assert_eq!(wa, wb);
    /// # Ok::<(), embed_core::Error>(())
    /// ```
    pub fn get_or_init(
        &mut self,
        name: &str,
        shape: &[usize],
        init: Init,
    ) -> Result<ArrayViewD<'_, f32>> {
        let path = self.path(name);
        if !self.store.contains(&path) {
            let mut rng = seed::rng(self.store.seed, name_stream(&path));
            let array = init.array(shape, &mut rng)?;
            self.store.insert(path.clone(), array);
        }
        self.store.get_checked(&path, shape)
    }

    /// Stores `array` as `name` in this scope, returning what was there.
    pub fn insert(&mut self, name: &str, array: ArrayD<f32>) -> Option<ArrayD<f32>> {
        let path = self.path(name);
        self.store.insert(path, array)
    }

    /// The parameter `name` of this scope, mutably.
    pub fn get_mut(&mut self, name: &str) -> Option<&mut ArrayD<f32>> {
        let path = self.path(name);
        self.store.get_mut(&path)
    }

    /// Whether `name` exists in this scope.
    pub fn contains(&self, name: &str) -> bool {
        self.store.contains(&self.path(name))
    }
}

/// Gradients by parameter name, accumulated over a batch.
///
/// ```
/// use embed_core::params::{GradientStore, ParameterStore};
/// use ndarray::ArrayD;
/// let mut params = ParameterStore::new(0);
/// params.insert("w", ArrayD::zeros(vec![2]));
/// let mut grads = GradientStore::zeros_like(&params);
/// let g = ArrayD::from_shape_vec(vec![2], vec![3.0_f32, 4.0]).unwrap();
/// grads.accumulate("w", g.view())?;
/// grads.accumulate("w", g.view())?;
/// assert_eq!(grads.get("w").unwrap().as_slice().unwrap(), &[6.0, 8.0]);
/// assert_eq!(grads.global_norm(), 10.0);
/// # Ok::<(), embed_core::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GradientStore {
    tensors: BTreeMap<String, ArrayD<f32>>,
}

impl GradientStore {
    /// An empty store; gradients appear as they are accumulated.
    pub fn new() -> Self {
        GradientStore::default()
    }

    /// A zero gradient for every parameter of `params`, with the same names and shapes.
    pub fn zeros_like(params: &ParameterStore) -> Self {
        GradientStore {
            tensors: params
                .iter()
                .map(|(name, p)| (name.to_string(), ArrayD::zeros(p.raw_dim())))
                .collect(),
        }
    }

    /// Adds `grad` to the gradient of `name` (creating it if absent); the
    /// shapes must agree.
    pub fn accumulate(&mut self, name: &str, grad: ArrayViewD<'_, f32>) -> Result<()> {
        match self.tensors.get_mut(name) {
            Some(sum) => {
                if sum.shape() != grad.shape() {
                    return Err(Error::ShapeMismatch {
                        name: name.to_string(),
                        expected: sum.shape().to_vec(),
                        actual: grad.shape().to_vec(),
                    });
                }
                Zip::from(sum).and(&grad).for_each(|s, &g| *s += g);
            }
            None => {
                self.tensors.insert(name.to_string(), grad.to_owned());
            }
        }
        Ok(())
    }

    /// The gradient of `name`.
    pub fn get(&self, name: &str) -> Option<&ArrayD<f32>> {
        self.tensors.get(name)
    }

    /// The gradient of `name`, mutably (for layers that write in place).
    pub fn get_mut(&mut self, name: &str) -> Option<&mut ArrayD<f32>> {
        self.tensors.get_mut(name)
    }

    /// Every full name, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> + '_ {
        self.tensors.keys().map(String::as_str)
    }

    /// Every `(name, gradient)`, in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &ArrayD<f32>)> + '_ {
        self.tensors.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Sets every gradient to zero, keeping names and shapes.
    pub fn zero(&mut self) {
        for g in self.tensors.values_mut() {
            g.fill(0.0);
        }
    }

    /// Multiplies every gradient by `factor` (e.g. `1 / batch size`).
    pub fn scale(&mut self, factor: f32) {
        for g in self.tensors.values_mut() {
            g.mapv_inplace(|x| x * factor);
        }
    }

    /// The Euclidean norm of all gradients together, accumulated in f64.
    pub fn global_norm(&self) -> f64 {
        self.tensors
            .values()
            .flat_map(|g| g.iter())
            .map(|&x| f64::from(x) * f64::from(x))
            .sum::<f64>()
            .sqrt()
    }

    /// Scales all gradients so that their global norm is at most `max_norm`
    /// (PyTorch's `clip_grad_norm_`); returns the norm before clipping,
    /// which is not finite when a gradient is.
    ///
    /// ```
    /// use embed_core::params::GradientStore;
    /// use ndarray::ArrayD;
    /// let mut grads = GradientStore::new();
    /// grads.accumulate("w", ArrayD::from_shape_vec(vec![2], vec![3.0_f32, 4.0]).unwrap().view())?;
    /// assert_eq!(grads.clip_global_norm(1.0), 5.0);
    /// assert!((grads.global_norm() - 1.0).abs() < 1e-6);
    /// # Ok::<(), embed_core::Error>(())
    /// ```
    pub fn clip_global_norm(&mut self, max_norm: f64) -> f64 {
        let norm = self.global_norm();
        if norm.is_finite() && norm > max_norm {
            self.scale((max_norm / (norm + 1e-6)) as f32);
        }
        norm
    }
}
