//! Masked-LM loss, gradients and one optimizer step against PyTorch
//! (`transformers` `BertForMaskedLM`, float32, eager attention) on the
//! shared `bert-tiny-random` model.

mod common;

use std::path::Path;

use embed_bert::train::{MlmBatch, MlmModel};
use embed_core::optim::{step_store, Adam, AdamConfig, Optimizer, Sgd};
use embed_core::params::GradientStore;
use safetensors::SafeTensors;
use serde_json::Value;

struct Goldens {
    dir: std::path::PathBuf,
    json: Value,
    tensors: Vec<u8>,
}

fn goldens() -> Option<Goldens> {
    let dir = common::models_dir("bert-tiny-random")?;
    let json = common::read_json(&dir.join("goldens.json"));
    let tensors = std::fs::read(dir.join("goldens_tensors.safetensors")).unwrap();
    Some(Goldens { dir, json, tensors })
}

fn tensor(file: &SafeTensors<'_>, name: &str) -> Vec<f32> {
    let view = file.tensor(name).unwrap_or_else(|e| panic!("{name}: {e}"));
    view.data()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

fn mlm_batch(case: &Value) -> MlmBatch {
    let row = |field: &str| case[field][0].clone();
    let input_ids = common::ids(&row("input_ids"));
    let seq_len = input_ids.len();
    MlmBatch {
        batch: 1,
        seq_len,
        input_ids,
        token_type_ids: common::ids(&row("token_type_ids")),
        attention_mask: common::ids(&row("attention_mask"))
            .into_iter()
            .map(|m| m as u8)
            .collect(),
        labels: row("labels")
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_i64().unwrap() as i32)
            .collect(),
        next_sentence_labels: Vec::new(),
    }
}

fn norm(xs: &[f32]) -> f64 {
    xs.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>().sqrt()
}

fn diff_norm(a: &[f32], b: &[f32]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(&x, &y)| (f64::from(x) - f64::from(y)).powi(2))
        .sum::<f64>()
        .sqrt()
}

fn load(dir: &Path) -> MlmModel {
    MlmModel::from_pretrained(dir).unwrap()
}

#[test]
fn loss_and_logits_match_pytorch() {
    let Some(g) = goldens() else { return };
    let case = &g.json["mlm_loss"];
    let model = load(&g.dir);
    let batch = mlm_batch(case);
    let stats = common::with_threads(1, || model.evaluate(&batch)).unwrap();
    assert_eq!(stats.predicted, 3);
    let expected = case["loss"].as_f64().unwrap();
    // Tolerance: 1e-5 absolute on the mean loss.
    assert!(
        (stats.mean_loss() - expected).abs() < 1e-5,
        "loss {} vs {expected}",
        stats.mean_loss()
    );
    let file = SafeTensors::deserialize(&g.tensors).unwrap();
    let logits = model.logits(&batch).unwrap();
    let reference = tensor(&file, "mlm_loss.logits");
    // Tolerance: 1e-4 absolute, the goldens' suggestion for logits.
    let worst = common::max_abs_diff(logits.as_slice().unwrap(), &reference);
    assert!(worst < 1e-4, "logits differ by {worst}");
}

#[test]
fn every_gradient_matches_pytorch() {
    let Some(g) = goldens() else { return };
    let case = &g.json["mlm_loss"];
    let model = load(&g.dir);
    let batch = mlm_batch(case);
    let file = SafeTensors::deserialize(&g.tensors).unwrap();
    for threads in [1, 2] {
        let mut grads = GradientStore::zeros_like(model.params());
        let stats =
            common::with_threads(threads, || model.forward_backward(&batch, None, &mut grads))
                .unwrap();
        let expected = case["loss"].as_f64().unwrap();
        assert!((stats.mean_loss() - expected).abs() < 1e-5);

        let norms = case["grad_norms_all"].as_object().unwrap();
        assert_eq!(
            norms.len(),
            model.params().len(),
            "one gradient per parameter"
        );
        for (name, expected_norm) in norms {
            let ours = grads
                .get(name)
                .unwrap_or_else(|| panic!("no gradient for {name}"));
            let ours = ours.as_slice().unwrap();
            let expected_norm = expected_norm.as_f64().unwrap();
            // Tolerance: 1e-4 relative on the norm, with 1e-6 absolute
            // for gradients that are zero in exact arithmetic (key biases).
            let got = norm(ours);
            assert!(
                (got - expected_norm).abs() <= 1e-4 * expected_norm + 1e-6,
                "{name} ({threads} threads): norm {got} vs {expected_norm}"
            );
            if name == "bert.embeddings.word_embeddings.weight" {
                // Lookup plus tied-decoder parts, on the stored rows.
                let rows = file.tensor(&format!("grad.{name}.row_ids")).unwrap();
                let ids: Vec<usize> = rows
                    .data()
                    .chunks_exact(8)
                    .map(|b| i64::from_le_bytes(b.try_into().unwrap()) as usize)
                    .collect();
                let reference = tensor(&file, &format!("grad.{name}.rows"));
                let width = model.config().hidden_size;
                let ours: Vec<f32> = ids
                    .iter()
                    .flat_map(|&r| ours[r * width..(r + 1) * width].iter().copied())
                    .collect();
                let d = diff_norm(&ours, &reference);
                assert!(d <= 1e-4 * norm(&reference), "{name} rows differ by {d}");
            } else {
                // Tolerance: ‖ours − torch‖ ≤ 1e-4·‖torch‖ + 1e-6.
                let reference = tensor(&file, &format!("grad.{name}"));
                let d = diff_norm(ours, &reference);
                eprintln!("{name}: relative difference {:.2e}", d / norm(&reference));
                assert!(
                    d <= 1e-4 * norm(&reference) + 1e-6,
                    "{name} ({threads} threads): gradients differ by {d} (norm {})",
                    norm(&reference)
                );
            }
        }
    }
}

fn step_and_check(optimizer: &mut dyn Optimizer, golden: &Value) {
    let Some(g) = goldens() else { return };
    let mut model = load(&g.dir);
    let batch = mlm_batch(&g.json["mlm_loss"]);
    common::with_threads(1, || {
        let mut grads = GradientStore::zeros_like(model.params());
        model.forward_backward(&batch, None, &mut grads).unwrap();
        step_store(optimizer, model.params_mut(), &grads).unwrap();
        let after = model.evaluate(&batch).unwrap().mean_loss();
        let expected = golden["loss_after_one_step"].as_f64().unwrap();
        // Tolerance: 1e-4 absolute on the loss after the step.
        assert!(
            (after - expected).abs() < 1e-4,
            "loss after step {after} vs {expected}"
        );
    });
    let weight = model
        .params()
        .get("bert.encoder.layer.0.attention.self.query.weight")
        .unwrap();
    let first4: Vec<f32> = weight.iter().take(4).copied().collect();
    let expected = common::floats(&golden["layer0_query_weight_row0_first4_after"]);
    // Tolerance: 1e-6 absolute on the updated weights.
    let worst = common::max_abs_diff(&first4, &expected);
    assert!(
        worst < 1e-6,
        "weights after the step differ by {worst}: {first4:?}"
    );
}

#[test]
fn one_sgd_step_matches_pytorch() {
    let Some(g) = goldens() else { return };
    step_and_check(&mut Sgd::new(0.1).unwrap(), &g.json["mlm_loss"]["sgd_step"]);
}

#[test]
fn one_adamw_step_matches_pytorch() {
    let Some(g) = goldens() else { return };
    // torch.optim.AdamW(model.parameters(), ...) decays every parameter.
    let mut adamw = Adam::new(AdamConfig::adamw(1e-3, 0.01)).unwrap();
    step_and_check(&mut adamw, &g.json["mlm_loss"]["adamw_step"]);
}

#[test]
fn an_encoder_only_checkpoint_trains_with_a_fresh_head() {
    let Some(dir) = common::models_dir("all-MiniLM-L6-v2") else {
        return;
    };
    let model = MlmModel::from_pretrained(&dir).unwrap();
    // 5 embedding tensors, 16 per layer, 5 in the head; no pooler.
    assert_eq!(model.params().len(), 5 + 16 * 6 + 5);
    assert!(!model.params().names().any(|n| n.contains("pooler")));
    let encoder = embed_bert::BertModel::load(&dir).unwrap();
    let word = model
        .params()
        .get("bert.embeddings.word_embeddings.weight")
        .unwrap();
    assert_eq!(
        word.as_slice().unwrap(),
        encoder.embeddings.word.as_slice().unwrap()
    );
    // "the capital of france is [MASK] ." with `paris` to predict.
    let batch = MlmBatch {
        batch: 1,
        seq_len: 8,
        input_ids: vec![101, 1996, 3007, 1997, 2605, 2003, 103, 102],
        token_type_ids: vec![0; 8],
        attention_mask: vec![1; 8],
        labels: vec![-100, -100, -100, -100, -100, -100, 3000, -100],
        next_sentence_labels: Vec::new(),
    };
    let mut grads = GradientStore::zeros_like(model.params());
    let stats = model.forward_backward(&batch, Some(1), &mut grads).unwrap();
    assert_eq!(stats.predicted, 1);
    // An untrained head guesses about as badly as a uniform one (ln 30522 ≈ 10.3).
    let loss = stats.mean_loss();
    assert!(loss > 5.0 && loss < 20.0, "loss {loss}");
    assert!(grads.global_norm().is_finite() && grads.global_norm() > 0.0);
}
