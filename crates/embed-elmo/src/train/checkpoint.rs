//! Saving and restoring training in the middle: the model's parameters
//! (softmax included), the optimizer's state, the LSTM state carried
//! between windows, and where in the data training stands.
//!
//! A checkpoint is a directory with two files:
//!
//! - `checkpoint-<step>.hdf5`: every tensor, under `params/<name>`,
//!   `optimizer/<name>/buffer_<i>` and `state/<direction>/<layer>/{h,c}`;
//! - `checkpoint.json`: the name of that file, the configurations, the
//!   data position, the running loss of the epoch in progress, the epoch
//!   history, the optimizer's kind, learning rate and step counts, and the
//!   shape of the data it was made on (checked on resume).
//!
//! Both are written atomically, the tensors first, under a new name; the
//! previous save's tensors are removed only once `checkpoint.json` names
//! the new file. A run stopped at any point of a save so leaves the last
//! complete checkpoint readable. The step number is in both files, so a
//! pair from two different saves is detected on load. Checkpoints of the
//! first format (`checkpoint.hdf5`, not named in the metadata) still load.

use std::collections::BTreeMap;
use std::path::Path;

use embed_core::nn::lstm::LstmState;
use embed_core::optim::{OptimizerState, ParamState};
use embed_core::params::ParameterStore;
use embed_core::{Error, Location, Result};
use ndarray::{arr1, Array2, ArrayD, Ix2};
use serde::{Deserialize, Serialize};

use super::trainer::{DataPosition, EpochSummary, LossSums, TrainConfig};
use super::{BiLmConfig, BiLmState};
use crate::weights::{write_hdf5, Hdf5Weights};

/// File of the tensors in a checkpoint directory of the first format.
pub const TENSORS_FILE: &str = "checkpoint.hdf5";
/// File of the metadata in a checkpoint directory.
pub const META_FILE: &str = "checkpoint.json";
/// The format written; [`FIRST_FORMAT`] is still read.
const FORMAT: &str = "embed-elmo-checkpoint-2";
const FIRST_FORMAT: &str = "embed-elmo-checkpoint-1";

/// File of the tensors of the save at `step`.
fn tensors_file(step: u64) -> String {
    format!("checkpoint-{step}.hdf5")
}

/// Whether `name` is a tensors file of either format.
fn is_tensors_file(name: &str) -> bool {
    name == TENSORS_FILE
        || name
            .strip_prefix("checkpoint-")
            .and_then(|rest| rest.strip_suffix(".hdf5"))
            .is_some_and(|step| !step.is_empty() && step.bytes().all(|b| b.is_ascii_digit()))
}

/// The shape of the data a checkpoint was made on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataShape {
    /// Rows per window.
    pub batch: usize,
    /// Steps per window.
    pub unroll: usize,
    /// Windows per epoch.
    pub windows: usize,
    /// Targets per direction and epoch.
    pub targets: usize,
    /// Words the softmax predicts.
    pub vocab_size: usize,
}

/// Everything needed to continue training exactly where it stopped.
#[derive(Debug, Clone)]
pub struct Checkpoint {
    /// The network's shape.
    pub bilm: BiLmConfig,
    /// The training settings.
    pub train: TrainConfig,
    /// The next window to train on.
    pub position: DataPosition,
    /// Losses summed so far in the epoch in progress.
    pub epoch_loss: LossSums,
    /// Summaries of the epochs finished.
    pub history: Vec<EpochSummary>,
    /// The data it was made on.
    pub data: DataShape,
    /// The model's parameters, by name.
    pub params: ParameterStore,
    /// The optimizer's state.
    pub optimizer: OptimizerState,
    /// The LSTM state carried into the next window.
    pub state: BiLmState,
}

#[derive(Serialize, Deserialize)]
struct Meta {
    format: String,
    step: u64,
    /// The tensors' file in the same directory (absent in the first
    /// format, whose file is [`TENSORS_FILE`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tensors: Option<String>,
    bilm: BiLmConfig,
    train: TrainConfig,
    position: DataPosition,
    epoch_loss: LossSums,
    history: Vec<EpochSummary>,
    data: DataShape,
    optimizer_kind: String,
    learning_rate: f32,
    /// Steps and number of buffers per parameter.
    optimizer_steps: BTreeMap<String, (u64, usize)>,
    seed: u64,
}

/// A step number as two floats of 24 bits each, both exact in `f32`.
fn step_to_floats(step: u64) -> [f32; 2] {
    [(step >> 24) as f32, (step & 0xFF_FFFF) as f32]
}

fn floats_to_step(floats: &[f32]) -> Option<u64> {
    match floats {
        [high, low] => Some(((*high as u64) << 24) | *low as u64),
        _ => None,
    }
}

fn state_name(direction: usize, layer: usize, part: &str) -> String {
    let direction = if direction == 0 {
        "forward"
    } else {
        "backward"
    };
    format!("state/{direction}/{layer}/{part}")
}

impl Checkpoint {
    /// Writes `dir/checkpoint-<step>.hdf5`, then `dir/checkpoint.json`
    /// naming it, creating `dir`; then removes the tensors of earlier saves.
    pub fn save(&self, dir: impl AsRef<Path>) -> Result<()> {
        let dir = dir.as_ref();
        let tensors = self.write_tensors(dir)?;
        self.write_meta(dir, &tensors)?;
        // The new pair is complete: the earlier tensors are no longer
        // named. Failing to remove one leaves a stale file, not a broken
        // checkpoint, so it does not fail the save.
        if let Ok(entries) = std::fs::read_dir(dir) {
            for entry in entries.flatten() {
                let name = entry.file_name();
                let name = name.to_string_lossy();
                if name != tensors && is_tensors_file(&name) {
                    let _ = std::fs::remove_file(entry.path());
                }
            }
        }
        Ok(())
    }

    /// Writes the tensors to `dir` (created if missing) under the name of
    /// this step, which it returns.
    pub(crate) fn write_tensors(&self, dir: &Path) -> Result<String> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let mut tensors: BTreeMap<String, ArrayD<f32>> = BTreeMap::new();
        for (name, tensor) in self.params.iter() {
            tensors.insert(format!("params/{name}"), tensor.clone());
        }
        for (name, state) in &self.optimizer.params {
            for (i, buffer) in state.buffers.iter().enumerate() {
                tensors.insert(
                    format!("optimizer/{name}/buffer_{i}"),
                    arr1(buffer).into_dyn(),
                );
            }
        }
        for (direction, layers) in [&self.state.forward, &self.state.backward]
            .into_iter()
            .enumerate()
        {
            for (layer, state) in layers.iter().enumerate() {
                tensors.insert(
                    state_name(direction, layer, "h"),
                    state.h.clone().into_dyn(),
                );
                tensors.insert(
                    state_name(direction, layer, "c"),
                    state.c.clone().into_dyn(),
                );
            }
        }
        tensors.insert(
            "meta/step".into(),
            arr1(&step_to_floats(self.position.step)).into_dyn(),
        );
        let name = tensors_file(self.position.step);
        write_hdf5(dir.join(&name), &tensors)?;
        Ok(name)
    }

    /// Writes `checkpoint.json`, naming the tensors' file `tensors`.
    fn write_meta(&self, dir: &Path, tensors: &str) -> Result<()> {
        let optimizer_steps = self
            .optimizer
            .params
            .iter()
            .map(|(name, state)| (name.clone(), (state.steps, state.buffers.len())))
            .collect();
        let meta = Meta {
            format: FORMAT.into(),
            step: self.position.step,
            tensors: Some(tensors.into()),
            bilm: self.bilm.clone(),
            train: self.train.clone(),
            position: self.position,
            epoch_loss: self.epoch_loss,
            history: self.history.clone(),
            data: self.data,
            optimizer_kind: self.optimizer.kind.clone(),
            learning_rate: self.optimizer.learning_rate,
            optimizer_steps,
            seed: self.params.seed(),
        };
        let text = serde_json::to_string_pretty(&meta)
            .map_err(|e| Error::InvalidInput(format!("cannot serialise checkpoint: {e}")))?;
        embed_core::io::write_atomically(&dir.join(META_FILE), |w| {
            use std::io::Write;
            w.write_all(text.as_bytes()).map_err(Error::from)
        })
    }

    /// Reads a checkpoint directory written by [`Checkpoint::save`].
    pub fn load(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref();
        let meta_path = dir.join(META_FILE);
        let text = std::fs::read_to_string(&meta_path).map_err(|e| Error::io(&meta_path, e))?;
        let meta: Meta = serde_json::from_str(&text).map_err(|e| {
            Error::format(&meta_path, Location::Line(e.line() as u64), e.to_string())
        })?;
        let tensors_name = match (meta.format.as_str(), &meta.tensors) {
            (FORMAT, Some(name)) if Path::new(name).file_name() == Some(name.as_ref()) => {
                name.as_str()
            }
            (FORMAT, _) => {
                return Err(Error::format(
                    &meta_path,
                    Location::File,
                    "`tensors` must name a file in the checkpoint's directory",
                ))
            }
            (FIRST_FORMAT, _) => TENSORS_FILE,
            (other, _) => {
                return Err(Error::format(
                    &meta_path,
                    Location::File,
                    format!("format `{other}`, expected `{FORMAT}`"),
                ))
            }
        };
        let tensors_path = dir.join(tensors_name);
        let mut tensors = Hdf5Weights::open(&tensors_path)?.read_all()?;
        let step = tensors
            .remove("meta/step")
            .and_then(|t| floats_to_step(t.as_slice()?))
            .ok_or_else(|| Error::MissingTensor {
                name: format!("meta/step (in {})", tensors_path.display()),
            })?;
        if step != meta.step {
            return Err(Error::format(
                &tensors_path,
                Location::File,
                format!(
                    "holds step {step}, {} says step {}: the files come from different saves",
                    META_FILE, meta.step
                ),
            ));
        }

        let mut params = ParameterStore::new(meta.seed);
        let mut buffers: BTreeMap<String, BTreeMap<usize, Vec<f32>>> = BTreeMap::new();
        let mut state_tensors = BTreeMap::new();
        for (name, tensor) in tensors {
            if let Some(param) = name.strip_prefix("params/") {
                params.insert(param, tensor);
            } else if let Some(rest) = name.strip_prefix("optimizer/") {
                let (param, buffer) = rest
                    .rsplit_once("/buffer_")
                    .and_then(|(p, i)| Some((p, i.parse::<usize>().ok()?)))
                    .ok_or_else(|| {
                        Error::format(
                            &tensors_path,
                            Location::File,
                            format!("unexpected dataset `{name}`"),
                        )
                    })?;
                buffers
                    .entry(param.to_string())
                    .or_default()
                    .insert(buffer, tensor.iter().copied().collect());
            } else if name.starts_with("state/") {
                state_tensors.insert(name, tensor);
            }
        }
        let mut optimizer = OptimizerState {
            kind: meta.optimizer_kind,
            learning_rate: meta.learning_rate,
            params: BTreeMap::new(),
        };
        for (name, (steps, count)) in meta.optimizer_steps {
            let mut found = buffers.remove(&name).unwrap_or_default();
            let buffers = (0..count)
                .map(|i| {
                    found.remove(&i).ok_or_else(|| Error::MissingTensor {
                        name: format!(
                            "optimizer/{name}/buffer_{i} (in {})",
                            tensors_path.display()
                        ),
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            optimizer.params.insert(name, ParamState { steps, buffers });
        }

        let mut layers = |direction: usize| -> Result<Vec<LstmState>> {
            (0..meta.bilm.n_layers)
                .map(|layer| {
                    let mut part = |p: &str| -> Result<Array2<f32>> {
                        let name = state_name(direction, layer, p);
                        let tensor =
                            state_tensors
                                .remove(&name)
                                .ok_or_else(|| Error::MissingTensor {
                                    name: format!("{name} (in {})", tensors_path.display()),
                                })?;
                        tensor.into_dimensionality::<Ix2>().map_err(|e| {
                            Error::format(&tensors_path, Location::File, format!("{name}: {e}"))
                        })
                    };
                    Ok(LstmState {
                        h: part("h")?,
                        c: part("c")?,
                    })
                })
                .collect()
        };
        let forward = layers(0)?;
        let backward = layers(1)?;
        Ok(Checkpoint {
            bilm: meta.bilm,
            train: meta.train,
            position: meta.position,
            epoch_loss: meta.epoch_loss,
            history: meta.history,
            data: meta.data,
            params,
            optimizer,
            state: BiLmState { forward, backward },
        })
    }
}
