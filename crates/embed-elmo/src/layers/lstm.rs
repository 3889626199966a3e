//! bilm-tf's LSTM cell with a projected, clipped hidden state.

use embed_core::{Error, Result};
use ndarray::{s, Array1, Array2, ArrayView2, Axis};

use super::sigmoid;
use super::small_batch::add_product;

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
    ///
    /// ```
    /// use embed_elmo::layers::LstmCellWithProjection;
    /// use ndarray::Array2;
    /// let cell = LstmCellWithProjection::new(
    ///     Array2::ones((3, 8)), Array2::ones((1, 8)), ndarray::Array1::zeros(8),
    ///     Array2::ones((2, 1)), 3.0, 0.5,
    /// ).unwrap();
    /// let out = cell.run(Array2::ones((4, 3)).view(), false);
    /// assert_eq!(out.dim(), (4, 1));
    /// assert!(out.iter().all(|&h| h <= 0.5)); // projection clipped
    /// ```
    pub fn run(&self, inputs: ArrayView2<f32>, reverse: bool) -> Array2<f32> {
        self.run_packed(inputs, &[inputs.nrows()], reverse)
    }

    /// Runs over several sentences packed one after another in `inputs`
    /// (`lengths` rows each), all at once: every step multiplies the states of
    /// the sentences still running by the recurrent weights in one product.
    /// Each sentence starts from zero state; with `reverse` each runs from its
    /// own last row to its first.
    pub fn run_packed(
        &self,
        inputs: ArrayView2<f32>,
        lengths: &[usize],
        reverse: bool,
    ) -> Array2<f32> {
        let cell = self.projection.nrows();
        let mut outputs = Array2::zeros((inputs.nrows(), self.out_dim()));
        // Input contributions of all steps of all sentences at once.
        let mut gates_from_input = super::matmul::matmul(inputs, self.input_weight.view());
        gates_from_input += &self.bias;
        let mut starts = Vec::with_capacity(lengths.len());
        let mut next = 0;
        for &len in lengths {
            starts.push(next);
            next += len;
        }
        // Longest first, so the sentences still running are always a prefix.
        let mut order: Vec<usize> = (0..lengths.len()).collect();
        order.sort_by_key(|&s| std::cmp::Reverse(lengths[s]));
        let longest = order.first().map_or(0, |&s| lengths[s]);
        let sentences = lengths.len();
        let mut state = Array2::<f32>::zeros((sentences, self.out_dim()));
        let mut memory = Array2::<f32>::zeros((sentences, cell));
        let mut hidden = Array2::<f32>::zeros((sentences, cell));
        let mut gates = Array2::<f32>::zeros((sentences, 4 * cell));
        let mut running = sentences;
        for t in 0..longest {
            while running > 0 && lengths[order[running - 1]] <= t {
                running -= 1;
            }
            let row_of = |r: usize| {
                let s = order[r];
                starts[s] + if reverse { lengths[s] - 1 - t } else { t }
            };
            let mut z = gates.slice_mut(s![..running, ..]);
            for (r, mut row) in z.rows_mut().into_iter().enumerate() {
                row.assign(&gates_from_input.row(row_of(r)));
            }
            add_product(state.slice(s![..running, ..]), self.state_weight.view(), z);
            for r in 0..running {
                let z = gates.row(r);
                let (i, rest) = z.split_at(Axis(0), cell);
                let (j, rest) = rest.split_at(Axis(0), cell);
                let (f, o) = rest.split_at(Axis(0), cell);
                let mut memory = memory.row_mut(r);
                let mut hidden = hidden.row_mut(r);
                for n in 0..cell {
                    let c = clip(
                        sigmoid(f[n]) * memory[n] + sigmoid(i[n]) * j[n].tanh(),
                        self.cell_clip,
                    );
                    memory[n] = c;
                    hidden[n] = sigmoid(o[n]) * c.tanh();
                }
            }
            let mut projected = state.slice_mut(s![..running, ..]);
            projected.fill(0.0);
            add_product(
                hidden.slice(s![..running, ..]),
                self.projection.view(),
                projected.view_mut(),
            );
            projected.mapv_inplace(|v| clip(v, self.proj_clip));
            for (r, row) in projected.rows().into_iter().enumerate() {
                outputs.row_mut(row_of(r)).assign(&row);
            }
        }
        outputs
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{array, Array2};

    /// One cell, one projected unit: every gate reads `x` with weight 1.
    fn cell(cell_clip: f32, proj_clip: f32) -> LstmCellWithProjection {
        LstmCellWithProjection::new(
            Array2::ones((1, 4)),
            Array2::from_elem((1, 4), 0.5),
            array![0.0, 0.0, 1.0, 0.0], // forget bias +1 folded in
            array![[2.0]],
            cell_clip,
            proj_clip,
        )
        .unwrap()
    }

    fn sigmoid(x: f64) -> f64 {
        1.0 / (1.0 + (-x).exp())
    }

    /// The cell equations written out in f64 for a two-step sequence.
    fn by_hand(xs: &[f64], cell_clip: f64, proj_clip: f64) -> Vec<f64> {
        let (mut c, mut h) = (0.0f64, 0.0f64);
        let mut out = Vec::new();
        for &x in xs {
            let z = x + 0.5 * h;
            c = (sigmoid(z + 1.0) * c + sigmoid(z) * z.tanh()).clamp(-cell_clip, cell_clip);
            h = (2.0 * sigmoid(z) * c.tanh()).clamp(-proj_clip, proj_clip);
            out.push(h);
        }
        out
    }

    #[test]
    fn follows_the_cell_equations_with_clipping() {
        for (cell_clip, proj_clip) in [(100.0, 100.0), (0.3, 0.25)] {
            let lstm = cell(cell_clip, proj_clip);
            let out = lstm.run(array![[1.5], [-0.7]].view(), false);
            let expected = by_hand(&[1.5, -0.7], f64::from(cell_clip), f64::from(proj_clip));
            for (a, e) in out.iter().zip(&expected) {
                assert!((f64::from(*a) - e).abs() < 1e-6, "{a} vs {e}");
            }
            // Backward runs from the last row and writes each step at its row.
            let back = lstm.run(array![[1.5], [-0.7]].view(), true);
            let expected = by_hand(&[-0.7, 1.5], f64::from(cell_clip), f64::from(proj_clip));
            assert!((f64::from(back[[1, 0]]) - expected[0]).abs() < 1e-6);
            assert!((f64::from(back[[0, 0]]) - expected[1]).abs() < 1e-6);
        }
    }

    #[test]
    fn packed_sentences_do_not_see_each_other() {
        let lstm = cell(3.0, 3.0);
        let a = array![[0.2], [0.9], [-1.1]];
        let b = array![[0.4]];
        let packed = ndarray::concatenate![ndarray::Axis(0), a, b];
        for reverse in [false, true] {
            let together = lstm.run_packed(packed.view(), &[3, 1], reverse);
            let alone = ndarray::concatenate![
                ndarray::Axis(0),
                lstm.run(a.view(), reverse),
                lstm.run(b.view(), reverse)
            ];
            assert!((&together - &alone).iter().all(|d| d.abs() < 1e-6));
        }
    }
}
