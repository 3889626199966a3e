//! fastText on the command line: `embed train fasttext`, `embed train
//! fasttext-supervised` and `embed fasttext predict | test |
//! print-word-vectors`, with the fastText tool's option names.

use std::path::PathBuf;
use std::time::Instant;

use clap::{Args, Subcommand, ValueEnum};
use embed_core::Result;
use embed_fasttext::{FastText, FastTextParams, FastTextParamsBuilder, LossKind, ModelKind};

use super::input::for_each_line_chunk;
use crate::output;
use crate::progress::ProgressDisplay;

/// fastText's unsupervised models.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ModelArg {
    /// Skip-gram.
    Skipgram,
    /// Continuous bag of words.
    Cbow,
}

/// fastText's losses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LossArg {
    /// Negative sampling.
    Ns,
    /// Hierarchical softmax.
    Hs,
    /// Full softmax.
    Softmax,
    /// One-vs-all (independent binary losses; supervised only).
    Ova,
}

impl From<LossArg> for LossKind {
    fn from(loss: LossArg) -> Self {
        match loss {
            LossArg::Ns => LossKind::NegativeSampling,
            LossArg::Hs => LossKind::HierarchicalSoftmax,
            LossArg::Softmax => LossKind::Softmax,
            LossArg::Ova => LossKind::OneVsAll,
        }
    }
}

/// Options both fastText trainings share; unset ones keep fastText's
/// default for the kind of training.
#[derive(Debug, Args)]
pub struct CommonArgs {
    /// Where to write the model in fastText's `.bin` format (atomically).
    #[arg(long)]
    output: PathBuf,
    /// Also write the word vectors in `.vec` (word2vec text) format here.
    #[arg(long)]
    save_vec: Option<PathBuf>,
    /// Vector dimension [default 100].
    #[arg(long)]
    dim: Option<usize>,
    /// Context window [default 5].
    #[arg(long)]
    ws: Option<usize>,
    /// Passes over the data [default 5].
    #[arg(long)]
    epoch: Option<usize>,
    /// Minimum word count [default 5; supervised 1].
    #[arg(long)]
    min_count: Option<u64>,
    /// Negative samples [default 5].
    #[arg(long)]
    neg: Option<usize>,
    /// Shortest character n-gram [default 3; supervised 0].
    #[arg(long)]
    minn: Option<usize>,
    /// Longest character n-gram [default 6; supervised 0].
    #[arg(long)]
    maxn: Option<usize>,
    /// Hash buckets for n-grams [default 2000000].
    #[arg(long)]
    bucket: Option<usize>,
    /// Subsampling threshold [default 1e-4].
    #[arg(long)]
    t: Option<f64>,
    /// Learning rate [default 0.05; supervised 0.1].
    #[arg(long)]
    lr: Option<f64>,
    /// Tokens between learning-rate updates [default 100].
    #[arg(long)]
    lr_update_rate: Option<usize>,
    /// Threads [default: all cores].
    #[arg(long)]
    threads: Option<usize>,
    /// Random seed.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

impl CommonArgs {
    fn apply(&self, mut b: FastTextParamsBuilder) -> FastTextParamsBuilder {
        macro_rules! set {
            ($($field:ident),*) => { $( if let Some(v) = self.$field { b = b.$field(v); } )* };
        }
        set!(
            dim,
            ws,
            epoch,
            min_count,
            neg,
            minn,
            maxn,
            bucket,
            t,
            lr,
            lr_update_rate
        );
        let threads = self.threads.unwrap_or_else(embed_core::available_threads);
        b.threads(threads).seed(self.seed)
    }

    fn save(&self, model: &FastText, started: Instant, what: &str) -> Result<()> {
        model.save_bin(&self.output)?;
        if let Some(path) = &self.save_vec {
            model.save_vec(path)?;
        }
        eprintln!(
            "{what}: {} words, {} labels, dimension {}, trained in {:.1} s, written to {}",
            model.dictionary().nwords(),
            model.dictionary().nlabels(),
            model.args().dim,
            started.elapsed().as_secs_f64(),
            self.output.display()
        );
        Ok(())
    }
}

/// Arguments of `embed train fasttext`.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Training text (whitespace tokens; a line is a sentence).
    #[arg(long)]
    corpus: PathBuf,
    /// Model.
    #[arg(long, value_enum, default_value = "skipgram")]
    model: ModelArg,
    /// Loss.
    #[arg(long, value_enum, default_value = "ns")]
    loss: LossArg,
    #[command(flatten)]
    common: CommonArgs,
}

/// Arguments of `embed train fasttext-supervised`.
#[derive(Debug, Args)]
pub struct SupervisedArgs {
    /// Training lines: `__label__a [__label__b …] text`.
    #[arg(long)]
    input: PathBuf,
    /// Loss.
    #[arg(long, value_enum, default_value = "softmax")]
    loss: LossArg,
    /// Longest word n-gram used as a feature [default 1].
    #[arg(long)]
    word_ngrams: Option<usize>,
    /// A `.vec` file whose vectors initialise the word rows.
    #[arg(long)]
    pretrained_vectors: Option<PathBuf>,
    #[command(flatten)]
    common: CommonArgs,
}

/// Runs `embed train fasttext`.
pub fn train(args: TrainArgs) -> Result<()> {
    let started = Instant::now();
    let builder = FastTextParams::builder()
        .model(match args.model {
            ModelArg::Skipgram => ModelKind::Skipgram,
            ModelArg::Cbow => ModelKind::Cbow,
        })
        .loss(args.loss.into());
    let params = args.common.apply(builder).build()?;
    let mut progress = ProgressDisplay::new("fasttext", params.threads());
    let model = FastText::fit_unsupervised(&params, &args.corpus, &mut progress)?;
    progress.finish();
    args.common.save(&model, started, "fasttext")
}

/// Runs `embed train fasttext-supervised`.
pub fn train_supervised(args: SupervisedArgs) -> Result<()> {
    let started = Instant::now();
    let mut builder = FastTextParams::supervised_builder().loss(args.loss.into());
    if let Some(n) = args.word_ngrams {
        builder = builder.word_ngrams(n);
    }
    let params = args
        .common
        .apply(builder)
        .pretrained_vectors(args.pretrained_vectors.clone())
        .build()?;
    let mut progress = ProgressDisplay::new("fasttext-supervised", params.threads());
    let model = FastText::fit_supervised(&params, &args.input, &mut progress)?;
    progress.finish();
    args.common.save(&model, started, "fasttext-supervised")
}

/// The `embed fasttext` commands.
#[derive(Debug, Subcommand)]
pub enum FastTextCommand {
    /// Print the most likely labels of each input line.
    Predict(PredictArgs),
    /// Precision and recall at k on a labelled file.
    Test(TestArgs),
    /// Print `word v1 v2 …` for each input word (unknown words from their n-grams).
    PrintWordVectors(PrintArgs),
}

/// Runs `embed fasttext ...`.
pub fn run(command: FastTextCommand) -> Result<()> {
    match command {
        FastTextCommand::Predict(args) => predict(args),
        FastTextCommand::Test(args) => test(args),
        FastTextCommand::PrintWordVectors(args) => print_word_vectors(args),
    }
}

/// Input lines read at a time: one, so that each answer is printed as soon
/// as its line arrives, as the fastText tool does when reading `-`.
const CHUNK_LINES: usize = 1;

/// Arguments of `embed fasttext predict`.
#[derive(Debug, Args)]
pub struct PredictArgs {
    /// A supervised `.bin` model.
    #[arg(long)]
    model: PathBuf,
    /// Labels per line.
    #[arg(short = 'k', long, default_value_t = 1)]
    k: usize,
    /// Only labels at least this probable.
    #[arg(long, default_value_t = 0.0)]
    threshold: f32,
    /// Print each label's probability after it (fastText's `predict-prob`).
    #[arg(long)]
    prob: bool,
}

/// Arguments of `embed fasttext test`.
#[derive(Debug, Args)]
pub struct TestArgs {
    /// A supervised `.bin` model.
    #[arg(long)]
    model: PathBuf,
    /// Labelled lines to test on.
    #[arg(long)]
    input: PathBuf,
    /// Labels predicted per line.
    #[arg(short = 'k', long, default_value_t = 1)]
    k: usize,
    /// Only labels at least this probable count as predicted.
    #[arg(long, default_value_t = 0.0)]
    threshold: f32,
}

/// Arguments of `embed fasttext print-word-vectors`.
#[derive(Debug, Args)]
pub struct PrintArgs {
    /// A `.bin` model.
    #[arg(long)]
    model: PathBuf,
}

fn predict(args: PredictArgs) -> Result<()> {
    let model = FastText::load(&args.model)?;
    for_each_line_chunk(CHUNK_LINES, |lines| {
        for line in lines {
            let predictions = model.predict(line, args.k, args.threshold)?;
            let fields: Vec<String> = predictions
                .iter()
                .map(|p| {
                    if args.prob {
                        format!("{} {:.6}", p.label, p.probability)
                    } else {
                        p.label.clone()
                    }
                })
                .collect();
            output::line(fields.join(" "))?;
        }
        Ok(())
    })
}

fn test(args: TestArgs) -> Result<()> {
    let model = FastText::load(&args.model)?;
    let report = model.test(&args.input, args.k, args.threshold)?;
    output::line(format_args!("N\t{}", report.examples))?;
    output::line(format_args!("P@{}\t{:.3}", args.k, report.precision))?;
    output::line(format_args!("R@{}\t{:.3}", args.k, report.recall))
}

fn print_word_vectors(args: PrintArgs) -> Result<()> {
    let model = FastText::load(&args.model)?;
    for_each_line_chunk(CHUNK_LINES, |lines| {
        for word in lines.iter().flat_map(|l| l.split_whitespace()) {
            let vector = model.word_vector(word);
            let values: Vec<String> = vector.iter().map(|v| format!("{v:.5}")).collect();
            output::line(format_args!("{word} {}", values.join(" ")))?;
        }
        Ok(())
    })
}
