//! Hyperparameters: a builder with word2vec C's defaults, validated once
//! into [`ValidWord2VecParams`] before any training starts.

use embed_core::{Error, Result};
use serde::{Deserialize, Serialize};

/// Which word predicts which.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Architecture {
    /// Each context word predicts the centre word (word2vec C `-cbow 0`).
    SkipGram,
    /// The combined context predicts the centre word (word2vec C `-cbow 1`,
    /// its default).
    #[default]
    Cbow,
}

/// How CBOW combines the context vectors into its hidden layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum CbowContext {
    /// The mean of the context vectors (word2vec C, gensim `cbow_mean=1`).
    #[default]
    Mean,
    /// The sum of the context vectors (gensim `cbow_mean=0`).
    Sum,
}

/// The output layer and its loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Loss {
    /// Negative sampling with `negative` noise words drawn from unigram^0.75.
    #[default]
    NegativeSampling,
    /// Hierarchical softmax over a Huffman tree of the vocabulary.
    HierarchicalSoftmax,
    /// Both output layers trained side by side, as word2vec C does with
    /// `-hs 1 -negative N`.
    Both,
}

impl Loss {
    /// Whether the negative-sampling output layer is trained.
    pub fn uses_negative_sampling(self) -> bool {
        matches!(self, Loss::NegativeSampling | Loss::Both)
    }

    /// Whether the hierarchical-softmax output layer is trained.
    pub fn uses_hierarchical_softmax(self) -> bool {
        matches!(self, Loss::HierarchicalSoftmax | Loss::Both)
    }
}

/// How the logistic function is evaluated in the inner loop.
///
/// Both clip at |x| ≥ 6 exactly as word2vec C does; they differ only inside
/// that range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum SigmoidMode {
    /// A 1000-entry table over [-6, 6] (word2vec C's `expTable`).
    #[default]
    Table,
    /// `1 / (1 + exp(-x))` computed every time.
    Exact,
}

/// Parses the short names of the command line (`sg`, `cbow`) and the long
/// ones (`skip-gram`).
///
/// ```
/// use embed_word2vec::Architecture;
/// assert_eq!("sg".parse::<Architecture>().unwrap(), Architecture::SkipGram);
/// assert_eq!(Architecture::Cbow.to_string(), "cbow");
/// assert!("glove".parse::<Architecture>().is_err());
/// ```
impl std::str::FromStr for Architecture {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "sg" | "skip-gram" | "skipgram" => Ok(Architecture::SkipGram),
            "cbow" => Ok(Architecture::Cbow),
            _ => Err(Error::invalid_parameter(
                "model",
                format!("`{s}` is not a word2vec architecture (sg or cbow)"),
            )),
        }
    }
}

impl std::fmt::Display for Architecture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Architecture::SkipGram => "sg",
            Architecture::Cbow => "cbow",
        })
    }
}

/// Parses `ns`, `hs` and `both` (and the long names `negative-sampling`,
/// `hierarchical-softmax`).
///
/// ```
/// use embed_word2vec::Loss;
/// assert_eq!("hs".parse::<Loss>().unwrap(), Loss::HierarchicalSoftmax);
/// assert_eq!(Loss::NegativeSampling.to_string(), "ns");
/// ```
impl std::str::FromStr for Loss {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "ns" | "negative-sampling" => Ok(Loss::NegativeSampling),
            "hs" | "hierarchical-softmax" => Ok(Loss::HierarchicalSoftmax),
            "both" => Ok(Loss::Both),
            _ => Err(Error::invalid_parameter(
                "loss",
                format!("`{s}` is not a word2vec loss (ns, hs or both)"),
            )),
        }
    }
}

impl std::fmt::Display for Loss {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Loss::NegativeSampling => "ns",
            Loss::HierarchicalSoftmax => "hs",
            Loss::Both => "both",
        })
    }
}

/// Parses `mean` and `sum`.
impl std::str::FromStr for CbowContext {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "mean" => Ok(CbowContext::Mean),
            "sum" => Ok(CbowContext::Sum),
            _ => Err(Error::invalid_parameter(
                "cbow_context",
                format!("`{s}` is not a CBOW context combination (mean or sum)"),
            )),
        }
    }
}

/// Parses `table` and `exact`.
impl std::str::FromStr for SigmoidMode {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "table" => Ok(SigmoidMode::Table),
            "exact" => Ok(SigmoidMode::Exact),
            _ => Err(Error::invalid_parameter(
                "sigmoid",
                format!("`{s}` is not a sigmoid mode (table or exact)"),
            )),
        }
    }
}

/// Hyperparameters as given by a user; defaults are word2vec C's.
///
/// Fields left `None` are derived at validation: `alpha` is 0.025 for
/// skip-gram and 0.05 for CBOW, `min_alpha` is `alpha · 1e-4`, `threads`
/// is the number of available cores.
///
/// ```
/// use embed_word2vec::{Architecture, Word2VecParams};
/// let params = Word2VecParams::builder()
///     .architecture(Architecture::SkipGram)
///     .dim(50)
///     .epochs(1)
///     .build()
///     .unwrap();
/// assert_eq!(params.alpha(), 0.025);
/// assert_eq!(params.window(), 5);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Word2VecParams {
    /// Skip-gram or CBOW.
    pub architecture: Architecture,
    /// How CBOW combines its context.
    pub cbow_context: CbowContext,
    /// Negative sampling, hierarchical softmax or both.
    pub loss: Loss,
    /// Length of the word vectors.
    pub dim: usize,
    /// Largest distance between the centre word and a context word; each
    /// position draws a window uniformly from 1..=window.
    pub window: usize,
    /// Noise words per prediction under negative sampling.
    pub negative: usize,
    /// Words seen fewer times are dropped from the vocabulary.
    pub min_count: u64,
    /// Keep at most this many of the most frequent words.
    pub max_vocab: Option<usize>,
    /// Subsampling threshold for frequent words; 0 turns subsampling off.
    pub sample: f64,
    /// Starting learning rate.
    pub alpha: Option<f32>,
    /// Final learning rate, reached after the last epoch's last word.
    pub min_alpha: Option<f32>,
    /// Passes over the corpus.
    pub epochs: usize,
    /// Training threads.
    pub threads: Option<usize>,
    /// Seed of every random choice (initial vectors, windows, subsampling, noise).
    pub seed: u64,
    /// Table or exact logistic function.
    pub sigmoid: SigmoidMode,
}

impl Default for Word2VecParams {
    fn default() -> Self {
        Word2VecParams {
            architecture: Architecture::default(),
            cbow_context: CbowContext::default(),
            loss: Loss::default(),
            dim: 100,
            window: 5,
            negative: 5,
            min_count: 5,
            max_vocab: None,
            sample: 1e-3,
            alpha: None,
            min_alpha: None,
            epochs: 5,
            threads: None,
            seed: embed_core::seed::DEFAULT_SEED,
            sigmoid: SigmoidMode::default(),
        }
    }
}

/// Chained setters over [`Word2VecParams`]; [`Word2VecParamsBuilder::build`] validates.
#[derive(Debug, Clone, Default)]
pub struct Word2VecParamsBuilder {
    params: Word2VecParams,
}

macro_rules! setters {
    ($($(#[$doc:meta])* $name:ident: $ty:ty => $wrap:expr;)*) => {
        impl Word2VecParamsBuilder {
            $(
                $(#[$doc])*
                pub fn $name(mut self, value: $ty) -> Self {
                    self.params.$name = $wrap(value);
                    self
                }
            )*
        }
    };
}

setters! {
    /// Skip-gram or CBOW.
    architecture: Architecture => |v| v;
    /// CBOW's context combination.
    cbow_context: CbowContext => |v| v;
    /// The output layer(s).
    loss: Loss => |v| v;
    /// Vector length.
    dim: usize => |v| v;
    /// Maximum window.
    window: usize => |v| v;
    /// Noise words per prediction.
    negative: usize => |v| v;
    /// Minimum word count.
    min_count: u64 => |v| v;
    /// Largest vocabulary.
    max_vocab: usize => Some;
    /// Subsampling threshold.
    sample: f64 => |v| v;
    /// Starting learning rate.
    alpha: f32 => Some;
    /// Final learning rate.
    min_alpha: f32 => Some;
    /// Passes over the corpus.
    epochs: usize => |v| v;
    /// Training threads.
    threads: usize => Some;
    /// Random seed.
    seed: u64 => |v| v;
    /// Logistic function evaluation.
    sigmoid: SigmoidMode => |v| v;
}

impl Word2VecParamsBuilder {
    /// Validates the parameters; see [`Word2VecParams::validate`].
    pub fn build(self) -> Result<ValidWord2VecParams> {
        self.params.validate()
    }
}

impl Word2VecParams {
    /// A builder starting from word2vec C's defaults.
    pub fn builder() -> Word2VecParamsBuilder {
        Word2VecParamsBuilder::default()
    }

    /// Checks every field and fills in the derived defaults. The first bad
    /// field is reported as [`Error::InvalidParameter`] naming it.
    ///
    /// ```
    /// use embed_word2vec::Word2VecParams;
    /// let err = Word2VecParams { dim: 0, ..Default::default() }.validate().unwrap_err();
    /// assert!(err.to_string().contains("`dim`"));
    /// ```
    pub fn validate(self) -> Result<ValidWord2VecParams> {
        let p = self;
        if p.dim == 0 {
            return Err(Error::invalid_parameter("dim", "must be at least 1"));
        }
        if p.dim > 1 << 20 {
            return Err(Error::invalid_parameter("dim", "must be at most 1048576"));
        }
        if p.window == 0 {
            return Err(Error::invalid_parameter("window", "must be at least 1"));
        }
        if p.min_count == 0 {
            return Err(Error::invalid_parameter("min_count", "must be at least 1"));
        }
        if p.epochs == 0 {
            return Err(Error::invalid_parameter("epochs", "must be at least 1"));
        }
        if p.loss.uses_negative_sampling() && p.negative == 0 {
            return Err(Error::invalid_parameter(
                "negative",
                "must be at least 1 with negative-sampling loss (use hierarchical softmax to train without noise words)",
            ));
        }
        if !(p.sample >= 0.0 && p.sample.is_finite()) {
            return Err(Error::invalid_parameter(
                "sample",
                format!("must be a finite number ≥ 0, got {}", p.sample),
            ));
        }
        let alpha = p.alpha.unwrap_or(match p.architecture {
            Architecture::SkipGram => 0.025,
            Architecture::Cbow => 0.05,
        });
        if !(alpha > 0.0 && alpha.is_finite()) {
            return Err(Error::invalid_parameter(
                "alpha",
                format!("must be a finite number > 0, got {alpha}"),
            ));
        }
        let min_alpha = p.min_alpha.unwrap_or(alpha * 1e-4);
        if !(min_alpha >= 0.0 && min_alpha <= alpha) {
            return Err(Error::invalid_parameter(
                "min_alpha",
                format!("must lie in [0, alpha = {alpha}], got {min_alpha}"),
            ));
        }
        if p.max_vocab == Some(0) {
            return Err(Error::invalid_parameter("max_vocab", "must be at least 1"));
        }
        let threads = match p.threads {
            Some(0) => return Err(Error::invalid_parameter("threads", "must be at least 1")),
            Some(n) => n,
            None => embed_core::available_threads(),
        };
        Ok(ValidWord2VecParams(Word2VecParams {
            alpha: Some(alpha),
            min_alpha: Some(min_alpha),
            threads: Some(threads),
            ..p
        }))
    }
}

/// Parameters that passed [`Word2VecParams::validate`], with every derived
/// default filled in. Training accepts only this type.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct ValidWord2VecParams(Word2VecParams);

impl<'de> Deserialize<'de> for ValidWord2VecParams {
    /// Deserialising validates again, so a model file cannot smuggle in
    /// parameters that would fail validation.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Word2VecParams::deserialize(d)?
            .validate()
            .map_err(serde::de::Error::custom)
    }
}

impl ValidWord2VecParams {
    /// The parameters as given, with derived defaults filled in.
    pub fn params(&self) -> &Word2VecParams {
        &self.0
    }
    /// Skip-gram or CBOW.
    pub fn architecture(&self) -> Architecture {
        self.0.architecture
    }
    /// CBOW's context combination.
    pub fn cbow_context(&self) -> CbowContext {
        self.0.cbow_context
    }
    /// The output layer(s).
    pub fn loss(&self) -> Loss {
        self.0.loss
    }
    /// Vector length.
    pub fn dim(&self) -> usize {
        self.0.dim
    }
    /// Maximum window.
    pub fn window(&self) -> usize {
        self.0.window
    }
    /// Noise words per prediction (0 when negative sampling is off).
    pub fn negative(&self) -> usize {
        if self.0.loss.uses_negative_sampling() {
            self.0.negative
        } else {
            0
        }
    }
    /// Minimum word count.
    pub fn min_count(&self) -> u64 {
        self.0.min_count
    }
    /// Largest vocabulary, if limited.
    pub fn max_vocab(&self) -> Option<usize> {
        self.0.max_vocab
    }
    /// Subsampling threshold.
    pub fn sample(&self) -> f64 {
        self.0.sample
    }
    /// Starting learning rate.
    pub fn alpha(&self) -> f32 {
        self.0.alpha.unwrap_or_default()
    }
    /// Final learning rate.
    pub fn min_alpha(&self) -> f32 {
        self.0.min_alpha.unwrap_or_default()
    }
    /// Passes over the corpus.
    pub fn epochs(&self) -> usize {
        self.0.epochs
    }
    /// Training threads.
    pub fn threads(&self) -> usize {
        self.0.threads.unwrap_or(1)
    }
    /// Random seed.
    pub fn seed(&self) -> u64 {
        self.0.seed
    }
    /// Logistic function evaluation.
    pub fn sigmoid(&self) -> SigmoidMode {
        self.0.sigmoid
    }

    /// The same parameters with another number of epochs (for continued
    /// training), validated again.
    pub fn with_epochs(&self, epochs: usize) -> Result<ValidWord2VecParams> {
        Word2VecParams {
            epochs,
            ..self.0.clone()
        }
        .validate()
    }

    /// The same parameters with another number of threads, validated again.
    pub fn with_threads(&self, threads: usize) -> Result<ValidWord2VecParams> {
        Word2VecParams {
            threads: Some(threads),
            ..self.0.clone()
        }
        .validate()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rejected(p: Word2VecParams) -> &'static str {
        match p.validate() {
            Err(Error::InvalidParameter { name, .. }) => name,
            other => panic!("expected an invalid parameter, got {other:?}"),
        }
    }

    #[test]
    fn defaults_are_word2vec_c_defaults() {
        let p = Word2VecParams::builder().threads(2).build().unwrap();
        assert_eq!(p.architecture(), Architecture::Cbow);
        assert_eq!(p.dim(), 100);
        assert_eq!(p.window(), 5);
        assert_eq!(p.negative(), 5);
        assert_eq!(p.min_count(), 5);
        assert_eq!(p.sample(), 1e-3);
        assert_eq!(p.epochs(), 5);
        assert_eq!(p.alpha(), 0.05);
        assert_eq!(p.min_alpha(), 0.05 * 1e-4);
        let sg = Word2VecParams::builder()
            .architecture(Architecture::SkipGram)
            .build()
            .unwrap();
        assert_eq!(sg.alpha(), 0.025);
        assert_eq!(sg.min_alpha(), 0.025 * 1e-4);
        assert!(sg.threads() >= 1);
    }

    #[test]
    fn each_bad_field_is_named() {
        let d = Word2VecParams::default;
        assert_eq!(rejected(Word2VecParams { dim: 0, ..d() }), "dim");
        assert_eq!(rejected(Word2VecParams { window: 0, ..d() }), "window");
        assert_eq!(rejected(Word2VecParams { epochs: 0, ..d() }), "epochs");
        assert_eq!(
            rejected(Word2VecParams {
                min_count: 0,
                ..d()
            }),
            "min_count"
        );
        assert_eq!(rejected(Word2VecParams { negative: 0, ..d() }), "negative");
        assert_eq!(
            rejected(Word2VecParams {
                negative: 0,
                loss: Loss::Both,
                ..d()
            }),
            "negative"
        );
        for bad in [0.0, -0.1, f32::NAN, f32::INFINITY] {
            assert_eq!(
                rejected(Word2VecParams {
                    alpha: Some(bad),
                    ..d()
                }),
                "alpha"
            );
        }
        assert_eq!(
            rejected(Word2VecParams {
                min_alpha: Some(1.0),
                ..d()
            }),
            "min_alpha"
        );
        assert_eq!(
            rejected(Word2VecParams {
                min_alpha: Some(-1e-5),
                ..d()
            }),
            "min_alpha"
        );
        assert_eq!(
            rejected(Word2VecParams {
                threads: Some(0),
                ..d()
            }),
            "threads"
        );
        assert_eq!(
            rejected(Word2VecParams {
                sample: -1.0,
                ..d()
            }),
            "sample"
        );
        assert_eq!(
            rejected(Word2VecParams {
                sample: f64::NAN,
                ..d()
            }),
            "sample"
        );
        assert_eq!(
            rejected(Word2VecParams {
                max_vocab: Some(0),
                ..d()
            }),
            "max_vocab"
        );
    }

    #[test]
    fn hierarchical_softmax_needs_no_noise_words() {
        let p = Word2VecParams::builder()
            .loss(Loss::HierarchicalSoftmax)
            .negative(0)
            .build()
            .unwrap();
        assert_eq!(p.negative(), 0);
    }

    #[test]
    fn serde_round_trip_validates_again() {
        let p = Word2VecParams::builder().dim(7).threads(1).build().unwrap();
        let json = serde_json::to_string(&p).unwrap();
        let back: ValidWord2VecParams = serde_json::from_str(&json).unwrap();
        assert_eq!(back, p);
        let bad = json.replace("\"dim\":7", "\"dim\":0");
        assert!(serde_json::from_str::<ValidWord2VecParams>(&bad).is_err());
    }
}
