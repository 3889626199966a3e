//! The models an experiment can train, and how each is trained with the
//! experiment's matched settings.

use std::fmt;
use std::str::FromStr;
use std::time::Instant;

use embed_core::observer::TrainingObserver;
use embed_core::{Error, Result, WordVectors};
use embed_fasttext::{FastText, FastTextParams};
use embed_glove::{CooccurParams, Cooccurrences, Glove, GloveParams, STREAM_SENTENCE_WORDS};
use embed_vocab::{TextCorpus, VocabParams, Vocabulary};
use embed_word2vec::{Architecture, Word2Vec, Word2VecParams};
use serde::{Deserialize, Serialize};

use crate::Settings;

/// A model family with its variant, as named on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum ModelKind {
    /// word2vec skip-gram with negative sampling.
    #[serde(rename = "word2vec-sg")]
    Word2VecSkipGram,
    /// word2vec CBOW with negative sampling.
    #[serde(rename = "word2vec-cbow")]
    Word2VecCbow,
    /// GloVe (co-occurrence counts, AdaGrad, `W + W̃` vectors).
    Glove,
    /// fastText skip-gram with character n-grams (3–6) and negative sampling.
    #[serde(rename = "fasttext")]
    FastText,
}

impl ModelKind {
    /// Every static model, in the order `embed compare` runs them by default.
    pub const ALL_STATIC: [ModelKind; 4] = [
        ModelKind::Word2VecSkipGram,
        ModelKind::Word2VecCbow,
        ModelKind::Glove,
        ModelKind::FastText,
    ];

    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Word2VecSkipGram => "word2vec-sg",
            ModelKind::Word2VecCbow => "word2vec-cbow",
            ModelKind::Glove => "glove",
            ModelKind::FastText => "fasttext",
        }
    }

    /// The context window used when the experiment does not set one: each
    /// model's reference default (word2vec and fastText 5, GloVe 10).
    pub fn default_window(self) -> usize {
        match self {
            ModelKind::Word2VecSkipGram | ModelKind::Word2VecCbow | ModelKind::FastText => 5,
            ModelKind::Glove => 10,
        }
    }

    /// The epochs used when the experiment does not set them (word2vec and
    /// fastText 5, GloVe 15 — GloVe's epochs are cheap passes over the counts).
    pub fn default_epochs(self) -> usize {
        match self {
            ModelKind::Word2VecSkipGram | ModelKind::Word2VecCbow | ModelKind::FastText => 5,
            ModelKind::Glove => 15,
        }
    }
}

impl fmt::Display for ModelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ModelKind {
    type Err = Error;

    /// ```
    /// use embed_compare::ModelKind;
    /// assert_eq!("glove".parse::<ModelKind>().unwrap(), ModelKind::Glove);
    /// assert!("bert-large".parse::<ModelKind>().is_err());
    /// ```
    fn from_str(s: &str) -> Result<Self> {
        ModelKind::ALL_STATIC
            .into_iter()
            .find(|kind| kind.name() == s)
            .ok_or_else(|| {
                let known: Vec<_> = ModelKind::ALL_STATIC.iter().map(|k| k.name()).collect();
                Error::invalid_parameter(
                    "models",
                    format!("unknown model `{s}` (known: {})", known.join(", ")),
                )
            })
    }
}

/// A trained model's vectors and what its training cost.
#[derive(Debug)]
pub struct TrainedModel {
    /// Which model.
    pub kind: ModelKind,
    /// The word vectors that get evaluated.
    pub vectors: WordVectors,
    /// Corpus tokens processed, over all epochs (GloVe: tokens counted once;
    /// fastText: the tokens of its dictionary, `</s>` included, over all epochs).
    pub words_trained: u64,
    /// Wall time of vocabulary, counting and training, in seconds.
    pub train_seconds: f64,
}

/// Trains `kind` on `corpus` with the matched `settings`.
pub fn train_model(
    kind: ModelKind,
    corpus: &TextCorpus,
    settings: &Settings,
    observer: &mut dyn TrainingObserver,
) -> Result<TrainedModel> {
    let started = Instant::now();
    let window = settings.window.unwrap_or(kind.default_window());
    let epochs = settings.epochs.unwrap_or(kind.default_epochs());
    let (vectors, words_trained) = match kind {
        ModelKind::Word2VecSkipGram | ModelKind::Word2VecCbow => {
            let architecture = if kind == ModelKind::Word2VecSkipGram {
                Architecture::SkipGram
            } else {
                Architecture::Cbow
            };
            let params = Word2VecParams::builder()
                .architecture(architecture)
                .dim(settings.dim)
                .window(window)
                .epochs(epochs)
                .min_count(settings.min_count)
                .threads(settings.threads)
                .seed(settings.seed)
                .build()?;
            let model = Word2Vec::fit(&params, corpus, observer)?;
            let words = model.vocabulary().corpus_words() * model.epochs_trained() as u64;
            (model.into_vectors(), words)
        }
        ModelKind::Glove => {
            let vocab_params = VocabParams::builder()
                .min_count(settings.min_count)
                .threads(settings.threads)
                .build()?;
            let corpus =
                TextCorpus::open(corpus.path())?.with_max_sentence_len(STREAM_SENTENCE_WORDS);
            let vocab = Vocabulary::build(&corpus, &vocab_params)?;
            let cooccur_params = CooccurParams::builder()
                .window(window)
                .threads(settings.threads)
                .build()?;
            let counts = Cooccurrences::count(&corpus, &vocab, &cooccur_params)?;
            // x_max 10 as GloVe's demo script uses for corpora of this size.
            let params = GloveParams::builder()
                .dim(settings.dim)
                .x_max(10.0)
                .epochs(epochs)
                .threads(settings.threads)
                .seed(settings.seed)
                .build()?;
            let model = Glove::fit(&params, &counts, &vocab, observer)?;
            (model.embedding().clone(), vocab.corpus_words())
        }
        ModelKind::FastText => {
            let params = FastTextParams::builder()
                .dim(settings.dim)
                .ws(window)
                .epoch(epochs)
                .min_count(settings.min_count)
                .threads(settings.threads)
                .seed(settings.seed)
                .build()?;
            let model = FastText::fit_unsupervised(&params, corpus.path(), observer)?;
            let words = model.dictionary().ntokens() * epochs as u64;
            (model.to_word_vectors()?, words)
        }
    };
    Ok(TrainedModel {
        kind,
        vectors,
        words_trained,
        train_seconds: started.elapsed().as_secs_f64(),
    })
}
