//! Nearest neighbours by cosine similarity over any static model.

use std::collections::HashMap;
use std::fmt;

use embed_core::{Error, Lookup, Result, StaticEmbedder};
use ndarray::{Array2, ArrayView1};
use serde::{Deserialize, Serialize};

use embed_core::kernels::top_k;

use crate::unit::{contiguous, unit_rows, unit_vector};

/// A vocabulary word and its cosine similarity to the query.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Neighbour {
    /// The vocabulary word.
    pub word: String,
    /// Cosine similarity with the query.
    pub similarity: f32,
}

impl fmt::Display for Neighbour {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}\t{:.4}", self.word, self.similarity)
    }
}

/// Unit-length rows of a model's first words, ready for repeated queries
/// (gensim's `most_similar` / `similar_by_vector` with `restrict_vocab`).
///
/// ```
/// use embed_eval::NeighbourIndex;
/// # use embed_core::{Embedder, Lookup, StaticEmbedder};
/// # use ndarray::{array, Array2, ArrayView2};
/// # struct Model { words: Vec<String>, m: Array2<f32> }
/// # impl Embedder for Model {
/// #     fn dim(&self) -> usize { 2 }
/// #     fn embed_words(&self, w: &[&str]) -> embed_core::Result<Array2<f32>> {
/// #         Ok(embed_core::embedder::embed_words_static(self, w))
/// #     }
/// # }
/// # impl StaticEmbedder for Model {
/// #     fn words(&self) -> &[String] { &self.words }
/// #     fn matrix(&self) -> ArrayView2<'_, f32> { self.m.view() }
/// #     fn lookup(&self, w: &str) -> Lookup<'_> {
/// #         match self.words.iter().position(|x| x == w) {
/// #             Some(i) => Lookup::InVocabulary(self.m.row(i)), None => Lookup::Unknown }
/// #     }
/// # }
/// let model = Model {
///     words: ["cat", "tiger", "car"].map(String::from).to_vec(),
///     m: array![[1.0, 0.1], [0.9, 0.3], [0.0, 1.0]],
/// };
/// let index = NeighbourIndex::new(&model, None)?;
/// let nearest = index.nearest_to_word("cat", 1)?;
/// assert_eq!(nearest[0].word, "tiger");
/// let nearest = index.nearest_to_vector(array![0.0, 2.0].view(), 2)?;
/// assert_eq!(nearest[0].word, "car");
/// assert!((nearest[0].similarity - 1.0).abs() < 1e-6);
/// # Ok::<(), embed_core::Error>(())
/// ```
pub struct NeighbourIndex<'m, E: StaticEmbedder + ?Sized> {
    model: &'m E,
    unit: Array2<f32>,
    rows: HashMap<&'m str, usize>,
}

impl<'m, E: StaticEmbedder + ?Sized> NeighbourIndex<'m, E> {
    /// Indexes the first `restrict_vocab` words of `model` (all when `None`).
    pub fn new(model: &'m E, restrict_vocab: Option<usize>) -> Result<Self> {
        if restrict_vocab == Some(0) {
            return Err(Error::invalid_parameter(
                "restrict_vocab",
                "must be at least 1",
            ));
        }
        let words = model.words();
        let n = restrict_vocab.unwrap_or(words.len()).min(words.len());
        let mut rows = HashMap::with_capacity(n);
        for (row, word) in words[..n].iter().enumerate() {
            rows.entry(word.as_str()).or_insert(row);
        }
        Ok(NeighbourIndex {
            model,
            unit: unit_rows(model.matrix(), n),
            rows,
        })
    }

    /// Number of candidate words.
    pub fn len(&self) -> usize {
        self.unit.nrows()
    }

    /// Whether there is no candidate word.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The `k` words most similar to `word`, best first, `word` itself left
    /// out. A word outside the indexed rows is looked up in the model (which
    /// may synthesise its vector); one the model cannot represent is an
    /// [`Error::UnknownWord`].
    pub fn nearest_to_word(&self, word: &str, k: usize) -> Result<Vec<Neighbour>> {
        if let Some(&row) = self.rows.get(word) {
            return Ok(self.rank(self.unit.row(row), k, Some(row)));
        }
        let vector = match self.model.lookup(word) {
            Lookup::InVocabulary(v) => v.to_owned(),
            Lookup::Synthesized(v) => v,
            Lookup::Unknown => return Err(Error::UnknownWord(word.to_string())),
        };
        Ok(self.rank(unit_vector(vector.view()).view(), k, None))
    }

    /// The `k` words most similar to `vector`, best first.
    pub fn nearest_to_vector(
        &self,
        vector: ArrayView1<'_, f32>,
        k: usize,
    ) -> Result<Vec<Neighbour>> {
        if vector.len() != self.unit.ncols() {
            return Err(Error::InvalidInput(format!(
                "query vector has {} dimensions, the model {}",
                vector.len(),
                self.unit.ncols()
            )));
        }
        Ok(self.rank(unit_vector(vector).view(), k, None))
    }

    fn rank(
        &self,
        unit_query: ArrayView1<'_, f32>,
        k: usize,
        exclude: Option<usize>,
    ) -> Vec<Neighbour> {
        let scores = self.unit.dot(&unit_query);
        let words = self.model.words();
        top_k(&contiguous(scores.view()), k, |row| Some(row) == exclude)
            .into_iter()
            .map(|(row, similarity)| Neighbour {
                word: words[row].clone(),
                similarity,
            })
            .collect()
    }
}

/// The `k` nearest neighbours of `word` among the first `restrict_vocab`
/// words of `model` (all when `None`); see [`NeighbourIndex`] to ask many.
pub fn nearest_neighbours<E: StaticEmbedder + ?Sized>(
    model: &E,
    word: &str,
    k: usize,
    restrict_vocab: Option<usize>,
) -> Result<Vec<Neighbour>> {
    NeighbourIndex::new(model, restrict_vocab)?.nearest_to_word(word, k)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_model::TestModel;
    use ndarray::array;

    fn model() -> TestModel {
        TestModel::new(&[
            ("a", &[1.0, 0.0]),
            ("b", &[0.9, 0.1]),
            ("c", &[0.0, 1.0]),
            ("d", &[0.8, 0.3]),
        ])
    }

    #[test]
    fn neighbours_leave_the_word_out_and_respect_the_restriction() {
        let m = model();
        let all: Vec<String> = nearest_neighbours(&m, "a", 10, None)
            .unwrap()
            .into_iter()
            .map(|n| n.word)
            .collect();
        assert_eq!(all, ["b", "d", "c"]);
        let first_three = nearest_neighbours(&m, "a", 10, Some(3)).unwrap();
        assert_eq!(first_three.len(), 2);
        assert_eq!(first_three[1].word, "c");
        assert!(first_three[1].similarity.abs() < 1e-6);
    }

    #[test]
    fn words_outside_the_index_are_looked_up() {
        let mut m = model();
        let index = NeighbourIndex::new(&m, Some(2)).unwrap();
        // "d" has a row outside the index: its vector is used, nothing left out.
        let near = index.nearest_to_word("d", 1).unwrap();
        assert_eq!(near[0].word, "b");
        assert!(matches!(
            index.nearest_to_word("zzz", 1),
            Err(Error::UnknownWord(w)) if w == "zzz"
        ));
        m.synthesize = Some(array![0.0, 1.0]);
        let near = nearest_neighbours(&m, "zzz", 1, None).unwrap();
        assert_eq!(near[0].word, "c");
    }

    #[test]
    fn bad_queries_are_errors() {
        let m = model();
        let index = NeighbourIndex::new(&m, None).unwrap();
        assert!(index.nearest_to_vector(array![1.0].view(), 1).is_err());
        assert!(NeighbourIndex::new(&m, Some(0)).is_err());
        assert_eq!(index.nearest_to_word("a", 0).unwrap(), vec![]);
    }
}
