//! AllenNLP's `ScalarMix`: `γ · Σ_k softmax(w)_k · A_k`.

use embed_core::{Error, Result};
use ndarray::{Array3, ArrayView2, ArrayView3, Axis, Zip};

/// A weighted sum of layer activations.
///
/// With `layer_norm`, each layer is first normalised by the mean and variance
/// of all its unmasked elements (every token and every channel of the whole
/// batch at once, as AllenNLP does): `(A − mean) / sqrt(var + 1e-13)`.
/// Masked positions are normalised too, so they are not zero afterwards. A
/// mask with no unmasked position leaves the layers unnormalised.
#[derive(Debug, Clone, PartialEq)]
pub struct ScalarMix {
    weights: Vec<f32>,
    gamma: f32,
    layer_norm: bool,
}

impl ScalarMix {
    /// A mix with raw (pre-softmax) weights, one per layer, and scale `gamma`.
    ///
    /// ```
    /// use embed_elmo::ScalarMix;
    /// let mix = ScalarMix::new(vec![0.0, 0.0, 0.0], 1.0, false).unwrap();
    /// assert_eq!(mix.normalized_weights(), vec![1.0 / 3.0; 3]);
    /// assert!(ScalarMix::new(vec![], 1.0, false).is_err());
    /// ```
    pub fn new(weights: Vec<f32>, gamma: f32, layer_norm: bool) -> Result<Self> {
        if weights.is_empty() {
            return Err(Error::invalid_parameter(
                "weights",
                "a scalar mix needs one weight per layer",
            ));
        }
        if let Some(w) = weights.iter().find(|w| !w.is_finite()) {
            return Err(Error::invalid_parameter(
                "weights",
                format!("{w} is not finite"),
            ));
        }
        if !gamma.is_finite() {
            return Err(Error::invalid_parameter(
                "gamma",
                format!("{gamma} is not finite"),
            ));
        }
        Ok(Self {
            weights,
            gamma,
            layer_norm,
        })
    }

    /// The equal-weight average of `layers` layers (γ = 1, no layer norm):
    /// what AllenNLP's `Elmo` computes before its weights are trained.
    pub fn average(layers: usize) -> Result<Self> {
        Self::new(vec![0.0; layers], 1.0, false)
    }

    /// Number of layers mixed.
    pub fn layers(&self) -> usize {
        self.weights.len()
    }

    /// Whether each layer is normalised before mixing.
    pub fn layer_norm(&self) -> bool {
        self.layer_norm
    }

    /// The softmax of the weights.
    pub fn normalized_weights(&self) -> Vec<f32> {
        let max = self
            .weights
            .iter()
            .fold(f32::NEG_INFINITY, |m, &w| m.max(w));
        let exps: Vec<f64> = self
            .weights
            .iter()
            .map(|&w| f64::from(w - max).exp())
            .collect();
        let total: f64 = exps.iter().sum();
        exps.iter().map(|e| (e / total) as f32).collect()
    }

    /// Mixes `layers` (each `[batch, steps, dim]`) under `mask` (`[batch, steps]`).
    pub fn mix(&self, layers: &[ArrayView3<f32>], mask: ArrayView2<bool>) -> Result<Array3<f32>> {
        if layers.len() != self.weights.len() {
            return Err(Error::InvalidInput(format!(
                "scalar mix has {} weights but {} layers were given",
                self.weights.len(),
                layers.len()
            )));
        }
        let shape = layers[0].dim();
        if let Some(bad) = layers.iter().find(|l| l.dim() != shape) {
            return Err(Error::InvalidInput(format!(
                "layers differ in shape: {:?} and {:?}",
                shape,
                bad.dim()
            )));
        }
        if mask.dim() != (shape.0, shape.1) {
            return Err(Error::InvalidInput(format!(
                "mask of shape {:?} does not fit layers of shape {shape:?}",
                mask.dim()
            )));
        }
        let mut out = Array3::<f32>::zeros(shape);
        for (layer, weight) in layers.iter().zip(self.normalized_weights()) {
            let scale = self.gamma * weight;
            if self.layer_norm {
                let (mean, inv_std) = masked_moments(layer, mask);
                Zip::from(&mut out)
                    .and(layer)
                    .for_each(|o, &a| *o += scale * ((f64::from(a) - mean) * inv_std) as f32);
            } else {
                Zip::from(&mut out)
                    .and(layer)
                    .for_each(|o, &a| *o += scale * a);
            }
        }
        Ok(out)
    }
}

/// Mean and `1 / sqrt(var + 1e-13)` over the unmasked elements of `layer`.
fn masked_moments(layer: &ArrayView3<f32>, mask: ArrayView2<bool>) -> (f64, f64) {
    let dim = layer.len_of(Axis(2));
    let unmasked = mask.iter().filter(|&&m| m).count() * dim;
    if unmasked == 0 {
        // Nothing to measure (AllenNLP divides by zero here): leave the layer as it is.
        return (0.0, 1.0);
    }
    let mut sum = 0.0f64;
    Zip::from(layer.lanes(Axis(2)))
        .and(mask)
        .for_each(|row, &m| {
            if m {
                sum += row.iter().map(|&v| f64::from(v)).sum::<f64>();
            }
        });
    let mean = sum / unmasked as f64;
    let mut squares = 0.0f64;
    Zip::from(layer.lanes(Axis(2)))
        .and(mask)
        .for_each(|row, &m| {
            if m {
                squares += row
                    .iter()
                    .map(|&v| (f64::from(v) - mean).powi(2))
                    .sum::<f64>();
            }
        });
    (mean, 1.0 / (squares / unmasked as f64 + 1e-13).sqrt())
}
