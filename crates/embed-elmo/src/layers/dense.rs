//! An affine map `x @ W + b`.

use ndarray::{Array1, Array2, ArrayView2};

/// `y = x @ weight + bias`, with `weight` of shape `[in, out]`.
#[derive(Debug, Clone)]
pub struct Dense {
    weight: Array2<f32>,
    bias: Option<Array1<f32>>,
}

impl Dense {
    /// A layer from a `[in, out]` weight and an optional `[out]` bias.
    ///
    /// # Panics
    /// If the bias length differs from the weight's output width.
    pub fn new(weight: Array2<f32>, bias: Option<Array1<f32>>) -> Self {
        if let Some(b) = &bias {
            assert_eq!(b.len(), weight.ncols(), "bias length must equal out width");
        }
        Self { weight, bias }
    }

    /// Input width.
    pub fn in_dim(&self) -> usize {
        self.weight.nrows()
    }

    /// Output width.
    pub fn out_dim(&self) -> usize {
        self.weight.ncols()
    }

    /// The `[in, out]` weight.
    pub fn weight(&self) -> &Array2<f32> {
        &self.weight
    }

    /// Applies the map to each row of `x`.
    ///
    /// ```
    /// use embed_elmo::layers::Dense;
    /// use ndarray::array;
    /// let layer = Dense::new(array![[1.0, 2.0], [3.0, 4.0]], Some(array![0.5, -0.5]));
    /// assert_eq!(layer.forward(array![[1.0, 1.0]].view()), array![[4.5, 5.5]]);
    /// ```
    pub fn forward(&self, x: ArrayView2<f32>) -> Array2<f32> {
        let mut y = super::matmul::matmul(x, self.weight.view());
        if let Some(b) = &self.bias {
            y += b;
        }
        y
    }
}
