//! Highway layers with bilm-tf's carry-gate convention.

use ndarray::{Array2, ArrayView2, Zip};

use super::{sigmoid, Dense};

/// One highway layer: `g = σ(x W_carry + b_carry)`,
/// `y = g · relu(x W_transform + b_transform) + (1 − g) · x`.
///
/// bilm-tf names the gate "carry" although it weighs the transformed part;
/// AllenNLP stores the negated gate so its formula reads the other way round.
/// Both compute this.
#[derive(Debug, Clone)]
pub struct HighwayLayer {
    /// The transform branch.
    pub transform: Dense,
    /// The gate.
    pub carry: Dense,
}

/// A stack of [`HighwayLayer`]s.
#[derive(Debug, Clone, Default)]
pub struct Highway {
    layers: Vec<HighwayLayer>,
}

impl Highway {
    /// A stack applied in order.
    pub fn new(layers: Vec<HighwayLayer>) -> Self {
        Self { layers }
    }

    /// Number of layers.
    pub fn len(&self) -> usize {
        self.layers.len()
    }

    /// Whether there are no layers (the input passes through).
    pub fn is_empty(&self) -> bool {
        self.layers.is_empty()
    }

    /// Applies every layer to each row of `x`.
    ///
    /// ```
    /// use embed_elmo::layers::{highway::HighwayLayer, Dense, Highway};
    /// use ndarray::array;
    /// // A gate that is shut (σ(-inf) = 0) passes the input through.
    /// let layer = HighwayLayer {
    ///     transform: Dense::new(array![[1.0]], Some(array![0.0])),
    ///     carry: Dense::new(array![[0.0]], Some(array![f32::NEG_INFINITY])),
    /// };
    /// let y = Highway::new(vec![layer]).forward(array![[2.5]].view());
    /// assert_eq!(y, array![[2.5]]);
    /// ```
    pub fn forward(&self, x: ArrayView2<f32>) -> Array2<f32> {
        let mut current = x.to_owned();
        for layer in &self.layers {
            let transformed = layer.transform.forward(current.view());
            let gate = layer.carry.forward(current.view());
            Zip::from(&mut current)
                .and(&transformed)
                .and(&gate)
                .for_each(|x, &t, &g| {
                    let g = sigmoid(g);
                    *x = g * t.max(0.0) + (1.0 - g) * *x;
                });
        }
        current
    }
}
