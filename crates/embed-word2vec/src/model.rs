//! The trained model: vocabulary, input vectors and the output layers, so
//! that training can continue and the output side can be queried.

use embed_core::kernels::{axpy, dot, scale, top_k};
use embed_core::observer::TrainingObserver;
use embed_core::{Embedder, Error, Lookup, Result, StaticEmbedder, WordVectors};
use embed_vocab::{Corpus, VocabParams, Vocabulary};
use ndarray::{Array2, ArrayView2};

use crate::params::ValidWord2VecParams;
use crate::train::{train, Weights};

/// A word2vec model: skip-gram or CBOW vectors with the output layers they
/// were trained with.
///
/// ```
/// use embed_core::observer::EpochLog;
/// use embed_vocab::InMemoryCorpus;
/// use embed_word2vec::{Architecture, Word2Vec, Word2VecParams};
///
/// let text = "the cat sat on the mat\nthe dog sat on the rug\n".repeat(50);
/// let corpus = InMemoryCorpus::from_text(&text);
/// let params = Word2VecParams::builder()
///     .architecture(Architecture::SkipGram)
///     .dim(16).min_count(1).epochs(2).threads(1).sample(0.0)
///     .build()?;
/// let mut log = EpochLog::default();
/// let model = Word2Vec::fit(&params, &corpus, &mut log)?;
/// assert_eq!(model.vectors().dim(), 16);
/// assert_eq!(log.losses().len(), 2);
/// # Ok::<(), embed_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Word2Vec {
    params: ValidWord2VecParams,
    vocab: Vocabulary,
    vectors: WordVectors,
    output: Option<Array2<f32>>,
    nodes: Option<Array2<f32>>,
    epochs_trained: usize,
    epoch_losses: Vec<f64>,
}

impl Word2Vec {
    /// Builds the vocabulary of `corpus` and trains on it.
    ///
    /// # Errors
    ///
    /// [`Error::EmptyCorpus`] when the corpus has no words or none reaches
    /// `min_count`; I/O errors from reading the corpus; [`Error::Diverged`]
    /// when the loss becomes NaN or infinite.
    pub fn fit(
        params: &ValidWord2VecParams,
        corpus: &dyn Corpus,
        observer: &mut dyn TrainingObserver,
    ) -> Result<Word2Vec> {
        let vocab_params = VocabParams::builder()
            .min_count(params.min_count())
            .max_size(params.max_vocab())
            .threads(params.threads())
            .build()?;
        let vocab = Vocabulary::build(corpus, &vocab_params)?;
        Self::fit_with_vocabulary(params, vocab, corpus, observer)
    }

    /// Trains on `corpus` with a vocabulary built beforehand (for example
    /// loaded from a `-save-vocab` file).
    pub fn fit_with_vocabulary(
        params: &ValidWord2VecParams,
        vocab: Vocabulary,
        corpus: &dyn Corpus,
        observer: &mut dyn TrainingObserver,
    ) -> Result<Word2Vec> {
        if vocab.is_empty() {
            return Err(Error::EmptyCorpus {
                source_name: corpus.description(),
                detail: " in the vocabulary".to_string(),
            });
        }
        let mut weights = Weights::init(params, vocab.len());
        let report = train(corpus, params, &vocab, &mut weights, 0, observer)?;
        let vectors = WordVectors::new(vocab.words().to_vec(), weights.input)?;
        Ok(Word2Vec {
            params: params.clone(),
            vocab,
            vectors,
            output: weights.output,
            nodes: weights.nodes,
            epochs_trained: report.epoch_losses.len(),
            epoch_losses: report.epoch_losses,
        })
    }

    /// Trains `epochs` more epochs on `corpus` with the same vocabulary
    /// (words outside it are skipped); the learning rate decays again from
    /// `alpha` to `min_alpha` over these epochs.
    ///
    /// ```
    /// # use embed_core::observer::NoopObserver;
    /// # use embed_vocab::InMemoryCorpus;
    /// # use embed_word2vec::{Word2Vec, Word2VecParams};
    /// # let corpus = InMemoryCorpus::from_text(&"a b c d a b c d\n".repeat(20));
    /// # let params = Word2VecParams::builder().dim(8).min_count(1).epochs(1).threads(1).build()?;
    /// let mut model = Word2Vec::fit(&params, &corpus, &mut NoopObserver)?;
    /// model.continue_training(&corpus, 2, &mut NoopObserver)?;
    /// assert_eq!(model.epochs_trained(), 3);
    /// # Ok::<(), embed_core::Error>(())
    /// ```
    pub fn continue_training(
        &mut self,
        corpus: &dyn Corpus,
        epochs: usize,
        observer: &mut dyn TrainingObserver,
    ) -> Result<()> {
        let params = self.params.with_epochs(epochs)?;
        let mut weights = Weights {
            input: self.vectors.matrix().to_owned(),
            output: self.output.take(),
            nodes: self.nodes.take(),
        };
        let result = train(
            corpus,
            &params,
            &self.vocab,
            &mut weights,
            self.epochs_trained,
            observer,
        );
        // The output layers come back whether training succeeded or not.
        self.output = weights.output;
        self.nodes = weights.nodes;
        let report = result?;
        self.vectors = WordVectors::new(self.vocab.words().to_vec(), weights.input)?;
        self.epochs_trained += report.epoch_losses.len();
        self.epoch_losses.extend(report.epoch_losses);
        Ok(())
    }

    /// The parameters the model was trained with.
    pub fn params(&self) -> &ValidWord2VecParams {
        &self.params
    }

    /// The vocabulary with its counts.
    pub fn vocabulary(&self) -> &Vocabulary {
        &self.vocab
    }

    /// The word vectors (the input layer).
    pub fn vectors(&self) -> &WordVectors {
        &self.vectors
    }

    /// The word vectors, dropping the rest of the model.
    pub fn into_vectors(self) -> WordVectors {
        self.vectors
    }

    /// The negative-sampling output vectors (`syn1neg`), one row per word.
    pub fn output_vectors(&self) -> Option<ArrayView2<'_, f32>> {
        self.output.as_ref().map(Array2::view)
    }

    /// The hierarchical-softmax inner-node vectors (`syn1`).
    pub fn node_vectors(&self) -> Option<ArrayView2<'_, f32>> {
        self.nodes.as_ref().map(Array2::view)
    }

    /// Epochs trained so far.
    pub fn epochs_trained(&self) -> usize {
        self.epochs_trained
    }

    /// The mean loss of every epoch trained so far.
    pub fn epoch_losses(&self) -> &[f64] {
        &self.epoch_losses
    }

    /// The `topn` most probable centre words given `context`, with their
    /// probabilities, like gensim's `predict_output_word`: the mean of the
    /// context's input vectors scored against every output vector, then a
    /// softmax over the vocabulary. Unknown context words are ignored.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] when the model has no negative-sampling
    /// output layer or no context word is known.
    pub fn predict_output_word(&self, context: &[&str], topn: usize) -> Result<Vec<(String, f32)>> {
        let output = self.output.as_ref().ok_or_else(|| {
            Error::InvalidInput(
                "predict_output_word needs the negative-sampling output layer; \
                 this model was trained with hierarchical softmax only"
                    .to_string(),
            )
        })?;
        let mut hidden = vec![0.0f32; self.vectors.dim()];
        let mut known = 0usize;
        for word in context {
            if let Some(row) = self.vectors.vector(word) {
                let row = row.to_slice().unwrap_or_default();
                axpy(1.0, row, &mut hidden);
                known += 1;
            }
        }
        if known == 0 {
            return Err(Error::InvalidInput(format!(
                "none of the context words {context:?} is in the vocabulary"
            )));
        }
        scale(1.0 / known as f32, &mut hidden);
        let scores: Vec<f32> = output
            .rows()
            .into_iter()
            .map(|row| dot(row.to_slice().unwrap_or_default(), &hidden))
            .collect();
        let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let norm: f64 = scores.iter().map(|&s| ((s - max) as f64).exp()).sum();
        Ok(top_k(&scores, topn, |_| false)
            .into_iter()
            .map(|(i, s)| {
                let p = (((s - max) as f64).exp() / norm) as f32;
                (self.vocab.words()[i].clone(), p)
            })
            .collect())
    }

    /// Reassembles a model from its parts (used by the model reader).
    pub(crate) fn from_parts(
        params: ValidWord2VecParams,
        vocab: Vocabulary,
        vectors: WordVectors,
        output: Option<Array2<f32>>,
        nodes: Option<Array2<f32>>,
        epoch_losses: Vec<f64>,
    ) -> Word2Vec {
        Word2Vec {
            params,
            vocab,
            vectors,
            output,
            nodes,
            epochs_trained: epoch_losses.len(),
            epoch_losses,
        }
    }
}

impl Embedder for Word2Vec {
    fn dim(&self) -> usize {
        self.vectors.dim()
    }

    fn embed_words(&self, words: &[&str]) -> Result<Array2<f32>> {
        self.vectors.embed_words(words)
    }
}

impl StaticEmbedder for Word2Vec {
    fn words(&self) -> &[String] {
        self.vectors.words()
    }

    fn matrix(&self) -> ArrayView2<'_, f32> {
        self.vectors.matrix()
    }

    fn lookup(&self, word: &str) -> Lookup<'_> {
        self.vectors.lookup(word)
    }
}
