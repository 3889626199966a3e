//! The ELMo biLM: character encoder, highway, projection, and the forward
//! and backward LSTM stacks.

use std::path::Path;

use embed_core::{Error, Result};
use ndarray::{s, Array2, Array3, ArrayView2, ArrayView3, Axis};
use rayon::prelude::*;

use crate::chars::{char_ids_with_boundaries, MAX_CHARS};
use crate::layers::char_cnn::Convolution;
use crate::layers::highway::HighwayLayer;
use crate::layers::{CharCnn, Dense, Highway, LstmCellWithProjection, ScalarMix};
use crate::options::ElmoOptions;
use crate::weights::Hdf5Weights;

/// Rows of bilm-tf's `char_embed`: ids 0..=260 before the +1 shift.
const CHAR_EMBED_ROWS: usize = 261;
/// What bilm-tf adds to the forget gate's pre-activation.
const FORGET_BIAS: f32 = 1.0;

/// A loaded ELMo bidirectional language model.
///
/// It is stateless: every call starts the LSTMs from zero state (AllenNLP's
/// `ElmoLstm` carries the final states of one call into the next; that is not
/// offered here, so the same sentence always gets the same vectors).
#[derive(Debug, Clone)]
pub struct ElmoModel {
    options: ElmoOptions,
    char_cnn: CharCnn,
    highway: Highway,
    projection: Dense,
    forward_layers: Vec<LstmCellWithProjection>,
    backward_layers: Vec<LstmCellWithProjection>,
}

/// The activations of a batch, sentence boundaries included.
#[derive(Debug, Clone, PartialEq)]
pub struct ElmoOutput {
    /// `n_layers + 1` tensors of shape `[sentences, longest + 2, 2 · proj]`:
    /// first the token layer repeated for both directions, then each biLSTM
    /// layer as forward ‖ backward. Index 0 of every sentence is `<S>`, index
    /// `len + 1` is `</S>`; padding rows are zero.
    pub activations: Vec<Array3<f32>>,
    /// `[sentences, longest + 2]`: true where there is a token (boundaries
    /// included).
    pub mask: Array2<bool>,
}

impl ElmoOutput {
    /// The activation views, ready for [`ScalarMix::mix`].
    pub fn layer_views(&self) -> Vec<ArrayView3<'_, f32>> {
        self.activations.iter().map(|a| a.view()).collect()
    }

    /// The scalar mix of the activations over the whole batch, boundaries
    /// included (layer-norm statistics are taken over every unmasked token).
    pub fn mix(&self, mix: &ScalarMix) -> Result<Array3<f32>> {
        mix.mix(&self.layer_views(), self.mask.view())
    }

    /// Number of tokens of each sentence, boundaries included.
    pub fn lengths(&self) -> Vec<usize> {
        self.mask
            .rows()
            .into_iter()
            .map(|r| r.iter().filter(|&&m| m).count())
            .collect()
    }
}

/// Drops `<S>` and `</S>` from a `[sentences, steps, dim]` tensor: each
/// sentence's tokens move to the front, everything else is zero, as
/// AllenNLP's `remove_sentence_boundaries`.
///
/// ```
/// use embed_elmo::model::remove_sentence_boundaries;
/// use ndarray::{array, Array3};
/// let t = Array3::from_shape_fn((1, 4, 1), |(_, i, _)| i as f32);
/// let (inner, mask) = remove_sentence_boundaries(t.view(), array![[true, true, true, false]].view());
/// assert_eq!(inner, Array3::from_shape_vec((1, 2, 1), vec![1.0, 0.0]).unwrap());
/// assert_eq!(mask, array![[true, false]]);
/// ```
pub fn remove_sentence_boundaries(
    tensor: ArrayView3<f32>,
    mask: ArrayView2<bool>,
) -> (Array3<f32>, Array2<bool>) {
    let (sentences, steps, dim) = tensor.dim();
    let inner_steps = steps.saturating_sub(2);
    let mut out = Array3::zeros((sentences, inner_steps, dim));
    let mut out_mask = Array2::from_elem((sentences, inner_steps), false);
    for b in 0..sentences {
        let tokens = mask.row(b).iter().filter(|&&m| m).count().saturating_sub(2);
        out.slice_mut(s![b, ..tokens, ..])
            .assign(&tensor.slice(s![b, 1..1 + tokens, ..]));
        out_mask.slice_mut(s![b, ..tokens]).fill(true);
    }
    (out, out_mask)
}

impl ElmoModel {
    /// Loads `options.json` and `weights.hdf5` as AllenNLP does.
    pub fn load(options: impl AsRef<Path>, weights: impl AsRef<Path>) -> Result<Self> {
        let options = ElmoOptions::from_file(options)?;
        let weights = Hdf5Weights::open(weights)?;
        Self::from_weights(options, &weights)
    }

    /// Builds the model from parsed options and an open weights file; every
    /// tensor's shape is checked against the options.
    pub fn from_weights(options: ElmoOptions, weights: &Hdf5Weights) -> Result<Self> {
        let cnn = &options.char_cnn;
        let char_dim = cnn.embedding.dim;
        let stored = weights.matrix("char_embed", CHAR_EMBED_ROWS, char_dim)?;
        // Id 0 marks padding and gets a zero row; id k reads stored row k − 1.
        let mut embedding = Array2::zeros((CHAR_EMBED_ROWS + 1, char_dim));
        embedding.slice_mut(s![1.., ..]).assign(&stored);

        let mut convolutions = Vec::with_capacity(cnn.filters.len());
        for (i, &(width, count)) in cnn.filters.iter().enumerate() {
            let kernel = weights
                .tensor(&format!("CNN/W_cnn_{i}"), &[1, width, char_dim, count])?
                .into_shape_with_order((width * char_dim, count))
                .map_err(|e| Error::InvalidInput(format!("CNN/W_cnn_{i}: {e}")))?;
            let bias = weights.vector(&format!("CNN/b_cnn_{i}"), count)?;
            convolutions.push(Convolution::new(width, kernel, bias)?);
        }
        let char_cnn = CharCnn::new(embedding, convolutions, cnn.activation)?;

        let n_filters = options.n_filters();
        let mut highway_layers = Vec::with_capacity(cnn.n_highway);
        for k in 0..cnn.n_highway {
            let dense = |w: &str, b: &str| -> Result<Dense> {
                let group = format!("CNN_high_{k}");
                Ok(Dense::new(
                    weights.matrix(&format!("{group}/{w}"), n_filters, n_filters)?,
                    Some(weights.vector(&format!("{group}/{b}"), n_filters)?),
                ))
            };
            highway_layers.push(HighwayLayer {
                transform: dense("W_transform", "b_transform")?,
                carry: dense("W_carry", "b_carry")?,
            });
        }
        let lstm = &options.lstm;
        let proj = lstm.projection_dim;
        let projection = Dense::new(
            weights.matrix("CNN_proj/W_proj", n_filters, proj)?,
            Some(weights.vector("CNN_proj/b_proj", proj)?),
        );

        let load_direction = |direction: usize| -> Result<Vec<LstmCellWithProjection>> {
            (0..lstm.n_layers)
                .map(|layer| {
                    let prefix = format!("RNN_{direction}/RNN/MultiRNNCell/Cell{layer}/LSTMCell");
                    let gates = 4 * lstm.dim;
                    let w = weights.matrix(&format!("{prefix}/W_0"), proj + proj, gates)?;
                    let mut bias = weights.vector(&format!("{prefix}/B"), gates)?;
                    // Gate order i, j, f, o: the third block is the forget gate.
                    bias.slice_mut(s![2 * lstm.dim..3 * lstm.dim])
                        .mapv_inplace(|b| b + FORGET_BIAS);
                    let projection = weights.matrix(&format!("{prefix}/W_P_0"), lstm.dim, proj)?;
                    LstmCellWithProjection::new(
                        w.slice(s![..proj, ..]).to_owned(),
                        w.slice(s![proj.., ..]).to_owned(),
                        bias,
                        projection,
                        lstm.cell_clip,
                        lstm.proj_clip,
                    )
                })
                .collect()
        };
        let forward_layers = load_direction(0)?;
        let backward_layers = load_direction(1)?;
        Ok(Self {
            highway: Highway::new(highway_layers),
            options,
            char_cnn,
            projection,
            forward_layers,
            backward_layers,
        })
    }

    /// The options the model was built from.
    pub fn options(&self) -> &ElmoOptions {
        &self.options
    }

    /// Width of every activation layer (forward ‖ backward).
    pub fn output_dim(&self) -> usize {
        self.options.output_dim()
    }

    /// Number of activation layers: the token layer plus one per biLSTM layer.
    pub fn num_activation_layers(&self) -> usize {
        self.forward_layers.len() + 1
    }

    /// The convolutional part of the character encoder.
    pub fn char_cnn(&self) -> &CharCnn {
        &self.char_cnn
    }

    /// The highway layers.
    pub fn highway(&self) -> &Highway {
        &self.highway
    }

    /// The context-free token vectors, `[tokens, proj]`, for rows of
    /// character ids: convolutions, highway, projection.
    pub fn token_layer(&self, ids: ArrayView2<u16>) -> Result<Array2<f32>> {
        let features = self.char_cnn.forward(ids)?;
        let highway = self.highway.forward(features.view());
        Ok(self.projection.forward(highway.view()))
    }

    /// The token layer of many tokens, in parallel chunks.
    fn token_layer_parallel(&self, ids: ArrayView2<u16>) -> Result<Array2<f32>> {
        // Enough chunks to keep every thread busy, each large enough that the
        // highway's products do not spend their time copying weights, and
        // small enough that the convolution windows of a chunk stay modest.
        let threads = rayon::current_num_threads().max(1);
        let chunk = ids.nrows().div_ceil(threads).clamp(64, 512);
        let chunks: Vec<Array2<f32>> = (0..ids.nrows().div_ceil(chunk))
            .into_par_iter()
            .map(|c| {
                let end = ids.nrows().min((c + 1) * chunk);
                self.token_layer(ids.slice(s![c * chunk..end, ..]))
            })
            .collect::<Result<_>>()?;
        let views: Vec<_> = chunks.iter().map(|c| c.view()).collect();
        if views.is_empty() {
            return Ok(Array2::zeros((0, self.options.lstm.projection_dim)));
        }
        ndarray::concatenate(Axis(0), &views)
            .map_err(|e| Error::InvalidInput(format!("token layer chunks: {e}")))
    }

    /// The activations of sentences packed one after another: `ids` holds
    /// `lengths[0]` rows of character ids for the first sentence (`<S>` and
    /// `</S>` included), then the next sentence's, and so on. Returns
    /// `n_layers + 1` arrays of `[Σ lengths, 2 · proj]` in the same order.
    pub fn packed_activations(
        &self,
        ids: ArrayView2<u16>,
        lengths: &[usize],
    ) -> Result<Vec<Array2<f32>>> {
        if lengths.iter().sum::<usize>() != ids.nrows() {
            return Err(Error::InvalidInput(format!(
                "sentence lengths add up to {}, but there are {} rows of character ids",
                lengths.iter().sum::<usize>(),
                ids.nrows()
            )));
        }
        let tokens = self.token_layer_parallel(ids)?;
        let mut activations = Vec::with_capacity(self.num_activation_layers());
        activations.push(ndarray::concatenate![Axis(1), tokens, tokens]);
        let skip = self.options.lstm.use_skip_connections;
        let mut forward_input = tokens.clone();
        let mut backward_input = tokens;
        for (layer, (fwd, bwd)) in self
            .forward_layers
            .iter()
            .zip(&self.backward_layers)
            .enumerate()
        {
            let (mut forward, mut backward) = rayon::join(
                || fwd.run_packed(forward_input.view(), lengths, false),
                || bwd.run_packed(backward_input.view(), lengths, true),
            );
            if skip && layer > 0 {
                forward += &forward_input;
                backward += &backward_input;
            }
            activations.push(ndarray::concatenate![Axis(1), forward, backward]);
            forward_input = forward;
            backward_input = backward;
        }
        Ok(activations)
    }

    /// The activations of one sentence whose character ids already include
    /// `<S>` and `</S>`: `n_layers + 1` arrays of `[tokens, 2 · proj]`.
    pub fn sentence_activations(&self, ids: ArrayView2<u16>) -> Result<Vec<Array2<f32>>> {
        self.packed_activations(ids, &[ids.nrows()])
    }

    /// Runs a batch of tokenized sentences, adding `<S>` and `</S>` to each.
    /// The LSTMs step through all sentences together and the two directions
    /// run in parallel.
    ///
    /// An empty sentence still gets its two boundary tokens; an empty batch
    /// gives tensors of shape `[0, 0, dim]`.
    pub fn forward<S, T>(&self, batch: &[S]) -> Result<ElmoOutput>
    where
        S: AsRef<[T]> + Sync,
        T: AsRef<str>,
    {
        let lengths: Vec<usize> = batch.iter().map(|s| s.as_ref().len() + 2).collect();
        let mut ids = Array2::zeros((lengths.iter().sum(), MAX_CHARS));
        let mut start = 0;
        for (sentence, &len) in batch.iter().zip(&lengths) {
            ids.slice_mut(s![start..start + len, ..])
                .assign(&char_ids_with_boundaries(sentence.as_ref()));
            start += len;
        }
        let packed = self.packed_activations(ids.view(), &lengths)?;
        let steps = lengths.iter().copied().max().unwrap_or(0);
        let dim = self.output_dim();
        let mut activations =
            vec![Array3::zeros((batch.len(), steps, dim)); self.num_activation_layers()];
        let mut mask = Array2::from_elem((batch.len(), steps), false);
        let mut start = 0;
        for (b, &len) in lengths.iter().enumerate() {
            mask.slice_mut(s![b, ..len]).fill(true);
            for (all, one) in activations.iter_mut().zip(&packed) {
                all.slice_mut(s![b, ..len, ..])
                    .assign(&one.slice(s![start..start + len, ..]));
            }
            start += len;
        }
        Ok(ElmoOutput { activations, mask })
    }
}
