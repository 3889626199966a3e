//! # embed-word2vec
//!
//! word2vec (Mikolov et al. 2013) as the original C tool trains it:
//! skip-gram or CBOW, negative sampling or hierarchical softmax (or both),
//! random window shrinking, frequent-word subsampling, unigram^0.75 noise,
//! a learning rate decaying linearly over all epochs' words, and lock-free
//! training on several threads over byte ranges of the corpus.
//!
//! * [`params`] — [`Word2VecParams`] (word2vec C's defaults) validated into
//!   [`ValidWord2VecParams`];
//! * [`Word2Vec`] — fit, continue training, query the output layer, save
//!   and load the full model; it is a [`embed_core::StaticEmbedder`];
//! * [`sigmoid`] — the clipped logistic function of the inner loop.
//!
//! ```
//! use embed_core::observer::NoopObserver;
//! use embed_vocab::InMemoryCorpus;
//! use embed_word2vec::{Architecture, Loss, Word2Vec, Word2VecParams};
//!
//! let corpus = InMemoryCorpus::from_text(&"red green blue red green blue\n".repeat(100));
//! let params = Word2VecParams::builder()
//!     .architecture(Architecture::SkipGram)
//!     .loss(Loss::NegativeSampling)
//!     .dim(10)
//!     .min_count(1)
//!     .threads(1)
//!     .seed(7)
//!     .build()?;
//! let model = Word2Vec::fit(&params, &corpus, &mut NoopObserver)?;
//! let near = model.vectors().most_similar(&["red"], &[], 2, &Default::default())?;
//! assert_eq!(near.len(), 2);
//! # Ok::<(), embed_core::Error>(())
//! ```
//!
//! ## Differences from word2vec C
//!
//! * Sentences are cut at 1000 words *before* subsampling (word2vec C fills
//!   1000 kept words); lines are sentences and no `</s>` token is trained.
//! * Noise words are drawn with an alias table instead of a 10^8-entry
//!   table: the same distribution without the table's rounding.
//! * The sigmoid table samples σ at cell centres with a float index;
//!   [`SigmoidMode::Exact`] computes it instead. Clipping at ±6 is the same.
//! * With several threads the corpus is cut into 32 byte ranges per thread,
//!   which the threads take in corpus order from a shared counter (word2vec
//!   C gives each thread one range); the threads finish an epoch together
//!   before the next begins.
//! * The learning rate falls linearly from `alpha` to `min_alpha` (word2vec
//!   C floors `alpha · (1 − progress)` at `alpha · 1e-4`; with the default
//!   `min_alpha` the two differ by at most `min_alpha`).
//! * Random numbers for subsampling and initial vectors come from the high
//!   bits of word2vec's LCG (word2vec C uses its low 16 bits, which repeat
//!   every 2^16 draws).
//!
//! ## Threads
//!
//! With `threads = 1` and a seed, training is bit for bit reproducible.
//! With more, the threads train byte ranges of the corpus taken in order
//! and update the shared matrices without locks; runs then differ from
//! each other about as much as two seeds do.

#[doc(hidden)]
pub mod bench_support;
pub mod model;
pub mod params;
mod persist;
pub mod sigmoid;
mod train;
mod update;

/// Lines longer than this many words are trained as several sentences
/// (word2vec C's `MAX_SENTENCE_LENGTH`); set by the corpus.
pub use embed_vocab::MAX_SENTENCE_WORDS;
pub use model::Word2Vec;
pub use params::{
    Architecture, CbowContext, Loss, SigmoidMode, ValidWord2VecParams, Word2VecParams,
    Word2VecParamsBuilder,
};
