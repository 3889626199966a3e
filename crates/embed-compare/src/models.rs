//! The models an experiment can train, and how each is trained with the
//! experiment's matched settings.

use std::fmt;
use std::str::FromStr;
use std::time::Instant;

use std::path::PathBuf;

use embed_bert::SentenceEmbedder;
use embed_core::observer::TrainingObserver;
use embed_core::{ContextualEmbedder, Error, Result, WordVectors};
use embed_elmo::{ElmoEmbedder, ElmoModel};
use embed_fasttext::{FastText, FastTextParams};
use embed_glove::{CooccurParams, Cooccurrences, Glove, GloveParams, STREAM_SENTENCE_WORDS};
use embed_vocab::{TextCorpus, VocabParams, Vocabulary};
use embed_word2vec::{Architecture, Word2Vec, Word2VecParams};
use ndarray::Array2;
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
    /// A pre-trained BERT checkpoint ([`PretrainedModels::bert`]); each
    /// vocabulary word is embedded in isolation.
    Bert,
    /// Pre-trained ELMo weights ([`PretrainedModels::elmo_options`] and
    /// [`PretrainedModels::elmo_weights`]); each vocabulary word is embedded
    /// in isolation.
    Elmo,
}

impl ModelKind {
    /// Every static model, in the order `embed compare` runs them by default.
    pub const ALL_STATIC: [ModelKind; 4] = [
        ModelKind::Word2VecSkipGram,
        ModelKind::Word2VecCbow,
        ModelKind::Glove,
        ModelKind::FastText,
    ];

    /// Every model a name can select.
    pub const ALL: [ModelKind; 6] = [
        ModelKind::Word2VecSkipGram,
        ModelKind::Word2VecCbow,
        ModelKind::Glove,
        ModelKind::FastText,
        ModelKind::Bert,
        ModelKind::Elmo,
    ];

    /// Whether the model is a pre-trained contextual one, which is not
    /// trained on the corpus but asked for each vocabulary word's vector.
    pub fn is_contextual(self) -> bool {
        matches!(self, ModelKind::Bert | ModelKind::Elmo)
    }

    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Word2VecSkipGram => "word2vec-sg",
            ModelKind::Word2VecCbow => "word2vec-cbow",
            ModelKind::Glove => "glove",
            ModelKind::FastText => "fasttext",
            ModelKind::Bert => "bert",
            ModelKind::Elmo => "elmo",
        }
    }

    /// The context window used when the experiment does not set one: each
    /// model's reference default (word2vec and fastText 5, GloVe 10).
    pub fn default_window(self) -> usize {
        match self {
            ModelKind::Word2VecSkipGram | ModelKind::Word2VecCbow | ModelKind::FastText => 5,
            ModelKind::Glove => 10,
            ModelKind::Bert | ModelKind::Elmo => 0,
        }
    }

    /// The epochs used when the experiment does not set them (word2vec and
    /// fastText 5, GloVe 15 — GloVe's epochs are cheap passes over the counts).
    pub fn default_epochs(self) -> usize {
        match self {
            ModelKind::Word2VecSkipGram | ModelKind::Word2VecCbow | ModelKind::FastText => 5,
            ModelKind::Glove => 15,
            ModelKind::Bert | ModelKind::Elmo => 0,
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
        ModelKind::ALL
            .into_iter()
            .find(|kind| kind.name() == s)
            .ok_or_else(|| {
                let known: Vec<_> = ModelKind::ALL.iter().map(|k| k.name()).collect();
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

/// Where the pre-trained contextual models of an experiment are.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PretrainedModels {
    /// A Hugging Face BERT directory (`config.json`, `vocab.txt`, `model.safetensors`).
    pub bert: Option<PathBuf>,
    /// ELMo's bilm-tf `options.json`.
    pub elmo_options: Option<PathBuf>,
    /// ELMo's bilm-tf `weights.hdf5`.
    pub elmo_weights: Option<PathBuf>,
}

impl PretrainedModels {
    /// Checks that every contextual model in `kinds` has its files named.
    pub fn check(&self, kinds: &[ModelKind]) -> Result<()> {
        for kind in kinds {
            let missing = match kind {
                ModelKind::Bert => self.bert.is_none(),
                ModelKind::Elmo => self.elmo_options.is_none() || self.elmo_weights.is_none(),
                _ => false,
            };
            if missing {
                return Err(Error::invalid_parameter(
                    "models",
                    format!("`{kind}` needs its pre-trained files (--bert DIR, or --elmo-options F --elmo-weights F)"),
                ));
            }
        }
        Ok(())
    }
}

/// Words embedded per call of a contextual model.
const CONTEXTUAL_BATCH: usize = 256;

/// The corpus vocabulary's vectors from a pre-trained contextual model,
/// each word embedded on its own (a one-word sequence): the static view of
/// a contextual model. `words_trained` counts the words embedded.
pub fn contextual_word_vectors(
    kind: ModelKind,
    corpus: &TextCorpus,
    settings: &Settings,
    pretrained: &PretrainedModels,
) -> Result<TrainedModel> {
    let started = Instant::now();
    pretrained.check(&[kind])?;
    let model: Box<dyn ContextualEmbedder> = match (kind, pretrained) {
        (
            ModelKind::Bert,
            PretrainedModels {
                bert: Some(dir), ..
            },
        ) => Box::new(SentenceEmbedder::load(dir)?),
        (
            ModelKind::Elmo,
            PretrainedModels {
                elmo_options: Some(options),
                elmo_weights: Some(weights),
                ..
            },
        ) => Box::new(ElmoEmbedder::average(ElmoModel::load(options, weights)?)?),
        _ => {
            return Err(Error::invalid_parameter(
                "models",
                format!("`{kind}` is not a pre-trained contextual model"),
            ))
        }
    };
    let vocab_params = VocabParams::builder()
        .min_count(settings.min_count)
        .threads(settings.threads)
        .build()?;
    let vocab = Vocabulary::build(corpus, &vocab_params)?;
    let words = vocab.words();
    let mut matrix = Array2::zeros((words.len(), model.dim()));
    for (chunk, mut rows) in words
        .chunks(CONTEXTUAL_BATCH)
        .zip(matrix.axis_chunks_iter_mut(ndarray::Axis(0), CONTEXTUAL_BATCH))
    {
        let batch: Vec<Vec<&str>> = chunk.iter().map(|w| vec![w.as_str()]).collect();
        for (i, vectors) in model.embed_batch(&batch)?.iter().enumerate() {
            if let Some(vector) = vectors.rows().into_iter().next() {
                rows.row_mut(i).assign(&vector);
            }
        }
    }
    Ok(TrainedModel {
        kind,
        vectors: WordVectors::new(words.to_vec(), matrix)?,
        words_trained: words.len() as u64,
        train_seconds: started.elapsed().as_secs_f64(),
    })
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
        ModelKind::Bert | ModelKind::Elmo => {
            return Err(Error::invalid_parameter(
                "models",
                format!("`{kind}` is pre-trained: use contextual_word_vectors"),
            ))
        }
    };
    Ok(TrainedModel {
        kind,
        vectors,
        words_trained,
        train_seconds: started.elapsed().as_secs_f64(),
    })
}
