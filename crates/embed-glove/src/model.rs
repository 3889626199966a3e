//! A trained GloVe model: word and context vectors, biases, and the
//! embedding chosen by [`OutputMode`].

use std::path::Path;

use embed_core::formats::{write_vectors, VectorFormat};
use embed_core::vectors::WordVectors;
use embed_core::{Embedder, Lookup, Result, StaticEmbedder};
use ndarray::{concatenate, s, Array1, Array2, ArrayView2, Axis};

use crate::params::{GloveParams, OutputMode};

/// Word vectors `W`, context vectors `W̃` and their biases, with the
/// parameters that made them. As a [`StaticEmbedder`] it serves the
/// vectors of the parameters' [`OutputMode`] (`W + W̃` by default).
#[derive(Debug)]
pub struct GloveModel {
    word: Array2<f32>,
    context: Array2<f32>,
    word_bias: Array1<f32>,
    context_bias: Array1<f32>,
    params: GloveParams,
    embedding: WordVectors,
}

impl GloveModel {
    /// Splits the trainer's fused rows (`[vector, bias, accumulators…]`,
    /// words then contexts).
    pub(crate) fn from_weights(
        words: Vec<String>,
        fused: Array2<f32>,
        dim: usize,
        params: GloveParams,
    ) -> Self {
        let v = words.len();
        let word = fused.slice(s![..v, ..dim]).to_owned();
        let context = fused.slice(s![v.., ..dim]).to_owned();
        let word_bias = fused.slice(s![..v, dim]).to_owned();
        let context_bias = fused.slice(s![v.., dim]).to_owned();
        drop(fused);
        let matrix = combine(&word, &context, params.output());
        let embedding = WordVectors::new(words, matrix).expect("one row per vocabulary word");
        GloveModel {
            word,
            context,
            word_bias,
            context_bias,
            params,
            embedding,
        }
    }

    /// The word vectors `W` (one row per vocabulary word).
    pub fn word_vectors(&self) -> ArrayView2<'_, f32> {
        self.word.view()
    }
    /// The context vectors `W̃`.
    pub fn context_vectors(&self) -> ArrayView2<'_, f32> {
        self.context.view()
    }
    /// The word biases `b`.
    pub fn word_biases(&self) -> &Array1<f32> {
        &self.word_bias
    }
    /// The context biases `b̃`.
    pub fn context_biases(&self) -> &Array1<f32> {
        &self.context_bias
    }
    /// The parameters the model was trained with.
    pub fn params(&self) -> &GloveParams {
        &self.params
    }

    /// The embedding the model serves (its parameters' output mode).
    pub fn embedding(&self) -> &WordVectors {
        &self.embedding
    }

    /// Word vectors in any output mode.
    pub fn vectors(&self, mode: OutputMode) -> Result<WordVectors> {
        WordVectors::new(
            self.embedding.words().to_vec(),
            combine(&self.word, &self.context, mode),
        )
    }

    /// Writes the served embedding to `path` (atomically) in `format`.
    pub fn save(&self, path: impl AsRef<Path>, format: VectorFormat) -> Result<()> {
        write_vectors(path.as_ref(), &self.embedding, format)
    }
}

fn combine(word: &Array2<f32>, context: &Array2<f32>, mode: OutputMode) -> Array2<f32> {
    match mode {
        OutputMode::W => word.clone(),
        OutputMode::WPlusContext => word + context,
        OutputMode::Concat => {
            concatenate(Axis(1), &[word.view(), context.view()]).expect("equal row counts")
        }
    }
}

impl Embedder for GloveModel {
    fn dim(&self) -> usize {
        self.embedding.dim()
    }
    fn embed_words(&self, words: &[&str]) -> Result<Array2<f32>> {
        Ok(embed_core::embedder::embed_words_static(self, words))
    }
}

impl StaticEmbedder for GloveModel {
    fn words(&self) -> &[String] {
        self.embedding.words()
    }
    fn matrix(&self) -> ArrayView2<'_, f32> {
        self.embedding.matrix()
    }
    fn lookup(&self, word: &str) -> Lookup<'_> {
        match self.embedding.vector(word) {
            Some(v) => Lookup::InVocabulary(v),
            None => Lookup::Unknown,
        }
    }
}
