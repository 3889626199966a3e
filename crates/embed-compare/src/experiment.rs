//! An experiment: a corpus, the models, their matched settings and the
//! evaluation sets.

use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::{Path, PathBuf};

use embed_core::observer::TrainingObserver;
use embed_core::{Error, Result};
use embed_eval::{AnalogyOptions, AnalogySet, WordPairs};
use embed_vocab::TextCorpus;
use serde::{Deserialize, Serialize};

use crate::models::{
    contextual_word_vectors, train_model, ModelKind, PretrainedModels, TrainedModel,
};
use crate::report::{ComparisonReport, ModelReport};

/// Settings every model of an experiment shares.
///
/// `window` and `epochs` left `None` take each model's reference default
/// (see [`ModelKind::default_window`] and [`ModelKind::default_epochs`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    /// Vector dimension.
    pub dim: usize,
    /// Context window, or each model's default.
    pub window: Option<usize>,
    /// Passes over the data, or each model's default.
    pub epochs: Option<usize>,
    /// Words rarer than this are left out of every vocabulary.
    pub min_count: u64,
    /// Training threads.
    pub threads: usize,
    /// Random seed.
    pub seed: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            dim: 100,
            window: None,
            epochs: None,
            min_count: 5,
            threads: embed_core::available_threads(),
            seed: 1,
        }
    }
}

/// The evaluation sets of an experiment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalSets {
    /// Analogy questions (`questions-words.txt` format).
    pub analogy: Option<PathBuf>,
    /// Word-pair similarity files.
    pub similarity: Vec<PathBuf>,
    /// Analogy questions use only the most frequent words (gensim: 30000).
    pub restrict_vocab: usize,
}

impl Default for EvalSets {
    fn default() -> Self {
        EvalSets {
            analogy: None,
            similarity: Vec::new(),
            restrict_vocab: AnalogyOptions::default().restrict_vocab,
        }
    }
}

/// Evaluation sets read into memory once for all models.
#[derive(Debug)]
pub struct LoadedEvalSets {
    pub(crate) analogy: Option<AnalogySet>,
    pub(crate) similarity: Vec<WordPairs>,
    pub(crate) restrict_vocab: usize,
}

impl EvalSets {
    /// Reads and checks every set, so that a bad file fails before training.
    pub fn load(&self) -> Result<LoadedEvalSets> {
        Ok(LoadedEvalSets {
            analogy: self.analogy.as_ref().map(AnalogySet::read).transpose()?,
            similarity: self
                .similarity
                .iter()
                .map(WordPairs::read)
                .collect::<Result<_>>()?,
            restrict_vocab: self.restrict_vocab,
        })
    }
}

/// A side-by-side experiment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Experiment {
    /// Training text (plain or gzip).
    pub corpus: PathBuf,
    /// The models, trained in this order.
    pub models: Vec<ModelKind>,
    /// Matched settings.
    pub settings: Settings,
    /// Evaluation sets.
    pub eval: EvalSets,
    /// Files of the pre-trained contextual models among `models`.
    #[serde(default)]
    pub pretrained: PretrainedModels,
}

/// A corpus ready for multithreaded training: gzip input is decompressed
/// once to a temporary file, so every model reads the same plain text in
/// byte-range shards (one per thread). The temporary file is removed when
/// this value is dropped.
#[derive(Debug)]
pub struct PreparedCorpus {
    corpus: TextCorpus,
    _temp: Option<tempfile::TempDir>,
}

impl PreparedCorpus {
    /// Opens `path`, decompressing it first when it is gzip.
    pub fn open(path: &Path) -> Result<Self> {
        let corpus = TextCorpus::open(path)?;
        if !corpus.is_gzip() {
            return Ok(PreparedCorpus {
                corpus,
                _temp: None,
            });
        }
        let temp = tempfile::tempdir().map_err(|e| Error::io(std::env::temp_dir(), e))?;
        let plain = temp.path().join("corpus.txt");
        let input = File::open(path).map_err(|e| Error::io(path, e))?;
        let mut decoder = flate2::read::MultiGzDecoder::new(BufReader::new(input));
        let output = File::create(&plain).map_err(|e| Error::io(&plain, e))?;
        std::io::copy(&mut decoder, &mut BufWriter::new(output)).map_err(|e| Error::io(path, e))?;
        Ok(PreparedCorpus {
            corpus: TextCorpus::open(&plain)?,
            _temp: Some(temp),
        })
    }

    /// The corpus to train on.
    pub fn corpus(&self) -> &TextCorpus {
        &self.corpus
    }
}

impl Experiment {
    /// Checks the corpus and the evaluation sets, then trains and evaluates
    /// each model in turn in this process. `observer` makes a progress
    /// observer for each model.
    pub fn run(
        &self,
        observer: &mut dyn FnMut(ModelKind) -> Box<dyn TrainingObserver>,
    ) -> Result<ComparisonReport> {
        if self.models.is_empty() {
            return Err(Error::invalid_parameter(
                "models",
                "name at least one model",
            ));
        }
        self.pretrained.check(&self.models)?;
        let sets = self.eval.load()?;
        let corpus = PreparedCorpus::open(&self.corpus)?;
        let mut reports = Vec::with_capacity(self.models.len());
        for &kind in &self.models {
            let mut progress = observer(kind);
            let (_, report) = self.run_one(kind, &corpus, &sets, &mut *progress)?;
            reports.push(report);
        }
        Ok(self.report(reports))
    }

    /// Trains one model on an already prepared corpus (or, for a
    /// pre-trained contextual model, embeds the corpus vocabulary word by
    /// word) and evaluates it.
    pub fn run_one(
        &self,
        kind: ModelKind,
        corpus: &PreparedCorpus,
        sets: &LoadedEvalSets,
        observer: &mut dyn TrainingObserver,
    ) -> Result<(TrainedModel, ModelReport)> {
        let trained = if kind.is_contextual() {
            contextual_word_vectors(kind, corpus.corpus(), &self.settings, &self.pretrained)?
        } else {
            train_model(kind, corpus.corpus(), &self.settings, observer)?
        };
        let report = ModelReport::evaluate(&trained, sets)?;
        Ok((trained, report))
    }

    /// Gathers per-model reports into the experiment's report.
    pub fn report(&self, models: Vec<ModelReport>) -> ComparisonReport {
        ComparisonReport {
            corpus: self.corpus.display().to_string(),
            settings: self.settings.clone(),
            models,
        }
    }
}
