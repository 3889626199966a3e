//! `embed train MODEL`: train a model on a corpus and write its vectors.

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::{Args, Subcommand, ValueEnum};
use embed_core::formats::{write_vectors, VectorFormat};
use embed_core::{Error, Result, WordVectors};
use embed_glove::{
    CooccurParams, Cooccurrences, Glove, GloveParams, OutputMode, STREAM_SENTENCE_WORDS,
};
use embed_vocab::{TextCorpus, VocabParams, Vocabulary};
use embed_word2vec::{Architecture, CbowContext, Loss, Word2Vec, Word2VecParams};

use crate::progress::ProgressDisplay;

/// The models `embed train` knows.
#[derive(Debug, Subcommand)]
pub enum TrainCommand {
    /// word2vec skip-gram or CBOW (word2vec C's training semantics and defaults).
    Word2vec(Word2VecArgs),
    /// GloVe: co-occurrence counts in bounded memory, then AdaGrad (Stanford GloVe's pipeline).
    Glove(GloveArgs),
    /// fastText subword word vectors (skip-gram or CBOW), saved as a fastText `.bin`.
    Fasttext(super::fasttext::TrainArgs),
    /// fastText text classification from `__label__` lines.
    FasttextSupervised(super::fasttext::SupervisedArgs),
}

/// Runs `embed train ...`.
pub fn run(command: TrainCommand) -> Result<()> {
    match command {
        TrainCommand::Word2vec(args) => word2vec(args),
        TrainCommand::Glove(args) => glove(args),
        TrainCommand::Fasttext(args) => super::fasttext::train(args),
        TrainCommand::FasttextSupervised(args) => super::fasttext::train_supervised(args),
    }
}

/// Output format of trained vectors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// word2vec binary.
    #[value(name = "word2vec")]
    Word2Vec,
    /// word2vec text.
    #[value(name = "word2vec-text")]
    Word2VecText,
    /// GloVe text (no header).
    Glove,
}

impl From<OutputFormat> for VectorFormat {
    fn from(format: OutputFormat) -> Self {
        match format {
            OutputFormat::Word2Vec => VectorFormat::Word2VecBinary,
            OutputFormat::Word2VecText => VectorFormat::Word2VecText,
            OutputFormat::Glove => VectorFormat::Glove,
        }
    }
}

/// word2vec architectures as named on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ModelArg {
    /// Skip-gram.
    Sg,
    /// Continuous bag of words.
    Cbow,
}

/// word2vec losses as named on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LossArg {
    /// Negative sampling.
    Ns,
    /// Hierarchical softmax.
    Hs,
    /// Both output layers, as word2vec C with `-hs 1 -negative N`.
    Both,
}

/// Arguments of `embed train word2vec`; defaults are word2vec C's.
#[derive(Debug, Args)]
pub struct Word2VecArgs {
    /// Training text: whitespace-separated tokens, one sentence per line (plain or gzip).
    #[arg(long)]
    corpus: PathBuf,
    /// Where to write the vectors (atomically).
    #[arg(long)]
    output: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value = "word2vec")]
    format: OutputFormat,
    /// Architecture.
    #[arg(long, value_enum, default_value = "cbow")]
    model: ModelArg,
    /// Output layer.
    #[arg(long, value_enum, default_value = "ns")]
    loss: LossArg,
    /// Vector dimension.
    #[arg(long, default_value_t = 100)]
    dim: usize,
    /// Maximum context window.
    #[arg(long, default_value_t = 5)]
    window: usize,
    /// Noise words per prediction.
    #[arg(long, default_value_t = 5)]
    negative: usize,
    /// Words rarer than this are dropped.
    #[arg(long, default_value_t = 5)]
    min_count: u64,
    /// Keep at most this many of the most frequent words.
    #[arg(long)]
    max_vocab: Option<usize>,
    /// Subsampling threshold of frequent words (0 disables).
    #[arg(long, default_value_t = 1e-3)]
    sample: f64,
    /// Starting learning rate [default: 0.025 skip-gram, 0.05 CBOW].
    #[arg(long)]
    alpha: Option<f32>,
    /// Final learning rate [default: alpha × 1e-4].
    #[arg(long)]
    min_alpha: Option<f32>,
    /// Passes over the corpus.
    #[arg(long, default_value_t = 5)]
    epochs: usize,
    /// Training threads [default: all cores].
    #[arg(long)]
    threads: Option<usize>,
    /// Random seed (one thread and one seed reproduce a run bit for bit).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// CBOW sums its context instead of averaging it.
    #[arg(long)]
    cbow_sum: bool,
    /// Also write the vocabulary counts (`word count` lines) here.
    #[arg(long)]
    save_vocab: Option<PathBuf>,
}

fn word2vec(args: Word2VecArgs) -> Result<()> {
    let started = Instant::now();
    let mut builder = Word2VecParams::builder()
        .architecture(match args.model {
            ModelArg::Sg => Architecture::SkipGram,
            ModelArg::Cbow => Architecture::Cbow,
        })
        .loss(match args.loss {
            LossArg::Ns => Loss::NegativeSampling,
            LossArg::Hs => Loss::HierarchicalSoftmax,
            LossArg::Both => Loss::Both,
        })
        .cbow_context(if args.cbow_sum {
            CbowContext::Sum
        } else {
            CbowContext::Mean
        })
        .dim(args.dim)
        .window(args.window)
        .negative(args.negative)
        .min_count(args.min_count)
        .sample(args.sample)
        .epochs(args.epochs)
        .seed(args.seed);
    if let Some(n) = args.max_vocab {
        builder = builder.max_vocab(n);
    }
    if let Some(alpha) = args.alpha {
        builder = builder.alpha(alpha);
    }
    if let Some(min_alpha) = args.min_alpha {
        builder = builder.min_alpha(min_alpha);
    }
    if let Some(threads) = args.threads {
        builder = builder.threads(threads);
    }
    let params = builder.build()?;
    check_writable(&args.output)?;
    let corpus = TextCorpus::open(&args.corpus)?;
    let mut progress = ProgressDisplay::new("word2vec", params.threads());
    let model = Word2Vec::fit(&params, &corpus, &mut progress)?;
    progress.finish();
    if let Some(path) = &args.save_vocab {
        model.vocabulary().save_counts(path)?;
    }
    let words = model.vocabulary().corpus_words() * model.epochs_trained() as u64;
    let loss = model.epoch_losses().last().copied().unwrap_or(f64::NAN);
    let vectors = model.into_vectors();
    write_vectors(&args.output, &vectors, args.format.into())?;
    summary("word2vec", &vectors, words, loss, started, &args.output);
    Ok(())
}

/// Which GloVe vectors to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GloveOutputArg {
    /// Word vectors plus context vectors (GloVe's default, `-model 2`).
    Sum,
    /// Word vectors only.
    Word,
    /// Word and context vectors side by side (twice the dimension).
    Concat,
}

/// Arguments of `embed train glove`; defaults are Stanford GloVe's where it has one.
#[derive(Debug, Args)]
pub struct GloveArgs {
    /// Training text (plain or gzip); lines are read as one stream of words.
    #[arg(long)]
    corpus: PathBuf,
    /// Where to write the vectors (atomically).
    #[arg(long)]
    output: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value = "glove")]
    format: OutputFormat,
    /// Vector dimension.
    #[arg(long, default_value_t = 100)]
    dim: usize,
    /// Context window.
    #[arg(long, default_value_t = 10)]
    window: usize,
    /// Count context on both sides (the default).
    #[arg(long, conflicts_with = "left_only")]
    symmetric: bool,
    /// Count context on the left side only.
    #[arg(long)]
    left_only: bool,
    /// Words rarer than this are dropped.
    #[arg(long, default_value_t = 5)]
    min_count: u64,
    /// Keep at most this many of the most frequent words.
    #[arg(long)]
    max_vocab: Option<usize>,
    /// Cut-off of the weighting function (use 10 for corpora of a few million words).
    #[arg(long, default_value_t = 100.0)]
    x_max: f64,
    /// Exponent of the weighting function.
    #[arg(long, default_value_t = 0.75)]
    power: f64,
    /// AdaGrad's initial learning rate.
    #[arg(long, default_value_t = 0.05)]
    eta: f64,
    /// Passes over the co-occurrence matrix.
    #[arg(long, default_value_t = 25)]
    epochs: usize,
    /// Threads for counting and training [default: all cores].
    #[arg(long)]
    threads: Option<usize>,
    /// Memory limit for counting and shuffling, in MiB; beyond it sorted runs spill to disk.
    #[arg(long, default_value_t = 4096)]
    memory_mb: usize,
    /// Random seed (one thread and one seed reproduce a run bit for bit).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Which vectors to write.
    #[arg(long, value_enum, default_value = "sum")]
    vectors: GloveOutputArg,
    /// Also save the co-occurrence counts here, to train again without counting.
    #[arg(long)]
    save_cooccur: Option<PathBuf>,
    /// Train on counts saved earlier with --save-cooccur instead of counting.
    #[arg(long)]
    cooccur: Option<PathBuf>,
}

fn glove(args: GloveArgs) -> Result<()> {
    let started = Instant::now();
    let threads = args.threads.unwrap_or_else(embed_core::available_threads);
    let params = GloveParams::builder()
        .dim(args.dim)
        .x_max(args.x_max)
        .alpha(args.power)
        .eta(args.eta)
        .epochs(args.epochs)
        .threads(threads)
        .seed(args.seed)
        .memory_mb(args.memory_mb)
        .output(match args.vectors {
            GloveOutputArg::Sum => OutputMode::WPlusContext,
            GloveOutputArg::Word => OutputMode::W,
            GloveOutputArg::Concat => OutputMode::Concat,
        })
        .build()?;
    let cooccur_params = CooccurParams::builder()
        .window(args.window)
        .symmetric(!args.left_only)
        .memory_mb(args.memory_mb)
        .threads(threads)
        .build()?;
    check_writable(&args.output)?;
    let corpus = TextCorpus::open(&args.corpus)?.with_max_sentence_len(STREAM_SENTENCE_WORDS);
    let vocab_params = VocabParams::builder()
        .min_count(args.min_count)
        .max_size(args.max_vocab)
        .threads(threads)
        .build()?;
    let vocab = Vocabulary::build(&corpus, &vocab_params)?;
    eprintln!(
        "glove: {} words in the vocabulary ({:.1} s)",
        vocab.len(),
        started.elapsed().as_secs_f64()
    );
    let counts = match &args.cooccur {
        Some(path) => Cooccurrences::load(path, &vocab, params.memory_bytes())?,
        None => {
            let counting = Instant::now();
            let counts = Cooccurrences::count(&corpus, &vocab, &cooccur_params)?;
            eprintln!(
                "glove: {} co-occurrence entries counted ({:.1} s)",
                counts.len(),
                counting.elapsed().as_secs_f64()
            );
            counts
        }
    };
    if let Some(path) = &args.save_cooccur {
        counts.save(path)?;
    }
    let mut progress = ProgressDisplay::new("glove", threads);
    let model = Glove::fit(&params, &counts, &vocab, &mut progress)?;
    progress.finish();
    let vectors = model.embedding();
    write_vectors(&args.output, vectors, args.format.into())?;
    summary(
        "glove",
        vectors,
        vocab.corpus_words(),
        progress.last_epoch_loss().unwrap_or(f64::NAN),
        started,
        &args.output,
    );
    Ok(())
}

/// Fails early when the output's directory does not exist, before hours of training.
fn check_writable(output: &Path) -> Result<()> {
    let dir = match output.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    if dir.is_dir() {
        Ok(())
    } else {
        Err(Error::io(
            dir,
            std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "output directory does not exist",
            ),
        ))
    }
}

/// The final one-line summary of a training run, on standard error.
fn summary(
    model: &str,
    vectors: &WordVectors,
    words: u64,
    loss: f64,
    started: Instant,
    output: &Path,
) {
    let seconds = started.elapsed().as_secs_f64();
    eprintln!(
        "{model}: {} words × {} dims, {words} words trained in {seconds:.1} s ({:.0} words/s end to end), final epoch loss {loss:.4}, written to {}",
        vectors.len(),
        vectors.dim(),
        words as f64 / seconds.max(1e-9),
        output.display()
    );
}
