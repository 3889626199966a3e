//! `embed compare`: train several models on one corpus with matched
//! settings and print how they compare.
//!
//! Each model trains in a child process of this same binary (the hidden
//! `compare-worker` command), so that its peak memory is its own.

use std::path::{Path, PathBuf};
use std::process::Command;

use clap::Args;
use embed_compare::{
    EvalSets, Experiment, ModelKind, ModelReport, PreparedCorpus, PretrainedModels, Settings,
};
use embed_core::formats::{write_vectors, VectorFormat};
use embed_core::io::write_atomically;
use embed_core::{Error, Result};

use crate::output;
use crate::progress::ProgressDisplay;

/// Where the bundled sample and evaluation sets live in a checkout.
const BUNDLED_DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data");

fn bundled(relative: &str) -> PathBuf {
    Path::new(BUNDLED_DATA).join(relative)
}

/// Arguments of `embed compare`.
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// Training text, plain or gzip [default: the bundled 1M-word Wikipedia sample].
    #[arg(long)]
    corpus: Option<PathBuf>,
    /// Comma-separated models: word2vec-sg, word2vec-cbow, glove, fasttext,
    /// and the pre-trained bert and elmo [default: every static model].
    #[arg(long, value_delimiter = ',')]
    models: Vec<String>,
    /// Vector dimension of every model.
    #[arg(long, default_value_t = 100)]
    dim: usize,
    /// Epochs of every model [default: each model's own: word2vec 5, GloVe 15].
    #[arg(long)]
    epochs: Option<usize>,
    /// Context window of every model [default: each model's own: word2vec 5, GloVe 10].
    #[arg(long)]
    window: Option<usize>,
    /// Words rarer than this are dropped.
    #[arg(long, default_value_t = 5)]
    min_count: u64,
    /// Training threads of every model [default: all cores].
    #[arg(long)]
    threads: Option<usize>,
    /// Random seed of every model.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Analogy questions [default: the bundled questions-words.txt].
    #[arg(long)]
    analogy: Option<PathBuf>,
    /// Word-pair similarity files [default: the bundled WordSim-353 and SimLex-999].
    #[arg(long, num_args = 1..)]
    similarity: Vec<PathBuf>,
    /// Write the report as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Write the report as CSV to this file.
    #[arg(long)]
    csv: Option<PathBuf>,
    /// Plot quality against training time to this SVG file.
    #[arg(long)]
    plot: Option<PathBuf>,
    /// BERT checkpoint directory, for `--models ...,bert`.
    #[arg(long)]
    bert: Option<PathBuf>,
    /// ELMo `options.json`, for `--models ...,elmo`.
    #[arg(long)]
    elmo_options: Option<PathBuf>,
    /// ELMo `weights.hdf5`, for `--models ...,elmo`.
    #[arg(long)]
    elmo_weights: Option<PathBuf>,
    /// Keep each model's vectors (word2vec binary) in this directory.
    #[arg(long)]
    keep_vectors: Option<PathBuf>,
}

/// Arguments of the hidden worker that trains one model.
#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// The experiment as JSON.
    #[arg(long)]
    experiment: PathBuf,
    /// The model to train.
    #[arg(long)]
    model: String,
    /// Where to write the model's report as JSON.
    #[arg(long)]
    result: PathBuf,
    /// Where to write the model's vectors, if anywhere.
    #[arg(long)]
    vectors: Option<PathBuf>,
}

fn experiment(args: &CompareArgs) -> Result<Experiment> {
    let corpus = args
        .corpus
        .clone()
        .unwrap_or_else(|| bundled("sample/wiki1m.txt.gz"));
    if !corpus.is_file() {
        return Err(Error::io(
            &corpus,
            std::io::Error::new(std::io::ErrorKind::NotFound, "corpus file not found"),
        ));
    }
    let models = if args.models.is_empty() {
        ModelKind::ALL_STATIC.to_vec()
    } else {
        args.models
            .iter()
            .map(|name| name.trim().parse())
            .collect::<Result<_>>()?
    };
    let analogy = args
        .analogy
        .clone()
        .unwrap_or_else(|| bundled("eval/questions-words.txt"));
    let similarity = if args.similarity.is_empty() {
        vec![
            bundled("eval/wordsim353.tsv"),
            bundled("eval/simlex999.txt"),
        ]
    } else {
        args.similarity.clone()
    };
    let mut settings = Settings {
        dim: args.dim,
        window: args.window,
        epochs: args.epochs,
        min_count: args.min_count,
        seed: args.seed,
        ..Settings::default()
    };
    if let Some(threads) = args.threads {
        settings.threads = threads;
    }
    Ok(Experiment {
        corpus,
        models,
        settings,
        eval: EvalSets {
            analogy: Some(analogy),
            similarity,
            ..EvalSets::default()
        },
        pretrained: PretrainedModels {
            bert: args.bert.clone(),
            elmo_options: args.elmo_options.clone(),
            elmo_weights: args.elmo_weights.clone(),
        },
    })
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string_pretty(value)
        .map_err(|e| Error::InvalidInput(format!("cannot serialise to JSON: {e}")))
}

fn write_text(path: &Path, text: &str) -> Result<()> {
    write_atomically(path, |w| {
        std::io::Write::write_all(w, text.as_bytes()).map_err(|e| Error::io(path, e))
    })
}

/// Runs `embed compare`.
pub fn run(args: CompareArgs) -> Result<()> {
    let experiment = experiment(&args)?;
    // Check every input before the first model trains.
    experiment.pretrained.check(&experiment.models)?;
    experiment.eval.load()?;
    if let Some(dir) = &args.keep_vectors {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let prepared = PreparedCorpus::open(&experiment.corpus)?;
    let work = tempfile::tempdir().map_err(|e| Error::io(std::env::temp_dir(), e))?;
    let worker_experiment = Experiment {
        corpus: prepared.corpus().path().to_path_buf(),
        ..experiment.clone()
    };
    let experiment_file = work.path().join("experiment.json");
    std::fs::write(&experiment_file, to_json(&worker_experiment)?)
        .map_err(|e| Error::io(&experiment_file, e))?;
    let exe = std::env::current_exe().map_err(Error::Stream)?;

    let mut reports = Vec::with_capacity(experiment.models.len());
    for (i, kind) in experiment.models.iter().enumerate() {
        let task = if kind.is_contextual() {
            "embedding the vocabulary of"
        } else {
            "training on"
        };
        eprintln!(
            "[{}/{}] {kind}: {task} {}",
            i + 1,
            experiment.models.len(),
            experiment.corpus.display()
        );
        let result = work.path().join(format!("{kind}.json"));
        let mut command = Command::new(&exe);
        command
            .arg("compare-worker")
            .arg("--experiment")
            .arg(&experiment_file)
            .arg("--model")
            .arg(kind.name())
            .arg("--result")
            .arg(&result);
        if let Some(dir) = &args.keep_vectors {
            command
                .arg("--vectors")
                .arg(dir.join(format!("{kind}.bin")));
        }
        let status = command.status().map_err(|e| Error::io(&exe, e))?;
        if !status.success() {
            return Err(Error::InvalidInput(format!(
                "training {kind} failed ({status}); see the message above"
            )));
        }
        let text = std::fs::read_to_string(&result).map_err(|e| Error::io(&result, e))?;
        let report: ModelReport = serde_json::from_str(&text)
            .map_err(|e| Error::InvalidInput(format!("unreadable report of {kind}: {e}")))?;
        reports.push(report);
    }
    let report = experiment.report(reports);

    if let Some(path) = &args.json {
        write_text(path, &to_json(&report)?)?;
    }
    if let Some(path) = &args.csv {
        write_text(path, &report.to_csv())?;
    }
    if let Some(path) = &args.plot {
        write_text(path, &report.to_svg())?;
    }
    output::line(report.to_markdown().trim_end())
}

/// Runs the hidden `compare-worker`: trains and evaluates one model.
pub fn worker(args: WorkerArgs) -> Result<()> {
    let text =
        std::fs::read_to_string(&args.experiment).map_err(|e| Error::io(&args.experiment, e))?;
    let experiment: Experiment = serde_json::from_str(&text)
        .map_err(|e| Error::InvalidInput(format!("unreadable experiment: {e}")))?;
    let kind: ModelKind = args.model.parse()?;
    let sets = experiment.eval.load()?;
    let corpus = PreparedCorpus::open(&experiment.corpus)?;
    let mut progress = ProgressDisplay::new(kind.name(), experiment.settings.threads);
    let (trained, report) = experiment.run_one(kind, &corpus, &sets, &mut progress)?;
    progress.finish();
    if let Some(path) = &args.vectors {
        write_vectors(path, &trained.vectors, VectorFormat::Word2VecBinary)?;
    }
    write_text(&args.result, &to_json(&report)?)
}
