//! # embed
//!
//! Train, load, evaluate and serve word and contextual embeddings — one
//! dependency for the whole toolkit. Each model family lives in its own
//! crate, re-exported here:
//!
//! | module | crate | what |
//! | --- | --- | --- |
//! | [`core`] | `embed-core` | `Embedder` traits, errors, `WordVectors`, file formats, optimizers, lock-free matrices |
//! | [`vocab`] | `embed-vocab` | corpus streaming, vocabulary, samplers, Huffman tree, subwords |
//! | [`word2vec`] | `embed-word2vec` | skip-gram and CBOW, negative sampling and hierarchical softmax |
//! | [`fasttext`] | `embed-fasttext` | subword vectors, text classification, fastText `.bin` files |
//! | [`glove`] | `embed-glove` | co-occurrence counting in bounded memory, AdaGrad training |
//! | [`bert`] | `embed-bert` | Hugging Face BERT: WordPiece tokenizer, encoder, sentence embeddings |
//! | [`elmo`] | `embed-elmo` | AllenNLP ELMo: char-CNN + biLSTM contextual vectors |
//! | [`eval`] | `embed-eval` | analogy and word-similarity evaluation (gensim's figures) |
//! | [`compare`] | `embed-compare` | side-by-side experiments |
//!
//! ```
//! use embed::core::observer::NoopObserver;
//! use embed::vocab::InMemoryCorpus;
//! use embed::word2vec::{Word2Vec, Word2VecParams};
//!
//! let corpus = InMemoryCorpus::from_text(&"the cat sat on the mat\n".repeat(50));
//! let params = Word2VecParams::builder().dim(16).min_count(1).epochs(2).threads(1).build()?;
//! let model = Word2Vec::fit(&params, &corpus, &mut NoopObserver)?;
//! let similar = model.vectors().most_similar(&["cat"], &[], 3, &Default::default())?;
//! assert_eq!(similar.len(), 3);
//! # Ok::<(), embed::core::Error>(())
//! ```

pub use embed_bert as bert;
pub use embed_compare as compare;
pub use embed_core as core;
pub use embed_elmo as elmo;
pub use embed_eval as eval;
pub use embed_fasttext as fasttext;
pub use embed_glove as glove;
pub use embed_vocab as vocab;
pub use embed_word2vec as word2vec;
