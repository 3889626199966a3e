//! `embed bert train-vocab`, `pretrain` and `fill-mask` end to end on a
//! tiny corpus.

use std::path::Path;
use std::process::{Command, Output};

/// `embed bert pretrain` of a one-layer, 16-wide model on one thread, to
/// which each test adds its own flags.
fn tiny_pretrain<'a>(
    corpus: &'a str,
    output: &'a str,
    vocab: &'a str,
    max_length: &'a str,
) -> Vec<&'a str> {
    vec![
        "bert",
        "pretrain",
        "--corpus",
        corpus,
        "--output",
        output,
        "--vocab",
        vocab,
        "--hidden",
        "16",
        "--layers",
        "1",
        "--heads",
        "2",
        "--intermediate",
        "32",
        "--max-length",
        max_length,
        "--batch-size",
        "4",
        "--lr",
        "1e-3",
        "--threads",
        "1",
    ]
}

fn embed(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_embed"))
        .args(args)
        .output()
        .expect("the embed binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn write_corpus(dir: &Path) -> String {
    let mut corpus = String::new();
    for i in 0..80 {
        let noun = ["cat", "dog", "bird"][i % 3];
        let verb = ["sat", "ran", "slept"][(i / 3) % 3];
        corpus.push_str(&format!("The {noun} {verb} on the mat near the house.\n"));
        if i % 8 == 7 {
            corpus.push('\n');
        }
    }
    let path = dir.join("corpus.txt");
    std::fs::write(&path, corpus).unwrap();
    path.to_string_lossy().into_owned()
}

/// The test corpus in `dir` and a 60-token vocabulary trained on it with
/// `embed bert train-vocab`: their paths.
fn corpus_and_vocabulary(dir: &Path) -> (String, String) {
    let corpus = write_corpus(dir);
    let vocab = dir.join("vocab.txt").to_string_lossy().into_owned();
    let out = embed(&[
        "bert",
        "train-vocab",
        "--corpus",
        &corpus,
        "--size",
        "60",
        "--output",
        &vocab,
        "--lowercase",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    (corpus, vocab)
}

#[test]
fn vocabulary_pretraining_resume_and_fill_mask() {
    let dir = tempfile::tempdir().unwrap();
    let (corpus, vocab) = corpus_and_vocabulary(dir.path());
    let vocab = vocab.as_str();
    let tokens = std::fs::read_to_string(vocab).unwrap();
    assert_eq!(
        tokens.lines().take(5).collect::<Vec<_>>(),
        ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    );
    assert!(tokens.lines().any(|t| t == "the"), "{tokens}");

    let output = dir.path().join("model");
    let output = output.to_str().unwrap();
    let mut common = tiny_pretrain(&corpus, output, vocab, "16");
    common.extend(["--steps", "6", "--holdout", "0.1", "--eval-every", "3"]);
    let out = embed(&common);
    let log = text(&out.stderr);
    assert!(out.status.success(), "{log}");
    assert!(log.contains("held-out loss"), "{log}");
    assert!(log.contains("unigram cross-entropy"), "{log}");
    for file in [
        "config.json",
        "vocab.txt",
        "tokenizer_config.json",
        "model.safetensors",
        "optimizer.safetensors",
        "trainer_state.json",
    ] {
        assert!(Path::new(output).join(file).is_file(), "{file} missing");
    }

    // Writing over a checkpoint without resuming it is refused.
    let out = embed(&common);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("--resume"),
        "{}",
        text(&out.stderr)
    );

    // Resuming with another architecture is a typed error naming the field.
    let mut other = common.clone();
    other[common.iter().position(|&a| a == "--hidden").unwrap() + 1] = "32";
    other.extend(["--resume", output]);
    let out = embed(&other);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("hidden_size"),
        "{}",
        text(&out.stderr)
    );

    // A run stopped between the two renames of a checkpoint swap leaves
    // the last complete checkpoint as `<output>.previous`: resuming the
    // output resumes that one.
    let previous = format!("{output}.previous");
    std::fs::rename(output, &previous).unwrap();
    let mut resumed = common.clone();
    resumed.extend(["--resume", output]);
    let out = embed(&resumed);
    let log = text(&out.stderr);
    assert!(out.status.success(), "{log}");
    assert!(
        log.contains(&format!("resumed from {previous} at step 6")),
        "{log}"
    );
    assert!(log.contains("no step left"), "{log}");
    std::fs::rename(&previous, output).unwrap();

    let out = embed(&[
        "bert",
        "fill-mask",
        "--model",
        output,
        "--top-k",
        "3",
        "the [MASK] sat",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let line = text(&out.stdout);
    assert_eq!(line.lines().count(), 1, "{line}");
    assert_eq!(line.split('\t').count(), 4, "{line}");
}

#[test]
fn bad_pretraining_input_is_one_error_line() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = write_corpus(dir.path());
    let vocab = dir.path().join("vocab.txt");
    std::fs::write(&vocab, "[PAD]\n[UNK]\n[CLS]\n[SEP]\nthe\n").unwrap();
    let empty = dir.path().join("empty.txt");
    std::fs::write(&empty, "\n  \n").unwrap();
    let out_dir = dir.path().join("out");
    let run = |corpus: &str, extra: &[&str]| {
        let mut args = vec![
            "bert",
            "pretrain",
            "--corpus",
            corpus,
            "--output",
            out_dir.to_str().unwrap(),
            "--vocab",
            vocab.to_str().unwrap(),
            "--steps",
            "2",
            "--threads",
            "1",
        ];
        args.extend_from_slice(extra);
        let out = embed(&args);
        assert!(!out.status.success());
        let err = text(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{err}");
        err
    };
    assert!(run(&corpus, &[]).contains("[MASK]"));
    assert!(run(&corpus, &["--max-length", "2"]).contains("max_length"));
    assert!(run(&corpus, &["--mask-prob", "1.5"]).contains("mask_prob"));
    std::fs::write(&vocab, "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nthe\n").unwrap();
    assert!(run(empty.to_str().unwrap(), &[]).contains("no token"));
}

#[test]
fn next_sentence_pretraining_writes_bert_for_pretraining() {
    let dir = tempfile::tempdir().unwrap();
    let (corpus, vocab) = corpus_and_vocabulary(dir.path());
    let vocab = vocab.as_str();
    let output = dir.path().join("model");
    let output = output.to_str().unwrap();
    let mut common = tiny_pretrain(&corpus, output, vocab, "24");
    common.extend(["--holdout", "0.2"]);
    let mut first = common.clone();
    first.extend(["--steps", "3", "--nsp"]);
    let out = embed(&first);
    let log = text(&out.stderr);
    assert!(out.status.success(), "{log}");
    assert!(log.contains("sentence pairs"), "{log}");
    assert!(log.contains("nsp loss"), "{log}");
    assert!(log.contains("next-sentence baseline"), "{log}");
    let config = std::fs::read_to_string(Path::new(output).join("config.json")).unwrap();
    assert!(config.contains("BertForPreTraining"), "{config}");

    let out = embed(&[
        "bert",
        "fill-mask",
        "--model",
        output,
        "--next-sentence",
        "--pair",
        "the dog ran on the mat",
        "the cat sat on the mat",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let logits: Vec<f32> = serde_json::from_str(text(&out.stdout).trim()).unwrap();
    assert_eq!(logits.len(), 2);

    // Resuming without --nsp names the cause.
    let mut other = common.clone();
    other.extend(["--steps", "3", "--resume", output]);
    let out = embed(&other);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("next-sentence"),
        "{}",
        text(&out.stderr)
    );
    // With it, the run continues.
    other.push("--nsp");
    let out = embed(&other);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("resumed from") && text(&out.stderr).contains("no step left"),
        "{}",
        text(&out.stderr)
    );
}
