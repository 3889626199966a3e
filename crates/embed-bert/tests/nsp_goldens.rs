//! Masked-LM plus next-sentence pre-training against PyTorch
//! (`transformers` `BertForPreTraining`, float32, eager attention, no
//! dropout): losses, logits and every gradient of a tiny random model.
//!
//! The data in `tests/data/bert-pretraining-tiny/` was written by
//! `benches/scripts/bert_nsp_golden.py` (run with the torch venv): the
//! model's `save_pretrained` output, its `vocab.txt`, and `golden.json`.

mod common;

use std::path::PathBuf;

use embed_bert::train::{MlmBatch, MlmModel};
use embed_bert::Tokenizer;
use embed_core::params::GradientStore;
use serde_json::Value;

fn dir() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/bert-pretraining-tiny"
    ))
}

fn golden() -> Value {
    common::read_json(&dir().join("golden.json"))
}

fn ints(value: &Value) -> Vec<i64> {
    match value {
        Value::Array(items) => items.iter().flat_map(ints).collect(),
        v => vec![v.as_i64().unwrap()],
    }
}

fn batch(g: &Value) -> MlmBatch {
    let rows = g["input_ids"].as_array().unwrap().len();
    let input_ids: Vec<u32> = ints(&g["input_ids"]).iter().map(|&i| i as u32).collect();
    MlmBatch {
        batch: rows,
        seq_len: input_ids.len() / rows,
        token_type_ids: ints(&g["token_type_ids"])
            .iter()
            .map(|&i| i as u32)
            .collect(),
        attention_mask: ints(&g["attention_mask"])
            .iter()
            .map(|&i| i as u8)
            .collect(),
        labels: ints(&g["labels"]).iter().map(|&i| i as i32).collect(),
        next_sentence_labels: ints(&g["next_sentence_label"])
            .iter()
            .map(|&i| i as i32)
            .collect(),
        input_ids,
    }
}

fn norm(xs: &[f32]) -> f64 {
    xs.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>().sqrt()
}

#[test]
fn the_checkpoint_loads_as_bert_for_pretraining() {
    let model = MlmModel::from_pretrained(dir()).unwrap();
    assert!(model.has_next_sentence_head());
    // 5 embedding tensors, 16 per layer, 5 in the MLM head, 4 for NSP.
    assert_eq!(model.params().len(), 5 + 16 * 2 + 5 + 4);
    let tokenizer = Tokenizer::from_dir(dir()).unwrap();
    assert_eq!(tokenizer.vocab().len(), model.config().vocab_size);
    // Choosing the masked-LM model alone drops the pooler and NSP head.
    let mlm = MlmModel::from_pretrained_with(dir(), false).unwrap();
    assert!(!mlm.has_next_sentence_head());
    assert_eq!(mlm.params().len(), 5 + 16 * 2 + 5);
}

#[test]
fn losses_and_logits_match_pytorch() {
    let g = golden();
    let model = MlmModel::from_pretrained(dir()).unwrap();
    let batch = batch(&g);
    let stats = common::with_threads(1, || model.evaluate(&batch)).unwrap();
    assert_eq!((stats.predicted, stats.next_sentence_predicted), (7, 3));
    // Tolerance: 1e-5 absolute on each loss.
    for (ours, name) in [
        (stats.mean_loss(), "mlm_loss"),
        (stats.next_sentence_loss().unwrap(), "nsp_loss"),
        (stats.total_loss(), "loss"),
    ] {
        let expected = g[name].as_f64().unwrap();
        assert!(
            (ours - expected).abs() < 1e-5,
            "{name}: {ours} vs {expected}"
        );
    }
    // Tolerance: 1e-5 absolute on logits of order 1.
    let logits = model.logits(&batch).unwrap();
    let worst = common::max_abs_diff(
        logits.as_slice().unwrap(),
        &common::floats(&g["prediction_logits"]),
    );
    assert!(worst < 1e-5, "prediction logits differ by {worst}");
    let next = model.next_sentence_logits(&batch).unwrap();
    let worst = common::max_abs_diff(
        next.as_slice().unwrap(),
        &common::floats(&g["seq_relationship_logits"]),
    );
    assert!(worst < 1e-5, "seq_relationship logits differ by {worst}");
}

#[test]
fn every_gradient_matches_pytorch() {
    let g = golden();
    let model = MlmModel::from_pretrained(dir()).unwrap();
    let batch = batch(&g);
    let expected = g["gradients"].as_object().unwrap();
    assert_eq!(expected.len(), model.params().len());
    for threads in [1, 2] {
        let mut grads = GradientStore::zeros_like(model.params());
        let stats =
            common::with_threads(threads, || model.forward_backward(&batch, None, &mut grads))
                .unwrap();
        assert!((stats.total_loss() - g["loss"].as_f64().unwrap()).abs() < 1e-5);
        for (name, reference) in expected {
            let reference = common::floats(reference);
            let ours = grads
                .get(name)
                .unwrap_or_else(|| panic!("no gradient for {name}"))
                .as_slice()
                .unwrap();
            // Tolerance: every element within 1e-4 of the tensor's largest
            // PyTorch gradient (relative), 1e-8 absolute for tensors whose
            // gradient is zero in exact arithmetic (the key biases).
            let scale = reference.iter().fold(0.0f32, |m, &x| m.max(x.abs()));
            let worst = common::max_abs_diff(ours, &reference);
            assert!(
                worst <= 1e-4 * scale + 1e-8,
                "{name} ({threads} threads): differs by {worst}, largest {scale}, norm {}",
                norm(&reference)
            );
        }
    }
}
