//! Multi-head scaled dot-product self-attention with an additive padding
//! mask, for a batch of sequences whose projected queries, keys and values
//! sit side by side in one `[batch·length, 3·hidden]` matrix (rows grouped
//! by sequence; head `h` uses columns `h·d .. (h+1)·d` of each third).
//!
//! For one sequence and head, with `d` the head width:
//!
//! ```text
//! S = Q·Kᵀ/√d + M      M = most negative f32 on padded keys, else 0
//! P = softmax(S)        (each row)
//! O = dropout(P)·V
//! ```
//!
//! and backwards `dV = dropout(P)ᵀ·dO`, `dP = dropout'(dO·Vᵀ)`,
//! `dS = P ⊙ (dP − rowsum(dP ⊙ P))`, `dQ = dS·K/√d`, `dK = dSᵀ·Q/√d`.
//! Padded queries are computed like real ones (as Hugging Face does).
//!
//! ```
//! use embed_core::nn::attention::{self_attention_forward, AttentionCache};
//! use ndarray::{array, Array2};
//! // One sequence of two tokens, one head of width 1; the second key is padding.
//! let qkv = array![[1.0_f32, 1.0, 10.0], [1.0, 5.0, 20.0]];
//! let mut context = Array2::zeros((2, 1));
//! let mut cache = AttentionCache::default();
//! self_attention_forward(qkv.view(), &[true, false], 2, 1, None, context.view_mut(), &mut cache)?;
//! assert_eq!(context, array![[10.0], [10.0]]);
//! # Ok::<(), embed_core::Error>(())
//! ```

use ndarray::{s, Array2, ArrayView2, ArrayViewMut2};

use super::dropout::Dropout;
use super::softmax::{softmax_backward, softmax_inplace};
use crate::linalg::matmul_into;
use crate::seed;
use crate::{Error, Result};

/// Dropout on the attention probabilities. The mask of sequence `i` of the
/// batch and head `h` is drawn from `seed::rng(seed, (first_sequence + i)
/// · heads + h)`, so that it does not depend on how a larger batch was
/// split into the one at hand.
#[derive(Debug, Clone, Copy)]
pub struct AttentionDropout {
    /// The drop probability.
    pub dropout: Dropout,
    /// Seed of the masks.
    pub seed: u64,
    /// Index of the batch's first sequence in the whole batch.
    pub first_sequence: usize,
}

/// What the backward pass needs: the attention probabilities of every
/// sequence and head (`[batch, heads, length, length]`) and the dropout
/// multipliers applied to them. Reused across calls.
#[derive(Debug, Clone, Default)]
pub struct AttentionCache {
    probs: Vec<f32>,
    dropout_mask: Vec<f32>,
    seq_len: usize,
    heads: usize,
}

impl AttentionCache {
    /// The probabilities of sequence `sequence` and head `head`, `[length, length]`.
    ///
    /// # Panics
    /// When the sequence or head was not computed.
    pub fn probs(&self, sequence: usize, head: usize) -> ArrayView2<'_, f32> {
        let t = self.seq_len;
        let start = (sequence * self.heads + head) * t * t;
        ArrayView2::from_shape((t, t), &self.probs[start..start + t * t]).expect("cached block")
    }
}

/// Checks the shapes shared by the forward and backward passes; returns
/// `(batch, hidden)`.
fn check_shapes(
    qkv: ArrayView2<'_, f32>,
    out: (usize, usize),
    seq_len: usize,
    heads: usize,
) -> Result<(usize, usize)> {
    let (rows, width) = qkv.dim();
    if seq_len == 0 || heads == 0 || !rows.is_multiple_of(seq_len) {
        return Err(Error::InvalidInput(format!(
            "attention: {rows} rows are not whole sequences of length {seq_len} (heads {heads})"
        )));
    }
    if !width.is_multiple_of(3) || !(width / 3).is_multiple_of(heads) {
        return Err(Error::InvalidInput(format!(
            "attention: {width} columns are not 3 × hidden with hidden divisible by {heads} heads"
        )));
    }
    let hidden = width / 3;
    if out != (rows, hidden) {
        return Err(Error::InvalidInput(format!(
            "attention: output is {out:?}, expected ({rows}, {hidden})"
        )));
    }
    Ok((rows / seq_len, hidden))
}

/// Forward pass: writes the concatenated heads' outputs into `context`
/// (`[batch·length, hidden]`) and fills `cache`. `key_mask[i]` is `false`
/// where row `i` is padding. Runs on the calling thread.
pub fn self_attention_forward(
    qkv: ArrayView2<'_, f32>,
    key_mask: &[bool],
    seq_len: usize,
    heads: usize,
    dropout: Option<&AttentionDropout>,
    mut context: ArrayViewMut2<'_, f32>,
    cache: &mut AttentionCache,
) -> Result<()> {
    let (batch, hidden) = check_shapes(qkv, context.dim(), seq_len, heads)?;
    if key_mask.len() != qkv.nrows() {
        return Err(Error::InvalidInput(format!(
            "attention: {} mask entries for {} rows",
            key_mask.len(),
            qkv.nrows()
        )));
    }
    let t = seq_len;
    let d = hidden / heads;
    let scale = 1.0 / (d as f32).sqrt();
    let block = t * t;
    cache.seq_len = t;
    cache.heads = heads;
    cache.probs.resize(batch * heads * block, 0.0);
    let dropout = dropout.filter(|a| a.dropout.is_active());
    cache.dropout_mask.resize(
        if dropout.is_some() {
            batch * heads * block
        } else {
            0
        },
        0.0,
    );
    let mut dropped = Array2::<f32>::zeros(if dropout.is_some() { (t, t) } else { (0, 0) });

    for b in 0..batch {
        let rows = s![b * t..(b + 1) * t, ..];
        let seq = qkv.slice(rows);
        let mask = &key_mask[b * t..(b + 1) * t];
        let mut seq_context = context.slice_mut(rows);
        for h in 0..heads {
            let col = h * d;
            let q = seq.slice(s![.., col..col + d]);
            let k = seq.slice(s![.., hidden + col..hidden + col + d]);
            let v = seq.slice(s![.., 2 * hidden + col..2 * hidden + col + d]);
            let offset = (b * heads + h) * block;
            let probs = &mut cache.probs[offset..offset + block];
            let mut scores = ArrayViewMut2::from_shape((t, t), &mut *probs).expect("t × t block");
            matmul_into(q, k.t(), scores.view_mut(), false, false);
            for row in probs.chunks_exact_mut(t) {
                for (s, &keep) in row.iter_mut().zip(mask) {
                    *s *= scale;
                    if !keep {
                        *s += f32::MIN;
                    }
                }
                softmax_inplace(row);
            }
            let probs = ArrayView2::from_shape((t, t), &cache.probs[offset..offset + block])
                .expect("t × t block");
            let out = seq_context.slice_mut(s![.., col..col + d]);
            match dropout {
                Some(a) => {
                    let multipliers = &mut cache.dropout_mask[offset..offset + block];
                    let stream = ((a.first_sequence + b) * heads + h) as u64;
                    a.dropout
                        .fill_mask(&mut seed::rng(a.seed, stream), multipliers);
                    ndarray::Zip::from(&mut dropped)
                        .and(&probs)
                        .and(&ArrayView2::from_shape((t, t), &*multipliers).expect("t × t block"))
                        .for_each(|o, &p, &m| *o = p * m);
                    matmul_into(dropped.view(), v, out, false, false);
                }
                None => matmul_into(probs, v, out, false, false),
            }
        }
    }
    Ok(())
}

/// Backward pass: from `dcontext = ∂L/∂context`, writes `∂L/∂qkv` into
/// `dqkv` (same layout as `qkv`), using the `qkv` and `cache` of the
/// forward pass.
pub fn self_attention_backward(
    qkv: ArrayView2<'_, f32>,
    cache: &AttentionCache,
    dcontext: ArrayView2<'_, f32>,
    mut dqkv: ArrayViewMut2<'_, f32>,
) -> Result<()> {
    let (t, heads) = (cache.seq_len, cache.heads);
    let (batch, hidden) = check_shapes(qkv, dcontext.dim(), t, heads)?;
    if dqkv.dim() != qkv.dim() || cache.probs.len() < batch * heads * t * t {
        return Err(Error::InvalidInput(
            "attention: gradient or cache does not match the forward pass".into(),
        ));
    }
    let d = hidden / heads;
    let scale = 1.0 / (d as f32).sqrt();
    let block = t * t;
    let with_dropout = !cache.dropout_mask.is_empty();
    let mut dropped = Array2::<f32>::zeros(if with_dropout { (t, t) } else { (0, 0) });
    let mut dscores = Array2::<f32>::zeros((t, t));

    for b in 0..batch {
        let rows = s![b * t..(b + 1) * t, ..];
        let seq = qkv.slice(rows);
        let dseq = dcontext.slice(rows);
        let mut dqkv_seq = dqkv.slice_mut(rows);
        for h in 0..heads {
            let col = h * d;
            let q = seq.slice(s![.., col..col + d]);
            let k = seq.slice(s![.., hidden + col..hidden + col + d]);
            let v = seq.slice(s![.., 2 * hidden + col..2 * hidden + col + d]);
            let dout = dseq.slice(s![.., col..col + d]);
            let offset = (b * heads + h) * block;
            let probs_flat = &cache.probs[offset..offset + block];
            let probs = ArrayView2::from_shape((t, t), probs_flat).expect("t × t block");
            let multipliers = with_dropout.then(|| &cache.dropout_mask[offset..offset + block]);

            // dV = dropout(P)ᵀ · dO
            let dv = dqkv_seq.slice_mut(s![.., 2 * hidden + col..2 * hidden + col + d]);
            match multipliers {
                Some(m) => {
                    let m = ArrayView2::from_shape((t, t), m).expect("t × t block");
                    ndarray::Zip::from(&mut dropped)
                        .and(&probs)
                        .and(&m)
                        .for_each(|o, &p, &m| *o = p * m);
                    matmul_into(dropped.t(), dout, dv, false, false);
                }
                None => matmul_into(probs.t(), dout, dv, false, false),
            }
            // dP = dO · Vᵀ, through the dropout mask, then the softmax.
            matmul_into(dout, v.t(), dscores.view_mut(), false, false);
            let ds = dscores.as_slice_mut().expect("standard layout");
            if let Some(m) = multipliers {
                ds.iter_mut().zip(m).for_each(|(g, m)| *g *= m);
            }
            for (g, p) in ds.chunks_exact_mut(t).zip(probs_flat.chunks_exact(t)) {
                softmax_backward(p, g);
                g.iter_mut().for_each(|x| *x *= scale);
            }
            // dQ = dS · K, dK = dSᵀ · Q (the 1/√d is already in dS).
            let dq = dqkv_seq.slice_mut(s![.., col..col + d]);
            matmul_into(dscores.view(), k, dq, false, false);
            let dk = dqkv_seq.slice_mut(s![.., hidden + col..hidden + col + d]);
            matmul_into(dscores.t(), q, dk, false, false);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::gradcheck::{max_relative_error, numerical_gradient, weighted_sum};
    use crate::nn::testing::random_array;
    use proptest::prelude::*;

    fn forward(
        qkv: ArrayView2<'_, f32>,
        mask: &[bool],
        t: usize,
        heads: usize,
        dropout: Option<&AttentionDropout>,
    ) -> Array2<f32> {
        let mut out = Array2::zeros((qkv.nrows(), qkv.ncols() / 3));
        self_attention_forward(
            qkv,
            mask,
            t,
            heads,
            dropout,
            out.view_mut(),
            &mut AttentionCache::default(),
        )
        .unwrap();
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        /// Tolerance: 2e-2 relative, gradients below 5e-2 compared
        /// absolutely (f32 forward, step 5e-3, inputs in [-1, 1)).
        #[test]
        fn gradients_match_finite_differences(
            batch in 1usize..3, t in 1usize..5, heads in 1usize..3, d in 1usize..4,
            pad in proptest::collection::vec(proptest::bool::weighted(0.3), 8),
            p in prop_oneof![Just(0.0f32), 0.1f32..0.5], seed in 0u64..1000,
        ) {
            let hidden = heads * d;
            let mut qkv = random_array((batch * t, 3 * hidden), seed);
            // The first position of each sequence is real; others may be padding.
            let mask: Vec<bool> = (0..batch * t).map(|i| i % t == 0 || !pad[i % 8]).collect();
            let r = random_array((batch * t, hidden), seed + 1);
            let r_flat = r.as_slice().unwrap().to_vec();
            let dropout = AttentionDropout { dropout: Dropout::new(p).unwrap(), seed, first_sequence: 3 };
            let mut context = Array2::zeros((batch * t, hidden));
            let mut cache = AttentionCache::default();
            self_attention_forward(qkv.view(), &mask, t, heads, Some(&dropout), context.view_mut(), &mut cache).unwrap();
            let mut dqkv = Array2::from_elem(qkv.dim(), f32::NAN);
            self_attention_backward(qkv.view(), &cache, r.view(), dqkv.view_mut()).unwrap();
            let dim = qkv.dim();
            let numeric = numerical_gradient(qkv.as_slice_mut().unwrap(), 5e-3, |xs| {
                let x = ArrayView2::from_shape(dim, xs).unwrap();
                weighted_sum(forward(x, &mask, t, heads, Some(&dropout)).as_slice().unwrap(), &r_flat)
            });
            prop_assert!(max_relative_error(dqkv.as_slice().unwrap(), &numeric, 5e-2) < 2e-2);
        }
    }

    #[test]
    fn padded_keys_get_no_weight_and_no_gradient() {
        let qkv = random_array((3, 6), 4);
        let mask = [true, true, false];
        let mut cache = AttentionCache::default();
        let mut context = Array2::zeros((3, 2));
        self_attention_forward(
            qkv.view(),
            &mask,
            3,
            1,
            None,
            context.view_mut(),
            &mut cache,
        )
        .unwrap();
        assert!(cache.probs(0, 0).column(2).iter().all(|&p| p == 0.0));
        let mut dqkv = Array2::zeros((3, 6));
        self_attention_backward(
            qkv.view(),
            &cache,
            Array2::ones((3, 2)).view(),
            dqkv.view_mut(),
        )
        .unwrap();
        // The padded key and value receive nothing.
        assert!(dqkv.row(2).slice(s![2..]).iter().all(|&g| g == 0.0));
    }

    #[test]
    fn bad_shapes_are_errors() {
        let qkv = Array2::<f32>::zeros((5, 6));
        let mut context = Array2::zeros((5, 2));
        let mut cache = AttentionCache::default();
        let err = self_attention_forward(
            qkv.view(),
            &[true; 5],
            2,
            1,
            None,
            context.view_mut(),
            &mut cache,
        );
        assert!(err.is_err());
        let err = self_attention_forward(
            qkv.view(),
            &[true; 4],
            5,
            1,
            None,
            context.view_mut(),
            &mut cache,
        );
        assert!(err.is_err());
    }
}
