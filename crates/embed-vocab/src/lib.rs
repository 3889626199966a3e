//! # embed-vocab
//!
//! Text to ids, shared by the word2vec, GloVe and fastText trainers:
//!
//! * [`corpus`] — re-iterable corpora ([`TextCorpus`] over plain or gzip
//!   text, [`InMemoryCorpus`]) streamed sentence by sentence without a
//!   per-token allocation, and sharded into byte ranges for threads;
//! * [`vocab`] — [`Vocabulary`]: counting, min-count and size pruning,
//!   frequency order, word ↔ id, word2vec's `word count` file format;
//! * [`subsample`] — [`Subsampler`]: frequent-word down-sampling as
//!   word2vec C or fastText compute it;
//! * [`noise`] — [`NoiseSampler`]: negative samples drawn ∝ count^0.75
//!   (Walker's alias method);
//! * [`huffman`] — [`HuffmanTree`]: word2vec's codes and inner-node paths
//!   for hierarchical softmax;
//! * [`subword`] — fastText's character n-grams and hash.
//!
//! ```
//! use embed_vocab::{InMemoryCorpus, Vocabulary, VocabParams};
//! let corpus = InMemoryCorpus::from_text("the cat sat\nthe dog sat\nthe end");
//! let params = VocabParams::builder().min_count(2).build()?;
//! let vocab = Vocabulary::build(&corpus, &params)?;
//! assert_eq!(vocab.words(), ["the", "sat"]);
//! assert_eq!(vocab.counts(), [3, 2]);
//! assert_eq!(vocab.corpus_words(), 8);
//! # Ok::<(), embed_core::Error>(())
//! ```

pub mod corpus;
pub mod huffman;
pub mod noise;
pub mod subsample;
pub mod subword;
pub mod vocab;

pub use corpus::{Corpus, CorpusShard, InMemoryCorpus, TextCorpus, MAX_SENTENCE_WORDS};
pub use huffman::HuffmanTree;
pub use noise::NoiseSampler;
pub use subsample::Subsampler;
pub use subword::{char_ngrams, fasttext_hash};
pub use vocab::{VocabParams, VocabParamsBuilder, Vocabulary, END_OF_SENTENCE};
