//! The training loop: epochs over [`LmStreams`] windows, an optimizer step
//! per window, held-out perplexity, checkpoints and resume.
//!
//! Each step runs [`BiLm::forward_backward`] on the next window (the LSTM
//! state carried from the window before; zero at the start of every
//! epoch), clips the gradients to a global norm, and applies AdaGrad
//! (bilm-tf's, accumulators starting at 1) or Adam. The sampled softmax is
//! used when [`TrainConfig::samples`] is below the vocabulary size, the full
//! softmax otherwise. Held-out perplexity is always the full softmax's.
//!
//! Determinism: the dropout masks and softmax samples of step `n` come from
//! `derive_seed(seed, n)`, and the model's work runs in a pool of
//! [`TrainConfig::threads`] threads, so a seed and a thread count fix every
//! number; a run resumed from a checkpoint continues bit for bit as the
//! uninterrupted run would have.

use std::path::PathBuf;
use std::time::Instant;

use embed_core::optim::{step_store, AdaGrad, AdaGradConfig, Adam, AdamConfig, Optimizer};
use embed_core::params::GradientStore;
use embed_core::{seed, Control, Error, Result};
use serde::{Deserialize, Serialize};

use super::checkpoint::{Checkpoint, DataShape};
use super::data::LmStreams;
use super::{BiLm, BiLmBatch, BiLmState, LossStats, SoftmaxMode};

/// The optimizer training uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OptimizerKind {
    /// AdaGrad as bilm-tf: accumulators start at 1.0, no per-value clipping.
    Adagrad,
    /// Adam with PyTorch's defaults (β₁ 0.9, β₂ 0.999, ε 1e-8).
    Adam,
}

/// Training settings (the network's shape and dropout are in
/// [`super::BiLmConfig`]).
///
/// ```
/// use embed_elmo::train::trainer::TrainConfig;
/// let config = TrainConfig { epochs: 0, ..TrainConfig::default() };
/// assert!(config.validate().unwrap_err().to_string().contains("epochs"));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Passes over the training windows (at least 1).
    pub epochs: usize,
    /// Words drawn per direction and window for the sampled softmax;
    /// 0, or a number at least the vocabulary size, means the full softmax.
    /// bilm-tf: 8192.
    pub samples: usize,
    /// The optimizer.
    pub optimizer: OptimizerKind,
    /// Step size (finite, > 0). bilm-tf's AdaGrad: 0.2.
    pub learning_rate: f32,
    /// Gradients are scaled to this global norm when above it; 0 turns
    /// clipping off. bilm-tf: 10.
    pub clip_norm: f32,
    /// Seed of the dropout masks and softmax samples (the model's initial
    /// weights have their own seed).
    pub seed: u64,
    /// Threads the model's work runs on (at least 1).
    pub threads: usize,
    /// Save a checkpoint every this many steps (0: never) into
    /// `checkpoint_dir`, and at the end of training.
    pub checkpoint_every: u64,
    /// Where checkpoints go; required when `checkpoint_every > 0`.
    pub checkpoint_dir: Option<PathBuf>,
    /// Measure held-out perplexity every this many steps as well as at the
    /// end of each epoch (0: epoch ends only).
    pub eval_every: u64,
    /// Stop (evaluating held-out perplexity once more) after this many
    /// seconds of training in this run.
    pub time_limit_secs: Option<f64>,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            epochs: 10,
            samples: 8192,
            optimizer: OptimizerKind::Adagrad,
            learning_rate: 0.2,
            clip_norm: 10.0,
            seed: seed::DEFAULT_SEED,
            threads: embed_core::available_threads(),
            checkpoint_every: 0,
            checkpoint_dir: None,
            eval_every: 0,
            time_limit_secs: None,
        }
    }
}

impl TrainConfig {
    /// Checks every field; the error names the first bad one.
    pub fn validate(&self) -> Result<()> {
        if self.epochs == 0 {
            return Err(Error::invalid_parameter("epochs", "must be at least 1"));
        }
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return Err(Error::invalid_parameter(
                "learning_rate",
                format!("is {}, must be finite and above 0", self.learning_rate),
            ));
        }
        if !(self.clip_norm.is_finite() && self.clip_norm >= 0.0) {
            return Err(Error::invalid_parameter(
                "clip_norm",
                format!(
                    "is {}, must be finite and not negative (0 = no clipping)",
                    self.clip_norm
                ),
            ));
        }
        if self.threads == 0 {
            return Err(Error::invalid_parameter("threads", "must be at least 1"));
        }
        if self.checkpoint_every > 0 && self.checkpoint_dir.is_none() {
            return Err(Error::invalid_parameter(
                "checkpoint_dir",
                "is needed when checkpoint_every is above 0",
            ));
        }
        if let Some(limit) = self.time_limit_secs {
            if !(limit.is_finite() && limit > 0.0) {
                return Err(Error::invalid_parameter(
                    "time_limit_secs",
                    format!("is {limit}, must be finite and above 0"),
                ));
            }
        }
        Ok(())
    }

    fn build_optimizer(&self) -> Result<Box<dyn Optimizer>> {
        Ok(match self.optimizer {
            OptimizerKind::Adagrad => Box::new(AdaGrad::new(AdaGradConfig {
                learning_rate: self.learning_rate,
                initial_accumulator: 1.0,
                eps: 1e-10,
                clip: None,
                accumulate_before_update: true,
            })?),
            OptimizerKind::Adam => Box::new(Adam::new(AdamConfig {
                learning_rate: self.learning_rate,
                ..AdamConfig::default()
            })?),
        })
    }

    fn softmax(&self, vocab_size: usize) -> SoftmaxMode {
        if self.samples == 0 || self.samples >= vocab_size {
            SoftmaxMode::Full
        } else {
            SoftmaxMode::Sampled {
                samples: self.samples,
            }
        }
    }
}

/// Where training stands: the next window to run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataPosition {
    /// 0-based epoch.
    pub epoch: usize,
    /// 0-based window within the epoch.
    pub window: usize,
    /// Steps taken since training began (all epochs, all runs).
    pub step: u64,
}

/// Summed losses, serialisable (a [`LossStats`] in a checkpoint).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct LossSums {
    /// Σ −log p over forward targets.
    pub forward_nll: f64,
    /// Σ −log p over backward targets.
    pub backward_nll: f64,
    /// Forward targets.
    pub forward_tokens: usize,
    /// Backward targets.
    pub backward_tokens: usize,
}

impl LossSums {
    fn add(&mut self, stats: &LossStats) {
        self.forward_nll += stats.forward_nll;
        self.backward_nll += stats.backward_nll;
        self.forward_tokens += stats.forward_tokens;
        self.backward_tokens += stats.backward_tokens;
    }

    /// Targets of both directions.
    pub fn tokens(&self) -> usize {
        self.forward_tokens + self.backward_tokens
    }

    /// Mean loss per target over both directions.
    pub fn mean_nll(&self) -> f64 {
        (self.forward_nll + self.backward_nll) / self.tokens().max(1) as f64
    }

    /// `exp` of the mean loss over both directions.
    pub fn perplexity(&self) -> f64 {
        self.mean_nll().exp()
    }

    /// Perplexity of the forward direction.
    pub fn forward_perplexity(&self) -> f64 {
        (self.forward_nll / self.forward_tokens.max(1) as f64).exp()
    }

    /// Perplexity of the backward direction.
    pub fn backward_perplexity(&self) -> f64 {
        (self.backward_nll / self.backward_tokens.max(1) as f64).exp()
    }
}

impl From<LossStats> for LossSums {
    fn from(stats: LossStats) -> Self {
        let mut sums = LossSums::default();
        sums.add(&stats);
        sums
    }
}

/// Progress after a training step.
#[derive(Debug, Clone, PartialEq)]
pub struct StepProgress {
    /// 1-based epoch.
    pub epoch: usize,
    /// Epochs planned.
    pub epochs: usize,
    /// Steps taken so far (all runs).
    pub step: u64,
    /// Windows done in this epoch.
    pub window: usize,
    /// Windows per epoch.
    pub windows: usize,
    /// Mean loss of this step's window (sampled softmax when sampling).
    pub step_loss: f64,
    /// Perplexity over the epoch so far (training loss).
    pub perplexity: f64,
    /// Targets per second in this run, both directions.
    pub tokens_per_sec: f64,
    /// Seconds left at the current speed (to the time limit if that is nearer).
    pub eta_secs: f64,
    /// Fraction of the planned work done, in `[0, 1]`.
    pub fraction: f64,
    /// The learning rate.
    pub learning_rate: f32,
}

/// A held-out measurement.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct HeldOut {
    /// Steps taken when it was measured.
    pub step: u64,
    /// Training targets seen by then, per direction.
    pub tokens_seen: u64,
    /// Full-softmax losses over the held-out text.
    pub loss: LossSums,
}

/// What an epoch (or the part of one run before a stop) did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochSummary {
    /// 1-based epoch.
    pub epoch: usize,
    /// Whether the epoch ran to its end.
    pub complete: bool,
    /// Training losses of the epoch.
    pub train: LossSums,
    /// Held-out losses at its end, when there is held-out text.
    pub heldout: Option<HeldOut>,
}

/// Receives training progress; either callback may stop training.
pub trait ElmoObserver {
    /// After every step.
    fn on_step(&mut self, _progress: &StepProgress) -> Control {
        Control::Continue
    }
    /// After each held-out measurement (every `eval_every` steps and at epoch ends).
    fn on_heldout(&mut self, _heldout: &HeldOut) -> Control {
        Control::Continue
    }
    /// After each epoch.
    fn on_epoch_end(&mut self, _summary: &EpochSummary) -> Control {
        Control::Continue
    }
}

/// An observer that ignores everything.
#[derive(Debug, Default, Clone, Copy)]
pub struct Silent;

impl ElmoObserver for Silent {}

/// Trains a [`BiLm`] on training streams, measuring held-out perplexity.
///
/// ```
/// use embed_elmo::train::data::{LmStreams, LmVocabulary, TokenizedText};
/// use embed_elmo::train::trainer::{ElmoTrainer, Silent, TrainConfig};
/// use embed_elmo::train::{BiLm, BiLmConfig};
/// let text = TokenizedText::from_text(&"the cat sat on the mat\n".repeat(20), 50);
/// let vocab = LmVocabulary::build(&text, 0..18, 1, None)?;
/// let train = LmStreams::new(&text, 0..18, &vocab, 4, 5)?;
/// let heldout = LmStreams::new(&text, 18..20, &vocab, 2, 5)?;
/// let config = BiLmConfig {
///     char_filters: vec![(1, 4), (2, 4)], char_embed_dim: 4, projection_dim: 8,
///     lstm_dim: 16, lstm_proj_dim: 8, dropout: 0.0, ..BiLmConfig::small(vocab.len())
/// };
/// let model = BiLm::init(config, 1)?;
/// let settings = TrainConfig { epochs: 3, samples: 0, threads: 1, ..TrainConfig::default() };
/// let mut trainer = ElmoTrainer::new(model, settings, train, Some(heldout))?;
/// let history = trainer.train(&mut Silent)?;
/// let first = history[0].heldout.unwrap().loss.perplexity();
/// let last = history[2].heldout.unwrap().loss.perplexity();
/// assert!(last < first);
/// # Ok::<(), embed_core::Error>(())
/// ```
pub struct ElmoTrainer {
    model: BiLm,
    config: TrainConfig,
    optimizer: Box<dyn Optimizer>,
    train: LmStreams,
    heldout: Option<LmStreams>,
    state: BiLmState,
    grads: GradientStore,
    position: DataPosition,
    epoch_loss: LossSums,
    history: Vec<EpochSummary>,
    pool: rayon::ThreadPool,
}

impl std::fmt::Debug for ElmoTrainer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ElmoTrainer")
            .field("config", &self.config)
            .field("position", &self.position)
            .finish_non_exhaustive()
    }
}

impl ElmoTrainer {
    /// A trainer at the start of training; `config` is validated, and the
    /// streams must match the model (batch shape, vocabulary).
    pub fn new(
        model: BiLm,
        config: TrainConfig,
        train: LmStreams,
        heldout: Option<LmStreams>,
    ) -> Result<Self> {
        config.validate()?;
        let optimizer = config.build_optimizer()?;
        let state = BiLmState::zeros(model.config(), train.batch());
        let grads = GradientStore::zeros_like(model.params());
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(config.threads)
            .build()
            .map_err(|e| {
                Error::InvalidInput(format!("cannot start {} threads: {e}", config.threads))
            })?;
        let trainer = ElmoTrainer {
            model,
            config,
            optimizer,
            train,
            heldout,
            state,
            grads,
            position: DataPosition::default(),
            epoch_loss: LossSums::default(),
            history: Vec::new(),
            pool,
        };
        trainer.check_vocabulary()?;
        Ok(trainer)
    }

    /// A trainer that continues from a checkpoint directory on the same
    /// data; `config` replaces the saved settings when given (to train more
    /// epochs, say) but must keep the optimizer.
    pub fn resume(
        dir: impl AsRef<std::path::Path>,
        config: Option<TrainConfig>,
        train: LmStreams,
        heldout: Option<LmStreams>,
    ) -> Result<Self> {
        let checkpoint = Checkpoint::load(dir)?;
        let config = config.unwrap_or(checkpoint.train);
        let model = BiLm::from_params(checkpoint.bilm, checkpoint.params)?;
        let mut trainer = Self::new(model, config, train, heldout)?;
        let shape = trainer.data_shape();
        if shape != checkpoint.data {
            return Err(Error::InvalidInput(format!(
                "the checkpoint was made on other data or batching ({:?}), this run has {:?}",
                checkpoint.data, shape
            )));
        }
        trainer.optimizer.load_state(checkpoint.optimizer)?;
        trainer
            .optimizer
            .set_learning_rate(trainer.config.learning_rate)?;
        let rows = trainer.train.batch();
        if checkpoint.state.batch() != rows {
            return Err(Error::InvalidInput(format!(
                "the checkpoint's LSTM state has {} rows, the batch has {rows}",
                checkpoint.state.batch()
            )));
        }
        trainer.state = checkpoint.state;
        trainer.position = checkpoint.position;
        trainer.epoch_loss = checkpoint.epoch_loss;
        trainer.history = checkpoint.history;
        Ok(trainer)
    }

    fn check_vocabulary(&self) -> Result<()> {
        let vocab = self.model.config().vocab_size;
        let check = |streams: &LmStreams| -> Result<()> {
            // Every window's targets are ids of the vocabulary the streams were built with.
            streams.window(0).validate(vocab)
        };
        check(&self.train)?;
        if let Some(heldout) = &self.heldout {
            check(heldout)?;
        }
        Ok(())
    }

    fn data_shape(&self) -> DataShape {
        DataShape {
            batch: self.train.batch(),
            unroll: self.train.unroll(),
            windows: self.train.num_windows(),
            targets: self.train.targets_per_direction(),
            vocab_size: self.model.config().vocab_size,
        }
    }

    /// The model being trained.
    pub fn model(&self) -> &BiLm {
        &self.model
    }

    /// The trained model.
    pub fn into_model(self) -> BiLm {
        self.model
    }

    /// The settings in force.
    pub fn config(&self) -> &TrainConfig {
        &self.config
    }

    /// The next window to train on.
    pub fn position(&self) -> DataPosition {
        self.position
    }

    /// Summaries of the epochs finished so far.
    pub fn history(&self) -> &[EpochSummary] {
        &self.history
    }

    /// Whether every planned epoch is done.
    pub fn finished(&self) -> bool {
        self.position.epoch >= self.config.epochs
    }

    /// Everything needed to continue later.
    pub fn checkpoint(&self) -> Checkpoint {
        Checkpoint {
            bilm: self.model.config().clone(),
            train: self.config.clone(),
            position: self.position,
            epoch_loss: self.epoch_loss,
            history: self.history.clone(),
            data: self.data_shape(),
            params: self.model.params().clone(),
            optimizer: self.optimizer.state(),
            state: self.state.clone(),
        }
    }

    /// The full-softmax losses over the held-out streams (from zero state,
    /// without dropout), or `None` without held-out text.
    pub fn evaluate_heldout(&self) -> Result<Option<LossSums>> {
        let Some(heldout) = &self.heldout else {
            return Ok(None);
        };
        let model = &self.model;
        self.pool.install(|| {
            let mut state = BiLmState::zeros(model.config(), heldout.batch());
            let mut sums = LossSums::default();
            for k in 0..heldout.num_windows() {
                sums.add(&model.evaluate(&heldout.window(k), &mut state)?);
            }
            Ok(Some(sums))
        })
    }

    fn diverged(&self, loss: f64, what: &str) -> Error {
        Error::Diverged {
            epoch: self.position.epoch + 1,
            loss,
            hint: format!(
                "{what} at step {} (window {} of the epoch); try a lower learning rate or gradient clipping",
                self.position.step + 1,
                self.position.window + 1
            ),
        }
    }

    /// One optimizer step on the next window; returns its losses. Moves to
    /// the next epoch (zeroing the LSTM state) after the last window.
    pub fn step(&mut self) -> Result<LossStats> {
        if self.finished() {
            return Err(Error::InvalidInput("every planned epoch is done".into()));
        }
        let window: BiLmBatch = self.train.window(self.position.window);
        let softmax = self.config.softmax(self.model.config().vocab_size);
        let step_seed = seed::derive_seed(self.config.seed, self.position.step);
        self.grads.zero();
        let (model, state, grads) = (&self.model, &mut self.state, &mut self.grads);
        let result = self
            .pool
            .install(|| model.forward_backward(&window, state, softmax, step_seed, grads));
        let stats = match result {
            Ok(stats) => stats,
            Err(Error::Diverged { loss, .. }) => return Err(self.diverged(loss, "non-finite loss")),
            Err(e) => return Err(e),
        };
        if !(stats.forward_nll.is_finite() && stats.backward_nll.is_finite()) {
            return Err(self.diverged(stats.forward_nll + stats.backward_nll, "non-finite loss"));
        }
        let norm = if self.config.clip_norm > 0.0 {
            self.grads
                .clip_global_norm(f64::from(self.config.clip_norm))
        } else {
            self.grads.global_norm()
        };
        if !norm.is_finite() {
            return Err(self.diverged(stats.mean_nll(), "non-finite gradient"));
        }
        step_store(
            self.optimizer.as_mut(),
            self.model.params_mut(),
            &self.grads,
        )?;
        self.epoch_loss.add(&stats);
        self.position.step += 1;
        self.position.window += 1;
        Ok(stats)
    }

    fn tokens_seen(&self) -> u64 {
        let per_epoch = self.train.targets_per_direction() as u64;
        self.position.epoch as u64 * per_epoch + self.epoch_loss.forward_tokens as u64
    }

    fn measure_heldout(&self) -> Result<Option<HeldOut>> {
        Ok(self.evaluate_heldout()?.map(|loss| HeldOut {
            step: self.position.step,
            tokens_seen: self.tokens_seen(),
            loss,
        }))
    }

    fn save_checkpoint(&self) -> Result<()> {
        if let Some(dir) = &self.config.checkpoint_dir {
            self.checkpoint().save(dir)?;
        }
        Ok(())
    }

    /// Trains until every planned epoch is done, the time limit passes, or
    /// the observer stops it; returns the summary of every epoch finished
    /// (and of the part of an epoch a stop cut short).
    pub fn train(&mut self, observer: &mut dyn ElmoObserver) -> Result<Vec<EpochSummary>> {
        let started = Instant::now();
        let windows = self.train.num_windows();
        let total_steps = (self.config.epochs * windows) as u64;
        let first_step = self.position.step;
        let mut tokens_this_run = 0usize;
        let mut stop = false;
        while !self.finished() && !stop {
            let stats = self.step()?;
            tokens_this_run += stats.tokens;
            let elapsed = started.elapsed().as_secs_f64().max(1e-9);
            let steps_this_run = (self.position.step - first_step) as f64;
            let mut eta =
                (total_steps.saturating_sub(self.position.step)) as f64 * elapsed / steps_this_run;
            if let Some(limit) = self.config.time_limit_secs {
                eta = eta.min((limit - elapsed).max(0.0));
            }
            let progress = StepProgress {
                epoch: self.position.epoch + 1,
                epochs: self.config.epochs,
                step: self.position.step,
                window: self.position.window,
                windows,
                step_loss: stats.mean_nll(),
                perplexity: self.epoch_loss.perplexity(),
                tokens_per_sec: tokens_this_run as f64 / elapsed,
                eta_secs: eta,
                fraction: (self.position.step as f64 / total_steps.max(1) as f64).min(1.0),
                learning_rate: self.optimizer.learning_rate(),
            };
            stop |= observer.on_step(&progress) == Control::Stop;
            let out_of_time = self
                .config
                .time_limit_secs
                .is_some_and(|limit| started.elapsed().as_secs_f64() >= limit);
            stop |= out_of_time;

            let epoch_done = self.position.window >= windows;
            if epoch_done || stop {
                let heldout = self.measure_heldout()?;
                if let Some(h) = &heldout {
                    stop |= observer.on_heldout(h) == Control::Stop;
                }
                let summary = EpochSummary {
                    epoch: self.position.epoch + 1,
                    complete: epoch_done,
                    train: self.epoch_loss,
                    heldout,
                };
                if epoch_done {
                    self.history.push(summary.clone());
                    self.position.epoch += 1;
                    self.position.window = 0;
                    self.epoch_loss = LossSums::default();
                    self.state = BiLmState::zeros(self.model.config(), self.train.batch());
                    stop |= observer.on_epoch_end(&summary) == Control::Stop;
                } else {
                    self.save_checkpoint()?;
                    let mut history = self.history.clone();
                    history.push(summary);
                    return Ok(history);
                }
            } else if self.config.eval_every > 0
                && self.position.step.is_multiple_of(self.config.eval_every)
            {
                if let Some(h) = self.measure_heldout()? {
                    stop |= observer.on_heldout(&h) == Control::Stop;
                }
            }
            if self.config.checkpoint_every > 0
                && self
                    .position
                    .step
                    .is_multiple_of(self.config.checkpoint_every)
            {
                self.save_checkpoint()?;
            }
        }
        self.save_checkpoint()?;
        Ok(self.history.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::data::{LmVocabulary, TokenizedText};
    use crate::train::BiLmConfig;

    const TEXT: &str = "the cat sat on the mat\nthe dog sat on the log\na cat saw a dog\n\
                        the mat was on the log\na dog and a cat sat\nthe end\n";

    fn setup(epochs: usize) -> (BiLm, TrainConfig, LmStreams, LmStreams) {
        let text = TokenizedText::from_text(&TEXT.repeat(4), 50);
        let n = text.num_sentences();
        let vocab = LmVocabulary::build(&text, 0..n - 2, 1, None).unwrap();
        let train = LmStreams::new(&text, 0..n - 2, &vocab, 3, 4).unwrap();
        let heldout = LmStreams::new(&text, n - 2..n, &vocab, 2, 4).unwrap();
        let config = BiLmConfig {
            char_filters: vec![(1, 4), (2, 6)],
            char_embed_dim: 4,
            projection_dim: 8,
            lstm_dim: 12,
            lstm_proj_dim: 8,
            dropout: 0.1,
            ..BiLmConfig::small(vocab.len())
        };
        let model = BiLm::init(config, 5).unwrap();
        let settings = TrainConfig {
            epochs,
            samples: 6,
            learning_rate: 0.2,
            threads: 1,
            ..TrainConfig::default()
        };
        (model, settings, train, heldout)
    }

    /// Records every step's loss and every held-out measurement.
    #[derive(Default)]
    struct Recorder {
        losses: Vec<f64>,
        heldout: Vec<f64>,
        stop_after: Option<u64>,
    }

    impl ElmoObserver for Recorder {
        fn on_step(&mut self, progress: &StepProgress) -> Control {
            self.losses.push(progress.step_loss);
            if self.stop_after == Some(progress.step) {
                Control::Stop
            } else {
                Control::Continue
            }
        }
        fn on_heldout(&mut self, heldout: &HeldOut) -> Control {
            self.heldout.push(heldout.loss.perplexity());
            Control::Continue
        }
    }

    #[test]
    fn training_lowers_heldout_perplexity() {
        let (model, settings, train, heldout) = setup(10);
        let settings = TrainConfig {
            samples: 0,
            optimizer: OptimizerKind::Adam,
            learning_rate: 0.01,
            ..settings
        };
        let mut trainer = ElmoTrainer::new(model, settings, train, Some(heldout)).unwrap();
        let before = trainer.evaluate_heldout().unwrap().unwrap().perplexity();
        let mut recorder = Recorder::default();
        let history = trainer.train(&mut recorder).unwrap();
        assert_eq!(history.len(), 10);
        let after = history[9].heldout.unwrap().loss.perplexity();
        assert!(
            after < before * 0.7,
            "held-out perplexity {before} -> {after}"
        );
        assert!(trainer.finished());
        assert!(trainer.step().is_err());
    }

    #[test]
    fn a_resumed_run_follows_the_uninterrupted_one() {
        let (model, settings, train, heldout) = setup(3);
        let mut whole = Recorder::default();
        let mut trainer = ElmoTrainer::new(
            model.clone(),
            settings.clone(),
            train.clone(),
            Some(heldout.clone()),
        )
        .unwrap();
        trainer.train(&mut whole).unwrap();
        let windows = train.num_windows() as u64;

        // Stop in the middle of the second epoch with a checkpoint, then resume.
        let dir = tempfile::tempdir().unwrap();
        let settings = TrainConfig {
            checkpoint_every: 1000,
            checkpoint_dir: Some(dir.path().to_path_buf()),
            ..settings
        };
        let stop_at = windows + 2;
        let mut first = Recorder {
            stop_after: Some(stop_at),
            ..Recorder::default()
        };
        let mut trainer =
            ElmoTrainer::new(model, settings, train.clone(), Some(heldout.clone())).unwrap();
        trainer.train(&mut first).unwrap();
        assert_eq!(trainer.position().step, stop_at);
        // A later save stopped between its tensors and its metadata leaves
        // the last complete checkpoint to resume from.
        let mut interrupted = trainer.checkpoint();
        interrupted.position.step += 1;
        interrupted.write_tensors(dir.path()).unwrap();
        drop(trainer);
        let mut resumed = ElmoTrainer::resume(dir.path(), None, train, Some(heldout)).unwrap();
        assert_eq!(resumed.position().step, stop_at);
        let mut second = Recorder::default();
        let history = resumed.train(&mut second).unwrap();
        assert_eq!(history.len(), 3);

        let mut joined = first.losses.clone();
        joined.extend(&second.losses);
        assert_eq!(joined, whole.losses, "step losses differ after resuming");
        assert_eq!(second.heldout.last(), whole.heldout.last());
    }

    #[test]
    fn checkpoints_keep_one_tensor_file_and_the_first_format_still_loads() {
        let (model, settings, train, heldout) = setup(1);
        let dir = tempfile::tempdir().unwrap();
        let mut trainer = ElmoTrainer::new(model, settings, train, Some(heldout)).unwrap();
        trainer.step().unwrap();
        trainer.checkpoint().save(dir.path()).unwrap();
        // A file of the user's beside the checkpoint is not touched.
        std::fs::write(dir.path().join("checkpoint-best.hdf5"), "mine").unwrap();
        trainer.step().unwrap();
        let checkpoint = trainer.checkpoint();
        checkpoint.save(dir.path()).unwrap();
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                "checkpoint-2.hdf5",
                "checkpoint-best.hdf5",
                "checkpoint.json"
            ]
        );

        // The first format: tensors in `checkpoint.hdf5`, not named in the
        // metadata.
        let meta_path = dir.path().join(crate::train::checkpoint::META_FILE);
        let mut meta: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&meta_path).unwrap()).unwrap();
        let object = meta.as_object_mut().unwrap();
        object.remove("tensors");
        object.insert("format".into(), "embed-elmo-checkpoint-1".into());
        std::fs::write(&meta_path, meta.to_string()).unwrap();
        std::fs::rename(
            dir.path().join("checkpoint-2.hdf5"),
            dir.path().join(crate::train::checkpoint::TENSORS_FILE),
        )
        .unwrap();
        let loaded = Checkpoint::load(dir.path()).unwrap();
        assert_eq!(loaded.position.step, 2);
        assert_eq!(loaded.params, checkpoint.params);
    }

    #[test]
    fn settings_are_validated() {
        let (model, settings, train, heldout) = setup(1);
        let bad = [
            (
                "epochs",
                TrainConfig {
                    epochs: 0,
                    ..settings.clone()
                },
            ),
            (
                "learning_rate",
                TrainConfig {
                    learning_rate: f32::NAN,
                    ..settings.clone()
                },
            ),
            (
                "learning_rate",
                TrainConfig {
                    learning_rate: 0.0,
                    ..settings.clone()
                },
            ),
            (
                "clip_norm",
                TrainConfig {
                    clip_norm: -1.0,
                    ..settings.clone()
                },
            ),
            (
                "threads",
                TrainConfig {
                    threads: 0,
                    ..settings.clone()
                },
            ),
            (
                "checkpoint_dir",
                TrainConfig {
                    checkpoint_every: 5,
                    ..settings.clone()
                },
            ),
            (
                "time_limit_secs",
                TrainConfig {
                    time_limit_secs: Some(0.0),
                    ..settings.clone()
                },
            ),
        ];
        for (field, config) in bad {
            let err = ElmoTrainer::new(model.clone(), config, train.clone(), Some(heldout.clone()))
                .unwrap_err();
            assert!(
                matches!(err, Error::InvalidParameter { name, .. } if name == field),
                "{field}: {err}"
            );
        }
    }

    #[test]
    fn divergence_names_epoch_and_step() {
        let (model, settings, train, heldout) = setup(2);
        let settings = TrainConfig {
            learning_rate: 1e30,
            clip_norm: 0.0,
            optimizer: OptimizerKind::Adam,
            ..settings
        };
        let mut trainer = ElmoTrainer::new(model, settings, train, Some(heldout)).unwrap();
        // Poison a weight: the next loss is not finite.
        for (_, w) in trainer.model.params_mut().iter_mut() {
            w.fill(f32::NAN);
        }
        let err = trainer.train(&mut Silent).unwrap_err();
        match err {
            Error::Diverged { epoch, hint, .. } => {
                assert_eq!(epoch, 1);
                assert!(hint.contains("step 1"), "{hint}");
            }
            other => panic!("expected Diverged, got {other}"),
        }
    }
}
