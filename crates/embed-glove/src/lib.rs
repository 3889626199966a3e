//! # embed-glove
//!
//! GloVe word vectors (Pennington, Socher and Manning 2014), trained the way
//! Stanford's reference tools do, in one library:
//!
//! 1. build a [`Vocabulary`](embed_vocab::Vocabulary) (GloVe's `vocab_count`);
//! 2. count co-occurrences with [`Cooccurrences::count`] — window, symmetric
//!    or left-only context, `1/distance` weights, bounded memory with sorted
//!    runs spilled to temporary files and merged (GloVe's `cooccur`); save
//!    the count with [`Cooccurrences::save`] and [`Cooccurrences::load`] it
//!    to train several models on one count;
//! 3. train with [`Glove::fit`] — weighted least squares, AdaGrad, a fresh
//!    shuffle each epoch (GloVe's `shuffle` and `glove`), Hogwild threads;
//! 4. use the [`GloveModel`] as a [`StaticEmbedder`](embed_core::StaticEmbedder)
//!    or write its vectors in GloVe or word2vec format.
//!
//! ```
//! use embed_core::formats::VectorFormat;
//! use embed_glove::{CooccurParams, Cooccurrences, Glove, GloveParams};
//! use embed_vocab::{InMemoryCorpus, Vocabulary, VocabParams};
//!
//! let corpus = InMemoryCorpus::from_text("a rose is a rose\nis a rose a rose");
//! let vocab = Vocabulary::build(&corpus, &VocabParams::builder().min_count(1).build()?)?;
//! let counts = Cooccurrences::count(&corpus, &vocab, &CooccurParams::builder().window(3).memory_mb(1).build()?)?;
//! let params = GloveParams::builder().dim(4).x_max(10.0).epochs(3).seed(7).build()?;
//! let model = Glove::fit(&params, &counts, &vocab, &mut embed_core::observer::NoopObserver)?;
//! let dir = tempfile::tempdir()?;
//! model.save(dir.path().join("vectors.txt"), VectorFormat::Glove)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod cooccur;
pub mod model;
pub mod params;
pub mod train;

pub use cooccur::{vocabulary_fingerprint, Cooccurrence, Cooccurrences};
pub use model::GloveModel;
pub use params::{
    CooccurParams, CooccurParamsBuilder, GloveParams, GloveParamsBuilder, OutputMode, MIB,
    STREAM_SENTENCE_WORDS,
};
pub use train::Glove;
