//! The BERT encoder: embeddings, a stack of Transformer layers, the pooler,
//! and the masked-language-model head.
//!
//! ```text
//! ids, types ─► word + position + type embeddings ─► LayerNorm ─► h₀
//! hₗ ─► [ self-attention (padding mask) ─► dense ─► +hₗ ─► LayerNorm
//!       ─► dense ─► GELU ─► dense ─► + ─► LayerNorm ] ─► hₗ₊₁      × N
//! h_N[CLS] ─► dense ─► tanh ─► pooler output
//! ```
//!
//! A batch is computed as one `[batch·length, hidden]` matrix, so every
//! dense layer is one matrix product; attention runs in parallel over
//! sequences and heads. Padded positions are computed as Hugging Face does
//! (they attend to the real tokens), so all hidden states match.

use std::cell::RefCell;
use std::path::Path;

use embed_core::params::ParameterStore;
use embed_core::{Error, Result};
use ndarray::{s, Array1, Array2, Array3, ArrayView2, ArrayViewMut2, Axis, Ix1, Ix2};
use rayon::prelude::*;

use crate::config::BertConfig;
use crate::layers::{attention_head, Activation, LayerNorm, Linear, Threads};
use crate::tokenizer::PaddedBatch;
use crate::weights::read_safetensors;

/// Takes a 2-D tensor, checking its shape; errors name the tensor.
fn matrix(store: &ParameterStore, name: &str, shape: [usize; 2]) -> Result<Array2<f32>> {
    let view = store.get_checked(name, &shape)?;
    Ok(view
        .into_dimensionality::<Ix2>()
        .map_err(|_| shape_error(name, &shape, &[]))?
        .to_owned())
}

/// Takes a 1-D tensor, checking its shape.
fn vector(store: &ParameterStore, name: &str, len: usize) -> Result<Array1<f32>> {
    let view = store.get_checked(name, &[len])?;
    Ok(view
        .into_dimensionality::<Ix1>()
        .map_err(|_| shape_error(name, &[len], &[]))?
        .to_owned())
}

fn shape_error(name: &str, expected: &[usize], actual: &[usize]) -> Error {
    Error::ShapeMismatch {
        name: name.to_string(),
        expected: expected.to_vec(),
        actual: actual.to_vec(),
    }
}

/// A dense layer stored under `prefix.weight` (`[outputs, inputs]`) and
/// `prefix.bias`.
fn linear(store: &ParameterStore, prefix: &str, inputs: usize, outputs: usize) -> Result<Linear> {
    let weight = matrix(store, &format!("{prefix}.weight"), [outputs, inputs])?;
    let bias = vector(store, &format!("{prefix}.bias"), outputs)?;
    Ok(Linear::from_torch(weight.view(), bias))
}

/// A layer norm stored under `prefix.weight` and `prefix.bias`.
fn layer_norm(store: &ParameterStore, prefix: &str, width: usize, eps: f64) -> Result<LayerNorm> {
    Ok(LayerNorm {
        weight: vector(store, &format!("{prefix}.weight"), width)?,
        bias: vector(store, &format!("{prefix}.bias"), width)?,
        eps: eps as f32,
    })
}

/// Word, position and token-type embeddings followed by a layer norm.
#[derive(Debug, Clone)]
pub struct Embeddings {
    /// `[vocab, hidden]`.
    pub word: Array2<f32>,
    /// `[max_positions, hidden]`.
    pub position: Array2<f32>,
    /// `[type_vocab, hidden]`.
    pub token_type: Array2<f32>,
    /// Normalises the sum.
    pub layer_norm: LayerNorm,
}

impl Embeddings {
    fn load(store: &ParameterStore, c: &BertConfig) -> Result<Self> {
        let h = c.hidden_size;
        Ok(Embeddings {
            word: matrix(
                store,
                "embeddings.word_embeddings.weight",
                [c.vocab_size, h],
            )?,
            position: matrix(
                store,
                "embeddings.position_embeddings.weight",
                [c.max_position_embeddings, h],
            )?,
            token_type: matrix(
                store,
                "embeddings.token_type_embeddings.weight",
                [c.type_vocab_size, h],
            )?,
            layer_norm: layer_norm(store, "embeddings.LayerNorm", h, c.layer_norm_eps)?,
        })
    }

    /// Writes the embeddings of a (validated) batch into `out`
    /// (`[batch·length, hidden]`).
    pub fn forward_into(&self, batch: &PaddedBatch, mut out: ArrayViewMut2<'_, f32>) {
        let t_len = batch.seq_len();
        for (row, mut target) in out.rows_mut().into_iter().enumerate() {
            let (b, t) = (row / t_len, row % t_len);
            let word = self.word.row(batch.input_ids[(b, t)] as usize);
            let typ = self.token_type.row(batch.token_type_ids[(b, t)] as usize);
            let pos = self.position.row(t);
            ndarray::Zip::from(&mut target)
                .and(&word)
                .and(&typ)
                .and(&pos)
                .for_each(|o, &w, &ty, &p| *o = w + ty + p);
        }
        self.layer_norm.forward_inplace(out);
    }
}

/// Multi-head self-attention with its output projection, residual and
/// layer norm.
#[derive(Debug, Clone)]
pub struct SelfAttention {
    /// Query, key and value projections side by side: `[hidden, 3·hidden]`.
    pub qkv: Linear,
    /// Output projection.
    pub output: Linear,
    /// Normalises `input + attention output`.
    pub layer_norm: LayerNorm,
    /// Number of heads.
    pub heads: usize,
}

thread_local! {
    /// Attention-score scratch, one per worker thread.
    static SCORES: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

impl SelfAttention {
    fn load(store: &ParameterStore, prefix: &str, c: &BertConfig) -> Result<Self> {
        let h = c.hidden_size;
        let q = linear(store, &format!("{prefix}.self.query"), h, h)?;
        let k = linear(store, &format!("{prefix}.self.key"), h, h)?;
        let v = linear(store, &format!("{prefix}.self.value"), h, h)?;
        let qkv = Linear::new(
            ndarray::concatenate(Axis(1), &[q.weight(), k.weight(), v.weight()])
                .expect("equal heights"),
            ndarray::concatenate(Axis(0), &[q.bias(), k.bias(), v.bias()]).expect("1-D"),
        );
        Ok(SelfAttention {
            qkv,
            output: linear(store, &format!("{prefix}.output.dense"), h, h)?,
            layer_norm: layer_norm(
                store,
                &format!("{prefix}.output.LayerNorm"),
                h,
                c.layer_norm_eps,
            )?,
            heads: c.num_attention_heads,
        })
    }

    /// Attention of every sequence and head: reads `qkv`
    /// (`[batch·length, 3·hidden]`), writes the concatenated heads into
    /// `context` (`[batch·length, hidden]`).
    pub fn attend(
        &self,
        qkv: ArrayView2<'_, f32>,
        key_mask: ArrayView2<'_, bool>,
        context: ArrayViewMut2<'_, f32>,
    ) {
        self.attend_on(qkv, key_mask, context, Threads::Pool);
    }

    /// [`SelfAttention::attend`] on the pool (across sequences and heads)
    /// or on the calling thread.
    pub(crate) fn attend_on(
        &self,
        qkv: ArrayView2<'_, f32>,
        key_mask: ArrayView2<'_, bool>,
        mut context: ArrayViewMut2<'_, f32>,
        threads: Threads,
    ) {
        let t_len = key_mask.ncols();
        let hidden = context.ncols();
        let d = hidden / self.heads;
        let head = |b: usize, mask: &[bool], (head, out): (usize, ArrayViewMut2<'_, f32>)| {
            let rows = qkv.slice(s![b * t_len..(b + 1) * t_len, ..]);
            let col = head * d;
            let q = rows.slice(s![.., col..col + d]);
            let k = rows.slice(s![.., hidden + col..hidden + col + d]);
            let v = rows.slice(s![.., 2 * hidden + col..2 * hidden + col + d]);
            SCORES.with(|scores| {
                let mut scores = scores.borrow_mut();
                scores.resize(t_len * t_len, 0.0);
                let scores = ArrayViewMut2::from_shape((t_len, t_len), &mut scores[..])
                    .expect("scratch sized to t×t");
                attention_head(q, k, v, mask, scores, out);
            });
        };
        match threads {
            Threads::Pool => context
                .axis_chunks_iter_mut(Axis(0), t_len)
                .into_par_iter()
                .zip(key_mask.axis_iter(Axis(0)).into_par_iter())
                .enumerate()
                .for_each(|(b, (mut seq_context, mask))| {
                    let mask = mask.as_slice().expect("mask rows are contiguous");
                    seq_context
                        .axis_chunks_iter_mut(Axis(1), d)
                        .into_par_iter()
                        .enumerate()
                        .for_each(|job| head(b, mask, job));
                }),
            Threads::Caller => {
                let sequences = context.axis_chunks_iter_mut(Axis(0), t_len);
                for (b, (mut seq_context, mask)) in
                    sequences.zip(key_mask.axis_iter(Axis(0))).enumerate()
                {
                    let mask = mask.as_slice().expect("mask rows are contiguous");
                    for job in seq_context.axis_chunks_iter_mut(Axis(1), d).enumerate() {
                        head(b, mask, job);
                    }
                }
            }
        }
    }
}

/// The position-wise feed-forward block with residual and layer norm.
#[derive(Debug, Clone)]
pub struct FeedForward {
    /// `hidden → intermediate`.
    pub intermediate: Linear,
    /// `intermediate → hidden`.
    pub output: Linear,
    /// Normalises `input + output`.
    pub layer_norm: LayerNorm,
    /// Between the two dense layers.
    pub activation: Activation,
}

impl FeedForward {
    fn load(store: &ParameterStore, prefix: &str, c: &BertConfig) -> Result<Self> {
        let (h, i) = (c.hidden_size, c.intermediate_size);
        Ok(FeedForward {
            intermediate: linear(store, &format!("{prefix}.intermediate.dense"), h, i)?,
            output: linear(store, &format!("{prefix}.output.dense"), i, h)?,
            layer_norm: layer_norm(
                store,
                &format!("{prefix}.output.LayerNorm"),
                h,
                c.layer_norm_eps,
            )?,
            activation: c.activation()?,
        })
    }
}

/// Buffers of one forward pass, reused by every layer.
struct Workspace {
    qkv: Array2<f32>,
    context: Array2<f32>,
    intermediate: Array2<f32>,
    residual: Array2<f32>,
}

impl Workspace {
    fn new(tokens: usize, c: &BertConfig) -> Self {
        Workspace {
            qkv: Array2::zeros((tokens, 3 * c.hidden_size)),
            context: Array2::zeros((tokens, c.hidden_size)),
            intermediate: Array2::zeros((tokens, c.intermediate_size)),
            residual: Array2::zeros((tokens, c.hidden_size)),
        }
    }
}

/// One Transformer encoder layer.
#[derive(Debug, Clone)]
pub struct EncoderLayer {
    /// Self-attention sub-block.
    pub attention: SelfAttention,
    /// Feed-forward sub-block.
    pub feed_forward: FeedForward,
}

impl EncoderLayer {
    fn load(store: &ParameterStore, index: usize, c: &BertConfig) -> Result<Self> {
        let prefix = format!("encoder.layer.{index}");
        Ok(EncoderLayer {
            attention: SelfAttention::load(store, &format!("{prefix}.attention"), c)?,
            feed_forward: FeedForward::load(store, &prefix, c)?,
        })
    }

    /// Updates `hidden` (`[batch·length, hidden]`, rows grouped by
    /// sequence) in place; `key_mask` is `[batch, length]`, `false` on
    /// padding.
    pub fn forward(&self, hidden: &mut Array2<f32>, key_mask: ArrayView2<'_, bool>) {
        let tokens = hidden.nrows();
        let mut ws = Workspace {
            qkv: Array2::zeros((tokens, self.attention.qkv.outputs())),
            context: Array2::zeros((tokens, self.attention.output.inputs())),
            intermediate: Array2::zeros((tokens, self.feed_forward.intermediate.outputs())),
            residual: Array2::zeros((tokens, self.attention.output.outputs())),
        };
        self.forward_with(hidden, key_mask, &mut ws, Threads::Pool);
    }

    /// [`EncoderLayer::forward`] with buffers reused across layers.
    fn forward_with(
        &self,
        hidden: &mut Array2<f32>,
        key_mask: ArrayView2<'_, bool>,
        ws: &mut Workspace,
        threads: Threads,
    ) {
        let att = &self.attention;
        att.qkv
            .forward_into_on(hidden.view(), ws.qkv.view_mut(), false, threads);
        att.attend_on(ws.qkv.view(), key_mask, ws.context.view_mut(), threads);
        att.output.forward_residual_into_on(
            ws.context.view(),
            hidden.view(),
            ws.residual.view_mut(),
            threads,
        );
        att.layer_norm
            .forward_inplace_on(ws.residual.view_mut(), threads);
        std::mem::swap(hidden, &mut ws.residual);

        let ff = &self.feed_forward;
        ff.intermediate.forward_activated_into_on(
            hidden.view(),
            ws.intermediate.view_mut(),
            ff.activation,
            threads,
        );
        ff.output.forward_residual_into_on(
            ws.intermediate.view(),
            hidden.view(),
            ws.residual.view_mut(),
            threads,
        );
        ff.layer_norm
            .forward_inplace_on(ws.residual.view_mut(), threads);
        std::mem::swap(hidden, &mut ws.residual);
    }
}

/// What a forward pass returns.
#[derive(Debug, Clone)]
pub struct BertOutput {
    /// `[batch, length, hidden]` output of the last layer.
    pub last_hidden_state: Array3<f32>,
    /// When asked for: the embedding output then every layer's output,
    /// `num_hidden_layers + 1` arrays of `[batch, length, hidden]`.
    pub hidden_states: Vec<Array3<f32>>,
    /// `tanh(dense(h[CLS]))`, `[batch, hidden]`, when the checkpoint has a
    /// pooler.
    pub pooler_output: Option<Array2<f32>>,
}

/// A BERT encoder with weights loaded from a Hugging Face checkpoint.
#[derive(Debug, Clone)]
pub struct BertModel {
    config: BertConfig,
    /// Input embeddings.
    pub embeddings: Embeddings,
    /// The encoder stack.
    pub layers: Vec<EncoderLayer>,
    /// The `[CLS]` pooler, if the checkpoint has one.
    pub pooler: Option<Linear>,
}

impl BertModel {
    /// Loads `config.json` and `model.safetensors` from a model directory.
    pub fn load(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref();
        let config = BertConfig::from_file(dir.join("config.json"))?;
        let store = read_safetensors(dir.join("model.safetensors"))?;
        Self::from_store(config, &store)
    }

    /// Builds the model from named tensors (Hugging Face names, without a
    /// `bert.` prefix). Missing or mis-shaped tensors are errors naming
    /// them; a pooler is loaded when its weights are present.
    pub fn from_store(config: BertConfig, store: &ParameterStore) -> Result<Self> {
        config.validate()?;
        let embeddings = Embeddings::load(store, &config)?;
        let layers = (0..config.num_hidden_layers)
            .map(|i| EncoderLayer::load(store, i, &config))
            .collect::<Result<Vec<_>>>()?;
        let pooler = if store.contains("pooler.dense.weight") {
            let h = config.hidden_size;
            Some(linear(store, "pooler.dense", h, h)?)
        } else {
            None
        };
        Ok(BertModel {
            config,
            embeddings,
            layers,
            pooler,
        })
    }

    /// The architecture.
    pub fn config(&self) -> &BertConfig {
        &self.config
    }

    /// Checks that a batch fits the model: consistent shapes, ids inside
    /// the vocabulary and type tables, length within the position table.
    pub fn check_batch(&self, batch: &PaddedBatch) -> Result<()> {
        let shape = batch.input_ids.dim();
        if batch.token_type_ids.dim() != shape || batch.attention_mask.dim() != shape {
            return Err(Error::InvalidInput(format!(
                "input_ids {:?}, token_type_ids {:?} and attention_mask {:?} differ in shape",
                shape,
                batch.token_type_ids.dim(),
                batch.attention_mask.dim()
            )));
        }
        let c = &self.config;
        if shape.1 > c.max_position_embeddings {
            return Err(Error::InvalidInput(format!(
                "sequence length {} exceeds the model's {} positions (truncate with max_length)",
                shape.1, c.max_position_embeddings
            )));
        }
        c.check_ids(batch.input_ids.iter(), batch.token_type_ids.iter())?;
        Ok(())
    }

    /// Runs the encoder on a padded batch, in the current rayon pool.
    /// With `all_hidden_states`, every layer's output is kept.
    pub fn forward(&self, batch: &PaddedBatch, all_hidden_states: bool) -> Result<BertOutput> {
        self.check_batch(batch)?;
        let (b, t) = batch.input_ids.dim();
        let h = self.config.hidden_size;
        let to_3d = |m: &Array2<f32>| {
            m.clone()
                .into_shape_with_order((b, t, h))
                .expect("rows are batch·length")
        };
        let mut hidden = Array2::zeros((b * t, h));
        self.embeddings.forward_into(batch, hidden.view_mut());
        let mut hidden_states = Vec::new();
        if all_hidden_states {
            hidden_states.push(to_3d(&hidden));
        }
        let key_mask = batch.attention_mask.mapv(|m| m != 0);
        let groups = sequence_groups(b, t, rayon::current_num_threads());
        if groups > 1 {
            let per_group = b.div_ceil(groups);
            let outputs: Vec<Vec<Array2<f32>>> = hidden
                .axis_chunks_iter(Axis(0), per_group * t)
                .into_par_iter()
                .zip(
                    key_mask
                        .axis_chunks_iter(Axis(0), per_group)
                        .into_par_iter(),
                )
                .map(|(rows, mask)| self.encode_group(rows.to_owned(), mask, all_hidden_states))
                .collect();
            let kept = outputs.first().map_or(0, Vec::len);
            let mut outputs: Vec<_> = outputs.into_iter().map(Vec::into_iter).collect();
            for _ in 0..kept {
                let parts: Vec<Array2<f32>> =
                    outputs.iter_mut().filter_map(Iterator::next).collect();
                let views: Vec<_> = parts.iter().map(Array2::view).collect();
                hidden = ndarray::concatenate(Axis(0), &views).expect("groups share the width");
                if all_hidden_states {
                    hidden_states.push(to_3d(&hidden));
                }
            }
        } else {
            let mut ws = Workspace::new(b * t, &self.config);
            for layer in &self.layers {
                layer.forward_with(&mut hidden, key_mask.view(), &mut ws, Threads::Pool);
                if all_hidden_states {
                    hidden_states.push(to_3d(&hidden));
                }
            }
        }
        let last_hidden_state = hidden
            .into_shape_with_order((b, t, h))
            .expect("rows are batch·length");
        let pooler_output = match (&self.pooler, t) {
            (Some(dense), 1..) => {
                let cls = last_hidden_state.index_axis(Axis(1), 0);
                let mut pooled = dense.forward(cls);
                pooled.mapv_inplace(f32::tanh);
                Some(pooled)
            }
            _ => None,
        };
        Ok(BertOutput {
            last_hidden_state,
            hidden_states,
            pooler_output,
        })
    }
}

impl BertModel {
    /// Runs a group of whole sequences through every layer on the calling
    /// thread. Returns each layer's output when `every_layer`, else only
    /// the last one's.
    fn encode_group(
        &self,
        mut hidden: Array2<f32>,
        key_mask: ArrayView2<'_, bool>,
        every_layer: bool,
    ) -> Vec<Array2<f32>> {
        let mut ws = Workspace::new(hidden.nrows(), &self.config);
        let mut outputs = Vec::new();
        for (i, layer) in self.layers.iter().enumerate() {
            if every_layer && i > 0 {
                outputs.push(hidden.clone());
            }
            layer.forward_with(&mut hidden, key_mask, &mut ws, Threads::Caller);
        }
        outputs.push(hidden);
        outputs
    }
}

/// How many groups of whole sequences a batch is encoded in, each group
/// through every layer on one thread; 1 means every layer is split across
/// the pool instead.
///
/// Groups need no synchronisation between layers or inside the matrix
/// products, which is worth more than the finer split as long as each
/// thread gets a full share of sequences (at most a fifth more than an
/// even split) and enough rows for the products to run at full speed.
fn sequence_groups(batch: usize, length: usize, threads: usize) -> usize {
    /// Fewer rows per group are bound by reading the weights, which the
    /// split products share between threads instead.
    const MIN_GROUP_ROWS: usize = 128;
    if threads < 2 || batch < threads {
        return 1;
    }
    let per_group = batch.div_ceil(threads);
    let balanced = 5 * per_group * threads <= 6 * batch;
    if balanced && per_group * length >= MIN_GROUP_ROWS {
        batch.div_ceil(per_group)
    } else {
        1
    }
}

/// The masked-language-model head of `BertForMaskedLM`:
/// `logits = LayerNorm(gelu(h·W + b))·Eᵀ + bias`, with `E` the decoder
/// weight (tied to the word embeddings unless the checkpoint stores one).
#[derive(Debug, Clone)]
pub struct MaskedLmHead {
    /// `cls.predictions.transform.dense`.
    pub transform: Linear,
    /// Activation after the transform.
    pub activation: Activation,
    /// `cls.predictions.transform.LayerNorm`.
    pub layer_norm: LayerNorm,
    /// Decoder `[hidden, vocab]` with its bias.
    pub decoder: Linear,
}

/// An encoder with its masked-language-model head.
#[derive(Debug, Clone)]
pub struct BertForMaskedLm {
    /// The encoder.
    pub bert: BertModel,
    /// The head.
    pub head: MaskedLmHead,
}

impl BertForMaskedLm {
    /// Loads a `BertForMaskedLM` checkpoint directory.
    pub fn load(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref();
        let config = BertConfig::from_file(dir.join("config.json"))?;
        let store = read_safetensors(dir.join("model.safetensors"))?;
        Self::from_store(config, &store)
    }

    /// Builds encoder and head from named tensors.
    pub fn from_store(config: BertConfig, store: &ParameterStore) -> Result<Self> {
        let bert = BertModel::from_store(config, store)?;
        let c = bert.config();
        let (h, v) = (c.hidden_size, c.vocab_size);
        let transform = linear(store, "cls.predictions.transform.dense", h, h)?;
        let layer_norm = layer_norm(
            store,
            "cls.predictions.transform.LayerNorm",
            h,
            c.layer_norm_eps,
        )?;
        let decoder_weight = if store.contains("cls.predictions.decoder.weight") {
            matrix(store, "cls.predictions.decoder.weight", [v, h])?
        } else {
            bert.embeddings.word.clone()
        };
        let bias_name = if store.contains("cls.predictions.bias") {
            "cls.predictions.bias"
        } else {
            "cls.predictions.decoder.bias"
        };
        let decoder = Linear::from_torch(decoder_weight.view(), vector(store, bias_name, v)?);
        let head = MaskedLmHead {
            transform,
            activation: c.activation()?,
            layer_norm,
            decoder,
        };
        Ok(BertForMaskedLm { bert, head })
    }

    /// Encoder output and `[batch, length, vocab]` logits.
    pub fn forward(
        &self,
        batch: &PaddedBatch,
        all_hidden_states: bool,
    ) -> Result<(BertOutput, Array3<f32>)> {
        let out = self.bert.forward(batch, all_hidden_states)?;
        let (b, t, h) = out.last_hidden_state.dim();
        let flat = out
            .last_hidden_state
            .view()
            .into_shape_with_order((b * t, h))
            .expect("standard layout");
        let mut transformed = self.head.transform.forward(flat);
        self.head.activation.forward_inplace(transformed.view_mut());
        self.head.layer_norm.forward_inplace(transformed.view_mut());
        let logits = self.head.decoder.forward(transformed.view());
        let v = logits.ncols();
        let logits = logits
            .into_shape_with_order((b, t, v))
            .expect("rows are batch·length");
        Ok((out, logits))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::MlmModel;

    #[test]
    fn sequence_groups_keep_threads_busy_and_products_large() {
        // One thread, or fewer sequences than threads: split every layer.
        assert_eq!(sequence_groups(8, 128, 1), 1);
        assert_eq!(sequence_groups(1, 512, 2), 1);
        // Even splits of enough rows.
        assert_eq!(sequence_groups(8, 128, 2), 2);
        assert_eq!(sequence_groups(32, 40, 2), 2);
        assert_eq!(sequence_groups(32, 40, 4), 4);
        // 5 sequences on 2 threads: 3 + 2 is within a fifth of 2.5 each.
        assert_eq!(sequence_groups(5, 64, 2), 2);
        // 3 on 2 threads would leave one idle half the time.
        assert_eq!(sequence_groups(3, 128, 2), 1);
        // Short rows per group: the products would be bound by the weights.
        assert_eq!(sequence_groups(4, 12, 2), 1);
    }

    /// A random encoder (Hugging Face initialisation) of `layers` layers.
    fn random_model(layers: usize) -> BertModel {
        let config = BertConfig {
            vocab_size: 40,
            hidden_size: 32,
            num_hidden_layers: layers,
            num_attention_heads: 4,
            intermediate_size: 64,
            max_position_embeddings: 80,
            ..BertConfig::tiny()
        };
        let mlm = MlmModel::init(&config, 7).unwrap();
        let mut store = ParameterStore::new(0);
        for (name, array) in mlm.params().iter() {
            let name = name
                .strip_prefix(crate::weights::BERT_PREFIX)
                .unwrap_or(name);
            store.insert(name, array.clone());
        }
        BertModel::from_store(config, &store).unwrap()
    }

    fn batch(b: usize, t: usize) -> PaddedBatch {
        let mut attention_mask = Array2::ones((b, t));
        // Padding at the end of every other sequence.
        for row in (1..b).step_by(2) {
            attention_mask
                .slice_mut(s![row, t - 1 - row % t / 2..])
                .fill(0);
        }
        PaddedBatch {
            input_ids: Array2::from_shape_fn((b, t), |(i, j)| ((i * 31 + j * 7) % 39 + 1) as u32),
            token_type_ids: Array2::from_shape_fn((b, t), |(_, j)| u32::from(j >= t / 2)),
            attention_mask,
        }
    }

    #[test]
    fn grouped_sequences_give_the_outputs_of_split_layers() {
        let model = random_model(3);
        let batch = batch(6, 64);
        let run_with = |threads: usize, every_layer: bool| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| model.forward(&batch, every_layer).unwrap())
        };
        let run = |threads: usize| run_with(threads, true);
        assert_eq!(sequence_groups(6, 64, 1), 1);
        assert_eq!(sequence_groups(6, 64, 2), 2);
        assert_eq!(sequence_groups(6, 64, 3), 3);
        let split = run(1);
        for threads in [2, 3] {
            let grouped = run(threads);
            assert_eq!(grouped.hidden_states.len(), 4);
            for (a, b) in split.hidden_states.iter().zip(&grouped.hidden_states) {
                let worst = (a - b).mapv(f32::abs).fold(0.0f32, |m, &d| m.max(d));
                // Same arithmetic per row; only the products' blocking may differ.
                assert!(worst < 1e-5, "{threads} threads: differs by {worst}");
            }
            let worst = (&split.last_hidden_state - &grouped.last_hidden_state)
                .mapv(f32::abs)
                .fold(0.0f32, |m, &d| m.max(d));
            assert!(
                worst < 1e-5,
                "{threads} threads: last layer differs by {worst}"
            );
            let last_only = run_with(threads, false);
            assert!(last_only.hidden_states.is_empty());
            assert_eq!(last_only.last_hidden_state, grouped.last_hidden_state);
        }
    }
}
