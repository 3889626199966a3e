//! A minimal static model for unit tests.

use embed_core::{embedder::embed_words_static, Embedder, Lookup, Result, StaticEmbedder};
use ndarray::{Array1, Array2, ArrayView2};

/// Words and rows given by the test; optionally synthesises a constant
/// vector for unknown words, as a subword model would.
pub(crate) struct TestModel {
    pub words: Vec<String>,
    pub matrix: Array2<f32>,
    pub synthesize: Option<Array1<f32>>,
}

impl TestModel {
    pub(crate) fn new(rows: &[(&str, &[f32])]) -> Self {
        let dim = rows.first().map_or(0, |(_, v)| v.len());
        let mut matrix = Array2::zeros((rows.len(), dim));
        for (mut row, (_, v)) in matrix.rows_mut().into_iter().zip(rows) {
            row.assign(&ndarray::ArrayView1::from(*v));
        }
        TestModel {
            words: rows.iter().map(|(w, _)| w.to_string()).collect(),
            matrix,
            synthesize: None,
        }
    }
}

impl Embedder for TestModel {
    fn dim(&self) -> usize {
        self.matrix.ncols()
    }

    fn embed_words(&self, words: &[&str]) -> Result<Array2<f32>> {
        Ok(embed_words_static(self, words))
    }
}

impl StaticEmbedder for TestModel {
    fn words(&self) -> &[String] {
        &self.words
    }

    fn matrix(&self) -> ArrayView2<'_, f32> {
        self.matrix.view()
    }

    fn lookup(&self, word: &str) -> Lookup<'_> {
        match self.words.iter().position(|w| w == word) {
            Some(row) => Lookup::InVocabulary(self.matrix.row(row)),
            None => match &self.synthesize {
                Some(v) => Lookup::Synthesized(v.clone()),
                None => Lookup::Unknown,
            },
        }
    }
}
