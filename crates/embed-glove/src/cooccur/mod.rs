//! Co-occurrence counting with bounded memory.
//!
//! [`Cooccurrences::count`] reads the corpus in one shard per thread. Each
//! thread keeps a dense table for frequent pairs and a sparse buffer that it
//! sorts and spills to a temporary file when full ([`counter`]); the memory
//! limit is split evenly between the threads, half for each structure. The
//! threads' dense tables are then summed and merged with all spilled runs
//! into the finished matrix ([`spill`]), which stays in memory if it fits
//! what is left of the limit and is otherwise written to a file that
//! training streams ([`matrix`]). Temporary files live in one private
//! directory removed on success and on error.
//!
//! Counts are accumulated in `f64` (dense table, runs, merge) and stored as
//! `f32` in the finished matrix: training only reads `log x` and
//! `f(x)`, for which seven digits are plenty, and 12-byte entries take
//! three quarters of the memory and disk of GloVe's 16-byte ones.
//!
//! Sentences are the corpus's: the window never crosses a sentence boundary.
//! GloVe's `cooccur` resets its window at each newline and skips words
//! outside the vocabulary without counting them as positions; so does this
//! counter. A corpus splits lines longer than its maximum sentence length
//! into chunks (see `embed_vocab::TextCorpus::with_max_sentence_len`), and
//! shard boundaries cut lines too: each cut loses the pairs that would span
//! it (at most `window·(window+1)/2` per side), a negligible share when
//! chunks hold thousands of words.

mod counter;
mod matrix;
mod record;
mod spill;

use std::ops::ControlFlow;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use embed_core::{Error, Progress, Result, TrainingObserver};
use embed_vocab::{Corpus, Vocabulary};

use crate::params::CooccurParams;
use counter::{add_tables, CountingShape, DenseLayout, DenseSource, ShardCount, ShardCounter};
pub use matrix::{vocabulary_fingerprint, Cooccurrences};
use matrix::{MatrixInfo, MatrixSink};
pub use record::Cooccurrence;
use spill::{merge_sorted, open_runs, SortedSource, SpillDir};

/// How often counting reports progress.
const PROGRESS_INTERVAL: Duration = Duration::from_millis(200);

impl Cooccurrences {
    /// Counts the co-occurrences of `corpus` over the words of `vocab`.
    ///
    /// ```
    /// use embed_glove::{CooccurParams, Cooccurrences};
    /// use embed_vocab::{InMemoryCorpus, Vocabulary, VocabParams};
    /// let corpus = InMemoryCorpus::from_text("a b a c\nb a");
    /// let vocab = Vocabulary::build(&corpus, &VocabParams::builder().min_count(1).build()?)?;
    /// let params = CooccurParams::builder().window(2).memory_mb(1).build()?;
    /// let x = Cooccurrences::count(&corpus, &vocab, &params)?;
    /// let a = vocab.id("a").unwrap();
    /// let total: f32 = x.entries()?.iter().filter(|e| e.word == a).map(|e| e.count).sum();
    /// // a's left and right neighbours: b (1), b (1/2 + 1), c (1), a (1/2 twice).
    /// assert_eq!(total, 5.0);
    /// # Ok::<(), embed_core::Error>(())
    /// ```
    pub fn count(corpus: &dyn Corpus, vocab: &Vocabulary, params: &CooccurParams) -> Result<Self> {
        Self::count_observed(
            corpus,
            vocab,
            params,
            &mut embed_core::observer::NoopObserver,
        )
    }

    /// [`Cooccurrences::count`], reporting progress: `words_done` counts
    /// tokens read, `words_total` is the vocabulary's corpus word count,
    /// `epoch` is 0 of 1. Counting ignores requests to stop.
    pub fn count_observed(
        corpus: &dyn Corpus,
        vocab: &Vocabulary,
        params: &CooccurParams,
        observer: &mut dyn TrainingObserver,
    ) -> Result<Self> {
        if vocab.is_empty() {
            return Err(Error::EmptyCorpus {
                source_name: corpus.description(),
                detail: " (empty vocabulary)".into(),
            });
        }
        if vocab.len() > u32::MAX as usize {
            return Err(Error::InvalidInput(format!(
                "vocabulary of {} words is too large",
                vocab.len()
            )));
        }
        let spill = SpillDir::create_in(params.temp_dir())?;
        let shards = corpus.shards(params.threads())?;
        let per_shard = params.memory_bytes() / shards.len().max(1);
        // A dense cell pays off for a pair seen several times: no use in a
        // table with more cells than a quarter of the shard's increments.
        let increments = vocab.corpus_words() as usize
            * params.window()
            * if params.symmetric() { 2 } else { 1 };
        let useful_bytes = increments / shards.len().max(1) / 4 * std::mem::size_of::<f64>();
        let layout = DenseLayout::for_budget(vocab.len(), (per_shard / 2).min(useful_bytes));
        let shape = CountingShape {
            window: params.window(),
            symmetric: params.symmetric(),
            sparse_capacity: CountingShape::sparse_capacity_for(per_shard / 2),
        };
        if shape.sparse_capacity < shape.entries_per_word() {
            return Err(Error::invalid_parameter(
                "memory",
                "too small to make progress",
            ));
        }

        let tokens_read = AtomicU64::new(0);
        let started = Instant::now();
        let report = |observer: &mut dyn TrainingObserver, done: u64| {
            let secs = started.elapsed().as_secs_f64().max(1e-9);
            observer.on_progress(&Progress {
                epoch: 0,
                epochs: 1,
                words_done: done,
                words_total: vocab.corpus_words(),
                words_per_sec: done as f64 / secs,
                learning_rate: 0.0,
                loss: 0.0,
            });
        };
        let parts: Vec<Result<ShardCount>> = std::thread::scope(|scope| {
            let handles: Vec<_> = shards
                .iter()
                .map(|shard| {
                    let (layout, spill, tokens_read) = (&layout, &spill, &tokens_read);
                    scope.spawn(move || {
                        let mut counter = ShardCounter::new(layout, shape, spill);
                        let mut ids = Vec::new();
                        let mut failure = None;
                        shard.for_each_sentence(&mut |tokens| {
                            vocab.ids_into(tokens, &mut ids);
                            tokens_read.fetch_add(tokens.len() as u64, Ordering::Relaxed);
                            match counter.add_sentence(&ids) {
                                Ok(()) => ControlFlow::Continue(()),
                                Err(e) => {
                                    failure = Some(e);
                                    ControlFlow::Break(())
                                }
                            }
                        })?;
                        if let Some(e) = failure {
                            return Err(e);
                        }
                        counter.finish()
                    })
                })
                .collect();
            let mut last_report = Instant::now();
            while handles.iter().any(|h| !h.is_finished()) {
                std::thread::sleep(Duration::from_millis(20));
                if last_report.elapsed() >= PROGRESS_INTERVAL {
                    report(observer, tokens_read.load(Ordering::Relaxed));
                    last_report = Instant::now();
                }
            }
            handles
                .into_iter()
                .map(|h| {
                    h.join().unwrap_or_else(|_| {
                        Err(Error::InvalidInput("a counting thread panicked".into()))
                    })
                })
                .collect()
        });
        report(observer, tokens_read.load(Ordering::Relaxed));

        let mut table: Vec<f64> = Vec::new();
        let mut runs = Vec::new();
        let mut tokens = 0;
        for part in parts {
            let ShardCount {
                dense,
                runs: shard_runs,
                tokens: shard_tokens,
            } = part?;
            if table.is_empty() {
                table = dense;
            } else {
                add_tables(&mut table, &dense);
            }
            runs.extend(shard_runs);
            tokens += shard_tokens;
        }
        if tokens == 0 {
            return Err(Error::EmptyCorpus {
                source_name: corpus.description(),
                detail: " of the vocabulary".into(),
            });
        }
        let runs = spill.reduce_runs(runs)?;

        let run_entries: u64 = runs
            .iter()
            .map(|p| {
                std::fs::metadata(p)
                    .map(|m| m.len() / 16)
                    .map_err(|e| Error::io(p, e))
            })
            .sum::<Result<u64>>()?;
        let dense_entries = table.iter().filter(|&&c| c != 0.0).count() as u64;
        let info = MatrixInfo {
            vocab_size: vocab.len() as u64,
            fingerprint: vocabulary_fingerprint(vocab.words().iter().map(String::as_str)),
            window: params.window() as u32,
            symmetric: params.symmetric(),
            len: 0,
        };
        let resident = table.len() * std::mem::size_of::<f64>();
        let mut sink = MatrixSink::new(
            info,
            &spill,
            params.memory_bytes().saturating_sub(resident),
            dense_entries + run_entries,
        );
        {
            let mut sources: Vec<Box<dyn SortedSource + '_>> =
                vec![Box::new(DenseSource::new(&layout, &table))];
            sources.extend(open_runs(&runs)?);
            merge_sorted(sources, |p| {
                sink.push(Cooccurrence {
                    word: p.word,
                    context: p.context,
                    count: p.count as f32,
                })
            })?;
        }
        let (info, output) = sink.finish()?;
        for run in &runs {
            std::fs::remove_file(run).map_err(|e| Error::io(run, e))?;
        }
        if info.len == 0 {
            return Err(Error::EmptyCorpus {
                source_name: corpus.description(),
                detail: " in pairs: no two vocabulary words share a sentence".into(),
            });
        }
        Ok(output.into_matrix(info, spill))
    }
}
