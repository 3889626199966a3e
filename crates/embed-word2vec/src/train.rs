//! The training loop: epochs over corpus shards, which the threads take in
//! corpus order, updating shared matrices without locks.
//!
//! A thread reads one byte range of the corpus at a time, maps words to ids,
//! drops frequent words by word2vec C's subsampling, and trains every
//! position of each sentence. Every 10,000 words a thread adds its count to
//! the shared total and recomputes the learning rate from it, so the rate
//! follows the work done by all threads together, as in word2vec C. The
//! calling thread meanwhile reports progress to the observer.
//!
//! With one thread and a seed, training is a pure function of its inputs
//! (bit for bit). With several, the threads' updates interleave in an order
//! the scheduler decides, and each thread reads rows that others are
//! writing (Hogwild): results differ from run to run by about as much as
//! two seeds differ, never in quality.

use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Mutex};
use std::time::{Duration, Instant};

use embed_core::hogwild::SharedMatrix;
use embed_core::observer::{Control, Progress, TrainingObserver};
use embed_core::seed::{derive_seed, Lcg};
use embed_core::{Error, Result};
use embed_vocab::{Corpus, CorpusShard, HuffmanTree, NoiseSampler, Subsampler, Vocabulary};
use ndarray::Array2;

use crate::params::{Architecture, CbowContext, ValidWord2VecParams};
use crate::sigmoid::Sigmoid;
use crate::update::{
    cbow_sentence, skip_gram_sentence, unit_random, LossSum, OutputLayers, Scratch,
};

/// Words a thread trains between two looks at the shared state.
const SYNC_WORDS: u64 = 10_000;
/// How often the observer hears about progress.
const REPORT_EVERY: Duration = Duration::from_millis(250);
/// Stream numbers of [`derive_seed`] for the shard generators of epoch `e`
/// start at `e * THREAD_STREAMS`.
const THREAD_STREAMS: u64 = 1 << 16;
/// Byte-range shards per thread when several threads train.
const SHARDS_PER_THREAD: usize = 32;

/// How many byte-range shards a corpus is cut into for `threads` threads:
/// one for a single thread (its order is the file's), else
/// [`SHARDS_PER_THREAD`] per thread, taken in corpus order.
///
/// With one shard per thread (word2vec C's split), each thread trains its
/// own stretch of the corpus from the start of the epoch, so text from
/// distant parts of a corpus ordered by topic (Wikipedia articles) meets
/// the same learning rates. Many shards taken in order keep the threads on
/// nearby text, as one thread would be: on wiki17m, 1 epoch of skip-gram
/// at 2 threads scored 13.1–14.0% on analogies (seeds 1–3) against
/// 12.3–13.1% with word2vec C's split and 13.4% at one thread.
fn shard_count(threads: usize) -> usize {
    if threads <= 1 {
        1
    } else {
        threads * SHARDS_PER_THREAD
    }
}

/// The model's matrices as plain arrays between training runs.
pub(crate) struct Weights {
    /// Input vectors (`syn0`), one row per word.
    pub input: Array2<f32>,
    /// Negative-sampling output vectors (`syn1neg`), one row per word.
    pub output: Option<Array2<f32>>,
    /// Hierarchical-softmax inner-node vectors (`syn1`).
    pub nodes: Option<Array2<f32>>,
}

impl Weights {
    /// word2vec C's initialisation: input rows uniform in
    /// `[-0.5/dim, 0.5/dim)`, output rows zero (drawn from the generator's
    /// high bits, see [`unit_random`]).
    pub(crate) fn init(params: &ValidWord2VecParams, words: usize) -> Weights {
        let dim = params.dim();
        let mut rng = Lcg::new(derive_seed(params.seed(), u64::MAX));
        let input = Array2::from_shape_simple_fn((words, dim), || {
            (unit_random(&mut rng) - 0.5) / dim as f32
        });
        let loss = params.loss();
        Weights {
            input,
            output: loss
                .uses_negative_sampling()
                .then(|| Array2::zeros((words, dim))),
            nodes: loss
                .uses_hierarchical_softmax()
                .then(|| Array2::zeros((words.saturating_sub(1).max(1), dim))),
        }
    }
}

/// What one call to [`train`] did.
#[derive(Debug, Clone, Default)]
pub(crate) struct TrainingReport {
    /// Mean loss of each completed epoch.
    pub epoch_losses: Vec<f64>,
    /// Whether the observer stopped training early.
    pub stopped: bool,
}

/// Counters the threads share.
struct Shared {
    words_done: AtomicU64,
    stop: AtomicBool,
    epoch_loss: Mutex<LossSum>,
}

impl Shared {
    fn add_loss(&self, sum: LossSum) {
        // A poisoned lock only means another thread panicked; the sum is
        // still meaningful.
        let mut total = self.epoch_loss.lock().unwrap_or_else(|e| e.into_inner());
        total.loss += sum.loss;
        total.predictions += sum.predictions;
    }

    fn epoch_loss(&self) -> LossSum {
        *self.epoch_loss.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn mean(sum: LossSum) -> f64 {
    if sum.predictions == 0 {
        0.0
    } else {
        sum.loss / sum.predictions as f64
    }
}

/// The learning rate after `done` of `words_total` words: linear from
/// `alpha` to `min_alpha` (gensim's form; with word2vec C's default
/// `min_alpha = alpha · 1e-4` it differs from word2vec C's floored decay
/// `alpha · (1 − done/total)` by at most `min_alpha`).
struct Schedule {
    alpha: f64,
    min_alpha: f64,
    words_total: u64,
}

impl Schedule {
    fn rate(&self, done: u64) -> f64 {
        let progress = (done as f64 / self.words_total as f64).min(1.0);
        self.alpha - (self.alpha - self.min_alpha) * progress
    }
}

/// Everything a training thread reads but never writes.
struct Plan<'a> {
    params: &'a ValidWord2VecParams,
    vocab: &'a Vocabulary,
    sigmoid: Sigmoid,
    subsampler: Option<Subsampler>,
    noise: Option<NoiseSampler>,
    tree: Option<HuffmanTree>,
    schedule: Schedule,
}

/// Trains `weights` for `params.epochs()` epochs over `corpus`.
///
/// `first_epoch` is the number of epochs the weights have already seen (it
/// picks fresh random streams for continued training).
pub(crate) fn train(
    corpus: &dyn Corpus,
    params: &ValidWord2VecParams,
    vocab: &Vocabulary,
    weights: &mut Weights,
    first_epoch: usize,
    observer: &mut dyn TrainingObserver,
) -> Result<TrainingReport> {
    let epochs = params.epochs();
    let words_total = vocab.total_words().saturating_mul(epochs as u64);
    let plan = Plan {
        params,
        vocab,
        sigmoid: Sigmoid::new(params.sigmoid()),
        subsampler: if params.sample() > 0.0 {
            Some(Subsampler::new(vocab, params.sample())?)
        } else {
            None
        },
        noise: if params.loss().uses_negative_sampling() {
            Some(NoiseSampler::new(vocab.counts(), 0.75)?)
        } else {
            None
        },
        tree: if params.loss().uses_hierarchical_softmax() {
            Some(HuffmanTree::new(vocab.counts())?)
        } else {
            None
        },
        schedule: Schedule {
            alpha: params.alpha() as f64,
            min_alpha: params.min_alpha() as f64,
            words_total: words_total.max(1),
        },
    };
    let shards = corpus.shards(shard_count(params.threads()))?;

    let input = SharedMatrix::from_array(std::mem::take(&mut weights.input));
    let output = weights.output.take().map(SharedMatrix::from_array);
    let nodes = weights.nodes.take().map(SharedMatrix::from_array);
    let shared = Shared {
        words_done: AtomicU64::new(0),
        stop: AtomicBool::new(false),
        epoch_loss: Mutex::new(LossSum::default()),
    };
    let started = Instant::now();
    let mut report = TrainingReport::default();

    let result = (|| {
        for epoch in 1..=epochs {
            *shared.epoch_loss.lock().unwrap_or_else(|e| e.into_inner()) = LossSum::default();
            let layers = OutputLayers {
                negative: output
                    .as_ref()
                    .zip(plan.noise.as_ref())
                    .map(|(m, n)| (m, n, params.negative())),
                hierarchical: nodes.as_ref().zip(plan.tree.as_ref()),
            };
            let progress = |words_done: u64| Progress {
                epoch,
                epochs,
                words_done,
                words_total,
                words_per_sec: words_done as f64 / started.elapsed().as_secs_f64().max(1e-9),
                learning_rate: plan.schedule.rate(words_done),
                loss: mean(shared.epoch_loss()),
            };
            let global_epoch = (first_epoch + epoch) as u64;
            // Threads take the shards in corpus order from a shared
            // counter, so at any moment they all train on nearby text.
            let next_shard = AtomicUsize::new(0);
            let outcome = std::thread::scope(|scope| -> Result<()> {
                let (done_tx, done_rx) = mpsc::channel::<()>();
                let handles: Vec<_> = (0..params.threads().min(shards.len()))
                    .map(|_| {
                        let done_tx = done_tx.clone();
                        let (plan, shared, input, layers) = (&plan, &shared, &input, &layers);
                        let (shards, next_shard) = (&shards, &next_shard);
                        scope.spawn(move || {
                            let r = run_shards(
                                plan,
                                shards,
                                next_shard,
                                global_epoch,
                                input,
                                layers,
                                shared,
                            );
                            if r.is_err() {
                                shared.stop.store(true, Ordering::Relaxed);
                            }
                            let _ = done_tx.send(());
                            r
                        })
                    })
                    .collect();
                drop(done_tx);
                let mut running = handles.len();
                while running > 0 {
                    match done_rx.recv_timeout(REPORT_EVERY) {
                        Ok(()) => running -= 1,
                        Err(mpsc::RecvTimeoutError::Disconnected) => break,
                        Err(mpsc::RecvTimeoutError::Timeout) => {
                            let p = progress(shared.words_done.load(Ordering::Relaxed));
                            if observer.on_progress(&p) == Control::Stop {
                                shared.stop.store(true, Ordering::Relaxed);
                            }
                        }
                    }
                }
                for h in handles {
                    h.join().map_err(|_| {
                        Error::InvalidInput("a training thread panicked".to_string())
                    })??;
                }
                Ok(())
            });
            outcome?;
            let summary = progress(shared.words_done.load(Ordering::Relaxed));
            if !summary.loss.is_finite() {
                return Err(diverged(params, epoch, summary.loss));
            }
            let stopped_inside = shared.stop.load(Ordering::Relaxed);
            if !stopped_inside {
                report.epoch_losses.push(summary.loss);
            }
            if observer.on_epoch_end(&summary) == Control::Stop || stopped_inside {
                report.stopped = true;
                break;
            }
        }
        Ok(())
    })();

    weights.input = input.into_array();
    weights.output = output.map(SharedMatrix::into_array);
    weights.nodes = nodes.map(SharedMatrix::into_array);
    result.map(|()| report)
}

fn diverged(params: &ValidWord2VecParams, epoch: usize, loss: f64) -> Error {
    Error::Diverged {
        epoch,
        loss,
        hint: format!(
            "the starting learning rate alpha = {} is likely too high for these data \
             (word2vec's defaults are 0.025 for skip-gram and 0.05 for CBOW); lower it",
            params.alpha()
        ),
    }
}

/// One thread's part of an epoch: the next untrained shard, in corpus
/// order, until none is left or training stops. A shard's generator
/// derives from its index, whichever thread trains it.
fn run_shards(
    plan: &Plan<'_>,
    shards: &[Box<dyn CorpusShard + '_>],
    next_shard: &AtomicUsize,
    global_epoch: u64,
    input: &SharedMatrix,
    layers: &OutputLayers<'_>,
    shared: &Shared,
) -> Result<()> {
    loop {
        let i = next_shard.fetch_add(1, Ordering::Relaxed);
        let Some(shard) = shards.get(i) else {
            return Ok(());
        };
        if shared.stop.load(Ordering::Relaxed) {
            return Ok(());
        }
        let seed = derive_seed(plan.params.seed(), global_epoch * THREAD_STREAMS + i as u64);
        run_shard(plan, &**shard, seed, input, layers, shared)?;
    }
}

/// Trains one epoch over one shard.
fn run_shard(
    plan: &Plan<'_>,
    shard: &dyn CorpusShard,
    seed: u64,
    input: &SharedMatrix,
    layers: &OutputLayers<'_>,
    shared: &Shared,
) -> Result<()> {
    let params = plan.params;
    let window = params.window();
    let mean = params.cbow_context() == CbowContext::Mean;
    let mut rng = Lcg::new(seed);
    let mut scratch = Scratch::new(params.dim());
    let mut ids: Vec<u32> = Vec::with_capacity(1024);
    let mut kept: Vec<u32> = Vec::with_capacity(1024);
    let mut unsynced_words = 0u64;
    let mut unsynced_loss = LossSum::default();
    let mut alpha = plan
        .schedule
        .rate(shared.words_done.load(Ordering::Relaxed)) as f32;

    let sync = |words: &mut u64, loss: &mut LossSum| -> (f32, bool) {
        let done = shared.words_done.fetch_add(*words, Ordering::Relaxed) + *words;
        shared.add_loss(*loss);
        let finite = loss.loss.is_finite();
        if !finite {
            shared.stop.store(true, Ordering::Relaxed);
        }
        *words = 0;
        *loss = LossSum::default();
        let stop = !finite || shared.stop.load(Ordering::Relaxed);
        (plan.schedule.rate(done) as f32, stop)
    };

    shard.for_each_sentence(&mut |tokens| {
        plan.vocab.ids_into(tokens, &mut ids);
        unsynced_words += ids.len() as u64;
        kept.clear();
        match &plan.subsampler {
            Some(s) => kept.extend(ids.iter().filter(|&&id| s.keep(id, unit_random(&mut rng)))),
            None => kept.extend_from_slice(&ids),
        }
        let sum = match params.architecture() {
            Architecture::SkipGram => skip_gram_sentence(
                &kept,
                window,
                input,
                layers,
                alpha,
                &plan.sigmoid,
                &mut rng,
                &mut scratch,
            ),
            Architecture::Cbow => cbow_sentence(
                &kept,
                window,
                mean,
                input,
                layers,
                alpha,
                &plan.sigmoid,
                &mut rng,
                &mut scratch,
            ),
        };
        unsynced_loss.loss += sum.loss;
        unsynced_loss.predictions += sum.predictions;
        if unsynced_words >= SYNC_WORDS {
            let (rate, stop) = sync(&mut unsynced_words, &mut unsynced_loss);
            alpha = rate;
            if stop {
                return ControlFlow::Break(());
            }
        }
        ControlFlow::Continue(())
    })?;
    sync(&mut unsynced_words, &mut unsynced_loss);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learning_rate_falls_linearly_from_alpha_to_min_alpha() {
        let s = Schedule {
            alpha: 0.025,
            min_alpha: 0.0001,
            words_total: 1000,
        };
        assert_eq!(s.rate(0), 0.025);
        assert!((s.rate(500) - 0.01255).abs() < 1e-12);
        assert!((s.rate(1000) - 0.0001).abs() < 1e-12);
        assert!((s.rate(5000) - 0.0001).abs() < 1e-12);
    }
}
