//! Word-pair similarity: how well cosine similarity follows human judgements.
//!
//! Reads WordSim-353, SimLex-999 and Rare Words style files and evaluates a
//! model as gensim 4.4's `KeyedVectors.evaluate_word_pairs` does (with its
//! defaults `restrict_vocab=300000, case_insensitive=True,
//! dummy4unknown=False`): pairs with a word outside the first
//! `restrict_vocab` words are dropped and counted, and Pearson's and
//! Spearman's correlations are taken between the human scores and the
//! cosines of the remaining pairs.
//!
//! For models that build vectors for unknown words (fastText),
//! [`OovPolicy::Lookup`] asks the model instead of dropping the pair.

use std::fmt;
use std::io::BufRead;
use std::path::Path;

use embed_core::{Error, Location, Lookup, Result, StaticEmbedder};
use ndarray::{Array1, ArrayView1};
use serde::{Deserialize, Serialize};

use crate::analogy::line_error;
use crate::stats::{pearson, spearman};
use crate::unit::unit_vector;
use crate::vocab::EvalVocab;

/// Two words and the similarity people gave them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WordPair {
    /// First word.
    pub first: String,
    /// Second word.
    pub second: String,
    /// Human similarity score.
    pub score: f64,
}

/// A word-pair similarity data set.
///
/// ```
/// use embed_eval::WordPairs;
/// let text = "# word1\tword2\tscore\ntiger\tcat\t7.35\nbook paper 7.46 extra columns\n";
/// let pairs = WordPairs::parse(text.as_bytes(), "ws.tsv").unwrap();
/// assert_eq!(pairs.pairs.len(), 2);
/// assert_eq!(pairs.pairs[1].second, "paper");
/// assert_eq!(pairs.name, "ws");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WordPairs {
    /// Name of the set (the file stem when read from a file).
    pub name: String,
    /// Pairs in file order.
    pub pairs: Vec<WordPair>,
}

impl WordPairs {
    /// Reads a word-pair file.
    pub fn read(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        Self::parse(std::io::BufReader::new(file), path)
    }

    /// Parses word-pair text; `source` names it in errors.
    ///
    /// Lines starting with `#` and blank lines are skipped. Other lines hold
    /// `word1 word2 score`, separated by tabs when the line has a tab (words
    /// may then contain spaces) and by whitespace otherwise; further columns
    /// are ignored. A set without pairs is an error.
    pub fn parse(reader: impl BufRead, source: impl AsRef<Path>) -> Result<Self> {
        let source = source.as_ref();
        let mut pairs = Vec::new();
        for (line_no, line) in (1u64..).zip(reader.lines()) {
            let line = line.map_err(|e| line_error(source, line_no, e))?;
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let fields: Vec<&str> = if line.contains('\t') {
                line.split('\t').map(str::trim).collect()
            } else {
                line.split_whitespace().collect()
            };
            let bad = |message: String| Error::format(source, Location::Line(line_no), message);
            let [first, second, score, ..] = fields.as_slice() else {
                return Err(bad(format!(
                    "expected `word1 word2 score`, found {} field(s)",
                    fields.len()
                )));
            };
            let score: f64 = score
                .parse()
                .ok()
                .filter(|s: &f64| s.is_finite())
                .ok_or_else(|| bad(format!("score `{score}` is not a finite number")))?;
            if first.is_empty() || second.is_empty() {
                return Err(bad("empty word".to_string()));
            }
            pairs.push(WordPair {
                first: first.to_string(),
                second: second.to_string(),
                score,
            });
        }
        if pairs.is_empty() {
            return Err(Error::format(source, Location::File, "no word pairs"));
        }
        Ok(WordPairs {
            name: source
                .file_stem()
                .map_or_else(String::new, |s| s.to_string_lossy().into_owned()),
            pairs,
        })
    }
}

/// What to do with a pair whose word is outside the evaluation vocabulary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum OovPolicy {
    /// Leave the pair out (gensim's `dummy4unknown=False`).
    #[default]
    Drop,
    /// Ask [`StaticEmbedder::lookup`] for the word (fastText synthesises a
    /// vector from its n-grams); drop the pair only when the model has none.
    Lookup,
}

/// Settings of a word-pair evaluation; the defaults are gensim's.
///
/// ```
/// use embed_eval::{OovPolicy, SimilarityOptions};
/// let options = SimilarityOptions { oov: OovPolicy::Lookup, ..SimilarityOptions::default() };
/// assert_eq!(options.restrict_vocab, 300_000);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimilarityOptions {
    /// Only the first this many vocabulary words count as known (gensim's
    /// default: 300000).
    pub restrict_vocab: usize,
    /// Compare words after upper-casing them (gensim's default: true).
    pub case_insensitive: bool,
    /// Handling of out-of-vocabulary words.
    pub oov: OovPolicy,
}

impl Default for SimilarityOptions {
    fn default() -> Self {
        SimilarityOptions {
            restrict_vocab: 300_000,
            case_insensitive: true,
            oov: OovPolicy::Drop,
        }
    }
}

/// The outcome of [`evaluate_word_pairs`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimilarityReport {
    /// Name of the data set.
    pub dataset: String,
    /// Pearson's correlation of human scores and cosines.
    pub pearson: f64,
    /// Spearman's rank correlation (ties share their average rank).
    pub spearman: f64,
    /// Pairs in the data set.
    pub pairs: usize,
    /// Pairs that entered the correlations.
    pub pairs_used: usize,
    /// Pairs with a word outside the evaluation vocabulary.
    pub oov_pairs: usize,
    /// `oov_pairs / pairs`, in percent (as gensim reports it).
    pub oov_ratio: f64,
}

impl fmt::Display for SimilarityReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: spearman {:.4}, pearson {:.4}, {} of {} pairs used, {} with unknown words ({:.1}%)",
            self.dataset,
            self.spearman,
            self.pearson,
            self.pairs_used,
            self.pairs,
            self.oov_pairs,
            self.oov_ratio
        )
    }
}

/// Evaluates `model` on a word-pair data set (gensim's `evaluate_word_pairs`).
///
/// Fails when no pair can be scored, as gensim does. With fewer than two
/// scored pairs, or constant scores, the correlations are NaN.
///
/// ```
/// use embed_eval::{evaluate_word_pairs, SimilarityOptions, WordPairs};
/// # use embed_core::{Embedder, Lookup, StaticEmbedder};
/// # use ndarray::{array, Array2, ArrayView2};
/// # struct Model { words: Vec<String>, m: Array2<f32> }
/// # impl Embedder for Model {
/// #     fn dim(&self) -> usize { 2 }
/// #     fn embed_words(&self, w: &[&str]) -> embed_core::Result<Array2<f32>> {
/// #         Ok(embed_core::embedder::embed_words_static(self, w))
/// #     }
/// # }
/// # impl StaticEmbedder for Model {
/// #     fn words(&self) -> &[String] { &self.words }
/// #     fn matrix(&self) -> ArrayView2<'_, f32> { self.m.view() }
/// #     fn lookup(&self, w: &str) -> Lookup<'_> {
/// #         match self.words.iter().position(|x| x == w) {
/// #             Some(i) => Lookup::InVocabulary(self.m.row(i)), None => Lookup::Unknown }
/// #     }
/// # }
/// let model = Model {
///     words: ["cat", "tiger", "car"].map(String::from).to_vec(),
///     m: array![[1.0, 0.1], [0.9, 0.3], [0.0, 1.0]],
/// };
/// let pairs = WordPairs::parse(
///     "cat\ttiger\t8\ncat\tcar\t2\ntiger\tcar\t3\ncat\tdog\t7\n".as_bytes(), "pairs")?;
/// let report = evaluate_word_pairs(&model, &pairs, &SimilarityOptions::default())?;
/// assert_eq!((report.pairs_used, report.oov_pairs), (3, 1));
/// assert!((report.spearman - 1.0).abs() < 1e-12);
/// assert!((report.oov_ratio - 25.0).abs() < 1e-12);
/// # Ok::<(), embed_core::Error>(())
/// ```
pub fn evaluate_word_pairs<E: StaticEmbedder + ?Sized>(
    model: &E,
    pairs: &WordPairs,
    options: &SimilarityOptions,
) -> Result<SimilarityReport> {
    if options.restrict_vocab == 0 {
        return Err(Error::invalid_parameter(
            "restrict_vocab",
            "must be at least 1",
        ));
    }
    let vocab = EvalVocab::new(
        model.words(),
        options.restrict_vocab,
        options.case_insensitive,
    );
    let matrix = model.matrix();
    let vector_of = |word: &str| -> Option<Array1<f32>> {
        if let Some(row) = vocab.get(word) {
            return Some(unit_vector(matrix.row(row)));
        }
        match (options.oov, model.lookup(word)) {
            (OovPolicy::Drop, _) | (OovPolicy::Lookup, Lookup::Unknown) => None,
            (OovPolicy::Lookup, Lookup::InVocabulary(v)) => Some(unit_vector(v)),
            (OovPolicy::Lookup, Lookup::Synthesized(v)) => Some(unit_vector(v.view())),
        }
    };

    let mut human = Vec::with_capacity(pairs.pairs.len());
    let mut model_scores = Vec::with_capacity(pairs.pairs.len());
    let mut oov_pairs = 0;
    for pair in &pairs.pairs {
        let known = vocab.get(&pair.first).is_some() && vocab.get(&pair.second).is_some();
        if !known {
            oov_pairs += 1;
        }
        if let (Some(a), Some(b)) = (vector_of(&pair.first), vector_of(&pair.second)) {
            human.push(pair.score);
            model_scores.push(cosine_of_units(a.view(), b.view()));
        }
    }
    if human.is_empty() {
        return Err(Error::InvalidInput(format!(
            "no pair of `{}` has both words in the model's vocabulary",
            pairs.name
        )));
    }
    Ok(SimilarityReport {
        dataset: pairs.name.clone(),
        pearson: pearson(&human, &model_scores),
        spearman: spearman(&human, &model_scores),
        pairs: pairs.pairs.len(),
        pairs_used: human.len(),
        oov_pairs,
        oov_ratio: 100.0 * oov_pairs as f64 / pairs.pairs.len() as f64,
    })
}

/// Dot product of two unit vectors (their cosine), computed in `f32` as
/// gensim does.
fn cosine_of_units(a: ArrayView1<'_, f32>, b: ArrayView1<'_, f32>) -> f64 {
    f64::from(a.dot(&b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_model::TestModel;
    use ndarray::array;

    fn parse_error(text: &str) -> String {
        WordPairs::parse(text.as_bytes(), "p.txt")
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn malformed_files_name_the_line() {
        assert_eq!(
            parse_error("# c\na\tb\t1\nx y\n"),
            "p.txt: line 3: expected `word1 word2 score`, found 2 field(s)"
        );
        assert_eq!(
            parse_error("a b high\n"),
            "p.txt: line 1: score `high` is not a finite number"
        );
        assert_eq!(
            parse_error("a b NaN\n"),
            "p.txt: line 1: score `NaN` is not a finite number"
        );
        assert_eq!(parse_error("\ta\t1\n"), "p.txt: line 1: empty word");
        assert_eq!(parse_error(""), "p.txt: file: no word pairs");
        assert_eq!(parse_error("# only\n\n"), "p.txt: file: no word pairs");
    }

    #[test]
    fn tabs_allow_multi_word_entries() {
        let pairs = WordPairs::parse("new york\tcity\t6.5\t1\t2\n".as_bytes(), "p").unwrap();
        assert_eq!(pairs.pairs[0].first, "new york");
        assert_eq!(pairs.pairs[0].score, 6.5);
    }

    fn model() -> TestModel {
        TestModel::new(&[
            ("cat", &[1.0, 0.0]),
            ("tiger", &[1.0, 0.2]),
            ("car", &[0.0, 1.0]),
            ("bus", &[0.1, 1.0]),
        ])
    }

    #[test]
    fn oov_pairs_are_dropped_and_counted() {
        let pairs = WordPairs::parse(
            "CAT tiger 9\ncat car 1\ncar bus 9.5\ncat dog 5\n".as_bytes(),
            "p",
        )
        .unwrap();
        let report = evaluate_word_pairs(&model(), &pairs, &SimilarityOptions::default()).unwrap();
        assert_eq!(
            (report.pairs, report.pairs_used, report.oov_pairs),
            (4, 3, 1)
        );
        assert_eq!(report.oov_ratio, 25.0);
        assert!((report.spearman - 1.0).abs() < 1e-12);
        // Restricting to two words leaves one pair: correlations undefined.
        let options = SimilarityOptions {
            restrict_vocab: 2,
            ..SimilarityOptions::default()
        };
        let report = evaluate_word_pairs(&model(), &pairs, &options).unwrap();
        assert_eq!(report.pairs_used, 1);
        assert!(report.pearson.is_nan());
        assert!(report.to_string().starts_with("p: spearman NaN"));
    }

    #[test]
    fn lookup_policy_uses_synthesised_vectors() {
        let mut subword = model();
        subword.synthesize = Some(array![0.9, 0.5]);
        let pairs =
            WordPairs::parse("cat tiger 9\ncat car 1\ncat dog 5\n".as_bytes(), "p").unwrap();
        let options = SimilarityOptions {
            oov: OovPolicy::Lookup,
            ..SimilarityOptions::default()
        };
        let report = evaluate_word_pairs(&subword, &pairs, &options).unwrap();
        assert_eq!((report.pairs_used, report.oov_pairs), (3, 1));
        assert!((report.spearman - 1.0).abs() < 1e-12);
        // Without synthesis the unknown word still drops its pair.
        let report = evaluate_word_pairs(&model(), &pairs, &options).unwrap();
        assert_eq!(report.pairs_used, 2);
    }

    #[test]
    fn all_pairs_unknown_is_an_error() {
        let pairs = WordPairs::parse("x y 1\n".as_bytes(), "p").unwrap();
        let e = evaluate_word_pairs(&model(), &pairs, &SimilarityOptions::default()).unwrap_err();
        assert!(e.to_string().contains("no pair of `p`"), "{e}");
    }

    #[test]
    fn report_serialises() {
        let pairs = WordPairs::parse("cat tiger 9\ncat car 1\n".as_bytes(), "p").unwrap();
        let report = evaluate_word_pairs(&model(), &pairs, &SimilarityOptions::default()).unwrap();
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["pairs_used"], 2);
        assert_eq!(json["oov_ratio"], 0.0);
    }
}
