//! An LSTM with a projected, clipped hidden state (TensorFlow's `LSTMCell`
//! with `num_proj`, `cell_clip` and `proj_clip`, as bilm-tf trains ELMo),
//! unrolled over a window of steps with an initial state.
//!
//! With `z = [x, h_prev] @ W + b` split into the gates `i, j, f, o` (that
//! order):
//!
//! ```text
//! c = clip(σ(f + forget_bias) · c_prev + σ(i) · tanh(j), ±cell_clip)
//! m = σ(o) · tanh(c)
//! h = clip(m @ W_P, ±proj_clip)
//! ```
//!
//! A clip of 0 turns clipping off. Where a value is clipped its gradient is
//! zero (TensorFlow's `clip_by_value`: a value exactly at the bound passes
//! the gradient).
//!
//! Rows are time-major: step `t` of batch row `b` is row `t · batch + b`, so
//! each step's rows are contiguous and every product is one GEMM call. The
//! forward pass allocates its cache once per window; no step allocates.
//!
//! ```
//! use embed_core::nn::lstm::{self, LstmParams, LstmShape, LstmState};
//! use ndarray::{Array1, Array2};
//! let shape = LstmShape { input_dim: 3, cell_dim: 4, proj_dim: 2, cell_clip: 3.0, proj_clip: 3.0, forget_bias: 1.0 };
//! let weight = Array2::from_elem((3 + 2, 16), 0.1);
//! let bias = Array1::zeros(16);
//! let projection = Array2::from_elem((4, 2), 0.5);
//! let params = LstmParams { weight: weight.view(), bias: bias.view(), projection: projection.view() };
//! // 5 steps of a batch of 2 rows.
//! let inputs = Array2::from_elem((5 * 2, 3), 1.0);
//! let cache = lstm::forward(&shape, &params, inputs.view(), LstmState::zeros(2, &shape))?;
//! assert_eq!(cache.outputs().dim(), (10, 2));
//! assert_eq!(cache.final_state().h.dim(), (2, 2));
//! # Ok::<(), embed_core::Error>(())
//! ```

use ndarray::{s, Array2, ArrayView1, ArrayView2, ArrayViewMut1, ArrayViewMut2, Axis, Zip};

use super::fastmath::{self, dispatch};
use crate::linalg::matmul_into;
use crate::{Error, Result};

const CONTIGUOUS: &str = "rows of a standard-layout array";

/// Sizes and constants of one LSTM layer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LstmShape {
    /// Width of each step's input `x`.
    pub input_dim: usize,
    /// Width of the memory cell `c`.
    pub cell_dim: usize,
    /// Width of the projected state `h` (the output).
    pub proj_dim: usize,
    /// Cells are clipped to `±cell_clip`; 0 = no clipping.
    pub cell_clip: f32,
    /// Projected states are clipped to `±proj_clip`; 0 = no clipping.
    pub proj_clip: f32,
    /// Added to the forget gate's pre-activation (TensorFlow: 1.0).
    pub forget_bias: f32,
}

/// The weights of one layer, in TensorFlow's orientation.
#[derive(Debug, Clone, Copy)]
pub struct LstmParams<'a> {
    /// `[input_dim + proj_dim, 4 · cell_dim]`: rows for `x`, then for `h_prev`.
    pub weight: ArrayView2<'a, f32>,
    /// `[4 · cell_dim]`, without the forget bias.
    pub bias: ArrayView1<'a, f32>,
    /// `[cell_dim, proj_dim]`.
    pub projection: ArrayView2<'a, f32>,
}

/// Gradients of one layer's weights; backward passes add to them.
#[derive(Debug)]
pub struct LstmGrads<'a> {
    /// Same shape as [`LstmParams::weight`].
    pub weight: ArrayViewMut2<'a, f32>,
    /// Same shape as [`LstmParams::bias`].
    pub bias: ArrayViewMut1<'a, f32>,
    /// Same shape as [`LstmParams::projection`].
    pub projection: ArrayViewMut2<'a, f32>,
}

/// The recurrent state of a batch: `h` `[batch, proj_dim]`, `c` `[batch, cell_dim]`.
#[derive(Debug, Clone, PartialEq)]
pub struct LstmState {
    /// Projected (clipped) hidden states.
    pub h: Array2<f32>,
    /// Memory cells (clipped).
    pub c: Array2<f32>,
}

impl LstmState {
    /// The zero state of `batch` rows.
    pub fn zeros(batch: usize, shape: &LstmShape) -> Self {
        LstmState {
            h: Array2::zeros((batch, shape.proj_dim)),
            c: Array2::zeros((batch, shape.cell_dim)),
        }
    }

    /// Number of batch rows.
    pub fn batch(&self) -> usize {
        self.h.nrows()
    }
}

/// What the forward pass keeps for the backward pass.
#[derive(Debug, Clone)]
pub struct LstmCache {
    batch: usize,
    steps: usize,
    inputs: Array2<f32>,
    initial: LstmState,
    /// Activated gates `σ(i), tanh(j), σ(f + forget_bias), σ(o)`.
    gates: Array2<f32>,
    /// Cells before clipping.
    cells_unclipped: Array2<f32>,
    /// Cells after clipping.
    cells: Array2<f32>,
    /// `tanh(c)`.
    cells_tanh: Array2<f32>,
    /// `m = σ(o) · tanh(c)`.
    hidden: Array2<f32>,
    /// `m @ W_P` before clipping.
    projected: Array2<f32>,
    /// The outputs `h` (after clipping).
    outputs: Array2<f32>,
}

impl LstmCache {
    /// The output `h` of every step, `[steps · batch, proj_dim]`, time-major.
    pub fn outputs(&self) -> ArrayView2<'_, f32> {
        self.outputs.view()
    }

    /// The state after the last step (the initial state for a window of no steps).
    pub fn final_state(&self) -> LstmState {
        if self.steps == 0 {
            return self.initial.clone();
        }
        let last = (self.steps - 1) * self.batch..self.steps * self.batch;
        LstmState {
            h: self.outputs.slice(s![last.clone(), ..]).to_owned(),
            c: self.cells.slice(s![last, ..]).to_owned(),
        }
    }

    /// Number of steps.
    pub fn steps(&self) -> usize {
        self.steps
    }

    /// Number of batch rows.
    pub fn batch(&self) -> usize {
        self.batch
    }
}

/// The logistic function through the vectorising [`fastmath::exp`].
#[inline(always)]
fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + fastmath::exp(-x))
}

/// `tanh` through the vectorising [`fastmath::exp`].
#[inline(always)]
fn tanh(x: f32) -> f32 {
    1.0 - 2.0 / (1.0 + fastmath::exp(2.0 * x))
}

/// The clip bound as a number: `±∞` when clipping is off.
fn bound(limit: f32) -> f32 {
    if limit > 0.0 {
        limit
    } else {
        f32::INFINITY
    }
}

#[inline(always)]
fn is_clipped(x: f32, bound: f32) -> bool {
    x > bound || x < -bound
}

/// One row of one step: activates the gate pre-activations `z` in place and
/// writes the cell (before and after clipping), `tanh(c)` and `m`.
fn cell_step(
    z: &mut [f32],
    c_prev: &[f32],
    c_raw: &mut [f32],
    c_new: &mut [f32],
    c_tanh: &mut [f32],
    m: &mut [f32],
    bound: f32,
) {
    dispatch!(cell_step_avx2, (z: &mut [f32], c_prev: &[f32], c_raw: &mut [f32], c_new: &mut [f32], c_tanh: &mut [f32], m: &mut [f32], bound: f32), {
        let cell = c_prev.len();
        let (zi, rest) = z.split_at_mut(cell);
        let (zj, rest) = rest.split_at_mut(cell);
        let (zf, zo) = rest.split_at_mut(cell);
        for n in 0..cell {
            let i = sigmoid(zi[n]);
            let j = tanh(zj[n]);
            let f = sigmoid(zf[n]);
            let o = sigmoid(zo[n]);
            let raw = f * c_prev[n] + i * j;
            #[allow(clippy::manual_clamp)]
            let c = raw.max(-bound).min(bound);
            let tc = tanh(c);
            zi[n] = i;
            zj[n] = j;
            zf[n] = f;
            zo[n] = o;
            c_raw[n] = raw;
            c_new[n] = c;
            c_tanh[n] = tc;
            m[n] = o * tc;
        }
    })
}

/// One row of one step backward: the gate pre-activation gradients `dz`
/// from the gradient of `m` and of the cell (from the next step), which is
/// replaced by the gradient for the previous step's cell.
#[allow(clippy::too_many_arguments)]
fn cell_step_backward(
    gates: &[f32],
    c_raw: &[f32],
    c_tanh: &[f32],
    c_prev: &[f32],
    dm: &[f32],
    dc_next: &mut [f32],
    dz: &mut [f32],
    bound: f32,
) {
    dispatch!(cell_step_backward_avx2, (gates: &[f32], c_raw: &[f32], c_tanh: &[f32], c_prev: &[f32], dm: &[f32], dc_next: &mut [f32], dz: &mut [f32], bound: f32), {
        let cell = c_prev.len();
        let (gi, rest) = gates.split_at(cell);
        let (gj, rest) = rest.split_at(cell);
        let (gf, go) = rest.split_at(cell);
        let (dzi, rest) = dz.split_at_mut(cell);
        let (dzj, rest) = rest.split_at_mut(cell);
        let (dzf, dzo) = rest.split_at_mut(cell);
        for n in 0..cell {
            let (i, j, f, o, tc) = (gi[n], gj[n], gf[n], go[n], c_tanh[n]);
            let dc = dm[n] * o * (1.0 - tc * tc) + dc_next[n];
            let dc = if is_clipped(c_raw[n], bound) { 0.0 } else { dc };
            dzo[n] = dm[n] * tc * o * (1.0 - o);
            dzi[n] = dc * j * i * (1.0 - i);
            dzj[n] = dc * i * (1.0 - j * j);
            dzf[n] = dc * c_prev[n] * f * (1.0 - f);
            dc_next[n] = dc * f;
        }
    })
}

fn check_matrix(name: &str, actual: &[usize], expected: &[usize]) -> Result<()> {
    if actual != expected {
        return Err(Error::ShapeMismatch {
            name: name.to_string(),
            expected: expected.to_vec(),
            actual: actual.to_vec(),
        });
    }
    Ok(())
}

impl LstmParams<'_> {
    /// Checks every shape against `shape`.
    pub fn check(&self, shape: &LstmShape) -> Result<()> {
        let gates = 4 * shape.cell_dim;
        check_matrix(
            "lstm weight",
            self.weight.shape(),
            &[shape.input_dim + shape.proj_dim, gates],
        )?;
        check_matrix("lstm bias", self.bias.shape(), &[gates])?;
        check_matrix(
            "lstm projection",
            self.projection.shape(),
            &[shape.cell_dim, shape.proj_dim],
        )
    }
}

/// Runs the layer over `inputs` (`[steps · batch, input_dim]`, time-major)
/// from `initial` (whose row count is the batch size).
pub fn forward(
    shape: &LstmShape,
    params: &LstmParams<'_>,
    inputs: ArrayView2<'_, f32>,
    initial: LstmState,
) -> Result<LstmCache> {
    params.check(shape)?;
    let batch = initial.batch();
    check_matrix(
        "lstm initial c",
        initial.c.shape(),
        &[batch, shape.cell_dim],
    )?;
    check_matrix(
        "lstm initial h",
        initial.h.shape(),
        &[batch, shape.proj_dim],
    )?;
    if inputs.ncols() != shape.input_dim || (batch == 0 && inputs.nrows() != 0) {
        return Err(Error::InvalidInput(format!(
            "lstm inputs of shape {:?} for input width {} and batch {batch}",
            inputs.shape(),
            shape.input_dim
        )));
    }
    if batch > 0 && !inputs.nrows().is_multiple_of(batch) {
        return Err(Error::InvalidInput(format!(
            "lstm inputs have {} rows, not a whole number of steps of {batch} rows",
            inputs.nrows()
        )));
    }
    // The cell steps read state rows as slices; a caller's state may be a
    // transposed array.
    let initial = LstmState {
        h: initial.h.as_standard_layout().into_owned(),
        c: initial.c.as_standard_layout().into_owned(),
    };
    let steps = inputs.nrows().checked_div(batch).unwrap_or(0);
    let rows = inputs.nrows();
    let cell = shape.cell_dim;
    let input_weight = params.weight.slice(s![..shape.input_dim, ..]);
    let state_weight = params.weight.slice(s![shape.input_dim.., ..]);

    // Input contributions of every step at once, plus the biases.
    let mut gates = Array2::zeros((rows, 4 * cell));
    matmul_into(inputs, input_weight, gates.view_mut(), false, false);
    let mut bias = params.bias.to_owned();
    bias.slice_mut(s![2 * cell..3 * cell])
        .mapv_inplace(|b| b + shape.forget_bias);
    gates += &bias;

    let mut cells_unclipped = Array2::zeros((rows, cell));
    let mut cells = Array2::zeros((rows, cell));
    let mut cells_tanh = Array2::zeros((rows, cell));
    let mut hidden = Array2::zeros((rows, cell));
    let mut projected = Array2::zeros((rows, shape.proj_dim));
    let mut outputs = Array2::zeros((rows, shape.proj_dim));
    for t in 0..steps {
        let now = t * batch..(t + 1) * batch;
        {
            let (before, mut current) = outputs.view_mut().split_at(Axis(0), t * batch);
            let previous_h = if t == 0 {
                initial.h.view()
            } else {
                before.slice(s![(t - 1) * batch.., ..])
            };
            let mut z = gates.slice_mut(s![now.clone(), ..]);
            matmul_into(previous_h, state_weight, z.view_mut(), true, false);
            let (cells_before, mut cells_now) = cells.view_mut().split_at(Axis(0), t * batch);
            let previous_c = if t == 0 {
                initial.c.view()
            } else {
                cells_before.slice(s![(t - 1) * batch.., ..])
            };
            let cell_bound = bound(shape.cell_clip);
            for r in 0..batch {
                let row = now.start + r;
                let mut z = z.row_mut(r);
                let mut c_raw = cells_unclipped.row_mut(row);
                let mut c_tanh = cells_tanh.row_mut(row);
                let mut m = hidden.row_mut(row);
                let mut c_new = cells_now.row_mut(r);
                cell_step(
                    z.as_slice_mut().expect(CONTIGUOUS),
                    previous_c.row(r).to_slice().expect(CONTIGUOUS),
                    c_raw.as_slice_mut().expect(CONTIGUOUS),
                    c_new.as_slice_mut().expect(CONTIGUOUS),
                    c_tanh.as_slice_mut().expect(CONTIGUOUS),
                    m.as_slice_mut().expect(CONTIGUOUS),
                    cell_bound,
                );
            }
            let mut p = projected.slice_mut(s![now.clone(), ..]);
            matmul_into(
                hidden.slice(s![now.clone(), ..]),
                params.projection,
                p.view_mut(),
                false,
                false,
            );
            let proj_bound = bound(shape.proj_clip);
            #[allow(clippy::manual_clamp)]
            Zip::from(current.slice_mut(s![..batch, ..]))
                .and(&p)
                .for_each(|h, &v| *h = v.max(-proj_bound).min(proj_bound));
        }
    }
    Ok(LstmCache {
        batch,
        steps,
        inputs: inputs.to_owned(),
        initial,
        gates,
        cells_unclipped,
        cells,
        cells_tanh,
        hidden,
        projected,
        outputs,
    })
}

/// Back-propagates `d_outputs` (the gradient of each step's output,
/// `[steps · batch, proj_dim]`) through the window; adds the weight
/// gradients to `grads` and returns the gradient of the inputs. The final
/// state receives no gradient (truncated back-propagation through time) and
/// none is returned for the initial state.
pub fn backward(
    shape: &LstmShape,
    params: &LstmParams<'_>,
    cache: &LstmCache,
    d_outputs: ArrayView2<'_, f32>,
    grads: &mut LstmGrads<'_>,
) -> Result<Array2<f32>> {
    params.check(shape)?;
    check_matrix(
        "lstm output gradient",
        d_outputs.shape(),
        cache.outputs.shape(),
    )?;
    check_matrix(
        "lstm weight gradient",
        grads.weight.shape(),
        params.weight.shape(),
    )?;
    check_matrix(
        "lstm bias gradient",
        grads.bias.shape(),
        params.bias.shape(),
    )?;
    check_matrix(
        "lstm projection gradient",
        grads.projection.shape(),
        params.projection.shape(),
    )?;
    let (batch, steps) = (cache.batch, cache.steps);
    let rows = steps * batch;
    let cell = shape.cell_dim;
    let input_weight = params.weight.slice(s![..shape.input_dim, ..]);
    let state_weight = params.weight.slice(s![shape.input_dim.., ..]);

    // Contiguous transposes, so the per-step products read rows.
    let state_weight_t = state_weight.t().as_standard_layout().into_owned();
    let projection_t = params.projection.t().as_standard_layout().into_owned();
    let (cell_bound, proj_bound) = (bound(shape.cell_clip), bound(shape.proj_clip));
    // Gradients of the gate pre-activations and of the unclipped projection.
    let mut d_gates = Array2::<f32>::zeros((rows, 4 * cell));
    let mut d_projected = Array2::<f32>::zeros((rows, shape.proj_dim));
    let mut d_h_next = Array2::<f32>::zeros((batch, shape.proj_dim));
    let mut d_c_next = Array2::<f32>::zeros((batch, cell));
    let mut d_hidden = Array2::<f32>::zeros((batch, cell));
    for t in (0..steps).rev() {
        let now = t * batch..(t + 1) * batch;
        let mut d_p = d_projected.slice_mut(s![now.clone(), ..]);
        Zip::from(&mut d_p)
            .and(d_outputs.slice(s![now.clone(), ..]))
            .and(&d_h_next)
            .and(cache.projected.slice(s![now.clone(), ..]))
            .for_each(|d, &up, &next, &raw| {
                *d = if is_clipped(raw, proj_bound) {
                    0.0
                } else {
                    up + next
                };
            });
        matmul_into(
            d_p.view(),
            projection_t.view(),
            d_hidden.view_mut(),
            false,
            false,
        );
        let previous_c = if t == 0 {
            cache.initial.c.view()
        } else {
            cache.cells.slice(s![(t - 1) * batch..t * batch, ..])
        };
        let mut d_z = d_gates.slice_mut(s![now.clone(), ..]);
        for r in 0..batch {
            let row = now.start + r;
            let mut dz = d_z.row_mut(r);
            let mut dcn = d_c_next.row_mut(r);
            cell_step_backward(
                cache.gates.row(row).to_slice().expect(CONTIGUOUS),
                cache.cells_unclipped.row(row).to_slice().expect(CONTIGUOUS),
                cache.cells_tanh.row(row).to_slice().expect(CONTIGUOUS),
                previous_c.row(r).to_slice().expect(CONTIGUOUS),
                d_hidden.row(r).to_slice().expect(CONTIGUOUS),
                dcn.as_slice_mut().expect(CONTIGUOUS),
                dz.as_slice_mut().expect(CONTIGUOUS),
                cell_bound,
            );
        }
        matmul_into(
            d_z.view(),
            state_weight_t.view(),
            d_h_next.view_mut(),
            false,
            false,
        );
    }
    if rows == 0 {
        return Ok(Array2::zeros((0, shape.input_dim)));
    }
    // Weight gradients over all steps at once.
    let (mut g_input, mut g_state) = grads.weight.view_mut().split_at(Axis(0), shape.input_dim);
    matmul_into(
        cache.inputs.t(),
        d_gates.view(),
        g_input.view_mut(),
        true,
        false,
    );
    matmul_into(
        cache.initial.h.t(),
        d_gates.slice(s![..batch, ..]),
        g_state.view_mut(),
        true,
        false,
    );
    if steps > 1 {
        matmul_into(
            cache.outputs.slice(s![..rows - batch, ..]).t(),
            d_gates.slice(s![batch.., ..]),
            g_state.view_mut(),
            true,
            false,
        );
    }
    grads.bias += &d_gates.sum_axis(Axis(0));
    matmul_into(
        cache.hidden.t(),
        d_projected.view(),
        grads.projection.view_mut(),
        true,
        false,
    );
    let mut d_inputs = Array2::zeros((rows, shape.input_dim));
    matmul_into(
        d_gates.view(),
        input_weight.t(),
        d_inputs.view_mut(),
        false,
        false,
    );
    Ok(d_inputs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::gradcheck::{max_relative_error, numerical_gradient, weighted_sum};
    use crate::nn::testing::random_array;
    use ndarray::{Array1, ShapeBuilder};
    use proptest::prelude::*;

    struct Case {
        shape: LstmShape,
        weight: Array2<f32>,
        bias: Array1<f32>,
        projection: Array2<f32>,
        inputs: Array2<f32>,
        initial: LstmState,
        upstream: Vec<f32>,
    }

    impl Case {
        fn new(dims: (usize, usize, usize, usize, usize), clips: (f32, f32), seed: u64) -> Self {
            let (input_dim, cell_dim, proj_dim, batch, steps) = dims;
            let shape = LstmShape {
                input_dim,
                cell_dim,
                proj_dim,
                cell_clip: clips.0,
                proj_clip: clips.1,
                forget_bias: 1.0,
            };
            Case {
                shape,
                weight: random_array((input_dim + proj_dim, 4 * cell_dim), seed),
                bias: random_array(4 * cell_dim, seed + 1),
                projection: random_array((cell_dim, proj_dim), seed + 2),
                inputs: random_array((steps * batch, input_dim), seed + 3),
                initial: LstmState {
                    h: random_array((batch, proj_dim), seed + 4),
                    c: random_array((batch, cell_dim), seed + 5),
                },
                upstream: random_array(steps * batch * proj_dim, seed + 6).to_vec(),
            }
        }

        fn run(
            &self,
            weight: &Array2<f32>,
            bias: &Array1<f32>,
            projection: &Array2<f32>,
            inputs: &Array2<f32>,
        ) -> LstmCache {
            let params = LstmParams {
                weight: weight.view(),
                bias: bias.view(),
                projection: projection.view(),
            };
            forward(&self.shape, &params, inputs.view(), self.initial.clone()).unwrap()
        }

        fn loss(
            &self,
            weight: &Array2<f32>,
            bias: &Array1<f32>,
            projection: &Array2<f32>,
            inputs: &Array2<f32>,
        ) -> f64 {
            let cache = self.run(weight, bias, projection, inputs);
            weighted_sum(cache.outputs().as_slice().unwrap(), &self.upstream)
        }

        /// How close any clipped value comes to its bound.
        fn clip_margin(&self) -> f32 {
            let cache = self.run(&self.weight, &self.bias, &self.projection, &self.inputs);
            let margin = |values: &Array2<f32>, limit: f32| {
                if limit > 0.0 {
                    values
                        .iter()
                        .map(|v| (v.abs() - limit).abs())
                        .fold(f32::INFINITY, f32::min)
                } else {
                    f32::INFINITY
                }
            };
            margin(&cache.cells_unclipped, self.shape.cell_clip)
                .min(margin(&cache.projected, self.shape.proj_clip))
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]
        /// Tolerance: 2e-2 relative, gradients below 0.1 compared absolutely
        /// (f32 forward, central differences with step 1e-2; cases whose
        /// clipped values lie within 0.05 of a bound are skipped, as a step
        /// could cross the kink there).
        #[test]
        fn gradients_match_finite_differences(
            input_dim in 1usize..4,
            cell_dim in 1usize..5,
            proj_dim in 1usize..4,
            batch in 1usize..3,
            steps in 1usize..4,
            clips in prop_oneof![Just((0.0f32, 0.0f32)), (0.2f32..1.5, 0.2f32..1.5)],
            seed in 0u64..1000,
        ) {
            let case = Case::new((input_dim, cell_dim, proj_dim, batch, steps), clips, seed);
            prop_assume!(case.clip_margin() > 0.05);
            let cache = case.run(&case.weight, &case.bias, &case.projection, &case.inputs);
            let mut g_weight = Array2::zeros(case.weight.raw_dim());
            let mut g_bias = Array1::zeros(case.bias.raw_dim());
            let mut g_projection = Array2::zeros(case.projection.raw_dim());
            let upstream = Array2::from_shape_vec(cache.outputs().raw_dim(), case.upstream.clone()).unwrap();
            let params = LstmParams { weight: case.weight.view(), bias: case.bias.view(), projection: case.projection.view() };
            let d_inputs = backward(&case.shape, &params, &cache, upstream.view(), &mut LstmGrads {
                weight: g_weight.view_mut(),
                bias: g_bias.view_mut(),
                projection: g_projection.view_mut(),
            }).unwrap();

            let (w, b, p, x) = (&case.weight, &case.bias, &case.projection, &case.inputs);
            let mut values = w.clone();
            let numeric = numerical_gradient(values.as_slice_mut().unwrap(), 1e-2, |v| {
                case.loss(&Array2::from_shape_vec(w.raw_dim(), v.to_vec()).unwrap(), b, p, x)
            });
            prop_assert!(max_relative_error(g_weight.as_slice().unwrap(), &numeric, 1e-1) < 2e-2, "weight");
            let mut values = b.clone();
            let numeric = numerical_gradient(values.as_slice_mut().unwrap(), 1e-2, |v| {
                case.loss(w, &Array1::from_vec(v.to_vec()), p, x)
            });
            prop_assert!(max_relative_error(g_bias.as_slice().unwrap(), &numeric, 1e-1) < 2e-2, "bias");
            let mut values = p.clone();
            let numeric = numerical_gradient(values.as_slice_mut().unwrap(), 1e-2, |v| {
                case.loss(w, b, &Array2::from_shape_vec(p.raw_dim(), v.to_vec()).unwrap(), x)
            });
            prop_assert!(max_relative_error(g_projection.as_slice().unwrap(), &numeric, 1e-1) < 2e-2, "projection");
            let mut values = x.clone();
            let numeric = numerical_gradient(values.as_slice_mut().unwrap(), 1e-2, |v| {
                case.loss(w, b, p, &Array2::from_shape_vec(x.raw_dim(), v.to_vec()).unwrap())
            });
            prop_assert!(max_relative_error(d_inputs.as_slice().unwrap(), &numeric, 1e-1) < 2e-2, "inputs");
        }
    }

    #[test]
    fn an_initial_state_in_any_layout_gives_the_same_outputs() {
        let case = Case::new((3, 4, 2, 3, 2), (0.0, 0.0), 7);
        let standard = case.run(&case.weight, &case.bias, &case.projection, &case.inputs);
        let transposed = |a: &Array2<f32>| {
            let mut t = Array2::zeros(a.dim().f());
            t.assign(a);
            t
        };
        let params = LstmParams {
            weight: case.weight.view(),
            bias: case.bias.view(),
            projection: case.projection.view(),
        };
        let initial = LstmState {
            h: transposed(&case.initial.h),
            c: transposed(&case.initial.c),
        };
        assert!(!initial.c.is_standard_layout());
        let other = forward(&case.shape, &params, case.inputs.view(), initial).unwrap();
        assert_eq!(standard.outputs(), other.outputs());
    }

    #[test]
    fn follows_the_cell_equations_and_carries_the_state() {
        // One cell, one projected unit; every gate reads x with weight 1 and h with 0.5.
        let shape = LstmShape {
            input_dim: 1,
            cell_dim: 1,
            proj_dim: 1,
            cell_clip: 0.6,
            proj_clip: 0.9,
            forget_bias: 1.0,
        };
        let weight = ndarray::array![[1.0f32, 1.0, 1.0, 1.0], [0.5, 0.5, 0.5, 0.5]];
        let bias = Array1::zeros(4);
        let projection = ndarray::array![[2.0f32]];
        let params = LstmParams {
            weight: weight.view(),
            bias: bias.view(),
            projection: projection.view(),
        };
        let xs = [1.5f64, -0.7, 0.3];
        let sigmoid = |x: f64| 1.0 / (1.0 + (-x).exp());
        let (mut c, mut h) = (0.2f64, -0.1f64);
        let mut expected = Vec::new();
        for &x in &xs {
            let z = x + 0.5 * h;
            c = (sigmoid(z + 1.0) * c + sigmoid(z) * z.tanh()).clamp(-0.6, 0.6);
            h = (2.0 * sigmoid(z) * c.tanh()).clamp(-0.9, 0.9);
            expected.push(h);
        }
        let initial = LstmState {
            h: ndarray::array![[-0.1f32]],
            c: ndarray::array![[0.2f32]],
        };
        // The whole window at once, and in two windows with the state carried over.
        let all = forward(
            &shape,
            &params,
            ndarray::array![[1.5f32], [-0.7], [0.3]].view(),
            initial.clone(),
        )
        .unwrap();
        let first = forward(
            &shape,
            &params,
            ndarray::array![[1.5f32], [-0.7]].view(),
            initial,
        )
        .unwrap();
        let second = forward(
            &shape,
            &params,
            ndarray::array![[0.3f32]].view(),
            first.final_state(),
        )
        .unwrap();
        for (got, want) in all.outputs().iter().zip(&expected) {
            assert!((f64::from(*got) - want).abs() < 1e-6, "{got} vs {want}");
        }
        assert_eq!(second.outputs()[[0, 0]], all.outputs()[[2, 0]]);
        assert_eq!(second.final_state(), all.final_state());
    }

    #[test]
    fn clipped_values_pass_no_gradient() {
        let shape = LstmShape {
            input_dim: 1,
            cell_dim: 1,
            proj_dim: 1,
            cell_clip: 0.01,
            proj_clip: 0.01,
            forget_bias: 1.0,
        };
        let weight = Array2::from_elem((2, 4), 3.0f32);
        let bias = Array1::zeros(4);
        let projection = ndarray::array![[5.0f32]];
        let params = LstmParams {
            weight: weight.view(),
            bias: bias.view(),
            projection: projection.view(),
        };
        let cache = forward(
            &shape,
            &params,
            ndarray::array![[2.0f32], [2.0]].view(),
            LstmState::zeros(1, &shape),
        )
        .unwrap();
        let (mut gw, mut gb, mut gp) = (
            Array2::zeros((2, 4)),
            Array1::zeros(4),
            Array2::zeros((1, 1)),
        );
        let d = backward(
            &shape,
            &params,
            &cache,
            Array2::ones((2, 1)).view(),
            &mut LstmGrads {
                weight: gw.view_mut(),
                bias: gb.view_mut(),
                projection: gp.view_mut(),
            },
        )
        .unwrap();
        assert!(d.iter().chain(&gw).chain(&gb).chain(&gp).all(|&g| g == 0.0));
    }

    #[test]
    fn shapes_are_checked() {
        let shape = LstmShape {
            input_dim: 2,
            cell_dim: 3,
            proj_dim: 2,
            cell_clip: 0.0,
            proj_clip: 0.0,
            forget_bias: 1.0,
        };
        let weight = Array2::zeros((4, 12));
        let bias = Array1::zeros(12);
        let projection = Array2::zeros((3, 2));
        let params = LstmParams {
            weight: weight.view(),
            bias: bias.view(),
            projection: projection.view(),
        };
        let inputs = Array2::zeros((5, 2));
        assert!(forward(&shape, &params, inputs.view(), LstmState::zeros(2, &shape)).is_err());
        let bad = LstmParams {
            bias: weight.column(0),
            ..params
        };
        assert!(forward(&shape, &bad, inputs.view(), LstmState::zeros(1, &shape)).is_err());
        assert!(forward(&shape, &params, inputs.view(), LstmState::zeros(1, &shape)).is_ok());
    }
}
