//! The figures of embed-eval equal gensim 4.4's on the same vectors.
//!
//! `tests/data/vectors.txt` and `tests/data/gensim.json` come from
//! `tests/data/make_gensim_fixture.py`. Analogy counts and every predicted
//! word must be exactly equal; correlations agree within 1e-6 (cosines are
//! `f32`, as in gensim, but summed in a different order) and
//! out-of-vocabulary ratios within 1e-9.

use std::path::{Path, PathBuf};

use embed_core::formats::{read_vectors, ReadOptions, VectorFormat};
use embed_core::WordVectors;
use embed_eval::{
    evaluate_analogies, evaluate_word_pairs, AnalogyMethod, AnalogyOptions, AnalogySet,
    SimilarityOptions, WordPairs,
};
use serde_json::Value;

const CORRELATION_TOLERANCE: f64 = 1e-6;

fn shared_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("EMBED_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared")));
    dir.join("data/eval").is_dir().then_some(dir)
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

struct Fixture {
    shared: PathBuf,
    vectors: WordVectors,
    gensim: Value,
}

fn load() -> Option<Fixture> {
    let Some(shared) = shared_dir() else {
        eprintln!("skipped: ../shared/data/eval not found (set EMBED_SHARED_DIR)");
        return None;
    };
    let gensim: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("gensim.json")).unwrap()).unwrap();
    Some(Fixture {
        shared,
        vectors: read_vectors(
            &fixture("vectors.txt"),
            Some(VectorFormat::Word2VecText),
            &ReadOptions::default(),
        )
        .unwrap(),
        gensim,
    })
}

#[test]
fn analogy_counts_equal_gensim() {
    let Some(fx) = load() else { return };
    let set = AnalogySet::read(fx.shared.join("data/eval/questions-words.txt")).unwrap();
    let runs = fx.gensim["analogy"].as_array().unwrap();
    assert_eq!(runs.len(), 5);
    for run in runs {
        let method = match run["method"].as_str().unwrap() {
            "3CosAdd" => AnalogyMethod::CosAdd,
            "3CosMul" => AnalogyMethod::CosMul,
            other => panic!("unknown method {other}"),
        };
        let options = AnalogyOptions {
            restrict_vocab: run["restrict_vocab"].as_u64().unwrap() as usize,
            case_insensitive: run["case_insensitive"].as_bool().unwrap(),
            method,
            record_answers: true,
        };
        let report = evaluate_analogies(&fx.vectors, &set, &options).unwrap();
        let label = format!(
            "{method} restrict {} ci {}",
            options.restrict_vocab, options.case_insensitive
        );

        let expected = run["sections"].as_array().unwrap();
        // gensim lists the sections then "Total accuracy".
        assert_eq!(expected.len(), report.sections.len() + 1, "{label}");
        for (ours, theirs) in report
            .sections
            .iter()
            .chain(std::iter::once(&report.total))
            .zip(expected)
        {
            let counts = |v: &Value| {
                (
                    v["correct"].as_u64().unwrap() as usize,
                    v["incorrect"].as_u64().unwrap() as usize,
                )
            };
            assert_eq!(
                (ours.correct, ours.incorrect),
                counts(theirs),
                "{label}: section {}",
                theirs["name"]
            );
            if theirs["name"] != "Total accuracy" {
                assert_eq!(ours.name, theirs["name"].as_str().unwrap());
            }
        }
        assert!(
            report.total.correct > 0,
            "{label}: the fixture must answer some questions"
        );
        if let Some(skipped) = run.get("oov") {
            assert_eq!(report.skipped as u64, skipped.as_u64().unwrap(), "{label}");
            assert_eq!(
                report.questions as u64,
                run["questions"].as_u64().unwrap(),
                "{label}"
            );
        }
        if let Some(predictions) = run.get("predictions") {
            let predictions = predictions.as_array().unwrap();
            let answers = report.answers.as_ref().unwrap();
            assert_eq!(answers.len(), predictions.len(), "{label}");
            for (answer, theirs) in answers.iter().zip(predictions) {
                let ours = answer.predicted.as_ref().map(|w| w.to_uppercase());
                assert_eq!(
                    ours.as_deref(),
                    theirs.as_str(),
                    "{label}: question {:?}",
                    answer.question
                );
            }
        }
    }
}

#[test]
fn word_pair_correlations_equal_gensim() {
    let Some(fx) = load() else { return };
    for run in fx.gensim["similarity"].as_array().unwrap() {
        let file = run["file"].as_str().unwrap();
        let pairs = WordPairs::read(fx.shared.join("data/eval").join(file)).unwrap();
        let options = SimilarityOptions {
            restrict_vocab: run["restrict_vocab"].as_u64().unwrap() as usize,
            ..SimilarityOptions::default()
        };
        let report = evaluate_word_pairs(&fx.vectors, &pairs, &options).unwrap();
        let label = format!("{file} restrict {}", options.restrict_vocab);
        let close = |ours: f64, key: &str, tolerance: f64| {
            let theirs = run[key].as_f64().unwrap();
            assert!(
                (ours - theirs).abs() <= tolerance,
                "{label}: {key} {ours} vs gensim {theirs}"
            );
        };
        close(report.pearson, "pearson", CORRELATION_TOLERANCE);
        close(report.spearman, "spearman", CORRELATION_TOLERANCE);
        close(report.oov_ratio, "oov_ratio", 1e-9);
    }
}
