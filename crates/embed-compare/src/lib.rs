//! # embed-compare
//!
//! Side-by-side experiments: train several models on one corpus with
//! matched settings (dimension, window, epochs, threads, seed), evaluate
//! them on the same sets with the same evaluator, and get a typed
//! [`ComparisonReport`] — per model: training wall time, words/sec, peak
//! memory, vocabulary size, analogy semantic/syntactic/total and Spearman
//! per similarity set with OOV ratios.
//!
//! Pre-trained contextual models (BERT, ELMo) take part through the
//! `ContextualEmbedder` trait: each word of the corpus vocabulary is
//! embedded in isolation, as a one-word sequence, which gives the static
//! view of the model that word-level evaluation needs (their strength,
//! words in context, is not what these sets measure).
//!
//! ```no_run
//! use embed_compare::{EvalSets, Experiment, ModelKind, Settings};
//!
//! let experiment = Experiment {
//!     corpus: "data/sample/wiki1m.txt.gz".into(),
//!     models: vec![ModelKind::Word2VecSkipGram, ModelKind::Glove, ModelKind::FastText],
//!     settings: Settings { dim: 50, ..Settings::default() },
//!     eval: EvalSets {
//!         analogy: Some("data/eval/questions-words.txt".into()),
//!         similarity: vec!["data/eval/wordsim353.tsv".into()],
//!         ..EvalSets::default()
//!     },
//!     pretrained: Default::default(),
//! };
//! let report = experiment.run(&mut |_model| Box::new(embed_core::observer::NoopObserver))?;
//! println!("{}", report.to_markdown());
//! # Ok::<(), embed_core::Error>(())
//! ```
//!
//! Peak memory is read from the operating system (`VmHWM` on Linux), which
//! only means something when each model trains in its own process: the
//! `embed compare` command does that, running each model in a child
//! process of the same binary. [`Experiment::run`] trains them one after
//! the other in the calling process and reports the process's peak so far.

mod experiment;
mod memory;
mod models;
mod plot;
mod report;

pub use experiment::{EvalSets, Experiment, LoadedEvalSets, PreparedCorpus, Settings};
pub use memory::peak_rss_bytes;
pub use models::{contextual_word_vectors, train_model, ModelKind, PretrainedModels, TrainedModel};
pub use report::{AnalogySummary, ComparisonReport, ModelReport, SimilaritySummary};
