//! `embed elmo train`: trains ELMo's bidirectional language model on a
//! corpus and writes `options.json` + `weights.hdf5` (bilm-tf's layout,
//! which `embed elmo embed` and AllenNLP load) and `vocab.txt`.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use embed_core::{Control, Error, Result};
use embed_elmo::train::bigram::KneserNeyBigram;
use embed_elmo::train::data::{LmStreams, LmVocabulary, TokenizedText};
use embed_elmo::train::trainer::{
    ElmoObserver, ElmoTrainer, EpochSummary, HeldOut, OptimizerKind, StepProgress, TrainConfig,
};
use embed_elmo::train::{BiLm, BiLmConfig};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{json, Map, Value};

/// Arguments of `embed elmo train`.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Training text: one sentence per line, tokens separated by whitespace.
    #[arg(long)]
    corpus: PathBuf,
    /// Directory for options.json, weights.hdf5, vocab.txt, the held-out log
    /// (heldout.jsonl) and checkpoints (checkpoint/).
    #[arg(long)]
    output: PathBuf,
    /// Convolutions as WIDTH:COUNT pairs.
    #[arg(
        long,
        default_value = "1:32,2:32,3:64,4:64,5:64",
        value_delimiter = ','
    )]
    char_filters: Vec<String>,
    /// Width of a character vector.
    #[arg(long, default_value_t = 16)]
    char_dim: usize,
    /// Highway layers.
    #[arg(long, default_value_t = 1)]
    highway: usize,
    /// Width of the token layer (and of the LSTM projections).
    #[arg(long, default_value_t = 128)]
    projection: usize,
    /// LSTM memory cells.
    #[arg(long, default_value_t = 256)]
    lstm_dim: usize,
    /// Width of each LSTM's projected output [default: --projection]; bilm-tf
    /// needs the two equal.
    #[arg(long)]
    lstm_proj: Option<usize>,
    /// LSTM layers per direction.
    #[arg(long, default_value_t = 2)]
    layers: usize,
    /// Cell clipping (0 = none).
    #[arg(long, default_value_t = 3.0)]
    cell_clip: f32,
    /// Projection clipping (0 = none).
    #[arg(long, default_value_t = 3.0)]
    proj_clip: f32,
    /// Dropout on LSTM inputs and the top layer's output.
    #[arg(long, default_value_t = 0.1)]
    dropout: f32,
    /// Steps per window (truncated back-propagation length).
    #[arg(long, default_value_t = 20)]
    unroll: usize,
    /// Parallel streams per window.
    #[arg(long, default_value_t = 64)]
    batch_size: usize,
    /// Words drawn per direction and window for the sampled softmax; 0 (or at
    /// least the vocabulary size) uses the full softmax.
    #[arg(long, default_value_t = 8192)]
    samples: usize,
    /// Passes over the training text.
    #[arg(long, default_value_t = 10)]
    epochs: usize,
    /// Learning rate [default: 0.2 for adagrad, 0.001 for adam].
    #[arg(long)]
    lr: Option<f32>,
    /// Optimizer.
    #[arg(long, value_enum, default_value_t = OptimizerArg::Adagrad)]
    optimizer: OptimizerArg,
    /// Clip gradients to this global norm (0 = no clipping).
    #[arg(long, default_value_t = 10.0)]
    clip: f32,
    /// Seed of the initial weights, dropout and softmax samples.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Threads [default: all cores].
    #[arg(long)]
    threads: Option<usize>,
    /// Words seen fewer times are predicted as <UNK>.
    #[arg(long, default_value_t = 1)]
    min_count: u64,
    /// Most entries in the vocabulary (<S>, </S>, <UNK> included).
    #[arg(long)]
    max_vocab: Option<usize>,
    /// Lines longer than this many tokens are cut into several sentences.
    #[arg(long, default_value_t = 100)]
    max_sentence_len: usize,
    /// Held-out text for perplexity (same format as the corpus).
    #[arg(long, conflicts_with = "heldout")]
    eval_corpus: Option<PathBuf>,
    /// Hold out this fraction of the corpus's tokens (its last sentences).
    #[arg(long, default_value_t = 0.0)]
    heldout: f64,
    /// Measure held-out perplexity every N steps as well as after each epoch.
    #[arg(long, default_value_t = 0)]
    eval_every: u64,
    /// Save a checkpoint in OUTPUT/checkpoint every N steps (and at the end).
    #[arg(long, default_value_t = 0)]
    checkpoint_every: u64,
    /// Continue from OUTPUT/checkpoint (with OUTPUT/vocab.txt) on the same corpus.
    #[arg(long)]
    resume: bool,
    /// Stop after this many minutes of training (held-out perplexity is
    /// measured and the model written as usual).
    #[arg(long)]
    max_minutes: Option<f64>,
    /// Also report an interpolated Kneser-Ney bigram model's held-out
    /// perplexity on the same vocabulary and split.
    #[arg(long)]
    bigram_baseline: bool,
}

/// Optimizers on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum OptimizerArg {
    /// AdaGrad as bilm-tf (accumulators start at 1).
    Adagrad,
    /// Adam.
    Adam,
}

fn parse_filters(specs: &[String]) -> Result<Vec<(usize, usize)>> {
    specs
        .iter()
        .map(|spec| {
            let parsed = spec
                .split_once(':')
                .and_then(|(w, n)| Some((w.trim().parse().ok()?, n.trim().parse().ok()?)));
            parsed.ok_or_else(|| {
                Error::invalid_parameter(
                    "char-filters",
                    format!("`{spec}` is not WIDTH:COUNT (e.g. 1:32,2:32,3:64)"),
                )
            })
        })
        .collect()
}

/// Runs `embed elmo train`.
pub fn run(args: TrainArgs) -> Result<()> {
    let threads = args.threads.unwrap_or_else(embed_core::available_threads);
    let output = args.output.clone();
    let checkpoint_dir = output.join("checkpoint");
    let vocab_path = output.join("vocab.txt");

    let mut text = TokenizedText::new(args.max_sentence_len);
    let corpus_sentences = text.read_file(&args.corpus)?;
    let (train_range, heldout_range) = match &args.eval_corpus {
        Some(path) => (corpus_sentences, text.read_file(path)?),
        None => text.split_last(args.heldout),
    };
    let vocab = if args.resume {
        LmVocabulary::load(&vocab_path)?
    } else {
        LmVocabulary::build(&text, train_range.clone(), args.min_count, args.max_vocab)?
    };
    eprintln!(
        "elmo: {} training tokens in {} sentences, {} held-out tokens, vocabulary {}",
        text.num_tokens(train_range.clone()),
        train_range.len(),
        text.num_tokens(heldout_range.clone()),
        vocab.len()
    );
    let train = LmStreams::new(
        &text,
        train_range.clone(),
        &vocab,
        args.batch_size,
        args.unroll,
    )?;
    let heldout = if heldout_range.is_empty() {
        None
    } else {
        Some(LmStreams::new(
            &text,
            heldout_range.clone(),
            &vocab,
            args.batch_size,
            args.unroll,
        )?)
    };
    if args.bigram_baseline && !heldout_range.is_empty() {
        let bigram = KneserNeyBigram::train(&text, train_range.clone(), &vocab)?;
        let stats = bigram.evaluate(&text, heldout_range.clone(), &vocab);
        eprintln!(
            "elmo: Kneser-Ney bigram held-out perplexity {:.2} (forward, {} targets)",
            stats.perplexity(),
            stats.tokens
        );
        std::fs::create_dir_all(&output).map_err(|e| Error::io(&output, e))?;
        write_json(
            &output.join("bigram.json"),
            &json!({"heldout_perplexity": stats.perplexity(), "targets": stats.tokens,
                    "discount": bigram.discount(), "unigram_discount": bigram.unigram_discount()}),
        )?;
    }

    let optimizer = match args.optimizer {
        OptimizerArg::Adagrad => OptimizerKind::Adagrad,
        OptimizerArg::Adam => OptimizerKind::Adam,
    };
    let learning_rate = args.lr.unwrap_or(match optimizer {
        OptimizerKind::Adagrad => 0.2,
        OptimizerKind::Adam => 1e-3,
    });
    let settings = TrainConfig {
        epochs: args.epochs,
        samples: args.samples,
        optimizer,
        learning_rate,
        clip_norm: args.clip,
        seed: args.seed,
        threads,
        checkpoint_every: args.checkpoint_every,
        checkpoint_dir: (args.checkpoint_every > 0 || args.resume).then(|| checkpoint_dir.clone()),
        eval_every: args.eval_every,
        time_limit_secs: args.max_minutes.map(|m| m * 60.0),
    };
    let mut trainer = if args.resume {
        ElmoTrainer::resume(&checkpoint_dir, Some(settings), train, heldout)?
    } else {
        let config = BiLmConfig {
            char_filters: parse_filters(&args.char_filters)?,
            char_embed_dim: args.char_dim,
            n_highway: args.highway,
            projection_dim: args.projection,
            lstm_dim: args.lstm_dim,
            lstm_proj_dim: args.lstm_proj.unwrap_or(args.projection),
            n_layers: args.layers,
            cell_clip: args.cell_clip,
            proj_clip: args.proj_clip,
            dropout: args.dropout,
            ..BiLmConfig::small(vocab.len())
        };
        let model = BiLm::init(config, args.seed)?;
        ElmoTrainer::new(model, settings, train, heldout)?
    };
    std::fs::create_dir_all(&output).map_err(|e| Error::io(&output, e))?;
    vocab.save(&vocab_path)?;

    let mut progress = TrainProgress::new(threads, output.join("heldout.jsonl"), args.resume)?;
    let history = trainer.train(&mut progress)?;
    progress.finish();

    let model = trainer.model();
    let extra = bilm_tf_fields(
        model.config(),
        trainer.config(),
        &args,
        text.num_tokens(train_range),
    );
    model.to_inference_weights()?.save_with(&output, &extra)?;
    write_json(
        &output.join("training.json"),
        &json!({"epochs": history, "steps": trainer.position().step,
                "train": trainer.config(), "model": model.config()}),
    )?;
    if let Some(last) = history.last().and_then(|s| s.heldout) {
        eprintln!(
            "elmo: held-out perplexity {:.2} (forward {:.2}, backward {:.2})",
            last.loss.perplexity(),
            last.loss.forward_perplexity(),
            last.loss.backward_perplexity()
        );
    }
    eprintln!("elmo: wrote {}", output.display());
    Ok(())
}

/// bilm-tf's training fields of `options.json`.
fn bilm_tf_fields(
    model: &BiLmConfig,
    settings: &TrainConfig,
    args: &TrainArgs,
    train_tokens: usize,
) -> Map<String, Value> {
    let value = json!({
        "bidirectional": true,
        "dropout": model.dropout,
        "n_tokens_vocab": model.vocab_size,
        "unroll_steps": args.unroll,
        "batch_size": args.batch_size,
        "n_negative_samples_batch": settings.samples,
        "n_epochs": settings.epochs,
        "n_train_tokens": train_tokens,
        "all_clip_norm_val": settings.clip_norm,
    });
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

fn write_json(path: &Path, value: &Value) -> Result<()> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| Error::InvalidInput(format!("cannot serialise {}: {e}", path.display())))?;
    embed_core::io::write_atomically(path, |w| {
        use std::io::Write;
        writeln!(w, "{text}").map_err(Error::from)
    })
}

/// Progress on standard error (a bar on a terminal, a line every few
/// seconds otherwise) and the held-out log.
struct TrainProgress {
    threads: usize,
    bar: Option<ProgressBar>,
    last_line: Instant,
    started: Instant,
    log: std::io::BufWriter<std::fs::File>,
    log_path: PathBuf,
}

fn format_eta(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

impl TrainProgress {
    fn new(threads: usize, log_path: PathBuf, append: bool) -> Result<Self> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(append)
            .write(true)
            .truncate(!append)
            .open(&log_path)
            .map_err(|e| Error::io(&log_path, e))?;
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(1000);
            let style = ProgressStyle::with_template("elmo [{bar:30}] {percent:>3}% {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> ");
            bar.set_style(style);
            bar
        });
        Ok(TrainProgress {
            threads: threads.max(1),
            bar,
            last_line: Instant::now(),
            started: Instant::now(),
            log: std::io::BufWriter::new(file),
            log_path,
        })
    }

    fn line(&self, line: String) {
        match &self.bar {
            Some(bar) => bar.println(line),
            None => eprintln!("{line}"),
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl ElmoObserver for TrainProgress {
    fn on_step(&mut self, p: &StepProgress) -> Control {
        let message = format!(
            "epoch {}/{} step {} perplexity {:.1} {:.0} tokens/s/thread lr {} ETA {}",
            p.epoch,
            p.epochs,
            p.step,
            p.perplexity,
            p.tokens_per_sec / self.threads as f64,
            p.learning_rate,
            format_eta(p.eta_secs)
        );
        match &self.bar {
            Some(bar) => {
                bar.set_position((p.fraction * 1000.0) as u64);
                bar.set_message(message);
            }
            None => {
                if self.last_line.elapsed() >= Duration::from_secs(5) {
                    self.last_line = Instant::now();
                    eprintln!("elmo: {:5.1}% {message}", p.fraction * 100.0);
                }
            }
        }
        Control::Continue
    }

    fn on_heldout(&mut self, h: &HeldOut) -> Control {
        self.line(format!(
            "elmo: step {} held-out perplexity {:.2} (forward {:.2}, backward {:.2})",
            h.step,
            h.loss.perplexity(),
            h.loss.forward_perplexity(),
            h.loss.backward_perplexity()
        ));
        let record = json!({
            "step": h.step, "tokens_seen": h.tokens_seen,
            "seconds": self.started.elapsed().as_secs_f64(),
            "perplexity": h.loss.perplexity(),
            "forward_perplexity": h.loss.forward_perplexity(),
            "backward_perplexity": h.loss.backward_perplexity(),
        });
        use std::io::Write;
        if let Err(e) = writeln!(self.log, "{record}").and_then(|()| self.log.flush()) {
            self.line(format!(
                "elmo: cannot write {}: {e}",
                self.log_path.display()
            ));
        }
        Control::Continue
    }

    fn on_epoch_end(&mut self, s: &EpochSummary) -> Control {
        self.line(format!(
            "elmo: epoch {} done, training perplexity {:.2}",
            s.epoch,
            s.train.perplexity()
        ));
        Control::Continue
    }
}
