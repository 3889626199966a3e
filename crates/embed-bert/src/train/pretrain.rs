//! Masked-language-model pre-training (and continued pre-training of a
//! loaded checkpoint), optionally with next-sentence prediction.
//!
//! One optimizer step of [`Pretrainer`]:
//!
//! 1. the learning rate follows linear warm-up then linear decay to zero
//!    ([`WarmupLinear`]);
//! 2. `accumulate` batches of `batch_size` masked sequences
//!    ([`BatchSource`]) add their gradients, scaled so that the step follows
//!    the mean loss over all their predicted positions; each batch is
//!    spread over the threads of the run's pool by
//!    [`MlmModel::forward_backward_scaled`]. The sequences are packed
//!    ([`PackedSequences`]), or with [`PretrainConfig::nsp`] sentence pairs
//!    ([`SentencePairs`]) whose next-sentence loss (mean over the pairs)
//!    adds to the masked-LM loss, as in `BertForPreTraining`;
//! 3. the gradients are clipped to a global norm;
//! 4. AdamW updates every parameter, without weight decay on biases and
//!    layer norms ([`decays_unless_bias_or_layer_norm`]).
//!
//! Everything random — data order, masks, dropout — derives from the seed
//! and the step, so a run resumed from a checkpoint continues exactly as
//! the uninterrupted run would have (bit for bit with one thread). A
//! non-finite loss or gradient stops the run with [`Error::Diverged`]
//! naming the step; the last checkpoint written stays as it was.
//!
//! ```
//! use embed_bert::train::pretrain::{PretrainConfig, Pretrainer, PretrainLog};
//! use embed_bert::train::data::TokenStream;
//! use embed_bert::train::MlmModel;
//! use embed_bert::{BertConfig, Tokenizer, TokenizerConfig, Vocab};
//! let vocab = Vocab::from_tokens(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "b", "c"]);
//! let tokenizer = Tokenizer::new(vocab, TokenizerConfig::default())?;
//! let text = "a b c a b c a b c a b c\n".repeat(20);
//! let stream = TokenStream::from_reader(text.as_bytes(), "corpus".as_ref(), &tokenizer)?;
//! let config = PretrainConfig { max_length: 12, batch_size: 4, steps: 5, threads: 1,
//!                               ..PretrainConfig::default() };
//! let model = MlmModel::init(&BertConfig { vocab_size: 8, ..BertConfig::tiny() }, 1)?;
//! let mut trainer = Pretrainer::new(config, model, tokenizer, stream, None)?;
//! let mut log = PretrainLog::default();
//! let dir = tempfile::tempdir().unwrap();
//! trainer.run(Some(&dir.path().join("out")), &mut log)?;
//! assert_eq!(log.steps.len(), 5);
//! # Ok::<(), embed_core::Error>(())
//! ```

use std::path::Path;
use std::time::Instant;

use embed_core::observer::Control;
use embed_core::optim::{
    decays_unless_bias_or_layer_norm, step_store, Adam, AdamConfig, Optimizer,
};
use embed_core::params::GradientStore;
use embed_core::schedule::{LearningRateSchedule, WarmupLinear};
use embed_core::seed::derive_seed;
use embed_core::{Error, Result};
use serde::{Deserialize, Serialize};

use super::checkpoint::{
    self, check_same_identity, config_hash, read_optimizer_state, read_trainer_state, Evaluation,
    TrainerState,
};
use super::data::{BatchSource, PackedSequences, TokenStream, TrainingSequences};
use super::masking::{check_special_tokens, Masker, MaskingConfig, IGNORE_LABEL};
use super::pairs::{check_pair_length, SentencePairs};
use super::{GradScale, MlmModel, MlmStats};
use crate::Tokenizer;

/// The settings of a pre-training run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PretrainConfig {
    /// Longest sequence, `[CLS]` and `[SEP]` included (at least 3, at most
    /// the model's position table). Default 128.
    pub max_length: usize,
    /// Which positions are predicted and how they are corrupted.
    pub masking: MaskingConfig,
    /// Sequences per batch. Default 32.
    pub batch_size: usize,
    /// Batches whose gradients add up to one optimizer step. Default 1.
    pub accumulate: usize,
    /// Peak learning rate. Default 1e-4.
    pub learning_rate: f64,
    /// Steps of linear warm-up; `None` takes a tenth of `steps`.
    pub warmup_steps: Option<u64>,
    /// Optimizer steps of the whole run. Default 1000.
    pub steps: u64,
    /// AdamW's decoupled weight decay (not on biases and layer norms).
    /// Default 0.01.
    pub weight_decay: f32,
    /// Largest global gradient norm; 0 turns clipping off. Default 1.0.
    pub clip: f64,
    /// Adam's β₁ and β₂. Default 0.9 and 0.999.
    pub adam_betas: (f32, f32),
    /// Adam's ε. Default 1e-6, the original BERT's.
    pub adam_eps: f32,
    /// Seed of data order, masks, dropout and fresh weights. Default 1.
    pub seed: u64,
    /// Threads of the data-parallel batch (1 makes runs bit-for-bit
    /// reproducible). Default: all cores.
    pub threads: usize,
    /// Write a checkpoint every this many steps (0: only at the end).
    pub checkpoint_every: u64,
    /// Evaluate on the held-out data every this many steps (0: only at the
    /// end).
    pub eval_every: u64,
    /// Fraction of the training data held out for evaluation when no
    /// evaluation corpus is given (the last sequences; with `nsp`, every
    /// `round(1 / holdout)`-th document); 0 holds out nothing.
    pub holdout: f64,
    /// Evaluate at most this many held-out sequences (0: all).
    pub eval_max_sequences: usize,
    /// Next-sentence prediction: train on sentence pairs
    /// ([`SentencePairs`]) with the pooler and next-sentence head of
    /// `BertForPreTraining`, adding its loss to the masked-LM loss. Needs a
    /// corpus of at least two documents and `max_length >= 5`. Default
    /// false (RoBERTa's finding: packed sequences without it do as well).
    #[serde(default)]
    pub nsp: bool,
}

impl Default for PretrainConfig {
    fn default() -> Self {
        PretrainConfig {
            max_length: 128,
            masking: MaskingConfig::default(),
            batch_size: 32,
            accumulate: 1,
            learning_rate: 1e-4,
            warmup_steps: None,
            steps: 1000,
            weight_decay: 0.01,
            clip: 1.0,
            adam_betas: (0.9, 0.999),
            adam_eps: 1e-6,
            seed: embed_core::seed::DEFAULT_SEED,
            threads: embed_core::available_threads(),
            checkpoint_every: 0,
            eval_every: 0,
            holdout: 0.0,
            eval_max_sequences: 0,
            nsp: false,
        }
    }
}

impl PretrainConfig {
    /// Checks every field; the error names the first bad one.
    ///
    /// ```
    /// use embed_bert::train::pretrain::PretrainConfig;
    /// let bad = PretrainConfig { max_length: 2, ..PretrainConfig::default() };
    /// assert!(bad.validate().unwrap_err().to_string().contains("max_length"));
    /// ```
    pub fn validate(&self) -> Result<()> {
        self.masking.validate()?;
        let at_least_one = [
            ("batch_size", self.batch_size as u64),
            ("accumulate", self.accumulate as u64),
            ("steps", self.steps),
            ("threads", self.threads as u64),
        ];
        for (name, value) in at_least_one {
            if value == 0 {
                return Err(Error::invalid_parameter(name, "must be at least 1"));
            }
        }
        if self.max_length < 3 {
            return Err(Error::invalid_parameter(
                "max_length",
                format!(
                    "must be at least 3 ([CLS], a token, [SEP]), got {}",
                    self.max_length
                ),
            ));
        }
        if self.nsp {
            check_pair_length(self.max_length)?;
        }
        if !(self.clip.is_finite() && self.clip >= 0.0) {
            return Err(Error::invalid_parameter(
                "clip",
                format!("must be a finite number >= 0, got {}", self.clip),
            ));
        }
        if !(0.0..1.0).contains(&self.holdout) {
            return Err(Error::invalid_parameter(
                "holdout",
                format!("must lie in [0, 1), got {}", self.holdout),
            ));
        }
        self.adam_config().validate()?;
        WarmupLinear::new(self.learning_rate, self.warmup(), self.steps)?;
        Ok(())
    }

    /// Warm-up steps in force.
    pub fn warmup(&self) -> u64 {
        self.warmup_steps.unwrap_or(self.steps / 10)
    }

    fn adam_config(&self) -> AdamConfig {
        AdamConfig {
            learning_rate: self.learning_rate as f32,
            beta1: self.adam_betas.0,
            beta2: self.adam_betas.1,
            eps: self.adam_eps,
            weight_decay: self.weight_decay,
            decoupled_weight_decay: true,
        }
    }

    /// The settings that fix a run's trajectory (everything but threads,
    /// checkpoint and evaluation frequency), for resume checks.
    fn identity(&self) -> serde_json::Value {
        let mut json = serde_json::to_value(self).unwrap_or_default();
        if let Some(map) = json.as_object_mut() {
            for key in [
                "threads",
                "checkpoint_every",
                "eval_every",
                "eval_max_sequences",
            ] {
                map.remove(key);
            }
            map.insert("warmup_steps".into(), self.warmup().into());
            // Runs without next-sentence prediction keep the identity (and
            // hash) of checkpoints written before the setting existed.
            if !self.nsp {
                map.remove("nsp");
            }
        }
        json
    }
}

/// What one optimizer step reports.
#[derive(Debug, Clone, PartialEq)]
pub struct StepReport {
    /// Steps done, this one included.
    pub step: u64,
    /// Steps of the whole run.
    pub steps: u64,
    /// 1-based pass over the training sequences.
    pub pass: u64,
    /// Mean masked-LM loss over the step's predicted positions.
    pub loss: f64,
    /// Fraction of the step's predicted positions guessed right.
    pub accuracy: f64,
    /// Mean next-sentence loss over the step's sequences (with NSP).
    pub next_sentence_loss: Option<f64>,
    /// Fraction of the step's next-sentence labels guessed right (with NSP).
    pub next_sentence_accuracy: Option<f64>,
    /// Global gradient norm before clipping.
    pub grad_norm: f64,
    /// Learning rate the step used.
    pub learning_rate: f64,
    /// Tokens (padding excluded) processed since this process started.
    pub tokens: u64,
    /// Tokens per second since this process started.
    pub tokens_per_sec: f64,
    /// Seconds since this process started training.
    pub elapsed_secs: f64,
}

/// Receives progress from [`Pretrainer::run`]; either callback may stop
/// the run (a checkpoint is then written).
pub trait PretrainObserver {
    /// After every optimizer step.
    fn on_step(&mut self, _report: &StepReport) -> Control {
        Control::Continue
    }

    /// After every held-out evaluation.
    fn on_evaluation(&mut self, _evaluation: &Evaluation) -> Control {
        Control::Continue
    }

    /// After a checkpoint was written to `dir`.
    fn on_checkpoint(&mut self, _step: u64, _dir: &Path) {}
}

/// An observer that records everything; useful in tests.
#[derive(Debug, Clone, Default)]
pub struct PretrainLog {
    /// Every step report.
    pub steps: Vec<StepReport>,
    /// Every evaluation.
    pub evaluations: Vec<Evaluation>,
    /// Stop after this many steps of this process, if set.
    pub stop_after: Option<usize>,
}

impl PretrainObserver for PretrainLog {
    fn on_step(&mut self, report: &StepReport) -> Control {
        self.steps.push(report.clone());
        match self.stop_after {
            Some(n) if self.steps.len() >= n => Control::Stop,
            _ => Control::Continue,
        }
    }

    fn on_evaluation(&mut self, evaluation: &Evaluation) -> Control {
        self.evaluations.push(*evaluation);
        Control::Continue
    }
}

/// Stream numbers for the generators the trainer derives from the seed.
const DROPOUT_STREAM: u64 = 0x4452_4f50; // "DROP"
const PAIRS_STREAM: u64 = 0x5041_4952; // "PAIR"
const EVAL_PAIRS_STREAM: u64 = 0x4556_5052; // "EVPR"

/// A pre-training run: model, optimizer, data and position.
pub struct Pretrainer {
    config: PretrainConfig,
    model: MlmModel,
    tokenizer: Tokenizer,
    optimizer: Adam,
    schedule: WarmupLinear,
    train: BatchSource,
    eval: Option<BatchSource>,
    identity: serde_json::Value,
    step: u64,
    evaluations: Vec<Evaluation>,
    pool: rayon::ThreadPool,
}

impl std::fmt::Debug for Pretrainer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pretrainer")
            .field("config", &self.config)
            .field("step", &self.step)
            .finish_non_exhaustive()
    }
}

impl Pretrainer {
    /// A run of `model` on the tokenized corpus `train`, evaluated on
    /// `eval` (or on a held-out part of `train` when `config.holdout >
    /// 0`). Checks the settings, that the vocabulary has the special tokens
    /// and matches the model, and that sequences fit the position table.
    /// The model gets a fresh next-sentence head when `config.nsp` asks for
    /// one it lacks (one it has is kept), and loses it otherwise.
    pub fn new(
        config: PretrainConfig,
        mut model: MlmModel,
        tokenizer: Tokenizer,
        train: TokenStream,
        eval: Option<TokenStream>,
    ) -> Result<Self> {
        config.validate()?;
        let vocab = tokenizer.vocab();
        check_special_tokens(vocab)?;
        let model_config = model.config().clone();
        if vocab.len() != model_config.vocab_size {
            return Err(Error::invalid_parameter(
                "vocab",
                format!(
                    "has {} tokens but the model's vocab_size is {}",
                    vocab.len(),
                    model_config.vocab_size
                ),
            ));
        }
        if config.max_length > model_config.max_position_embeddings {
            return Err(Error::invalid_parameter(
                "max_length",
                format!(
                    "{} exceeds the model's max_position_embeddings {}",
                    config.max_length, model_config.max_position_embeddings
                ),
            ));
        }
        model.set_next_sentence_head(config.nsp)?;
        let special = tokenizer.special_ids();
        let masker = Masker::new(config.masking, vocab)?;
        let prepare = |stream: TokenStream, pairs_stream: u64| -> Result<TrainingSequences> {
            Ok(if config.nsp {
                SentencePairs::new(
                    stream,
                    config.max_length,
                    special.cls,
                    special.sep,
                    derive_seed(config.seed, pairs_stream),
                )?
                .into()
            } else {
                PackedSequences::new(stream, config.max_length, special.cls, special.sep)?.into()
            })
        };
        let mut train_sequences = prepare(train, PAIRS_STREAM)?;
        let corpus_hash = checkpoint::config_hash(&serde_json::json!([
            train_sequences.num_tokens(),
            train_sequences.len()
        ]));
        let eval_sequences = match eval {
            Some(stream) => Some(prepare(stream, EVAL_PAIRS_STREAM)?),
            None if config.holdout > 0.0 => train_sequences.split_off_held_out(config.holdout),
            None => None,
        };
        let eval = eval_sequences.map(|s| {
            let mut s = s;
            if config.eval_max_sequences > 0 {
                s.truncate(config.eval_max_sequences);
            }
            BatchSource::new(s, masker.clone(), special.pad, config.seed)
        });
        let train = BatchSource::new(train_sequences, masker, special.pad, config.seed);
        let identity = serde_json::json!({
            "model": model_config,
            "vocab_size": vocab.len(),
            "training": config.identity(),
            "train_sequences": train.sequences().len(),
            "train_tokens": train.sequences().num_tokens(),
            "corpus": corpus_hash,
        });
        let optimizer =
            Adam::new(config.adam_config())?.with_decay_filter(decays_unless_bias_or_layer_norm);
        let schedule = WarmupLinear::new(config.learning_rate, config.warmup(), config.steps)?;
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(config.threads)
            .build()
            .map_err(|e| {
                Error::InvalidInput(format!("cannot start {} threads: {e}", config.threads))
            })?;
        Ok(Pretrainer {
            config,
            model,
            tokenizer,
            optimizer,
            schedule,
            train,
            eval,
            identity,
            step: 0,
            evaluations: Vec::new(),
            pool,
        })
    }

    /// Reads a corpus file and an optional evaluation corpus with
    /// `tokenizer`, then as [`Pretrainer::new`].
    pub fn from_files(
        config: PretrainConfig,
        model: MlmModel,
        tokenizer: Tokenizer,
        corpus: &Path,
        eval_corpus: Option<&Path>,
    ) -> Result<Self> {
        config.validate()?;
        let train = TokenStream::from_file(corpus, &tokenizer)?;
        let eval = eval_corpus
            .map(|p| TokenStream::from_file(p, &tokenizer))
            .transpose()?;
        Self::new(config, model, tokenizer, train, eval)
    }

    /// Continues from a checkpoint written by a run with the same settings
    /// and data: weights, optimizer moments, step and evaluation history.
    /// A checkpoint of another configuration is an
    /// [`Error::InvalidParameter`] named `resume` listing the differences.
    /// [`locate_checkpoint`](super::checkpoint::locate_checkpoint) finds
    /// the checkpoint a run stopped mid-write left behind.
    pub fn resume_from(&mut self, dir: &Path) -> Result<()> {
        let state = read_trainer_state(dir)?;
        let saved_nsp = state.identity["training"]["nsp"].as_bool().unwrap_or(false);
        if saved_nsp != self.config.nsp {
            let with = |on: bool| if on { "with" } else { "without" };
            return Err(Error::invalid_parameter(
                "resume",
                format!(
                    "checkpoint {} was trained {} next-sentence prediction, and this run is {} it (nsp {}); resume with the same setting",
                    dir.display(),
                    with(saved_nsp),
                    with(self.config.nsp),
                    self.config.nsp
                ),
            ));
        }
        check_same_identity(dir, &state, &self.identity)?;
        let model = MlmModel::from_pretrained(dir)?;
        let optimizer = read_optimizer_state(dir, &state)?;
        self.optimizer.load_state(optimizer)?;
        let params = self.model.params_mut();
        for (name, array) in model.params().iter() {
            match params.get_mut(name) {
                Some(slot) if slot.shape() == array.shape() => slot.assign(array),
                _ => {
                    return Err(Error::MissingTensor {
                        name: name.to_string(),
                    })
                }
            }
        }
        self.step = state.step;
        self.evaluations = state.evaluations;
        Ok(())
    }

    /// The settings.
    pub fn config(&self) -> &PretrainConfig {
        &self.config
    }

    /// The model as trained so far.
    pub fn model(&self) -> &MlmModel {
        &self.model
    }

    /// The tokenizer.
    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// Steps done.
    pub fn step(&self) -> u64 {
        self.step
    }

    /// Training sequences (after any hold-out).
    pub fn train_sequences(&self) -> &TrainingSequences {
        self.train.sequences()
    }

    /// Held-out sequences, if any.
    pub fn eval_sequences(&self) -> Option<&TrainingSequences> {
        self.eval.as_ref().map(BatchSource::sequences)
    }

    /// Evaluations so far (including those of the run resumed from).
    pub fn evaluations(&self) -> &[Evaluation] {
        &self.evaluations
    }

    /// Trains until `config.steps`, evaluating and checkpointing as
    /// configured (and at the end) into `output` when given. Returns the
    /// last step's report (`None` if no step was left to take).
    pub fn run(
        &mut self,
        output: Option<&Path>,
        observer: &mut dyn PretrainObserver,
    ) -> Result<Option<StepReport>> {
        let started = Instant::now();
        let mut tokens = 0u64;
        let mut last = None;
        while self.step < self.config.steps {
            let (stats, report_tokens, grad_norm, lr) = self.train_step()?;
            tokens += report_tokens;
            let elapsed = started.elapsed().as_secs_f64();
            let report = StepReport {
                step: self.step,
                steps: self.config.steps,
                pass: self.train.pass_of(self.sequences_done().saturating_sub(1)),
                loss: stats.mean_loss(),
                accuracy: stats.accuracy(),
                next_sentence_loss: stats.next_sentence_loss(),
                next_sentence_accuracy: stats.next_sentence_accuracy(),
                grad_norm,
                learning_rate: lr,
                tokens,
                tokens_per_sec: tokens as f64 / elapsed.max(1e-9),
                elapsed_secs: elapsed,
            };
            let mut control = observer.on_step(&report);
            let finished = self.step == self.config.steps;
            let due = |every: u64| every > 0 && self.step.is_multiple_of(every);
            if self.eval.is_some() && (finished || due(self.config.eval_every)) {
                let evaluation = self.evaluate()?;
                if let Some(evaluation) = evaluation {
                    self.evaluations.push(evaluation);
                    if observer.on_evaluation(&evaluation) == Control::Stop {
                        control = Control::Stop;
                    }
                }
            }
            last = Some(report);
            let stop = control == Control::Stop;
            if let Some(dir) = output {
                if finished || stop || due(self.config.checkpoint_every) {
                    self.save_checkpoint(dir)?;
                    observer.on_checkpoint(self.step, dir);
                }
            }
            if stop {
                break;
            }
        }
        Ok(last)
    }

    fn sequences_done(&self) -> u64 {
        self.step * (self.config.batch_size * self.config.accumulate) as u64
    }

    /// One optimizer step: `(stats, tokens, grad norm, learning rate)`.
    fn train_step(&mut self) -> Result<(MlmStats, u64, f64, f64)> {
        let c = &self.config;
        let lr = self.schedule.rate(self.step);
        self.optimizer.set_learning_rate(lr as f32)?;
        let start = self.sequences_done();
        let batches: Vec<_> = (0..c.accumulate)
            .map(|m| {
                self.train
                    .batch(start + (m * c.batch_size) as u64, c.batch_size)
            })
            .collect();
        let predicted: usize = batches.iter().map(|b| b.predicted()).sum();
        let next_predicted: usize = batches.iter().map(|b| b.next_sentence_predicted()).sum();
        let tokens: u64 = batches
            .iter()
            .map(|b| b.attention_mask.iter().map(|&m| u64::from(m)).sum::<u64>())
            .sum();
        let scale = GradScale::means(predicted, next_predicted);
        let dropout_family = derive_seed(c.seed, DROPOUT_STREAM);
        let step = self.step;
        let accumulate = c.accumulate as u64;
        let pass = self.train.pass_of(start);
        let mut grads = GradientStore::zeros_like(self.model.params());
        let mut stats = MlmStats::default();
        let model = &self.model;
        self.pool.install(|| -> Result<()> {
            for (m, batch) in batches.iter().enumerate() {
                let dropout_seed = derive_seed(dropout_family, step * accumulate + m as u64);
                let s = model
                    .forward_backward_scaled(batch, Some(dropout_seed), scale, &mut grads)
                    .map_err(|e| diverged_at(e, step + 1, pass))?;
                stats.add(&s);
            }
            Ok(())
        })?;
        // Every batch's losses were checked finite by the model.
        let loss = stats.mean_loss();
        let grad_norm = if self.config.clip > 0.0 {
            grads.clip_global_norm(self.config.clip)
        } else {
            grads.global_norm()
        };
        if !grad_norm.is_finite() {
            return Err(divergence(
                step + 1,
                pass,
                loss,
                "the gradient norm is not finite",
            ));
        }
        step_store(&mut self.optimizer, self.model.params_mut(), &grads)?;
        self.step += 1;
        Ok((stats, tokens, grad_norm, lr))
    }

    /// Loss and accuracy on the held-out sequences (the same masks every
    /// time), or `None` without held-out data.
    pub fn evaluate(&self) -> Result<Option<Evaluation>> {
        let Some(eval) = &self.eval else {
            return Ok(None);
        };
        let batches = eval.evaluation_batches(self.config.batch_size);
        let model = &self.model;
        let total = self.pool.install(|| -> Result<MlmStats> {
            let mut total = MlmStats::default();
            for batch in &batches {
                total.add(&model.evaluate(batch)?);
            }
            Ok(total)
        })?;
        Ok(Some(Evaluation::new(self.step, &total)))
    }

    /// Writes a resumable checkpoint (a Hugging Face directory plus
    /// optimizer and trainer state) to `dir`, replacing it atomically.
    pub fn save_checkpoint(&self, dir: &Path) -> Result<()> {
        let optimizer = self.optimizer.state();
        let state = TrainerState {
            step: self.step,
            sequences_done: self.sequences_done(),
            seed: self.config.seed,
            config_hash: config_hash(&self.identity),
            identity: self.identity.clone(),
            optimizer_kind: optimizer.kind.clone(),
            learning_rate: optimizer.learning_rate,
            optimizer_steps: optimizer
                .params
                .iter()
                .map(|(name, p)| (name.clone(), p.steps))
                .collect(),
            evaluations: self.evaluations.clone(),
        };
        checkpoint::write_checkpoint(
            dir,
            &self.model,
            &self.tokenizer,
            Some((&optimizer, &state)),
        )
    }

    /// The held-out next-sentence accuracy of always guessing the commoner
    /// label: the chance level a trained head must beat (about one half;
    /// more where short documents force random second segments). `None`
    /// without next-sentence prediction or held-out data.
    pub fn next_sentence_baseline(&self) -> Option<f64> {
        let TrainingSequences::Pairs(pairs) = self.eval.as_ref()?.sequences() else {
            return None;
        };
        if pairs.is_empty() {
            return None;
        }
        let random = (0..pairs.len())
            .filter(|&i| pairs.label(i) == super::pairs::IS_RANDOM)
            .count() as f64
            / pairs.len() as f64;
        Some(random.max(1.0 - random))
    }

    /// The cross-entropy (nats) of the held-out masked tokens under a
    /// unigram model of the training tokens (add-one smoothed): the loss a
    /// model that ignores context cannot beat. `None` without held-out data.
    pub fn unigram_baseline(&self) -> Option<f64> {
        let eval = self.eval.as_ref()?;
        let vocab = self.tokenizer.vocab().len();
        let mut counts = vec![1u64; vocab];
        let sequences = self.train.sequences();
        for i in 0..sequences.len() {
            for id in sequences.sequence(i) {
                if let Some(c) = counts.get_mut(id as usize) {
                    *c += 1;
                }
            }
        }
        let total: u64 = counts.iter().sum();
        let (mut sum, mut n) = (0.0f64, 0usize);
        for batch in eval.evaluation_batches(self.config.batch_size) {
            for &label in batch.labels.iter().filter(|&&l| l != IGNORE_LABEL) {
                let count = counts.get(label as usize).copied().unwrap_or(1);
                sum -= (count as f64 / total as f64).ln();
                n += 1;
            }
        }
        (n > 0).then(|| sum / n as f64)
    }
}

fn divergence(step: u64, pass: u64, loss: f64, what: &str) -> Error {
    Error::Diverged {
        epoch: pass as usize,
        loss,
        hint: format!(
            "{what} at step {step}; try a lower learning rate, a longer warm-up or gradient clipping (the last checkpoint written is kept)"
        ),
    }
}

/// Names the step and the pass in a divergence the model reports, keeping
/// its hint (which says which loss).
fn diverged_at(error: Error, step: u64, pass: u64) -> Error {
    match error {
        Error::Diverged { loss, hint, .. } => Error::Diverged {
            epoch: pass as usize,
            loss,
            hint: format!("at step {step}, {hint} (the last checkpoint written is kept)"),
        },
        other => other,
    }
}

/// Checks that a run may write checkpoints to `output`: it must be
/// missing, empty, or the checkpoint being resumed — anything else would be
/// replaced by the first checkpoint, so it is an [`Error::InvalidParameter`]
/// named `output`.
pub fn check_output_dir(output: &Path, resume: Option<&Path>) -> Result<()> {
    let same = |a: &Path, b: &Path| match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    if resume.is_some_and(|r| same(output, r)) {
        return Ok(());
    }
    match std::fs::read_dir(output) {
        Err(_) => {
            if output.exists() {
                Err(Error::invalid_parameter(
                    "output",
                    format!("{} exists and is not a directory", output.display()),
                ))
            } else {
                Ok(())
            }
        }
        Ok(mut entries) => {
            if entries.next().is_none() {
                Ok(())
            } else {
                Err(Error::invalid_parameter(
                    "output",
                    format!(
                        "{} is not empty; choose another directory, or resume from it with --resume {}",
                        output.display(),
                        output.display()
                    ),
                ))
            }
        }
    }
}
