//! [`WordVectors`]: a vocabulary with one vector per word, and the
//! neighbour queries (most-similar, analogies, odd-one-out) that gensim's
//! `KeyedVectors` users expect.

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use ndarray::{Array2, ArrayView1, ArrayView2};
use rayon::prelude::*;

use crate::embedder::{embed_words_static, Embedder, Lookup, StaticEmbedder};
use crate::kernels;
use crate::{Error, Result};

/// Matrices with at least this many elements are normalised and scored on
/// several threads; below it the thread hand-off costs more than it saves.
const PARALLEL_MIN_ELEMENTS: usize = 1 << 22;

/// Rows scored per parallel task.
const PARALLEL_SCORING_ROWS: usize = 4096;

/// Shifts 3CosMul's denominator away from zero, as gensim does.
const COSMUL_EPSILON: f32 = 1e-6;

/// Words and their vectors, with unit-normalised rows computed on first use.
///
/// ```
/// use embed_core::WordVectors;
/// use ndarray::array;
///
/// let words = vec!["king".to_string(), "queen".to_string(), "apple".to_string()];
/// let vectors = WordVectors::new(words, array![[1.0, 0.9], [0.9, 1.0], [-1.0, 0.1]]).unwrap();
/// assert_eq!(vectors.dim(), 2);
/// let best = vectors.most_similar(&["king"], &[], 1, &Default::default()).unwrap();
/// assert_eq!(best[0].0, "queen");
/// ```
#[derive(Clone)]
pub struct WordVectors {
    words: Vec<String>,
    index: HashMap<String, usize>,
    matrix: Array2<f32>,
    unit: OnceLock<UnitRows>,
}

/// The matrix with every row scaled to unit length, and the original norms.
#[derive(Clone)]
struct UnitRows {
    matrix: Array2<f32>,
    norms: Vec<f32>,
}

/// Options shared by the neighbour queries.
#[derive(Debug, Clone, Default)]
pub struct QueryOptions {
    /// Only consider the first `n` words (files are usually sorted by
    /// frequency, so this keeps rare words out), like gensim's
    /// `restrict_vocab`.
    pub restrict_vocab: Option<usize>,
    /// Words never returned, in addition to the query words themselves.
    pub exclude: Vec<String>,
}

impl WordVectors {
    /// Builds word vectors from a vocabulary and a matrix with one row per
    /// word.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] when the number of words and rows differ, a
    /// word appears twice, or a value is NaN or infinite (the message names
    /// the word).
    pub fn new(words: Vec<String>, matrix: Array2<f32>) -> Result<Self> {
        if words.len() != matrix.nrows() {
            return Err(Error::InvalidInput(format!(
                "{} words but {} matrix rows",
                words.len(),
                matrix.nrows()
            )));
        }
        let mut index = HashMap::with_capacity(words.len());
        for (i, word) in words.iter().enumerate() {
            if let Some(first) = index.insert(word.clone(), i) {
                return Err(Error::InvalidInput(format!(
                    "duplicate word `{word}` (rows {first} and {i})"
                )));
            }
        }
        for (word, row) in words.iter().zip(matrix.rows()) {
            if let Some(bad) = row.iter().find(|v| !v.is_finite()) {
                return Err(Error::InvalidInput(format!(
                    "vector of word `{word}` holds the non-finite value {bad}"
                )));
            }
        }
        let matrix = if matrix.is_standard_layout() {
            matrix
        } else {
            matrix.as_standard_layout().into_owned()
        };
        Ok(Self::from_checked_parts(words, index, matrix))
    }

    /// Assembles parts a reader has already validated: unique words, an
    /// index that matches them, a finite standard-layout matrix.
    pub(crate) fn from_checked_parts(
        words: Vec<String>,
        index: HashMap<String, usize>,
        matrix: Array2<f32>,
    ) -> Self {
        debug_assert_eq!(words.len(), matrix.nrows());
        debug_assert_eq!(words.len(), index.len());
        debug_assert!(matrix.is_standard_layout());
        Self {
            words,
            index,
            matrix,
            unit: OnceLock::new(),
        }
    }

    /// Gives the vocabulary and matrix back.
    pub fn into_parts(self) -> (Vec<String>, Array2<f32>) {
        (self.words, self.matrix)
    }

    /// Number of words.
    pub fn len(&self) -> usize {
        self.words.len()
    }

    /// Whether there are no words.
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// Length of every vector.
    pub fn dim(&self) -> usize {
        self.matrix.ncols()
    }

    /// The vocabulary, in row order.
    pub fn words(&self) -> &[String] {
        &self.words
    }

    /// The vectors as stored, one row per word.
    pub fn matrix(&self) -> ArrayView2<'_, f32> {
        self.matrix.view()
    }

    /// Row of `word`, if present.
    pub fn index_of(&self, word: &str) -> Option<usize> {
        self.index.get(word).copied()
    }

    /// The stored vector of `word`, if present.
    pub fn vector(&self, word: &str) -> Option<ArrayView1<'_, f32>> {
        self.index_of(word).map(|i| self.matrix.row(i))
    }

    /// The vectors scaled to unit L2 length (zero rows stay zero), computed
    /// once on first use.
    pub fn unit_matrix(&self) -> ArrayView2<'_, f32> {
        self.unit_rows().matrix.view()
    }

    /// L2 norm of every stored row.
    pub fn norms(&self) -> &[f32] {
        &self.unit_rows().norms
    }

    fn unit_rows(&self) -> &UnitRows {
        self.unit.get_or_init(|| {
            let mut matrix = self.matrix.clone();
            let dim = matrix.ncols();
            let values = matrix
                .as_slice_mut()
                .expect("an owned standard-layout matrix is contiguous");
            let norms = if dim == 0 {
                vec![0.0; self.len()]
            } else if values.len() >= PARALLEL_MIN_ELEMENTS {
                values.par_chunks_mut(dim).map(kernels::normalize).collect()
            } else {
                values.chunks_mut(dim).map(kernels::normalize).collect()
            };
            UnitRows { matrix, norms }
        })
    }

    fn unit_row(&self, i: usize) -> &[f32] {
        self.unit_rows()
            .matrix
            .row(i)
            .to_slice()
            .expect("an owned standard-layout matrix has contiguous rows")
    }

    fn require(&self, word: &str) -> Result<usize> {
        self.index_of(word)
            .ok_or_else(|| Error::UnknownWord(word.to_string()))
    }

    /// Cosine similarity of two words.
    ///
    /// ```
    /// use embed_core::WordVectors;
    /// use ndarray::array;
    /// let v = WordVectors::new(vec!["a".into(), "b".into()], array![[1.0, 0.0], [1.0, 1.0]]).unwrap();
    /// assert!((v.similarity("a", "b").unwrap() - 0.70710677).abs() < 1e-6);
    /// assert!(v.similarity("a", "zzz").is_err());
    /// ```
    pub fn similarity(&self, a: &str, b: &str) -> Result<f32> {
        let (ia, ib) = (self.require(a)?, self.require(b)?);
        Ok(kernels::dot(self.unit_row(ia), self.unit_row(ib)))
    }

    /// The `topn` words closest to the mean of the unit vectors of
    /// `positive` minus those of `negative` (3CosAdd), scored by cosine
    /// similarity, best first; the query words are never returned.
    ///
    /// This follows gensim's `KeyedVectors.most_similar`: each word's unit
    /// vector is weighted +1 or -1, the weighted vectors are averaged, the
    /// average is normalised, and every candidate's cosine with it is the
    /// score.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownWord`] for a query word without a vector;
    /// [`Error::InvalidInput`] when both lists are empty.
    pub fn most_similar(
        &self,
        positive: &[&str],
        negative: &[&str],
        topn: usize,
        options: &QueryOptions,
    ) -> Result<Vec<(String, f32)>> {
        if positive.is_empty() && negative.is_empty() {
            return Err(Error::InvalidInput(
                "cannot compute similarity with no input words".into(),
            ));
        }
        let terms = positive
            .iter()
            .map(|w| (w, 1.0f32))
            .chain(negative.iter().map(|w| (w, -1.0f32)));
        let mut query = vec![0.0f32; self.dim()];
        let mut inputs = Vec::with_capacity(positive.len() + negative.len());
        for (word, weight) in terms {
            let i = self.require(word)?;
            kernels::axpy(weight, self.unit_row(i), &mut query);
            inputs.push(i);
        }
        let count = inputs.len() as f32;
        kernels::scale(1.0 / count, &mut query);
        kernels::normalize(&mut query);

        let limit = self.restricted_len(options);
        Ok(self.nearest(&query, limit, topn, &inputs, options))
    }

    /// Analogy by 3CosMul (Levy & Goldberg, 2014), as gensim's
    /// `most_similar_cosmul`: every candidate's cosines are shifted to
    /// `[0, 1]` by `(1 + cos) / 2`, and the score is the product over
    /// `positive` divided by (the product over `negative` + 1e-6).
    ///
    /// Unlike gensim, `restrict_vocab` is honoured here, and a zero vector
    /// scores cosine 0 rather than NaN.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownWord`] for a query word without a vector;
    /// [`Error::InvalidInput`] when `positive` is empty.
    pub fn most_similar_cosmul(
        &self,
        positive: &[&str],
        negative: &[&str],
        topn: usize,
        options: &QueryOptions,
    ) -> Result<Vec<(String, f32)>> {
        if positive.is_empty() {
            return Err(Error::InvalidInput(
                "3CosMul needs at least one positive word".into(),
            ));
        }
        let positive: Vec<usize> = positive
            .iter()
            .map(|w| self.require(w))
            .collect::<Result<_>>()?;
        let negative: Vec<usize> = negative
            .iter()
            .map(|w| self.require(w))
            .collect::<Result<_>>()?;
        let limit = self.restricted_len(options);
        let shifted = |i: usize| -> Vec<f32> {
            let mut s = self.cosine_scores(self.unit_row(i), limit);
            s.iter_mut().for_each(|c| *c = (1.0 + *c) / 2.0);
            s
        };
        let product = |terms: &[usize]| -> Vec<f32> {
            let mut acc = vec![1.0f32; limit];
            for &t in terms {
                acc.iter_mut().zip(shifted(t)).for_each(|(a, s)| *a *= s);
            }
            acc
        };
        let mut scores = product(&positive);
        let denominators = product(&negative);
        scores
            .iter_mut()
            .zip(denominators)
            .for_each(|(s, d)| *s /= d + COSMUL_EPSILON);

        let inputs: Vec<usize> = positive.iter().chain(&negative).copied().collect();
        Ok(self.best(&scores, topn, &inputs, options))
    }

    /// The `topn` words whose vectors have the highest cosine similarity
    /// with `v`, best first (gensim's `similar_by_vector`).
    ///
    /// # Panics
    ///
    /// If `v.len()` differs from [`WordVectors::dim`].
    pub fn most_similar_to_vector(
        &self,
        v: ArrayView1<f32>,
        topn: usize,
        options: &QueryOptions,
    ) -> Vec<(String, f32)> {
        assert_eq!(v.len(), self.dim(), "query vector has the wrong dimension");
        let mut query = v.to_vec();
        kernels::normalize(&mut query);
        self.nearest(&query, self.restricted_len(options), topn, &[], options)
    }

    /// The word least like the others: the one whose unit vector has the
    /// lowest cosine with the normalised mean of all their unit vectors
    /// (gensim's `doesnt_match`; ties go to the alphabetically first word).
    /// Words without vectors are ignored, as gensim does.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] when none of the words has a vector.
    ///
    /// ```
    /// use embed_core::WordVectors;
    /// use ndarray::array;
    /// let words = ["cat", "dog", "mouse", "car"].map(String::from).to_vec();
    /// let m = array![[1.0, 0.1], [0.9, 0.2], [0.8, 0.3], [-0.1, 1.0]];
    /// let v = WordVectors::new(words, m).unwrap();
    /// assert_eq!(v.doesnt_match(&["cat", "dog", "car", "mouse", "unknown"]).unwrap(), "car");
    /// ```
    pub fn doesnt_match(&self, words: &[&str]) -> Result<String> {
        let used: Vec<(&str, usize)> = words
            .iter()
            .filter_map(|w| self.index_of(w).map(|i| (*w, i)))
            .collect();
        if used.is_empty() {
            return Err(Error::InvalidInput(
                "cannot select a word from a list without known words".into(),
            ));
        }
        let mut mean = vec![0.0f32; self.dim()];
        for &(_, i) in &used {
            kernels::axpy(1.0, self.unit_row(i), &mut mean);
        }
        kernels::scale(1.0 / used.len() as f32, &mut mean);
        kernels::normalize(&mut mean);
        let (_, odd) = used
            .iter()
            .map(|&(w, i)| (kernels::dot(self.unit_row(i), &mean), w))
            .min_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(b.1)))
            .expect("at least one known word");
        Ok(odd.to_string())
    }

    fn restricted_len(&self, options: &QueryOptions) -> usize {
        options
            .restrict_vocab
            .map_or(self.len(), |n| n.min(self.len()))
    }

    /// The first `limit` unit rows, as one contiguous slice.
    fn unit_values(&self, limit: usize) -> &[f32] {
        let unit = self
            .unit_rows()
            .matrix
            .as_slice()
            .expect("an owned standard-layout matrix is contiguous");
        &unit[..limit * self.dim()]
    }

    /// Cosine of `query` (unit length) with each of the first `limit` rows.
    fn cosine_scores(&self, query: &[f32], limit: usize) -> Vec<f32> {
        let dim = self.dim();
        let rows = self.unit_values(limit);
        let mut scores = vec![0.0f32; limit];
        if rows.len() >= PARALLEL_MIN_ELEMENTS {
            scores
                .par_chunks_mut(PARALLEL_SCORING_ROWS)
                .zip(rows.par_chunks(PARALLEL_SCORING_ROWS * dim))
                .for_each(|(out, block)| kernels::dot_rows(block, query, out));
        } else {
            kernels::dot_rows(rows, query, &mut scores);
        }
        scores
    }

    /// The `topn` of the first `limit` rows with the highest cosine with
    /// `query` (unit length), best first, leaving out `inputs` and the
    /// excluded words.
    ///
    /// Rows are scored a block at a time and each block's best are picked
    /// while its scores are still in cache; the blocks' winners are then
    /// merged. Ties go to the lower row, as in [`kernels::top_k`], so the
    /// answer does not depend on the blocking.
    fn nearest(
        &self,
        query: &[f32],
        limit: usize,
        topn: usize,
        inputs: &[usize],
        options: &QueryOptions,
    ) -> Vec<(String, f32)> {
        let dim = self.dim();
        if dim == 0 {
            let scores = vec![0.0; limit];
            return self.best(&scores, topn, inputs, options);
        }
        let skipped = self.skipped(inputs, options);
        let rows = self.unit_values(limit);
        let best_of_block = |(block, rows): (usize, &[f32])| {
            let first = block * PARALLEL_SCORING_ROWS;
            let mut scores = vec![0.0f32; rows.len() / dim];
            kernels::dot_rows(rows, query, &mut scores);
            let mut best = kernels::top_k(&scores, topn, |i| skipped.contains(&(first + i)));
            best.iter_mut().for_each(|(i, _)| *i += first);
            best
        };
        let blocks = rows.par_chunks(PARALLEL_SCORING_ROWS * dim).enumerate();
        let mut best: Vec<(usize, f32)> = if rows.len() >= PARALLEL_MIN_ELEMENTS {
            blocks.flat_map_iter(best_of_block).collect()
        } else {
            rows.chunks(PARALLEL_SCORING_ROWS * dim)
                .enumerate()
                .flat_map(best_of_block)
                .collect()
        };
        best.sort_unstable_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        best.truncate(topn);
        best.into_iter()
            .map(|(i, s)| (self.words[i].clone(), s))
            .collect()
    }

    /// Rows never returned by a query: its own words and the excluded ones.
    fn skipped(&self, inputs: &[usize], options: &QueryOptions) -> HashSet<usize> {
        let mut skipped: HashSet<usize> = inputs.iter().copied().collect();
        skipped.extend(options.exclude.iter().filter_map(|w| self.index_of(w)));
        skipped
    }

    /// The best `topn` of `scores`, leaving out `inputs` and the excluded words.
    fn best(
        &self,
        scores: &[f32],
        topn: usize,
        inputs: &[usize],
        options: &QueryOptions,
    ) -> Vec<(String, f32)> {
        let skipped = self.skipped(inputs, options);
        kernels::top_k(scores, topn, |i| skipped.contains(&i))
            .into_iter()
            .map(|(i, s)| (self.words[i].clone(), s))
            .collect()
    }
}

impl std::fmt::Debug for WordVectors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WordVectors")
            .field("len", &self.len())
            .field("dim", &self.dim())
            .finish_non_exhaustive()
    }
}

impl PartialEq for WordVectors {
    /// Same words in the same order with identical vectors.
    fn eq(&self, other: &Self) -> bool {
        self.words == other.words && self.matrix == other.matrix
    }
}

impl Embedder for WordVectors {
    fn dim(&self) -> usize {
        WordVectors::dim(self)
    }

    fn embed_words(&self, words: &[&str]) -> Result<Array2<f32>> {
        Ok(embed_words_static(self, words))
    }
}

impl StaticEmbedder for WordVectors {
    fn words(&self) -> &[String] {
        WordVectors::words(self)
    }

    fn matrix(&self) -> ArrayView2<'_, f32> {
        WordVectors::matrix(self)
    }

    fn lookup(&self, word: &str) -> Lookup<'_> {
        match self.vector(word) {
            Some(v) => Lookup::InVocabulary(v),
            None => Lookup::Unknown,
        }
    }
}
