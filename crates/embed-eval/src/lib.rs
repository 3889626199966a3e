//! # embed-eval
//!
//! Evaluation of word vectors from any [`StaticEmbedder`](embed_core::StaticEmbedder),
//! with the figures gensim 4.4 reports for the same vectors:
//!
//! * [`analogy`] — the Google analogy test (`questions-words.txt`), solved
//!   with 3CosAdd or 3CosMul over the first `restrict_vocab` words, per
//!   section, semantic, syntactic and total accuracy
//!   (gensim's `evaluate_word_analogies`);
//! * [`similarity`] — correlation of cosine similarity with human judgements
//!   of word pairs (WordSim-353, SimLex-999, Rare Words), Pearson and
//!   Spearman (gensim's `evaluate_word_pairs`);
//! * [`neighbours`] — the nearest words to a word or a vector by cosine;
//! * [`stats`] — Pearson and Spearman correlation as scipy computes them.
//!
//! Reports are plain serde structs; their `Display` prints a readable table.
//!
//! Like gensim, evaluation folds case by upper-casing words, and when several
//! vocabulary words fold to the same key the first one (the most frequent,
//! in a frequency-sorted vocabulary) stands for all of them.
//!
//! ```no_run
//! use embed_core::formats::{read_vectors, ReadOptions};
//! use embed_eval::{evaluate_analogies, evaluate_word_pairs, AnalogyOptions, AnalogySet};
//! use embed_eval::{SimilarityOptions, WordPairs};
//!
//! let vectors = read_vectors("vectors.bin".as_ref(), None, &ReadOptions::default())?;
//! let questions = AnalogySet::read("questions-words.txt")?;
//! let report = evaluate_analogies(&vectors, &questions, &AnalogyOptions::default())?;
//! println!("{report}"); // per section, semantic, syntactic and total accuracy
//! let pairs = WordPairs::read("wordsim353.tsv")?;
//! let report = evaluate_word_pairs(&vectors, &pairs, &SimilarityOptions::default())?;
//! println!("spearman {:.3}", report.spearman);
//! # Ok::<(), embed_core::Error>(())
//! ```

pub mod analogy;
pub mod neighbours;
pub mod similarity;
pub mod stats;

mod unit;
mod vocab;

#[cfg(test)]
mod test_model;

pub use analogy::{
    evaluate_analogies, AnalogyMethod, AnalogyOptions, AnalogyReport, AnalogySet, SectionScore,
};
pub use neighbours::{nearest_neighbours, Neighbour, NeighbourIndex};
pub use similarity::{
    evaluate_word_pairs, OovPolicy, SimilarityOptions, SimilarityReport, WordPair, WordPairs,
};
