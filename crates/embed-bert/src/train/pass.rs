//! One forward and backward pass of `BertForMaskedLM` over a slice of a
//! batch, on the calling thread.
//!
//! ```text
//! word[id] + position[t] + type[tt] ─► LayerNorm ─► dropout ─► h₀
//! hₗ ─► qkv ─► attention ─► dense ─► dropout ─► +hₗ ─► LayerNorm ─► a
//!   a ─► dense ─► GELU ─► dense ─► dropout ─► +a ─► LayerNorm ─► hₗ₊₁
//! h_N[labelled rows] ─► dense ─► GELU ─► LayerNorm ─► ·wordᵀ + bias ─► cross-entropy
//! ```
//!
//! Only the labelled rows go through the MLM head: the other rows do not
//! reach the loss, so leaving out their logits changes neither the loss nor
//! any gradient, and saves most of the vocabulary-sized work.

use embed_core::nn::attention::{
    self_attention_backward, self_attention_forward, AttentionCache, AttentionDropout,
};
use embed_core::nn::cross_entropy::{softmax_cross_entropy, CrossEntropyStats, IGNORE_INDEX};
use embed_core::nn::dropout::Dropout;
use embed_core::nn::embedding::{embedding_backward, embedding_forward};
use embed_core::nn::gelu::{gelu_backward, gelu_forward};
use embed_core::nn::layer_norm::{layer_norm_backward, layer_norm_forward, LayerNormCache};
use embed_core::nn::linear::{linear_backward, linear_forward};
use embed_core::seed;
use embed_core::Result;
use ndarray::{Array2, Axis};

use super::tensors::{Grads, Weights};
use crate::config::BertConfig;

/// The part of a batch one thread works on: whole sequences, flattened.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Slice<'b> {
    pub input_ids: &'b [u32],
    pub token_type_ids: &'b [u32],
    pub attention_mask: &'b [u8],
    pub labels: &'b [i32],
    pub seq_len: usize,
    /// Index of the slice's first sequence in the whole batch (seeds the
    /// dropout masks, so they do not depend on the split).
    pub first_sequence: usize,
}

/// Dropout probabilities and the seed of this pass's masks.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DropoutPlan {
    pub hidden: Dropout,
    pub attention: Dropout,
    pub seed: u64,
}

impl DropoutPlan {
    /// The seed of dropout site `site` (0: embeddings; then three per layer).
    fn site_seed(&self, site: usize) -> u64 {
        seed::derive_seed(self.seed, site as u64)
    }
}

/// Applies hidden dropout to the rows of `x`, sequence by sequence, each
/// sequence's mask drawn from its own stream.
fn hidden_dropout(
    x: &mut Array2<f32>,
    plan: Option<&DropoutPlan>,
    site: usize,
    slice: &Slice<'_>,
    mask: &mut Vec<f32>,
) {
    mask.clear();
    let Some(plan) = plan.filter(|p| p.hidden.is_active()) else {
        return;
    };
    let seed = plan.site_seed(site);
    let per_sequence = slice.seq_len * x.ncols();
    let xs = x.as_slice_mut().expect("activations are contiguous");
    mask.resize(xs.len(), 0.0);
    for (i, (chunk, m)) in xs
        .chunks_mut(per_sequence)
        .zip(mask.chunks_mut(per_sequence))
        .enumerate()
    {
        let stream = (slice.first_sequence + i) as u64;
        plan.hidden.fill_mask(&mut seed::rng(seed, stream), m);
        chunk.iter_mut().zip(m.iter()).for_each(|(v, m)| *v *= m);
    }
}

/// What one encoder layer keeps for its backward pass.
#[derive(Debug, Default)]
struct LayerCache {
    qkv: Array2<f32>,
    attention: AttentionCache,
    context: Array2<f32>,
    attention_dropout: Vec<f32>,
    attention_norm: LayerNormCache,
    /// Output of the attention block (input of the feed-forward block).
    mid: Array2<f32>,
    intermediate_pre: Array2<f32>,
    intermediate: Array2<f32>,
    output_dropout: Vec<f32>,
    output_norm: LayerNormCache,
}

/// Activations of one pass, kept for the backward pass.
#[derive(Debug, Default)]
pub(crate) struct Pass {
    positions: Vec<u32>,
    key_mask: Vec<bool>,
    embedding_dropout: Vec<f32>,
    embedding_norm: LayerNormCache,
    /// `hidden[l]` is the input of layer `l`; the last is the encoder's output.
    hidden: Vec<Array2<f32>>,
    layers: Vec<LayerCache>,
    /// Rows with a label, and their labels.
    selected: Vec<usize>,
    selected_labels: Vec<i32>,
    head_input: Array2<f32>,
    head_pre: Array2<f32>,
    head_norm: LayerNormCache,
    head_output: Array2<f32>,
    /// Logits of the labelled rows; their gradient after the loss.
    logits: Array2<f32>,
}

impl Pass {
    /// Runs the forward pass and the loss. With `grad_scale`, the logits
    /// are replaced by the gradient of `grad_scale · loss_sum`, ready for
    /// [`Pass::backward`].
    pub fn forward(
        w: &Weights<'_>,
        c: &BertConfig,
        slice: &Slice<'_>,
        dropout: Option<&DropoutPlan>,
        grad_scale: Option<f32>,
    ) -> Result<(Pass, CrossEntropyStats)> {
        let t = slice.seq_len;
        let n = slice.input_ids.len();
        let h = c.hidden_size;
        let eps = c.layer_norm_eps as f32;
        let mut pass = Pass {
            positions: (0..n).map(|i| (i % t) as u32).collect(),
            key_mask: slice.attention_mask.iter().map(|&m| m != 0).collect(),
            ..Pass::default()
        };

        let mut x = Array2::zeros((n, h));
        embedding_forward(w.word, slice.input_ids, x.view_mut(), false)?;
        embedding_forward(w.position, &pass.positions, x.view_mut(), true)?;
        embedding_forward(w.token_type, slice.token_type_ids, x.view_mut(), true)?;
        layer_norm_forward(
            x.view_mut(),
            w.embedding_norm.gamma,
            w.embedding_norm.beta,
            eps,
            &mut pass.embedding_norm,
        );
        hidden_dropout(&mut x, dropout, 0, slice, &mut pass.embedding_dropout);
        pass.hidden.push(x);

        for (l, lw) in w.layers.iter().enumerate() {
            let input = pass.hidden.last().expect("embeddings pushed first");
            let mut lc = LayerCache {
                qkv: Array2::zeros((n, 3 * h)),
                context: Array2::zeros((n, h)),
                ..LayerCache::default()
            };
            linear_forward(
                input.view(),
                lw.qkv_weight.view(),
                Some(lw.qkv_bias.view()),
                lc.qkv.view_mut(),
                false,
            );
            let attention_dropout = dropout.map(|p| AttentionDropout {
                dropout: p.attention,
                seed: p.site_seed(1 + 3 * l),
                first_sequence: slice.first_sequence,
            });
            self_attention_forward(
                lc.qkv.view(),
                &pass.key_mask,
                t,
                c.num_attention_heads,
                attention_dropout.as_ref(),
                lc.context.view_mut(),
                &mut lc.attention,
            )?;
            let mut mid = Array2::zeros((n, h));
            let ao = &lw.attention_output;
            linear_forward(
                lc.context.view(),
                ao.weight,
                Some(ao.bias),
                mid.view_mut(),
                false,
            );
            hidden_dropout(
                &mut mid,
                dropout,
                2 + 3 * l,
                slice,
                &mut lc.attention_dropout,
            );
            mid += input;
            let an = &lw.attention_norm;
            layer_norm_forward(
                mid.view_mut(),
                an.gamma,
                an.beta,
                eps,
                &mut lc.attention_norm,
            );

            let inter = &lw.intermediate;
            lc.intermediate_pre = Array2::zeros((n, c.intermediate_size));
            linear_forward(
                mid.view(),
                inter.weight,
                Some(inter.bias),
                lc.intermediate_pre.view_mut(),
                false,
            );
            lc.intermediate = Array2::zeros((n, c.intermediate_size));
            gelu_forward(
                lc.intermediate_pre.as_slice().expect("contiguous"),
                lc.intermediate.as_slice_mut().expect("contiguous"),
            );
            let mut out = Array2::zeros((n, h));
            let o = &lw.output;
            linear_forward(
                lc.intermediate.view(),
                o.weight,
                Some(o.bias),
                out.view_mut(),
                false,
            );
            hidden_dropout(&mut out, dropout, 3 + 3 * l, slice, &mut lc.output_dropout);
            out += &mid;
            let on = &lw.output_norm;
            layer_norm_forward(out.view_mut(), on.gamma, on.beta, eps, &mut lc.output_norm);
            lc.mid = mid;
            pass.layers.push(lc);
            pass.hidden.push(out);
        }

        // The MLM head, on labelled rows only.
        for (row, &label) in slice.labels.iter().enumerate() {
            if label != IGNORE_INDEX {
                pass.selected.push(row);
                pass.selected_labels.push(label);
            }
        }
        let m = pass.selected.len();
        let last = pass.hidden.last().expect("at least the embeddings");
        pass.head_input = last.select(Axis(0), &pass.selected);
        pass.head_pre = Array2::zeros((m, h));
        let tr = &w.transform;
        linear_forward(
            pass.head_input.view(),
            tr.weight,
            Some(tr.bias),
            pass.head_pre.view_mut(),
            false,
        );
        pass.head_output = Array2::zeros((m, h));
        gelu_forward(
            pass.head_pre.as_slice().expect("contiguous"),
            pass.head_output.as_slice_mut().expect("contiguous"),
        );
        let tn = &w.transform_norm;
        layer_norm_forward(
            pass.head_output.view_mut(),
            tn.gamma,
            tn.beta,
            eps,
            &mut pass.head_norm,
        );
        pass.logits = Array2::zeros((m, c.vocab_size));
        linear_forward(
            pass.head_output.view(),
            w.word,
            Some(w.decoder_bias),
            pass.logits.view_mut(),
            false,
        );
        let stats =
            softmax_cross_entropy(pass.logits.view_mut(), &pass.selected_labels, grad_scale)?;
        Ok((pass, stats))
    }

    /// Backward pass from the logits' gradient left by [`Pass::forward`],
    /// adding every parameter's gradient to `g`.
    pub fn backward(
        mut self,
        w: &Weights<'_>,
        c: &BertConfig,
        slice: &Slice<'_>,
        g: &mut Grads,
    ) -> Result<()> {
        let n = slice.input_ids.len();
        let h = c.hidden_size;
        let m = self.selected.len();

        // Head: decoder (tied to the word embeddings), layer norm, GELU, dense.
        let mut d_head = Array2::zeros((m, h));
        linear_backward(
            self.head_output.view(),
            w.word,
            self.logits.view(),
            Some(d_head.view_mut()),
            false,
            g.word.view_mut(),
            Some(g.decoder_bias.view_mut()),
        );
        layer_norm_backward(
            d_head.view_mut(),
            w.transform_norm.gamma,
            &self.head_norm,
            g.transform_norm.gamma.view_mut(),
            g.transform_norm.beta.view_mut(),
        );
        gelu_backward(
            self.head_pre.as_slice().expect("contiguous"),
            d_head.as_slice_mut().expect("contiguous"),
        );
        let mut d_selected = Array2::zeros((m, h));
        linear_backward(
            self.head_input.view(),
            w.transform.weight,
            d_head.view(),
            Some(d_selected.view_mut()),
            false,
            g.transform.weight.view_mut(),
            Some(g.transform.bias.view_mut()),
        );
        let mut dh = Array2::zeros((n, h));
        for (&row, grad) in self.selected.iter().zip(d_selected.rows()) {
            let mut target = dh.row_mut(row);
            target += &grad;
        }

        // Encoder layers, last first.
        let mut d_inter = Array2::zeros((n, c.intermediate_size));
        let mut d_context = Array2::zeros((n, h));
        let mut d_qkv = Array2::zeros((n, 3 * h));
        for l in (0..c.num_hidden_layers).rev() {
            let lw = &w.layers[l];
            let lg = &mut g.layers[l];
            let lc = &self.layers[l];
            let input = &self.hidden[l];
            // Output block: LayerNorm(dropout(dense(GELU(dense(mid)))) + mid).
            layer_norm_backward(
                dh.view_mut(),
                lw.output_norm.gamma,
                &lc.output_norm,
                lg.output_norm.gamma.view_mut(),
                lg.output_norm.beta.view_mut(),
            );
            let mut d_mid = dh.clone();
            Dropout::backward(&lc.output_dropout, dh.as_slice_mut().expect("contiguous"));
            linear_backward(
                lc.intermediate.view(),
                lw.output.weight,
                dh.view(),
                Some(d_inter.view_mut()),
                false,
                lg.output.weight.view_mut(),
                Some(lg.output.bias.view_mut()),
            );
            gelu_backward(
                lc.intermediate_pre.as_slice().expect("contiguous"),
                d_inter.as_slice_mut().expect("contiguous"),
            );
            linear_backward(
                lc.mid.view(),
                lw.intermediate.weight,
                d_inter.view(),
                Some(d_mid.view_mut()),
                true,
                lg.intermediate.weight.view_mut(),
                Some(lg.intermediate.bias.view_mut()),
            );
            // Attention block: LayerNorm(dropout(dense(attention(qkv(x)))) + x).
            layer_norm_backward(
                d_mid.view_mut(),
                lw.attention_norm.gamma,
                &lc.attention_norm,
                lg.attention_norm.gamma.view_mut(),
                lg.attention_norm.beta.view_mut(),
            );
            dh.assign(&d_mid);
            Dropout::backward(
                &lc.attention_dropout,
                d_mid.as_slice_mut().expect("contiguous"),
            );
            linear_backward(
                lc.context.view(),
                lw.attention_output.weight,
                d_mid.view(),
                Some(d_context.view_mut()),
                false,
                lg.attention_output.weight.view_mut(),
                Some(lg.attention_output.bias.view_mut()),
            );
            self_attention_backward(
                lc.qkv.view(),
                &lc.attention,
                d_context.view(),
                d_qkv.view_mut(),
            )?;
            linear_backward(
                input.view(),
                lw.qkv_weight.view(),
                d_qkv.view(),
                Some(dh.view_mut()),
                true,
                lg.qkv.weight.view_mut(),
                Some(lg.qkv.bias.view_mut()),
            );
        }

        // Embeddings.
        Dropout::backward(
            &self.embedding_dropout,
            dh.as_slice_mut().expect("contiguous"),
        );
        layer_norm_backward(
            dh.view_mut(),
            w.embedding_norm.gamma,
            &self.embedding_norm,
            g.embedding_norm.gamma.view_mut(),
            g.embedding_norm.beta.view_mut(),
        );
        embedding_backward(slice.input_ids, dh.view(), g.word.view_mut());
        embedding_backward(&self.positions, dh.view(), g.position.view_mut());
        embedding_backward(slice.token_type_ids, dh.view(), g.token_type.view_mut());
        self.logits = Array2::zeros((0, 0));
        Ok(())
    }
}

impl Pass {
    /// The logits of the labelled rows (before any gradient was taken).
    pub fn into_logits(self) -> Array2<f32> {
        self.logits
    }
}
