//! Saving an ELMo model as bilm-tf's `options.json` + `weights.hdf5`.
//!
//! [`ElmoWeights`] holds every tensor of the biLM (softmax excluded, as
//! bilm-tf's `dump_weights` leaves it out) in the convention the network
//! computes with; [`ElmoWeights::to_tensors`] turns it into the datasets
//! AllenNLP reads, which is the inverse of what the loader does:
//!
//! | in memory | in `weights.hdf5` |
//! |---|---|
//! | `char_embedding` `[262, dim]`, row = character id, row 0 padding | `char_embed` `[261, dim]` (row 0 dropped; AllenNLP prepends a zero row) |
//! | convolution kernel `[width, dim, count]` | `CNN/W_cnn_i` `[1, width, dim, count]` |
//! | LSTM bias with the forget gate's +1 folded in | `RNN_d/…/LSTMCell/B` without it (TensorFlow adds it inside the cell) |
//!
//! Gate order is TensorFlow's `i, j, f, o` in both. Writing is atomic:
//! each file is written beside its final name and renamed into place.

use std::collections::BTreeMap;
use std::path::Path;

use embed_core::{Error, Result};
use ndarray::{s, Array1, Array2, Array3, ArrayD, Ix1, Ix2, IxDyn};
use rand::Rng as _;
use serde_json::{Map, Value};

use crate::options::ElmoOptions;
use crate::weights::{write_hdf5, Hdf5Weights};

/// Rows of the in-memory character table: ids 0 (padding) to 261.
pub const CHAR_VOCAB: usize = 262;
/// What bilm-tf adds to the forget gate's pre-activation inside the cell.
pub const FORGET_BIAS: f32 = 1.0;
/// File name of the options in a model directory.
pub const OPTIONS_FILE: &str = "options.json";
/// File name of the weights in a model directory.
pub const WEIGHTS_FILE: &str = "weights.hdf5";

/// One convolution of the character encoder.
#[derive(Debug, Clone, PartialEq)]
pub struct ConvolutionWeights {
    /// `[width, char_dim, count]`: `out[n] = Σ_k,c x[p + k, c] · kernel[k, c, n]`.
    pub kernel: Array3<f32>,
    /// `[count]`.
    pub bias: Array1<f32>,
}

/// One highway layer: `g = σ(x W_carry + b_carry)`,
/// `y = g · relu(x W_transform + b_transform) + (1 − g) · x`.
#[derive(Debug, Clone, PartialEq)]
pub struct HighwayWeights {
    /// `[filters, filters]`.
    pub transform_weight: Array2<f32>,
    /// `[filters]`.
    pub transform_bias: Array1<f32>,
    /// `[filters, filters]`.
    pub carry_weight: Array2<f32>,
    /// `[filters]`.
    pub carry_bias: Array1<f32>,
}

/// One direction of one biLSTM layer, in TensorFlow's gate order `i, j, f, o`.
#[derive(Debug, Clone, PartialEq)]
pub struct LstmWeights {
    /// `[input + projection, 4 · cell]`: rows for the layer input, then rows
    /// for the previous projected state (`z = [x, h_prev] @ weight + bias`).
    pub weight: Array2<f32>,
    /// `[4 · cell]`, the forget gate's +1 included.
    pub bias: Array1<f32>,
    /// `[cell, projection]`.
    pub projection: Array2<f32>,
}

/// Every weight of an ELMo biLM with the options that shape it.
///
/// ```
/// use embed_elmo::writer::ElmoWeights;
/// use embed_elmo::ElmoModel;
/// let options = embed_elmo::ElmoOptions::from_json(r#"{"lstm": {"dim": 8, "projection_dim": 4,
///   "n_layers": 2, "cell_clip": 3, "proj_clip": 3},
///   "char_cnn": {"activation": "relu", "filters": [[1, 4], [2, 4]], "n_highway": 1,
///   "embedding": {"dim": 4}, "max_characters_per_token": 50}}"#, "options.json")?;
/// let weights = ElmoWeights::random(options, 7)?;
/// let dir = tempfile::tempdir().unwrap();
/// weights.save(dir.path())?;
/// let model = ElmoModel::load(dir.path().join("options.json"), dir.path().join("weights.hdf5"))?;
/// assert_eq!(model.output_dim(), 8);
/// # Ok::<(), embed_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ElmoWeights {
    /// The network's shape.
    pub options: ElmoOptions,
    /// `[262, char_dim]`, indexed by character id; row 0 (padding) is not saved.
    pub char_embedding: Array2<f32>,
    /// One per `options.char_cnn.filters` entry, in order.
    pub convolutions: Vec<ConvolutionWeights>,
    /// `options.char_cnn.n_highway` layers.
    pub highway: Vec<HighwayWeights>,
    /// `[filters, projection]`.
    pub projection_weight: Array2<f32>,
    /// `[projection]`.
    pub projection_bias: Array1<f32>,
    /// Forward-direction layers, first to last.
    pub forward: Vec<LstmWeights>,
    /// Backward-direction layers, first to last.
    pub backward: Vec<LstmWeights>,
}

fn lstm_prefix(direction: usize, layer: usize) -> String {
    format!("RNN_{direction}/RNN/MultiRNNCell/Cell{layer}/LSTMCell")
}

fn check_shape(name: &str, actual: &[usize], expected: &[usize]) -> Result<()> {
    if actual != expected {
        return Err(Error::ShapeMismatch {
            name: name.to_string(),
            expected: expected.to_vec(),
            actual: actual.to_vec(),
        });
    }
    Ok(())
}

fn check_len(name: &str, actual: usize, expected: usize) -> Result<()> {
    if actual != expected {
        return Err(Error::InvalidInput(format!(
            "{name}: {actual} given, the options need {expected}"
        )));
    }
    Ok(())
}

/// Takes the dataset `name` out of `tensors` with exactly `shape`.
fn take(
    tensors: &mut BTreeMap<String, ArrayD<f32>>,
    name: &str,
    shape: &[usize],
) -> Result<ArrayD<f32>> {
    let tensor = tensors.remove(name).ok_or_else(|| Error::MissingTensor {
        name: name.to_string(),
    })?;
    check_shape(name, tensor.shape(), shape)?;
    Ok(tensor)
}

fn into_matrix(name: &str, tensor: ArrayD<f32>) -> Result<Array2<f32>> {
    tensor
        .into_dimensionality::<Ix2>()
        .map_err(|e| Error::InvalidInput(format!("{name}: {e}")))
}

fn into_vector(name: &str, tensor: ArrayD<f32>) -> Result<Array1<f32>> {
    tensor
        .into_dimensionality::<Ix1>()
        .map_err(|e| Error::InvalidInput(format!("{name}: {e}")))
}

impl ElmoWeights {
    /// Fresh weights drawn uniformly at random (seeded), sized by `options`:
    /// a model to test with or to start training from. LSTM biases are zero
    /// before the forget gate's +1, as bilm-tf initialises them.
    pub fn random(options: ElmoOptions, seed: u64) -> Result<Self> {
        let mut rng = embed_core::seed::rng(seed, 0);
        let mut uniform = |shape: &[usize], bound: f32| {
            let len = shape.iter().product();
            let values: Vec<f32> = (0..len).map(|_| rng.gen_range(-bound..=bound)).collect();
            ArrayD::from_shape_vec(IxDyn(shape), values)
                .map_err(|e| Error::InvalidInput(format!("random weights: {e}")))
        };
        let cnn = &options.char_cnn;
        let char_dim = cnn.embedding.dim;
        let n_filters = options.n_filters();
        let lstm = &options.lstm;
        let proj = lstm.projection_dim;

        let mut char_embedding = into_matrix("char_embed", uniform(&[CHAR_VOCAB, char_dim], 1.0)?)?;
        char_embedding.row_mut(0).fill(0.0);
        let mut convolutions = Vec::with_capacity(cnn.filters.len());
        for &(width, count) in &cnn.filters {
            let bound = 1.0 / ((width * char_dim) as f32).sqrt();
            convolutions.push(ConvolutionWeights {
                kernel: uniform(&[width, char_dim, count], bound)?
                    .into_dimensionality()
                    .map_err(|e| Error::InvalidInput(format!("random kernel: {e}")))?,
                bias: Array1::zeros(count),
            });
        }
        let bound = 1.0 / (n_filters as f32).sqrt();
        let mut highway = Vec::with_capacity(cnn.n_highway);
        for _ in 0..cnn.n_highway {
            highway.push(HighwayWeights {
                transform_weight: into_matrix(
                    "W_transform",
                    uniform(&[n_filters, n_filters], bound)?,
                )?,
                transform_bias: Array1::zeros(n_filters),
                carry_weight: into_matrix("W_carry", uniform(&[n_filters, n_filters], bound)?)?,
                // A negative carry bias starts the layer close to the identity.
                carry_bias: Array1::from_elem(n_filters, -2.0),
            });
        }
        let projection_weight = into_matrix("W_proj", uniform(&[n_filters, proj], bound)?)?;
        let mut direction = || -> Result<Vec<LstmWeights>> {
            (0..lstm.n_layers)
                .map(|_| {
                    let mut bias = Array1::zeros(4 * lstm.dim);
                    bias.slice_mut(s![2 * lstm.dim..3 * lstm.dim])
                        .fill(FORGET_BIAS);
                    Ok(LstmWeights {
                        weight: into_matrix(
                            "W_0",
                            uniform(&[2 * proj, 4 * lstm.dim], 1.0 / ((2 * proj) as f32).sqrt())?,
                        )?,
                        bias,
                        projection: into_matrix(
                            "W_P_0",
                            uniform(&[lstm.dim, proj], 1.0 / (lstm.dim as f32).sqrt())?,
                        )?,
                    })
                })
                .collect()
        };
        let forward = direction()?;
        let backward = direction()?;
        let weights = ElmoWeights {
            char_embedding,
            convolutions,
            highway,
            projection_weight,
            projection_bias: Array1::zeros(proj),
            forward,
            backward,
            options,
        };
        weights.validate()?;
        Ok(weights)
    }

    /// Checks every tensor's shape against the options; the error names the
    /// tensor and both shapes.
    pub fn validate(&self) -> Result<()> {
        let cnn = &self.options.char_cnn;
        let char_dim = cnn.embedding.dim;
        let n_filters = self.options.n_filters();
        let lstm = &self.options.lstm;
        let proj = lstm.projection_dim;
        check_shape(
            "char_embed",
            self.char_embedding.shape(),
            &[CHAR_VOCAB, char_dim],
        )?;
        check_len("convolutions", self.convolutions.len(), cnn.filters.len())?;
        for (i, (conv, &(width, count))) in self.convolutions.iter().zip(&cnn.filters).enumerate() {
            check_shape(
                &format!("CNN/W_cnn_{i}"),
                conv.kernel.shape(),
                &[width, char_dim, count],
            )?;
            check_shape(&format!("CNN/b_cnn_{i}"), conv.bias.shape(), &[count])?;
        }
        check_len("highway layers", self.highway.len(), cnn.n_highway)?;
        for (k, layer) in self.highway.iter().enumerate() {
            let square = [n_filters, n_filters];
            check_shape(
                &format!("CNN_high_{k}/W_transform"),
                layer.transform_weight.shape(),
                &square,
            )?;
            check_shape(
                &format!("CNN_high_{k}/b_transform"),
                layer.transform_bias.shape(),
                &[n_filters],
            )?;
            check_shape(
                &format!("CNN_high_{k}/W_carry"),
                layer.carry_weight.shape(),
                &square,
            )?;
            check_shape(
                &format!("CNN_high_{k}/b_carry"),
                layer.carry_bias.shape(),
                &[n_filters],
            )?;
        }
        check_shape(
            "CNN_proj/W_proj",
            self.projection_weight.shape(),
            &[n_filters, proj],
        )?;
        check_shape("CNN_proj/b_proj", self.projection_bias.shape(), &[proj])?;
        for (direction, layers) in [&self.forward, &self.backward].into_iter().enumerate() {
            check_len(
                &format!("RNN_{direction} layers"),
                layers.len(),
                lstm.n_layers,
            )?;
            for (layer, cell) in layers.iter().enumerate() {
                let prefix = lstm_prefix(direction, layer);
                check_shape(
                    &format!("{prefix}/W_0"),
                    cell.weight.shape(),
                    &[2 * proj, 4 * lstm.dim],
                )?;
                check_shape(&format!("{prefix}/B"), cell.bias.shape(), &[4 * lstm.dim])?;
                check_shape(
                    &format!("{prefix}/W_P_0"),
                    cell.projection.shape(),
                    &[lstm.dim, proj],
                )?;
            }
        }
        Ok(())
    }

    /// The datasets of `weights.hdf5`, by path, in bilm-tf's convention.
    pub fn to_tensors(&self) -> Result<BTreeMap<String, ArrayD<f32>>> {
        self.validate()?;
        let mut tensors = BTreeMap::new();
        tensors.insert(
            "char_embed".to_string(),
            self.char_embedding.slice(s![1.., ..]).to_owned().into_dyn(),
        );
        for (i, conv) in self.convolutions.iter().enumerate() {
            let (width, dim, count) = conv.kernel.dim();
            let kernel = conv
                .kernel
                .as_standard_layout()
                .into_owned()
                .into_shape_with_order(IxDyn(&[1, width, dim, count]))
                .map_err(|e| Error::InvalidInput(format!("CNN/W_cnn_{i}: {e}")))?;
            tensors.insert(format!("CNN/W_cnn_{i}"), kernel);
            tensors.insert(format!("CNN/b_cnn_{i}"), conv.bias.clone().into_dyn());
        }
        for (k, layer) in self.highway.iter().enumerate() {
            let group = format!("CNN_high_{k}");
            tensors.insert(
                format!("{group}/W_transform"),
                layer.transform_weight.clone().into_dyn(),
            );
            tensors.insert(
                format!("{group}/b_transform"),
                layer.transform_bias.clone().into_dyn(),
            );
            tensors.insert(
                format!("{group}/W_carry"),
                layer.carry_weight.clone().into_dyn(),
            );
            tensors.insert(
                format!("{group}/b_carry"),
                layer.carry_bias.clone().into_dyn(),
            );
        }
        tensors.insert(
            "CNN_proj/W_proj".into(),
            self.projection_weight.clone().into_dyn(),
        );
        tensors.insert(
            "CNN_proj/b_proj".into(),
            self.projection_bias.clone().into_dyn(),
        );
        let cell = self.options.lstm.dim;
        for (direction, layers) in [&self.forward, &self.backward].into_iter().enumerate() {
            for (layer, weights) in layers.iter().enumerate() {
                let prefix = lstm_prefix(direction, layer);
                let mut bias = weights.bias.clone();
                bias.slice_mut(s![2 * cell..3 * cell])
                    .mapv_inplace(|b| b - FORGET_BIAS);
                tensors.insert(format!("{prefix}/W_0"), weights.weight.clone().into_dyn());
                tensors.insert(format!("{prefix}/B"), bias.into_dyn());
                tensors.insert(
                    format!("{prefix}/W_P_0"),
                    weights.projection.clone().into_dyn(),
                );
            }
        }
        Ok(tensors)
    }

    /// Builds the weights from bilm-tf datasets (as [`ElmoWeights::to_tensors`]
    /// writes them and AllenNLP reads them). Datasets the options do not name
    /// are ignored; a missing one or a wrong shape is an error naming it.
    pub fn from_tensors(
        options: ElmoOptions,
        mut tensors: BTreeMap<String, ArrayD<f32>>,
    ) -> Result<Self> {
        let cnn = &options.char_cnn;
        let char_dim = cnn.embedding.dim;
        let n_filters = options.n_filters();
        let lstm = &options.lstm;
        let proj = lstm.projection_dim;
        let t = &mut tensors;

        let stored = into_matrix(
            "char_embed",
            take(t, "char_embed", &[CHAR_VOCAB - 1, char_dim])?,
        )?;
        let mut char_embedding = Array2::zeros((CHAR_VOCAB, char_dim));
        char_embedding.slice_mut(s![1.., ..]).assign(&stored);

        let mut convolutions = Vec::with_capacity(cnn.filters.len());
        for (i, &(width, count)) in cnn.filters.iter().enumerate() {
            let name = format!("CNN/W_cnn_{i}");
            let kernel = take(t, &name, &[1, width, char_dim, count])?
                .into_shape_with_order((width, char_dim, count))
                .map_err(|e| Error::InvalidInput(format!("{name}: {e}")))?;
            let name = format!("CNN/b_cnn_{i}");
            let bias = into_vector(&name, take(t, &name, &[count])?)?;
            convolutions.push(ConvolutionWeights { kernel, bias });
        }
        let mut highway = Vec::with_capacity(cnn.n_highway);
        for k in 0..cnn.n_highway {
            let mut matrix = |part: &str| {
                let name = format!("CNN_high_{k}/{part}");
                into_matrix(&name, take(t, &name, &[n_filters, n_filters])?)
            };
            let transform_weight = matrix("W_transform")?;
            let carry_weight = matrix("W_carry")?;
            let mut vector = |part: &str| {
                let name = format!("CNN_high_{k}/{part}");
                into_vector(&name, take(t, &name, &[n_filters])?)
            };
            highway.push(HighwayWeights {
                transform_weight,
                transform_bias: vector("b_transform")?,
                carry_weight,
                carry_bias: vector("b_carry")?,
            });
        }
        let projection_weight = into_matrix(
            "CNN_proj/W_proj",
            take(t, "CNN_proj/W_proj", &[n_filters, proj])?,
        )?;
        let projection_bias = into_vector("CNN_proj/b_proj", take(t, "CNN_proj/b_proj", &[proj])?)?;
        let mut directions = Vec::with_capacity(2);
        for direction in 0..2 {
            let mut layers = Vec::with_capacity(lstm.n_layers);
            for layer in 0..lstm.n_layers {
                let prefix = lstm_prefix(direction, layer);
                let name = format!("{prefix}/W_0");
                let weight = into_matrix(&name, take(t, &name, &[2 * proj, 4 * lstm.dim])?)?;
                let name = format!("{prefix}/B");
                let mut bias = into_vector(&name, take(t, &name, &[4 * lstm.dim])?)?;
                bias.slice_mut(s![2 * lstm.dim..3 * lstm.dim])
                    .mapv_inplace(|b| b + FORGET_BIAS);
                let name = format!("{prefix}/W_P_0");
                let projection = into_matrix(&name, take(t, &name, &[lstm.dim, proj])?)?;
                layers.push(LstmWeights {
                    weight,
                    bias,
                    projection,
                });
            }
            directions.push(layers);
        }
        let backward = directions.pop().unwrap_or_default();
        let forward = directions.pop().unwrap_or_default();
        Ok(ElmoWeights {
            options,
            char_embedding,
            convolutions,
            highway,
            projection_weight,
            projection_bias,
            forward,
            backward,
        })
    }

    /// Reads `options.json` and `weights.hdf5`.
    pub fn load(options: impl AsRef<Path>, weights: impl AsRef<Path>) -> Result<Self> {
        let options = ElmoOptions::from_file(options)?;
        let tensors = Hdf5Weights::open(weights)?.read_all()?;
        Self::from_tensors(options, tensors)
    }

    /// The `options.json` content: the options, `n_characters` as released
    /// models have it, and `extra` top-level fields (bilm-tf records its
    /// training settings there: `n_tokens_vocab`, `unroll_steps`, …).
    pub fn options_json(&self, extra: &Map<String, Value>) -> Result<Value> {
        let mut json = serde_json::to_value(&self.options)
            .map_err(|e| Error::InvalidInput(format!("cannot serialise options: {e}")))?;
        if let Some(cnn) = json.get_mut("char_cnn").and_then(Value::as_object_mut) {
            cnn.insert("n_characters".into(), Value::from(CHAR_VOCAB));
        }
        if let Some(object) = json.as_object_mut() {
            for (key, value) in extra {
                if key != "lstm" && key != "char_cnn" {
                    object.insert(key.clone(), value.clone());
                }
            }
        }
        Ok(json)
    }

    /// Writes `options.json` and `weights.hdf5` into `dir` (created if
    /// missing), each atomically.
    pub fn save(&self, dir: impl AsRef<Path>) -> Result<()> {
        self.save_with(dir, &Map::new())
    }

    /// As [`ElmoWeights::save`], with `extra` top-level fields in `options.json`.
    pub fn save_with(&self, dir: impl AsRef<Path>, extra: &Map<String, Value>) -> Result<()> {
        let dir = dir.as_ref();
        let tensors = self.to_tensors()?;
        let options = self.options_json(extra)?;
        let text = serde_json::to_string_pretty(&options)
            .map_err(|e| Error::InvalidInput(format!("cannot serialise options: {e}")))?;
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        write_hdf5(dir.join(WEIGHTS_FILE), &tensors)?;
        embed_core::io::write_atomically(&dir.join(OPTIONS_FILE), |w| {
            use std::io::Write;
            w.write_all(text.as_bytes())?;
            w.write_all(b"\n").map_err(Error::from)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ElmoModel;

    fn tiny_options() -> ElmoOptions {
        ElmoOptions::from_json(
            r#"{"lstm": {"dim": 12, "projection_dim": 6, "n_layers": 2, "cell_clip": 3,
              "proj_clip": 3, "use_skip_connections": true},
              "char_cnn": {"activation": "relu", "filters": [[1, 4], [2, 4], [3, 8]],
              "n_highway": 2, "embedding": {"dim": 5}, "max_characters_per_token": 50}}"#,
            "options.json",
        )
        .unwrap()
    }

    fn shared_model_dir() -> Option<std::path::PathBuf> {
        let shared = std::env::var_os("EMBED_SHARED_DIR")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared").into());
        let dir = shared.join("models/elmo-tiny-random");
        if dir.join("weights.hdf5").is_file() {
            Some(dir)
        } else {
            eprintln!("skipping: {} not found", dir.display());
            None
        }
    }

    fn sentences() -> Vec<Vec<&'static str>> {
        vec![
            vec!["The", "cat", "sat", "on", "the", "mat", "."],
            vec!["Überraschung", "🙂", "x"],
            vec![],
        ]
    }

    #[test]
    fn shared_model_round_trips_through_the_writer() {
        let Some(dir) = shared_model_dir() else {
            return;
        };
        let weights =
            ElmoWeights::load(dir.join("options.json"), dir.join("weights.hdf5")).unwrap();
        let out = tempfile::tempdir().unwrap();
        weights.save(out.path()).unwrap();

        // Same datasets and values; adding and removing the forget bias's 1 may round the
        // last bit of a bias, hence the bound.
        let original = Hdf5Weights::open(dir.join("weights.hdf5"))
            .unwrap()
            .read_all()
            .unwrap();
        let copy = Hdf5Weights::open(out.path().join(WEIGHTS_FILE))
            .unwrap()
            .read_all()
            .unwrap();
        assert_eq!(
            original.keys().collect::<Vec<_>>(),
            copy.keys().collect::<Vec<_>>()
        );
        for (name, a) in &original {
            let b = &copy[name];
            assert_eq!(a.shape(), b.shape(), "{name}");
            let worst = a
                .iter()
                .zip(b)
                .map(|(x, y)| (x - y).abs())
                .fold(0.0f32, f32::max);
            assert!(worst <= 1e-6, "{name} differs by {worst}");
        }

        let a = ElmoModel::load(dir.join("options.json"), dir.join("weights.hdf5")).unwrap();
        let b =
            ElmoModel::load(out.path().join(OPTIONS_FILE), out.path().join(WEIGHTS_FILE)).unwrap();
        assert_eq!(a.options(), b.options());
        let (x, y) = (
            a.forward(&sentences()).unwrap(),
            b.forward(&sentences()).unwrap(),
        );
        assert_eq!(x.mask, y.mask);
        for (p, q) in x.activations.iter().zip(&y.activations) {
            let worst = p
                .iter()
                .zip(q)
                .map(|(u, v)| (u - v).abs())
                .fold(0.0f32, f32::max);
            assert!(worst <= 1e-6, "activations differ by {worst}");
        }
    }

    #[test]
    fn random_model_saves_and_loads_to_the_same_weights() {
        let weights = ElmoWeights::random(tiny_options(), 3).unwrap();
        let dir = tempfile::tempdir().unwrap();
        weights.save(dir.path()).unwrap();
        let back = ElmoWeights::load(dir.path().join(OPTIONS_FILE), dir.path().join(WEIGHTS_FILE))
            .unwrap();
        // The forget-bias shift (1 − 1 + x) is exact for the zero biases of a fresh model.
        assert_eq!(back, weights);
        let model =
            ElmoModel::load(dir.path().join(OPTIONS_FILE), dir.path().join(WEIGHTS_FILE)).unwrap();
        let out = model.forward(&sentences()).unwrap();
        assert_eq!(out.activations.len(), 3);
        assert!(out
            .activations
            .iter()
            .all(|a| a.iter().all(|v| v.is_finite())));
        // Different seeds give different weights.
        assert_ne!(ElmoWeights::random(tiny_options(), 4).unwrap(), weights);
    }

    #[test]
    fn bilm_tf_convention_on_disk() {
        let mut weights = ElmoWeights::random(tiny_options(), 1).unwrap();
        weights.char_embedding.row_mut(5).fill(0.5);
        let tensors = weights.to_tensors().unwrap();
        // Character id 5 is stored at row 4; the padding row is not stored.
        assert_eq!(tensors["char_embed"].shape(), &[261, 5]);
        assert!(tensors["char_embed"]
            .slice(s![4, ..])
            .iter()
            .all(|&v| v == 0.5));
        // A fresh cell's forget bias is +1 in memory and 0 in the file.
        let b = &tensors["RNN_1/RNN/MultiRNNCell/Cell1/LSTMCell/B"];
        assert!(b.iter().all(|&v| v == 0.0));
        assert_eq!(weights.backward[1].bias[2 * 12], 1.0);
        assert_eq!(tensors["CNN/W_cnn_2"].shape(), &[1, 3, 5, 8]);
        let json = weights.options_json(&Map::new()).unwrap();
        assert_eq!(json["char_cnn"]["n_characters"], 262);
    }

    #[test]
    fn mismatched_weights_are_rejected_with_names() {
        let mut weights = ElmoWeights::random(tiny_options(), 1).unwrap();
        weights.forward[1].projection = Array2::zeros((3, 3));
        let err = weights
            .save(tempfile::tempdir().unwrap().path())
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("RNN_0/RNN/MultiRNNCell/Cell1/LSTMCell/W_P_0"),
            "{err}"
        );

        let good = ElmoWeights::random(tiny_options(), 1).unwrap();
        let mut tensors = good.to_tensors().unwrap();
        tensors.remove("CNN_high_1/b_carry");
        let err = ElmoWeights::from_tensors(tiny_options(), tensors).unwrap_err();
        assert!(matches!(err, Error::MissingTensor { ref name } if name == "CNN_high_1/b_carry"));
    }

    #[test]
    fn a_failed_save_leaves_no_partial_files() {
        let mut weights = ElmoWeights::random(tiny_options(), 1).unwrap();
        weights.highway.pop();
        let dir = tempfile::tempdir().unwrap();
        assert!(weights.save(dir.path()).is_err());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
