//! Checkpoints: a Hugging Face model directory plus what resuming needs.
//!
//! A checkpoint directory holds
//!
//! * `config.json` — the architecture with `"architectures":
//!   ["BertForMaskedLM"]` (`["BertForPreTraining"]` with the next-sentence
//!   head), `"model_type": "bert"`, dropout and initialisation settings;
//! * `vocab.txt` and `tokenizer_config.json` — the tokenizer;
//! * `model.safetensors` — the weights under `BertForMaskedLM` names (plus
//!   `bert.pooler.dense.*` and `cls.seq_relationship.*`, the
//!   `BertForPreTraining` layout, with the next-sentence head);
//! * `optimizer.safetensors` — Adam's moments, `<name>.exp_avg` and
//!   `<name>.exp_avg_sq`;
//! * `trainer_state.json` — step, data position, seed, the run's settings
//!   and their hash, per-parameter step counts, and the evaluation history.
//!
//! so `transformers`' `BertForMaskedLM.from_pretrained(dir)` (or
//! `BertForPreTraining`'s) loads it and a run resumes from it exactly. [`write_checkpoint`] builds the directory
//! beside its destination and moves it into place with renames, so a
//! reader sees the old checkpoint or the new one, never a mixture; while
//! the two are swapped the old one is kept as `<dir>.previous`.

use std::collections::{BTreeMap, HashMap};
use std::io::Write as _;
use std::path::{Path, PathBuf};

use embed_core::optim::{OptimizerState, ParamState};
use embed_core::{Error, Location, Result};
use safetensors::{Dtype, SafeTensors};
use serde::{Deserialize, Serialize};

use super::{MlmModel, MlmStats};
use crate::Tokenizer;

/// File names inside a checkpoint directory.
pub const CONFIG_FILE: &str = "config.json";
/// The weights.
pub const MODEL_FILE: &str = "model.safetensors";
/// Adam's moments.
pub const OPTIMIZER_FILE: &str = "optimizer.safetensors";
/// Step, data position, settings.
pub const STATE_FILE: &str = "trainer_state.json";

/// One held-out evaluation, as recorded in `trainer_state.json`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// Optimizer steps done when it was measured.
    pub step: u64,
    /// Mean cross-entropy over the held-out predicted positions (nats).
    pub loss: f64,
    /// Fraction of held-out predicted positions guessed right.
    pub accuracy: f64,
    /// Number of held-out predicted positions.
    pub predicted: usize,
    /// Mean next-sentence cross-entropy over the held-out pairs (with NSP).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_sentence_loss: Option<f64>,
    /// Fraction of held-out pairs whose next-sentence label was guessed
    /// right (with NSP; chance is about one half).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_sentence_accuracy: Option<f64>,
}

impl Evaluation {
    /// The evaluation of `stats` at `step`.
    pub fn new(step: u64, stats: &MlmStats) -> Self {
        Evaluation {
            step,
            loss: stats.mean_loss(),
            accuracy: stats.accuracy(),
            predicted: stats.predicted,
            next_sentence_loss: stats.next_sentence_loss(),
            next_sentence_accuracy: stats.next_sentence_accuracy(),
        }
    }
}

/// `trainer_state.json`: everything besides weights and moments that a
/// resumed run needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainerState {
    /// Optimizer steps done.
    pub step: u64,
    /// Training sequences consumed (the data position).
    pub sequences_done: u64,
    /// The run's seed; data order, masks and dropout derive from it and
    /// the data position, so no generator state needs saving.
    pub seed: u64,
    /// The settings that must match for a run to resume from here
    /// (architecture, data, optimisation), as JSON.
    pub identity: serde_json::Value,
    /// A hash of `identity`, to spot a changed configuration at a glance.
    pub config_hash: String,
    /// The optimizer's kind (`adam`) and the learning rate of the last step.
    pub optimizer_kind: String,
    /// The learning rate of the last step.
    pub learning_rate: f32,
    /// Steps the optimizer took on each parameter.
    pub optimizer_steps: BTreeMap<String, u64>,
    /// Held-out evaluations so far.
    pub evaluations: Vec<Evaluation>,
}

/// A hex FNV-1a hash of the compact JSON of `value`.
pub fn config_hash(value: &serde_json::Value) -> String {
    let text = value.to_string();
    let mut hash = 0xcbf2_9ce4_8422_2325_u64;
    for byte in text.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{hash:016x}")
}

/// Writes `model`, `tokenizer` and (when given) the optimizer state and
/// trainer state to `dir`, replacing what was there only once everything
/// is written.
pub fn write_checkpoint(
    dir: &Path,
    model: &MlmModel,
    tokenizer: &Tokenizer,
    training: Option<(&OptimizerState, &TrainerState)>,
) -> Result<()> {
    let staging = sibling(dir, &format!("partial-{}", std::process::id()));
    if staging.exists() {
        std::fs::remove_dir_all(&staging).map_err(|e| Error::io(&staging, e))?;
    }
    std::fs::create_dir_all(&staging).map_err(|e| Error::io(&staging, e))?;
    let written = write_files(&staging, model, tokenizer, training);
    if let Err(e) = written {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(e);
    }
    let previous = sibling(dir, "previous");
    if dir.exists() {
        if previous.exists() {
            std::fs::remove_dir_all(&previous).map_err(|e| Error::io(&previous, e))?;
        }
        std::fs::rename(dir, &previous).map_err(|e| Error::io(dir, e))?;
    }
    std::fs::rename(&staging, dir).map_err(|e| Error::io(dir, e))?;
    if previous.exists() {
        std::fs::remove_dir_all(&previous).map_err(|e| Error::io(&previous, e))?;
    }
    Ok(())
}

/// The checkpoint to resume when asked for `dir`: `dir` itself, or
/// `<dir>.previous` when `dir` is missing and that one holds a trainer
/// state. A run stopped between the two renames of [`write_checkpoint`]
/// leaves its last complete checkpoint there.
///
/// ```
/// use embed_bert::train::checkpoint::locate_checkpoint;
/// let root = tempfile::tempdir()?;
/// let dir = root.path().join("run");
/// assert_eq!(locate_checkpoint(&dir), dir);
/// let previous = root.path().join("run.previous");
/// std::fs::create_dir(&previous)?;
/// std::fs::write(previous.join("trainer_state.json"), "{}")?;
/// assert_eq!(locate_checkpoint(&dir), previous);
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn locate_checkpoint(dir: &Path) -> PathBuf {
    let previous = sibling(dir, "previous");
    if !dir.exists() && previous.join(STATE_FILE).is_file() {
        previous
    } else {
        dir.to_path_buf()
    }
}

/// `<dir>.<suffix>`, next to `dir`.
fn sibling(dir: &Path, suffix: &str) -> PathBuf {
    let mut name = dir
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(format!(".{suffix}"));
    dir.with_file_name(name)
}

fn write_files(
    dir: &Path,
    model: &MlmModel,
    tokenizer: &Tokenizer,
    training: Option<(&OptimizerState, &TrainerState)>,
) -> Result<()> {
    write_json(&dir.join(CONFIG_FILE), &config_json(model))?;
    let vocab = vocab_text(tokenizer.vocab());
    write_bytes(&dir.join("vocab.txt"), vocab.as_bytes())?;
    let max_length = model.config().max_position_embeddings;
    write_json(
        &dir.join("tokenizer_config.json"),
        &tokenizer_config_json(tokenizer, max_length),
    )?;
    model.save_safetensors(dir.join(MODEL_FILE))?;
    if let Some((optimizer, state)) = training {
        write_optimizer(&dir.join(OPTIMIZER_FILE), optimizer)?;
        write_json(
            &dir.join(STATE_FILE),
            &serde_json::to_value(state).map_err(json_error)?,
        )?;
    }
    Ok(())
}

/// `config.json` for `transformers`: the architecture, dropout and
/// initialisation settings, and the model class.
pub fn config_json(model: &MlmModel) -> serde_json::Value {
    let mut json = serde_json::to_value(model.config()).unwrap_or_default();
    let settings = model.settings();
    if let Some(map) = json.as_object_mut() {
        let architecture = if model.has_next_sentence_head() {
            "BertForPreTraining"
        } else {
            "BertForMaskedLM"
        };
        map.insert("architectures".into(), serde_json::json!([architecture]));
        map.insert("model_type".into(), "bert".into());
        map.insert(
            "hidden_dropout_prob".into(),
            f64::from(settings.hidden_dropout_prob).into(),
        );
        map.insert(
            "attention_probs_dropout_prob".into(),
            f64::from(settings.attention_probs_dropout_prob).into(),
        );
        map.insert(
            "initializer_range".into(),
            f64::from(settings.initializer_range).into(),
        );
        map.insert("tie_word_embeddings".into(), true.into());
        map.insert("torch_dtype".into(), "float32".into());
    }
    json
}

/// `vocab.txt`: one token per line, in id order.
pub fn vocab_text(vocab: &crate::Vocab) -> String {
    let mut text = String::new();
    for id in 0..vocab.len() as u32 {
        text.push_str(vocab.token(id).unwrap_or_default());
        text.push('\n');
    }
    text
}

/// `tokenizer_config.json` for `transformers`' `BertTokenizer` and for
/// [`Tokenizer::from_dir`].
pub fn tokenizer_config_json(tokenizer: &Tokenizer, model_max_length: usize) -> serde_json::Value {
    let c = tokenizer.config();
    serde_json::json!({
        "tokenizer_class": "BertTokenizer",
        "do_lower_case": c.normalizer.lowercase,
        "strip_accents": c.normalizer.strip_accents,
        "tokenize_chinese_chars": c.normalizer.split_cjk,
        "unk_token": c.unk_token,
        "cls_token": c.cls_token,
        "sep_token": c.sep_token,
        "pad_token": c.pad_token,
        "mask_token": c.mask_token,
        "model_max_length": model_max_length,
    })
}

fn json_error(e: serde_json::Error) -> Error {
    Error::InvalidInput(format!("cannot serialise to JSON: {e}"))
}

fn write_json(path: &Path, value: &serde_json::Value) -> Result<()> {
    let text = serde_json::to_string_pretty(value).map_err(json_error)?;
    write_bytes(path, format!("{text}\n").as_bytes())
}

fn write_bytes(path: &Path, bytes: &[u8]) -> Result<()> {
    embed_core::io::write_atomically(path, |w| w.write_all(bytes).map_err(Error::from))
}

/// Adam's buffers as `<name>.exp_avg` and `<name>.exp_avg_sq`, flat.
fn write_optimizer(path: &Path, state: &OptimizerState) -> Result<()> {
    let mut data: Vec<(String, Vec<u8>)> = Vec::new();
    for (name, param) in &state.params {
        for (buffer, suffix) in param.buffers.iter().zip(BUFFER_SUFFIXES) {
            let bytes = buffer.iter().flat_map(|v| v.to_le_bytes()).collect();
            data.push((format!("{name}.{suffix}"), bytes));
        }
    }
    let views = data
        .iter()
        .map(|(name, bytes)| {
            safetensors::tensor::TensorView::new(Dtype::F32, vec![bytes.len() / 4], bytes)
                .map(|view| (name.clone(), view))
                .map_err(|e| Error::InvalidInput(format!("tensor `{name}`: {e}")))
        })
        .collect::<Result<Vec<_>>>()?;
    let bytes = safetensors::serialize(views, &None::<HashMap<String, String>>)
        .map_err(|e| Error::InvalidInput(format!("cannot serialise {}: {e}", path.display())))?;
    write_bytes(path, &bytes)
}

const BUFFER_SUFFIXES: [&str; 2] = ["exp_avg", "exp_avg_sq"];

/// Reads `trainer_state.json` of a checkpoint.
pub fn read_trainer_state(dir: &Path) -> Result<TrainerState> {
    let path = dir.join(STATE_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
    serde_json::from_str(&text)
        .map_err(|e| Error::format(&path, Location::Line(e.line() as u64), e.to_string()))
}

/// Reads the optimizer state of a checkpoint whose trainer state is
/// `state`: one pair of moments for every parameter with a step count.
pub fn read_optimizer_state(dir: &Path, state: &TrainerState) -> Result<OptimizerState> {
    let path = dir.join(OPTIMIZER_FILE);
    let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
    let tensors = SafeTensors::deserialize(&bytes)
        .map_err(|e| Error::format(&path, Location::File, format!("invalid safetensors: {e}")))?;
    let mut params = BTreeMap::new();
    for (name, &steps) in &state.optimizer_steps {
        let mut buffers = Vec::with_capacity(2);
        for suffix in BUFFER_SUFFIXES {
            let key = format!("{name}.{suffix}");
            let view = tensors.tensor(&key).map_err(|_| {
                Error::format(&path, Location::File, format!("missing tensor `{key}`"))
            })?;
            if view.dtype() != Dtype::F32 {
                return Err(Error::format(
                    &path,
                    Location::File,
                    format!("tensor `{key}` is not F32"),
                ));
            }
            buffers.push(
                view.data()
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect(),
            );
        }
        params.insert(name.clone(), ParamState { steps, buffers });
    }
    Ok(OptimizerState {
        kind: state.optimizer_kind.clone(),
        learning_rate: state.learning_rate,
        params,
    })
}

/// Compares the settings a checkpoint was made with (`saved`) to a new
/// run's (`current`): an [`Error::InvalidParameter`] named `resume`
/// listing every field that differs.
pub fn check_same_identity(
    dir: &Path,
    state: &TrainerState,
    current: &serde_json::Value,
) -> Result<()> {
    if config_hash(current) == state.config_hash {
        return Ok(());
    }
    let mut differences = Vec::new();
    diff("", &state.identity, current, &mut differences);
    if differences.is_empty() {
        differences.push(format!(
            "the settings hash {} differs from {}",
            state.config_hash,
            config_hash(current)
        ));
    }
    Err(Error::invalid_parameter(
        "resume",
        format!(
            "checkpoint {} was made with a different configuration: {}",
            dir.display(),
            differences.join("; ")
        ),
    ))
}

fn diff(path: &str, saved: &serde_json::Value, current: &serde_json::Value, out: &mut Vec<String>) {
    match (saved, current) {
        (serde_json::Value::Object(a), serde_json::Value::Object(b)) => {
            let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for key in keys {
                let null = serde_json::Value::Null;
                let sub = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                diff(
                    &sub,
                    a.get(key).unwrap_or(&null),
                    b.get(key).unwrap_or(&null),
                    out,
                );
            }
        }
        (a, b) if a != b => out.push(format!("{path} was {a}, now {b}")),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::MlmModel;
    use crate::{BertConfig, TokenizerConfig, Vocab};

    fn tokenizer() -> Tokenizer {
        let mut tokens: Vec<String> = crate::train::masking::SPECIAL_TOKENS
            .map(String::from)
            .to_vec();
        tokens.extend((0..11).map(|i| format!("w{i}")));
        Tokenizer::new(Vocab::from_tokens(tokens), TokenizerConfig::default()).unwrap()
    }

    #[test]
    fn a_checkpoint_round_trips_model_and_optimizer() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("ckpt");
        let model = MlmModel::init(&BertConfig::tiny(), 3).unwrap();
        let mut optimizer = OptimizerState {
            kind: "adam".into(),
            learning_rate: 0.5,
            params: BTreeMap::new(),
        };
        optimizer.params.insert(
            "cls.predictions.bias".into(),
            ParamState {
                steps: 4,
                buffers: vec![vec![1.0; 16], vec![2.0; 16]],
            },
        );
        let identity = serde_json::json!({"max_length": 12, "seed": 1});
        let state = TrainerState {
            step: 4,
            sequences_done: 8,
            seed: 1,
            config_hash: config_hash(&identity),
            identity,
            optimizer_kind: "adam".into(),
            learning_rate: 0.5,
            optimizer_steps: BTreeMap::from([("cls.predictions.bias".into(), 4)]),
            evaluations: vec![],
        };
        write_checkpoint(&target, &model, &tokenizer(), Some((&optimizer, &state))).unwrap();
        // A second write replaces the first and leaves nothing beside it.
        write_checkpoint(&target, &model, &tokenizer(), Some((&optimizer, &state))).unwrap();
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["ckpt"]);

        let loaded = MlmModel::from_pretrained(&target).unwrap();
        let tensors = |m: &MlmModel| {
            m.params()
                .iter()
                .map(|(n, a)| (n.to_string(), a.clone()))
                .collect::<Vec<_>>()
        };
        assert_eq!(tensors(&loaded), tensors(&model));
        let read = read_trainer_state(&target).unwrap();
        assert_eq!(read, state);
        assert_eq!(read_optimizer_state(&target, &read).unwrap(), optimizer);
        let config: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(target.join(CONFIG_FILE)).unwrap())
                .unwrap();
        assert_eq!(config["architectures"][0], "BertForMaskedLM");
        let reloaded = Tokenizer::from_dir(&target).unwrap();
        assert_eq!(reloaded.vocab().len(), 16);
    }

    #[test]
    fn different_settings_are_listed() {
        // f32 settings widened to f64, as the trainer records Adam's betas.
        let betas = [f64::from(0.9f32), f64::from(0.999f32)];
        let saved = serde_json::json!({"model": {"hidden_size": 8}, "seed": 1, "betas": betas});
        let state = TrainerState {
            step: 1,
            sequences_done: 1,
            seed: 1,
            config_hash: config_hash(&saved),
            identity: saved.clone(),
            optimizer_kind: "adam".into(),
            learning_rate: 0.1,
            optimizer_steps: BTreeMap::new(),
            evaluations: vec![],
        };
        // Read back as from `trainer_state.json`: the settings' floats must
        // come back exactly, or an unchanged one would be listed.
        let state: TrainerState =
            serde_json::from_str(&serde_json::to_string(&state).unwrap()).unwrap();
        let current = serde_json::json!({"model": {"hidden_size": 16}, "seed": 1, "betas": betas});
        let err = check_same_identity(Path::new("c"), &state, &current).unwrap_err();
        assert!(matches!(
            err,
            Error::InvalidParameter { name: "resume", .. }
        ));
        assert_eq!(
            err.to_string(),
            "invalid parameter `resume`: checkpoint c was made with a different configuration: model.hidden_size was 8, now 16"
        );
        assert!(check_same_identity(Path::new("c"), &state, &saved).is_ok());
    }
}
