//! Character embedding, one 1-D convolution per filter width, max over
//! positions, then the activation.

use embed_core::{Error, Result};
use ndarray::{s, Array1, Array2, ArrayView2};

use crate::chars::MAX_CHARS;
use crate::options::Activation;

/// The filters of one width.
#[derive(Debug, Clone)]
pub struct Convolution {
    width: usize,
    /// `[width · char_dim, filters]`: row `k · char_dim + c` holds the weights
    /// for character offset `k` and embedding channel `c` (bilm-tf's
    /// `W_cnn[0, k, c, n]` flattened).
    kernel: Array2<f32>,
    bias: Array1<f32>,
}

impl Convolution {
    /// Filters of `width` characters from a `[width · char_dim, n]` kernel and
    /// an `[n]` bias.
    pub fn new(width: usize, kernel: Array2<f32>, bias: Array1<f32>) -> Result<Self> {
        if width == 0 || width > MAX_CHARS || !kernel.nrows().is_multiple_of(width) {
            return Err(Error::invalid_parameter(
                "width",
                format!(
                    "{width} does not divide the kernel's {} rows",
                    kernel.nrows()
                ),
            ));
        }
        if bias.len() != kernel.ncols() {
            return Err(Error::ShapeMismatch {
                name: "convolution bias".into(),
                expected: vec![kernel.ncols()],
                actual: vec![bias.len()],
            });
        }
        Ok(Self {
            width,
            kernel,
            bias,
        })
    }

    /// Number of filters.
    pub fn filters(&self) -> usize {
        self.kernel.ncols()
    }
}

/// The character encoder's convolutional part: ids `[tokens, 50]` in,
/// features `[tokens, Σ filters]` out.
#[derive(Debug, Clone)]
pub struct CharCnn {
    /// `[262, char_dim]`, row 0 (the padding id) all zeros.
    embedding: Array2<f32>,
    convolutions: Vec<Convolution>,
    activation: Activation,
}

impl CharCnn {
    /// An encoder from an embedding table indexed by (shifted) character id,
    /// the convolutions in feature order, and the activation.
    pub fn new(
        embedding: Array2<f32>,
        convolutions: Vec<Convolution>,
        activation: Activation,
    ) -> Result<Self> {
        let char_dim = embedding.ncols();
        for conv in &convolutions {
            if conv.kernel.nrows() != conv.width * char_dim {
                return Err(Error::ShapeMismatch {
                    name: format!("convolution kernel of width {}", conv.width),
                    expected: vec![conv.width * char_dim, conv.filters()],
                    actual: conv.kernel.shape().to_vec(),
                });
            }
        }
        Ok(Self {
            embedding,
            convolutions,
            activation,
        })
    }

    /// Width of the output features.
    pub fn out_dim(&self) -> usize {
        self.convolutions.iter().map(Convolution::filters).sum()
    }

    /// Features for each token's row of character ids.
    ///
    /// Every position of the 50-character window is convolved (AllenNLP's
    /// "valid" convolution), so padding characters take part as they do in
    /// the reference.
    pub fn forward(&self, ids: ArrayView2<u16>) -> Result<Array2<f32>> {
        if ids.ncols() != MAX_CHARS {
            return Err(Error::InvalidInput(format!(
                "character ids have {} columns, expected {MAX_CHARS}",
                ids.ncols()
            )));
        }
        let table_rows = self.embedding.nrows();
        if let Some(&bad) = ids.iter().find(|&&id| usize::from(id) >= table_rows) {
            return Err(Error::InvalidInput(format!(
                "character id {bad} is outside the embedding table of {table_rows} rows"
            )));
        }
        let char_dim = self.embedding.ncols();
        let tokens = ids.nrows();
        // Character vectors of every token, `[tokens · 50, char_dim]`.
        let mut chars = Array2::<f32>::zeros((tokens * MAX_CHARS, char_dim));
        for (mut row, &id) in chars.rows_mut().into_iter().zip(ids.iter()) {
            row.assign(&self.embedding.row(usize::from(id)));
        }
        let chars = chars.as_slice().expect("freshly allocated, contiguous");
        // Windows that lie wholly in a token's trailing run of one id (its
        // padding) all hold the same characters, so one of them stands for all.
        let tails: Vec<usize> = ids
            .rows()
            .into_iter()
            .map(|r| trailing_run_start(r.as_slice()))
            .collect();
        let mut out = Array2::zeros((tokens, self.out_dim()));
        let mut column = 0;
        for conv in &self.convolutions {
            let positions = MAX_CHARS - conv.width + 1;
            let window = conv.width * char_dim;
            let used: Vec<usize> = tails.iter().map(|&tail| positions.min(tail + 1)).collect();
            // Each window of `width` characters is a contiguous run of the
            // token's character vectors: lay them out as rows and convolve
            // with one matrix product.
            let mut windows = Array2::<f32>::zeros((used.iter().sum(), window));
            let mut rows = windows.rows_mut().into_iter();
            for (token, &count) in used.iter().enumerate() {
                for (position, mut row) in rows.by_ref().take(count).enumerate() {
                    let first = (token * MAX_CHARS + position) * char_dim;
                    row.as_slice_mut()
                        .expect("row of a standard-layout array")
                        .copy_from_slice(&chars[first..first + window]);
                }
            }
            let convolved = super::matmul::matmul(windows.view(), conv.kernel.view());
            let filters = conv.filters();
            let mut first_row = 0;
            for (mut features, &count) in out.rows_mut().into_iter().zip(&used) {
                let mut best = features.slice_mut(s![column..column + filters]);
                best.fill(f32::NEG_INFINITY);
                for row in convolved.slice(s![first_row..first_row + count, ..]).rows() {
                    best.zip_mut_with(&row, |m, &v| *m = m.max(v));
                }
                best.zip_mut_with(&conv.bias, |m, &b| *m = self.activation.apply(*m + b));
                first_row += count;
            }
            column += filters;
        }
        Ok(out)
    }
}

/// Where the run of equal ids that ends a token begins.
fn trailing_run_start(ids: Option<&[u16]>) -> usize {
    let Some(ids) = ids else { return 0 };
    match ids.last() {
        Some(&last) => ids.iter().rposition(|&id| id != last).map_or(0, |p| p + 1),
        None => 0,
    }
}
