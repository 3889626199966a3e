//! The parameter store: scoped names, shape checks, seeded initialisation,
//! and gradient accumulation.

use embed_core::params::{GradientStore, Init, ParameterStore};
use embed_core::Error;
use ndarray::{ArrayD, IxDyn};

#[test]
fn errors_name_the_full_path_and_both_shapes() {
    let mut store = ParameterStore::new(0);
    store
        .scope("encoder")
        .scope("layer")
        .scope(0)
        .get_or_init("weight", &[4, 2], Init::Zeros)
        .unwrap();
    let err = store
        .scope("encoder.layer.0")
        .get("weight", &[2, 4])
        .unwrap_err();
    match err {
        Error::ShapeMismatch {
            name,
            expected,
            actual,
        } => {
            assert_eq!(name, "encoder.layer.0.weight");
            assert_eq!(expected, vec![2, 4]);
            assert_eq!(actual, vec![4, 2]);
        }
        other => panic!("expected a shape mismatch, got {other}"),
    }
    let err = store
        .scope("encoder")
        .scope("layer")
        .scope(1)
        .get("weight", &[4, 2])
        .map(|w| w.to_owned());
    assert!(
        matches!(err, Err(Error::MissingTensor { ref name }) if name == "encoder.layer.1.weight")
    );
    // get_or_init never silently replaces a tensor of another shape.
    let err = store
        .scope("encoder.layer.0")
        .get_or_init("weight", &[3], Init::Ones)
        .unwrap_err();
    assert!(matches!(err, Error::ShapeMismatch { .. }));
}

#[test]
fn loaded_tensors_win_over_initialisation() {
    let mut store = ParameterStore::new(0);
    let loaded = ArrayD::from_elem(IxDyn(&[2, 3]), 7.0_f32);
    store.insert("pooler.dense.weight", loaded.clone());
    let w = store
        .scope("pooler")
        .scope("dense")
        .get_or_init("weight", &[2, 3], Init::Normal { std: 1.0 })
        .unwrap()
        .to_owned();
    assert_eq!(w, loaded);
}

#[test]
fn initialisation_depends_on_seed_and_name_only() {
    let draw = |seed: u64, name: &str| {
        let mut store = ParameterStore::new(seed);
        store
            .scope("m")
            .get_or_init(name, &[50, 40], Init::Normal { std: 0.02 })
            .unwrap()
            .to_owned()
    };
    assert_eq!(draw(3, "a"), draw(3, "a"));
    assert_ne!(draw(3, "a"), draw(4, "a"));
    assert_ne!(draw(3, "a"), draw(3, "b"));
}

#[test]
fn initialisers_have_the_documented_distributions() {
    let mut rng = embed_core::seed::rng(11, 0);
    let n = 200_000_f64;

    let normal = Init::Normal { std: 0.02 }
        .array(&[400, 500], &mut rng)
        .unwrap();
    let mean = normal.iter().map(|&x| f64::from(x)).sum::<f64>() / n;
    let var = normal
        .iter()
        .map(|&x| (f64::from(x) - mean).powi(2))
        .sum::<f64>()
        / n;
    // Standard errors: mean 0.02/√n ≈ 4.5e-5, std about 0.02/√(2n) ≈ 3.2e-5; 5 of each.
    assert!(mean.abs() < 2.3e-4, "mean {mean}");
    assert!((var.sqrt() - 0.02).abs() < 1.6e-4, "std {}", var.sqrt());

    // Xavier for [out=400, in=500]: bound √(6/900); uniform variance bound²/3.
    let bound = (6.0_f64 / 900.0).sqrt();
    let xavier = Init::XavierUniform.array(&[400, 500], &mut rng).unwrap();
    assert!(xavier.iter().all(|&x| f64::from(x).abs() <= bound));
    let var = xavier.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>() / n;
    assert!(
        (var / (bound * bound / 3.0) - 1.0).abs() < 0.01,
        "variance {var}"
    );

    let ones = Init::Ones.array(&[3], &mut rng).unwrap();
    assert!(ones.iter().all(|&x| x == 1.0));
    assert!(Init::Normal { std: -1.0 }.array(&[3], &mut rng).is_err());
    assert!(Init::Uniform { bound: f32::NAN }
        .array(&[3], &mut rng)
        .is_err());
}

#[test]
fn names_iterate_in_order_and_gradients_match_them() {
    let mut store = ParameterStore::new(0);
    {
        let mut emb = store.scope("embeddings");
        emb.get_or_init("word", &[10, 4], Init::Uniform { bound: 0.1 })
            .unwrap();
        emb.get_or_init("position", &[5, 4], Init::Zeros).unwrap();
    }
    assert_eq!(
        store.names().collect::<Vec<_>>(),
        ["embeddings.position", "embeddings.word"]
    );
    assert_eq!(store.num_values(), 60);

    let mut grads = GradientStore::zeros_like(&store);
    assert_eq!(
        grads.names().collect::<Vec<_>>(),
        store.names().collect::<Vec<_>>()
    );
    let g = ArrayD::from_elem(IxDyn(&[5, 4]), 0.5_f32);
    grads.accumulate("embeddings.position", g.view()).unwrap();
    grads.accumulate("embeddings.position", g.view()).unwrap();
    assert!(grads
        .get("embeddings.position")
        .unwrap()
        .iter()
        .all(|&x| x == 1.0));
    let err = grads.accumulate("embeddings.word", g.view()).unwrap_err();
    assert!(matches!(err, Error::ShapeMismatch { ref name, .. } if name == "embeddings.word"));

    // Norm of twenty ones is √20; clipping to 1 scales it to (about) 1.
    assert!((grads.global_norm() - 20_f64.sqrt()).abs() < 1e-12);
    grads.clip_global_norm(1.0);
    assert!((grads.global_norm() - 1.0).abs() < 1e-6);
    grads.zero();
    assert_eq!(grads.global_norm(), 0.0);
}
