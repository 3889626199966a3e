//! Conformance with AllenNLP 2.10.1 on `shared/models/elmo-tiny-random`.

use std::path::PathBuf;

use embed_core::ContextualEmbedder;
use embed_elmo::chars::{batch_char_ids, bos_char_ids, char_ids_with_boundaries, eos_char_ids};
use embed_elmo::model::remove_sentence_boundaries;
use embed_elmo::{ElmoEmbedder, ElmoModel, Readout, ScalarMix};
use ndarray::{s, Array3, ArrayD, ArrayView3, IxDyn};
use serde_json::Value;

/// Absolute tolerance on every float golden (the reference's own suggestion).
const TOLERANCE: f32 = 5e-5;

fn model_dir() -> Option<PathBuf> {
    let shared = std::env::var_os("EMBED_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared")));
    let dir = shared.join("models/elmo-tiny-random");
    if dir.join("goldens.json").is_file() {
        Some(dir)
    } else {
        eprintln!("skipping: {} not found", dir.display());
        None
    }
}

struct Fixture {
    goldens: Value,
    model: ElmoModel,
    sentences: Vec<Vec<String>>,
}

fn fixture() -> Option<Fixture> {
    let dir = model_dir()?;
    let text = std::fs::read_to_string(dir.join("goldens.json")).expect("read goldens.json");
    let goldens: Value = serde_json::from_str(&text).expect("parse goldens.json");
    let model = ElmoModel::load(dir.join("options.json"), dir.join("weights.hdf5"))
        .expect("load elmo-tiny-random");
    let sentences = goldens["sentences"]
        .as_array()
        .expect("sentences")
        .iter()
        .map(|s| {
            s.as_array()
                .expect("sentence")
                .iter()
                .map(|t| t.as_str().expect("token").to_string())
                .collect()
        })
        .collect();
    Some(Fixture {
        goldens,
        model,
        sentences,
    })
}

fn tensor(value: &Value) -> ArrayD<f32> {
    fn walk(v: &Value, shape: &mut Vec<usize>, data: &mut Vec<f32>, depth: usize) {
        match v {
            Value::Array(items) => {
                if shape.len() == depth {
                    shape.push(items.len());
                }
                for item in items {
                    walk(item, shape, data, depth + 1);
                }
            }
            Value::Number(n) => data.push(n.as_f64().expect("number") as f32),
            other => panic!("unexpected {other}"),
        }
    }
    let (mut shape, mut data) = (Vec::new(), Vec::new());
    walk(value, &mut shape, &mut data, 0);
    ArrayD::from_shape_vec(IxDyn(&shape), data).expect("rectangular golden")
}

fn assert_close(name: &str, actual: ArrayView3<f32>, expected: &ArrayD<f32>) {
    assert_eq!(actual.shape(), expected.shape(), "{name}: shape");
    let worst = actual
        .iter()
        .zip(expected.iter())
        .map(|(a, e)| (a - e).abs())
        .fold(0.0f32, f32::max);
    assert!(
        worst <= TOLERANCE,
        "{name}: max |diff| {worst} > {TOLERANCE}"
    );
}

fn tokens(sentences: &[Vec<String>]) -> Vec<Vec<&str>> {
    sentences
        .iter()
        .map(|s| s.iter().map(String::as_str).collect())
        .collect()
}

#[test]
fn char_ids_are_exact() {
    let Some(f) = fixture() else { return };
    let expected = tensor(&f.goldens["char_ids"]).mapv(|v| v as u16);
    let actual = batch_char_ids(&tokens(&f.sentences));
    assert_eq!(actual.into_dyn(), expected);
    let bos = tensor(&f.goldens["bos_char_ids"]).mapv(|v| v as u16);
    let eos = tensor(&f.goldens["eos_char_ids"]).mapv(|v| v as u16);
    assert_eq!(bos.as_slice().unwrap(), &bos_char_ids());
    assert_eq!(eos.as_slice().unwrap(), &eos_char_ids());
}

/// Runs `per_token` on the batch's character ids as AllenNLP lays them out:
/// `<S>`, tokens, `</S>`, then all-zero rows for padded tokens.
fn on_padded_batch(
    f: &Fixture,
    per_token: impl Fn(&ElmoModel, ndarray::ArrayView2<u16>) -> ndarray::Array2<f32>,
) -> Array3<f32> {
    let steps = f.sentences.iter().map(Vec::len).max().unwrap() + 2;
    let mut ids = ndarray::Array2::<u16>::zeros((f.sentences.len() * steps, 50));
    for (b, sentence) in f.sentences.iter().enumerate() {
        let own = char_ids_with_boundaries(sentence);
        ids.slice_mut(s![b * steps..b * steps + own.nrows(), ..])
            .assign(&own);
    }
    let rows = per_token(&f.model, ids.view());
    let dim = rows.ncols();
    rows.into_shape_with_order((f.sentences.len(), steps, dim))
        .unwrap()
}

#[test]
fn cnn_features_and_highway_match() {
    let Some(f) = fixture() else { return };
    let cnn = on_padded_batch(&f, |m, ids| m.char_cnn().forward(ids).unwrap());
    assert_close(
        "char_cnn_concat_pre_highway",
        cnn.view(),
        &tensor(&f.goldens["char_cnn_concat_pre_highway"]),
    );
    let highway = on_padded_batch(&f, |m, ids| {
        m.highway()
            .forward(m.char_cnn().forward(ids).unwrap().view())
    });
    assert_close(
        "highway_output",
        highway.view(),
        &tensor(&f.goldens["highway_output"]),
    );
}

#[test]
fn activations_and_mask_match() {
    let Some(f) = fixture() else { return };
    let out = f.model.forward(&tokens(&f.sentences)).unwrap();
    let expected_mask = tensor(&f.goldens["mask_with_bos_eos"]).mapv(|v| v == 1.0);
    assert_eq!(out.mask.clone().into_dyn(), expected_mask);
    let expected = tensor(&f.goldens["activations"]);
    assert_eq!(out.activations.len(), 3);
    for (k, a) in out.activations.iter().enumerate() {
        let golden = expected.index_axis(ndarray::Axis(0), k).to_owned();
        assert_close(&format!("activations[{k}]"), a.view(), &golden);
    }
}

#[test]
fn scalar_mixes_match() {
    let Some(f) = fixture() else { return };
    let golden = &f.goldens["scalar_mix"];
    let params: Vec<f32> = tensor(&golden["scalar_mix_parameters"])
        .iter()
        .copied()
        .collect();
    let gamma = golden["gamma"].as_f64().unwrap() as f32;
    let out = f.model.forward(&tokens(&f.sentences)).unwrap();
    for (layer_norm, suffix) in [(false, ""), (true, "_layer_norm")] {
        let mix = ScalarMix::new(params.clone(), gamma, layer_norm).unwrap();
        let softmax = tensor(&golden["softmax_weights"]);
        for (a, e) in mix.normalized_weights().iter().zip(softmax.iter()) {
            assert!((a - e).abs() < 1e-6);
        }
        let with_boundaries = out.mix(&mix).unwrap();
        assert_close(
            &format!("elmo_representation{suffix}_keep_sentence_boundaries"),
            with_boundaries.view(),
            &tensor(&golden[format!("elmo_representation{suffix}_keep_sentence_boundaries")]),
        );
        let (inner, mask) = remove_sentence_boundaries(with_boundaries.view(), out.mask.view());
        assert_close(
            &format!("elmo_representation{suffix}"),
            inner.view(),
            &tensor(&golden[format!("elmo_representation{suffix}")]),
        );
        let expected_mask = tensor(&golden["elmo_representation_mask"]).mapv(|v| v == 1.0);
        assert_eq!(mask.into_dyn(), expected_mask);
    }
}

#[test]
fn embedder_rows_are_the_unpadded_mix() {
    let Some(f) = fixture() else { return };
    let golden = &f.goldens["scalar_mix"];
    let params: Vec<f32> = tensor(&golden["scalar_mix_parameters"])
        .iter()
        .copied()
        .collect();
    let mix = ScalarMix::new(params, 1.0, false).unwrap();
    let elmo = ElmoEmbedder::new(f.model.clone(), Readout::Mix(mix)).unwrap();
    let expected = tensor(&golden["elmo_representation"]);
    let batch = tokens(&f.sentences);
    let rows = elmo.embed_batch(&batch).unwrap();
    for (b, sentence) in batch.iter().enumerate() {
        let single = elmo.embed_sequence(sentence).unwrap();
        let apart = (&single - &rows[b]).fold(0.0f32, |m, d| m.max(d.abs()));
        assert!(apart <= 1e-5, "batch and single sentence differ by {apart}");
        let golden = expected.slice(s![b, ..sentence.len(), ..]).to_owned();
        assert_close(
            "embed_sequence",
            single.insert_axis(ndarray::Axis(0)).view(),
            &golden.insert_axis(ndarray::Axis(0)).into_dyn(),
        );
    }
    let layer = ElmoEmbedder::new(f.model.clone(), Readout::Layer(2)).unwrap();
    let acts = tensor(&f.goldens["activations"]);
    let top = layer.embed_sequence(&batch[1]).unwrap();
    let golden = acts.slice(s![2, 1, 1..1 + batch[1].len(), ..]).to_owned();
    assert_close(
        "layer 2",
        top.insert_axis(ndarray::Axis(0)).view(),
        &golden.insert_axis(ndarray::Axis(0)).into_dyn(),
    );
}
