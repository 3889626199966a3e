//! Typed views of the model's parameters for one pass, and the matching
//! gradient buffers.

use embed_core::params::{GradientStore, ParameterStore};
use embed_core::{Error, Result};
use ndarray::{concatenate, s, Array1, Array2, ArrayView1, ArrayView2, Axis, Ix1, Ix2};

use super::names::{
    layer_prefix, DECODER_BIAS, ENCODER, POOLER, SEQ_RELATIONSHIP, WORD_EMBEDDINGS,
};
use super::next_sentence::{HeadGrads, HeadWeights};
use crate::config::BertConfig;

fn matrix<'a>(p: &'a ParameterStore, name: &str, shape: [usize; 2]) -> Result<ArrayView2<'a, f32>> {
    p.get_checked(name, &shape)?
        .into_dimensionality::<Ix2>()
        .map_err(|_| shape_error(name, &shape))
}

fn vector<'a>(p: &'a ParameterStore, name: &str, len: usize) -> Result<ArrayView1<'a, f32>> {
    p.get_checked(name, &[len])?
        .into_dimensionality::<Ix1>()
        .map_err(|_| shape_error(name, &[len]))
}

fn shape_error(name: &str, shape: &[usize]) -> Error {
    Error::ShapeMismatch {
        name: name.to_string(),
        expected: shape.to_vec(),
        actual: Vec::new(),
    }
}

/// A linear layer's weight (`[out, in]`) and bias.
#[derive(Debug, Clone)]
pub(crate) struct Dense<'a> {
    pub weight: ArrayView2<'a, f32>,
    pub bias: ArrayView1<'a, f32>,
}

impl<'a> Dense<'a> {
    pub(crate) fn load(
        p: &'a ParameterStore,
        prefix: &str,
        inputs: usize,
        outputs: usize,
    ) -> Result<Self> {
        Ok(Dense {
            weight: matrix(p, &format!("{prefix}.weight"), [outputs, inputs])?,
            bias: vector(p, &format!("{prefix}.bias"), outputs)?,
        })
    }
}

/// A layer norm's scale and shift.
#[derive(Debug, Clone)]
pub(crate) struct Norm<'a> {
    pub gamma: ArrayView1<'a, f32>,
    pub beta: ArrayView1<'a, f32>,
}

impl<'a> Norm<'a> {
    fn load(p: &'a ParameterStore, prefix: &str, width: usize) -> Result<Self> {
        Ok(Norm {
            gamma: vector(p, &format!("{prefix}.weight"), width)?,
            beta: vector(p, &format!("{prefix}.bias"), width)?,
        })
    }
}

/// One encoder layer. Query, key and value are stacked into one
/// `[3·hidden, hidden]` weight so that their projection is one product.
#[derive(Debug, Clone)]
pub(crate) struct LayerWeights<'a> {
    pub qkv_weight: Array2<f32>,
    pub qkv_bias: Array1<f32>,
    pub attention_output: Dense<'a>,
    pub attention_norm: Norm<'a>,
    pub intermediate: Dense<'a>,
    pub output: Dense<'a>,
    pub output_norm: Norm<'a>,
}

/// Every parameter of the model, borrowed from its store.
#[derive(Debug, Clone)]
pub(crate) struct Weights<'a> {
    pub word: ArrayView2<'a, f32>,
    pub position: ArrayView2<'a, f32>,
    pub token_type: ArrayView2<'a, f32>,
    pub embedding_norm: Norm<'a>,
    pub layers: Vec<LayerWeights<'a>>,
    pub transform: Dense<'a>,
    pub transform_norm: Norm<'a>,
    pub decoder_bias: ArrayView1<'a, f32>,
    /// The pooler and next-sentence classifier, when the model has them.
    pub next_sentence: Option<HeadWeights<'a>>,
}

impl<'a> Weights<'a> {
    /// Borrows every parameter, checking names and shapes; the
    /// next-sentence head's too when `next_sentence`.
    pub fn new(p: &'a ParameterStore, c: &BertConfig, next_sentence: bool) -> Result<Self> {
        let (h, i) = (c.hidden_size, c.intermediate_size);
        let emb = format!("{ENCODER}.embeddings");
        let layers = (0..c.num_hidden_layers)
            .map(|l| {
                let prefix = layer_prefix(l);
                let parts = ["query", "key", "value"]
                    .map(|part| Dense::load(p, &format!("{prefix}.attention.self.{part}"), h, h));
                let [q, k, v] = parts;
                let (q, k, v) = (q?, k?, v?);
                Ok(LayerWeights {
                    qkv_weight: concatenate(Axis(0), &[q.weight, k.weight, v.weight])
                        .map_err(|e| Error::InvalidInput(e.to_string()))?,
                    qkv_bias: concatenate(Axis(0), &[q.bias, k.bias, v.bias])
                        .map_err(|e| Error::InvalidInput(e.to_string()))?,
                    attention_output: Dense::load(
                        p,
                        &format!("{prefix}.attention.output.dense"),
                        h,
                        h,
                    )?,
                    attention_norm: Norm::load(
                        p,
                        &format!("{prefix}.attention.output.LayerNorm"),
                        h,
                    )?,
                    intermediate: Dense::load(p, &format!("{prefix}.intermediate.dense"), h, i)?,
                    output: Dense::load(p, &format!("{prefix}.output.dense"), i, h)?,
                    output_norm: Norm::load(p, &format!("{prefix}.output.LayerNorm"), h)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Weights {
            word: matrix(p, WORD_EMBEDDINGS, [c.vocab_size, h])?,
            position: matrix(
                p,
                &format!("{emb}.position_embeddings.weight"),
                [c.max_position_embeddings, h],
            )?,
            token_type: matrix(
                p,
                &format!("{emb}.token_type_embeddings.weight"),
                [c.type_vocab_size, h],
            )?,
            embedding_norm: Norm::load(p, &format!("{emb}.LayerNorm"), h)?,
            layers,
            transform: Dense::load(p, "cls.predictions.transform.dense", h, h)?,
            transform_norm: Norm::load(p, "cls.predictions.transform.LayerNorm", h)?,
            decoder_bias: vector(p, DECODER_BIAS, c.vocab_size)?,
            next_sentence: if next_sentence {
                Some(HeadWeights {
                    pooler: Dense::load(p, POOLER, h, h)?,
                    classifier: Dense::load(p, SEQ_RELATIONSHIP, h, 2)?,
                })
            } else {
                None
            },
        })
    }
}

/// Gradient of a linear layer.
#[derive(Debug, Clone)]
pub(crate) struct DenseGrad {
    pub weight: Array2<f32>,
    pub bias: Array1<f32>,
}

impl DenseGrad {
    pub(crate) fn zeros(inputs: usize, outputs: usize) -> Self {
        DenseGrad {
            weight: Array2::zeros((outputs, inputs)),
            bias: Array1::zeros(outputs),
        }
    }

    pub(crate) fn zero(&mut self) {
        self.weight.fill(0.0);
        self.bias.fill(0.0);
    }

    pub(crate) fn add(&mut self, other: &DenseGrad) {
        self.weight += &other.weight;
        self.bias += &other.bias;
    }
}

/// Gradient of a layer norm.
#[derive(Debug, Clone)]
pub(crate) struct NormGrad {
    pub gamma: Array1<f32>,
    pub beta: Array1<f32>,
}

impl NormGrad {
    fn zeros(width: usize) -> Self {
        NormGrad {
            gamma: Array1::zeros(width),
            beta: Array1::zeros(width),
        }
    }

    fn zero(&mut self) {
        self.gamma.fill(0.0);
        self.beta.fill(0.0);
    }

    fn add(&mut self, other: &NormGrad) {
        self.gamma += &other.gamma;
        self.beta += &other.beta;
    }
}

/// Gradients of one encoder layer (query, key and value stacked).
#[derive(Debug, Clone)]
pub(crate) struct LayerGrads {
    pub qkv: DenseGrad,
    pub attention_output: DenseGrad,
    pub attention_norm: NormGrad,
    pub intermediate: DenseGrad,
    pub output: DenseGrad,
    pub output_norm: NormGrad,
}

/// Gradients of every parameter; the word-embedding gradient holds the
/// lookup and tied-decoder parts together.
#[derive(Debug, Clone)]
pub(crate) struct Grads {
    pub word: Array2<f32>,
    pub position: Array2<f32>,
    pub token_type: Array2<f32>,
    pub embedding_norm: NormGrad,
    pub layers: Vec<LayerGrads>,
    pub transform: DenseGrad,
    pub transform_norm: NormGrad,
    pub decoder_bias: Array1<f32>,
    /// The next-sentence head's, when the model has one.
    pub next_sentence: Option<HeadGrads>,
}

impl Grads {
    pub fn zeros(c: &BertConfig, next_sentence: bool) -> Self {
        let (h, i) = (c.hidden_size, c.intermediate_size);
        Grads {
            word: Array2::zeros((c.vocab_size, h)),
            position: Array2::zeros((c.max_position_embeddings, h)),
            token_type: Array2::zeros((c.type_vocab_size, h)),
            embedding_norm: NormGrad::zeros(h),
            layers: (0..c.num_hidden_layers)
                .map(|_| LayerGrads {
                    qkv: DenseGrad::zeros(h, 3 * h),
                    attention_output: DenseGrad::zeros(h, h),
                    attention_norm: NormGrad::zeros(h),
                    intermediate: DenseGrad::zeros(h, i),
                    output: DenseGrad::zeros(i, h),
                    output_norm: NormGrad::zeros(h),
                })
                .collect(),
            transform: DenseGrad::zeros(h, h),
            transform_norm: NormGrad::zeros(h),
            decoder_bias: Array1::zeros(c.vocab_size),
            next_sentence: next_sentence.then(|| HeadGrads::zeros(h)),
        }
    }

    /// Sets every gradient to zero.
    pub fn zero(&mut self) {
        self.word.fill(0.0);
        self.position.fill(0.0);
        self.token_type.fill(0.0);
        self.embedding_norm.zero();
        for l in &mut self.layers {
            l.qkv.zero();
            l.attention_output.zero();
            l.attention_norm.zero();
            l.intermediate.zero();
            l.output.zero();
            l.output_norm.zero();
        }
        self.transform.zero();
        self.transform_norm.zero();
        self.decoder_bias.fill(0.0);
        if let Some(g) = &mut self.next_sentence {
            g.zero();
        }
    }

    /// Adds `other` (another sub-batch's gradients) to these.
    pub fn add(&mut self, other: &Grads) {
        self.word += &other.word;
        self.position += &other.position;
        self.token_type += &other.token_type;
        self.embedding_norm.add(&other.embedding_norm);
        for (a, b) in self.layers.iter_mut().zip(&other.layers) {
            a.qkv.add(&b.qkv);
            a.attention_output.add(&b.attention_output);
            a.attention_norm.add(&b.attention_norm);
            a.intermediate.add(&b.intermediate);
            a.output.add(&b.output);
            a.output_norm.add(&b.output_norm);
        }
        self.transform.add(&other.transform);
        self.transform_norm.add(&other.transform_norm);
        self.decoder_bias += &other.decoder_bias;
        if let (Some(a), Some(b)) = (&mut self.next_sentence, &other.next_sentence) {
            a.add(b);
        }
    }

    /// Adds every gradient to `store` under the parameters' names.
    pub fn accumulate_into(&self, store: &mut GradientStore) -> Result<()> {
        let emb = format!("{ENCODER}.embeddings");
        store.accumulate(WORD_EMBEDDINGS, self.word.view().into_dyn())?;
        store.accumulate(
            &format!("{emb}.position_embeddings.weight"),
            self.position.view().into_dyn(),
        )?;
        store.accumulate(
            &format!("{emb}.token_type_embeddings.weight"),
            self.token_type.view().into_dyn(),
        )?;
        norm_into(store, &format!("{emb}.LayerNorm"), &self.embedding_norm)?;
        for (l, g) in self.layers.iter().enumerate() {
            let prefix = layer_prefix(l);
            let h = g.qkv.bias.len() / 3;
            for (k, part) in ["query", "key", "value"].into_iter().enumerate() {
                let rows = s![k * h..(k + 1) * h];
                let name = format!("{prefix}.attention.self.{part}");
                store.accumulate(
                    &format!("{name}.weight"),
                    g.qkv.weight.slice(s![k * h..(k + 1) * h, ..]).into_dyn(),
                )?;
                store.accumulate(&format!("{name}.bias"), g.qkv.bias.slice(rows).into_dyn())?;
            }
            dense_into(
                store,
                &format!("{prefix}.attention.output.dense"),
                &g.attention_output,
            )?;
            norm_into(
                store,
                &format!("{prefix}.attention.output.LayerNorm"),
                &g.attention_norm,
            )?;
            dense_into(
                store,
                &format!("{prefix}.intermediate.dense"),
                &g.intermediate,
            )?;
            dense_into(store, &format!("{prefix}.output.dense"), &g.output)?;
            norm_into(store, &format!("{prefix}.output.LayerNorm"), &g.output_norm)?;
        }
        dense_into(store, "cls.predictions.transform.dense", &self.transform)?;
        norm_into(
            store,
            "cls.predictions.transform.LayerNorm",
            &self.transform_norm,
        )?;
        store.accumulate(DECODER_BIAS, self.decoder_bias.view().into_dyn())?;
        if let Some(g) = &self.next_sentence {
            dense_into(store, POOLER, &g.pooler)?;
            dense_into(store, SEQ_RELATIONSHIP, &g.classifier)?;
        }
        Ok(())
    }
}

fn dense_into(store: &mut GradientStore, prefix: &str, g: &DenseGrad) -> Result<()> {
    store.accumulate(&format!("{prefix}.weight"), g.weight.view().into_dyn())?;
    store.accumulate(&format!("{prefix}.bias"), g.bias.view().into_dyn())
}

fn norm_into(store: &mut GradientStore, prefix: &str, g: &NormGrad) -> Result<()> {
    store.accumulate(&format!("{prefix}.weight"), g.gamma.view().into_dyn())?;
    store.accumulate(&format!("{prefix}.bias"), g.beta.view().into_dyn())
}
