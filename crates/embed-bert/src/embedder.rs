//! Sentence and word embeddings from a tokenizer and an encoder.
//!
//! [`SentenceEmbedder`] tokenizes, sorts inputs by length so that batches
//! carry little padding, runs the encoder batch by batch (in its own
//! thread pool when a thread count is set), pools, optionally normalises,
//! and returns rows in input order. It also implements the workspace's
//! [`ContextualEmbedder`]: one vector per input word, pooled from the
//! word's pieces.

use std::path::Path;

use embed_core::{ContextualEmbedder, Embedder, Error, Result};
use ndarray::{Array2, Axis};
use serde::Deserialize;

use crate::model::BertModel;
use crate::pooling::{normalize_rows, pool_rows, Pooling, WordPooling};
use crate::tokenizer::{Encoding, Tokenizer};

/// How [`SentenceEmbedder`] batches, truncates and pools.
#[derive(Debug, Clone, PartialEq)]
pub struct EmbedOptions {
    /// Sequence pooling.
    pub pooling: Pooling,
    /// Divide each sentence vector by its L2 norm.
    pub normalize: bool,
    /// Word-piece pooling for per-word vectors.
    pub word_pooling: WordPooling,
    /// Sequences per forward pass.
    pub batch_size: usize,
    /// Tokens kept per sequence, `[CLS]`/`[SEP]` included; `None` means
    /// the model's position table. Longer texts are truncated.
    pub max_length: Option<usize>,
    /// Threads for the encoder; `None` uses the global rayon pool.
    pub threads: Option<usize>,
}

impl Default for EmbedOptions {
    fn default() -> Self {
        EmbedOptions {
            pooling: Pooling::Mean,
            normalize: false,
            word_pooling: WordPooling::Mean,
            batch_size: 32,
            max_length: None,
            threads: None,
        }
    }
}

#[derive(Deserialize)]
struct ModuleEntry {
    path: String,
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Deserialize)]
struct PoolingFile {
    #[serde(default)]
    pooling_mode_cls_token: bool,
    #[serde(default)]
    pooling_mode_mean_tokens: bool,
    #[serde(default)]
    pooling_mode_max_tokens: bool,
}

#[derive(Deserialize)]
struct SentenceBertFile {
    max_seq_length: Option<usize>,
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    serde_json::from_str(&text).map_err(|e| {
        Error::format(
            path,
            embed_core::Location::Line(e.line() as u64),
            e.to_string(),
        )
    })
}

impl EmbedOptions {
    /// The sentence-transformers settings of a model directory
    /// (`modules.json`, the pooling module's `config.json`,
    /// `sentence_bert_config.json`); defaults where they are absent.
    ///
    /// For all-MiniLM-L6-v2 this is mean pooling, normalisation and a
    /// maximum of 256 tokens.
    pub fn from_dir(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref();
        let mut options = EmbedOptions::default();
        let modules_path = dir.join("modules.json");
        if modules_path.exists() {
            let modules: Vec<ModuleEntry> = read_json(&modules_path)?;
            for module in modules {
                if module.kind.ends_with(".Normalize") {
                    options.normalize = true;
                }
                if module.kind.ends_with(".Pooling") {
                    let config_path = dir.join(&module.path).join("config.json");
                    let p: PoolingFile = read_json(&config_path)?;
                    options.pooling = match (
                        p.pooling_mode_mean_tokens,
                        p.pooling_mode_cls_token,
                        p.pooling_mode_max_tokens,
                    ) {
                        (true, false, false) => Pooling::Mean,
                        (false, true, false) => Pooling::Cls,
                        (false, false, true) => Pooling::Max,
                        _ => {
                            return Err(Error::format(
                                &config_path,
                                embed_core::Location::File,
                                "exactly one of mean, cls and max pooling must be set",
                            ))
                        }
                    };
                }
            }
        }
        let st_path = dir.join("sentence_bert_config.json");
        if st_path.exists() {
            let st: SentenceBertFile = read_json(&st_path)?;
            options.max_length = st.max_seq_length;
        }
        Ok(options)
    }

    /// Checks the options, one error per bad field.
    pub fn validate(&self) -> Result<()> {
        if self.batch_size == 0 {
            return Err(Error::invalid_parameter("batch_size", "must be at least 1"));
        }
        if self.max_length.is_some_and(|m| m < 2) {
            return Err(Error::invalid_parameter(
                "max_length",
                "must leave room for [CLS] and [SEP] (at least 2)",
            ));
        }
        if self.threads == Some(0) {
            return Err(Error::invalid_parameter("threads", "must be at least 1"));
        }
        Ok(())
    }
}

/// Sentence and word embeddings from a BERT model.
///
/// ```no_run
/// use embed_bert::SentenceEmbedder;
/// let embedder = SentenceEmbedder::load("models/all-MiniLM-L6-v2")?;
/// let vectors = embedder.embed(&["A man is eating food.", "A man is eating a piece of bread."])?;
/// let cosine = vectors.row(0).dot(&vectors.row(1));
/// assert!(cosine > 0.7);
/// # Ok::<(), embed_core::Error>(())
/// ```
#[derive(Debug)]
pub struct SentenceEmbedder {
    tokenizer: Tokenizer,
    model: BertModel,
    options: EmbedOptions,
    max_length: usize,
    pool: Option<rayon::ThreadPool>,
}

impl SentenceEmbedder {
    /// Loads tokenizer, model and sentence-transformers settings from a
    /// model directory.
    pub fn load(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref();
        Self::new(
            Tokenizer::from_dir(dir)?,
            BertModel::load(dir)?,
            EmbedOptions::from_dir(dir)?,
        )
    }

    /// Loads tokenizer and model from a model directory with explicit
    /// options (start from [`EmbedOptions::from_dir`] to keep the
    /// directory's settings and override some).
    ///
    /// ```no_run
    /// use embed_bert::{EmbedOptions, Pooling, SentenceEmbedder};
    /// let dir = "models/all-MiniLM-L6-v2";
    /// let options = EmbedOptions {
    ///     pooling: Pooling::Cls,
    ///     batch_size: 64,
    ///     threads: Some(2),
    ///     ..EmbedOptions::from_dir(dir)?
    /// };
    /// let embedder = SentenceEmbedder::load_with_options(dir, options)?;
    /// # Ok::<(), embed_core::Error>(())
    /// ```
    pub fn load_with_options(dir: impl AsRef<Path>, options: EmbedOptions) -> Result<Self> {
        let dir = dir.as_ref();
        Self::new(Tokenizer::from_dir(dir)?, BertModel::load(dir)?, options)
    }

    /// Combines a tokenizer and a model; the maximum length is capped at
    /// the model's position table.
    pub fn new(tokenizer: Tokenizer, model: BertModel, options: EmbedOptions) -> Result<Self> {
        options.validate()?;
        let positions = model.config().max_position_embeddings;
        if positions < 2 {
            return Err(Error::invalid_parameter(
                "max_position_embeddings",
                "must be at least 2 to hold [CLS] and [SEP]",
            ));
        }
        let max_length = options.max_length.unwrap_or(positions).min(positions);
        let pool = match options.threads {
            Some(n) => Some(
                rayon::ThreadPoolBuilder::new()
                    .num_threads(n)
                    .build()
                    .map_err(|e| Error::invalid_parameter("threads", e.to_string()))?,
            ),
            None => None,
        };
        Ok(SentenceEmbedder {
            tokenizer,
            model,
            options,
            max_length,
            pool,
        })
    }

    /// The tokenizer.
    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// The encoder.
    pub fn model(&self) -> &BertModel {
        &self.model
    }

    /// The options in force.
    pub fn options(&self) -> &EmbedOptions {
        &self.options
    }

    /// Tokens kept per sequence.
    pub fn max_length(&self) -> usize {
        self.max_length
    }

    fn install<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        match &self.pool {
            Some(pool) => pool.install(f),
            None => f(),
        }
    }

    /// Runs `visit(index, encoding, hidden)` for every encoding, where
    /// `hidden` is `[length, hidden]` for its real tokens. Batches hold
    /// sequences of similar length.
    fn encode_sorted(
        &self,
        encodings: &[Encoding],
        mut visit: impl FnMut(usize, ndarray::ArrayView2<'_, f32>) + Send,
    ) -> Result<()> {
        let mut order: Vec<usize> = (0..encodings.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(encodings[i].len()));
        self.install(|| {
            for chunk in order.chunks(self.options.batch_size) {
                let batch_encodings: Vec<Encoding> =
                    chunk.iter().map(|&i| encodings[i].clone()).collect();
                let batch = self.tokenizer.pad(&batch_encodings, None);
                let out = self.model.forward(&batch, false)?;
                for (row, &index) in chunk.iter().enumerate() {
                    let len = encodings[index].len();
                    let seq = out.last_hidden_state.index_axis(Axis(0), row);
                    visit(index, seq.slice(ndarray::s![..len, ..]));
                }
            }
            Ok(())
        })
    }

    /// One vector per text, in input order (`[texts, hidden]`).
    pub fn embed<S: AsRef<str> + Sync>(&self, texts: &[S]) -> Result<Array2<f32>> {
        let encodings =
            self.install(|| self.tokenizer.encode_batch(texts, Some(self.max_length)))?;
        let mut out = Array2::zeros((texts.len(), self.dim()));
        let pooling = self.options.pooling;
        self.encode_sorted(&encodings, |index, hidden| {
            pool_rows(hidden.outer_iter(), pooling, out.row_mut(index));
        })?;
        if self.options.normalize {
            normalize_rows(&mut out);
        }
        Ok(out)
    }

    /// Cosine similarity of two texts' embeddings.
    pub fn similarity(&self, a: &str, b: &str) -> Result<f32> {
        let vectors = self.embed(&[a, b])?;
        let (va, vb) = (vectors.row(0), vectors.row(1));
        Ok(crate::pooling::cosine(
            va.as_slice().expect("standard layout"),
            vb.as_slice().expect("standard layout"),
        ))
    }

    /// Token vectors of each text (`[tokens, hidden]`, `[CLS]` and `[SEP]`
    /// included), with the encodings they belong to.
    pub fn embed_tokens<S: AsRef<str> + Sync>(
        &self,
        texts: &[S],
    ) -> Result<Vec<(Encoding, Array2<f32>)>> {
        let encodings =
            self.install(|| self.tokenizer.encode_batch(texts, Some(self.max_length)))?;
        let mut hidden: Vec<Array2<f32>> = vec![Array2::zeros((0, self.dim())); texts.len()];
        self.encode_sorted(&encodings, |index, h| hidden[index] = h.to_owned())?;
        Ok(encodings.into_iter().zip(hidden).collect())
    }

    /// Per-word vectors of pre-split sequences: each word's pieces pooled
    /// with [`EmbedOptions::word_pooling`]. Words with no piece (empty or
    /// only control characters) or cut off by truncation get zero rows.
    fn embed_word_batches(&self, batch: &[Vec<&str>]) -> Result<Vec<Array2<f32>>> {
        let encodings = self.install(|| {
            use rayon::prelude::*;
            batch
                .par_iter()
                .map(|words| self.tokenizer.encode_words(words, Some(self.max_length)))
                .collect::<Result<Vec<_>>>()
        })?;
        let dim = self.dim();
        let mut out: Vec<Array2<f32>> = batch
            .iter()
            .map(|words| Array2::zeros((words.len(), dim)))
            .collect();
        let word_pooling = match self.options.word_pooling {
            WordPooling::First => Pooling::Cls,
            WordPooling::Mean => Pooling::Mean,
        };
        self.encode_sorted(&encodings, |index, hidden| {
            let word_ids = &encodings[index].word_ids;
            let target = &mut out[index];
            let mut t = 0;
            while t < word_ids.len() {
                let Some(word) = word_ids[t] else {
                    t += 1;
                    continue;
                };
                let end = (t..word_ids.len())
                    .find(|&u| word_ids[u] != Some(word))
                    .unwrap_or(word_ids.len());
                let rows = (t..end).map(|u| hidden.row(u));
                pool_rows(rows, word_pooling, target.row_mut(word as usize));
                t = end;
            }
        })?;
        Ok(out)
    }
}

impl Embedder for SentenceEmbedder {
    fn dim(&self) -> usize {
        self.model.config().hidden_size
    }

    /// The words read as one sequence, one vector each.
    fn embed_words(&self, words: &[&str]) -> Result<Array2<f32>> {
        self.embed_sequence(words)
    }
}

impl ContextualEmbedder for SentenceEmbedder {
    fn embed_sequence(&self, tokens: &[&str]) -> Result<Array2<f32>> {
        let mut out = self.embed_word_batches(&[tokens.to_vec()])?;
        Ok(out.pop().expect("one sequence in, one out"))
    }

    fn embed_batch(&self, batch: &[Vec<&str>]) -> Result<Vec<Array2<f32>>> {
        self.embed_word_batches(batch)
    }
}
