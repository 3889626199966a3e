//! Hyperparameters: builders with GloVe's defaults, validated once.
//!
//! [`CooccurParams`] configures counting, [`GloveParams`] training. Each
//! builder's `build` checks every field and reports the first bad one as
//! [`Error::InvalidParameter`] naming it; the validated values cannot be
//! changed afterwards.

use std::path::PathBuf;

use embed_core::{Error, Result};
use serde::{Deserialize, Serialize};

/// Bytes in a mebibyte, the unit of the `memory_mb` settings.
pub const MIB: usize = 1 << 20;

/// Words per sentence to read a corpus with when its lines are longer.
///
/// GloVe's `cooccur` reads a corpus as one stream and its window only stops
/// at line ends, while the windows here stop at sentence ends: with
/// sentences of this length and a window of 10, about 0.1% of the pairs of
/// a one-line corpus are lost.
pub const STREAM_SENTENCE_WORDS: usize = 10_000;

/// Counting never spills more often than once per this many target words.
const MIN_WORDS_PER_SPILL: usize = 64;

/// Validated co-occurrence counting parameters.
///
/// ```
/// use embed_glove::CooccurParams;
/// let params = CooccurParams::builder().window(5).memory_mb(64).threads(2).build()?;
/// assert_eq!((params.window(), params.symmetric()), (5, true));
/// assert!(CooccurParams::builder().window(0).build().is_err());
/// # Ok::<(), embed_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CooccurParams {
    window: usize,
    symmetric: bool,
    memory_bytes: usize,
    threads: usize,
    temp_dir: PathBuf,
}

impl CooccurParams {
    /// Starts from GloVe's defaults as this workspace uses them: window 10
    /// (the value of GloVe's demo on text8; `cooccur` itself defaults to 15),
    /// symmetric context, 4 GiB of memory, 1 thread, the system temp dir.
    pub fn builder() -> CooccurParamsBuilder {
        CooccurParamsBuilder {
            params: CooccurParams {
                window: 10,
                symmetric: true,
                memory_bytes: 4096 * MIB,
                threads: 1,
                temp_dir: std::env::temp_dir(),
            },
        }
    }

    /// Words on each side (or on the left only) paired with a word.
    pub fn window(&self) -> usize {
        self.window
    }
    /// Whether right-hand context is counted too.
    pub fn symmetric(&self) -> bool {
        self.symmetric
    }
    /// The memory limit for the counting tables and the finished matrix.
    pub fn memory_bytes(&self) -> usize {
        self.memory_bytes
    }
    /// Counting threads (corpus shards).
    pub fn threads(&self) -> usize {
        self.threads
    }
    /// Where spilled runs (and a matrix too large for memory) are written.
    pub fn temp_dir(&self) -> &std::path::Path {
        &self.temp_dir
    }

    /// The smallest memory limit that lets counting make progress with
    /// `threads` threads: each thread needs a sparse buffer that holds the
    /// pairs of at least 64 words before it must spill.
    pub fn min_memory_bytes(window: usize, symmetric: bool, threads: usize) -> usize {
        let per_word = if symmetric { 2 * window } else { window };
        // Half of each thread's share goes to the sparse buffer.
        2 * threads * MIN_WORDS_PER_SPILL * per_word * 16
    }
}

/// Builder for [`CooccurParams`].
#[derive(Debug, Clone)]
pub struct CooccurParamsBuilder {
    params: CooccurParams,
}

impl CooccurParamsBuilder {
    /// Context window (default 10); must be at least 1.
    pub fn window(mut self, n: usize) -> Self {
        self.params.window = n;
        self
    }
    /// Count both sides (default) or the left side only.
    pub fn symmetric(mut self, yes: bool) -> Self {
        self.params.symmetric = yes;
        self
    }
    /// Memory limit in MiB (default 4096).
    pub fn memory_mb(mut self, mb: usize) -> Self {
        self.params.memory_bytes = mb.saturating_mul(MIB);
        self
    }
    /// Memory limit in bytes (for tests and fine control).
    pub fn memory_bytes(mut self, bytes: usize) -> Self {
        self.params.memory_bytes = bytes;
        self
    }
    /// Counting threads (default 1).
    pub fn threads(mut self, n: usize) -> Self {
        self.params.threads = n;
        self
    }
    /// Directory for temporary files (default: the system's).
    pub fn temp_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.params.temp_dir = dir.into();
        self
    }

    /// Validates the parameters.
    pub fn build(self) -> Result<CooccurParams> {
        let p = self.params;
        if p.window == 0 {
            return Err(Error::invalid_parameter("window", "must be at least 1"));
        }
        if p.window > 10_000 {
            return Err(Error::invalid_parameter(
                "window",
                format!("{} is too large (at most 10000)", p.window),
            ));
        }
        if p.threads == 0 {
            return Err(Error::invalid_parameter("threads", "must be at least 1"));
        }
        let min = CooccurParams::min_memory_bytes(p.window, p.symmetric, p.threads);
        if p.memory_bytes < min {
            return Err(Error::invalid_parameter(
                "memory",
                format!(
                    "{} bytes is too small to make progress with window {} and {} threads (at least {} bytes)",
                    p.memory_bytes, p.window, p.threads, min
                ),
            ));
        }
        Ok(p)
    }
}

/// Which vectors a trained model offers as its embedding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub enum OutputMode {
    /// The word vectors `W` alone.
    W,
    /// `W + W̃`, word plus context vectors (GloVe's default, `-model 2`).
    #[default]
    WPlusContext,
    /// `[W, W̃]` side by side: twice the dimension.
    Concat,
}

/// Validated GloVe training parameters.
///
/// ```
/// use embed_glove::GloveParams;
/// let params = GloveParams::builder().dim(50).x_max(10.0).epochs(5).build()?;
/// assert_eq!((params.dim(), params.alpha(), params.eta()), (50, 0.75, 0.05));
/// assert!(GloveParams::builder().x_max(0.0).build().is_err());
/// # Ok::<(), embed_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GloveParams {
    dim: usize,
    x_max: f64,
    alpha: f64,
    eta: f64,
    grad_clip: f64,
    epochs: usize,
    threads: usize,
    seed: u64,
    memory_bytes: usize,
    output: OutputMode,
}

impl GloveParams {
    /// Starts from the reference tool's defaults: x_max 100, α 0.75,
    /// η 0.05, gradient clip 100, 25 epochs; dimension 100 (GloVe: 50),
    /// 1 thread, seed 1, 4 GiB of memory, output `W + W̃`.
    /// For small corpora (a few million words) x_max 10 works better, as
    /// GloVe's demo uses.
    pub fn builder() -> GloveParamsBuilder {
        GloveParamsBuilder {
            params: GloveParams {
                dim: 100,
                x_max: 100.0,
                alpha: 0.75,
                eta: 0.05,
                grad_clip: 100.0,
                epochs: 25,
                threads: 1,
                seed: embed_core::seed::DEFAULT_SEED,
                memory_bytes: 4096 * MIB,
                output: OutputMode::WPlusContext,
            },
        }
    }
    /// Vector dimension.
    pub fn dim(&self) -> usize {
        self.dim
    }
    /// Count at which the weighting function reaches 1.
    pub fn x_max(&self) -> f64 {
        self.x_max
    }
    /// Exponent of the weighting function `f(x) = min(1, (x/x_max)^α)`.
    pub fn alpha(&self) -> f64 {
        self.alpha
    }
    /// AdaGrad's initial learning rate.
    pub fn eta(&self) -> f64 {
        self.eta
    }
    /// Gradient components are clipped to `[-grad_clip, grad_clip]`.
    pub fn grad_clip(&self) -> f64 {
        self.grad_clip
    }
    /// Passes over the co-occurrence matrix.
    pub fn epochs(&self) -> usize {
        self.epochs
    }
    /// Training threads (Hogwild); 1 with a seed is reproducible bit for bit.
    pub fn threads(&self) -> usize {
        self.threads
    }
    /// Seed for initialisation and shuffling.
    pub fn seed(&self) -> u64 {
        self.seed
    }
    /// Memory limit for the shuffle buffer (plus the matrix when resident).
    pub fn memory_bytes(&self) -> usize {
        self.memory_bytes
    }
    /// The vectors the model embeds with.
    pub fn output(&self) -> OutputMode {
        self.output
    }
}

/// Builder for [`GloveParams`].
#[derive(Debug, Clone)]
pub struct GloveParamsBuilder {
    params: GloveParams,
}

impl GloveParamsBuilder {
    /// Vector dimension (default 100).
    pub fn dim(mut self, n: usize) -> Self {
        self.params.dim = n;
        self
    }
    /// `x_max` of the weighting function (default 100; 10 for small corpora).
    pub fn x_max(mut self, x: f64) -> Self {
        self.params.x_max = x;
        self
    }
    /// `α` of the weighting function (default 0.75).
    pub fn alpha(mut self, a: f64) -> Self {
        self.params.alpha = a;
        self
    }
    /// Initial learning rate (default 0.05).
    pub fn eta(mut self, eta: f64) -> Self {
        self.params.eta = eta;
        self
    }
    /// Gradient clipping bound (default 100).
    pub fn grad_clip(mut self, c: f64) -> Self {
        self.params.grad_clip = c;
        self
    }
    /// Epochs (default 25).
    pub fn epochs(mut self, n: usize) -> Self {
        self.params.epochs = n;
        self
    }
    /// Training threads (default 1).
    pub fn threads(mut self, n: usize) -> Self {
        self.params.threads = n;
        self
    }
    /// Seed (default 1).
    pub fn seed(mut self, seed: u64) -> Self {
        self.params.seed = seed;
        self
    }
    /// Memory limit in MiB (default 4096).
    pub fn memory_mb(mut self, mb: usize) -> Self {
        self.params.memory_bytes = mb.saturating_mul(MIB);
        self
    }
    /// Memory limit in bytes.
    pub fn memory_bytes(mut self, bytes: usize) -> Self {
        self.params.memory_bytes = bytes;
        self
    }
    /// Output vectors (default `W + W̃`).
    pub fn output(mut self, mode: OutputMode) -> Self {
        self.params.output = mode;
        self
    }

    /// Validates the parameters.
    pub fn build(self) -> Result<GloveParams> {
        let p = self.params;
        let positive = |name: &'static str, v: f64| {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                Err(Error::invalid_parameter(
                    name,
                    format!("must be a positive finite number, got {v}"),
                ))
            }
        };
        if p.dim == 0 {
            return Err(Error::invalid_parameter("dim", "must be at least 1"));
        }
        positive("x_max", p.x_max)?;
        positive("alpha", p.alpha)?;
        positive("eta", p.eta)?;
        positive("grad_clip", p.grad_clip)?;
        if p.epochs == 0 {
            return Err(Error::invalid_parameter("epochs", "must be at least 1"));
        }
        if p.threads == 0 {
            return Err(Error::invalid_parameter("threads", "must be at least 1"));
        }
        if p.memory_bytes < crate::train::MIN_TRAINING_MEMORY {
            return Err(Error::invalid_parameter(
                "memory",
                format!(
                    "{} bytes is too small to train (at least {} bytes)",
                    p.memory_bytes,
                    crate::train::MIN_TRAINING_MEMORY
                ),
            ));
        }
        Ok(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(err: Error) -> &'static str {
        match err {
            Error::InvalidParameter { name, .. } => name,
            other => panic!("expected InvalidParameter, got {other}"),
        }
    }

    #[test]
    fn each_bad_counting_field_is_named() {
        let b = CooccurParams::builder;
        assert_eq!(field(b().window(0).build().unwrap_err()), "window");
        assert_eq!(field(b().window(1_000_000).build().unwrap_err()), "window");
        assert_eq!(field(b().threads(0).build().unwrap_err()), "threads");
        assert_eq!(field(b().memory_bytes(100).build().unwrap_err()), "memory");
        let min = CooccurParams::min_memory_bytes(10, true, 2);
        assert!(b().threads(2).memory_bytes(min).build().is_ok());
        assert!(b().threads(2).memory_bytes(min - 1).build().is_err());
    }

    #[test]
    fn each_bad_training_field_is_named() {
        let b = GloveParams::builder;
        assert_eq!(field(b().dim(0).build().unwrap_err()), "dim");
        assert_eq!(field(b().x_max(0.0).build().unwrap_err()), "x_max");
        assert_eq!(field(b().x_max(-1.0).build().unwrap_err()), "x_max");
        assert_eq!(field(b().x_max(f64::NAN).build().unwrap_err()), "x_max");
        assert_eq!(field(b().alpha(0.0).build().unwrap_err()), "alpha");
        assert_eq!(field(b().eta(-0.1).build().unwrap_err()), "eta");
        assert_eq!(field(b().eta(f64::INFINITY).build().unwrap_err()), "eta");
        assert_eq!(field(b().grad_clip(0.0).build().unwrap_err()), "grad_clip");
        assert_eq!(field(b().epochs(0).build().unwrap_err()), "epochs");
        assert_eq!(field(b().threads(0).build().unwrap_err()), "threads");
        assert_eq!(field(b().memory_bytes(10).build().unwrap_err()), "memory");
        let p = b().build().unwrap();
        assert_eq!(
            (p.x_max(), p.alpha(), p.eta(), p.grad_clip()),
            (100.0, 0.75, 0.05, 100.0)
        );
        assert_eq!(p.output(), OutputMode::WPlusContext);
    }
}
