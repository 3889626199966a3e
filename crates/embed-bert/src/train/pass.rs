//! One forward and backward pass of `BertForMaskedLM` over a slice of a
//! batch, on the calling thread.
//!
//! ```text
//! word[id] + position[t] + type[tt] ─► LayerNorm ─► dropout ─► h₀
//! hₗ ─► qkv ─► attention ─► dense ─► dropout ─► +hₗ ─► LayerNorm ─► a
//!   a ─► dense ─► GELU ─► dense ─► dropout ─► +a ─► LayerNorm ─► hₗ₊₁
//! h_N[labelled rows] ─► dense ─► GELU ─► LayerNorm ─► ·wordᵀ + bias ─► cross-entropy
//! h_N[CLS rows] ─► pooler ─► tanh ─► seq_relationship ─► cross-entropy  (with NSP)
//! ```
//!
//! Only the labelled rows go through the MLM head: the other rows do not
//! reach the loss, so leaving out their logits changes neither the loss nor
//! any gradient, and saves most of the vocabulary-sized work. With the
//! next-sentence head ([`super::next_sentence`]) and next-sentence labels,
//! the `[CLS]` row of every sequence also feeds that head, and the two
//! losses' gradients meet in the encoder's output.

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
use ndarray::{s, Array2};

use super::next_sentence::{self, HeadCache};
use super::tensors::{Grads, Weights};
use super::GradScale;
use crate::config::BertConfig;

/// The part of a batch one thread works on: whole sequences, flattened.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Slice<'b> {
    pub input_ids: &'b [u32],
    pub token_type_ids: &'b [u32],
    pub attention_mask: &'b [u8],
    pub labels: &'b [i32],
    /// One per sequence, or empty when the batch has no next-sentence task.
    pub next_sentence_labels: &'b [i32],
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

/// `buf` shaped `dim`, reallocated only when the shape changes (its
/// content is then unspecified: callers overwrite it).
pub(crate) fn reshape(buf: &mut Array2<f32>, dim: (usize, usize)) {
    if buf.dim() != dim {
        *buf = Array2::zeros(dim);
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

/// Gradient buffers of the backward pass.
#[derive(Debug, Default)]
struct Scratch {
    head: Array2<f32>,
    selected: Array2<f32>,
    hidden: Array2<f32>,
    mid: Array2<f32>,
    intermediate: Array2<f32>,
    context: Array2<f32>,
    qkv: Array2<f32>,
}

/// Activations of one pass, kept for the backward pass. A `Pass` is reused
/// from batch to batch, so that its buffers are allocated once.
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
    /// The next-sentence head's activations, when it ran.
    next_sentence: HeadCache,
    scratch: Scratch,
}

/// The losses of one pass.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct PassStats {
    pub masked_lm: CrossEntropyStats,
    /// Zero counts when the next-sentence head did not run.
    pub next_sentence: CrossEntropyStats,
}

impl Pass {
    /// Runs the forward pass and the losses: the masked-LM loss, and the
    /// next-sentence loss when the weights have that head and the slice has
    /// labels for it. With `grad_scale`, the logits are replaced by the
    /// gradient of `scale.masked_lm · mlm loss_sum + scale.next_sentence ·
    /// nsp loss_sum`, ready for [`Pass::backward`].
    pub fn forward(
        &mut self,
        w: &Weights<'_>,
        c: &BertConfig,
        slice: &Slice<'_>,
        dropout: Option<&DropoutPlan>,
        grad_scale: Option<GradScale>,
    ) -> Result<PassStats> {
        let t = slice.seq_len;
        let n = slice.input_ids.len();
        let (h, inter) = (c.hidden_size, c.intermediate_size);
        let eps = c.layer_norm_eps as f32;
        self.positions.clear();
        self.positions.extend((0..n).map(|i| (i % t) as u32));
        self.key_mask.clear();
        self.key_mask
            .extend(slice.attention_mask.iter().map(|&m| m != 0));
        let layers = c.num_hidden_layers;
        self.hidden
            .resize_with(layers + 1, || Array2::zeros((0, 0)));
        self.layers.resize_with(layers, LayerCache::default);

        let x = &mut self.hidden[0];
        reshape(x, (n, h));
        embedding_forward(w.word, slice.input_ids, x.view_mut(), false)?;
        embedding_forward(w.position, &self.positions, x.view_mut(), true)?;
        embedding_forward(w.token_type, slice.token_type_ids, x.view_mut(), true)?;
        layer_norm_forward(
            x.view_mut(),
            w.embedding_norm.gamma,
            w.embedding_norm.beta,
            eps,
            &mut self.embedding_norm,
        );
        hidden_dropout(x, dropout, 0, slice, &mut self.embedding_dropout);

        for (l, (lw, lc)) in w.layers.iter().zip(self.layers.iter_mut()).enumerate() {
            let (before, after) = self.hidden.split_at_mut(l + 1);
            let input = &before[l];
            let out = &mut after[0];
            reshape(&mut lc.qkv, (n, 3 * h));
            reshape(&mut lc.context, (n, h));
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
                &self.key_mask,
                t,
                c.num_attention_heads,
                attention_dropout.as_ref(),
                lc.context.view_mut(),
                &mut lc.attention,
            )?;
            let mid = &mut lc.mid;
            reshape(mid, (n, h));
            let ao = &lw.attention_output;
            linear_forward(
                lc.context.view(),
                ao.weight,
                Some(ao.bias),
                mid.view_mut(),
                false,
            );
            hidden_dropout(mid, dropout, 2 + 3 * l, slice, &mut lc.attention_dropout);
            *mid += input;
            let an = &lw.attention_norm;
            layer_norm_forward(
                mid.view_mut(),
                an.gamma,
                an.beta,
                eps,
                &mut lc.attention_norm,
            );

            let fc = &lw.intermediate;
            reshape(&mut lc.intermediate_pre, (n, inter));
            reshape(&mut lc.intermediate, (n, inter));
            linear_forward(
                mid.view(),
                fc.weight,
                Some(fc.bias),
                lc.intermediate_pre.view_mut(),
                false,
            );
            gelu_forward(
                lc.intermediate_pre.as_slice().expect("contiguous"),
                lc.intermediate.as_slice_mut().expect("contiguous"),
            );
            reshape(out, (n, h));
            let o = &lw.output;
            linear_forward(
                lc.intermediate.view(),
                o.weight,
                Some(o.bias),
                out.view_mut(),
                false,
            );
            hidden_dropout(out, dropout, 3 + 3 * l, slice, &mut lc.output_dropout);
            *out += &*mid;
            let on = &lw.output_norm;
            layer_norm_forward(out.view_mut(), on.gamma, on.beta, eps, &mut lc.output_norm);
        }

        // The MLM head, on labelled rows only.
        self.selected.clear();
        self.selected_labels.clear();
        for (row, &label) in slice.labels.iter().enumerate() {
            if label != IGNORE_INDEX {
                self.selected.push(row);
                self.selected_labels.push(label);
            }
        }
        let m = self.selected.len();
        let last = &self.hidden[layers];
        reshape(&mut self.head_input, (m, h));
        for (mut row, &r) in self.head_input.rows_mut().into_iter().zip(&self.selected) {
            row.assign(&last.row(r));
        }
        reshape(&mut self.head_pre, (m, h));
        let tr = &w.transform;
        linear_forward(
            self.head_input.view(),
            tr.weight,
            Some(tr.bias),
            self.head_pre.view_mut(),
            false,
        );
        reshape(&mut self.head_output, (m, h));
        gelu_forward(
            self.head_pre.as_slice().expect("contiguous"),
            self.head_output.as_slice_mut().expect("contiguous"),
        );
        let tn = &w.transform_norm;
        layer_norm_forward(
            self.head_output.view_mut(),
            tn.gamma,
            tn.beta,
            eps,
            &mut self.head_norm,
        );
        reshape(&mut self.logits, (m, c.vocab_size));
        linear_forward(
            self.head_output.view(),
            w.word,
            Some(w.decoder_bias),
            self.logits.view_mut(),
            false,
        );
        let masked_lm = softmax_cross_entropy(
            self.logits.view_mut(),
            &self.selected_labels,
            grad_scale.map(|s| s.masked_lm),
        )?;

        // The next-sentence head, on the [CLS] row of every sequence.
        let mut next = CrossEntropyStats::default();
        if let Some(head) = next_sentence_head(w, slice) {
            next = next_sentence::forward(
                head,
                last.slice(s![..;t, ..]),
                slice.next_sentence_labels,
                grad_scale.map(|s| s.next_sentence),
                &mut self.next_sentence,
            )?;
        }
        Ok(PassStats {
            masked_lm,
            next_sentence: next,
        })
    }

    /// Backward pass from the logits' gradient left by [`Pass::forward`],
    /// adding every parameter's gradient to `g`.
    pub fn backward(
        &mut self,
        w: &Weights<'_>,
        c: &BertConfig,
        slice: &Slice<'_>,
        g: &mut Grads,
    ) -> Result<()> {
        let n = slice.input_ids.len();
        let h = c.hidden_size;
        let m = self.selected.len();
        let dh = &mut self.scratch.hidden;
        reshape(dh, (n, h));
        dh.fill(0.0);
        if m > 0 {
            self.mlm_head_backward(w, c, g);
        }
        if let (Some(head), Some(head_grads)) =
            (next_sentence_head(w, slice), g.next_sentence.as_mut())
        {
            // The encoder's output still holds the [CLS] rows the head saw.
            let cls_rows = s![..;slice.seq_len, ..];
            next_sentence::backward(
                head,
                self.hidden[c.num_hidden_layers].slice(cls_rows),
                &mut self.next_sentence,
                head_grads,
                self.scratch.hidden.slice_mut(cls_rows),
            );
        }
        self.encoder_backward(w, c, slice, g)
    }

    /// The MLM head's backward pass: its parameters' gradients, and the
    /// labelled rows' gradient added to `scratch.hidden`.
    fn mlm_head_backward(&mut self, w: &Weights<'_>, c: &BertConfig, g: &mut Grads) {
        let h = c.hidden_size;
        let m = self.selected.len();
        let sc = &mut self.scratch;

        // Head: decoder (tied to the word embeddings), layer norm, GELU, dense.
        reshape(&mut sc.head, (m, h));
        linear_backward(
            self.head_output.view(),
            w.word,
            self.logits.view(),
            Some(sc.head.view_mut()),
            false,
            g.word.view_mut(),
            Some(g.decoder_bias.view_mut()),
        );
        layer_norm_backward(
            sc.head.view_mut(),
            w.transform_norm.gamma,
            &self.head_norm,
            g.transform_norm.gamma.view_mut(),
            g.transform_norm.beta.view_mut(),
        );
        gelu_backward(
            self.head_pre.as_slice().expect("contiguous"),
            sc.head.as_slice_mut().expect("contiguous"),
        );
        reshape(&mut sc.selected, (m, h));
        linear_backward(
            self.head_input.view(),
            w.transform.weight,
            sc.head.view(),
            Some(sc.selected.view_mut()),
            false,
            g.transform.weight.view_mut(),
            Some(g.transform.bias.view_mut()),
        );
        for (&row, grad) in self.selected.iter().zip(sc.selected.rows()) {
            let mut target = sc.hidden.row_mut(row);
            target += &grad;
        }
    }

    /// The encoder's backward pass from the output gradient in
    /// `scratch.hidden`.
    fn encoder_backward(
        &mut self,
        w: &Weights<'_>,
        c: &BertConfig,
        slice: &Slice<'_>,
        g: &mut Grads,
    ) -> Result<()> {
        let n = slice.input_ids.len();
        let (h, inter) = (c.hidden_size, c.intermediate_size);
        let sc = &mut self.scratch;
        let dh = &mut sc.hidden;

        // Encoder layers, last first.
        reshape(&mut sc.intermediate, (n, inter));
        reshape(&mut sc.context, (n, h));
        reshape(&mut sc.qkv, (n, 3 * h));
        reshape(&mut sc.mid, (n, h));
        for l in (0..c.num_hidden_layers).rev() {
            let lw = &w.layers[l];
            let lg = &mut g.layers[l];
            let lc = &self.layers[l];
            let input = &self.hidden[l];
            let d_mid = &mut sc.mid;
            // Output block: LayerNorm(dropout(dense(GELU(dense(mid)))) + mid).
            layer_norm_backward(
                dh.view_mut(),
                lw.output_norm.gamma,
                &lc.output_norm,
                lg.output_norm.gamma.view_mut(),
                lg.output_norm.beta.view_mut(),
            );
            d_mid.assign(dh);
            Dropout::backward(&lc.output_dropout, dh.as_slice_mut().expect("contiguous"));
            linear_backward(
                lc.intermediate.view(),
                lw.output.weight,
                dh.view(),
                Some(sc.intermediate.view_mut()),
                false,
                lg.output.weight.view_mut(),
                Some(lg.output.bias.view_mut()),
            );
            gelu_backward(
                lc.intermediate_pre.as_slice().expect("contiguous"),
                sc.intermediate.as_slice_mut().expect("contiguous"),
            );
            linear_backward(
                lc.mid.view(),
                lw.intermediate.weight,
                sc.intermediate.view(),
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
            dh.assign(d_mid);
            Dropout::backward(
                &lc.attention_dropout,
                d_mid.as_slice_mut().expect("contiguous"),
            );
            linear_backward(
                lc.context.view(),
                lw.attention_output.weight,
                d_mid.view(),
                Some(sc.context.view_mut()),
                false,
                lg.attention_output.weight.view_mut(),
                Some(lg.attention_output.bias.view_mut()),
            );
            self_attention_backward(
                lc.qkv.view(),
                &lc.attention,
                sc.context.view(),
                sc.qkv.view_mut(),
            )?;
            linear_backward(
                input.view(),
                lw.qkv_weight.view(),
                sc.qkv.view(),
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
        Ok(())
    }

    /// The logits of the labelled rows (before any gradient was taken).
    pub fn logits(&self) -> &Array2<f32> {
        &self.logits
    }

    /// The next-sentence logits (`[sequences, 2]`) of the last pass that
    /// ran the head.
    pub fn next_sentence_logits(&self) -> &Array2<f32> {
        self.next_sentence.logits()
    }
}

/// The next-sentence head's weights when the pass runs it: with the head
/// and labels for it.
fn next_sentence_head<'a, 'w>(
    w: &'a Weights<'w>,
    slice: &Slice<'_>,
) -> Option<&'a next_sentence::HeadWeights<'w>> {
    w.next_sentence
        .as_ref()
        .filter(|_| !slice.next_sentence_labels.is_empty())
}
