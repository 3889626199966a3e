//! A character-level convolutional token encoder (the char-CNN of ELMo and
//! of Kim et al.'s character-aware language model): character embedding
//! lookup, one 1-D "valid" convolution per filter width over a token's
//! character positions, the maximum over positions, then the activation.
//!
//! Character ids follow AllenNLP's shifted convention: id 0 is padding and
//! reads a zero vector (it has no parameter and gets no gradient), id
//! `k ≥ 1` reads row `k − 1` of the embedding table.
//!
//! The backward pass sends each filter's gradient to the one window that won
//! the maximum, the first among equal windows, as TensorFlow's `max_pool`
//! does. Windows lying wholly in a token's trailing run of one id are
//! identical, so only the first of them is computed.
//!
//! ```
//! use embed_core::nn::char_cnn::{self, Activation, CharCnnParams, CharCnnShape};
//! use ndarray::{Array1, Array2};
//! let shape = CharCnnShape { max_chars: 6, char_dim: 2, filters: vec![(1, 3), (2, 4)], activation: Activation::Relu };
//! let embedding = Array2::from_elem((10, 2), 0.5);
//! let kernels = [Array2::from_elem((2, 3), 0.1), Array2::from_elem((4, 4), -0.1)];
//! let biases = [Array1::zeros(3), Array1::zeros(4)];
//! let params = CharCnnParams {
//!     embedding: embedding.view(),
//!     kernels: kernels.iter().map(|k| k.view()).collect(),
//!     biases: biases.iter().map(|b| b.view()).collect(),
//! };
//! let ids = [1u16, 2, 3, 0, 0, 0, /* second token */ 4, 4, 4, 4, 4, 4];
//! let cache = char_cnn::forward(&shape, &params, &ids)?;
//! assert_eq!(cache.outputs().dim(), (2, 7));
//! # Ok::<(), embed_core::Error>(())
//! ```

use ndarray::{s, Array2, ArrayView1, ArrayView2, ArrayViewMut1, ArrayViewMut2};
use serde::{Deserialize, Serialize};

use crate::linalg::matmul_into;
use crate::{Error, Result};

/// The activation after the maximum over positions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    /// `max(x, 0)`.
    Relu,
    /// `tanh(x)`.
    Tanh,
}

impl Activation {
    /// The activation of `x`.
    #[inline]
    pub fn apply(self, x: f32) -> f32 {
        match self {
            Activation::Relu => x.max(0.0),
            Activation::Tanh => x.tanh(),
        }
    }

    /// The derivative, from the activation's output `y`.
    #[inline]
    pub fn derivative_from_output(self, y: f32) -> f32 {
        match self {
            Activation::Relu => {
                if y > 0.0 {
                    1.0
                } else {
                    0.0
                }
            }
            Activation::Tanh => 1.0 - y * y,
        }
    }
}

/// Sizes of the encoder.
#[derive(Debug, Clone, PartialEq)]
pub struct CharCnnShape {
    /// Character ids per token.
    pub max_chars: usize,
    /// Width of a character vector.
    pub char_dim: usize,
    /// `(width, number of filters)` per convolution, in output order.
    pub filters: Vec<(usize, usize)>,
    /// Activation after the maximum.
    pub activation: Activation,
}

impl CharCnnShape {
    /// Width of the output: the total number of filters.
    pub fn out_dim(&self) -> usize {
        self.filters.iter().map(|&(_, n)| n).sum()
    }
}

/// The encoder's weights.
#[derive(Debug, Clone)]
pub struct CharCnnParams<'a> {
    /// `[ids − 1, char_dim]`: row `k − 1` for character id `k`.
    pub embedding: ArrayView2<'a, f32>,
    /// Per convolution, `[width · char_dim, filters]`: row `p · char_dim + c`
    /// weighs channel `c` of the window's `p`-th character (TensorFlow's
    /// `W[0, p, c, n]` flattened).
    pub kernels: Vec<ArrayView2<'a, f32>>,
    /// Per convolution, `[filters]`.
    pub biases: Vec<ArrayView1<'a, f32>>,
}

/// Gradients of the encoder's weights; backward passes add to them.
#[derive(Debug)]
pub struct CharCnnGrads<'a> {
    /// Same shape as [`CharCnnParams::embedding`].
    pub embedding: ArrayViewMut2<'a, f32>,
    /// Same shapes as [`CharCnnParams::kernels`].
    pub kernels: Vec<ArrayViewMut2<'a, f32>>,
    /// Same shapes as [`CharCnnParams::biases`].
    pub biases: Vec<ArrayViewMut1<'a, f32>>,
}

/// What the forward pass keeps for the backward pass.
#[derive(Debug, Clone)]
pub struct CharCnnCache {
    ids: Vec<u16>,
    /// Per token and output feature, the position of the winning window.
    argmax: Vec<u16>,
    outputs: Array2<f32>,
}

impl CharCnnCache {
    /// The features, `[tokens, Σ filters]`.
    pub fn outputs(&self) -> ArrayView2<'_, f32> {
        self.outputs.view()
    }
}

impl CharCnnParams<'_> {
    /// Checks every shape against `shape`, and that ids fit the table.
    fn check(&self, shape: &CharCnnShape) -> Result<()> {
        if self.embedding.ncols() != shape.char_dim {
            return Err(Error::ShapeMismatch {
                name: "char embedding".into(),
                expected: vec![self.embedding.nrows(), shape.char_dim],
                actual: self.embedding.shape().to_vec(),
            });
        }
        if self.kernels.len() != shape.filters.len() || self.biases.len() != shape.filters.len() {
            return Err(Error::InvalidInput(format!(
                "{} kernels and {} biases for {} filter widths",
                self.kernels.len(),
                self.biases.len(),
                shape.filters.len()
            )));
        }
        for ((&(width, count), kernel), bias) in
            shape.filters.iter().zip(&self.kernels).zip(&self.biases)
        {
            if width == 0 || width > shape.max_chars {
                return Err(Error::invalid_parameter(
                    "filters",
                    format!("width {width} must be 1..={}", shape.max_chars),
                ));
            }
            if kernel.shape() != [width * shape.char_dim, count] {
                return Err(Error::ShapeMismatch {
                    name: format!("char-CNN kernel of width {width}"),
                    expected: vec![width * shape.char_dim, count],
                    actual: kernel.shape().to_vec(),
                });
            }
            if bias.len() != count {
                return Err(Error::ShapeMismatch {
                    name: format!("char-CNN bias of width {width}"),
                    expected: vec![count],
                    actual: bias.shape().to_vec(),
                });
            }
        }
        Ok(())
    }
}

/// Where the run of equal ids that ends a token begins.
fn trailing_run_start(ids: &[u16]) -> usize {
    match ids.last() {
        Some(&last) => ids.iter().rposition(|&id| id != last).map_or(0, |p| p + 1),
        None => 0,
    }
}

/// Character vectors of every token, `[tokens · max_chars, char_dim]`.
fn embed_chars(embedding: ArrayView2<'_, f32>, ids: &[u16]) -> Array2<f32> {
    let mut chars = Array2::<f32>::zeros((ids.len(), embedding.ncols()));
    for (mut row, &id) in chars.rows_mut().into_iter().zip(ids) {
        if id > 0 {
            row.assign(&embedding.row(usize::from(id) - 1));
        }
    }
    chars
}

/// Encodes tokens given as `ids` (`max_chars` ids per token, one token
/// after another).
pub fn forward(
    shape: &CharCnnShape,
    params: &CharCnnParams<'_>,
    ids: &[u16],
) -> Result<CharCnnCache> {
    params.check(shape)?;
    let p_len = shape.max_chars;
    if p_len == 0 || !ids.len().is_multiple_of(p_len) {
        return Err(Error::InvalidInput(format!(
            "{} character ids are not a whole number of tokens of {p_len}",
            ids.len()
        )));
    }
    let rows = params.embedding.nrows();
    if let Some(&bad) = ids.iter().find(|&&id| usize::from(id) > rows) {
        return Err(Error::InvalidInput(format!(
            "character id {bad} is outside the embedding table of {rows} rows (ids 1..={rows})"
        )));
    }
    let tokens = ids.len() / p_len;
    let dim = shape.char_dim;
    let chars = embed_chars(params.embedding, ids);
    let chars = chars.as_slice().expect("freshly allocated");
    let tails: Vec<usize> = ids.chunks_exact(p_len).map(trailing_run_start).collect();
    let out_dim = shape.out_dim();
    let mut outputs = Array2::<f32>::zeros((tokens, out_dim));
    let mut argmax = vec![0u16; tokens * out_dim];
    let mut column = 0;
    for ((&(width, count), kernel), bias) in shape
        .filters
        .iter()
        .zip(&params.kernels)
        .zip(&params.biases)
    {
        let positions = p_len - width + 1;
        let window = width * dim;
        let used: Vec<usize> = tails.iter().map(|&t| positions.min(t + 1)).collect();
        // Each window is a contiguous run of character vectors: lay them out
        // as rows and convolve every window of every token in one product.
        let mut windows = Array2::<f32>::zeros((used.iter().sum(), window));
        {
            let flat = windows.as_slice_mut().expect("freshly allocated");
            let mut offset = 0;
            for (token, &count) in used.iter().enumerate() {
                for position in 0..count {
                    let first = (token * p_len + position) * dim;
                    flat[offset..offset + window].copy_from_slice(&chars[first..first + window]);
                    offset += window;
                }
            }
        }
        let mut convolved = Array2::<f32>::zeros((windows.nrows(), count));
        matmul_into(windows.view(), *kernel, convolved.view_mut(), false, false);
        let mut first_row = 0;
        for (token, &n_used) in used.iter().enumerate() {
            let mut out = outputs.slice_mut(s![token, column..column + count]);
            let out = out.as_slice_mut().expect("row of a standard-layout array");
            let best_at = &mut argmax[token * out_dim + column..token * out_dim + column + count];
            out.copy_from_slice(convolved.row(first_row).as_slice().expect("contiguous row"));
            best_at.fill(0);
            for position in 1..n_used {
                let row = convolved.row(first_row + position);
                let row = row.as_slice().expect("contiguous row");
                for ((b, at), &v) in out.iter_mut().zip(best_at.iter_mut()).zip(row) {
                    if v > *b {
                        *b = v;
                        *at = position as u16;
                    }
                }
            }
            for (o, &bias) in out.iter_mut().zip(bias) {
                *o = shape.activation.apply(*o + bias);
            }
            first_row += n_used;
        }
        column += count;
    }
    Ok(CharCnnCache {
        ids: ids.to_vec(),
        argmax,
        outputs,
    })
}

/// Back-propagates `d_outputs` (`[tokens, Σ filters]`) into `grads`.
pub fn backward(
    shape: &CharCnnShape,
    params: &CharCnnParams<'_>,
    cache: &CharCnnCache,
    d_outputs: ArrayView2<'_, f32>,
    grads: &mut CharCnnGrads<'_>,
) -> Result<()> {
    params.check(shape)?;
    if d_outputs.shape() != cache.outputs.shape() {
        return Err(Error::ShapeMismatch {
            name: "char-CNN output gradient".into(),
            expected: cache.outputs.shape().to_vec(),
            actual: d_outputs.shape().to_vec(),
        });
    }
    if grads.embedding.shape() != params.embedding.shape()
        || grads.kernels.len() != params.kernels.len()
        || grads.biases.len() != params.biases.len()
    {
        return Err(Error::InvalidInput(
            "char-CNN gradients do not match the parameters".into(),
        ));
    }
    let p_len = shape.max_chars;
    let dim = shape.char_dim;
    let tokens = cache.outputs.nrows();
    let out_dim = shape.out_dim();
    let chars = embed_chars(params.embedding, &cache.ids);
    let chars = chars.as_slice().expect("freshly allocated");
    let mut d_chars = vec![0.0f32; chars.len()];
    // Gradient of each feature before the activation.
    let mut d_pre = d_outputs.to_owned();
    ndarray::Zip::from(&mut d_pre)
        .and(&cache.outputs)
        .for_each(|d, &y| *d *= shape.activation.derivative_from_output(y));
    let mut column = 0;
    for (c, &(width, count)) in shape.filters.iter().enumerate() {
        let window = width * dim;
        // Filters as rows, so a filter's weights are contiguous.
        let kernel_t = params.kernels[c].t().as_standard_layout().into_owned();
        let kernel_t = kernel_t.as_slice().expect("standard layout");
        let mut d_kernel_t = vec![0.0f32; count * window];
        let mut d_bias = vec![0.0f32; count];
        for token in 0..tokens {
            let d_row = d_pre.row(token);
            for f in 0..count {
                let g = d_row[column + f];
                if g == 0.0 {
                    continue;
                }
                d_bias[f] += g;
                let position = usize::from(cache.argmax[token * out_dim + column + f]);
                let first = (token * p_len + position) * dim;
                let w = &kernel_t[f * window..(f + 1) * window];
                let dk = &mut d_kernel_t[f * window..(f + 1) * window];
                for ((dk, dc), (&x, &w)) in dk
                    .iter_mut()
                    .zip(&mut d_chars[first..first + window])
                    .zip(chars[first..first + window].iter().zip(w))
                {
                    *dk += g * x;
                    *dc += g * w;
                }
            }
        }
        let d_kernel_t =
            ArrayView2::from_shape((count, window), &d_kernel_t).expect("count · window values");
        grads.kernels[c] += &d_kernel_t.t();
        grads.biases[c] += &ArrayView1::from(&d_bias);
        column += count;
    }
    for (&id, d) in cache.ids.iter().zip(d_chars.chunks_exact(dim)) {
        if id > 0 {
            let mut row = grads.embedding.row_mut(usize::from(id) - 1);
            row += &ArrayView1::from(d);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::gradcheck::{max_relative_error, numerical_gradient, weighted_sum};
    use crate::nn::testing::random_array;
    use ndarray::Array1;
    use proptest::prelude::*;

    struct Case {
        shape: CharCnnShape,
        embedding: Array2<f32>,
        kernels: Vec<Array2<f32>>,
        biases: Vec<Array1<f32>>,
        ids: Vec<u16>,
    }

    impl Case {
        fn params<'a>(
            &self,
            embedding: &'a Array2<f32>,
            kernels: &'a [Array2<f32>],
            biases: &'a [Array1<f32>],
        ) -> CharCnnParams<'a> {
            CharCnnParams {
                embedding: embedding.view(),
                kernels: kernels.iter().map(|k| k.view()).collect(),
                biases: biases.iter().map(|b| b.view()).collect(),
            }
        }

        fn outputs(
            &self,
            embedding: &Array2<f32>,
            kernels: &[Array2<f32>],
            biases: &[Array1<f32>],
        ) -> Array2<f32> {
            forward(
                &self.shape,
                &self.params(embedding, kernels, biases),
                &self.ids,
            )
            .unwrap()
            .outputs()
            .to_owned()
        }

        /// The definition, window by window, in f64: the output and, per
        /// feature, how far the best window is from the best different one
        /// and from the activation's kink.
        fn reference(&self) -> (Array2<f64>, f64) {
            let (p_len, dim) = (self.shape.max_chars, self.shape.char_dim);
            let tokens = self.ids.len() / p_len;
            let mut out = Array2::zeros((tokens, self.shape.out_dim()));
            let mut margin = f64::INFINITY;
            let char_vec = |id: u16, c: usize| {
                if id == 0 {
                    0.0
                } else {
                    f64::from(self.embedding[[usize::from(id) - 1, c]])
                }
            };
            for token in 0..tokens {
                let ids = &self.ids[token * p_len..(token + 1) * p_len];
                let mut column = 0;
                for (i, &(width, count)) in self.shape.filters.iter().enumerate() {
                    for f in 0..count {
                        let values: Vec<f64> = (0..=p_len - width)
                            .map(|p| {
                                (0..width)
                                    .flat_map(|k| (0..dim).map(move |c| (k, c)))
                                    .map(|(k, c)| {
                                        char_vec(ids[p + k], c)
                                            * f64::from(self.kernels[i][[k * dim + c, f]])
                                    })
                                    .sum()
                            })
                            .collect();
                        let best = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                        for &v in &values {
                            if best - v > 1e-9 {
                                margin = margin.min(best - v);
                            }
                        }
                        let pre = best + f64::from(self.biases[i][f]);
                        margin = margin.min(pre.abs());
                        out[[token, column + f]] = match self.shape.activation {
                            Activation::Relu => pre.max(0.0),
                            Activation::Tanh => pre.tanh(),
                        };
                    }
                    column += count;
                }
            }
            (out, margin)
        }
    }

    fn activation() -> impl Strategy<Value = Activation> {
        prop_oneof![Just(Activation::Relu), Just(Activation::Tanh)]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]
        /// Forward against the definition within 1e-5; gradients within 2e-2
        /// relative (below 0.1 absolute) of central differences with step
        /// 1e-3, skipping cases where a step could change which window wins
        /// or cross the activation's kink (margin under 0.02).
        #[test]
        fn matches_the_definition_and_finite_differences(
            tokens in 1usize..4,
            max_chars in 3usize..7,
            char_dim in 1usize..4,
            widths in proptest::collection::vec((1usize..4, 1usize..4), 1..3),
            padding in 0usize..3,
            activation in activation(),
            seed in 0u64..1000,
        ) {
            let filters: Vec<(usize, usize)> = widths.into_iter().map(|(w, n)| (w.min(max_chars), n)).collect();
            let rows = 7;
            let mut rng = crate::seed::rng(seed, 9);
            use rand::Rng as _;
            let mut ids: Vec<u16> = (0..tokens * max_chars).map(|_| rng.gen_range(1..=rows as u16)).collect();
            // A trailing run of one id, as tokens end in padding characters.
            for token in 0..tokens {
                let end = (token + 1) * max_chars;
                for k in 1..=padding.min(max_chars - 1) {
                    ids[end - k] = ids[end - 1];
                }
            }
            if tokens > 1 {
                ids[..max_chars].fill(0); // a padded token
            }
            let case = Case {
                shape: CharCnnShape { max_chars, char_dim, filters: filters.clone(), activation },
                embedding: random_array((rows, char_dim), seed),
                kernels: filters.iter().enumerate().map(|(i, &(w, n))| random_array((w * char_dim, n), seed + 10 + i as u64)).collect(),
                biases: filters.iter().enumerate().map(|(i, &(_, n))| random_array(n, seed + 20 + i as u64)).collect(),
                ids,
            };
            let (expected, margin) = case.reference();
            let outputs = case.outputs(&case.embedding, &case.kernels, &case.biases);
            for (a, e) in outputs.iter().zip(&expected) {
                prop_assert!((f64::from(*a) - e).abs() < 1e-5, "{a} vs {e}");
            }
            prop_assume!(margin > 0.02);
            let upstream: Array2<f32> = random_array(outputs.raw_dim(), seed + 30);
            let r = upstream.as_slice().unwrap().to_vec();
            let cache = forward(&case.shape, &case.params(&case.embedding, &case.kernels, &case.biases), &case.ids).unwrap();
            let mut g_embedding = Array2::zeros(case.embedding.raw_dim());
            let mut g_kernels: Vec<Array2<f32>> = case.kernels.iter().map(|k| Array2::zeros(k.raw_dim())).collect();
            let mut g_biases: Vec<Array1<f32>> = case.biases.iter().map(|b| Array1::zeros(b.raw_dim())).collect();
            backward(&case.shape, &case.params(&case.embedding, &case.kernels, &case.biases), &cache, upstream.view(), &mut CharCnnGrads {
                embedding: g_embedding.view_mut(),
                kernels: g_kernels.iter_mut().map(|k| k.view_mut()).collect(),
                biases: g_biases.iter_mut().map(|b| b.view_mut()).collect(),
            }).unwrap();

            let mut values = case.embedding.clone();
            let numeric = numerical_gradient(values.as_slice_mut().unwrap(), 1e-3, |v| {
                let e = Array2::from_shape_vec(case.embedding.raw_dim(), v.to_vec()).unwrap();
                weighted_sum(case.outputs(&e, &case.kernels, &case.biases).as_slice().unwrap(), &r)
            });
            prop_assert!(max_relative_error(g_embedding.as_slice().unwrap(), &numeric, 1e-1) < 2e-2, "embedding");
            for i in 0..filters.len() {
                let mut values = case.kernels[i].clone();
                let numeric = numerical_gradient(values.as_slice_mut().unwrap(), 1e-3, |v| {
                    let mut kernels = case.kernels.clone();
                    kernels[i] = Array2::from_shape_vec(kernels[i].raw_dim(), v.to_vec()).unwrap();
                    weighted_sum(case.outputs(&case.embedding, &kernels, &case.biases).as_slice().unwrap(), &r)
                });
                prop_assert!(max_relative_error(g_kernels[i].as_slice().unwrap(), &numeric, 1e-1) < 2e-2, "kernel {}", i);
                let mut values = case.biases[i].clone();
                let numeric = numerical_gradient(values.as_slice_mut().unwrap(), 1e-3, |v| {
                    let mut biases = case.biases.clone();
                    biases[i] = Array1::from_vec(v.to_vec());
                    weighted_sum(case.outputs(&case.embedding, &case.kernels, &biases).as_slice().unwrap(), &r)
                });
                prop_assert!(max_relative_error(g_biases[i].as_slice().unwrap(), &numeric, 1e-1) < 2e-2, "bias {}", i);
            }
        }
    }

    #[test]
    fn bad_ids_and_shapes_are_errors() {
        let shape = CharCnnShape {
            max_chars: 4,
            char_dim: 2,
            filters: vec![(2, 3)],
            activation: Activation::Relu,
        };
        let embedding = Array2::zeros((5, 2));
        let kernels = [Array2::zeros((4, 3))];
        let biases = [Array1::zeros(3)];
        let params = CharCnnParams {
            embedding: embedding.view(),
            kernels: kernels.iter().map(|k| k.view()).collect(),
            biases: biases.iter().map(|b| b.view()).collect(),
        };
        assert!(forward(&shape, &params, &[1, 2, 3, 5]).is_ok());
        assert!(forward(&shape, &params, &[1, 2, 3, 6]).is_err()); // id past the table
        assert!(forward(&shape, &params, &[1, 2, 3]).is_err()); // not whole tokens
        let wide = CharCnnShape {
            filters: vec![(5, 3)],
            ..shape
        };
        assert!(forward(&wide, &params, &[1, 2, 3, 4]).is_err());
    }
}
