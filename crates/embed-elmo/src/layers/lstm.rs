//! bilm-tf's LSTM cell with a projected, clipped hidden state.

use embed_core::{Error, Result};
use ndarray::{s, Array1, Array2, ArrayView2, Axis};

use super::sigmoid;

/// One direction of one biLSTM layer.
///
/// With `z = x @ W_x + h_prev @ W_h + b` split into the gates `i, j, f, o`
/// (TensorFlow's order):
///
/// ```text
/// c = clip(σ(f) · c_prev + σ(i) · tanh(j), ±cell_clip)
/// h = clip((σ(o) · tanh(c)) @ W_P, ±proj_clip)
/// ```
///
/// bilm-tf adds 1 to the forget gate inside the cell; here that 1 is folded
/// into `b` when the weights are loaded. A clip of 0 means no clipping.
#[derive(Debug, Clone)]
pub struct LstmCellWithProjection {
    /// `[in, 4 · cell]`.
    input_weight: Array2<f32>,
    /// `[proj, 4 · cell]`.
    state_weight: Array2<f32>,
    /// `[4 · cell]`, forget-gate bias included.
    bias: Array1<f32>,
    /// `[cell, proj]`.
    projection: Array2<f32>,
    cell_clip: f32,
    proj_clip: f32,
}

fn clip(x: f32, limit: f32) -> f32 {
    if limit > 0.0 {
        x.clamp(-limit, limit)
    } else {
        x
    }
}

impl LstmCellWithProjection {
    /// A cell from its weights (see the type's equations for the shapes).
    pub fn new(
        input_weight: Array2<f32>,
        state_weight: Array2<f32>,
        bias: Array1<f32>,
        projection: Array2<f32>,
        cell_clip: f32,
        proj_clip: f32,
    ) -> Result<Self> {
        let cell = projection.nrows();
        let proj = projection.ncols();
        for (name, actual, expected) in [
            (
                "input weight",
                input_weight.shape(),
                [input_weight.nrows(), 4 * cell],
            ),
            ("state weight", state_weight.shape(), [proj, 4 * cell]),
        ] {
            if actual != expected {
                return Err(Error::ShapeMismatch {
                    name: format!("LSTM {name}"),
                    expected: expected.to_vec(),
                    actual: actual.to_vec(),
                });
            }
        }
        if bias.len() != 4 * cell {
            return Err(Error::ShapeMismatch {
                name: "LSTM bias".into(),
                expected: vec![4 * cell],
                actual: vec![bias.len()],
            });
        }
        Ok(Self {
            input_weight,
            state_weight,
            bias,
            projection,
            cell_clip,
            proj_clip,
        })
    }

    /// Width of the input.
    pub fn in_dim(&self) -> usize {
        self.input_weight.nrows()
    }

    /// Width of the projected output.
    pub fn out_dim(&self) -> usize {
        self.projection.ncols()
    }

    /// Runs over a sentence `[steps, in]` from zero state, first to last or,
    /// with `reverse`, last to first; returns the projected state of each step
    /// at that step's row.
    pub fn run(&self, inputs: ArrayView2<f32>, reverse: bool) -> Array2<f32> {
        let steps = inputs.nrows();
        let cell = self.projection.nrows();
        let mut outputs = Array2::zeros((steps, self.out_dim()));
        // Input contributions of all steps at once.
        let mut gates_from_input = inputs.dot(&self.input_weight);
        gates_from_input += &self.bias;
        let mut state = Array1::<f32>::zeros(self.out_dim());
        let mut memory = Array1::<f32>::zeros(cell);
        let mut hidden = Array1::<f32>::zeros(cell);
        let order: Box<dyn Iterator<Item = usize>> = if reverse {
            Box::new((0..steps).rev())
        } else {
            Box::new(0..steps)
        };
        for t in order {
            let mut z = gates_from_input.row(t).to_owned();
            ndarray::linalg::general_mat_vec_mul(1.0, &self.state_weight.t(), &state, 1.0, &mut z);
            let (i, rest) = z.view().split_at(Axis(0), cell);
            let (j, rest) = rest.split_at(Axis(0), cell);
            let (f, o) = rest.split_at(Axis(0), cell);
            for n in 0..cell {
                let c = sigmoid(f[n]) * memory[n] + sigmoid(i[n]) * j[n].tanh();
                let c = clip(c, self.cell_clip);
                memory[n] = c;
                hidden[n] = sigmoid(o[n]) * c.tanh();
            }
            state = hidden
                .dot(&self.projection)
                .mapv_into(|v| clip(v, self.proj_clip));
            outputs.slice_mut(s![t, ..]).assign(&state);
        }
        outputs
    }
}
