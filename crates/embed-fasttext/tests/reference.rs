//! Models made by the fastText tool (see tests/fixtures/make_*.py) load here
//! and give the tool's word vectors and predictions.

use embed_core::{Lookup, StaticEmbedder};
use embed_fasttext::FastText;
use serde_json::Value;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
/// The tool's vectors and probabilities are compared within this.
const TOLERANCE: f32 = 1e-5;

fn fixture(name: &str) -> String {
    format!("{FIXTURES}/{name}")
}

fn json(name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixture(name)).unwrap()).unwrap()
}

fn assert_close(got: &[f32], want: &Value, what: &str) {
    let want: Vec<f32> = want
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap() as f32)
        .collect();
    assert_eq!(got.len(), want.len(), "{what}");
    for (g, w) in got.iter().zip(&want) {
        assert!((g - w).abs() <= TOLERANCE, "{what}: {got:?} vs {want:?}");
    }
}

#[test]
fn word_vectors_match_the_tool() {
    let model = FastText::load(fixture("tiny.bin")).unwrap();
    let reference = json("tiny_vectors.json");
    assert_eq!(
        model.words().len() as u64,
        reference["nwords"].as_u64().unwrap()
    );
    for word in reference["in_vocabulary"].as_array().unwrap() {
        let word = word.as_str().unwrap();
        let lookup = model.lookup(word);
        assert!(lookup.is_in_vocabulary(), "{word}");
        let v = lookup.to_vector().unwrap();
        assert_close(v.as_slice().unwrap(), &reference["vectors"][word], word);
    }
    for word in reference["out_of_vocabulary"].as_array().unwrap() {
        let word = word.as_str().unwrap();
        let v = model.word_vector(word);
        assert_close(v.as_slice().unwrap(), &reference["vectors"][word], word);
        match model.lookup(word) {
            Lookup::Synthesized(s) => assert_eq!(s, v, "{word}"),
            Lookup::Unknown => assert!(v.iter().all(|&x| x == 0.0), "{word}"),
            Lookup::InVocabulary(_) => panic!("{word} should be out of vocabulary"),
        }
    }
}

#[test]
fn predictions_match_the_tool() {
    let model = FastText::load(fixture("tiny_supervised.bin")).unwrap();
    let reference = json("tiny_predictions.json");
    for case in reference.as_array().unwrap() {
        let text = case["text"].as_str().unwrap();
        let got = model.predict(text, 3, 0.0).unwrap();
        let labels: Vec<&str> = case["labels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l.as_str().unwrap())
            .collect();
        let got_labels: Vec<&str> = got.iter().map(|p| p.label.as_str()).collect();
        assert_eq!(got_labels, labels, "{text}");
        let probs: Vec<f32> = got.iter().map(|p| p.probability).collect();
        assert_close(&probs, &case["probs"], text);
    }
}

#[test]
fn threshold_drops_improbable_labels() {
    let model = FastText::load(fixture("tiny_supervised.bin")).unwrap();
    let text = "How do I keep bread fresh?";
    let all = model.predict(text, 5, 0.0).unwrap();
    let cut = all[1].probability;
    let kept = model.predict(text, 5, cut).unwrap();
    assert!(kept.len() < all.len() && !kept.is_empty());
    assert!(kept.iter().all(|p| p.probability >= cut - TOLERANCE));
}

#[test]
fn saved_models_round_trip_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["tiny.bin", "tiny_supervised.bin"] {
        let model = FastText::load(fixture(name)).unwrap();
        let path = dir.path().join(name);
        model.save_bin(&path).unwrap();
        assert_eq!(
            std::fs::read(&path).unwrap(),
            std::fs::read(fixture(name)).unwrap(),
            "{name}"
        );
    }
}

#[test]
fn vec_file_holds_every_vocabulary_vector() {
    let model = FastText::load(fixture("tiny.bin")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tiny.vec");
    model.save_vec(&path).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next().unwrap(), format!("{} 10", model.words().len()));
    let first: Vec<&str> = lines.next().unwrap().split(' ').collect();
    assert_eq!(first[0], model.words()[0]);
    let want = model.word_vector(first[0]);
    for (s, w) in first[1..].iter().zip(want.iter()) {
        assert!((s.parse::<f32>().unwrap() - w).abs() < 1e-5);
    }
}

#[test]
fn supervised_test_reports_precision_and_recall() {
    let model = FastText::load(fixture("tiny_supervised.bin")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("valid.txt");
    std::fs::write(
        &path,
        "__label__baking How long to bake bread?\n__label__eggs __label__nope Boiled eggs\nno labels here\n",
    )
    .unwrap();
    let report = model.test(&path, 1, 0.0).unwrap();
    // The unknown label still counts as gold: fastText ignores it, so only
    // `__label__eggs` counts on the second line.
    assert_eq!(report.examples, 2);
    assert!(report.precision >= 0.0 && report.precision <= 1.0);
    assert!((report.recall - report.precision).abs() < 1e-12); // one gold, one prediction each
}
