//! Training entry points of [`FastText`].

use std::path::Path;

use embed_core::formats::{read_vectors, ReadOptions, VectorFormat};
use embed_core::observer::TrainingObserver;
use embed_core::{seed, Error, Result};
use ndarray::Array2;
use rand::Rng as _;

use crate::args::ModelKind;
use crate::bin_format::ModelParts;
use crate::model::FastText;
use crate::params::FastTextParams;
use crate::train::{build_dictionary, Trainer};

/// Stream of the generator that draws the initial input matrix.
const INIT_STREAM: u64 = 1 << 32;

impl FastText {
    /// Learns subword word vectors (skip-gram or CBOW) from a text file, as
    /// `fasttext skipgram|cbow` does.
    ///
    /// ```
    /// use embed_core::observer::NoopObserver;
    /// use embed_fasttext::{FastText, FastTextParams};
    /// let dir = tempfile::tempdir().unwrap();
    /// let corpus = dir.path().join("corpus.txt");
    /// std::fs::write(&corpus, "the cat sat on the mat\n".repeat(200)).unwrap();
    /// let params = FastTextParams::builder()
    ///     .dim(8).bucket(1000).min_count(1).epoch(2).threads(1).seed(3)
    ///     .build()?;
    /// let model = FastText::fit_unsupervised(&params, &corpus, &mut NoopObserver)?;
    /// assert_eq!(model.word_vector("cats").len(), 8); // unseen, built from n-grams
    /// # Ok::<(), embed_core::Error>(())
    /// ```
    pub fn fit_unsupervised(
        params: &FastTextParams,
        corpus: impl AsRef<Path>,
        observer: &mut dyn TrainingObserver,
    ) -> Result<Self> {
        if params.model() == ModelKind::Supervised {
            return Err(Error::invalid_parameter(
                "model",
                "fit_unsupervised needs skipgram or cbow; use fit_supervised for classification",
            ));
        }
        fit(params, corpus.as_ref(), observer)
    }

    /// Learns a text classifier from lines of `__label__x … text`, as
    /// `fasttext supervised` does.
    ///
    /// ```
    /// use embed_core::observer::NoopObserver;
    /// use embed_fasttext::{FastText, FastTextParams};
    /// let dir = tempfile::tempdir().unwrap();
    /// let input = dir.path().join("train.txt");
    /// std::fs::write(&input, "__label__a red apple\n__label__b blue sky\n".repeat(100)).unwrap();
    /// let params = FastTextParams::supervised_builder().lr(0.5).epoch(5).threads(1).build()?;
    /// let model = FastText::fit_supervised(&params, &input, &mut NoopObserver)?;
    /// assert_eq!(model.predict("red apple", 1, 0.0)?[0].label, "__label__a");
    /// # Ok::<(), embed_core::Error>(())
    /// ```
    pub fn fit_supervised(
        params: &FastTextParams,
        input: impl AsRef<Path>,
        observer: &mut dyn TrainingObserver,
    ) -> Result<Self> {
        if params.model() != ModelKind::Supervised {
            return Err(Error::invalid_parameter(
                "model",
                "fit_supervised needs the supervised model (FastTextParams::supervised_builder)",
            ));
        }
        fit(params, input.as_ref(), observer)
    }
}

fn fit(
    params: &FastTextParams,
    path: &Path,
    observer: &mut dyn TrainingObserver,
) -> Result<FastText> {
    let dictionary = build_dictionary(path, params)?;
    let args = params.model_args();
    let rows = dictionary.nwords() + args.bucket;
    let mut input = uniform_matrix(rows, args.dim, params.seed());
    if let Some(vectors) = params.pretrained_vectors() {
        load_pretrained(&mut input, &dictionary, vectors)?;
    }
    let (input, output) = Trainer::new(params, path, &dictionary, input)?.run(observer)?;
    FastText::from_parts(ModelParts {
        args,
        dictionary,
        input,
        output,
    })
}

/// Values uniform in `[-1/dim, 1/dim]`, as fastText initialises its input.
fn uniform_matrix(rows: usize, dim: usize, seed: u64) -> Array2<f32> {
    let bound = 1.0 / dim as f32;
    let mut rng = seed::rng(seed, INIT_STREAM);
    Array2::from_shape_simple_fn((rows, dim), || rng.gen_range(-bound..=bound))
}

/// Copies the rows of words found in a `.vec` file into the input matrix.
fn load_pretrained(
    input: &mut Array2<f32>,
    dictionary: &crate::Dictionary,
    path: &Path,
) -> Result<()> {
    let vectors = read_vectors(
        path,
        Some(VectorFormat::Word2VecText),
        &ReadOptions::default(),
    )?;
    if vectors.dim() != input.ncols() {
        return Err(Error::invalid_parameter(
            "pretrained_vectors",
            format!(
                "{} holds {}-dimensional vectors; dim is {}",
                path.display(),
                vectors.dim(),
                input.ncols()
            ),
        ));
    }
    for (i, word) in dictionary.words().enumerate() {
        if let Some(v) = vectors.vector(word) {
            input.row_mut(i).assign(&v);
        }
    }
    Ok(())
}
