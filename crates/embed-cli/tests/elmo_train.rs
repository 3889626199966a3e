//! `embed elmo train` end to end: a tiny corpus in, a model `embed elmo
//! embed` reads out; resuming from a checkpoint; bad arguments.

use std::path::Path;
use std::process::{Command, Output, Stdio};

fn embed(args: &[&str], input: Option<&[u8]>) -> Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_embed"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the embed binary runs");
    let mut stdin = child.stdin.take().expect("stdin is piped");
    if let Some(input) = input {
        stdin.write_all(input).expect("embed reads its input");
    }
    drop(stdin);
    child.wait_with_output().expect("embed finishes")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

const CORPUS: &str = "the cat sat on the mat\nthe dog sat on the log\na cat saw a dog\n\
                      the mat was on the log\na dog and a cat sat\nthe end\n";

fn write_corpus(dir: &Path) -> String {
    let path = dir.join("corpus.txt");
    std::fs::write(&path, CORPUS.repeat(5)).unwrap();
    path.to_str().unwrap().to_string()
}

/// A tiny network so the test runs in well under a second of training.
const TINY: &[&str] = &[
    "--char-filters",
    "1:4,2:4",
    "--char-dim",
    "4",
    "--projection",
    "8",
    "--lstm-dim",
    "12",
    "--layers",
    "2",
    "--unroll",
    "5",
    "--batch-size",
    "3",
    "--samples",
    "6",
    "--threads",
    "1",
    "--heldout",
    "0.1",
    "--seed",
    "3",
];

#[test]
fn trains_a_model_that_elmo_embed_reads() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = write_corpus(dir.path());
    let out_dir = dir.path().join("model");
    let out_str = out_dir.to_str().unwrap();
    let mut args = vec!["elmo", "train", "--corpus", &corpus, "--output", out_str];
    args.extend_from_slice(TINY);
    args.extend_from_slice(&["--epochs", "2", "--bigram-baseline"]);
    let out = embed(&args, None);
    assert!(out.status.success(), "{}", stderr(&out));
    let log = stderr(&out);
    assert!(log.contains("held-out perplexity"), "{log}");
    assert!(
        log.contains("Kneser-Ney bigram held-out perplexity"),
        "{log}"
    );
    for file in [
        "options.json",
        "weights.hdf5",
        "vocab.txt",
        "heldout.jsonl",
        "bigram.json",
    ] {
        assert!(out_dir.join(file).is_file(), "{file} missing");
    }
    let vocab = std::fs::read_to_string(out_dir.join("vocab.txt")).unwrap();
    assert!(vocab.starts_with("</S>\n<S>\n<UNK>\nthe\n"), "{vocab}");
    let options: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("options.json")).unwrap())
            .unwrap();
    assert_eq!(options["lstm"]["projection_dim"], 8);
    assert_eq!(options["n_tokens_vocab"], vocab.lines().count());
    // Two epochs: two held-out measurements.
    let heldout = std::fs::read_to_string(out_dir.join("heldout.jsonl")).unwrap();
    assert_eq!(heldout.lines().count(), 2);

    let options = out_dir.join("options.json");
    let weights = out_dir.join("weights.hdf5");
    let out = embed(
        &[
            "elmo",
            "embed",
            "--options",
            options.to_str().unwrap(),
            "--weights",
            weights.to_str().unwrap(),
        ],
        Some(b"the cat sat\nunseenword\n"),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let lines: Vec<Vec<Vec<f64>>> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.iter().map(Vec::len).collect::<Vec<_>>(), [3, 1]);
    assert!(lines.iter().flatten().all(|v| v.len() == 16));
}

#[test]
fn resumes_from_its_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = write_corpus(dir.path());
    let train = |out: &Path, epochs: &str, extra: &[&str]| {
        let out_str = out.to_str().unwrap();
        let mut args = vec!["elmo", "train", "--corpus", &corpus, "--output", out_str];
        args.extend_from_slice(TINY);
        args.extend_from_slice(&["--epochs", epochs, "--checkpoint-every", "1000"]);
        args.extend_from_slice(extra);
        let out = embed(&args, None);
        assert!(out.status.success(), "{}", stderr(&out));
    };
    let whole = dir.path().join("whole");
    train(&whole, "2", &[]);
    let parts = dir.path().join("parts");
    train(&parts, "1", &[]);
    train(&parts, "2", &["--resume"]);
    let read = |d: &Path| std::fs::read(d.join("weights.hdf5")).unwrap();
    assert_eq!(
        read(&whole),
        read(&parts),
        "resumed training ends elsewhere"
    );
}

#[test]
fn bad_arguments_are_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = write_corpus(dir.path());
    let out_dir = dir.path().join("m");
    let out_str = out_dir.to_str().unwrap();
    let cases: [(&[&str], &str); 3] = [
        (&["--char-filters", "1x4"], "char-filters"),
        (&["--epochs", "0"], "epochs"),
        (&["--lstm-proj", "5"], "lstm_proj_dim"),
    ];
    for (extra, expected) in cases {
        let mut args = vec!["elmo", "train", "--corpus", &corpus, "--output", out_str];
        args.extend_from_slice(extra);
        let out = embed(&args, None);
        assert!(!out.status.success());
        assert!(stderr(&out).contains(expected), "{}", stderr(&out));
    }
    let missing = dir.path().join("missing.txt");
    let out = embed(
        &[
            "elmo",
            "train",
            "--corpus",
            missing.to_str().unwrap(),
            "--output",
            out_str,
        ],
        None,
    );
    assert!(!out.status.success());
    assert!(stderr(&out).contains("missing.txt"), "{}", stderr(&out));
}
