//! The `Embedder` trait family: what every model offers the rest of the
//! workspace.
//!
//! * [`Embedder`] is object-safe: a dimension and one vector per input word.
//!   Anything implementing it can be evaluated and compared.
//! * [`StaticEmbedder`] adds a vocabulary, a matrix view and a per-word
//!   [`Lookup`] that tells in-vocabulary rows from synthesised vectors
//!   (fastText builds vectors for unknown words from their n-grams).
//! * [`ContextualEmbedder`] maps a whole sequence to one vector per token
//!   (ELMo, BERT). Calls are stateless: the same input gives the same output.

use ndarray::{Array1, Array2, ArrayView1, ArrayView2};

use crate::Result;

/// A model that maps words to fixed-size vectors.
pub trait Embedder: Send + Sync {
    /// Length of every vector the model produces.
    fn dim(&self) -> usize;

    /// One row per word, in input order.
    ///
    /// Static models look each word up on its own; contextual models read
    /// the words as one sequence. Words a static model cannot represent get
    /// a zero row (check [`StaticEmbedder::lookup`] to tell them apart).
    fn embed_words(&self, words: &[&str]) -> Result<Array2<f32>>;
}

/// The result of looking one word up in a static model.
#[derive(Debug, Clone, PartialEq)]
pub enum Lookup<'a> {
    /// The word has its own row in the matrix.
    InVocabulary(ArrayView1<'a, f32>),
    /// The word is out of vocabulary; the model built a vector for it
    /// (for example from character n-grams).
    Synthesized(Array1<f32>),
    /// The model has no vector for the word.
    Unknown,
}

impl Lookup<'_> {
    /// The vector, if there is one, as an owned array.
    pub fn to_vector(&self) -> Option<Array1<f32>> {
        match self {
            Lookup::InVocabulary(v) => Some(v.to_owned()),
            Lookup::Synthesized(v) => Some(v.clone()),
            Lookup::Unknown => None,
        }
    }

    /// Whether the word had its own row.
    pub fn is_in_vocabulary(&self) -> bool {
        matches!(self, Lookup::InVocabulary(_))
    }
}

/// A model with one vector per vocabulary word.
pub trait StaticEmbedder: Embedder {
    /// The vocabulary, in row order of [`StaticEmbedder::matrix`].
    fn words(&self) -> &[String];

    /// The embedding matrix, one row per vocabulary word.
    fn matrix(&self) -> ArrayView2<'_, f32>;

    /// Looks a word up, reporting whether the vector is a vocabulary row or
    /// synthesised.
    fn lookup(&self, word: &str) -> Lookup<'_>;
}

/// A model that reads a sequence and gives one vector per token.
///
/// Implementations keep no state between calls.
pub trait ContextualEmbedder: Embedder {
    /// One row per token of `tokens`.
    fn embed_sequence(&self, tokens: &[&str]) -> Result<Array2<f32>>;

    /// Embeds several sequences; implementations may batch them.
    fn embed_batch(&self, batch: &[Vec<&str>]) -> Result<Vec<Array2<f32>>> {
        batch.iter().map(|s| self.embed_sequence(s)).collect()
    }
}

/// Builds the rows of [`Embedder::embed_words`] for a static model: each
/// word's vector, or zeros where the model has none.
pub fn embed_words_static<E: StaticEmbedder + ?Sized>(model: &E, words: &[&str]) -> Array2<f32> {
    let mut out = Array2::zeros((words.len(), model.dim()));
    for (mut row, word) in out.rows_mut().into_iter().zip(words) {
        match model.lookup(word) {
            Lookup::InVocabulary(v) => row.assign(&v),
            Lookup::Synthesized(v) => row.assign(&v),
            Lookup::Unknown => {}
        }
    }
    out
}
