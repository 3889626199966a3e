//! The trainable biLM: whole-model gradients against finite differences,
//! state carried between windows, determinism, and agreement with the
//! inference model on exported weights.

use embed_core::optim::{step_store, Adam, AdamConfig};
use embed_core::params::GradientStore;
use embed_core::Error;
use embed_elmo::chars::{char_ids_with_boundaries, MAX_CHARS};
use embed_elmo::options::Activation;
use embed_elmo::train::{BiLm, BiLmBatch, BiLmConfig, BiLmState, SoftmaxMode};
use embed_elmo::ElmoModel;
use ndarray::{s, Array2};
use rand::{Rng as _, SeedableRng as _};

fn tiny_config() -> BiLmConfig {
    BiLmConfig {
        char_filters: vec![(1, 3), (2, 3), (3, 2)],
        char_embed_dim: 3,
        activation: Activation::Tanh,
        n_highway: 1,
        projection_dim: 4,
        lstm_dim: 5,
        lstm_proj_dim: 4,
        n_layers: 2,
        cell_clip: 3.0,
        proj_clip: 3.0,
        vocab_size: 9,
        dropout: 0.2,
        ..BiLmConfig::small(9)
    }
}

/// A window of random words (each word a few random bytes) in both streams.
fn random_batch(batch: usize, unroll: usize, vocab: usize, seed: u64) -> BiLmBatch {
    let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(seed);
    let words: Vec<String> = (0..vocab)
        .map(|w| format!("w{}{}", w, "xyz".repeat(w % 3)))
        .collect();
    let mut out = BiLmBatch::zeros(batch, unroll);
    for position in 0..batch * unroll {
        for (ids, targets, mask) in [
            (&mut out.char_ids, &mut out.forward_targets, &mut out.mask),
            (
                &mut out.backward_char_ids,
                &mut out.backward_targets,
                &mut out.backward_mask,
            ),
        ] {
            let word = rng.gen_range(0..vocab);
            let chars = char_ids_with_boundaries(&[words[word].as_str()]);
            ids[position * MAX_CHARS..(position + 1) * MAX_CHARS]
                .iter_mut()
                .zip(chars.row(1))
                .for_each(|(o, &c)| *o = c);
            targets[position] = rng.gen_range(0..vocab as u32);
            mask[position] = u8::from(rng.gen_range(0..5) > 0);
        }
    }
    out
}

/// The gradient of the mean loss, and the same by central differences,
/// parameter by parameter: `(name, analytic, numeric)`.
fn gradients(
    model: &mut BiLm,
    batch: &BiLmBatch,
    initial: &BiLmState,
    softmax: SoftmaxMode,
) -> Vec<(String, Vec<f32>, Vec<f64>)> {
    let mut grads = GradientStore::zeros_like(model.params());
    model
        .forward_backward(batch, &mut initial.clone(), softmax, 11, &mut grads)
        .unwrap();
    let names: Vec<String> = model.params().names().map(String::from).collect();
    let step = 1e-3f32;
    let mut out = Vec::new();
    for name in names {
        let len = model.params().get(&name).unwrap().len();
        let mut numeric = Vec::with_capacity(len);
        for i in 0..len {
            let original = model.params().get(&name).unwrap().as_slice().unwrap()[i];
            let mut loss_at = |value: f32| {
                model
                    .params_mut()
                    .get_mut(&name)
                    .unwrap()
                    .as_slice_mut()
                    .unwrap()[i] = value;
                let mut scratch = GradientStore::new();
                let stats = model
                    .forward_backward(batch, &mut initial.clone(), softmax, 11, &mut scratch)
                    .unwrap();
                stats.mean_nll()
            };
            let (up, down) = (original + step, original - step);
            let derivative = (loss_at(up) - loss_at(down)) / (f64::from(up) - f64::from(down));
            model
                .params_mut()
                .get_mut(&name)
                .unwrap()
                .as_slice_mut()
                .unwrap()[i] = original;
            numeric.push(derivative);
        }
        let analytic = grads.get(&name).unwrap().as_slice().unwrap().to_vec();
        out.push((name, analytic, numeric));
    }
    out
}

/// Checks every parameter's gradient: the difference's norm within 3% of
/// the finite differences' norm (plus 1e-4 for parameters with almost no
/// gradient). The step is 1e-3: 1e-2 crosses a kink of the max over
/// positions in one filter of this model.
fn assert_gradients_match(checks: &[(String, Vec<f32>, Vec<f64>)]) {
    let mut nonzero = 0;
    for (name, analytic, numeric) in checks {
        let diff: f64 = analytic
            .iter()
            .zip(numeric)
            .map(|(&a, &n)| (f64::from(a) - n).powi(2))
            .sum::<f64>()
            .sqrt();
        let norm: f64 = numeric.iter().map(|n| n * n).sum::<f64>().sqrt();
        assert!(
            diff <= 0.03 * norm + 1e-4,
            "{name}: |analytic - numeric| = {diff:.3e}, |numeric| = {norm:.3e}"
        );
        if norm > 1e-3 {
            nonzero += 1;
        }
    }
    // Every parameter but possibly a few biases takes part.
    assert!(nonzero + 3 >= checks.len(), "{nonzero} of {}", checks.len());
}

#[test]
fn whole_model_gradients_match_finite_differences_with_full_softmax() {
    let config = tiny_config();
    let mut model = BiLm::init(config.clone(), 3).unwrap();
    let batch = random_batch(2, 3, config.vocab_size, 1);
    // Start from a carried state: the state is an input, not a parameter.
    let mut state = BiLmState::zeros(&config, 2);
    model
        .evaluate(&random_batch(2, 3, config.vocab_size, 2), &mut state)
        .unwrap();
    assert!(state.forward[1].h.iter().any(|&h| h != 0.0));
    let checks = gradients(&mut model, &batch, &state, SoftmaxMode::Full);
    assert_gradients_match(&checks);
}

#[test]
fn whole_model_gradients_match_finite_differences_with_sampled_softmax() {
    let config = tiny_config();
    let mut model = BiLm::init(config.clone(), 4).unwrap();
    let batch = random_batch(2, 3, config.vocab_size, 5);
    let state = BiLmState::zeros(&config, 2);
    // The seed fixes the sample, so the loss is a function of the parameters.
    let checks = gradients(
        &mut model,
        &batch,
        &state,
        SoftmaxMode::Sampled { samples: 4 },
    );
    assert_gradients_match(&checks);
}

#[test]
fn two_windows_with_the_state_carried_equal_one_long_window() {
    let config = BiLmConfig {
        dropout: 0.0,
        ..tiny_config()
    };
    let model = BiLm::init(config.clone(), 8).unwrap();
    let long = random_batch(3, 6, config.vocab_size, 9);
    let window = |from: usize| {
        let mut w = BiLmBatch::zeros(3, 3);
        for b in 0..3 {
            for t in 0..3 {
                let (src, dst) = (b * 6 + from + t, b * 3 + t);
                w.char_ids[dst * MAX_CHARS..(dst + 1) * MAX_CHARS]
                    .copy_from_slice(&long.char_ids[src * MAX_CHARS..(src + 1) * MAX_CHARS]);
                w.backward_char_ids[dst * MAX_CHARS..(dst + 1) * MAX_CHARS].copy_from_slice(
                    &long.backward_char_ids[src * MAX_CHARS..(src + 1) * MAX_CHARS],
                );
                w.forward_targets[dst] = long.forward_targets[src];
                w.backward_targets[dst] = long.backward_targets[src];
                w.mask[dst] = long.mask[src];
                w.backward_mask[dst] = long.backward_mask[src];
            }
        }
        w
    };
    let mut whole_state = BiLmState::zeros(&config, 3);
    let whole = model.evaluate(&long, &mut whole_state).unwrap();
    let mut state = BiLmState::zeros(&config, 3);
    let mut parts = model.evaluate(&window(0), &mut state).unwrap();
    parts += model.evaluate(&window(3), &mut state).unwrap();
    assert_eq!(parts.tokens, whole.tokens);
    assert!((parts.forward_nll - whole.forward_nll).abs() < 1e-4);
    assert!((parts.backward_nll - whole.backward_nll).abs() < 1e-4);
    for (a, b) in state.forward.iter().zip(&whole_state.forward) {
        assert!((&a.h - &b.h).iter().all(|d| d.abs() < 1e-6));
    }
}

#[test]
fn one_thread_is_reproducible_and_more_threads_agree() {
    let config = tiny_config();
    let model = BiLm::init(config.clone(), 2).unwrap();
    let batch = random_batch(4, 3, config.vocab_size, 3);
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let mut grads = GradientStore::zeros_like(model.params());
            let mut state = BiLmState::zeros(&config, 4);
            let stats = model
                .forward_backward(
                    &batch,
                    &mut state,
                    SoftmaxMode::Sampled { samples: 5 },
                    7,
                    &mut grads,
                )
                .unwrap();
            (stats, grads, state)
        })
    };
    let (a, ga, sa) = run(1);
    let (b, gb, sb) = run(1);
    assert_eq!((a, &ga, &sa), (b, &gb, &sb));
    // Two threads run the same two tasks (one per direction).
    let (c, gc, sc) = run(2);
    assert_eq!((a, &ga, &sa), (c, &gc, &sc));
    // Four split the rows too: the same up to the order of sums.
    let (d, gd, sd) = run(4);
    assert!((a.forward_nll - d.forward_nll).abs() < 1e-4);
    assert_eq!(sa, sd); // each row's state does not depend on the split
    for (name, g) in ga.iter() {
        let other = gd.get(name).unwrap();
        assert!((g - other).iter().all(|d| d.abs() < 1e-5), "{name}");
    }
}

#[test]
fn exported_weights_give_the_inference_models_activations() {
    let config = BiLmConfig {
        char_filters: vec![(1, 4), (2, 4), (3, 8)],
        char_embed_dim: 4,
        activation: Activation::Relu,
        n_highway: 2,
        projection_dim: 6,
        lstm_dim: 10,
        lstm_proj_dim: 6,
        cell_clip: 0.2,
        proj_clip: 0.05,
        ..BiLmConfig::small(5)
    };
    let model = BiLm::init(config.clone(), 21).unwrap();
    let dir = tempfile::tempdir().unwrap();
    model
        .to_inference_weights()
        .unwrap()
        .save(dir.path())
        .unwrap();
    let inference = ElmoModel::load(
        dir.path().join("options.json"),
        dir.path().join("weights.hdf5"),
    )
    .unwrap();

    let sentence = ["The", "cat", "sat", "on", "the", "mat"];
    let ids: Array2<u16> = char_ids_with_boundaries(&sentence);
    let steps = ids.nrows();
    let expected = inference.sentence_activations(ids.view()).unwrap();

    // The backward stream is the sentence reversed, `</S>` first.
    let mut batch = BiLmBatch::zeros(1, steps);
    for t in 0..steps {
        batch.char_ids[t * MAX_CHARS..(t + 1) * MAX_CHARS]
            .copy_from_slice(ids.row(t).as_slice().unwrap());
        batch.backward_char_ids[t * MAX_CHARS..(t + 1) * MAX_CHARS]
            .copy_from_slice(ids.row(steps - 1 - t).as_slice().unwrap());
    }
    let mut state = BiLmState::zeros(&config, 1);
    let ours = model.activations(&batch, &mut state).unwrap();
    let proj = config.projection_dim;
    let mut worst = 0.0f32;
    let mut clipped = 0;
    for (layer, want) in expected.iter().enumerate() {
        for t in 0..steps {
            let forward = ours.forward[layer].slice(s![0, t, ..]);
            let backward = ours.backward[layer].slice(s![0, steps - 1 - t, ..]);
            for k in 0..proj {
                worst = worst.max((forward[k] - want[[t, k]]).abs());
                worst = worst.max((backward[k] - want[[t, proj + k]]).abs());
                if layer == 1 && (forward[k].abs() - 0.05).abs() < 1e-7 {
                    clipped += 1;
                }
            }
        }
    }
    assert!(worst < 1e-5, "largest difference {worst}");
    assert!(
        clipped > 0,
        "the comparison should exercise the projection clip"
    );
}

#[test]
fn a_few_adam_steps_lower_the_loss() {
    let config = BiLmConfig {
        dropout: 0.0,
        ..tiny_config()
    };
    let mut model = BiLm::init(config.clone(), 1).unwrap();
    let batch = random_batch(2, 4, config.vocab_size, 4);
    let loss = |model: &BiLm| {
        model
            .evaluate(&batch, &mut BiLmState::zeros(&config, 2))
            .unwrap()
            .mean_nll()
    };
    let before = loss(&model);
    let mut adam = Adam::new(AdamConfig {
        learning_rate: 0.02,
        ..AdamConfig::default()
    })
    .unwrap();
    for step in 0..30 {
        let mut grads = GradientStore::zeros_like(model.params());
        let mut state = BiLmState::zeros(&config, 2);
        model
            .forward_backward(&batch, &mut state, SoftmaxMode::Full, step, &mut grads)
            .unwrap();
        step_store(&mut adam, model.params_mut(), &grads).unwrap();
    }
    let after = loss(&model);
    assert!(after < 0.5 * before, "{before} -> {after}");
}

#[test]
fn a_non_finite_loss_is_reported_and_changes_nothing() {
    let config = tiny_config();
    let mut model = BiLm::init(config.clone(), 1).unwrap();
    model
        .params_mut()
        .get_mut("softmax/W")
        .unwrap()
        .fill(f32::NAN);
    let batch = random_batch(2, 2, config.vocab_size, 1);
    let mut state = BiLmState::zeros(&config, 2);
    let mut grads = GradientStore::zeros_like(model.params());
    let err = model
        .forward_backward(&batch, &mut state, SoftmaxMode::Full, 1, &mut grads)
        .unwrap_err();
    assert!(matches!(err, Error::Diverged { .. }), "{err}");
    assert_eq!(state, BiLmState::zeros(&config, 2));
    assert_eq!(grads.global_norm(), 0.0);
}

#[test]
fn bad_batches_and_states_are_errors() {
    let config = tiny_config();
    let model = BiLm::init(config.clone(), 1).unwrap();
    let mut state = BiLmState::zeros(&config, 2);
    let mut batch = random_batch(2, 2, config.vocab_size, 1);
    batch.mask.pop();
    assert!(model
        .evaluate(&batch, &mut state)
        .unwrap_err()
        .to_string()
        .contains("`mask`"));
    let mut batch = random_batch(2, 2, config.vocab_size, 1);
    batch.forward_targets[0] = 99;
    batch.mask[0] = 1;
    assert!(model
        .evaluate(&batch, &mut state)
        .unwrap_err()
        .to_string()
        .contains("99"));
    let batch = random_batch(2, 2, config.vocab_size, 1);
    assert!(model
        .evaluate(&batch, &mut BiLmState::zeros(&config, 3))
        .is_err());
    let mut grads = GradientStore::new();
    let too_many = SoftmaxMode::Sampled { samples: 10 };
    assert!(model
        .forward_backward(&batch, &mut state, too_many, 1, &mut grads)
        .is_err());
    // An empty window is fine and changes nothing.
    let empty = BiLmBatch::zeros(0, 3);
    let stats = model
        .evaluate(&empty, &mut BiLmState::zeros(&config, 0))
        .unwrap();
    assert_eq!(stats.tokens, 0);
}
