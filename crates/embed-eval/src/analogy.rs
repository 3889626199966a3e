//! The word analogy test: "a is to b as c is to ?".
//!
//! Reads the Google `questions-words.txt` format (`: section` lines, then one
//! question `a b c d` per line) and evaluates a model the way gensim 4.4's
//! `KeyedVectors.evaluate_word_analogies` does:
//!
//! * only the first `restrict_vocab` words of the model take part, both as
//!   question words and as candidate answers;
//! * with `case_insensitive`, words are upper-cased and the first vocabulary
//!   row of each upper-cased form stands for it;
//! * a question with a word outside that vocabulary is skipped and counted;
//! * the answer is the best-scoring word that is not one of `a`, `b`, `c`
//!   among the five best candidates other than the three input rows (if all
//!   five are input words after case folding, the fifth one is the answer,
//!   which is then wrong unless `d` repeats an input word).
//!
//! Scores come from one matrix product per block of questions, blocks run in
//! parallel.

use std::fmt;
use std::io::BufRead;
use std::path::Path;

use embed_core::{Error, Location, Result, StaticEmbedder};
use ndarray::{Array2, ArrayView1, Zip};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use embed_core::kernels::top_k;

use crate::unit::{contiguous, unit_rows};
use crate::vocab::EvalVocab;

/// How the answer word of an analogy is scored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum AnalogyMethod {
    /// Cosine with `b - a + c` (Mikolov et al.; gensim's `most_similar`).
    #[default]
    #[serde(rename = "3CosAdd")]
    CosAdd,
    /// `cos'(w, b) · cos'(w, c) / (cos'(w, a) + 1e-6)` with cosines shifted to
    /// `[0, 1]` (Levy and Goldberg; gensim's `most_similar_cosmul`).
    ///
    /// Candidates are the restricted vocabulary, as for 3CosAdd. (gensim 4.4's
    /// `evaluate_word_analogies` accepts `similarity_function` but always
    /// uses `most_similar`, and `most_similar_cosmul` ignores
    /// `restrict_vocab`; the two agree when the restriction covers the whole
    /// vocabulary.)
    #[serde(rename = "3CosMul")]
    CosMul,
}

impl fmt::Display for AnalogyMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AnalogyMethod::CosAdd => "3CosAdd",
            AnalogyMethod::CosMul => "3CosMul",
        })
    }
}

/// Settings of an analogy evaluation; the defaults are gensim's.
///
/// ```
/// use embed_eval::{AnalogyMethod, AnalogyOptions};
/// let options = AnalogyOptions { restrict_vocab: 3000, ..AnalogyOptions::default() };
/// assert_eq!(options.method, AnalogyMethod::CosAdd);
/// assert!(options.case_insensitive);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnalogyOptions {
    /// Only the first this many vocabulary words are questions' words and
    /// candidate answers (gensim's default: 30000).
    pub restrict_vocab: usize,
    /// Compare words after upper-casing them (gensim's default: true).
    pub case_insensitive: bool,
    /// The scoring of candidate answers.
    pub method: AnalogyMethod,
    /// Keep every evaluated question with its predicted word in the report.
    pub record_answers: bool,
}

impl Default for AnalogyOptions {
    fn default() -> Self {
        AnalogyOptions {
            restrict_vocab: 30_000,
            case_insensitive: true,
            method: AnalogyMethod::CosAdd,
            record_answers: false,
        }
    }
}

impl AnalogyOptions {
    fn validate(&self) -> Result<()> {
        if self.restrict_vocab == 0 {
            return Err(Error::invalid_parameter(
                "restrict_vocab",
                "must be at least 1",
            ));
        }
        Ok(())
    }
}

/// One section of an analogy file: its name and its questions `[a, b, c, d]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnalogySection {
    /// The name after `:` (e.g. `capital-common-countries`).
    pub name: String,
    /// Questions as written in the file: `a` is to `b` as `c` is to `d`.
    pub questions: Vec<[String; 4]>,
}

impl AnalogySection {
    /// Whether the section tests syntax (the Google set names those `gram…`).
    pub fn is_syntactic(&self) -> bool {
        is_syntactic(&self.name)
    }
}

fn is_syntactic(name: &str) -> bool {
    name.starts_with("gram")
}

/// An analogy test set in the Google `questions-words.txt` format.
///
/// ```
/// use embed_eval::AnalogySet;
/// let text = ": capitals\nathens greece paris france\n\n: gram-plural\ncat cats dog dogs\n";
/// let set = AnalogySet::parse(text.as_bytes(), "questions.txt").unwrap();
/// assert_eq!(set.sections.len(), 2);
/// assert_eq!(set.sections[1].questions[0][3], "dogs");
/// assert_eq!(set.len(), 2);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnalogySet {
    /// Name of the set (the file stem when read from a file).
    pub name: String,
    /// Sections in file order.
    pub sections: Vec<AnalogySection>,
}

impl AnalogySet {
    /// Reads an analogy file.
    pub fn read(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        Self::parse(std::io::BufReader::new(file), path)
    }

    /// Parses analogy text; `source` names it in errors.
    ///
    /// Blank lines are ignored; a line starting with `:` opens a section;
    /// every other line must hold exactly four words and follow a section
    /// line. A set without questions is an error.
    pub fn parse(reader: impl BufRead, source: impl AsRef<Path>) -> Result<Self> {
        let source = source.as_ref();
        let mut sections: Vec<AnalogySection> = Vec::new();
        for (line_no, line) in (1u64..).zip(reader.lines()) {
            let line = line.map_err(|e| line_error(source, line_no, e))?;
            let text = line.trim();
            if text.is_empty() {
                continue;
            }
            if text.starts_with(':') {
                let name = text.trim_start_matches([':', ' ']).trim().to_string();
                sections.push(AnalogySection {
                    name,
                    questions: Vec::new(),
                });
                continue;
            }
            let Some(section) = sections.last_mut() else {
                return Err(Error::format(
                    source,
                    Location::Line(line_no),
                    "question before the first `: section` line",
                ));
            };
            let words: Vec<&str> = text.split_whitespace().collect();
            let question: [&str; 4] = words.as_slice().try_into().map_err(|_| {
                Error::format(
                    source,
                    Location::Line(line_no),
                    format!("expected 4 words, found {}", words.len()),
                )
            })?;
            section.questions.push(question.map(str::to_string));
        }
        let set = AnalogySet {
            name: source
                .file_stem()
                .map_or_else(String::new, |s| s.to_string_lossy().into_owned()),
            sections,
        };
        if set.is_empty() {
            return Err(Error::format(
                source,
                Location::File,
                "no analogy questions",
            ));
        }
        Ok(set)
    }

    /// Number of questions over all sections.
    pub fn len(&self) -> usize {
        self.sections.iter().map(|s| s.questions.len()).sum()
    }

    /// Whether the set holds no question.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

pub(crate) fn line_error(source: &Path, line_no: u64, e: std::io::Error) -> Error {
    if e.kind() == std::io::ErrorKind::InvalidData {
        Error::format(source, Location::Line(line_no), "not valid UTF-8")
    } else {
        Error::io(source, e)
    }
}

/// Correct and incorrect answers of one section (or a sum of sections).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SectionScore {
    /// Section name, or `semantic`, `syntactic`, `total`.
    pub name: String,
    /// Questions answered correctly.
    pub correct: usize,
    /// Questions evaluated and answered wrongly.
    pub incorrect: usize,
    /// `correct / (correct + incorrect)`, 0 when nothing was evaluated.
    pub accuracy: f64,
}

impl SectionScore {
    fn new(name: impl Into<String>, correct: usize, incorrect: usize) -> Self {
        let evaluated = correct + incorrect;
        let accuracy = if evaluated == 0 {
            0.0
        } else {
            correct as f64 / evaluated as f64
        };
        SectionScore {
            name: name.into(),
            correct,
            incorrect,
            accuracy,
        }
    }

    fn sum<'a>(name: &str, parts: impl Iterator<Item = &'a SectionScore>) -> Self {
        let (correct, incorrect) = parts.fold((0, 0), |(c, i), s| (c + s.correct, i + s.incorrect));
        SectionScore::new(name, correct, incorrect)
    }

    /// Questions evaluated (not skipped).
    pub fn evaluated(&self) -> usize {
        self.correct + self.incorrect
    }
}

/// One evaluated question and the model's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    /// Index of the question's section in [`AnalogySet::sections`].
    pub section: usize,
    /// The question as written in the file.
    pub question: [String; 4],
    /// The vocabulary word chosen as answer (none when the vocabulary has no
    /// candidate besides the question's words).
    pub predicted: Option<String>,
    /// Whether the answer is the expected word (after case folding).
    pub correct: bool,
}

/// The outcome of [`evaluate_analogies`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnalogyReport {
    /// Name of the analogy set.
    pub dataset: String,
    /// Scoring method.
    pub method: AnalogyMethod,
    /// Vocabulary restriction used.
    pub restrict_vocab: usize,
    /// Whether case was folded.
    pub case_insensitive: bool,
    /// Per section, in file order.
    pub sections: Vec<SectionScore>,
    /// Sum over the sections not named `gram…`.
    pub semantic: SectionScore,
    /// Sum over the `gram…` sections.
    pub syntactic: SectionScore,
    /// Sum over all sections (gensim's "Total accuracy").
    pub total: SectionScore,
    /// Questions in the set.
    pub questions: usize,
    /// Questions skipped because a word is outside the vocabulary.
    pub skipped: usize,
    /// `skipped / questions`, in percent (as gensim logs it).
    pub oov_ratio: f64,
    /// Every evaluated question with its answer, when asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answers: Option<Vec<Answer>>,
}

impl fmt::Display for AnalogyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{}: {} over the first {} words{}",
            self.dataset,
            self.method,
            self.restrict_vocab,
            if self.case_insensitive {
                ", case-insensitive"
            } else {
                ""
            }
        )?;
        let width = self
            .sections
            .iter()
            .map(|s| s.name.chars().count())
            .max()
            .unwrap_or(0)
            .max(9);
        writeln!(
            f,
            "{:<width$}  {:>8}  {:>8}  {:>8}",
            "section", "correct", "total", "accuracy"
        )?;
        let row = |f: &mut fmt::Formatter<'_>, s: &SectionScore| {
            writeln!(
                f,
                "{:<width$}  {:>8}  {:>8}  {:>7.2}%",
                s.name,
                s.correct,
                s.evaluated(),
                100.0 * s.accuracy
            )
        };
        for section in &self.sections {
            row(f, section)?;
        }
        writeln!(f, "{}", "-".repeat(width + 30))?;
        row(f, &self.semantic)?;
        row(f, &self.syntactic)?;
        row(f, &self.total)?;
        write!(
            f,
            "{} of {} questions skipped for out-of-vocabulary words ({:.1}%)",
            self.skipped, self.questions, self.oov_ratio
        )
    }
}

/// A question whose four words are in the evaluation vocabulary, by row.
struct Item {
    section: usize,
    question: usize,
    rows: [usize; 4],
}

/// Questions scored together by one matrix product.
const BLOCK: usize = 64;

/// Candidates gensim looks at: `topn = 5` answers after dropping the inputs.
const CANDIDATES: usize = 5;

/// Evaluates `model` on an analogy set (gensim's `evaluate_word_analogies`).
///
/// ```
/// use embed_eval::{evaluate_analogies, AnalogyOptions, AnalogySet};
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
/// // man : king :: woman : queen, with "queen" = king - man + woman.
/// let model = Model {
///     words: ["man", "king", "woman", "queen", "apple"].map(String::from).to_vec(),
///     m: array![[1.0, 0.0], [1.0, 1.0], [0.2, 0.0], [0.2, 1.0], [-1.0, -0.5]],
/// };
/// let set = AnalogySet::parse(": family\nman king woman queen\nman king pear plum\n".as_bytes(), "q")?;
/// let report = evaluate_analogies(&model, &set, &AnalogyOptions::default())?;
/// assert_eq!((report.total.correct, report.total.incorrect, report.skipped), (1, 0, 1));
/// # Ok::<(), embed_core::Error>(())
/// ```
pub fn evaluate_analogies<E: StaticEmbedder + ?Sized>(
    model: &E,
    set: &AnalogySet,
    options: &AnalogyOptions,
) -> Result<AnalogyReport> {
    options.validate()?;
    let words = model.words();
    let vocab = EvalVocab::new(words, options.restrict_vocab, options.case_insensitive);

    let mut items = Vec::new();
    let mut skipped = 0;
    for (s, section) in set.sections.iter().enumerate() {
        for (q, question) in section.questions.iter().enumerate() {
            let rows = [0, 1, 2, 3].map(|i| vocab.get(&question[i]));
            match rows {
                [Some(a), Some(b), Some(c), Some(d)] => items.push(Item {
                    section: s,
                    question: q,
                    rows: [a, b, c, d],
                }),
                _ => skipped += 1,
            }
        }
    }

    let unit = unit_rows(model.matrix(), vocab.rows());
    let predictions: Vec<Vec<Option<usize>>> = items
        .par_chunks(BLOCK)
        .map(|block| predict_block(&unit, &vocab, block, options.method))
        .collect();

    let mut counts = vec![(0usize, 0usize); set.sections.len()];
    let mut answers = options.record_answers.then(Vec::new);
    for (item, predicted) in items.iter().zip(predictions.into_iter().flatten()) {
        let correct = predicted.map(|row| vocab.canonical(row)) == Some(item.rows[3]);
        let count = &mut counts[item.section];
        if correct {
            count.0 += 1;
        } else {
            count.1 += 1;
        }
        if let Some(answers) = answers.as_mut() {
            answers.push(Answer {
                section: item.section,
                question: set.sections[item.section].questions[item.question].clone(),
                predicted: predicted.map(|row| words[row].clone()),
                correct,
            });
        }
    }

    let sections: Vec<SectionScore> = set
        .sections
        .iter()
        .zip(&counts)
        .map(|(s, &(correct, incorrect))| SectionScore::new(s.name.clone(), correct, incorrect))
        .collect();
    let questions = set.len();
    Ok(AnalogyReport {
        dataset: set.name.clone(),
        method: options.method,
        restrict_vocab: options.restrict_vocab,
        case_insensitive: options.case_insensitive,
        semantic: SectionScore::sum(
            "semantic",
            sections.iter().filter(|s| !is_syntactic(&s.name)),
        ),
        syntactic: SectionScore::sum(
            "syntactic",
            sections.iter().filter(|s| is_syntactic(&s.name)),
        ),
        total: SectionScore::sum("total", sections.iter()),
        sections,
        questions,
        skipped,
        oov_ratio: if questions == 0 {
            0.0
        } else {
            100.0 * skipped as f64 / questions as f64
        },
        answers,
    })
}

/// The answer row of every question of `block`.
fn predict_block(
    unit: &Array2<f32>,
    vocab: &EvalVocab,
    block: &[Item],
    method: AnalogyMethod,
) -> Vec<Option<usize>> {
    let dim = unit.ncols();
    match method {
        AnalogyMethod::CosAdd => {
            // Cosine with the normalised mean of b, c, -a ranks like the dot
            // product with b + c - a.
            let mut queries = Array2::<f32>::zeros((block.len(), dim));
            for (mut query, item) in queries.rows_mut().into_iter().zip(block) {
                let [a, b, c, _] = item.rows;
                Zip::from(&mut query)
                    .and(unit.row(a))
                    .and(unit.row(b))
                    .and(unit.row(c))
                    .for_each(|q, &a, &b, &c| *q = b + c - a);
            }
            let scores = queries.dot(&unit.t());
            block
                .iter()
                .zip(scores.rows())
                .map(|(item, scores)| choose_answer(vocab, item, &contiguous(scores)))
                .collect()
        }
        AnalogyMethod::CosMul => {
            let mut queries = Array2::<f32>::zeros((3 * block.len(), dim));
            for (i, item) in block.iter().enumerate() {
                for k in 0..3 {
                    queries.row_mut(3 * i + k).assign(&unit.row(item.rows[k]));
                }
            }
            let cosines = queries.dot(&unit.t());
            let mut scores = Vec::with_capacity(unit.nrows());
            block
                .iter()
                .enumerate()
                .map(|(i, item)| {
                    scores.clear();
                    scores.extend(cosmul_scores(
                        cosines.row(3 * i),
                        cosines.row(3 * i + 1),
                        cosines.row(3 * i + 2),
                    ));
                    choose_answer(vocab, item, &scores)
                })
                .collect()
        }
    }
}

/// 3CosMul scores from the cosines with `a`, `b` and `c`, shifted to [0, 1].
fn cosmul_scores<'a>(
    cos_a: ArrayView1<'a, f32>,
    cos_b: ArrayView1<'a, f32>,
    cos_c: ArrayView1<'a, f32>,
) -> impl Iterator<Item = f32> + 'a {
    let shift = |x: f32| (1.0 + x) / 2.0;
    cos_a
        .into_iter()
        .zip(cos_b)
        .zip(cos_c)
        .map(move |((&a, &b), &c)| shift(b) * shift(c) / (shift(a) + 1e-6))
}

/// gensim's choice among the scored rows: the best five rows other than the
/// input rows, then the first of those whose word is not an input word.
fn choose_answer(vocab: &EvalVocab, item: &Item, scores: &[f32]) -> Option<usize> {
    let inputs = &item.rows[..3];
    let mut predicted = None;
    for (row, _) in top_k(scores, CANDIDATES, |row| inputs.contains(&row)) {
        predicted = Some(row);
        if !inputs.contains(&vocab.canonical(row)) {
            break;
        }
    }
    predicted
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_model::TestModel;

    fn set(text: &str) -> AnalogySet {
        AnalogySet::parse(text.as_bytes(), "test.txt").unwrap()
    }

    fn parse_error(text: &str) -> String {
        AnalogySet::parse(text.as_bytes(), "test.txt")
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn malformed_files_name_the_line() {
        assert_eq!(
            parse_error(": s\na b c d\na b c\n"),
            "test.txt: line 3: expected 4 words, found 3"
        );
        assert_eq!(
            parse_error("\na b c d\n"),
            "test.txt: line 2: question before the first `: section` line"
        );
        assert_eq!(parse_error(""), "test.txt: file: no analogy questions");
        assert_eq!(
            parse_error(": a\n: b\n"),
            "test.txt: file: no analogy questions"
        );
        let bytes = b": s\na b c \xff\n";
        let e = AnalogySet::parse(&bytes[..], "x").unwrap_err().to_string();
        assert_eq!(e, "x: line 2: not valid UTF-8");
    }

    #[test]
    fn section_names_are_trimmed_like_gensim() {
        let s = set(":  gram1-x \nA b c d\n: city\na b c d\n");
        assert_eq!(s.sections[0].name, "gram1-x");
        assert!(s.sections[0].is_syntactic());
        assert!(!s.sections[1].is_syntactic());
        assert_eq!(s.name, "test");
    }

    fn model() -> TestModel {
        TestModel::new(&[
            ("man", &[1.0, 0.0, 0.0]),
            ("king", &[1.0, 1.0, 0.0]),
            ("woman", &[0.0, 0.0, 1.0]),
            ("queen", &[0.0, 1.0, 1.0]),
            // A case variant of an input, nearest to the target: it must be
            // passed over as the input word it folds to.
            ("Woman", &[0.0, 0.9, 1.0]),
            ("zebra", &[-1.0, -1.0, -1.0]),
        ])
    }

    #[test]
    fn case_variants_of_inputs_are_not_answers() {
        let questions = set(": family\nMAN king woman queen\n");
        let report = evaluate_analogies(&model(), &questions, &AnalogyOptions::default()).unwrap();
        assert_eq!(report.total.correct, 1);
        // Case-sensitively "MAN" is unknown.
        let options = AnalogyOptions {
            case_insensitive: false,
            ..AnalogyOptions::default()
        };
        let report = evaluate_analogies(&model(), &questions, &options).unwrap();
        assert_eq!((report.total.evaluated(), report.skipped), (0, 1));
        assert_eq!(report.oov_ratio, 100.0);
    }

    #[test]
    fn restriction_removes_questions_and_candidates() {
        let questions = set(": family\nman king woman queen\n: gram\nman king woman zebra\n");
        let options = AnalogyOptions {
            restrict_vocab: 4,
            record_answers: true,
            ..AnalogyOptions::default()
        };
        let report = evaluate_analogies(&model(), &questions, &options).unwrap();
        assert_eq!(report.skipped, 1);
        assert_eq!(report.semantic.correct, 1);
        assert_eq!(report.syntactic.evaluated(), 0);
        let answers = report.answers.unwrap();
        assert_eq!(answers.len(), 1);
        assert_eq!(answers[0].predicted.as_deref(), Some("queen"));
    }

    #[test]
    fn cosmul_solves_the_toy_analogy() {
        let questions = set(": family\nman king woman queen\n");
        let options = AnalogyOptions {
            method: AnalogyMethod::CosMul,
            record_answers: true,
            ..AnalogyOptions::default()
        };
        let report = evaluate_analogies(&model(), &questions, &options).unwrap();
        assert_eq!(report.total.correct, 1);
        assert_eq!(report.method.to_string(), "3CosMul");
    }

    #[test]
    fn tiny_vocabulary_has_no_answer() {
        let tiny = TestModel::new(&[("a", &[1.0, 0.0]), ("b", &[0.0, 1.0])]);
        let questions = set(": s\na b a b\n");
        let options = AnalogyOptions {
            record_answers: true,
            ..AnalogyOptions::default()
        };
        let report = evaluate_analogies(&tiny, &questions, &options).unwrap();
        assert_eq!(report.total.incorrect, 1);
        assert_eq!(report.answers.unwrap()[0].predicted, None);
    }

    #[test]
    fn zero_restriction_is_rejected() {
        let options = AnalogyOptions {
            restrict_vocab: 0,
            ..AnalogyOptions::default()
        };
        let e = evaluate_analogies(&model(), &set(": s\na b c d\n"), &options).unwrap_err();
        assert!(e.to_string().contains("`restrict_vocab`"));
    }

    #[test]
    fn report_displays_a_table_and_serialises() {
        let report = evaluate_analogies(
            &model(),
            &set(": family\nman king woman queen\n"),
            &AnalogyOptions::default(),
        )
        .unwrap();
        let text = report.to_string();
        assert!(text.contains("family"), "{text}");
        assert!(text.contains("100.00%"), "{text}");
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["method"], "3CosAdd");
        assert_eq!(json["total"]["correct"], 1);
        assert!(json.get("answers").is_none());
    }
}
