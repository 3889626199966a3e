//! The bidirectional language model ELMo is trained as.

use std::collections::BTreeMap;
use std::ops::Range;

use embed_core::nn::dropout::Dropout;
use embed_core::nn::lstm::LstmState;
use embed_core::nn::sampled_softmax::{LogUniformSampler, SampledIds};
use embed_core::params::{GradientStore, ParameterStore};
use embed_core::{seed, Error, Result};
use ndarray::{s, Array2, Array3, ArrayD};
use rayon::prelude::*;

use super::batch::{BiLmBatch, BiLmState, LossStats, SoftmaxMode};
use super::config::BiLmConfig;
use super::network::{
    backward_direction, direction_loss, forward_direction, init_params, names, ChunkStream,
    DirectionForward, DropoutPlan, Net, NetGrads, Scoring,
};
use crate::chars::MAX_CHARS;
use crate::writer::ElmoWeights;

/// The seed stream the sampled softmax draws from (one more per direction).
const SAMPLE_STREAM: u64 = 1 << 60;

/// A bidirectional language model with a character encoder: bilm-tf's
/// network, trained here and saved in its layout.
///
/// ```text
/// char-CNN → highway → projection          (the token layer, shared)
///   → forward LSTM stack  → softmax         (the forward LM)
///   → backward LSTM stack → softmax         (the backward LM, same softmax)
/// ```
///
/// Each LSTM stack has `n_layers` layers with cell and projection clipping;
/// from the second layer on, a layer's input is added to its output.
/// Dropout (bilm-tf's `DropoutWrapper`) drops each layer's input (the
/// residual adds the dropped input) and the top layer's output before the
/// softmax.
///
/// # Windows, directions and state
///
/// Training is truncated back-propagation through time over windows of
/// [`BiLmBatch::unroll`] steps, as bilm-tf does: the two directions read two
/// streams (the text and the text reversed, see [`BiLmBatch`]), each
/// direction's LSTMs run forward in time over their own stream, start from
/// the state the previous window ended in ([`BiLmState`], updated in place)
/// and send no gradient back into it. The backward LM run over a reversed
/// sentence is exactly the inference model's backward LSTM run from the
/// sentence's last token to its first.
///
/// # Loss and gradients
///
/// [`BiLm::forward_backward`] adds to `grads` the gradient of the mean
/// negative log-likelihood per counted target, both directions together
/// (bilm-tf's `0.5 · (forward mean + backward mean)` when both directions
/// count the same number of targets), and returns the summed losses.
///
/// # Threads and determinism
///
/// The two directions are independent until their gradients meet: each
/// runs as its own task, and with more than two threads in the current
/// rayon pool the batch rows are split into `threads / 2` chunks per
/// direction. The tasks' gradients are added in a fixed order. Dropout masks
/// come from one generator per batch row and the softmax samples from one
/// per direction, all derived from the `seed` argument, so a given seed
/// gives the same result bit for bit on one thread, and the same on two
/// (the tasks are the same); more threads change only the order of
/// floating-point sums.
///
/// # Parameters
///
/// Parameters are named as bilm-tf's datasets (`char_embed`,
/// `CNN/W_cnn_0`, `RNN_0/RNN/MultiRNNCell/Cell0/LSTMCell/W_0`, …, and
/// `softmax/W`, `softmax/b`), with bilm-tf's shapes and without the forget
/// gate's +1 in `B`; [`BiLm::inference_tensors`] is the parameter store
/// without the softmax.
///
/// ```
/// use embed_core::params::GradientStore;
/// use embed_elmo::train::{BiLm, BiLmBatch, BiLmConfig, BiLmState, SoftmaxMode};
/// let config = BiLmConfig {
///     char_filters: vec![(1, 4), (2, 4)], char_embed_dim: 4, n_highway: 1,
///     projection_dim: 8, lstm_dim: 16, lstm_proj_dim: 8, n_layers: 2,
///     ..BiLmConfig::small(20)
/// };
/// let model = BiLm::init(config.clone(), 7)?;
/// let mut batch = BiLmBatch::zeros(2, 3);
/// batch.char_ids.iter_mut().for_each(|c| *c = 261); // padding characters
/// batch.backward_char_ids.iter_mut().for_each(|c| *c = 261);
/// batch.mask.fill(1);
/// batch.backward_mask.fill(1);
/// let mut state = BiLmState::zeros(&config, 2);
/// let mut grads = GradientStore::zeros_like(model.params());
/// let stats = model.forward_backward(&batch, &mut state, SoftmaxMode::Full, 1, &mut grads)?;
/// assert_eq!(stats.tokens, 12);
/// assert!(stats.perplexity() > 1.0);
/// assert!(grads.global_norm() > 0.0);
/// # Ok::<(), embed_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct BiLm {
    config: BiLmConfig,
    params: ParameterStore,
}

/// Every layer's output for a window, without dropout.
#[derive(Debug, Clone, PartialEq)]
pub struct BiLmActivations {
    /// Forward direction: the token layer, then each LSTM layer (residual
    /// included), each `[batch, unroll, dim]` in the forward stream's order.
    pub forward: Vec<Array3<f32>>,
    /// Backward direction, the same in the backward stream's order.
    pub backward: Vec<Array3<f32>>,
}

/// What one direction of one chunk of rows returns.
struct ItemResult {
    nll: f64,
    count: usize,
    finals: Vec<LstmState>,
    grads: Option<NetGrads>,
}

/// How a window is run.
#[derive(Clone, Copy)]
enum Pass {
    Train { softmax: SoftmaxMode, seed: u64 },
    Evaluate,
}

impl BiLm {
    /// A fresh model, initialised as bilm-tf does, from `seed`.
    pub fn init(config: BiLmConfig, seed: u64) -> Result<Self> {
        config.validate()?;
        let params = init_params(&config, seed)?;
        Ok(BiLm { config, params })
    }

    /// A model from saved parameters (a checkpoint); every parameter the
    /// configuration needs must be there with its shape.
    pub fn from_params(config: BiLmConfig, params: ParameterStore) -> Result<Self> {
        config.validate()?;
        Net::new(&config, &params)?;
        Ok(BiLm { config, params })
    }

    /// The configuration.
    pub fn config(&self) -> &BiLmConfig {
        &self.config
    }

    /// The parameters, by bilm-tf dataset name.
    pub fn params(&self) -> &ParameterStore {
        &self.params
    }

    /// The parameters, for an optimizer step.
    pub fn params_mut(&mut self) -> &mut ParameterStore {
        &mut self.params
    }

    /// One training step's forward and backward pass over a window: adds
    /// the gradient of the mean loss per counted target to `grads`,
    /// advances `state` to the end of the window, and returns the summed
    /// losses. `seed` fixes the dropout masks and the softmax samples.
    ///
    /// A non-finite loss is [`Error::Diverged`] (with epoch 0: the caller
    /// knows the epoch), and then neither `grads` nor `state` is changed.
    pub fn forward_backward(
        &self,
        batch: &BiLmBatch,
        state: &mut BiLmState,
        softmax: SoftmaxMode,
        seed: u64,
        grads: &mut GradientStore,
    ) -> Result<LossStats> {
        self.run(batch, state, Pass::Train { softmax, seed }, Some(grads))
    }

    /// The full-softmax negative log-likelihood of a window without dropout;
    /// advances `state` to the end of the window.
    pub fn evaluate(&self, batch: &BiLmBatch, state: &mut BiLmState) -> Result<LossStats> {
        self.run(batch, state, Pass::Evaluate, None)
    }

    /// Every layer's output for a window without dropout (no loss); advances
    /// `state` to the end of the window.
    pub fn activations(&self, batch: &BiLmBatch, state: &mut BiLmState) -> Result<BiLmActivations> {
        batch.validate(self.config.vocab_size)?;
        state.check(&self.config, batch.batch)?;
        let net = Net::new(&self.config, &self.params)?;
        let rows = 0..batch.batch;
        let mut out = Vec::with_capacity(2);
        for direction in 0..2 {
            let stream = chunk_stream(batch, direction, rows.clone(), 0.0);
            let initial = state_rows(&state.direction_mut(direction)[..], rows.clone());
            let forward = forward_direction(&net, &self.config, direction, &stream, initial, None)?;
            let mut layers = vec![batch_major(&forward.tokens, batch.batch, batch.unroll)];
            for layer in &forward.layers {
                layers.push(batch_major(&layer.output, batch.batch, batch.unroll));
            }
            *state.direction_mut(direction) = forward.final_states();
            out.push(layers);
        }
        let backward = out.pop().unwrap_or_default();
        let forward = out.pop().unwrap_or_default();
        Ok(BiLmActivations { forward, backward })
    }

    /// The datasets of `weights.hdf5` (everything but the softmax), by
    /// bilm-tf path, in bilm-tf's convention (`char_embed` `[261, dim]`,
    /// LSTM biases without the forget gate's +1).
    pub fn inference_tensors(&self) -> BTreeMap<String, ArrayD<f32>> {
        self.params
            .iter()
            .filter(|(name, _)| *name != names::SOFTMAX_WEIGHT && *name != names::SOFTMAX_BIAS)
            .map(|(name, tensor)| (name.to_string(), tensor.clone()))
            .collect()
    }

    /// The weights and options an inference model needs, ready for
    /// [`ElmoWeights::save`] (which writes `options.json` and
    /// `weights.hdf5` as AllenNLP reads them).
    pub fn to_inference_weights(&self) -> Result<ElmoWeights> {
        ElmoWeights::from_tensors(self.config.to_options(), self.inference_tensors())
    }

    fn run(
        &self,
        batch: &BiLmBatch,
        state: &mut BiLmState,
        pass: Pass,
        grads: Option<&mut GradientStore>,
    ) -> Result<LossStats> {
        batch.validate(self.config.vocab_size)?;
        state.check(&self.config, batch.batch)?;
        let net = Net::new(&self.config, &self.params)?;
        let tokens = batch.tokens();
        let scale = if tokens > 0 { 1.0 / tokens as f32 } else { 0.0 };
        let dropout = Dropout::new(self.config.dropout)?;
        let sampler;
        let mut samples: Vec<SampledIds> = Vec::new();
        if let Pass::Train {
            softmax: SoftmaxMode::Sampled { samples: count },
            seed,
        } = pass
        {
            sampler = Some(LogUniformSampler::new(self.config.vocab_size)?);
            for direction in 0..2u64 {
                let mut rng = seed::rng(seed, SAMPLE_STREAM + direction);
                samples.push(
                    sampler
                        .as_ref()
                        .expect("set above")
                        .sample_unique(count, &mut rng)?,
                );
            }
        } else {
            sampler = None;
        }
        let scoring = |direction: usize| match &sampler {
            Some(sampler) => Scoring::Sampled {
                sampler,
                sample: &samples[direction],
            },
            None => Scoring::Full,
        };
        let want_grads = grads.is_some();
        // Work items: each direction of each chunk of rows. The two
        // directions are independent, so two threads take one each; more
        // threads split the rows too.
        let chunks = (rayon::current_num_threads() / 2).clamp(1, batch.batch.max(1));
        let chunk = batch.batch.div_ceil(chunks).max(1);
        let items: Vec<(usize, Range<usize>)> = (0..2)
            .flat_map(|direction| {
                (0..batch.batch)
                    .step_by(chunk)
                    .map(move |start| (direction, start..(start + chunk).min(batch.batch)))
            })
            .collect();
        let state_ref = &*state;
        let run_item = |(direction, rows): &(usize, Range<usize>)| -> Result<ItemResult> {
            let direction = *direction;
            let mut item_grads = want_grads.then(|| NetGrads::zeros(&net, sampler.is_some()));
            let stream = chunk_stream(batch, direction, rows.clone(), scale);
            let layers = if direction == 0 {
                &state_ref.forward
            } else {
                &state_ref.backward
            };
            let initial = state_rows(layers, rows.clone());
            let plan = match pass {
                Pass::Train { seed, .. } => Some(DropoutPlan {
                    dropout,
                    seed,
                    direction,
                }),
                Pass::Evaluate => None,
            };
            let forward: DirectionForward =
                forward_direction(&net, &self.config, direction, &stream, initial, plan)?;
            let loss = direction_loss(
                &net,
                &forward,
                &stream,
                &scoring(direction),
                item_grads.as_mut(),
            )?;
            if let (Some(g), Some(d_top)) = (item_grads.as_mut(), loss.d_hidden) {
                backward_direction(&net, &self.config, direction, &forward, d_top, g)?;
            }
            Ok(ItemResult {
                nll: loss.nll_sum,
                count: loss.count,
                finals: forward.final_states(),
                grads: item_grads,
            })
        };
        let results: Vec<ItemResult> = if rayon::current_num_threads() > 1 {
            items.par_iter().map(run_item).collect::<Result<_>>()?
        } else {
            items.iter().map(run_item).collect::<Result<_>>()?
        };

        let mut stats = LossStats::default();
        for ((direction, _), r) in items.iter().zip(&results) {
            if *direction == 0 {
                stats.forward_nll += r.nll;
                stats.forward_tokens += r.count;
            } else {
                stats.backward_nll += r.nll;
                stats.backward_tokens += r.count;
            }
        }
        stats.tokens = stats.forward_tokens + stats.backward_tokens;
        let total = stats.forward_nll + stats.backward_nll;
        if !total.is_finite() {
            return Err(Error::Diverged {
                epoch: 0,
                loss: total,
                hint: "the language model's loss is not finite; lower the learning rate or clip gradients".into(),
            });
        }
        let mut merged: Option<NetGrads> = None;
        for ((direction, rows), result) in items.iter().zip(results) {
            let layers = state.direction_mut(*direction);
            for (layer, final_state) in layers.iter_mut().zip(result.finals) {
                layer
                    .h
                    .slice_mut(s![rows.clone(), ..])
                    .assign(&final_state.h);
                layer
                    .c
                    .slice_mut(s![rows.clone(), ..])
                    .assign(&final_state.c);
            }
            if let Some(g) = result.grads {
                match merged.as_mut() {
                    Some(m) => m.add(&g)?,
                    None => merged = Some(g),
                }
            }
        }
        if let (Some(store), Some(g)) = (grads, merged) {
            g.accumulate_into(&self.config, store)?;
        }
        Ok(stats)
    }
}

/// The rows `rows` of `direction`'s stream, time-major, with loss weight
/// `scale` on counted targets.
fn chunk_stream(
    batch: &BiLmBatch,
    direction: usize,
    rows: Range<usize>,
    scale: f32,
) -> ChunkStream {
    let (ids, targets, mask) = if direction == 0 {
        (&batch.char_ids, &batch.forward_targets, &batch.mask)
    } else {
        (
            &batch.backward_char_ids,
            &batch.backward_targets,
            &batch.backward_mask,
        )
    };
    let n = rows.len();
    let steps = batch.unroll;
    let mut stream = ChunkStream {
        ids: Vec::with_capacity(steps * n * MAX_CHARS),
        targets: Vec::with_capacity(steps * n),
        weights: Vec::with_capacity(steps * n),
        first_row: rows.start,
        rows: n,
        steps,
    };
    for t in 0..steps {
        for b in rows.clone() {
            let at = b * steps + t;
            stream
                .ids
                .extend_from_slice(&ids[at * MAX_CHARS..(at + 1) * MAX_CHARS]);
            stream.targets.push(targets[at]);
            stream.weights.push(if mask[at] != 0 { scale } else { 0.0 });
        }
    }
    stream
}

/// Rows `rows` of every layer's state.
fn state_rows(layers: &[LstmState], rows: Range<usize>) -> Vec<LstmState> {
    layers
        .iter()
        .map(|l| LstmState {
            h: l.h.slice(s![rows.clone(), ..]).to_owned(),
            c: l.c.slice(s![rows.clone(), ..]).to_owned(),
        })
        .collect()
}

/// A time-major `[steps · batch, dim]` array as `[batch, steps, dim]`.
fn batch_major(x: &Array2<f32>, batch: usize, steps: usize) -> Array3<f32> {
    let dim = x.ncols();
    Array3::from_shape_fn((batch, steps, dim), |(b, t, k)| x[[t * batch + b, k]])
}
