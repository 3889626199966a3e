//! A trained fastText model: subword word vectors, and classification for
//! supervised models.

use std::collections::BinaryHeap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::sync::OnceLock;

use embed_core::embedder::embed_words_static;
use embed_core::formats::write_word2vec_text;
use embed_core::io::write_atomically;
use embed_core::{Embedder, Error, Lookup, Result, StaticEmbedder, WordVectors};
use embed_vocab::END_OF_SENTENCE;
use ndarray::{Array1, Array2, ArrayView2};
use rayon::prelude::*;

use crate::args::{LossKind, ModelArgs, ModelKind};
use crate::bin_format::{read_bin, write_bin, ModelParts};
use crate::dictionary::Dictionary;
use crate::label_tree::LabelTree;
use crate::tables::{std_log, Tables};

/// A fastText model: arguments, dictionary, input and output matrices.
///
/// A word's vector is the mean of its input rows: its own row (when it is
/// in the vocabulary) and the hashed rows of its character n-grams. Words
/// outside the vocabulary get the mean of their n-gram rows, reported as
/// [`Lookup::Synthesized`].
///
/// ```
/// use embed_core::StaticEmbedder;
/// use embed_fasttext::FastText;
/// let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tiny.bin");
/// let model = FastText::load(path)?;
/// assert!(model.lookup("the").is_in_vocabulary());
/// assert!(!model.lookup("zzyzx").is_in_vocabulary()); // built from its n-grams
/// assert_eq!(model.word_vector("zzyzx").len(), 10);
/// # Ok::<(), embed_core::Error>(())
/// ```
#[derive(Debug)]
pub struct FastText {
    args: ModelArgs,
    dictionary: Dictionary,
    input: Array2<f32>,
    output: Array2<f32>,
    words: Vec<String>,
    word_vectors: OnceLock<Array2<f32>>,
    tables: Tables,
    /// The label tree of a hierarchical-softmax classifier.
    label_tree: Option<LabelTree>,
}

/// One predicted label.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    /// The label, with its `__label__` prefix.
    pub label: String,
    /// Its probability as fastText reports it (`exp(ln(p + 1e-5))`).
    pub probability: f32,
}

/// Precision and recall at k over a labelled file (fastText's `test`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TestReport {
    /// Lines with at least one known label and one feature.
    pub examples: usize,
    /// Correct predictions over predictions made (P@k).
    pub precision: f64,
    /// Correct predictions over gold labels (R@k).
    pub recall: f64,
}

impl FastText {
    /// Assembles a model from its parts, checking that the matrices fit
    /// the dictionary and arguments.
    pub fn from_parts(parts: ModelParts) -> Result<Self> {
        let ModelParts {
            args,
            dictionary,
            input,
            output,
        } = parts;
        let input_rows = dictionary.nwords() + args.bucket;
        if input.dim() != (input_rows, args.dim) {
            return Err(Error::ShapeMismatch {
                name: "input".into(),
                expected: vec![input_rows, args.dim],
                actual: input.shape().to_vec(),
            });
        }
        let output_rows = match args.model {
            ModelKind::Supervised => dictionary.nlabels(),
            _ => dictionary.nwords(),
        };
        if output.dim() != (output_rows, args.dim) {
            return Err(Error::ShapeMismatch {
                name: "output".into(),
                expected: vec![output_rows, args.dim],
                actual: output.shape().to_vec(),
            });
        }
        let words = dictionary.words().map(str::to_owned).collect();
        let label_tree =
            if args.model == ModelKind::Supervised && args.loss == LossKind::HierarchicalSoftmax {
                let counts: Vec<u64> = dictionary.entries()[dictionary.nwords()..]
                    .iter()
                    .map(|e| e.count)
                    .collect();
                Some(LabelTree::new(&counts)?)
            } else {
                None
            };
        Ok(FastText {
            args,
            dictionary,
            input,
            output,
            words,
            word_vectors: OnceLock::new(),
            tables: Tables::new(),
            label_tree,
        })
    }

    /// Reads a Facebook fastText `.bin` model (not quantized `.ftz`).
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        Self::from_parts(read_bin(path.as_ref())?)
    }

    /// Writes the full model as a fastText `.bin` file (atomically).
    ///
    /// ```
    /// # use embed_fasttext::FastText;
    /// # let model = FastText::load(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tiny.bin"))?;
    /// let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("copy.bin");
    /// model.save_bin(&path)?;
    /// assert_eq!(FastText::load(&path)?.word_vector("cats"), model.word_vector("cats"));
    /// # Ok::<(), embed_core::Error>(())
    /// ```
    pub fn save_bin(&self, path: impl AsRef<Path>) -> Result<()> {
        write_atomically(path.as_ref(), |w| {
            write_bin(w, &self.args, &self.dictionary, &self.input, &self.output)
        })
    }

    /// Writes the vocabulary's word vectors as a `.vec` text file
    /// (word2vec text format, as fastText's `saveVectors`).
    pub fn save_vec(&self, path: impl AsRef<Path>) -> Result<()> {
        let vectors = self.to_word_vectors()?;
        write_atomically(path.as_ref(), |w| write_word2vec_text(w, &vectors))
    }

    /// The vocabulary's word vectors as a [`WordVectors`] table.
    pub fn to_word_vectors(&self) -> Result<WordVectors> {
        WordVectors::new(self.words.clone(), self.word_vectors().clone())
    }

    /// The arguments the model was trained with.
    pub fn args(&self) -> &ModelArgs {
        &self.args
    }

    /// The dictionary.
    pub fn dictionary(&self) -> &Dictionary {
        &self.dictionary
    }

    /// The input matrix: word rows, then bucket rows.
    pub fn input(&self) -> &Array2<f32> {
        &self.input
    }

    /// The output matrix.
    pub fn output(&self) -> &Array2<f32> {
        &self.output
    }

    /// The vector of any word: the mean of its input rows (zero when it
    /// has none), as fastText's `getWordVector`.
    pub fn word_vector(&self, word: &str) -> Array1<f32> {
        let mut v = Array1::zeros(self.args.dim);
        let rows = self.dictionary.word_rows(word);
        self.mean_rows(&rows, v.as_slice_mut().expect("fresh array is contiguous"));
        v
    }

    /// Every vocabulary word's vector, one row per word (computed once).
    pub fn word_vectors(&self) -> &Array2<f32> {
        self.word_vectors.get_or_init(|| {
            let dim = self.args.dim;
            let mut m = Array2::zeros((self.words.len(), dim));
            if let Some(flat) = m.as_slice_mut() {
                flat.par_chunks_mut(dim.max(1))
                    .enumerate()
                    .for_each(|(i, row)| self.mean_rows(self.dictionary.subwords(i), row));
            }
            m
        })
    }

    /// Writes the mean of the given input rows into `out`, summing in
    /// `f32` in row order and scaling by `1/n` as fastText does.
    fn mean_rows(&self, rows: &[u32], out: &mut [f32]) {
        out.fill(0.0);
        for &r in rows {
            let src = self.input.row(r as usize);
            for (o, s) in out.iter_mut().zip(src.iter()) {
                *o += s;
            }
        }
        if !rows.is_empty() {
            let scale = (1.0f64 / rows.len() as f64) as f32;
            out.iter_mut().for_each(|o| *o *= scale);
        }
    }

    /// The `k` most probable labels of one line of text whose probability
    /// is at least `threshold`, most probable first, as fastText's
    /// `predict` (the line ends with `</s>`, as the tool reads it).
    ///
    /// ```
    /// use embed_fasttext::FastText;
    /// let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tiny_supervised.bin");
    /// let model = FastText::load(path)?;
    /// let top = model.predict("How long can I keep eggs in the fridge?", 2, 0.0)?;
    /// assert_eq!(top.len(), 2);
    /// assert!(top[0].probability >= top[1].probability);
    /// # Ok::<(), embed_core::Error>(())
    /// ```
    pub fn predict(&self, text: &str, k: usize, threshold: f32) -> Result<Vec<Prediction>> {
        if self.args.model != ModelKind::Supervised {
            return Err(Error::InvalidInput(
                "predict needs a supervised model; this one learnt word vectors".into(),
            ));
        }
        let mut tokens: Vec<&str> = split_tokens(text).collect();
        tokens.push(END_OF_SENTENCE);
        let (mut rows, mut labels) = (Vec::new(), Vec::new());
        self.dictionary
            .line_features(&tokens, &mut rows, &mut labels);
        Ok(self
            .predict_rows(&rows, k, threshold)
            .into_iter()
            .map(|(score, i)| Prediction {
                label: self.dictionary.label(i).unwrap_or_default().to_owned(),
                probability: score.exp(),
            })
            .collect())
    }

    /// Top-k `(log-probability, label index)` pairs for the given input rows.
    fn predict_rows(&self, rows: &[u32], k: usize, threshold: f32) -> Vec<(f32, usize)> {
        if rows.is_empty() || k == 0 {
            return Vec::new();
        }
        let mut hidden = vec![0f32; self.args.dim];
        self.mean_rows(rows, &mut hidden);
        let mut best = TopK::new(k);
        match self.args.loss {
            LossKind::Softmax => {
                let scores: Vec<f32> = self.output_scores(&hidden).collect();
                let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let exps: Vec<f32> = scores.iter().map(|s| (s - max).exp()).collect();
                let z: f32 = exps.iter().sum();
                for (i, e) in exps.into_iter().enumerate() {
                    let p = e / z;
                    if p >= threshold {
                        best.push(std_log(p), i);
                    }
                }
            }
            LossKind::NegativeSampling | LossKind::OneVsAll => {
                let scores: Vec<f32> = self.output_scores(&hidden).collect();
                for (i, s) in scores.into_iter().enumerate() {
                    let p = self.tables.sigmoid(s);
                    if p >= threshold {
                        best.push(std_log(p), i);
                    }
                }
            }
            LossKind::HierarchicalSoftmax => {
                if let Some(tree) = &self.label_tree {
                    if let Some(root) = tree.root() {
                        self.tree_search(tree, root, 0.0, std_log(threshold), &hidden, &mut best);
                    }
                }
            }
        }
        best.into_sorted()
    }

    fn output_scores<'a>(&'a self, hidden: &'a [f32]) -> impl Iterator<Item = f32> + 'a {
        self.output
            .rows()
            .into_iter()
            .map(move |row| row.iter().zip(hidden).fold(0f32, |acc, (a, b)| acc + a * b))
    }

    /// Depth-first search of the label tree, pruning branches that cannot
    /// enter the top k (fastText's `HierarchicalSoftmaxLoss::dfs`).
    fn tree_search(
        &self,
        tree: &LabelTree,
        node: usize,
        score: f32,
        log_threshold: f32,
        hidden: &[f32],
        best: &mut TopK,
    ) {
        if score < log_threshold || best.is_full() && score < best.worst() {
            return;
        }
        let Some((row, [left, right])) = tree.inner(node) else {
            best.push(score, node);
            return;
        };
        let row = self.output.row(row);
        let f: f32 = row.iter().zip(hidden).fold(0f32, |acc, (a, b)| acc + a * b);
        let f = 1.0 / (1.0 + (-f).exp());
        self.tree_search(
            tree,
            left,
            score + std_log(1.0 - f),
            log_threshold,
            hidden,
            best,
        );
        self.tree_search(tree, right, score + std_log(f), log_threshold, hidden, best);
    }

    /// Precision and recall at `k` over a labelled file, one example per
    /// line (fastText's `test`).
    pub fn test(&self, path: impl AsRef<Path>, k: usize, threshold: f32) -> Result<TestReport> {
        let path = path.as_ref();
        if self.args.model != ModelKind::Supervised {
            return Err(Error::InvalidInput(
                "test needs a supervised model; this one learnt word vectors".into(),
            ));
        }
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        let reader = BufReader::new(file);
        let (mut examples, mut gold, mut predicted, mut correct) = (0usize, 0usize, 0usize, 0usize);
        let (mut rows, mut labels) = (Vec::new(), Vec::new());
        for line in reader.split(b'\n') {
            let line = line.map_err(|e| Error::io(path, e))?;
            let text = String::from_utf8_lossy(&line);
            let mut tokens: Vec<&str> = split_tokens(&text).collect();
            tokens.push(END_OF_SENTENCE);
            self.dictionary
                .line_features(&tokens, &mut rows, &mut labels);
            if labels.is_empty() || rows.is_empty() {
                continue;
            }
            let top = self.predict_rows(&rows, k, threshold);
            examples += 1;
            gold += labels.len();
            predicted += top.len();
            correct += top
                .iter()
                .filter(|(_, i)| labels.contains(&(*i as u32)))
                .count();
        }
        let ratio = |a: usize, b: usize| {
            if b == 0 {
                f64::NAN
            } else {
                a as f64 / b as f64
            }
        };
        Ok(TestReport {
            examples,
            precision: ratio(correct, predicted),
            recall: ratio(correct, gold),
        })
    }
}

/// Splits text on the bytes fastText treats as token separators.
pub(crate) fn split_tokens(text: &str) -> impl Iterator<Item = &str> {
    text.split([' ', '\n', '\r', '\t', '\u{0b}', '\u{0c}', '\0'])
        .filter(|t| !t.is_empty())
}

/// The k best `(score, index)` pairs seen so far.
struct TopK {
    k: usize,
    /// Min-heap on score (reversed ordering).
    heap: BinaryHeap<std::cmp::Reverse<(OrdF32, usize)>>,
}

/// An `f32` ordered by `total_cmp`, for the heap.
#[derive(Debug, Clone, Copy)]
struct OrdF32(f32);
impl PartialEq for OrdF32 {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}
impl Eq for OrdF32 {}
impl PartialOrd for OrdF32 {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for OrdF32 {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}

impl TopK {
    fn new(k: usize) -> Self {
        TopK {
            k,
            heap: BinaryHeap::with_capacity(k + 1),
        }
    }

    fn is_full(&self) -> bool {
        self.heap.len() >= self.k
    }

    fn worst(&self) -> f32 {
        self.heap.peek().map_or(f32::NEG_INFINITY, |r| r.0 .0 .0)
    }

    fn push(&mut self, score: f32, index: usize) {
        if self.is_full() && score < self.worst() {
            return;
        }
        self.heap.push(std::cmp::Reverse((OrdF32(score), index)));
        if self.heap.len() > self.k {
            self.heap.pop();
        }
    }

    fn into_sorted(self) -> Vec<(f32, usize)> {
        let mut v: Vec<(f32, usize)> = self.heap.into_iter().map(|r| (r.0 .0 .0, r.0 .1)).collect();
        v.sort_by(|a, b| b.0.total_cmp(&a.0));
        v
    }
}

impl Embedder for FastText {
    fn dim(&self) -> usize {
        self.args.dim
    }

    fn embed_words(&self, words: &[&str]) -> Result<Array2<f32>> {
        Ok(embed_words_static(self, words))
    }
}

impl StaticEmbedder for FastText {
    fn words(&self) -> &[String] {
        &self.words
    }

    fn matrix(&self) -> ArrayView2<'_, f32> {
        self.word_vectors().view()
    }

    fn lookup(&self, word: &str) -> Lookup<'_> {
        match self.dictionary.id(word) {
            Some(id) if (id as usize) < self.words.len() => {
                Lookup::InVocabulary(self.word_vectors().row(id as usize))
            }
            _ => {
                let rows = self.dictionary.word_rows(word);
                if rows.is_empty() {
                    Lookup::Unknown
                } else {
                    let mut v = Array1::zeros(self.args.dim);
                    self.mean_rows(&rows, v.as_slice_mut().expect("fresh array is contiguous"));
                    Lookup::Synthesized(v)
                }
            }
        }
    }
}
