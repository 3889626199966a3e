//! Bad input gives typed errors or documented behaviour, never a panic.

mod common;

use std::path::Path;

use embed_bert::{BertModel, EmbedOptions, PaddedBatch, SentenceEmbedder, Tokenizer};
use embed_core::Error;
use ndarray::Array2;

/// Copies the tiny model's files into a scratch directory.
fn scratch_copy(dir: &Path) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    for name in [
        "config.json",
        "model.safetensors",
        "vocab.txt",
        "tokenizer_config.json",
    ] {
        std::fs::copy(dir.join(name), tmp.path().join(name)).unwrap();
    }
    tmp
}

#[test]
fn corrupt_checkpoints_are_format_errors() {
    let Some(dir) = common::models_dir("bert-tiny-random") else {
        return;
    };
    let original = std::fs::read(dir.join("model.safetensors")).unwrap();
    let header_len = u64::from_le_bytes(original[..8].try_into().unwrap()) as usize;
    let mut cases: Vec<(&str, Vec<u8>)> = Vec::new();
    let mut huge_header = original.clone();
    huge_header[..8].copy_from_slice(&u64::MAX.to_le_bytes());
    cases.push(("header length beyond the file", huge_header));
    cases.push(("truncated data", original[..original.len() - 100].to_vec()));
    cases.push(("empty file", Vec::new()));
    let header = std::str::from_utf8(&original[8..8 + header_len]).unwrap();
    // Same length, different dtype: an F32 tensor relabelled as F16 no
    // longer covers its bytes.
    let relabelled = header.replacen("\"F32\"", "\"F16\"", 1);
    let mut dtype = original.clone();
    dtype[8..8 + header_len].copy_from_slice(relabelled.as_bytes());
    cases.push(("dtype mismatch", dtype));
    for (what, bytes) in cases {
        let tmp = scratch_copy(&dir);
        std::fs::write(tmp.path().join("model.safetensors"), bytes).unwrap();
        let err = BertModel::load(tmp.path()).unwrap_err();
        assert!(matches!(err, Error::Format { .. }), "{what}: {err}");
    }
}

#[test]
fn inconsistent_configs_are_rejected() {
    let Some(dir) = common::models_dir("bert-tiny-random") else {
        return;
    };
    let config = std::fs::read_to_string(dir.join("config.json")).unwrap();
    let tmp = scratch_copy(&dir);
    let bad = config.replace("\"num_attention_heads\": 2", "\"num_attention_heads\": 3");
    assert_ne!(bad, config);
    std::fs::write(tmp.path().join("config.json"), bad).unwrap();
    let err = BertModel::load(tmp.path()).unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidParameter {
                name: "num_attention_heads",
                ..
            }
        ),
        "{err}"
    );

    let missing = config.replace("\"hidden_size\": 32,", "");
    assert_ne!(missing, config);
    std::fs::write(tmp.path().join("config.json"), missing).unwrap();
    let err = BertModel::load(tmp.path()).unwrap_err();
    assert!(err.to_string().contains("hidden_size"), "{err}");

    // A config that disagrees with the weights names the tensor.
    let wider = config.replace("\"intermediate_size\": 64", "\"intermediate_size\": 65");
    std::fs::write(tmp.path().join("config.json"), wider).unwrap();
    let err = BertModel::load(tmp.path()).unwrap_err();
    assert!(matches!(err, Error::ShapeMismatch { .. }), "{err}");
}

#[test]
fn vocabularies_without_special_tokens_are_rejected() {
    let Some(dir) = common::models_dir("bert-tiny-random") else {
        return;
    };
    let vocab = std::fs::read_to_string(dir.join("vocab.txt")).unwrap();
    for special in ["[UNK]", "[CLS]", "[SEP]"] {
        let tmp = scratch_copy(&dir);
        let without: String = vocab
            .lines()
            .map(|l| if l == special { "[removed]" } else { l })
            .collect::<Vec<_>>()
            .join("\n");
        std::fs::write(tmp.path().join("vocab.txt"), without).unwrap();
        let err = Tokenizer::from_dir(tmp.path()).unwrap_err();
        assert!(
            matches!(err, Error::InvalidParameter { .. }),
            "{special}: {err}"
        );
    }
}

#[test]
fn long_and_empty_texts_are_handled() {
    let Some(dir) = common::models_dir("bert-tiny-random") else {
        return;
    };
    // The tiny model has 64 positions: longer texts are truncated to fit.
    let embedder = SentenceEmbedder::new(
        Tokenizer::from_dir(&dir).unwrap(),
        BertModel::load(&dir).unwrap(),
        EmbedOptions::default(),
    )
    .unwrap();
    assert_eq!(embedder.max_length(), 64);
    let long = "word ".repeat(500);
    let vectors = embedder.embed(&[long.as_str(), "", "   "]).unwrap();
    assert_eq!(vectors.dim(), (3, 32));
    assert!(vectors.iter().all(|v| v.is_finite()));
    assert!(embedder.embed::<&str>(&[]).unwrap().is_empty());

    // Batches built by hand are checked against the model.
    let model = embedder.model();
    let too_long = PaddedBatch {
        input_ids: Array2::from_elem((1, 65), 1000),
        token_type_ids: Array2::zeros((1, 65)),
        attention_mask: Array2::ones((1, 65)),
    };
    assert!(matches!(
        model.forward(&too_long, false),
        Err(Error::InvalidInput(_))
    ));
    let bad_id = PaddedBatch {
        input_ids: Array2::from_elem((1, 3), 40_000),
        token_type_ids: Array2::zeros((1, 3)),
        attention_mask: Array2::ones((1, 3)),
    };
    assert!(matches!(
        model.forward(&bad_id, false),
        Err(Error::InvalidInput(_))
    ));
    let bad_type = PaddedBatch {
        input_ids: Array2::from_elem((1, 3), 1000),
        token_type_ids: Array2::from_elem((1, 3), 2),
        attention_mask: Array2::ones((1, 3)),
    };
    assert!(matches!(
        model.forward(&bad_type, false),
        Err(Error::InvalidInput(_))
    ));

    let options = EmbedOptions {
        batch_size: 0,
        ..EmbedOptions::default()
    };
    let err =
        SentenceEmbedder::new(embedder.tokenizer().clone(), model.clone(), options).unwrap_err();
    assert!(matches!(
        err,
        Error::InvalidParameter {
            name: "batch_size",
            ..
        }
    ));
}
