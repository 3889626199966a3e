//! `BertForMaskedLM` for training: the encoder and the MLM head with its
//! decoder tied to the word embeddings; optionally with the pooler and the
//! next-sentence head of `BertForPreTraining`.

use std::io::Write as _;
use std::path::Path;
use std::sync::Mutex;

use embed_core::nn::cross_entropy::IGNORE_INDEX;
use embed_core::nn::dropout::Dropout;
use embed_core::params::{GradientStore, ParameterStore};
use embed_core::{Error, Location, Result};
use ndarray::{Array2, Ix2};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::names::{
    next_sentence_specs, parameter_specs, POOLER, SEQ_RELATIONSHIP, WORD_EMBEDDINGS,
};
use super::pairs::{IS_NEXT, IS_RANDOM};
use super::pass::{DropoutPlan, Pass, PassStats, Slice};
use super::tensors::{Grads, Weights};
use crate::config::BertConfig;
use crate::weights::{read_safetensors, BERT_PREFIX};

/// A batch of equal-length sequences for the masked-language model, each
/// field flattened row-major over `[batch, seq_len]`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MlmBatch {
    /// Number of sequences.
    pub batch: usize,
    /// Length of every sequence (padding included).
    pub seq_len: usize,
    /// Token ids (with `[MASK]` and random replacements already applied).
    pub input_ids: Vec<u32>,
    /// Segment of each token.
    pub token_type_ids: Vec<u32>,
    /// 1 on real tokens, 0 on padding.
    pub attention_mask: Vec<u8>,
    /// The original id at predicted positions, `-100` elsewhere.
    pub labels: Vec<i32>,
    /// Next-sentence labels, one per sequence (0: segment B continues
    /// segment A, 1: B is a random segment, `-100`: not predicted), or
    /// empty for a masked-LM batch without that task.
    pub next_sentence_labels: Vec<i32>,
}

impl MlmBatch {
    /// Number of predicted positions (labels other than `-100`).
    pub fn predicted(&self) -> usize {
        self.labels.iter().filter(|&&l| l != IGNORE_INDEX).count()
    }

    /// Number of sequences with a next-sentence label (other than `-100`).
    pub fn next_sentence_predicted(&self) -> usize {
        self.next_sentence_labels
            .iter()
            .filter(|&&l| l != IGNORE_INDEX)
            .count()
    }

    /// Sequences `range`, as slices of the flattened fields.
    fn slice(&self, first: usize, count: usize) -> Slice<'_> {
        let rows = first * self.seq_len..(first + count) * self.seq_len;
        Slice {
            input_ids: &self.input_ids[rows.clone()],
            token_type_ids: &self.token_type_ids[rows.clone()],
            attention_mask: &self.attention_mask[rows.clone()],
            labels: &self.labels[rows],
            next_sentence_labels: if self.next_sentence_labels.is_empty() {
                &[]
            } else {
                &self.next_sentence_labels[first..first + count]
            },
            seq_len: self.seq_len,
            first_sequence: first,
        }
    }
}

/// Loss and accuracy over the predicted positions of a batch, and over
/// its next-sentence labels when the model has that head.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct MlmStats {
    /// Sum of the cross-entropy over predicted positions (f64).
    pub loss_sum: f64,
    /// Number of predicted positions.
    pub predicted: usize,
    /// Predicted positions whose highest-scoring token is the label.
    pub correct: usize,
    /// Sum of the next-sentence cross-entropy over labelled sequences.
    #[serde(default)]
    pub next_sentence_loss_sum: f64,
    /// Sequences with a next-sentence label (0 without the task).
    #[serde(default)]
    pub next_sentence_predicted: usize,
    /// Sequences whose next-sentence label was guessed right.
    #[serde(default)]
    pub next_sentence_correct: usize,
}

impl MlmStats {
    /// The mean loss, `loss_sum / predicted` (NaN when nothing was predicted).
    pub fn mean_loss(&self) -> f64 {
        self.loss_sum / self.predicted as f64
    }

    /// The fraction of predicted positions guessed right.
    pub fn accuracy(&self) -> f64 {
        self.correct as f64 / self.predicted as f64
    }

    /// The mean next-sentence loss, or `None` without labelled sequences.
    pub fn next_sentence_loss(&self) -> Option<f64> {
        (self.next_sentence_predicted > 0)
            .then(|| self.next_sentence_loss_sum / self.next_sentence_predicted as f64)
    }

    /// The fraction of next-sentence labels guessed right, or `None`
    /// without labelled sequences.
    pub fn next_sentence_accuracy(&self) -> Option<f64> {
        (self.next_sentence_predicted > 0)
            .then(|| self.next_sentence_correct as f64 / self.next_sentence_predicted as f64)
    }

    /// The loss `BertForPreTraining` reports: the mean masked-LM loss plus
    /// the mean next-sentence loss (the former alone without the task).
    ///
    /// ```
    /// let stats = embed_bert::train::MlmStats {
    ///     loss_sum: 6.0, predicted: 3, correct: 1,
    ///     next_sentence_loss_sum: 1.5, next_sentence_predicted: 2, next_sentence_correct: 1,
    /// };
    /// assert_eq!(stats.total_loss(), 2.0 + 0.75);
    /// assert_eq!(stats.next_sentence_accuracy(), Some(0.5));
    /// ```
    pub fn total_loss(&self) -> f64 {
        self.mean_loss() + self.next_sentence_loss().unwrap_or(0.0)
    }

    /// Adds another batch's figures to these.
    pub fn add(&mut self, other: &MlmStats) {
        self.loss_sum += other.loss_sum;
        self.predicted += other.predicted;
        self.correct += other.correct;
        self.next_sentence_loss_sum += other.next_sentence_loss_sum;
        self.next_sentence_predicted += other.next_sentence_predicted;
        self.next_sentence_correct += other.next_sentence_correct;
    }

    fn from_pass(stats: &PassStats) -> Self {
        MlmStats {
            loss_sum: stats.masked_lm.loss_sum,
            predicted: stats.masked_lm.count,
            correct: stats.masked_lm.correct,
            next_sentence_loss_sum: stats.next_sentence.loss_sum,
            next_sentence_predicted: stats.next_sentence.count,
            next_sentence_correct: stats.next_sentence.correct,
        }
    }
}

/// The factors of the two losses' gradients in
/// [`MlmModel::forward_backward_scaled`]: the gradient added is that of
/// `masked_lm · (masked-LM loss sum) + next_sentence · (next-sentence loss
/// sum)`.
///
/// ```
/// use embed_bert::train::GradScale;
/// // Two accumulated batches with 30 predicted tokens and 8 labelled pairs in all:
/// let scale = GradScale::means(30, 8);
/// assert_eq!((scale.masked_lm, scale.next_sentence), (1.0 / 30.0, 1.0 / 8.0));
/// assert_eq!(GradScale::means(0, 0), GradScale { masked_lm: 0.0, next_sentence: 0.0 });
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct GradScale {
    /// Factor of the masked-LM loss sum.
    pub masked_lm: f32,
    /// Factor of the next-sentence loss sum.
    pub next_sentence: f32,
}

impl GradScale {
    /// The factors that make the gradient that of the sum of the two mean
    /// losses (Hugging Face's `total_loss`), given the predicted positions
    /// and labelled sequences of every batch accumulated (a count of 0
    /// gives a factor of 0).
    pub fn means(predicted: usize, next_sentence_predicted: usize) -> Self {
        let inverse = |n: usize| if n == 0 { 0.0 } else { 1.0 / n as f32 };
        GradScale {
            masked_lm: inverse(predicted),
            next_sentence: inverse(next_sentence_predicted),
        }
    }
}

/// Training settings that Hugging Face keeps in `config.json` beside the
/// architecture: dropout probabilities and the initialisation scale.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MlmSettings {
    /// Dropout on embeddings and sub-block outputs (`hidden_dropout_prob`), in `[0, 1)`.
    pub hidden_dropout_prob: f32,
    /// Dropout on attention probabilities (`attention_probs_dropout_prob`), in `[0, 1)`.
    pub attention_probs_dropout_prob: f32,
    /// Standard deviation of fresh weights (`initializer_range`), `>= 0`.
    pub initializer_range: f32,
}

impl Default for MlmSettings {
    /// Hugging Face's defaults: 0.1, 0.1 and 0.02.
    fn default() -> Self {
        MlmSettings {
            hidden_dropout_prob: 0.1,
            attention_probs_dropout_prob: 0.1,
            initializer_range: 0.02,
        }
    }
}

impl MlmSettings {
    /// Reads the fields from a Hugging Face `config.json`, with the
    /// defaults for those it lacks.
    pub fn from_config_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let json: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| Error::format(path, Location::Line(e.line() as u64), e.to_string()))?;
        let defaults = MlmSettings::default();
        let field = |name: &str, default: f32| -> Result<f32> {
            match json.get(name) {
                None | Some(serde_json::Value::Null) => Ok(default),
                Some(v) => v.as_f64().map(|x| x as f32).ok_or_else(|| {
                    Error::format(path, Location::File, format!("`{name}` is not a number"))
                }),
            }
        };
        let settings = MlmSettings {
            hidden_dropout_prob: field("hidden_dropout_prob", defaults.hidden_dropout_prob)?,
            attention_probs_dropout_prob: field(
                "attention_probs_dropout_prob",
                defaults.attention_probs_dropout_prob,
            )?,
            initializer_range: field("initializer_range", defaults.initializer_range)?,
        };
        settings.validate()?;
        Ok(settings)
    }

    /// Checks every field; the error names the bad one.
    ///
    /// ```
    /// use embed_bert::train::MlmSettings;
    /// let bad = MlmSettings { hidden_dropout_prob: 1.0, ..Default::default() };
    /// assert!(bad.validate().unwrap_err().to_string().contains("hidden_dropout_prob"));
    /// ```
    pub fn validate(&self) -> Result<()> {
        for (name, p) in [
            ("hidden_dropout_prob", self.hidden_dropout_prob),
            (
                "attention_probs_dropout_prob",
                self.attention_probs_dropout_prob,
            ),
        ] {
            if !(0.0..1.0).contains(&p) {
                return Err(Error::invalid_parameter(
                    name,
                    format!("must lie in [0, 1), got {p}"),
                ));
            }
        }
        let r = self.initializer_range;
        if !(r.is_finite() && r >= 0.0) {
            return Err(Error::invalid_parameter(
                "initializer_range",
                format!("must be a finite number >= 0, got {r}"),
            ));
        }
        Ok(())
    }
}

/// `BertForMaskedLM` with forward and backward passes.
///
/// Gradients are computed data-parallel over the sequences of a batch in
/// the current rayon pool: the batch is cut into one contiguous slice per
/// thread, each with its own gradient buffers, summed at the end. With one
/// thread the result is bit-for-bit reproducible; dropout masks depend on
/// the seed and each sequence's index only, not on the split.
///
/// ```
/// use embed_bert::train::{MlmBatch, MlmModel};
/// use embed_bert::BertConfig;
/// use embed_core::params::GradientStore;
/// let model = MlmModel::init(&BertConfig::tiny(), 7)?;
/// let batch = MlmBatch {
///     batch: 1,
///     seq_len: 4,
///     input_ids: vec![2, 5, 3, 1],
///     token_type_ids: vec![0; 4],
///     attention_mask: vec![1, 1, 1, 0],
///     labels: vec![-100, 9, -100, -100],
///     next_sentence_labels: vec![],
/// };
/// let mut grads = GradientStore::zeros_like(model.params());
/// let stats = model.forward_backward(&batch, Some(1), &mut grads)?;
/// assert_eq!(stats.predicted, 1);
/// // A fresh model is close to uniform over the 16 words.
/// assert!((stats.mean_loss() - 16f64.ln()).abs() < 0.5);
/// assert!(grads.global_norm() > 0.0);
/// # Ok::<(), embed_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct MlmModel {
    config: BertConfig,
    settings: MlmSettings,
    params: ParameterStore,
    /// Whether the pooler and next-sentence head are part of the model.
    next_sentence: bool,
    workspaces: Workspaces,
}

/// Activation and gradient buffers of one slice of a batch.
#[derive(Default)]
struct Workspace {
    pass: Pass,
    grads: Option<Grads>,
}

/// Buffers kept between calls, one per concurrent slice, so that a training
/// step does not allocate (and page in) its large arrays afresh.
#[derive(Default)]
struct Workspaces(Mutex<Vec<Workspace>>);

impl std::fmt::Debug for Workspaces {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kept = self.0.lock().map_or(0, |pool| pool.len());
        write!(f, "Workspaces({kept} kept)")
    }
}

impl Clone for Workspaces {
    /// A copy starts with no buffers.
    fn clone(&self) -> Self {
        Workspaces::default()
    }
}

impl Workspaces {
    fn take(&self) -> Workspace {
        self.0
            .lock()
            .map(|mut pool| pool.pop())
            .ok()
            .flatten()
            .unwrap_or_default()
    }

    fn give_back(&self, workspace: Workspace) {
        if let Ok(mut pool) = self.0.lock() {
            pool.push(workspace);
        }
    }
}

impl MlmModel {
    /// A fresh model with Hugging Face's initialisation: weights
    /// `N(0, 0.02²)` (the `[PAD]` embedding row zero), layer norms 1 and 0,
    /// biases 0; the default dropout of 0.1. Weights derive from `seed`.
    pub fn init(config: &BertConfig, seed: u64) -> Result<Self> {
        Self::init_with_settings(config, MlmSettings::default(), seed)
    }

    /// [`MlmModel::init`] with explicit dropout and initialisation scale.
    pub fn init_with_settings(
        config: &BertConfig,
        settings: MlmSettings,
        seed: u64,
    ) -> Result<Self> {
        config.validate()?;
        settings.validate()?;
        let mut params = ParameterStore::new(seed);
        Self::fill_missing(config, &settings, &mut params, false)?;
        Ok(MlmModel {
            config: config.clone(),
            settings,
            params,
            next_sentence: false,
            workspaces: Workspaces::default(),
        })
    }

    /// The parameter specs of a model with or without the next-sentence head.
    fn specs(
        config: &BertConfig,
        settings: &MlmSettings,
        next_sentence: bool,
    ) -> Vec<super::names::ParamSpec> {
        let mut specs = parameter_specs(config, settings.initializer_range);
        if next_sentence {
            specs.extend(next_sentence_specs(config, settings.initializer_range));
        }
        specs
    }

    /// Initialises the parameters `params` lacks, as a fresh model would;
    /// the `[PAD]` embedding row of a fresh word table is zero.
    fn fill_missing(
        config: &BertConfig,
        settings: &MlmSettings,
        params: &mut ParameterStore,
        next_sentence: bool,
    ) -> Result<()> {
        let fresh_words = !params.contains(WORD_EMBEDDINGS);
        for spec in Self::specs(config, settings, next_sentence) {
            params
                .scope("")
                .get_or_init(&spec.name, &spec.shape, spec.init)?;
        }
        if fresh_words {
            if let Some(words) = params.get_mut(WORD_EMBEDDINGS) {
                if let Ok(mut words) = words.view_mut().into_dimensionality::<Ix2>() {
                    words.row_mut(config.pad_token_id).fill(0.0);
                }
            }
        }
        Ok(())
    }

    /// Loads a Hugging Face BERT directory (`config.json` and
    /// `model.safetensors`): a `BertForMaskedLM` or `BertForPreTraining`
    /// checkpoint, or an encoder alone (`BertModel`, such as
    /// all-MiniLM-L6-v2), whose missing MLM head is initialised fresh with
    /// its decoder tied to the word embeddings (from seed 0, with the
    /// checkpoint's `initializer_range`). The model has the next-sentence
    /// head exactly when the checkpoint has its classifier
    /// (`cls.seq_relationship`, as `BertForPreTraining` files do);
    /// otherwise a pooler is dropped. A missing encoder tensor is an error
    /// naming it. Dropout comes from the checkpoint's `config.json`
    /// ([`MlmSettings`]).
    pub fn from_pretrained(dir: impl AsRef<Path>) -> Result<Self> {
        Self::load(dir.as_ref(), None)
    }

    /// [`MlmModel::from_pretrained`] with the next-sentence head chosen:
    /// with `next_sentence`, the pooler and the classifier are loaded where
    /// the checkpoint has them and initialised fresh (seed 0) where it does
    /// not; without, they are dropped.
    pub fn from_pretrained_with(dir: impl AsRef<Path>, next_sentence: bool) -> Result<Self> {
        Self::load(dir.as_ref(), Some(next_sentence))
    }

    fn load(dir: &Path, next_sentence: Option<bool>) -> Result<Self> {
        let config_path = dir.join("config.json");
        let config = BertConfig::from_file(&config_path)?;
        let settings = MlmSettings::from_config_file(&config_path)?;
        let loaded = read_safetensors(dir.join("model.safetensors"))?;
        let next_sentence =
            next_sentence.unwrap_or_else(|| loaded.contains(&format!("{SEQ_RELATIONSHIP}.weight")));
        let mut params = ParameterStore::new(0);
        for spec in Self::specs(&config, &settings, next_sentence) {
            // `read_safetensors` drops the `bert.` prefix of encoder names.
            let stored = spec.name.strip_prefix(BERT_PREFIX).unwrap_or(&spec.name);
            let found = loaded.get(stored).or_else(|| {
                // Older checkpoints keep the decoder bias under the decoder.
                (spec.name == "cls.predictions.bias")
                    .then(|| loaded.get("cls.predictions.decoder.bias"))
                    .flatten()
            });
            match found {
                Some(array) => {
                    if array.shape() != spec.shape.as_slice() {
                        return Err(Error::ShapeMismatch {
                            name: spec.name,
                            expected: spec.shape,
                            actual: array.shape().to_vec(),
                        });
                    }
                    params.insert(spec.name, array.clone());
                }
                None if spec.name.starts_with("cls.") || spec.name.starts_with(POOLER) => {}
                None => return Err(Error::MissingTensor { name: spec.name }),
            }
        }
        Self::fill_missing(&config, &settings, &mut params, next_sentence)?;
        Ok(MlmModel {
            config,
            settings,
            params,
            next_sentence,
            workspaces: Workspaces::default(),
        })
    }

    /// Whether the model has the pooler and next-sentence head
    /// (`BertForPreTraining`) besides the masked-LM head.
    pub fn has_next_sentence_head(&self) -> bool {
        self.next_sentence
    }

    /// Adds the pooler and next-sentence head (initialised as a fresh
    /// model's, from the store's seed, where not already present) or
    /// removes them.
    ///
    /// ```
    /// use embed_bert::train::MlmModel;
    /// let mut model = MlmModel::init(&embed_bert::BertConfig::tiny(), 1)?;
    /// let before = model.params().len();
    /// model.set_next_sentence_head(true)?;
    /// assert!(model.params().contains("cls.seq_relationship.weight"));
    /// assert_eq!(model.params().len(), before + 4);
    /// model.set_next_sentence_head(false)?;
    /// assert_eq!(model.params().len(), before);
    /// # Ok::<(), embed_core::Error>(())
    /// ```
    pub fn set_next_sentence_head(&mut self, on: bool) -> Result<()> {
        if on {
            Self::fill_missing(&self.config, &self.settings, &mut self.params, true)?;
        } else {
            for spec in next_sentence_specs(&self.config, self.settings.initializer_range) {
                self.params.remove(&spec.name);
            }
        }
        self.next_sentence = on;
        Ok(())
    }

    /// The architecture.
    pub fn config(&self) -> &BertConfig {
        &self.config
    }

    /// Dropout probabilities and initialisation scale.
    pub fn settings(&self) -> &MlmSettings {
        &self.settings
    }

    /// Changes the dropout probabilities (and the recorded initialisation
    /// scale), after validating them.
    pub fn set_settings(&mut self, settings: MlmSettings) -> Result<()> {
        settings.validate()?;
        self.settings = settings;
        Ok(())
    }

    /// The parameters, by `BertForMaskedLM` name.
    pub fn params(&self) -> &ParameterStore {
        &self.params
    }

    /// The parameters, mutably (for an optimizer step).
    pub fn params_mut(&mut self) -> &mut ParameterStore {
        &mut self.params
    }

    /// Checks that a batch fits the model; the error says what is wrong.
    pub fn check_batch(&self, batch: &MlmBatch) -> Result<()> {
        let c = &self.config;
        let rows = batch.batch.checked_mul(batch.seq_len).ok_or_else(|| {
            Error::InvalidInput(format!(
                "batch {} × length {} overflows",
                batch.batch, batch.seq_len
            ))
        })?;
        if batch.batch == 0 || batch.seq_len == 0 {
            return Err(Error::InvalidInput(format!(
                "empty MLM batch ({} sequences of length {})",
                batch.batch, batch.seq_len
            )));
        }
        if batch.seq_len > c.max_position_embeddings {
            return Err(Error::InvalidInput(format!(
                "sequence length {} exceeds the model's {} positions",
                batch.seq_len, c.max_position_embeddings
            )));
        }
        for (field, len) in [
            ("input_ids", batch.input_ids.len()),
            ("token_type_ids", batch.token_type_ids.len()),
            ("attention_mask", batch.attention_mask.len()),
            ("labels", batch.labels.len()),
        ] {
            if len != rows {
                return Err(Error::InvalidInput(format!(
                    "MLM batch field `{field}` has {len} values, expected {} × {} = {rows}",
                    batch.batch, batch.seq_len
                )));
            }
        }
        c.check_ids(batch.input_ids.iter(), batch.token_type_ids.iter())?;
        if let Some(&label) = batch
            .labels
            .iter()
            .find(|&&l| l != IGNORE_INDEX && (l < 0 || l as usize >= c.vocab_size))
        {
            return Err(Error::InvalidInput(format!(
                "label {label} is outside the vocabulary of {} (use -100 for positions not predicted)",
                c.vocab_size
            )));
        }
        let next = &batch.next_sentence_labels;
        if !next.is_empty() {
            if !self.next_sentence {
                return Err(Error::InvalidInput(
                    "the batch has next-sentence labels but the model has no next-sentence head (see MlmModel::set_next_sentence_head)".into(),
                ));
            }
            if next.len() != batch.batch {
                return Err(Error::InvalidInput(format!(
                    "MLM batch field `next_sentence_labels` has {} values, expected one per sequence ({}) or none",
                    next.len(),
                    batch.batch
                )));
            }
            if let Some(&label) = next
                .iter()
                .find(|&&l| l != IGNORE_INDEX && l != IS_NEXT && l != IS_RANDOM)
            {
                return Err(Error::InvalidInput(format!(
                    "next-sentence label {label} is neither {IS_NEXT} (is next), {IS_RANDOM} (random) nor -100"
                )));
            }
        }
        Ok(())
    }

    /// The dropout of a training pass seeded by `seed`, or none.
    fn dropout_plan(&self, seed: Option<u64>) -> Result<Option<DropoutPlan>> {
        seed.map(|seed| {
            Ok(DropoutPlan {
                hidden: Dropout::new(self.settings.hidden_dropout_prob)?,
                attention: Dropout::new(self.settings.attention_probs_dropout_prob)?,
                seed,
            })
        })
        .transpose()
    }

    /// Forward and backward pass over `batch`: adds to `grads` the gradient
    /// of the **mean** loss over the batch's predicted positions,
    /// `loss_sum / predicted` (what `loss.backward()` gives in PyTorch), and
    /// returns the loss sum and counts. With the next-sentence head and
    /// labels, the loss is `BertForPreTraining`'s total: that mean plus the
    /// mean next-sentence cross-entropy over the labelled sequences.
    ///
    /// With `dropout_seed`, dropout is applied as configured with masks
    /// fixed by the seed (a training step); `None` runs without dropout.
    /// For gradient accumulation over several batches, scale as you need
    /// with [`MlmModel::forward_backward_scaled`]. A batch with nothing to
    /// predict adds nothing. A non-finite loss is [`Error::Diverged`] (the
    /// gradients are then left unchanged).
    pub fn forward_backward(
        &self,
        batch: &MlmBatch,
        dropout_seed: Option<u64>,
        grads: &mut GradientStore,
    ) -> Result<MlmStats> {
        let scale = GradScale::means(batch.predicted(), batch.next_sentence_predicted());
        self.forward_backward_scaled(batch, dropout_seed, scale, grads)
    }

    /// [`MlmModel::forward_backward`] adding the gradient of
    /// `scale.masked_lm · loss_sum + scale.next_sentence ·
    /// next_sentence_loss_sum` instead ([`GradScale::means`] over all
    /// accumulated batches gives the gradient of their mean losses).
    pub fn forward_backward_scaled(
        &self,
        batch: &MlmBatch,
        dropout_seed: Option<u64>,
        grad_scale: GradScale,
        grads: &mut GradientStore,
    ) -> Result<MlmStats> {
        self.check_batch(batch)?;
        let weights = Weights::new(&self.params, &self.config, self.next_sentence)?;
        let plan = self.dropout_plan(dropout_seed)?;
        let c = &self.config;
        let parts = self.split(batch);
        let run = |&(first, count): &(usize, usize)| -> Result<(Workspace, MlmStats)> {
            let slice = batch.slice(first, count);
            let mut ws = self.workspaces.take();
            let pass = ws
                .pass
                .forward(&weights, c, &slice, plan.as_ref(), Some(grad_scale))?;
            let stats = MlmStats::from_pass(&pass);
            check_finite(&stats)?;
            let next_sentence = self.next_sentence;
            let grads = match &mut ws.grads {
                Some(g) if g.next_sentence.is_some() == next_sentence => g,
                slot => slot.insert(Grads::zeros(c, next_sentence)),
            };
            grads.zero();
            if stats.predicted > 0 || stats.next_sentence_predicted > 0 {
                ws.pass.backward(&weights, c, &slice, grads)?;
            }
            Ok((ws, stats))
        };
        let results: Vec<(Workspace, MlmStats)> = if parts.len() == 1 {
            vec![run(&parts[0])?]
        } else {
            parts.par_iter().map(run).collect::<Result<_>>()?
        };
        let mut stats = MlmStats::default();
        results.iter().for_each(|(_, s)| stats.add(s));
        check_finite(&stats)?;
        let mut results = results.into_iter().map(|(ws, _)| ws);
        if let Some(mut first) = results.next() {
            let rest: Vec<Workspace> = results.collect();
            if let Some(total) = first.grads.as_mut() {
                for ws in &rest {
                    if let Some(g) = ws.grads.as_ref() {
                        total.add(g);
                    }
                }
                if stats.predicted > 0 || stats.next_sentence_predicted > 0 {
                    total.accumulate_into(grads)?;
                }
            }
            self.workspaces.give_back(first);
            rest.into_iter()
                .for_each(|ws| self.workspaces.give_back(ws));
        }
        Ok(stats)
    }

    /// Loss and accuracy over `batch` without dropout or gradients.
    pub fn evaluate(&self, batch: &MlmBatch) -> Result<MlmStats> {
        self.check_batch(batch)?;
        let weights = Weights::new(&self.params, &self.config, self.next_sentence)?;
        let c = &self.config;
        let parts = self.split(batch);
        let stats = parts
            .par_iter()
            .map(|&(first, count)| {
                let mut ws = self.workspaces.take();
                let pass = ws
                    .pass
                    .forward(&weights, c, &batch.slice(first, count), None, None);
                self.workspaces.give_back(ws);
                Ok(MlmStats::from_pass(&pass?))
            })
            .collect::<Result<Vec<_>>>()?;
        let mut total = MlmStats::default();
        stats.iter().for_each(|s| total.add(s));
        check_finite(&total)?;
        Ok(total)
    }

    /// One contiguous run of sequences per thread of the current pool:
    /// `(first sequence, count)`.
    fn split(&self, batch: &MlmBatch) -> Vec<(usize, usize)> {
        let parts = rayon::current_num_threads().clamp(1, batch.batch);
        let (base, extra) = (batch.batch / parts, batch.batch % parts);
        let mut first = 0;
        (0..parts)
            .map(|i| {
                let count = base + usize::from(i < extra);
                let part = (first, count);
                first += count;
                part
            })
            .collect()
    }

    /// Writes the parameters to a safetensors file under their
    /// `BertForMaskedLM` names, as f32 (the tied decoder weight is not
    /// stored twice, as in Hugging Face's own files). The write is atomic.
    pub fn save_safetensors(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let mut data: Vec<(String, Vec<u8>, Vec<usize>)> = Vec::with_capacity(self.params.len());
        for (name, array) in self.params.iter() {
            let bytes: Vec<u8> = array.iter().flat_map(|v| v.to_le_bytes()).collect();
            data.push((name.to_string(), bytes, array.shape().to_vec()));
        }
        let views = data
            .iter()
            .map(|(name, bytes, shape)| {
                safetensors::tensor::TensorView::new(safetensors::Dtype::F32, shape.clone(), bytes)
                    .map(|view| (name.clone(), view))
                    .map_err(|e| Error::InvalidInput(format!("tensor `{name}`: {e}")))
            })
            .collect::<Result<Vec<_>>>()?;
        let metadata = Some(std::collections::HashMap::from([(
            "format".to_string(),
            "pt".to_string(),
        )]));
        let bytes = safetensors::serialize(views, &metadata).map_err(|e| {
            Error::InvalidInput(format!("cannot serialise {}: {e}", path.display()))
        })?;
        embed_core::io::write_atomically(path, |w| w.write_all(&bytes).map_err(Error::from))
    }

    /// The MLM logits of every position of a batch (`[batch·length,
    /// vocab]`), without dropout: for checks against other implementations.
    pub fn logits(&self, batch: &MlmBatch) -> Result<Array2<f32>> {
        let mut all = batch.clone();
        all.labels = vec![0; all.input_ids.len()];
        all.next_sentence_labels.clear();
        self.check_batch(&all)?;
        let weights = Weights::new(&self.params, &self.config, false)?;
        let mut pass = Pass::default();
        pass.forward(&weights, &self.config, &all.slice(0, all.batch), None, None)?;
        Ok(pass.logits().clone())
    }

    /// The next-sentence logits of every sequence of a batch (`[batch, 2]`:
    /// "B continues A", "B is random"), without dropout; `transformers`'
    /// `seq_relationship_logits`. A model without the head is an
    /// [`Error::InvalidInput`].
    ///
    /// ```
    /// use embed_bert::train::{MlmBatch, MlmModel};
    /// let mut model = MlmModel::init(&embed_bert::BertConfig::tiny(), 7)?;
    /// model.set_next_sentence_head(true)?;
    /// let batch = MlmBatch {
    ///     batch: 1,
    ///     seq_len: 5,
    ///     input_ids: vec![2, 5, 3, 6, 3],
    ///     token_type_ids: vec![0, 0, 0, 1, 1],
    ///     attention_mask: vec![1; 5],
    ///     ..MlmBatch::default()
    /// };
    /// assert_eq!(model.next_sentence_logits(&batch)?.dim(), (1, 2));
    /// # Ok::<(), embed_core::Error>(())
    /// ```
    pub fn next_sentence_logits(&self, batch: &MlmBatch) -> Result<Array2<f32>> {
        if !self.next_sentence {
            return Err(Error::InvalidInput(
                "the model has no next-sentence head (a BertForPreTraining checkpoint has one)"
                    .into(),
            ));
        }
        let mut all = batch.clone();
        all.labels = vec![IGNORE_INDEX; all.input_ids.len()];
        all.next_sentence_labels = vec![IS_NEXT; all.batch];
        self.check_batch(&all)?;
        let weights = Weights::new(&self.params, &self.config, true)?;
        let mut pass = Pass::default();
        pass.forward(&weights, &self.config, &all.slice(0, all.batch), None, None)?;
        // Every sequence has a label, so the head ran.
        Ok(pass.next_sentence_logits().clone())
    }
}

fn check_finite(stats: &MlmStats) -> Result<()> {
    let losses = [
        (stats.loss_sum, "masked-LM"),
        (stats.next_sentence_loss_sum, "next-sentence"),
    ];
    for (loss, which) in losses {
        if !loss.is_finite() {
            return Err(Error::Diverged {
                epoch: 0,
                loss,
                hint: format!(
                    "the {which} loss is not finite; lower the learning rate or clip gradients"
                ),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use embed_core::nn::gradcheck::{max_relative_error, numerical_gradient};
    use ndarray::ArrayD;

    fn pool(threads: usize) -> rayon::ThreadPool {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
    }

    /// Three sequences of length 5, the last two padded, some positions labelled.
    fn batch() -> MlmBatch {
        MlmBatch {
            batch: 3,
            seq_len: 5,
            input_ids: vec![2, 7, 4, 9, 3, 2, 11, 3, 0, 0, 2, 5, 5, 3, 0],
            token_type_ids: vec![0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 1, 1, 1, 0],
            attention_mask: vec![1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 0],
            labels: vec![
                -100, 6, -100, 12, -100, -100, 1, -100, -100, -100, 4, -100, 15, -100, -100,
            ],
            next_sentence_labels: Vec::new(),
        }
    }

    fn model() -> MlmModel {
        let settings = MlmSettings {
            hidden_dropout_prob: 0.2,
            attention_probs_dropout_prob: 0.3,
            initializer_range: 0.2,
        };
        let mut m = MlmModel::init_with_settings(&BertConfig::tiny(), settings, 3).unwrap();
        // Layer norms and biases away from 1 and 0, so that every path matters.
        for (i, (_, p)) in m.params_mut().iter_mut().enumerate() {
            if p.ndim() == 1 {
                nudge(p, 9, i as u64);
            }
        }
        m
    }

    /// Adds noise in ±0.3 to `p`, drawn from stream `stream` of `seed`.
    fn nudge(p: &mut ArrayD<f32>, seed: u64, stream: u64) {
        let mut rng = embed_core::seed::rng(seed, stream);
        p.mapv_inplace(|v| v + rand::Rng::gen_range(&mut rng, -0.3..0.3));
    }

    /// Tolerance: every gradient of the whole model, with dropout on
    /// hidden states and attention, within 5e-3 relative of central
    /// differences (gradients below 1e-2 compared absolutely; f32 forward,
    /// step 3e-3).
    #[test]
    fn model_gradients_match_finite_differences_with_dropout() {
        let batch = batch();
        let predicted = batch.predicted() as f64;
        check_model_gradients(&model(), &batch, |s| s.loss_sum / predicted);
    }

    /// [`model`] with the next-sentence head, its biases moved off zero.
    fn nsp_model() -> MlmModel {
        let mut m = model();
        m.set_next_sentence_head(true).unwrap();
        for name in ["bert.pooler.dense.bias", "cls.seq_relationship.bias"] {
            nudge(m.params_mut().get_mut(name).unwrap(), 10, name.len() as u64);
        }
        m
    }

    /// [`batch`] with next-sentence labels (the second not predicted).
    fn nsp_batch() -> MlmBatch {
        MlmBatch {
            next_sentence_labels: vec![1, IGNORE_INDEX, 0],
            ..batch()
        }
    }

    /// Checks every gradient of `model` on `batch` (dropout seed 5)
    /// against central differences of `loss(stats)`.
    fn check_model_gradients(model: &MlmModel, batch: &MlmBatch, loss: impl Fn(&MlmStats) -> f64) {
        let seed = Some(5);
        let mut grads = GradientStore::zeros_like(model.params());
        pool(1).install(|| model.forward_backward(batch, seed, &mut grads).unwrap());
        let names: Vec<String> = model.params().names().map(String::from).collect();
        for name in names {
            let mut values = model.params().get(&name).unwrap().clone();
            let shape = values.shape().to_vec();
            let mut probe = model.clone();
            let numeric = numerical_gradient(values.as_slice_mut().unwrap(), 3e-3, |xs| {
                probe.params_mut().insert(
                    name.clone(),
                    ArrayD::from_shape_vec(shape.clone(), xs.to_vec()).unwrap(),
                );
                let mut scratch = GradientStore::new();
                let stats = pool(1)
                    .install(|| {
                        probe.forward_backward_scaled(
                            batch,
                            seed,
                            GradScale::default(),
                            &mut scratch,
                        )
                    })
                    .unwrap();
                loss(&stats)
            });
            let analytic = grads.get(&name).unwrap();
            let err = max_relative_error(analytic.as_slice().unwrap(), &numeric, 1e-2);
            assert!(err < 5e-3, "{name}: relative error {err}");
        }
    }

    /// Tolerance: as the masked-LM check — every gradient of the whole
    /// model (dropout on) within 5e-3 relative of central differences,
    /// gradients below 1e-2 compared absolutely; f32 forward, step 3e-3.
    /// The batch predicts no token, so the loss is the next-sentence loss
    /// alone, mean over the two labelled pairs.
    #[test]
    fn next_sentence_gradients_match_finite_differences_with_dropout() {
        let model = nsp_model();
        let mut batch = nsp_batch();
        batch.labels.fill(IGNORE_INDEX);
        check_model_gradients(&model, &batch, |s| {
            assert_eq!((s.predicted, s.next_sentence_predicted), (0, 2));
            s.next_sentence_loss_sum / 2.0
        });
    }

    /// The same tolerance on `BertForPreTraining`'s total loss: the mean
    /// masked-LM loss plus the mean next-sentence loss.
    #[test]
    fn total_pretraining_gradients_match_finite_differences() {
        let model = nsp_model();
        let batch = nsp_batch();
        check_model_gradients(&model, &batch, |s| {
            s.loss_sum / s.predicted as f64 + s.next_sentence_loss_sum / 2.0
        });
    }

    #[test]
    fn next_sentence_threads_split_the_batch_without_changing_the_result() {
        let model = nsp_model();
        let pairs = nsp_batch();
        let run = |threads| pass_on(&model, &pairs, threads);
        let (s1, g1) = run(1);
        assert_eq!(
            run(1),
            (s1, g1.clone()),
            "one thread is reproducible bit for bit"
        );
        assert_eq!(s1.next_sentence_predicted, 2);
        assert!(g1
            .get("cls.seq_relationship.weight")
            .unwrap()
            .iter()
            .any(|&v| v != 0.0));
        for threads in [2, 3] {
            let (s, g) = run(threads);
            assert_eq!(s.next_sentence_predicted, 2);
            assert!((s.next_sentence_loss_sum - s1.next_sentence_loss_sum).abs() < 1e-5);
            assert_gradients_close(&g1, &g, threads);
        }
        // Without labels the head is left out and its gradient stays zero.
        let mut grads = GradientStore::zeros_like(model.params());
        let stats = model
            .forward_backward(&batch(), Some(11), &mut grads)
            .unwrap();
        assert_eq!(stats.next_sentence_loss(), None);
        assert_eq!(
            grads
                .get("bert.pooler.dense.weight")
                .unwrap()
                .iter()
                .map(|v| v.abs())
                .sum::<f32>(),
            0.0
        );
        assert!(model
            .evaluate(&nsp_batch())
            .unwrap()
            .next_sentence_accuracy()
            .is_some());
    }

    #[test]
    fn bad_next_sentence_batches_are_typed_errors() {
        let model = nsp_model();
        let mut cases: Vec<(&str, &MlmModel, MlmBatch)> = Vec::new();
        let mut b = nsp_batch();
        b.next_sentence_labels.pop();
        cases.push(("one label short", &model, b));
        let mut b = nsp_batch();
        b.next_sentence_labels[0] = 2;
        cases.push(("label 2", &model, b));
        let plain = self::model();
        cases.push(("model without the head", &plain, nsp_batch()));
        for (what, m, b) in cases {
            let mut grads = GradientStore::new();
            let err = m.forward_backward(&b, None, &mut grads).unwrap_err();
            assert!(matches!(err, Error::InvalidInput(_)), "{what}: {err}");
            assert_eq!(grads.names().count(), 0, "{what}: gradients were touched");
        }
        assert!(plain.next_sentence_logits(&batch()).is_err());
    }

    #[test]
    fn the_next_sentence_head_saves_loads_and_initialises() {
        let dir = tempfile::tempdir().unwrap();
        let model = nsp_model();
        model
            .save_safetensors(dir.path().join("model.safetensors"))
            .unwrap();
        std::fs::write(
            dir.path().join("config.json"),
            serde_json::to_string(model.config()).unwrap(),
        )
        .unwrap();
        // A BertForPreTraining file loads with its head, as it was.
        let loaded = MlmModel::from_pretrained(dir.path()).unwrap();
        assert!(loaded.has_next_sentence_head());
        assert_eq!(loaded.params().len(), model.params().len());
        for (name, p) in model.params().iter() {
            assert_eq!(loaded.params().get(name), Some(p), "{name}");
        }
        let batch = nsp_batch();
        assert_eq!(
            loaded.evaluate(&batch).unwrap(),
            model.evaluate(&batch).unwrap()
        );
        // Asked for the masked-LM model, the head is dropped.
        let plain = MlmModel::from_pretrained_with(dir.path(), false).unwrap();
        assert!(!plain.has_next_sentence_head());
        assert!(!plain.params().contains("bert.pooler.dense.weight"));
        // A file with a pooler but no classifier keeps the pooler and gets
        // a fresh classifier.
        let mut encoder = model.clone();
        encoder.params_mut().remove("cls.seq_relationship.weight");
        encoder.params_mut().remove("cls.seq_relationship.bias");
        encoder
            .save_safetensors(dir.path().join("model.safetensors"))
            .unwrap();
        assert!(!MlmModel::from_pretrained(dir.path())
            .unwrap()
            .has_next_sentence_head());
        let with = MlmModel::from_pretrained_with(dir.path(), true).unwrap();
        assert!(with.has_next_sentence_head());
        assert_eq!(
            with.params().get("bert.pooler.dense.bias"),
            model.params().get("bert.pooler.dense.bias")
        );
        assert!(with
            .params()
            .get("cls.seq_relationship.bias")
            .unwrap()
            .iter()
            .all(|&v| v == 0.0));
        assert_eq!(
            with.params()
                .get("cls.seq_relationship.weight")
                .unwrap()
                .shape(),
            [2, 8]
        );
    }

    /// Statistics and gradients of one pass over `batch` on `threads` threads.
    fn pass_on(model: &MlmModel, batch: &MlmBatch, threads: usize) -> (MlmStats, GradientStore) {
        let mut grads = GradientStore::zeros_like(model.params());
        let stats = pool(threads)
            .install(|| model.forward_backward(batch, Some(11), &mut grads))
            .unwrap();
        (stats, grads)
    }

    /// Every gradient of `b` within 1e-5 of `a`'s (one thread's).
    fn assert_gradients_close(a: &GradientStore, b: &GradientStore, threads: usize) {
        for (name, a) in a.iter() {
            let b = b.get(name).unwrap();
            let diff = a
                .iter()
                .zip(b)
                .map(|(x, y)| (x - y).abs())
                .fold(0.0, f32::max);
            assert!(diff < 1e-5, "{name}: {threads} threads differ by {diff}");
        }
    }

    #[test]
    fn threads_split_the_batch_without_changing_the_result() {
        let model = model();
        let batch = batch();
        let run = |threads| pass_on(&model, &batch, threads);
        let (s1, g1) = run(1);
        let (s1b, g1b) = run(1);
        assert_eq!(g1, g1b, "one thread is reproducible bit for bit");
        assert_eq!(s1, s1b);
        for threads in [2, 3] {
            let (s, g) = run(threads);
            assert_eq!(s.predicted, s1.predicted);
            assert!((s.loss_sum - s1.loss_sum).abs() < 1e-5);
            assert_gradients_close(&g1, &g, threads);
        }
    }

    #[test]
    fn dropout_seed_changes_the_loss_and_evaluate_has_none() {
        let model = model();
        let batch = batch();
        let loss = |seed| {
            let mut g = GradientStore::new();
            model
                .forward_backward(&batch, seed, &mut g)
                .unwrap()
                .loss_sum
        };
        assert_ne!(loss(Some(1)), loss(Some(2)));
        assert_eq!(loss(Some(1)), loss(Some(1)));
        assert!((loss(None) - model.evaluate(&batch).unwrap().loss_sum).abs() < 1e-9);
    }

    #[test]
    fn bad_batches_are_typed_errors() {
        let model = model();
        let mut cases: Vec<(&str, MlmBatch)> = Vec::new();
        let mut b = batch();
        b.input_ids[3] = 16;
        cases.push(("id outside vocabulary", b));
        let mut b = batch();
        b.token_type_ids[0] = 2;
        cases.push(("type outside table", b));
        let mut b = batch();
        b.labels[0] = 16;
        cases.push(("label outside vocabulary", b));
        let mut b = batch();
        b.labels[0] = -1;
        cases.push(("negative label", b));
        let mut b = batch();
        b.attention_mask.pop();
        cases.push(("short mask", b));
        let mut b = batch();
        b.seq_len = 13;
        b.batch = 1;
        b.input_ids.truncate(13);
        b.token_type_ids.truncate(13);
        b.attention_mask.truncate(13);
        b.labels.truncate(13);
        cases.push(("longer than the position table", b));
        cases.push(("empty", MlmBatch::default()));
        for (what, b) in cases {
            let mut grads = GradientStore::new();
            let err = model.forward_backward(&b, None, &mut grads).unwrap_err();
            assert!(matches!(err, Error::InvalidInput(_)), "{what}: {err}");
            assert_eq!(grads.names().count(), 0, "{what}: gradients were touched");
        }
    }

    #[test]
    fn a_batch_without_labels_adds_nothing() {
        let model = model();
        let mut b = batch();
        b.labels.fill(-100);
        let mut grads = GradientStore::zeros_like(model.params());
        let stats = model.forward_backward(&b, Some(1), &mut grads).unwrap();
        assert_eq!(stats.predicted, 0);
        assert_eq!(grads.global_norm(), 0.0);
    }

    #[test]
    fn a_non_finite_loss_is_divergence() {
        let mut model = model();
        model
            .params_mut()
            .get_mut("cls.predictions.bias")
            .unwrap()
            .fill(f32::NAN);
        let mut grads = GradientStore::zeros_like(model.params());
        let err = model
            .forward_backward(&batch(), None, &mut grads)
            .unwrap_err();
        assert!(matches!(err, Error::Diverged { .. }), "{err}");
        assert_eq!(grads.global_norm(), 0.0);
    }

    #[test]
    fn fresh_models_follow_the_seed_and_hugging_face_init() {
        let c = BertConfig::tiny();
        let a = MlmModel::init(&c, 4).unwrap();
        assert_eq!(a.params(), MlmModel::init(&c, 4).unwrap().params());
        assert_ne!(a.params(), MlmModel::init(&c, 5).unwrap().params());
        let words = a.params().get(WORD_EMBEDDINGS).unwrap();
        assert!(words
            .index_axis(ndarray::Axis(0), 0)
            .iter()
            .all(|&v| v == 0.0));
        let ln = a
            .params()
            .get("bert.encoder.layer.1.output.LayerNorm.weight")
            .unwrap();
        assert!(ln.iter().all(|&v| v == 1.0));
        assert!(a
            .params()
            .get("cls.predictions.bias")
            .unwrap()
            .iter()
            .all(|&v| v == 0.0));
        let std = {
            let w = a
                .params()
                .get("bert.encoder.layer.0.intermediate.dense.weight")
                .unwrap();
            (w.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / w.len() as f64).sqrt()
        };
        assert!((std - 0.02).abs() < 0.006, "std {std}");
        let bad = MlmSettings {
            attention_probs_dropout_prob: -0.1,
            ..MlmSettings::default()
        };
        assert!(MlmModel::init_with_settings(&c, bad, 1).is_err());
    }

    #[test]
    fn saved_weights_load_back() {
        let dir = tempfile::tempdir().unwrap();
        let model = model();
        model
            .save_safetensors(dir.path().join("model.safetensors"))
            .unwrap();
        let config = serde_json::to_string(model.config()).unwrap();
        std::fs::write(dir.path().join("config.json"), config).unwrap();
        let loaded = MlmModel::from_pretrained(dir.path()).unwrap();
        assert_eq!(loaded.params().len(), model.params().len());
        for (name, p) in model.params().iter() {
            assert_eq!(loaded.params().get(name), Some(p), "{name}");
        }
        let batch = batch();
        assert_eq!(
            loaded.evaluate(&batch).unwrap(),
            model.evaluate(&batch).unwrap()
        );
    }

    #[test]
    fn an_encoder_checkpoint_gets_a_fresh_head() {
        let dir = tempfile::tempdir().unwrap();
        let full = model();
        // An encoder-only file: drop the head and add a pooler.
        let mut encoder = full.clone();
        let head: Vec<String> = encoder
            .params()
            .names()
            .filter(|n| n.starts_with("cls."))
            .map(String::from)
            .collect();
        for name in &head {
            encoder.params_mut().remove(name);
        }
        encoder
            .params_mut()
            .insert("bert.pooler.dense.bias", ArrayD::zeros(vec![8]));
        encoder
            .save_safetensors(dir.path().join("model.safetensors"))
            .unwrap();
        std::fs::write(
            dir.path().join("config.json"),
            serde_json::to_string(full.config()).unwrap(),
        )
        .unwrap();
        let loaded = MlmModel::from_pretrained(dir.path()).unwrap();
        assert_eq!(loaded.params().len(), full.params().len());
        assert!(!loaded.params().contains("bert.pooler.dense.bias"));
        assert_eq!(
            loaded.params().get(WORD_EMBEDDINGS),
            full.params().get(WORD_EMBEDDINGS)
        );
        let ln = loaded
            .params()
            .get("cls.predictions.transform.LayerNorm.weight")
            .unwrap();
        assert!(ln.iter().all(|&v| v == 1.0));
        // A missing encoder tensor is named.
        encoder
            .params_mut()
            .remove("bert.encoder.layer.1.output.dense.bias");
        encoder
            .save_safetensors(dir.path().join("model.safetensors"))
            .unwrap();
        let err = MlmModel::from_pretrained(dir.path()).unwrap_err();
        assert!(
            err.to_string().contains("layer.1.output.dense.bias"),
            "{err}"
        );
    }
}
