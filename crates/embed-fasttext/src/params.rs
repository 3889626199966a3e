//! Training hyperparameters, with fastText's defaults, validated once.

use std::path::PathBuf;

use embed_core::{Error, Result};
use serde::{Deserialize, Serialize};

use crate::args::{LossKind, ModelArgs, ModelKind};

/// Validated training parameters. Build them with
/// [`FastTextParams::builder`] (word vectors) or
/// [`FastTextParams::supervised_builder`] (classification).
///
/// ```
/// use embed_fasttext::{FastTextParams, LossKind, ModelKind};
/// let p = FastTextParams::builder().model(ModelKind::Cbow).dim(50).build()?;
/// assert_eq!((p.dim(), p.ws(), p.minn(), p.maxn(), p.lr()), (50, 5, 3, 6, 0.05));
/// let err = FastTextParams::builder().minn(7).maxn(6).build().unwrap_err();
/// assert!(err.to_string().contains("`minn`"));
/// # Ok::<(), embed_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FastTextParams {
    model: ModelKind,
    loss: LossKind,
    dim: usize,
    ws: usize,
    epoch: usize,
    min_count: u64,
    min_count_label: u64,
    neg: usize,
    word_ngrams: usize,
    bucket: usize,
    minn: usize,
    maxn: usize,
    lr: f64,
    lr_update_rate: usize,
    t: f64,
    threads: usize,
    seed: u64,
    pretrained_vectors: Option<PathBuf>,
}

/// Builds [`FastTextParams`]; every setter names a fastText option.
#[derive(Debug, Clone)]
pub struct FastTextParamsBuilder {
    params: FastTextParams,
}

macro_rules! setters {
    ($($(#[$doc:meta])* $name:ident: $ty:ty),* $(,)?) => {
        $(
            $(#[$doc])*
            pub fn $name(mut self, value: $ty) -> Self {
                self.params.$name = value;
                self
            }
        )*
    };
}

macro_rules! getters {
    ($($(#[$doc:meta])* $name:ident: $ty:ty),* $(,)?) => {
        $(
            $(#[$doc])*
            pub fn $name(&self) -> $ty {
                self.$name
            }
        )*
    };
}

impl FastTextParams {
    /// fastText's unsupervised defaults: skip-gram, negative sampling,
    /// dim 100, ws 5, epoch 5, minCount 5, neg 5, minn 3, maxn 6,
    /// bucket 2,000,000, t 1e-4, lr 0.05, lrUpdateRate 100, 12 threads.
    pub fn builder() -> FastTextParamsBuilder {
        FastTextParamsBuilder {
            params: FastTextParams {
                model: ModelKind::Skipgram,
                loss: LossKind::NegativeSampling,
                dim: 100,
                ws: 5,
                epoch: 5,
                min_count: 5,
                min_count_label: 0,
                neg: 5,
                word_ngrams: 1,
                bucket: 2_000_000,
                minn: 3,
                maxn: 6,
                lr: 0.05,
                lr_update_rate: 100,
                t: 1e-4,
                threads: 12,
                seed: 0,
                pretrained_vectors: None,
            },
        }
    }

    /// fastText's supervised defaults: softmax, lr 0.1, minCount 1, no
    /// character n-grams (minn = maxn = 0), wordNgrams 1.
    pub fn supervised_builder() -> FastTextParamsBuilder {
        let mut b = Self::builder();
        b.params.model = ModelKind::Supervised;
        b.params.loss = LossKind::Softmax;
        b.params.lr = 0.1;
        b.params.min_count = 1;
        b.params.minn = 0;
        b.params.maxn = 0;
        b
    }

    getters! {
        /// The model.
        model: ModelKind,
        /// The loss.
        loss: LossKind,
        /// Vector length.
        dim: usize,
        /// Largest context window (each word draws 1..=ws).
        ws: usize,
        /// Passes over the corpus.
        epoch: usize,
        /// Minimum count of a word.
        min_count: u64,
        /// Minimum count of a label.
        min_count_label: u64,
        /// Negative samples per target.
        neg: usize,
        /// Longest word n-gram (supervised).
        word_ngrams: usize,
        /// Hash buckets for n-grams.
        bucket: usize,
        /// Shortest character n-gram.
        minn: usize,
        /// Longest character n-gram (0: none).
        maxn: usize,
        /// Starting learning rate.
        lr: f64,
        /// Tokens between learning-rate updates.
        lr_update_rate: usize,
        /// Subsampling threshold.
        t: f64,
        /// Training threads.
        threads: usize,
        /// Random seed.
        seed: u64,
    }

    /// A `.vec` file whose vectors initialise the input word rows.
    pub fn pretrained_vectors(&self) -> Option<&std::path::Path> {
        self.pretrained_vectors.as_deref()
    }

    /// The arguments block a model trained with these parameters records.
    /// As fastText does, a supervised model with neither word nor character
    /// n-grams gets no buckets.
    pub fn model_args(&self) -> ModelArgs {
        let bucket =
            if self.model == ModelKind::Supervised && self.word_ngrams <= 1 && self.maxn == 0 {
                0
            } else {
                self.bucket
            };
        ModelArgs {
            dim: self.dim,
            ws: self.ws,
            epoch: self.epoch,
            min_count: self.min_count,
            neg: self.neg,
            word_ngrams: self.word_ngrams,
            loss: self.loss,
            model: self.model,
            bucket,
            minn: self.minn,
            maxn: self.maxn,
            lr_update_rate: self.lr_update_rate,
            t: self.t,
        }
    }
}

impl FastTextParamsBuilder {
    setters! {
        /// Skip-gram, CBOW or supervised.
        model: ModelKind,
        /// `ns`, `hs`, `softmax` or `ova`.
        loss: LossKind,
        /// Vector length (at least 1).
        dim: usize,
        /// Context window (at least 1).
        ws: usize,
        /// Passes over the corpus (at least 1).
        epoch: usize,
        /// Minimum count of a word (at least 1).
        min_count: u64,
        /// Minimum count of a label.
        min_count_label: u64,
        /// Negative samples (at least 1 with `ns`).
        neg: usize,
        /// Longest word n-gram (at least 1).
        word_ngrams: usize,
        /// Hash buckets (positive when there are n-grams).
        bucket: usize,
        /// Shortest character n-gram.
        minn: usize,
        /// Longest character n-gram (0 turns subwords off).
        maxn: usize,
        /// Starting learning rate (positive).
        lr: f64,
        /// Tokens between learning-rate updates (at least 1).
        lr_update_rate: usize,
        /// Subsampling threshold (positive).
        t: f64,
        /// Training threads (at least 1).
        threads: usize,
        /// Random seed; one thread and a seed give the same model every run.
        seed: u64,
    }

    /// Initialise input word rows from a `.vec` file (supervised).
    pub fn pretrained_vectors(mut self, path: Option<PathBuf>) -> Self {
        self.params.pretrained_vectors = path;
        self
    }

    /// Checks every field, naming the first bad one.
    pub fn build(self) -> Result<FastTextParams> {
        let p = self.params;
        let positive = |name: &'static str, v: usize| {
            if v == 0 {
                Err(Error::invalid_parameter(name, "must be at least 1"))
            } else {
                Ok(())
            }
        };
        positive("dim", p.dim)?;
        positive("ws", p.ws)?;
        positive("epoch", p.epoch)?;
        positive("word_ngrams", p.word_ngrams)?;
        positive("lr_update_rate", p.lr_update_rate)?;
        positive("threads", p.threads)?;
        if p.dim > i32::MAX as usize {
            return Err(Error::invalid_parameter("dim", "must fit a 32-bit integer"));
        }
        if p.min_count == 0 {
            return Err(Error::invalid_parameter("min_count", "must be at least 1"));
        }
        if p.loss == LossKind::NegativeSampling && p.neg == 0 {
            return Err(Error::invalid_parameter(
                "neg",
                "must be at least 1 with negative sampling",
            ));
        }
        if !(p.lr.is_finite() && p.lr > 0.0) {
            return Err(Error::invalid_parameter(
                "lr",
                format!("{} is not positive", p.lr),
            ));
        }
        if !(p.t.is_finite() && p.t > 0.0) {
            return Err(Error::invalid_parameter(
                "t",
                format!("{} is not positive", p.t),
            ));
        }
        if p.maxn > 0 && p.minn > p.maxn {
            return Err(Error::invalid_parameter(
                "minn",
                format!("{} is larger than maxn {}", p.minn, p.maxn),
            ));
        }
        if p.maxn > 0 && p.minn == 0 {
            return Err(Error::invalid_parameter(
                "minn",
                "must be at least 1 when maxn > 0",
            ));
        }
        if p.bucket == 0 && (p.maxn > 0 || p.word_ngrams > 1) {
            return Err(Error::invalid_parameter(
                "bucket",
                "must be positive when maxn > 0 or word_ngrams > 1",
            ));
        }
        if p.bucket > i32::MAX as usize {
            return Err(Error::invalid_parameter(
                "bucket",
                "must fit a 32-bit integer",
            ));
        }
        if p.model != ModelKind::Supervised && p.loss == LossKind::OneVsAll {
            return Err(Error::invalid_parameter(
                "loss",
                "one-vs-all is a classification loss (supervised models only)",
            ));
        }
        Ok(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rejects(b: FastTextParamsBuilder, name: &str) {
        let err = b.build().unwrap_err();
        assert!(err.to_string().contains(&format!("`{name}`")), "{err}");
    }

    #[test]
    fn each_bad_field_is_named() {
        let b = FastTextParams::builder;
        rejects(b().dim(0), "dim");
        rejects(b().ws(0), "ws");
        rejects(b().epoch(0), "epoch");
        rejects(b().min_count(0), "min_count");
        rejects(b().neg(0), "neg");
        rejects(b().word_ngrams(0), "word_ngrams");
        rejects(b().lr(0.0), "lr");
        rejects(b().lr(f64::NAN), "lr");
        rejects(b().t(-1.0), "t");
        rejects(b().threads(0), "threads");
        rejects(b().lr_update_rate(0), "lr_update_rate");
        rejects(b().minn(7), "minn");
        rejects(b().bucket(0), "bucket");
        rejects(b().loss(LossKind::OneVsAll), "loss");
        rejects(
            FastTextParams::supervised_builder()
                .word_ngrams(2)
                .bucket(0),
            "bucket",
        );
    }

    #[test]
    fn supervised_without_ngrams_has_no_buckets() {
        let p = FastTextParams::supervised_builder().build().unwrap();
        assert_eq!(p.model_args().bucket, 0);
        let p = FastTextParams::supervised_builder()
            .word_ngrams(2)
            .build()
            .unwrap();
        assert_eq!(p.model_args().bucket, 2_000_000);
    }
}
