//! The biLM's parameters (named as bilm-tf's datasets), views of them, their
//! gradients, and one direction's forward and backward pass.
//!
//! One direction of one chunk of batch rows runs
//!
//! ```text
//! char-CNN → highway → projection (token layer)
//!   → for each layer: dropout → LSTM (+ the dropped input from the second layer on)
//!   → dropout → softmax
//! ```
//!
//! with rows in time-major order (step `t` of chunk row `b` at `t · rows + b`).

use embed_core::nn::char_cnn::{self, CharCnnCache, CharCnnGrads, CharCnnParams, CharCnnShape};
use embed_core::nn::dropout::Dropout;
use embed_core::nn::highway::{self, HighwayCache, HighwayGrads, HighwayParams};
use embed_core::nn::linear::{linear_backward, linear_forward};
use embed_core::nn::lstm::{self, LstmCache, LstmGrads, LstmParams, LstmShape, LstmState};
use embed_core::nn::sampled_softmax::{
    full_softmax_loss, sampled_softmax_loss, sampled_softmax_loss_rows, LogUniformSampler,
    SampledIds, SoftmaxGrads, SoftmaxLoss, SoftmaxParams, SoftmaxRowGrads,
};
use embed_core::params::{GradientStore, Init, ParameterStore};
use embed_core::{seed, Error, Result};
use ndarray::{Array1, Array2, ArrayView1, ArrayView2, ArrayViewD, Ix1, Ix2, IxDyn};

use super::batch::lstm_shape;
use super::config::{BiLmConfig, CHAR_EMBED_ROWS};
use crate::options::Activation;

/// Parameter names: bilm-tf's dataset paths, so that exporting is a copy.
pub(crate) mod names {
    /// `[261, char_embed_dim]`.
    pub const CHAR_EMBED: &str = "char_embed";
    /// `[filters, projection_dim]`.
    pub const PROJ_WEIGHT: &str = "CNN_proj/W_proj";
    /// `[projection_dim]`.
    pub const PROJ_BIAS: &str = "CNN_proj/b_proj";
    /// `[vocab_size, lstm_proj_dim]`.
    pub const SOFTMAX_WEIGHT: &str = "softmax/W";
    /// `[vocab_size]`.
    pub const SOFTMAX_BIAS: &str = "softmax/b";

    /// `[1, width, char_embed_dim, count]`.
    pub fn cnn_kernel(i: usize) -> String {
        format!("CNN/W_cnn_{i}")
    }

    /// `[count]`.
    pub fn cnn_bias(i: usize) -> String {
        format!("CNN/b_cnn_{i}")
    }

    /// `W_transform`, `b_transform`, `W_carry` or `b_carry` of layer `k`.
    pub fn highway(k: usize, part: &str) -> String {
        format!("CNN_high_{k}/{part}")
    }

    /// `W_0`, `B` or `W_P_0` of one direction's layer.
    pub fn lstm(direction: usize, layer: usize, part: &str) -> String {
        format!("RNN_{direction}/RNN/MultiRNNCell/Cell{layer}/LSTMCell/{part}")
    }
}

/// Fresh parameters as bilm-tf initialises them.
pub(crate) fn init_params(config: &BiLmConfig, seed: u64) -> Result<ParameterStore> {
    let mut store = ParameterStore::new(seed);
    let mut root = store.scope("");
    let dim = config.char_embed_dim;
    let filters = config.n_filters();
    let normal = |fan_in: usize| Init::Normal {
        std: (1.0 / fan_in as f64).sqrt() as f32,
    };
    root.get_or_init(
        names::CHAR_EMBED,
        &[CHAR_EMBED_ROWS, dim],
        Init::Uniform { bound: 1.0 },
    )?;
    for (i, &(width, count)) in config.char_filters.iter().enumerate() {
        let init = match config.activation {
            Activation::Relu => Init::Uniform { bound: 0.05 },
            Activation::Tanh => normal(width * dim),
        };
        root.get_or_init(&names::cnn_kernel(i), &[1, width, dim, count], init)?;
        root.get_or_init(&names::cnn_bias(i), &[count], Init::Zeros)?;
    }
    for k in 0..config.n_highway {
        root.get_or_init(
            &names::highway(k, "W_transform"),
            &[filters, filters],
            normal(filters),
        )?;
        root.get_or_init(&names::highway(k, "b_transform"), &[filters], Init::Zeros)?;
        root.get_or_init(
            &names::highway(k, "W_carry"),
            &[filters, filters],
            normal(filters),
        )?;
        // A carry gate that starts mostly shut passes the convolutions through.
        root.get_or_init(
            &names::highway(k, "b_carry"),
            &[filters],
            Init::Constant(-2.0),
        )?;
    }
    root.get_or_init(
        names::PROJ_WEIGHT,
        &[filters, config.projection_dim],
        normal(filters),
    )?;
    root.get_or_init(names::PROJ_BIAS, &[config.projection_dim], Init::Zeros)?;
    for direction in 0..2 {
        for layer in 0..config.n_layers {
            let shape = lstm_shape(config, layer);
            root.get_or_init(
                &names::lstm(direction, layer, "W_0"),
                &[shape.input_dim + shape.proj_dim, 4 * shape.cell_dim],
                Init::XavierUniform,
            )?;
            root.get_or_init(
                &names::lstm(direction, layer, "B"),
                &[4 * shape.cell_dim],
                Init::Zeros,
            )?;
            root.get_or_init(
                &names::lstm(direction, layer, "W_P_0"),
                &[shape.cell_dim, shape.proj_dim],
                Init::XavierUniform,
            )?;
        }
    }
    root.get_or_init(
        names::SOFTMAX_WEIGHT,
        &[config.vocab_size, config.lstm_proj_dim],
        normal(config.lstm_proj_dim),
    )?;
    root.get_or_init(names::SOFTMAX_BIAS, &[config.vocab_size], Init::Zeros)?;
    Ok(store)
}

fn matrix<'a>(
    store: &'a ParameterStore,
    name: &str,
    shape: [usize; 2],
) -> Result<ArrayView2<'a, f32>> {
    store
        .get_checked(name, &shape)?
        .into_dimensionality::<Ix2>()
        .map_err(|e| Error::InvalidInput(format!("parameter `{name}`: {e}")))
}

fn vector<'a>(store: &'a ParameterStore, name: &str, len: usize) -> Result<ArrayView1<'a, f32>> {
    store
        .get_checked(name, &[len])?
        .into_dimensionality::<Ix1>()
        .map_err(|e| Error::InvalidInput(format!("parameter `{name}`: {e}")))
}

/// Views of every parameter, shaped for the layers.
pub(crate) struct Net<'a> {
    pub cnn_shape: CharCnnShape,
    pub cnn: CharCnnParams<'a>,
    pub highway: Vec<HighwayParams<'a>>,
    pub proj_weight: ArrayView2<'a, f32>,
    pub proj_bias: ArrayView1<'a, f32>,
    pub lstm_shapes: Vec<LstmShape>,
    pub lstm: [Vec<LstmParams<'a>>; 2],
    pub softmax: SoftmaxParams<'a>,
}

impl<'a> Net<'a> {
    /// Views into `store`, every shape checked against `config`.
    pub fn new(config: &BiLmConfig, store: &'a ParameterStore) -> Result<Self> {
        let dim = config.char_embed_dim;
        let filters = config.n_filters();
        let mut kernels = Vec::with_capacity(config.char_filters.len());
        let mut biases = Vec::with_capacity(config.char_filters.len());
        for (i, &(width, count)) in config.char_filters.iter().enumerate() {
            let name = names::cnn_kernel(i);
            let kernel = store
                .get_checked(&name, &[1, width, dim, count])?
                .into_shape_with_order((width * dim, count))
                .map_err(|e| Error::InvalidInput(format!("parameter `{name}`: {e}")))?;
            kernels.push(kernel);
            biases.push(vector(store, &names::cnn_bias(i), count)?);
        }
        let highway = (0..config.n_highway)
            .map(|k| {
                Ok(HighwayParams {
                    transform_weight: matrix(
                        store,
                        &names::highway(k, "W_transform"),
                        [filters, filters],
                    )?,
                    transform_bias: vector(store, &names::highway(k, "b_transform"), filters)?,
                    carry_weight: matrix(store, &names::highway(k, "W_carry"), [filters, filters])?,
                    carry_bias: vector(store, &names::highway(k, "b_carry"), filters)?,
                })
            })
            .collect::<Result<_>>()?;
        let lstm_shapes: Vec<LstmShape> = (0..config.n_layers)
            .map(|l| lstm_shape(config, l))
            .collect();
        let direction = |d: usize| -> Result<Vec<LstmParams<'a>>> {
            lstm_shapes
                .iter()
                .enumerate()
                .map(|(l, shape)| {
                    Ok(LstmParams {
                        weight: matrix(
                            store,
                            &names::lstm(d, l, "W_0"),
                            [shape.input_dim + shape.proj_dim, 4 * shape.cell_dim],
                        )?,
                        bias: vector(store, &names::lstm(d, l, "B"), 4 * shape.cell_dim)?,
                        projection: matrix(
                            store,
                            &names::lstm(d, l, "W_P_0"),
                            [shape.cell_dim, shape.proj_dim],
                        )?,
                    })
                })
                .collect()
        };
        let lstm = [direction(0)?, direction(1)?];
        Ok(Net {
            cnn_shape: CharCnnShape {
                max_chars: config.max_chars,
                char_dim: dim,
                filters: config.char_filters.clone(),
                activation: match config.activation {
                    Activation::Relu => char_cnn::Activation::Relu,
                    Activation::Tanh => char_cnn::Activation::Tanh,
                },
            },
            cnn: CharCnnParams {
                embedding: matrix(store, names::CHAR_EMBED, [CHAR_EMBED_ROWS, dim])?,
                kernels,
                biases,
            },
            highway,
            proj_weight: matrix(store, names::PROJ_WEIGHT, [filters, config.projection_dim])?,
            proj_bias: vector(store, names::PROJ_BIAS, config.projection_dim)?,
            lstm_shapes,
            lstm,
            softmax: SoftmaxParams {
                weight: matrix(
                    store,
                    names::SOFTMAX_WEIGHT,
                    [config.vocab_size, config.lstm_proj_dim],
                )?,
                bias: vector(store, names::SOFTMAX_BIAS, config.vocab_size)?,
            },
        })
    }
}

/// One highway layer's gradients.
pub(crate) struct HighwayGradArrays {
    transform_weight: Array2<f32>,
    transform_bias: Array1<f32>,
    carry_weight: Array2<f32>,
    carry_bias: Array1<f32>,
}

/// One LSTM layer's gradients.
pub(crate) struct LstmGradArrays {
    weight: Array2<f32>,
    bias: Array1<f32>,
    projection: Array2<f32>,
}

/// The softmax layer's gradient: dense for the full softmax, the touched
/// rows for the sampled one (a large vocabulary's gradient is mostly zeros).
pub(crate) enum SoftmaxGradient {
    Dense {
        weight: Array2<f32>,
        bias: Array1<f32>,
    },
    Rows(Vec<SoftmaxRowGrads>),
}

/// Gradients of every parameter, shaped like [`Net`].
pub(crate) struct NetGrads {
    char_embed: Array2<f32>,
    kernels: Vec<Array2<f32>>,
    cnn_biases: Vec<Array1<f32>>,
    highway: Vec<HighwayGradArrays>,
    proj_weight: Array2<f32>,
    proj_bias: Array1<f32>,
    lstm: [Vec<LstmGradArrays>; 2],
    softmax: SoftmaxGradient,
}

impl NetGrads {
    /// Zero gradients for `net`; the softmax's as rows when `sparse_softmax`.
    pub fn zeros(net: &Net<'_>, sparse_softmax: bool) -> Self {
        let lstm = |d: usize| {
            net.lstm[d]
                .iter()
                .map(|p| LstmGradArrays {
                    weight: Array2::zeros(p.weight.raw_dim()),
                    bias: Array1::zeros(p.bias.raw_dim()),
                    projection: Array2::zeros(p.projection.raw_dim()),
                })
                .collect()
        };
        NetGrads {
            char_embed: Array2::zeros(net.cnn.embedding.raw_dim()),
            kernels: net
                .cnn
                .kernels
                .iter()
                .map(|k| Array2::zeros(k.raw_dim()))
                .collect(),
            cnn_biases: net
                .cnn
                .biases
                .iter()
                .map(|b| Array1::zeros(b.raw_dim()))
                .collect(),
            highway: net
                .highway
                .iter()
                .map(|h| HighwayGradArrays {
                    transform_weight: Array2::zeros(h.transform_weight.raw_dim()),
                    transform_bias: Array1::zeros(h.transform_bias.raw_dim()),
                    carry_weight: Array2::zeros(h.carry_weight.raw_dim()),
                    carry_bias: Array1::zeros(h.carry_bias.raw_dim()),
                })
                .collect(),
            proj_weight: Array2::zeros(net.proj_weight.raw_dim()),
            proj_bias: Array1::zeros(net.proj_bias.raw_dim()),
            lstm: [lstm(0), lstm(1)],
            softmax: if sparse_softmax {
                SoftmaxGradient::Rows(Vec::new())
            } else {
                SoftmaxGradient::Dense {
                    weight: Array2::zeros(net.softmax.weight.raw_dim()),
                    bias: Array1::zeros(net.softmax.bias.raw_dim()),
                }
            },
        }
    }

    /// Every gradient with its parameter's name and shape.
    fn named(&self, config: &BiLmConfig) -> Result<Vec<(String, ArrayViewD<'_, f32>)>> {
        let mut out: Vec<(String, ArrayViewD<'_, f32>)> = Vec::new();
        out.push((names::CHAR_EMBED.into(), self.char_embed.view().into_dyn()));
        for (i, (&(width, count), kernel)) in
            config.char_filters.iter().zip(&self.kernels).enumerate()
        {
            let name = names::cnn_kernel(i);
            let view = kernel
                .view()
                .into_shape_with_order(IxDyn(&[1, width, config.char_embed_dim, count]))
                .map_err(|e| Error::InvalidInput(format!("gradient `{name}`: {e}")))?;
            out.push((name, view));
            out.push((names::cnn_bias(i), self.cnn_biases[i].view().into_dyn()));
        }
        for (k, h) in self.highway.iter().enumerate() {
            out.push((
                names::highway(k, "W_transform"),
                h.transform_weight.view().into_dyn(),
            ));
            out.push((
                names::highway(k, "b_transform"),
                h.transform_bias.view().into_dyn(),
            ));
            out.push((
                names::highway(k, "W_carry"),
                h.carry_weight.view().into_dyn(),
            ));
            out.push((names::highway(k, "b_carry"), h.carry_bias.view().into_dyn()));
        }
        out.push((
            names::PROJ_WEIGHT.into(),
            self.proj_weight.view().into_dyn(),
        ));
        out.push((names::PROJ_BIAS.into(), self.proj_bias.view().into_dyn()));
        for (d, layers) in self.lstm.iter().enumerate() {
            for (l, g) in layers.iter().enumerate() {
                out.push((names::lstm(d, l, "W_0"), g.weight.view().into_dyn()));
                out.push((names::lstm(d, l, "B"), g.bias.view().into_dyn()));
                out.push((names::lstm(d, l, "W_P_0"), g.projection.view().into_dyn()));
            }
        }
        if let SoftmaxGradient::Dense { weight, bias } = &self.softmax {
            out.push((names::SOFTMAX_WEIGHT.into(), weight.view().into_dyn()));
            out.push((names::SOFTMAX_BIAS.into(), bias.view().into_dyn()));
        }
        Ok(out)
    }

    /// Adds every gradient to `store` under its parameter's name.
    pub fn accumulate_into(&self, config: &BiLmConfig, store: &mut GradientStore) -> Result<()> {
        for (name, grad) in self.named(config)? {
            store.accumulate(&name, grad)?;
        }
        if let SoftmaxGradient::Rows(rows) = &self.softmax {
            let shapes = [
                (
                    names::SOFTMAX_WEIGHT,
                    vec![config.vocab_size, config.lstm_proj_dim],
                ),
                (names::SOFTMAX_BIAS, vec![config.vocab_size]),
            ];
            for (name, shape) in &shapes {
                if store.get(name).is_none() {
                    store.accumulate(name, ndarray::ArrayD::zeros(IxDyn(shape)).view())?;
                }
            }
            let mut weight = store
                .get_mut(names::SOFTMAX_WEIGHT)
                .map(|w| w.view_mut().into_dimensionality::<Ix2>())
                .transpose()
                .map_err(|e| Error::InvalidInput(format!("gradient `softmax/W`: {e}")))?
                .ok_or_else(|| Error::MissingTensor {
                    name: names::SOFTMAX_WEIGHT.into(),
                })?;
            let mut bias = Array1::<f32>::zeros(config.vocab_size);
            for part in rows {
                part.add_to(&mut SoftmaxGrads {
                    weight: weight.view_mut(),
                    bias: bias.view_mut(),
                })?;
            }
            store.accumulate(names::SOFTMAX_BIAS, bias.view().into_dyn())?;
        }
        Ok(())
    }

    /// Adds `other` (a gradient of the same network) to these.
    pub fn add(&mut self, other: &NetGrads) -> Result<()> {
        self.char_embed += &other.char_embed;
        for (a, b) in self.kernels.iter_mut().zip(&other.kernels) {
            *a += b;
        }
        for (a, b) in self.cnn_biases.iter_mut().zip(&other.cnn_biases) {
            *a += b;
        }
        for (a, b) in self.highway.iter_mut().zip(&other.highway) {
            a.transform_weight += &b.transform_weight;
            a.transform_bias += &b.transform_bias;
            a.carry_weight += &b.carry_weight;
            a.carry_bias += &b.carry_bias;
        }
        self.proj_weight += &other.proj_weight;
        self.proj_bias += &other.proj_bias;
        for (da, db) in self.lstm.iter_mut().zip(&other.lstm) {
            for (a, b) in da.iter_mut().zip(db) {
                a.weight += &b.weight;
                a.bias += &b.bias;
                a.projection += &b.projection;
            }
        }
        match (&mut self.softmax, &other.softmax) {
            (
                SoftmaxGradient::Dense { weight, bias },
                SoftmaxGradient::Dense { weight: w, bias: b },
            ) => {
                *weight += w;
                *bias += b;
            }
            (SoftmaxGradient::Rows(rows), SoftmaxGradient::Rows(other)) => {
                rows.extend(other.iter().cloned());
            }
            (SoftmaxGradient::Rows(rows), SoftmaxGradient::Dense { weight, bias }) => {
                rows.push(SoftmaxRowGrads {
                    rows: (0..weight.nrows() as u32).collect(),
                    weight: weight.clone(),
                    bias: bias.to_vec(),
                });
            }
            (SoftmaxGradient::Dense { weight, bias }, SoftmaxGradient::Rows(rows)) => {
                for part in rows {
                    part.add_to(&mut SoftmaxGrads {
                        weight: weight.view_mut(),
                        bias: bias.view_mut(),
                    })?;
                }
            }
        }
        Ok(())
    }
}

/// One chunk of rows of one direction's stream, time-major.
pub(crate) struct ChunkStream {
    /// `[steps · rows · 50]`.
    pub ids: Vec<u16>,
    /// `[steps · rows]`.
    pub targets: Vec<u32>,
    /// `[steps · rows]`: the loss weight of each target (0 = not counted).
    pub weights: Vec<f32>,
    /// The batch row of the chunk's first row (for dropout streams).
    pub first_row: usize,
    /// Rows in the chunk.
    pub rows: usize,
    /// Steps.
    pub steps: usize,
}

/// Dropout of one forward pass: the probability and the seed its masks
/// derive from.
#[derive(Clone, Copy)]
pub(crate) struct DropoutPlan {
    pub dropout: Dropout,
    pub seed: u64,
    pub direction: usize,
}

impl DropoutPlan {
    /// The mask of dropout site `site` (0..n_layers: layer inputs; n_layers:
    /// the top output) for `stream`'s rows, `[steps · rows, width]`
    /// time-major. Each batch row has its own generator, so the masks do not
    /// depend on how rows are split into chunks.
    fn mask(&self, site: usize, stream: &ChunkStream, width: usize) -> Vec<f32> {
        let mut mask = vec![0.0f32; stream.steps * stream.rows * width];
        for r in 0..stream.rows {
            let row = (stream.first_row + r) as u64;
            let id = ((self.direction as u64 * 1024 + site as u64) << 40) | row;
            let mut rng = seed::rng(self.seed, id);
            for t in 0..stream.steps {
                let at = (t * stream.rows + r) * width;
                self.dropout.fill_mask(&mut rng, &mut mask[at..at + width]);
            }
        }
        mask
    }
}

fn apply_mask(x: &mut Array2<f32>, mask: &[f32]) {
    if mask.is_empty() {
        return;
    }
    let values = x.as_slice_mut().expect("owned standard-layout array");
    values.iter_mut().zip(mask).for_each(|(v, m)| *v *= m);
}

/// One LSTM layer's forward pass.
pub(crate) struct LayerForward {
    input_mask: Vec<f32>,
    lstm: LstmCache,
    /// The layer's output (residual included).
    pub output: Array2<f32>,
}

/// Everything one direction's forward pass keeps.
pub(crate) struct DirectionForward {
    cnn: CharCnnCache,
    highway: Vec<HighwayCache>,
    highway_out: Array2<f32>,
    /// The token layer, `[steps · rows, projection_dim]`.
    pub tokens: Array2<f32>,
    /// The LSTM layers, first to last.
    pub layers: Vec<LayerForward>,
    top_mask: Vec<f32>,
    /// The top layer's output after dropout: the softmax input.
    pub top: Array2<f32>,
}

impl DirectionForward {
    /// Each layer's final state, for the next window.
    pub fn final_states(&self) -> Vec<LstmState> {
        self.layers.iter().map(|l| l.lstm.final_state()).collect()
    }
}

/// Runs one direction of one chunk forward from `initial` (one state per
/// layer, `stream.rows` rows each).
pub(crate) fn forward_direction(
    net: &Net<'_>,
    config: &BiLmConfig,
    direction: usize,
    stream: &ChunkStream,
    initial: Vec<LstmState>,
    dropout: Option<DropoutPlan>,
) -> Result<DirectionForward> {
    let dropout = dropout.filter(|d| d.dropout.is_active());
    let cnn = char_cnn::forward(&net.cnn_shape, &net.cnn, &stream.ids)?;
    let mut highway_caches = Vec::with_capacity(net.highway.len());
    let mut x = cnn.outputs().to_owned();
    for params in &net.highway {
        let mut cache = highway::forward(params, x.view())?;
        x = cache.take_outputs();
        highway_caches.push(cache);
    }
    let mut tokens = Array2::zeros((x.nrows(), config.projection_dim));
    linear_forward(
        x.view(),
        net.proj_weight.t(),
        Some(net.proj_bias),
        tokens.view_mut(),
        false,
    );
    let mut layers = Vec::with_capacity(config.n_layers);
    let mut input = tokens.clone();
    for (l, (shape, params)) in net.lstm_shapes.iter().zip(&net.lstm[direction]).enumerate() {
        let input_mask = match dropout {
            Some(plan) => plan.mask(l, stream, shape.input_dim),
            None => Vec::new(),
        };
        apply_mask(&mut input, &input_mask);
        let state = initial[l].clone();
        let cache = lstm::forward(shape, params, input.view(), state)?;
        let mut output = cache.outputs().to_owned();
        if config.use_skip_connections && l > 0 {
            output += &input;
        }
        input = output.clone();
        layers.push(LayerForward {
            input_mask,
            lstm: cache,
            output,
        });
    }
    let top_mask = match dropout {
        Some(plan) => plan.mask(config.n_layers, stream, config.lstm_proj_dim),
        None => Vec::new(),
    };
    apply_mask(&mut input, &top_mask);
    Ok(DirectionForward {
        cnn,
        highway: highway_caches,
        highway_out: x,
        tokens,
        layers,
        top_mask,
        top: input,
    })
}

/// The softmax a window is scored with.
pub(crate) enum Scoring<'s> {
    Full,
    Sampled {
        sampler: &'s LogUniformSampler,
        sample: &'s SampledIds,
    },
}

/// The loss of one direction's top outputs; with `grads`, the softmax
/// gradients are added and the gradient of the top output returned.
pub(crate) fn direction_loss(
    net: &Net<'_>,
    forward: &DirectionForward,
    stream: &ChunkStream,
    scoring: &Scoring<'_>,
    grads: Option<&mut NetGrads>,
) -> Result<SoftmaxLoss> {
    match scoring {
        Scoring::Full => {
            let mut softmax_grads = match grads {
                Some(NetGrads {
                    softmax: SoftmaxGradient::Dense { weight, bias },
                    ..
                }) => Some(SoftmaxGrads {
                    weight: weight.view_mut(),
                    bias: bias.view_mut(),
                }),
                Some(_) => {
                    return Err(Error::InvalidInput(
                        "the full softmax needs a dense gradient".into(),
                    ))
                }
                None => None,
            };
            full_softmax_loss(
                &net.softmax,
                forward.top.view(),
                &stream.targets,
                &stream.weights,
                softmax_grads.as_mut(),
            )
        }
        Scoring::Sampled { sampler, sample } => match grads {
            Some(g) => {
                let (loss, rows) = sampled_softmax_loss_rows(
                    &net.softmax,
                    forward.top.view(),
                    &stream.targets,
                    &stream.weights,
                    sampler,
                    sample,
                )?;
                match &mut g.softmax {
                    SoftmaxGradient::Rows(parts) => parts.push(rows),
                    SoftmaxGradient::Dense { weight, bias } => rows.add_to(&mut SoftmaxGrads {
                        weight: weight.view_mut(),
                        bias: bias.view_mut(),
                    })?,
                }
                Ok(loss)
            }
            None => sampled_softmax_loss(
                &net.softmax,
                forward.top.view(),
                &stream.targets,
                &stream.weights,
                sampler,
                sample,
                None,
            ),
        },
    }
}

/// Back-propagates `d_top` (the gradient of the softmax input) through one
/// direction, adding every parameter's gradient to `grads`.
pub(crate) fn backward_direction(
    net: &Net<'_>,
    config: &BiLmConfig,
    direction: usize,
    forward: &DirectionForward,
    mut d_top: Array2<f32>,
    grads: &mut NetGrads,
) -> Result<()> {
    apply_mask(&mut d_top, &forward.top_mask);
    let mut d_output = d_top;
    for (l, ((shape, params), layer)) in net
        .lstm_shapes
        .iter()
        .zip(&net.lstm[direction])
        .zip(&forward.layers)
        .enumerate()
        .rev()
    {
        let g = &mut grads.lstm[direction][l];
        let mut layer_grads = LstmGrads {
            weight: g.weight.view_mut(),
            bias: g.bias.view_mut(),
            projection: g.projection.view_mut(),
        };
        let mut d_input = lstm::backward(
            shape,
            params,
            &layer.lstm,
            d_output.view(),
            &mut layer_grads,
        )?;
        if config.use_skip_connections && l > 0 {
            d_input += &d_output;
        }
        apply_mask(&mut d_input, &layer.input_mask);
        d_output = d_input;
    }
    // d_output is now the gradient of the token layer.
    let mut d_x = Array2::zeros(forward.highway_out.raw_dim());
    linear_backward(
        forward.highway_out.view(),
        net.proj_weight.t(),
        d_output.view(),
        Some(d_x.view_mut()),
        false,
        grads.proj_weight.view_mut().reversed_axes(),
        Some(grads.proj_bias.view_mut()),
    );
    for ((params, cache), g) in net
        .highway
        .iter()
        .zip(&forward.highway)
        .zip(&mut grads.highway)
        .rev()
    {
        let mut layer_grads = HighwayGrads {
            transform_weight: g.transform_weight.view_mut(),
            transform_bias: g.transform_bias.view_mut(),
            carry_weight: g.carry_weight.view_mut(),
            carry_bias: g.carry_bias.view_mut(),
        };
        d_x = highway::backward(params, cache, d_x.view(), &mut layer_grads)?;
    }
    let mut cnn_grads = CharCnnGrads {
        embedding: grads.char_embed.view_mut(),
        kernels: grads.kernels.iter_mut().map(|k| k.view_mut()).collect(),
        biases: grads.cnn_biases.iter_mut().map(|b| b.view_mut()).collect(),
    };
    char_cnn::backward(
        &net.cnn_shape,
        &net.cnn,
        &forward.cnn,
        d_x.view(),
        &mut cnn_grads,
    )
}
