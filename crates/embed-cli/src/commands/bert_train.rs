//! `embed bert train-vocab`, `embed bert pretrain` and `embed bert
//! fill-mask`: train a WordPiece vocabulary, pre-train (or continue
//! pre-training) a BERT masked-language model, optionally with
//! next-sentence prediction, and query one.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clap::Args;
use embed_bert::tokenizer::train_vocab::{write_vocab, VocabTrainer, VocabTrainerConfig};
use embed_bert::tokenizer::NormalizerOptions;
use embed_bert::train::checkpoint::{locate_checkpoint, Evaluation};
use embed_bert::train::masking::MaskingConfig;
use embed_bert::train::pretrain::{
    check_output_dir, PretrainConfig, PretrainObserver, Pretrainer, StepReport,
};
use embed_bert::train::{MlmBatch, MlmModel, MlmSettings};
use embed_bert::{BertConfig, Tokenizer, TokenizerConfig, Vocab};
use embed_core::observer::Control;
use embed_core::{Error, Result};
use indicatif::{ProgressBar, ProgressStyle};

use crate::output;

/// Arguments of `embed bert train-vocab`.
#[derive(Debug, Args)]
pub struct TrainVocabArgs {
    /// Plain-text corpus (documents separated by blank lines).
    #[arg(long)]
    corpus: PathBuf,
    /// Vocabulary size, the special tokens [PAD] [UNK] [CLS] [SEP] [MASK] included.
    #[arg(long)]
    size: usize,
    /// Where to write `vocab.txt` (one token per line).
    #[arg(long)]
    output: PathBuf,
    /// Merge only pairs of pieces seen at least this often.
    #[arg(long, default_value_t = 2)]
    min_frequency: u64,
    /// Lower-case and strip accents before counting (an uncased model).
    #[arg(long)]
    lowercase: bool,
}

/// Runs `embed bert train-vocab`.
pub fn train_vocab(args: TrainVocabArgs) -> Result<()> {
    let config = VocabTrainerConfig {
        size: args.size,
        min_frequency: args.min_frequency,
        normalizer: NormalizerOptions {
            lowercase: args.lowercase,
            strip_accents: args.lowercase,
            split_cjk: true,
        },
        ..VocabTrainerConfig::default()
    };
    let mut trainer = VocabTrainer::new(config)?;
    trainer.add_file(&args.corpus)?;
    let vocab = trainer.train()?;
    write_vocab(&args.output, &vocab)?;
    eprintln!(
        "train-vocab: {} tokens from {} distinct words written to {}",
        vocab.len(),
        trainer.num_words(),
        args.output.display()
    );
    Ok(())
}

/// Arguments of `embed bert pretrain`.
#[derive(Debug, Args)]
pub struct PretrainArgs {
    /// Plain-text training corpus (documents separated by blank lines).
    #[arg(long)]
    corpus: PathBuf,
    /// Checkpoint directory (Hugging Face layout plus optimizer state),
    /// refreshed every --checkpoint-every steps and at the end.
    #[arg(long)]
    output: PathBuf,
    /// A Hugging Face `config.json` giving the architecture (and dropout).
    #[arg(long, conflicts_with_all = ["hidden", "layers", "heads", "intermediate", "init"])]
    config: Option<PathBuf>,
    /// Hidden size of a fresh model.
    #[arg(long, default_value_t = 128)]
    hidden: usize,
    /// Encoder layers of a fresh model.
    #[arg(long, default_value_t = 2)]
    layers: usize,
    /// Attention heads of a fresh model.
    #[arg(long, default_value_t = 2)]
    heads: usize,
    /// Feed-forward width of a fresh model.
    #[arg(long, default_value_t = 512)]
    intermediate: usize,
    /// Longest sequence, [CLS] and [SEP] included.
    #[arg(long, default_value_t = 128)]
    max_length: usize,
    /// `vocab.txt` of a fresh model (see `embed bert train-vocab`); casing
    /// follows a `tokenizer_config.json` beside it, else the vocabulary
    /// (lower-cased when no token has a capital letter).
    #[arg(long)]
    vocab: Option<PathBuf>,
    /// Start from this checkpoint (any BERT directory, e.g.
    /// all-MiniLM-L6-v2) and continue masked-LM training on the corpus.
    #[arg(long, conflicts_with_all = ["hidden", "layers", "heads", "intermediate", "vocab"])]
    init: Option<PathBuf>,
    /// Sequences per batch.
    #[arg(long, default_value_t = 32)]
    batch_size: usize,
    /// Batches per optimizer step (gradient accumulation).
    #[arg(long, default_value_t = 1)]
    accumulate: usize,
    /// Peak learning rate.
    #[arg(long, default_value_t = 1e-4)]
    lr: f64,
    /// Warm-up steps [default: a tenth of --steps].
    #[arg(long)]
    warmup: Option<u64>,
    /// Optimizer steps.
    #[arg(long, default_value_t = 1000)]
    steps: u64,
    /// AdamW weight decay (not on biases and LayerNorm).
    #[arg(long, default_value_t = 0.01)]
    weight_decay: f32,
    /// Largest global gradient norm (0: no clipping).
    #[arg(long, default_value_t = 1.0)]
    clip: f64,
    /// Fraction of ordinary tokens predicted.
    #[arg(long, default_value_t = 0.15)]
    mask_prob: f64,
    /// Most tokens predicted per sequence.
    #[arg(long, default_value_t = 20)]
    max_predictions: usize,
    /// Mask whole words (a piece with its ## continuations).
    #[arg(long)]
    whole_word_mask: bool,
    /// Seed of weights, data order, masks and dropout.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Threads [default: all cores]; 1 makes runs reproducible bit for bit.
    #[arg(long)]
    threads: Option<usize>,
    /// Write a checkpoint every N steps (0: only at the end).
    #[arg(long, default_value_t = 0)]
    checkpoint_every: u64,
    /// Continue the run whose checkpoint is in DIR (same settings and corpus).
    #[arg(long)]
    resume: Option<PathBuf>,
    /// Held-out corpus for the masked-LM loss and accuracy.
    #[arg(long)]
    eval_corpus: Option<PathBuf>,
    /// Evaluate every N steps (0: only at the end).
    #[arg(long, default_value_t = 0)]
    eval_every: u64,
    /// Without --eval-corpus, hold out this fraction of the corpus (its end).
    #[arg(long, default_value_t = 0.0)]
    holdout: f64,
    /// Evaluate on at most N held-out sequences (0: all).
    #[arg(long, default_value_t = 0)]
    eval_max_sequences: usize,
    /// Next-sentence prediction as in the original BERT: train on sentence
    /// pairs (lines are sentences, blank lines end documents; at least two
    /// documents) with the pooler and NSP head, and write BertForPreTraining
    /// checkpoints.
    #[arg(long)]
    nsp: bool,
}

impl PretrainArgs {
    fn pretrain_config(&self) -> PretrainConfig {
        PretrainConfig {
            max_length: self.max_length,
            masking: MaskingConfig {
                mask_prob: self.mask_prob,
                max_predictions: self.max_predictions,
                whole_word: self.whole_word_mask,
            },
            batch_size: self.batch_size,
            accumulate: self.accumulate,
            learning_rate: self.lr,
            warmup_steps: self.warmup,
            steps: self.steps,
            weight_decay: self.weight_decay,
            clip: self.clip,
            seed: self.seed,
            threads: self.threads.unwrap_or_else(embed_core::available_threads),
            checkpoint_every: self.checkpoint_every,
            eval_every: self.eval_every,
            holdout: self.holdout,
            eval_max_sequences: self.eval_max_sequences,
            nsp: self.nsp,
            ..PretrainConfig::default()
        }
    }

    /// The model and tokenizer to start from: a loaded checkpoint, or a
    /// fresh model over `--vocab`.
    fn starting_point(&self) -> Result<(MlmModel, Tokenizer)> {
        if let Some(dir) = &self.init {
            // With --nsp, a pooler and NSP head in the checkpoint are kept
            // and missing ones start fresh; without, they are dropped.
            let model = MlmModel::from_pretrained_with(dir, self.nsp)?;
            return Ok((model, Tokenizer::from_dir(dir)?));
        }
        let vocab_path = self.vocab.as_ref().ok_or_else(|| {
            Error::invalid_parameter(
                "vocab",
                "a fresh model needs --vocab (make one with `embed bert train-vocab`), or start from --init DIR",
            )
        })?;
        let tokenizer = tokenizer_for_vocab(vocab_path)?;
        let vocab_size = tokenizer.vocab().len();
        let (config, settings) = match &self.config {
            Some(path) => {
                let config = BertConfig::from_file(path)?;
                (config, MlmSettings::from_config_file(path)?)
            }
            None => (
                BertConfig {
                    vocab_size,
                    hidden_size: self.hidden,
                    num_hidden_layers: self.layers,
                    num_attention_heads: self.heads,
                    intermediate_size: self.intermediate,
                    max_position_embeddings: self.max_length,
                    ..BertConfig::tiny()
                },
                MlmSettings::default(),
            ),
        };
        let config = BertConfig {
            vocab_size,
            pad_token_id: tokenizer.special_ids().pad as usize,
            max_position_embeddings: config.max_position_embeddings.max(self.max_length),
            ..config
        };
        let model = MlmModel::init_with_settings(&config, settings, self.seed)?;
        Ok((model, tokenizer))
    }
}

/// A tokenizer over `vocab.txt`, with the `tokenizer_config.json` beside it
/// when there is one; otherwise uncased exactly when no token has an
/// upper-case letter.
fn tokenizer_for_vocab(path: &Path) -> Result<Tokenizer> {
    let vocab = Vocab::from_file(path)?;
    let beside = path.with_file_name("tokenizer_config.json");
    let config = if beside.is_file() {
        TokenizerConfig::from_file(&beside)?
    } else {
        let cased = (0..vocab.len() as u32)
            .filter_map(|id| vocab.token(id))
            .filter(|t| !(t.starts_with('[') && t.ends_with(']')))
            .any(|t| t.chars().any(char::is_uppercase));
        TokenizerConfig {
            normalizer: NormalizerOptions {
                lowercase: !cased,
                strip_accents: !cased,
                split_cjk: true,
            },
            ..TokenizerConfig::default()
        }
    };
    Tokenizer::new(vocab, config)
}

/// Runs `embed bert pretrain`.
pub fn pretrain(args: PretrainArgs) -> Result<()> {
    check_output_dir(&args.output, args.resume.as_deref())?;
    let config = args.pretrain_config();
    config.validate()?;
    let (model, tokenizer) = args.starting_point()?;
    let vocab_size = tokenizer.vocab().len();
    let mut trainer = Pretrainer::from_files(
        config,
        model,
        tokenizer,
        &args.corpus,
        args.eval_corpus.as_deref(),
    )?;
    if let Some(dir) = &args.resume {
        // A run stopped while swapping checkpoints left the last one as
        // `<dir>.previous`; the message below names the one resumed.
        let dir = locate_checkpoint(dir);
        trainer.resume_from(&dir)?;
        eprintln!(
            "pretrain: resumed from {} at step {}",
            dir.display(),
            trainer.step()
        );
    }
    let c = trainer.model().config();
    eprintln!(
        "pretrain: {} layers, hidden {}, {} heads, vocabulary {}; {} training {} of up to {} tokens{}",
        c.num_hidden_layers,
        c.hidden_size,
        c.num_attention_heads,
        vocab_size,
        trainer.train_sequences().len(),
        if trainer.config().nsp {
            "sentence pairs (next-sentence prediction on)"
        } else {
            "sequences"
        },
        trainer.config().max_length,
        trainer
            .eval_sequences()
            .map(|s| format!(", {} held out", s.len()))
            .unwrap_or_default()
    );
    let baseline = trainer.unigram_baseline();
    if let Some(unigram) = baseline {
        eprintln!(
            "pretrain: held-out baselines: ln(vocab) {:.4}, unigram cross-entropy {unigram:.4}",
            (vocab_size as f64).ln()
        );
    }
    if let Some(majority) = trainer.next_sentence_baseline() {
        eprintln!(
            "pretrain: held-out next-sentence baseline: the commoner label makes up {majority:.4} of the pairs"
        );
    }
    let mut display = PretrainDisplay::new(trainer.config().steps, trainer.step());
    let last = trainer.run(Some(&args.output), &mut display)?;
    display.finish();
    match last {
        Some(report) => eprintln!(
            "pretrain: step {} loss {:.4}{}, {:.0} tokens/s; checkpoint in {}",
            report.step,
            report.loss,
            next_sentence_figures(report.next_sentence_loss, report.next_sentence_accuracy),
            report.tokens_per_sec,
            args.output.display()
        ),
        None => eprintln!("pretrain: no step left to take (step {})", trainer.step()),
    }
    Ok(())
}

/// Progress of `embed bert pretrain`: a bar on a terminal, a line every few
/// seconds otherwise; held-out evaluations always get a line of their own.
struct PretrainDisplay {
    bar: Option<ProgressBar>,
    first_step: u64,
    last_line: Instant,
    started: Instant,
}

impl PretrainDisplay {
    fn new(steps: u64, done: u64) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(steps);
            let style = ProgressStyle::with_template(
                "pretrain [{bar:30}] step {pos}/{len} {msg} ETA {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
            bar.set_style(style);
            bar.set_position(done);
            bar
        });
        PretrainDisplay {
            bar,
            first_step: done,
            last_line: Instant::now(),
            started: Instant::now(),
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }

    fn println(&self, line: String) {
        match &self.bar {
            Some(bar) => bar.println(line),
            None => eprintln!("{line}"),
        }
    }
}

impl PretrainObserver for PretrainDisplay {
    fn on_step(&mut self, r: &StepReport) -> Control {
        let message = format!(
            "loss {:.4}{} lr {:.2e} {:.0} tokens/s",
            r.loss,
            next_sentence_figures(r.next_sentence_loss, r.next_sentence_accuracy),
            r.learning_rate,
            r.tokens_per_sec
        );
        match &self.bar {
            Some(bar) => {
                bar.set_position(r.step);
                bar.set_message(message);
            }
            None => {
                if self.last_line.elapsed() >= Duration::from_secs(5) || r.step == r.steps {
                    self.last_line = Instant::now();
                    let done = (r.step - self.first_step) as f64;
                    let eta = self.started.elapsed().as_secs_f64() / done.max(1.0)
                        * (r.steps - r.step) as f64;
                    eprintln!(
                        "pretrain: step {}/{} {message} ETA {}",
                        r.step,
                        r.steps,
                        format_duration(eta)
                    );
                }
            }
        }
        Control::Continue
    }

    fn on_evaluation(&mut self, e: &Evaluation) -> Control {
        self.println(format!(
            "pretrain: step {} held-out loss {:.4} accuracy {:.4} ({} masked tokens){}",
            e.step,
            e.loss,
            e.accuracy,
            e.predicted,
            next_sentence_figures(e.next_sentence_loss, e.next_sentence_accuracy)
        ));
        Control::Continue
    }
}

/// `", nsp loss L accuracy A"` when next-sentence prediction is on.
fn next_sentence_figures(loss: Option<f64>, accuracy: Option<f64>) -> String {
    match (loss, accuracy) {
        (Some(loss), Some(accuracy)) => format!(", nsp loss {loss:.4} accuracy {accuracy:.4}"),
        _ => String::new(),
    }
}

fn format_duration(secs: f64) -> String {
    let secs = secs.max(0.0).round() as u64;
    format!("{}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
}

/// Arguments of `embed bert fill-mask`.
#[derive(Debug, Args)]
pub struct FillMaskArgs {
    /// Model directory with a masked-LM head (`embed bert pretrain` output,
    /// or any `BertForMaskedLM` checkpoint).
    #[arg(long)]
    model: PathBuf,
    /// Candidates printed per [MASK].
    #[arg(long, default_value_t = 5)]
    top_k: usize,
    /// Print every position's logits as one JSON array of rows instead.
    #[arg(long)]
    logits: bool,
    /// A second segment: the input is the pair `[CLS] TEXT [SEP] PAIR [SEP]`.
    #[arg(long)]
    pair: Option<String>,
    /// Print the next-sentence logits `[is next, random]` of the input as
    /// a JSON array instead (a BertForPreTraining model, e.g. `embed bert
    /// pretrain --nsp` output).
    #[arg(long, conflicts_with = "logits")]
    next_sentence: bool,
    /// Text with one or more [MASK] tokens.
    text: String,
}

/// Runs `embed bert fill-mask`: for each `[MASK]`, the `top_k` tokens the
/// model scores highest, with their probabilities.
pub fn fill_mask(args: FillMaskArgs) -> Result<()> {
    let tokenizer = Tokenizer::from_dir(&args.model)?;
    let model = MlmModel::from_pretrained(&args.model)?;
    let max = model.config().max_position_embeddings;
    let encoding = match &args.pair {
        Some(second) => tokenizer.encode_pair(&args.text, second, Some(max))?,
        None => tokenizer.encode(&args.text, Some(max))?,
    };
    let n = encoding.ids.len();
    let batch = MlmBatch {
        batch: 1,
        seq_len: n,
        input_ids: encoding.ids.clone(),
        token_type_ids: encoding.type_ids.clone(),
        attention_mask: vec![1; n],
        labels: vec![-100; n],
        next_sentence_labels: Vec::new(),
    };
    if args.next_sentence {
        let logits = model.next_sentence_logits(&batch)?;
        let json = serde_json::to_string(&logits.row(0).to_vec())
            .map_err(|e| Error::InvalidInput(format!("cannot serialise logits: {e}")))?;
        return output::line(json);
    }
    let logits = model.logits(&batch)?;
    if args.logits {
        let rows: Vec<Vec<f32>> = logits.rows().into_iter().map(|r| r.to_vec()).collect();
        let json = serde_json::to_string(&rows)
            .map_err(|e| Error::InvalidInput(format!("cannot serialise logits: {e}")))?;
        return output::line(json);
    }
    let mask = tokenizer
        .special_ids()
        .mask
        .ok_or_else(|| Error::invalid_parameter("model", "the vocabulary has no [MASK] token"))?;
    let positions: Vec<usize> = (0..n).filter(|&i| encoding.ids[i] == mask).collect();
    if positions.is_empty() {
        return Err(Error::InvalidInput("the text holds no [MASK] token".into()));
    }
    for position in positions {
        let row = logits.row(position);
        let max_logit = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let z: f64 = row.iter().map(|&x| f64::from(x - max_logit).exp()).sum();
        let mut order: Vec<usize> = (0..row.len()).collect();
        order.sort_by(|&a, &b| row[b].total_cmp(&row[a]).then(a.cmp(&b)));
        let best: Vec<String> = order
            .iter()
            .take(args.top_k)
            .map(|&id| {
                let p = f64::from(row[id] - max_logit).exp() / z;
                format!(
                    "{} {p:.4}",
                    tokenizer.vocab().token(id as u32).unwrap_or("[UNK]")
                )
            })
            .collect();
        output::line(format!("{position}\t{}", best.join("\t")))?;
    }
    Ok(())
}
