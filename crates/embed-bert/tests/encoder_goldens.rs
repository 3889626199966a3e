//! Hidden states and MLM logits against Hugging Face transformers
//! (`BertModel` / `BertForMaskedLM`, eager attention, float32).

mod common;

use std::path::Path;

use embed_bert::{BertForMaskedLm, BertModel, PaddedBatch};
use ndarray::Array2;
use safetensors::SafeTensors;

/// `[B][T]` integers of a golden case as a matrix.
fn int_matrix(value: &serde_json::Value) -> Array2<u32> {
    let rows: Vec<Vec<u32>> = value.as_array().unwrap().iter().map(common::ids).collect();
    let (b, t) = (rows.len(), rows[0].len());
    Array2::from_shape_vec((b, t), rows.concat()).unwrap()
}

fn batch_of(case: &serde_json::Value) -> PaddedBatch {
    PaddedBatch {
        input_ids: int_matrix(&case["input_ids"]),
        token_type_ids: int_matrix(&case["token_type_ids"]),
        attention_mask: int_matrix(&case["attention_mask"]),
    }
}

fn tensor(file: &SafeTensors<'_>, name: &str) -> Vec<f32> {
    let view = file.tensor(name).unwrap();
    view.data()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

#[test]
fn minilm_hidden_states_match_transformers() {
    let Some(dir) = common::models_dir("all-MiniLM-L6-v2") else {
        return;
    };
    let model = BertModel::load(&dir).unwrap();
    let goldens = common::read_json(&dir.join("goldens.json"));
    let tolerance = goldens["suggested_tolerances"]["last_hidden_state_abs"]
        .as_f64()
        .unwrap() as f32;
    assert!(tolerance <= 2e-4);
    let side = std::fs::read(dir.join("goldens_hidden.safetensors")).unwrap();
    let side = SafeTensors::deserialize(&side).unwrap();
    let mut worst = 0.0f32;
    for case in goldens["cases"].as_array().unwrap() {
        let id = case["id"].as_str().unwrap();
        let batch = batch_of(case);
        let out = model.forward(&batch, true).unwrap();
        let expected = tensor(&side, &format!("{id}.last_hidden_state"));
        let got: Vec<f32> = out.last_hidden_state.iter().copied().collect();
        let diff = common::max_abs_diff(&got, &expected);
        assert!(diff <= tolerance, "{id}: last hidden state off by {diff}");
        worst = worst.max(diff);
        for (k, layer) in out.hidden_states.iter().enumerate() {
            let name = format!("{id}.hidden_states.{k}");
            if side.names().iter().any(|n| **n == name) {
                let got: Vec<f32> = layer.iter().copied().collect();
                let diff = common::max_abs_diff(&got, &tensor(&side, &name));
                assert!(diff <= tolerance, "{name} off by {diff}");
            }
        }
    }
    eprintln!("all-MiniLM-L6-v2: worst hidden-state difference {worst:e}");
}

#[test]
fn tiny_random_hidden_states_and_logits_match_transformers() {
    let Some(dir) = common::models_dir("bert-tiny-random") else {
        return;
    };
    let model = BertForMaskedLm::load(&dir).unwrap();
    let goldens = common::read_json(&dir.join("goldens.json"));
    let tol_hidden = goldens["suggested_tolerances"]["hidden_states_abs"]
        .as_f64()
        .unwrap() as f32;
    let tol_logits = goldens["suggested_tolerances"]["logits_abs"]
        .as_f64()
        .unwrap() as f32;
    let side = std::fs::read(dir.join("goldens_tensors.safetensors")).unwrap();
    let side = SafeTensors::deserialize(&side).unwrap();
    for case in goldens["cases"].as_array().unwrap() {
        let id = case["id"].as_str().unwrap();
        let (out, logits) = model.forward(&batch_of(case), true).unwrap();
        assert_eq!(out.hidden_states.len(), 3);
        for (k, layer) in out.hidden_states.iter().enumerate() {
            let got: Vec<f32> = layer.iter().copied().collect();
            let expected = tensor(&side, &format!("{id}.hidden_states.{k}"));
            let diff = common::max_abs_diff(&got, &expected);
            assert!(diff <= tol_hidden, "{id} hidden state {k} off by {diff}");
        }
        let got: Vec<f32> = logits.iter().copied().collect();
        let diff = common::max_abs_diff(&got, &tensor(&side, &format!("{id}.logits")));
        assert!(diff <= tol_logits, "{id} logits off by {diff}");
        // The JSON summaries agree with the full tensors too.
        let first16 = common::floats(&case["mlm_logits_first16"]);
        let ours: Vec<f32> = logits
            .outer_iter()
            .flat_map(|seq| {
                seq.outer_iter()
                    .flat_map(|row| row.iter().take(16).copied().collect::<Vec<_>>())
                    .collect::<Vec<_>>()
            })
            .collect();
        assert!(common::max_abs_diff(&ours, &first16) <= tol_logits);
    }
}

#[test]
fn loader_reports_missing_and_misshaped_tensors() {
    let Some(dir) = common::models_dir("bert-tiny-random") else {
        return;
    };
    let config = embed_bert::BertConfig::from_file(dir.join("config.json")).unwrap();
    let store = embed_bert::weights::read_safetensors(dir.join("model.safetensors")).unwrap();

    let mut missing = store.clone();
    missing.remove("encoder.layer.1.attention.self.key.bias");
    let err = BertModel::from_store(config.clone(), &missing).unwrap_err();
    assert!(
        matches!(&err, embed_core::Error::MissingTensor { name } if name == "encoder.layer.1.attention.self.key.bias"),
        "{err}"
    );

    let mut wrong = store.clone();
    wrong.insert(
        "encoder.layer.0.intermediate.dense.weight",
        ndarray::ArrayD::zeros(ndarray::IxDyn(&[32, 64])),
    );
    let err = BertModel::from_store(config, &wrong).unwrap_err();
    match err {
        embed_core::Error::ShapeMismatch {
            name,
            expected,
            actual,
        } => {
            assert_eq!(name, "encoder.layer.0.intermediate.dense.weight");
            assert_eq!(expected, [64, 32]);
            assert_eq!(actual, [32, 64]);
        }
        other => panic!("unexpected {other}"),
    }
    let _ = Path::new("");
}
