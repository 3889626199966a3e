//! Bad options, bad weight files and edge-case input: typed errors or the
//! documented result, never a panic.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use embed_core::{ContextualEmbedder, Embedder, Error};
use embed_elmo::weights::{write_hdf5, Hdf5Weights};
use embed_elmo::{ElmoEmbedder, ElmoModel, ElmoOptions, Readout, ScalarMix};
use ndarray::ArrayD;
use serde_json::Value;

fn model_dir() -> Option<PathBuf> {
    let shared = std::env::var_os("EMBED_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared")));
    let dir = shared.join("models/elmo-tiny-random");
    if dir.join("weights.hdf5").is_file() {
        Some(dir)
    } else {
        eprintln!("skipping: {} not found", dir.display());
        None
    }
}

fn options_json(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("options.json")).unwrap()).unwrap()
}

fn tensors(dir: &Path) -> BTreeMap<String, ArrayD<f32>> {
    Hdf5Weights::open(dir.join("weights.hdf5"))
        .unwrap()
        .read_all()
        .unwrap()
}

/// Loads `options` (as JSON) with `weights` written to a temporary directory.
fn load_with(options: &Value, weights: &BTreeMap<String, ArrayD<f32>>) -> Result<ElmoModel, Error> {
    let tmp = tempfile::tempdir().unwrap();
    let options_path = tmp.path().join("options.json");
    let weights_path = tmp.path().join("weights.hdf5");
    std::fs::write(&options_path, options.to_string()).unwrap();
    write_hdf5(&weights_path, weights).unwrap();
    ElmoModel::load(&options_path, &weights_path)
}

#[test]
fn written_weights_load_to_the_same_model() {
    let Some(dir) = model_dir() else { return };
    let all = tensors(&dir);
    assert!(all.contains_key("RNN_1/RNN/MultiRNNCell/Cell1/LSTMCell/W_P_0"));
    let copy = load_with(&options_json(&dir), &all).unwrap();
    let original = ElmoModel::load(dir.join("options.json"), dir.join("weights.hdf5")).unwrap();
    let batch = [vec!["a", "round", "trip"]];
    assert_eq!(
        copy.forward(&batch).unwrap(),
        original.forward(&batch).unwrap()
    );
}

#[test]
fn options_missing_a_field_name_it() {
    let Some(dir) = model_dir() else { return };
    let mut options = options_json(&dir);
    options["lstm"].as_object_mut().unwrap().remove("cell_clip");
    let err = load_with(&options, &tensors(&dir)).unwrap_err();
    assert!(matches!(err, Error::Format { .. }), "{err:?}");
    assert!(err.to_string().contains("cell_clip"), "{err}");
}

#[test]
fn options_out_of_range_name_the_field() {
    for (section, field, value, name) in [
        (
            "char_cnn",
            "max_characters_per_token",
            Value::from(40),
            "max_characters_per_token",
        ),
        (
            "char_cnn",
            "filters",
            serde_json::json!([[0, 8]]),
            "filters",
        ),
        ("char_cnn", "filters", serde_json::json!([]), "filters"),
        ("lstm", "n_layers", Value::from(0), "n_layers"),
        ("lstm", "cell_clip", Value::from(-1.0), "cell_clip"),
        ("char_cnn", "activation", Value::from("gelu"), "gelu"),
    ] {
        let mut options: Value = serde_json::from_str(
            r#"{"lstm": {"dim": 32, "projection_dim": 16, "n_layers": 2, "cell_clip": 3,
               "proj_clip": 3}, "char_cnn": {"activation": "relu", "filters": [[1, 8]],
               "n_highway": 1, "embedding": {"dim": 16}, "max_characters_per_token": 50}}"#,
        )
        .unwrap();
        options[section][field] = value;
        let err = ElmoOptions::from_json(&options.to_string(), "options.json").unwrap_err();
        assert!(err.to_string().contains(name), "{field}: {err}");
    }
}

#[test]
fn options_inconsistent_with_weights_give_name_and_both_shapes() {
    let Some(dir) = model_dir() else { return };
    let all = tensors(&dir);
    let mut options = options_json(&dir);
    options["lstm"]["projection_dim"] = Value::from(8);
    match load_with(&options, &all).unwrap_err() {
        Error::ShapeMismatch {
            name,
            expected,
            actual,
        } => {
            assert_eq!(name, "CNN_proj/W_proj");
            assert_eq!(expected, vec![32, 8]);
            assert_eq!(actual, vec![32, 16]);
        }
        other => panic!("expected a shape mismatch, got {other:?}"),
    }
    let mut options = options_json(&dir);
    options["char_cnn"]["filters"][2] = serde_json::json!([3, 12]);
    let err = load_with(&options, &all).unwrap_err();
    assert_eq!(
        err.to_string(),
        "tensor `CNN/W_cnn_2` has shape [1, 3, 16, 16], expected [1, 3, 16, 12]"
    );
}

#[test]
fn weights_without_a_required_dataset_are_rejected() {
    let Some(dir) = model_dir() else { return };
    let mut all = tensors(&dir);
    let gone = "RNN_1/RNN/MultiRNNCell/Cell1/LSTMCell/W_P_0";
    all.remove(gone);
    let err = load_with(&options_json(&dir), &all).unwrap_err();
    assert!(
        matches!(&err, Error::MissingTensor { name } if name.contains(gone)),
        "{err:?}"
    );

    // One more filter width than the file has.
    let mut options = options_json(&dir);
    options["char_cnn"]["filters"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!([4, 8]));
    let err = load_with(&options, &tensors(&dir)).unwrap_err();
    assert!(err.to_string().contains("CNN/W_cnn_3"), "{err}");
}

#[test]
fn unreadable_files_are_typed_errors() {
    let Some(dir) = model_dir() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let not_hdf5 = tmp.path().join("weights.hdf5");
    std::fs::write(&not_hdf5, b"not an hdf5 file at all").unwrap();
    let err = ElmoModel::load(dir.join("options.json"), &not_hdf5).unwrap_err();
    assert!(matches!(err, Error::Format { .. }), "{err:?}");
    let err =
        ElmoModel::load(dir.join("options.json"), tmp.path().join("absent.hdf5")).unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err:?}");
    let err =
        ElmoModel::load(tmp.path().join("absent.json"), dir.join("weights.hdf5")).unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err:?}");
}

fn embedder() -> Option<ElmoEmbedder> {
    let dir = model_dir()?;
    let model = ElmoModel::load(dir.join("options.json"), dir.join("weights.hdf5")).unwrap();
    Some(ElmoEmbedder::average(model).unwrap())
}

#[test]
fn long_tokens_are_cut_to_48_bytes() {
    let Some(elmo) = embedder() else { return };
    let long = "x".repeat(48) + "yyyyyyyyyyyy";
    let prefix = "x".repeat(48);
    assert_eq!(
        elmo.embed_sequence(&["a", &long, "b"]).unwrap(),
        elmo.embed_sequence(&["a", &prefix, "b"]).unwrap()
    );
    // A cut inside a multi-byte character keeps the bytes before it.
    let accents = "é".repeat(30); // 60 bytes
    let rows = elmo.embed_sequence(&[&accents]).unwrap();
    assert!(rows.iter().all(|v| v.is_finite()));
}

#[test]
fn empty_sentences_and_batches_have_defined_results() {
    let Some(elmo) = embedder() else { return };
    assert_eq!(elmo.embed_sequence(&[]).unwrap().dim(), (0, elmo.dim()));
    assert!(elmo.embed_batch(&[]).unwrap().is_empty());

    let output = elmo.model().forward::<Vec<&str>, &str>(&[]).unwrap();
    assert_eq!(output.activations[0].dim(), (0, 0, elmo.dim()));

    // An empty sentence is `<S> </S>` and does not disturb its neighbours.
    let rows = elmo.embed_batch(&[vec![], vec!["the", "cat"]]).unwrap();
    assert_eq!(rows[0].dim(), (0, elmo.dim()));
    let alone = elmo.embed_sequence(&["the", "cat"]).unwrap();
    assert!((&rows[1] - &alone).iter().all(|d| d.abs() <= 1e-5));
    let output = elmo.model().forward(&[Vec::<&str>::new()]).unwrap();
    assert_eq!(output.lengths(), vec![2]);
}

#[test]
fn readouts_are_checked_against_the_model() {
    let Some(elmo) = embedder() else { return };
    let model = elmo.model().clone();
    let err = ElmoEmbedder::new(model.clone(), Readout::Layer(3)).unwrap_err();
    assert!(err.to_string().contains("layer"), "{err}");
    let mix = ScalarMix::new(vec![0.0, 1.0], 1.0, false).unwrap();
    assert!(ElmoEmbedder::new(model, Readout::Mix(mix)).is_err());
    assert!(ScalarMix::new(vec![f32::NAN], 1.0, false).is_err());
    assert!(ScalarMix::new(vec![0.0], f32::INFINITY, false).is_err());
}

#[test]
fn skip_connections_can_be_turned_off() {
    let Some(dir) = model_dir() else { return };
    let with = ElmoModel::load(dir.join("options.json"), dir.join("weights.hdf5")).unwrap();
    let mut options = options_json(&dir);
    options["lstm"]["use_skip_connections"] = Value::from(false);
    let without = load_with(&options, &tensors(&dir)).unwrap();
    let batch = [vec!["The", "cat", "sat"]];
    let (a, b) = (
        with.forward(&batch).unwrap(),
        without.forward(&batch).unwrap(),
    );
    assert_eq!(a.activations[1], b.activations[1]);
    // Layer 2 adds its input, layer 1's output, only with skip connections.
    let residual = &b.activations[2] + &b.activations[1];
    assert!((&a.activations[2] - &residual)
        .iter()
        .all(|d| d.abs() < 1e-6));
    assert!((&a.activations[2] - &b.activations[2])
        .iter()
        .any(|d| d.abs() > 1e-3));
}
