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
use crate::layers::{attention_head, Activation, LayerNorm, Linear};
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
        mut context: ArrayViewMut2<'_, f32>,
    ) {
        let t_len = key_mask.ncols();
        let hidden = context.ncols();
        let d = hidden / self.heads;
        context
            .axis_chunks_iter_mut(Axis(0), t_len)
            .into_par_iter()
            .zip(key_mask.axis_iter(Axis(0)).into_par_iter())
            .enumerate()
            .for_each(|(b, (mut seq_context, mask))| {
                let rows = qkv.slice(s![b * t_len..(b + 1) * t_len, ..]);
                let mask = mask.as_slice().expect("mask rows are contiguous");
                seq_context
                    .axis_chunks_iter_mut(Axis(1), d)
                    .into_par_iter()
                    .enumerate()
                    .for_each(|(head, out)| {
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
                    });
            });
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
        self.forward_with(hidden, key_mask, &mut ws);
    }

    /// [`EncoderLayer::forward`] with buffers reused across layers.
    fn forward_with(
        &self,
        hidden: &mut Array2<f32>,
        key_mask: ArrayView2<'_, bool>,
        ws: &mut Workspace,
    ) {
        let att = &self.attention;
        att.qkv
            .forward_into(hidden.view(), ws.qkv.view_mut(), false);
        att.attend(ws.qkv.view(), key_mask, ws.context.view_mut());
        ws.residual.assign(hidden);
        att.output
            .forward_into(ws.context.view(), ws.residual.view_mut(), true);
        att.layer_norm.forward_inplace(ws.residual.view_mut());
        std::mem::swap(hidden, &mut ws.residual);

        let ff = &self.feed_forward;
        ff.intermediate
            .forward_into(hidden.view(), ws.intermediate.view_mut(), false);
        ff.activation.forward_inplace(ws.intermediate.view_mut());
        ws.residual.assign(hidden);
        ff.output
            .forward_into(ws.intermediate.view(), ws.residual.view_mut(), true);
        ff.layer_norm.forward_inplace(ws.residual.view_mut());
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
        let mut ws = Workspace::new(b * t, &self.config);
        for layer in &self.layers {
            layer.forward_with(&mut hidden, key_mask.view(), &mut ws);
            if all_hidden_states {
                hidden_states.push(to_3d(&hidden));
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
