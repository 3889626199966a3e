//! End-to-end tests of the `embed` binary: exit codes, one-line errors,
//! JSON output that equals the library's (and so gensim's) figures.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn embed(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_embed"))
        .args(args)
        .output()
        .expect("the embed binary runs")
}

/// Runs `embed` with `args`, writing `input` to its standard input.
fn embed_with_input(args: &[&str], input: &[u8]) -> Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_embed"))
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the embed binary runs");
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(input)
        .expect("embed reads its input");
    child.wait_with_output().expect("embed finishes")
}

fn fixture_vectors() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../embed-eval/tests/data/vectors.txt")
}

fn shared_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("EMBED_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    dir.join("data/eval").is_dir().then_some(dir)
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn missing_vectors_file_is_one_error_line_and_failure() {
    let out = embed(&["nn", "--vectors", "/nonexistent/vectors.bin", "king"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "stderr: {err}");
    assert!(
        err.starts_with("embed: error: /nonexistent/vectors.bin"),
        "{err}"
    );
    assert!(!err.contains("panicked"));
}

#[test]
fn unknown_word_is_an_error() {
    let vectors = fixture_vectors();
    let out = embed(&[
        "nn",
        "--vectors",
        vectors.to_str().unwrap(),
        "no-such-word-here",
    ]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("no-such-word-here"));
}

#[test]
fn nn_lists_k_neighbours_without_the_query() {
    let vectors = fixture_vectors();
    let out = embed(&[
        "nn",
        "--vectors",
        vectors.to_str().unwrap(),
        "king",
        "-k",
        "4",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    let words: Vec<&str> = text
        .lines()
        .map(|l| l.split('\t').next().unwrap())
        .collect();
    assert_eq!(words.len(), 4);
    assert!(!words.contains(&"king"));
}

#[test]
fn convert_round_trips_through_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let vectors = fixture_vectors();
    let bin = dir.path().join("v.bin");
    let glove = dir.path().join("v.glove");
    let text = dir.path().join("v.txt");
    for (from, to, input, output) in [
        ("auto", "word2vec", vectors.as_path(), bin.as_path()),
        ("word2vec", "glove", bin.as_path(), glove.as_path()),
        ("glove", "word2vec-text", glove.as_path(), text.as_path()),
    ] {
        let out = embed(&[
            "convert",
            "--from",
            from,
            "--to",
            to,
            input.to_str().unwrap(),
            output.to_str().unwrap(),
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let original = std::fs::read_to_string(&vectors).unwrap();
    let round_trip = std::fs::read_to_string(&text).unwrap();
    let parse = |s: &str| -> Vec<Vec<f32>> {
        s.lines()
            .skip(1)
            .map(|l| l.split(' ').skip(1).map(|v| v.parse().unwrap()).collect())
            .collect()
    };
    assert_eq!(parse(&original), parse(&round_trip));
}

#[test]
fn convert_refuses_auto_as_target() {
    let vectors = fixture_vectors();
    let out = embed(&[
        "convert",
        "--to",
        "auto",
        vectors.to_str().unwrap(),
        "/tmp/x",
    ]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("`to`"));
}

#[test]
fn eval_json_equals_gensim_figures() {
    let Some(shared) = shared_dir() else {
        eprintln!("skipped: ../shared/data/eval is absent (set EMBED_SHARED_DIR)");
        return;
    };
    let vectors = fixture_vectors();
    let questions = shared.join("data/eval/questions-words.txt");
    let wordsim = shared.join("data/eval/wordsim353.tsv");
    let out = embed(&[
        "eval",
        "--vectors",
        vectors.to_str().unwrap(),
        "--analogy",
        questions.to_str().unwrap(),
        "--similarity",
        wordsim.to_str().unwrap(),
        "--json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let gensim: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../embed-eval/tests/data/gensim.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let expected = gensim["analogy"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["method"] == "3CosAdd" && a["restrict_vocab"] == 30000)
        .expect("gensim figures for 3CosAdd at 30000");
    let total = &report["analogy"]["total"];
    let correct = total["correct"].as_u64().unwrap();
    let evaluated = correct + total["incorrect"].as_u64().unwrap();
    let score = expected["score"].as_f64().unwrap();
    assert!((correct as f64 / evaluated as f64 - score).abs() < 1e-12);
    let sections = report["analogy"]["sections"].as_array().unwrap();
    for (ours, theirs) in sections
        .iter()
        .zip(expected["sections"].as_array().unwrap())
    {
        assert_eq!(ours["name"], theirs["name"]);
        assert_eq!(ours["correct"], theirs["correct"]);
        assert_eq!(ours["incorrect"], theirs["incorrect"]);
    }
    let similarity = report["similarity"].as_object().unwrap();
    assert_eq!(similarity.len(), 1);
    let ours = similarity.values().next().unwrap();
    let theirs = gensim["similarity"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["file"] == "wordsim353.tsv" && s["restrict_vocab"] == 300000)
        .expect("gensim figures for WordSim-353");
    // Correlations agree to 1e-6 (f32 cosines summed in a different order).
    for key in ["spearman", "pearson", "oov_ratio"] {
        let (a, b) = (ours[key].as_f64().unwrap(), theirs[key].as_f64().unwrap());
        assert!((a - b).abs() < 1e-6, "{key}: {a} vs gensim {b}");
    }
}

#[test]
fn eval_without_sets_says_what_is_missing() {
    let vectors = fixture_vectors();
    let out = embed(&["eval", "--vectors", vectors.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("--analogy"));
}

#[test]
fn compare_rejects_unknown_models_and_missing_corpus_before_training() {
    let out = embed(&["compare", "--models", "word2vec-sg,bert-huge"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("unknown model `bert-huge`"));
    let out = embed(&["compare", "--corpus", "/nonexistent/corpus.txt"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("/nonexistent/corpus.txt"));
}

#[test]
fn compare_trains_every_static_model_and_reports_what_eval_reports() {
    let dir = tempfile::tempdir().unwrap();
    // A small corpus with planted groups: words of a group share contexts.
    let groups = [
        ["red", "green", "blue", "yellow"],
        ["dog", "cat", "horse", "cow"],
        ["paris", "rome", "berlin", "madrid"],
    ];
    let mut text = String::new();
    let mut state = 17u64;
    for _ in 0..3000 {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let g = (state >> 33) as usize % groups.len();
        for k in 0..4 {
            let w = groups[g][((state >> (40 + 4 * k)) as usize) % 4];
            text.push_str(w);
            text.push(' ');
        }
        text.push('\n');
    }
    let corpus = dir.path().join("corpus.txt");
    std::fs::write(&corpus, text).unwrap();
    let pairs = dir.path().join("pairs.tsv");
    std::fs::write(
        &pairs,
        "red\tgreen\t9\nred\tdog\t1\ncat\tdog\t8\nparis\tcow\t0.5\nrome\tberlin\t8.5\n",
    )
    .unwrap();
    let json = dir.path().join("report.json");
    let vectors = dir.path().join("vectors");
    let out = embed(&[
        "compare",
        "--corpus",
        corpus.to_str().unwrap(),
        "--dim",
        "8",
        "--epochs",
        "2",
        "--threads",
        "1",
        "--min-count",
        "1",
        "--similarity",
        pairs.to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
        "--keep-vectors",
        vectors.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let table = String::from_utf8(out.stdout).unwrap();
    for model in ["word2vec-sg", "word2vec-cbow", "glove", "fasttext"] {
        assert!(table.contains(&format!("| {model} |")), "{table}");
    }
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    for model in report["models"].as_array().unwrap() {
        let name = model["model"].as_str().unwrap();
        assert!(model["peak_rss_mib"].as_f64().unwrap() > 0.0);
        let file = vectors.join(format!("{name}.bin"));
        let eval = embed(&[
            "eval",
            "--vectors",
            file.to_str().unwrap(),
            "--similarity",
            pairs.to_str().unwrap(),
            "--json",
        ]);
        assert!(eval.status.success(), "{}", stderr(&eval));
        let eval: serde_json::Value = serde_json::from_slice(&eval.stdout).unwrap();
        let theirs = eval["similarity"]
            .as_object()
            .unwrap()
            .values()
            .next()
            .unwrap();
        assert_eq!(
            model["similarity"][0]["spearman"], theirs["spearman"],
            "{name}"
        );
    }
}

fn minilm() -> Option<PathBuf> {
    let dir = shared_dir()?.join("models/all-MiniLM-L6-v2");
    dir.join("model.safetensors").is_file().then_some(dir)
}

#[test]
fn bert_similarity_and_embed_follow_sentence_transformers() {
    let Some(model) = minilm() else {
        eprintln!("skipped: ../shared/models/all-MiniLM-L6-v2 is absent (set EMBED_SHARED_DIR)");
        return;
    };
    let model = model.to_str().unwrap();
    let out = embed(&[
        "bert",
        "similarity",
        "--model",
        model,
        "A man is eating food.",
        "A man is eating a piece of bread.",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let cosine: f64 = String::from_utf8(out.stdout)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // The value the sentence-transformers documentation gives for this pair.
    assert!((cosine - 0.7553).abs() < 1e-4, "{cosine}");

    let out = embed_with_input(
        &["bert", "embed", "--model", model],
        b"first line\n\nthird, after an empty one\n",
    );
    assert!(out.status.success());
    let lines: Vec<Vec<f64>> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    for vector in &lines {
        assert_eq!(vector.len(), 384);
        let norm: f64 = vector.iter().map(|v| v * v).sum::<f64>().sqrt();
        assert!(
            (norm - 1.0).abs() < 1e-5,
            "normalised like sentence-transformers"
        );
    }
}

#[test]
fn compare_embeds_the_vocabulary_with_pretrained_contextual_models() {
    let Some(shared) = shared_dir() else {
        eprintln!("skipped: ../shared is absent (set EMBED_SHARED_DIR)");
        return;
    };
    let out = embed(&["compare", "--models", "bert"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("--bert DIR"), "{}", stderr(&out));

    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path().join("corpus.txt");
    std::fs::write(&corpus, "the cat sat on the mat with the dog\n".repeat(20)).unwrap();
    let pairs = dir.path().join("pairs.tsv");
    std::fs::write(&pairs, "cat\tdog\t8\ncat\tmat\t3\nsat\tthe\t1\n").unwrap();
    let elmo = shared.join("models/elmo-tiny-random");
    let out = embed(&[
        "compare",
        "--corpus",
        corpus.to_str().unwrap(),
        "--models",
        "bert,elmo",
        "--min-count",
        "1",
        "--similarity",
        pairs.to_str().unwrap(),
        "--bert",
        shared.join("models/bert-tiny-random").to_str().unwrap(),
        "--elmo-options",
        elmo.join("options.json").to_str().unwrap(),
        "--elmo-weights",
        elmo.join("weights.hdf5").to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(
        table.contains("| bert |") && table.contains("| elmo |"),
        "{table}"
    );
}

#[test]
fn bert_tokenize_prints_ids_per_line() {
    let Some(model) = minilm() else {
        eprintln!("skipped: ../shared/models/all-MiniLM-L6-v2 is absent (set EMBED_SHARED_DIR)");
        return;
    };
    let out = embed_with_input(
        &["bert", "tokenize", "--model", model.to_str().unwrap()],
        b"Hello world!\n",
    );
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "101 7592 2088 999 102\n"
    );
}

#[test]
fn elmo_embed_prints_one_vector_per_token_and_line() {
    let Some(shared) = shared_dir() else {
        eprintln!("skipped: ../shared is absent (set EMBED_SHARED_DIR)");
        return;
    };
    let dir = shared.join("models/elmo-tiny-random");
    let (options, weights) = (dir.join("options.json"), dir.join("weights.hdf5"));
    let out = embed_with_input(
        &[
            "elmo",
            "embed",
            "--options",
            options.to_str().unwrap(),
            "--weights",
            weights.to_str().unwrap(),
            "--mix",
            "0.2,-0.3,0.5",
        ],
        b"The cat sat .\n\nHello\n",
    );
    assert!(out.status.success());
    let lines: Vec<Vec<Vec<f64>>> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.iter().map(Vec::len).collect::<Vec<_>>(), [4, 0, 1]);
    assert!(lines.iter().flatten().all(|v| v.len() == 32));
}

fn fasttext_fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../embed-fasttext/tests/fixtures/tiny.bin")
}

#[test]
fn nn_and_eval_read_fasttext_bin_and_answer_unknown_words() {
    let model = fasttext_fixture();
    let model = model.to_str().unwrap();
    let out = embed(&["nn", "--vectors", model, "anarchismxyz", "-k", "3"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(String::from_utf8(out.stdout).unwrap().lines().count(), 3);

    let dir = tempfile::tempdir().unwrap();
    let pairs = dir.path().join("pairs.tsv");
    std::fs::write(
        &pairs,
        "anarchism\tanarchist\t9\nqqqxyz\tanarchism\t1\nthe\tof\t2\n",
    )
    .unwrap();
    let eval = |oov: &str| -> serde_json::Value {
        let out = embed(&[
            "eval",
            "--vectors",
            model,
            "--similarity",
            pairs.to_str().unwrap(),
            "--oov",
            oov,
            "--json",
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        report["similarity"]
            .as_object()
            .unwrap()
            .values()
            .next()
            .unwrap()
            .clone()
    };
    assert_eq!(eval("drop")["pairs_used"], 2);
    assert_eq!(eval("lookup")["pairs_used"], 3);
}

#[test]
fn fasttext_supervised_trains_predicts_and_tests() {
    let dir = tempfile::tempdir().unwrap();
    let train = dir.path().join("train.txt");
    let mut text = String::new();
    for i in 0..300 {
        if i % 2 == 0 {
            text.push_str("__label__fruit red apple banana sweet\n");
        } else {
            text.push_str("__label__sky blue cloud rain wind\n");
        }
    }
    std::fs::write(&train, text).unwrap();
    let model = dir.path().join("model.bin");
    let out = embed(&[
        "train",
        "fasttext-supervised",
        "--input",
        train.to_str().unwrap(),
        "--output",
        model.to_str().unwrap(),
        "--epoch",
        "5",
        "--lr",
        "0.5",
        "--dim",
        "10",
        "--threads",
        "1",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = embed(&[
        "fasttext",
        "test",
        "--model",
        model.to_str().unwrap(),
        "--input",
        train.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("N\t300"), "{text}");
    assert!(text.contains("P@1\t1.000"), "{text}");

    let out = embed_with_input(
        &["fasttext", "predict", "--model", model.to_str().unwrap()],
        b"sweet apple\nrain cloud\n",
    );
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "__label__fruit\n__label__sky\n"
    );
}
