//! Training: weighted least squares over the co-occurrence matrix with
//! AdaGrad and Hogwild threads.
//!
//! For each non-zero `X_ij` the loss is
//! `½ f(X_ij) (w_i·w̃_j + b_i + b̃_j − log X_ij)²` with
//! `f(x) = min(1, (x/x_max)^α)`. Updates follow GloVe's `glove.c`:
//!
//! * each vector component's gradient is clipped to `[−clip, clip]` and
//!   scaled by `η`; the step is that value over `√G`, where the accumulator
//!   `G` starts at 1 and then adds the square of the scaled gradient;
//! * a bias steps by its raw gradient over `√G` (the reference applies no
//!   `η` to biases), its accumulator adding the squared gradient;
//! * both steps of a pair use the values from before the pair's update.
//!
//! The update is written inline on one fused row per word — vector, bias,
//! then their accumulators — rather than through `embed_core::optim`:
//! GloVe's step touches two rows of two matrices per entry, and one fused
//! row means two shared reads and two writes per entry.
//!
//! # Order
//!
//! Each epoch visits every entry once in a fresh random order: the matrix is
//! cut into blocks of [`BLOCK_ENTRIES`]; the blocks are permuted; consecutive
//! blocks fill a chunk (at most [`CHUNK_ENTRIES`] entries, less under a tight
//! memory limit) which is shuffled and split between the threads. A chunk
//! mixes hundreds of blocks from all over the sorted matrix, so the order
//! is close to a full shuffle while each shuffle stays in cache, and a matrix
//! kept in a file is read chunk by chunk. With one thread and a seed,
//! training is reproducible bit for bit.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use embed_core::hogwild::SharedMatrix;
use embed_core::seed::rng;
use embed_core::{Control, Error, Progress, Result, TrainingObserver};
use embed_vocab::Vocabulary;
use rand::seq::SliceRandom;
use rand::Rng;

use crate::cooccur::{vocabulary_fingerprint, Cooccurrence, Cooccurrences};
use crate::model::GloveModel;
use crate::params::GloveParams;

/// Entries per block of the epoch's block permutation.
pub const BLOCK_ENTRIES: usize = 4096;
/// Most entries shuffled together (12 MiB).
pub const CHUNK_ENTRIES: usize = 1 << 20;
/// The smallest training memory limit: one block.
pub(crate) const MIN_TRAINING_MEMORY: usize = BLOCK_ENTRIES * Cooccurrence::ENCODED_LEN;

/// The GloVe trainer.
#[derive(Debug, Clone, Copy, Default)]
pub struct Glove;

impl Glove {
    /// Trains word vectors on `cooccurrences`, counted with `vocab`.
    ///
    /// The observer hears progress after every chunk (`words_done` counts
    /// matrix entries) and the epoch's mean loss at its end; it may stop
    /// training, which returns the model as it is.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] when the matrix was counted with another
    /// vocabulary, [`Error::Diverged`] when the loss stops being finite
    /// (lower `eta`), I/O errors from a matrix kept in a file.
    ///
    /// ```
    /// use embed_glove::{CooccurParams, Cooccurrences, Glove, GloveParams};
    /// use embed_vocab::{InMemoryCorpus, Vocabulary, VocabParams};
    /// let corpus = InMemoryCorpus::from_text("the cat sat on the mat\nthe dog sat on the log");
    /// let vocab = Vocabulary::build(&corpus, &VocabParams::builder().min_count(1).build()?)?;
    /// let x = Cooccurrences::count(&corpus, &vocab, &CooccurParams::builder().memory_mb(1).build()?)?;
    /// let params = GloveParams::builder().dim(8).x_max(10.0).epochs(5).build()?;
    /// let mut log = embed_core::observer::EpochLog::default();
    /// let model = Glove::fit(&params, &x, &vocab, &mut log)?;
    /// assert_eq!(model.word_vectors().dim(), (vocab.len(), 8));
    /// assert!(log.losses()[4] < log.losses()[0]);
    /// # Ok::<(), embed_core::Error>(())
    /// ```
    pub fn fit(
        params: &GloveParams,
        cooccurrences: &Cooccurrences,
        vocab: &Vocabulary,
        observer: &mut dyn TrainingObserver,
    ) -> Result<GloveModel> {
        let vocab_size = vocab.len();
        if cooccurrences.vocab_size() != vocab_size
            || cooccurrences.fingerprint()
                != vocabulary_fingerprint(vocab.words().iter().map(String::as_str))
        {
            return Err(Error::InvalidInput(format!(
                "the co-occurrence matrix was counted with another vocabulary ({} words, this one has {})",
                cooccurrences.vocab_size(),
                vocab_size
            )));
        }
        if cooccurrences.is_empty() {
            return Err(Error::EmptyCorpus {
                source_name: "co-occurrence matrix".into(),
                detail: String::new(),
            });
        }
        let dim = params.dim();
        let weights = initial_weights(vocab_size, dim, params.seed());
        let step = Step {
            dim,
            vocab_size,
            x_max: params.x_max() as f32,
            alpha: params.alpha() as f32,
            eta: params.eta() as f32,
            clip: params.grad_clip() as f32,
        };

        let len = cooccurrences.len();
        let budget = params
            .memory_bytes()
            .saturating_sub(cooccurrences.resident_bytes());
        let chunk_capacity = (budget / Cooccurrence::ENCODED_LEN)
            .clamp(BLOCK_ENTRIES, CHUNK_ENTRIES)
            .min(len as usize);
        let blocks_per_chunk = chunk_capacity.div_ceil(BLOCK_ENTRIES).max(1);
        let num_blocks = len.div_ceil(BLOCK_ENTRIES as u64) as usize;
        let mut chunk: Vec<Cooccurrence> = Vec::with_capacity(blocks_per_chunk * BLOCK_ENTRIES);
        let mut reader = cooccurrences.reader()?;
        let total = len * params.epochs() as u64;
        let started = Instant::now();
        let mut done: u64 = 0;

        'epochs: for epoch in 1..=params.epochs() {
            let mut order_rng = rng(params.seed(), epoch as u64);
            let mut blocks: Vec<u32> = (0..num_blocks as u32).collect();
            blocks.shuffle(&mut order_rng);
            let mut epoch_cost = 0.0_f64;
            let mut epoch_entries = 0_u64;
            for group in blocks.chunks(blocks_per_chunk) {
                chunk.clear();
                for &b in group {
                    let start = b as u64 * BLOCK_ENTRIES as u64;
                    let n = (len - start).min(BLOCK_ENTRIES as u64) as usize;
                    reader.read_range(start, n, &mut chunk)?;
                }
                chunk.shuffle(&mut order_rng);
                let cost = train_chunk(&step, &weights, &chunk, params.threads())
                    .map_err(|()| diverged(epoch, epoch_cost, epoch_entries))?;
                epoch_cost += cost;
                epoch_entries += chunk.len() as u64;
                done += chunk.len() as u64;
                let progress = Progress {
                    epoch,
                    epochs: params.epochs(),
                    words_done: done,
                    words_total: total,
                    words_per_sec: done as f64 / started.elapsed().as_secs_f64().max(1e-9),
                    learning_rate: params.eta(),
                    loss: epoch_cost / epoch_entries as f64,
                };
                if !progress.loss.is_finite() {
                    return Err(diverged(epoch, progress.loss, 1));
                }
                if observer.on_progress(&progress) == Control::Stop {
                    break 'epochs;
                }
                if epoch_entries == len && observer.on_epoch_end(&progress) == Control::Stop {
                    break 'epochs;
                }
            }
        }
        Ok(GloveModel::from_weights(
            vocab.words().to_vec(),
            weights.into_array(),
            dim,
            params.clone(),
        ))
    }
}

fn diverged(epoch: usize, cost: f64, entries: u64) -> Error {
    Error::Diverged {
        epoch,
        loss: cost / entries.max(1) as f64,
        hint: "a prediction or its error is no longer finite; lower eta".into(),
    }
}

/// Rows `0..V` are words, `V..2V` contexts; each row is
/// `[vector (dim), bias, vector accumulators (dim), bias accumulator]`.
/// Vectors and biases start uniform in `[-0.5, 0.5) / dim` as in GloVe,
/// accumulators at 1.
fn initial_weights(vocab_size: usize, dim: usize, seed: u64) -> SharedMatrix {
    let cols = 2 * (dim + 1);
    let mut values = Vec::with_capacity(2 * vocab_size * cols);
    let mut init = rng(seed, 0);
    for _ in 0..2 * vocab_size {
        for _ in 0..=dim {
            values.push((init.gen::<f32>() - 0.5) / dim as f32);
        }
        values.extend(std::iter::repeat_n(1.0_f32, dim + 1));
    }
    SharedMatrix::from_vec(2 * vocab_size, cols, values)
        .expect("row count and width match the values")
}

/// Constants of one update.
struct Step {
    dim: usize,
    vocab_size: usize,
    x_max: f32,
    alpha: f32,
    eta: f32,
    clip: f32,
}

/// Trains on `chunk`, split into one contiguous part per thread; returns
/// the summed weighted squared error, or `Err` when a value diverged.
fn train_chunk(
    step: &Step,
    weights: &SharedMatrix,
    chunk: &[Cooccurrence],
    threads: usize,
) -> Result<f64, ()> {
    if threads <= 1 {
        return train_entries(step, weights, chunk, &AtomicBool::new(false));
    }
    let part = chunk.len().div_ceil(threads).max(1);
    let failed = AtomicBool::new(false);
    let costs: Vec<Result<f64, ()>> = std::thread::scope(|s| {
        let handles: Vec<_> = chunk
            .chunks(part)
            .map(|entries| {
                let failed = &failed;
                s.spawn(move || train_entries(step, weights, entries, failed))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or(Err(())))
            .collect()
    });
    costs.into_iter().sum()
}

/// The hot loop: one AdaGrad step per entry on the fused rows.
fn train_entries(
    step: &Step,
    weights: &SharedMatrix,
    entries: &[Cooccurrence],
    failed: &AtomicBool,
) -> Result<f64, ()> {
    let d = step.dim;
    let mut w = vec![0.0_f32; 2 * (d + 1)];
    let mut c = vec![0.0_f32; 2 * (d + 1)];
    let mut cost = 0.0_f64;
    for (n, e) in entries.iter().enumerate() {
        if n % 4096 == 0 && failed.load(Ordering::Relaxed) {
            return Err(());
        }
        let word_row = e.word as usize;
        let context_row = step.vocab_size + e.context as usize;
        weights.read_row(word_row, &mut w);
        weights.read_row(context_row, &mut c);
        let (w_vec, w_rest) = w.split_at_mut(d);
        let (c_vec, c_rest) = c.split_at_mut(d);
        let (w_bias, w_acc) = w_rest.split_first_mut().expect("row has a bias");
        let (c_bias, c_acc) = c_rest.split_first_mut().expect("row has a bias");

        let diff = embed_core::kernels::dot(w_vec, c_vec) + *w_bias + *c_bias - e.count.ln();
        let weight = if e.count > step.x_max {
            1.0
        } else {
            (e.count / step.x_max).powf(step.alpha)
        };
        let fdiff = weight * diff;
        if !(diff.is_finite() && fdiff.is_finite()) {
            failed.store(true, Ordering::Relaxed);
            return Err(());
        }
        cost += 0.5 * fdiff as f64 * diff as f64;

        let (w_acc, w_bias_acc) = w_acc.split_at_mut(d);
        let (c_acc, c_bias_acc) = c_acc.split_at_mut(d);
        for b in 0..d {
            let g_w = (fdiff * c_vec[b]).clamp(-step.clip, step.clip) * step.eta;
            let g_c = (fdiff * w_vec[b]).clamp(-step.clip, step.clip) * step.eta;
            w_vec[b] -= g_w / w_acc[b].sqrt();
            c_vec[b] -= g_c / c_acc[b].sqrt();
            w_acc[b] += g_w * g_w;
            c_acc[b] += g_c * g_c;
        }
        *w_bias -= fdiff / w_bias_acc[0].sqrt();
        *c_bias -= fdiff / c_bias_acc[0].sqrt();
        w_bias_acc[0] += fdiff * fdiff;
        c_bias_acc[0] += fdiff * fdiff;

        weights.write_row(word_row, &w);
        weights.write_row(context_row, &c);
    }
    Ok(cost)
}
