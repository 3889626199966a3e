//! The hyperparameters a fastText model records in its `.bin` header.

use serde::{Deserialize, Serialize};

/// How words are predicted during training (fastText's `-model` / `model_name`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ModelKind {
    /// Continuous bag of words: the context predicts the word.
    Cbow,
    /// Skip-gram: the word predicts each context word.
    Skipgram,
    /// Supervised classification: the words of a line predict its labels.
    Supervised,
}

impl ModelKind {
    /// The integer fastText writes for this model in a `.bin` file.
    pub fn code(self) -> i32 {
        match self {
            ModelKind::Cbow => 1,
            ModelKind::Skipgram => 2,
            ModelKind::Supervised => 3,
        }
    }

    /// The model for a `.bin` code, if the code is known.
    ///
    /// ```
    /// use embed_fasttext::ModelKind;
    /// assert_eq!(ModelKind::from_code(2), Some(ModelKind::Skipgram));
    /// assert_eq!(ModelKind::from_code(9), None);
    /// ```
    pub fn from_code(code: i32) -> Option<Self> {
        [ModelKind::Cbow, ModelKind::Skipgram, ModelKind::Supervised]
            .into_iter()
            .find(|m| m.code() == code)
    }
}

/// The training loss (fastText's `-loss` / `loss_name`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LossKind {
    /// Hierarchical softmax over a Huffman tree of the outputs.
    HierarchicalSoftmax,
    /// Negative sampling (binary logistic on the target and `neg` noise words).
    NegativeSampling,
    /// Full softmax over every output.
    Softmax,
    /// One independent binary logistic loss per label.
    OneVsAll,
}

impl LossKind {
    /// The integer fastText writes for this loss in a `.bin` file.
    pub fn code(self) -> i32 {
        match self {
            LossKind::HierarchicalSoftmax => 1,
            LossKind::NegativeSampling => 2,
            LossKind::Softmax => 3,
            LossKind::OneVsAll => 4,
        }
    }

    /// The loss for a `.bin` code, if the code is known.
    ///
    /// ```
    /// use embed_fasttext::LossKind;
    /// assert_eq!(LossKind::from_code(2), Some(LossKind::NegativeSampling));
    /// ```
    pub fn from_code(code: i32) -> Option<Self> {
        [
            LossKind::HierarchicalSoftmax,
            LossKind::NegativeSampling,
            LossKind::Softmax,
            LossKind::OneVsAll,
        ]
        .into_iter()
        .find(|l| l.code() == code)
    }
}

/// The arguments block of a fastText `.bin` file: everything needed to
/// rebuild the dictionary's subwords and to use the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelArgs {
    /// Vector length.
    pub dim: usize,
    /// Context window size.
    pub ws: usize,
    /// Passes over the corpus.
    pub epoch: usize,
    /// Minimum count of a word to enter the dictionary.
    pub min_count: u64,
    /// Negative samples per target.
    pub neg: usize,
    /// Longest word n-gram (supervised; 1 means words only).
    pub word_ngrams: usize,
    /// The loss.
    pub loss: LossKind,
    /// The model.
    pub model: ModelKind,
    /// Hash buckets for character and word n-grams.
    pub bucket: usize,
    /// Shortest character n-gram, in code points.
    pub minn: usize,
    /// Longest character n-gram, in code points (0: no subwords).
    pub maxn: usize,
    /// Tokens between learning-rate updates.
    pub lr_update_rate: usize,
    /// Subsampling threshold.
    pub t: f64,
}

impl ModelArgs {
    /// fastText's defaults for unsupervised skip-gram.
    ///
    /// ```
    /// let args = embed_fasttext::ModelArgs::unsupervised();
    /// assert_eq!((args.dim, args.minn, args.maxn, args.bucket), (100, 3, 6, 2_000_000));
    /// ```
    pub fn unsupervised() -> Self {
        ModelArgs {
            dim: 100,
            ws: 5,
            epoch: 5,
            min_count: 5,
            neg: 5,
            word_ngrams: 1,
            loss: LossKind::NegativeSampling,
            model: ModelKind::Skipgram,
            bucket: 2_000_000,
            minn: 3,
            maxn: 6,
            lr_update_rate: 100,
            t: 1e-4,
        }
    }

    /// fastText's defaults for supervised classification.
    ///
    /// ```
    /// let args = embed_fasttext::ModelArgs::supervised();
    /// assert_eq!((args.min_count, args.minn, args.maxn), (1, 0, 0));
    /// ```
    pub fn supervised() -> Self {
        ModelArgs {
            min_count: 1,
            loss: LossKind::Softmax,
            model: ModelKind::Supervised,
            minn: 0,
            maxn: 0,
            ..Self::unsupervised()
        }
    }
}
