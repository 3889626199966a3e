//! Optimizers against steps computed by hand, row-sparse updates against
//! dense ones, state checkpoints, and hyperparameter validation.
//!
//! Tolerance: 1e-6 absolute on values near 1 — the optimizers compute in
//! f32 (about 6e-8 relative per operation), the expected values are exact
//! decimal arithmetic.

use embed_core::optim::{
    decays_unless_bias_or_layer_norm, step_store, AdaGrad, AdaGradConfig, Adam, AdamConfig,
    Optimizer, OptimizerState, Sgd,
};
use embed_core::params::{GradientStore, ParameterStore};
use embed_core::schedule::{LearningRateSchedule, LinearDecay};
use embed_core::Error;
use ndarray::{array, Array2, ArrayD};

const TOL: f64 = 1e-6;

fn assert_close(actual: &[f32], expected: &[f64]) {
    assert_eq!(actual.len(), expected.len());
    for (i, (&a, &e)) in actual.iter().zip(expected).enumerate() {
        assert!(
            (f64::from(a) - e).abs() <= TOL,
            "value {i}: got {a}, expected {e} (tolerance {TOL})"
        );
    }
}

/// Compares two f32 computations of the same steps.
fn assert_close_f32(actual: &[f32], expected: &[f32]) {
    let expected: Vec<f64> = expected.iter().map(|&e| f64::from(e)).collect();
    assert_close(actual, &expected);
}

/// Runs `grads` through `opt` on a one-value parameter starting at 1 and
/// returns the value after each step.
fn trajectory(opt: &mut dyn Optimizer, name: &str, grads: &[f32]) -> Vec<f32> {
    let mut w = [1.0_f32];
    grads
        .iter()
        .map(|&g| {
            opt.step_dense(name, &mut w, &[g]).unwrap();
            w[0]
        })
        .collect()
}

#[test]
fn sgd_steps_by_hand_with_linear_decay() {
    // lr 0.1 then 0.05 (linear decay over 2 steps, floor 0.01):
    // w = [1, 2] − 0.1·[0.5, −1] = [0.95, 2.1]; then − 0.05·[0.5, −1] = [0.925, 2.15].
    let schedule = LinearDecay::new(0.1, 0.01, 2).unwrap();
    let mut opt = Sgd::new(0.1).unwrap();
    let mut w = [1.0_f32, 2.0];
    let mut after = Vec::new();
    for step in 0..3 {
        opt.set_learning_rate(schedule.rate(step) as f32).unwrap();
        opt.step_dense("w", &mut w, &[0.5, -1.0]).unwrap();
        after.push(w);
    }
    assert_close(&after[0], &[0.95, 2.1]);
    assert_close(&after[1], &[0.925, 2.15]);
    // Third step at the floor, 0.01: [0.92, 2.16].
    assert_close(&after[2], &[0.92, 2.16]);
    assert_eq!(opt.steps("w"), 3);
}

#[test]
fn adagrad_steps_by_hand() {
    // lr 0.1, G₀ = 0, gradients 2, 1, −2:
    // G = 4,  w = 1 − 0.1·2/2 = 0.9
    // G = 5,  w = 0.9 − 0.1·1/√5 = 0.855278640
    // G = 9,  w = 0.855278640 + 0.1·2/3 = 0.921945307
    let mut opt = AdaGrad::new(AdaGradConfig {
        learning_rate: 0.1,
        ..Default::default()
    })
    .unwrap();
    let w = trajectory(&mut opt, "w", &[2.0, 1.0, -2.0]);
    assert_close(&w, &[0.9, 0.855_278_64, 0.921_945_3]);
}

#[test]
fn adagrad_glove_order_starts_at_one_and_clips() {
    // lr 0.1, G₀ = 1, clip 1.5, update before accumulating; gradients 2, −1:
    // g = 1.5: w = 1 − 0.1·1.5/√1 = 0.85, then G = 1 + 2.25 = 3.25
    // g = −1:  w = 0.85 + 0.1·1/√3.25 = 0.905470020, then G = 4.25
    let mut opt = AdaGrad::new(AdaGradConfig {
        learning_rate: 0.1,
        initial_accumulator: 1.0,
        clip: Some(1.5),
        accumulate_before_update: false,
        ..Default::default()
    })
    .unwrap();
    let w = trajectory(&mut opt, "w", &[2.0, -1.0]);
    assert_close(&w, &[0.85, 0.905_470_02]);
    assert_close(&opt.state().params["w"].buffers[0], &[4.25]);
}

fn adam(config: AdamConfig) -> Adam {
    Adam::new(config).unwrap()
}

#[test]
fn adam_steps_by_hand() {
    // lr 0.1, β = (0.9, 0.999), gradients 2, −1, 0.5:
    // t=1: m = 0.2, v = 0.004, m̂ = 2, v̂ = 4, w = 1 − 0.1·2/2 = 0.9
    // t=2: m = 0.08, v = 0.004996, m̂ = 0.08/0.19, v̂ = 0.004996/0.001999,
    //      w = 0.9 − 0.1·0.421052632/1.580901520 = 0.873366297
    // t=3: m = 0.122, v = 0.005241004, m̂ = 0.122/0.271, v̂ = 0.005241004/0.002997001,
    //      w = 0.873366297 − 0.034042915 = 0.839323382
    let mut opt = adam(AdamConfig {
        learning_rate: 0.1,
        ..Default::default()
    });
    let w = trajectory(&mut opt, "w", &[2.0, -1.0, 0.5]);
    assert_close(&w, &[0.9, 0.873_366_3, 0.839_323_4]);
    assert_eq!(opt.steps("w"), 3);
}

#[test]
fn adamw_decays_before_the_adam_update() {
    // As above with decoupled decay λ = 0.5: w ← w·(1 − 0.1·0.5) first.
    // t=1: 1·0.95 − 0.1 = 0.85
    // t=2: 0.85·0.95 − 0.026633703 = 0.780866297
    // t=3: 0.780866297·0.95 − 0.034042915 = 0.707780067
    let mut opt =
        adam(AdamConfig::adamw(0.1, 0.5)).with_decay_filter(decays_unless_bias_or_layer_norm);
    let w = trajectory(&mut opt, "dense.weight", &[2.0, -1.0, 0.5]);
    assert_close(&w, &[0.85, 0.780_866_3, 0.707_780_07]);
    // A bias follows plain Adam.
    let b = trajectory(&mut opt, "dense.bias", &[2.0, -1.0, 0.5]);
    assert_close(&b, &[0.9, 0.873_366_3, 0.839_323_4]);
}

#[test]
fn adam_l2_decay_adds_to_the_gradient() {
    // λ = 0.5 coupled: g ← g + 0.5·w.
    // t=1: g = 2.5, w = 1 − 0.1 = 0.9
    // t=2: g = −1 + 0.45 = −0.55, m = 0.17, v = 0.00654625,
    //      w = 0.9 − 0.1·(0.17/0.19)/√(0.00654625/0.001999) = 0.850556931
    let mut opt = adam(AdamConfig {
        learning_rate: 0.1,
        weight_decay: 0.5,
        ..Default::default()
    });
    let w = trajectory(&mut opt, "w", &[2.0, -1.0]);
    assert_close(&w, &[0.9, 0.850_556_93]);
}

/// Row-sparse steps equal dense steps on the rows they name, and leave
/// other rows and their state alone.
fn check_rows_match_dense(
    mut sparse: Box<dyn Optimizer>,
    mut dense: Box<dyn Optimizer>,
    fill: f32,
) {
    let start = Array2::from_shape_fn((4, 3), |(i, j)| (i * 3 + j) as f32 * 0.1 - 0.5);
    let mut table = start.clone();
    let grads = [
        array![[0.3_f32, -0.2, 0.1], [1.0, 0.5, -0.5]],
        array![[-0.4_f32, 0.2, 0.6], [0.1, 0.1, 0.1]],
    ];
    let rows = [2_usize, 0];
    // Dense reference: row r of the table is its own parameter.
    let mut row_refs: Vec<Vec<f32>> = rows.iter().map(|&r| start.row(r).to_vec()).collect();
    for g in &grads {
        sparse
            .step_rows("emb", &mut table, &rows, g.view())
            .unwrap();
        for (k, w) in row_refs.iter_mut().enumerate() {
            dense
                .step_dense(&format!("row{k}"), w, g.row(k).as_slice().unwrap())
                .unwrap();
        }
    }
    for (k, &r) in rows.iter().enumerate() {
        assert_close_f32(table.row(r).as_slice().unwrap(), &row_refs[k]);
    }
    for untouched in [1, 3] {
        assert_eq!(table.row(untouched), start.row(untouched));
    }
    assert_eq!(sparse.steps("emb"), 2);
    // Per-row state: touched rows hold what the dense steps hold, the others
    // their initial value.
    let (sparse_state, dense_state) = (sparse.state(), dense.state());
    let buffers = &sparse_state.params["emb"].buffers;
    for (b, buffer) in buffers.iter().enumerate() {
        for (k, &r) in rows.iter().enumerate() {
            let expected = &dense_state.params[&format!("row{k}")].buffers[b];
            assert_close_f32(&buffer[r * 3..r * 3 + 3], expected);
        }
        for untouched in [1, 3] {
            assert!(buffer[untouched * 3..untouched * 3 + 3]
                .iter()
                .all(|&x| x == fill));
        }
    }
}

#[test]
fn row_sparse_steps_equal_dense_steps_on_their_rows() {
    let ada = AdaGradConfig {
        learning_rate: 0.1,
        initial_accumulator: 1.0,
        ..Default::default()
    };
    let sgd = || Box::new(Sgd::new(0.1).unwrap());
    check_rows_match_dense(sgd(), sgd(), 0.0);
    let ada = || Box::new(AdaGrad::new(ada).unwrap());
    check_rows_match_dense(ada(), ada(), 1.0);
    let adamw = || Box::new(adam(AdamConfig::adamw(0.05, 0.1)));
    check_rows_match_dense(adamw(), adamw(), 0.0);
}

#[test]
fn adam_row_state_stays_zero_for_rows_never_updated() {
    let mut opt = adam(AdamConfig::default());
    let mut table = Array2::<f32>::ones((3, 2));
    opt.step_rows("emb", &mut table, &[1], array![[1.0_f32, 1.0]].view())
        .unwrap();
    let state = opt.state();
    let [m, v] = state.params["emb"].buffers.as_slice() else {
        panic!("Adam keeps two buffers")
    };
    assert_eq!(&m[0..2], &[0.0, 0.0]);
    assert_eq!(&v[4..6], &[0.0, 0.0]);
    assert_close(&m[2..4], &[0.1, 0.1]);
    assert_close(&v[2..4], &[0.001, 0.001]);
}

#[test]
fn bad_shapes_and_rows_are_errors() {
    let mut opt = Sgd::new(0.1).unwrap();
    let mut w = [1.0_f32, 2.0];
    assert!(matches!(
        opt.step_dense("w", &mut w, &[1.0]),
        Err(Error::ShapeMismatch { .. })
    ));
    let mut table = Array2::<f32>::zeros((2, 2));
    let err = opt
        .step_rows("emb", &mut table, &[5], array![[1.0_f32, 1.0]].view())
        .unwrap_err();
    assert!(err.to_string().contains("row 5"), "{err}");
    let err = opt
        .step_rows("emb", &mut table, &[0, 1], array![[1.0_f32, 1.0]].view())
        .unwrap_err();
    assert!(matches!(err, Error::ShapeMismatch { .. }), "{err}");

    // A parameter may not change size between steps.
    let mut adam = adam(AdamConfig::default());
    adam.step_dense("w", &mut [1.0, 2.0], &[1.0, 1.0]).unwrap();
    let err = adam.step_dense("w", &mut [1.0], &[1.0]).unwrap_err();
    assert!(
        matches!(err, Error::ShapeMismatch { ref name, .. } if name == "w"),
        "{err}"
    );
}

#[test]
fn state_round_trips_through_json_and_resumes_identically() {
    let config = AdamConfig::adamw(0.01, 0.01);
    let mut straight = adam(config);
    let mut w_straight = vec![0.5_f32, -0.25, 2.0];
    let grads = [[0.1_f32, -0.3, 0.7], [0.2, 0.2, -0.1], [-0.5, 0.4, 0.3]];
    for g in &grads {
        straight.step_dense("w", &mut w_straight, g).unwrap();
    }

    let mut first = adam(config);
    let mut w = vec![0.5_f32, -0.25, 2.0];
    first.step_dense("w", &mut w, &grads[0]).unwrap();
    let json = serde_json::to_string(&first.state()).unwrap();
    let restored: OptimizerState = serde_json::from_str(&json).unwrap();
    let mut resumed = adam(config);
    resumed.load_state(restored).unwrap();
    for g in &grads[1..] {
        resumed.step_dense("w", &mut w, g).unwrap();
    }
    assert_eq!(w, w_straight, "resuming from a checkpoint is bit-identical");
    assert_eq!(resumed.steps("w"), 3);

    // State of another optimizer kind is refused.
    let mut sgd = Sgd::new(0.1).unwrap();
    assert!(sgd.load_state(resumed.state()).is_err());
}

#[test]
fn step_store_updates_every_parameter_with_a_gradient() {
    let mut params = ParameterStore::new(0);
    params.insert("a", ArrayD::from_elem(vec![2, 2], 1.0));
    params.insert("b", ArrayD::from_elem(vec![3], 1.0));
    let mut grads = GradientStore::new();
    grads
        .accumulate("a", ArrayD::from_elem(vec![2, 2], 1.0).view())
        .unwrap();
    step_store(&mut Sgd::new(0.5).unwrap(), &mut params, &grads).unwrap();
    assert!(params.get("a").unwrap().iter().all(|&x| x == 0.5));
    assert!(params.get("b").unwrap().iter().all(|&x| x == 1.0));

    grads
        .accumulate("missing", ArrayD::zeros(vec![1]).view())
        .unwrap();
    let err = step_store(&mut Sgd::new(0.5).unwrap(), &mut params, &grads).unwrap_err();
    assert!(matches!(err, Error::MissingTensor { ref name } if name == "missing"));
}

#[test]
fn every_invalid_hyperparameter_is_named() {
    let field = |e: Error| match e {
        Error::InvalidParameter { name, .. } => name,
        other => panic!("expected InvalidParameter, got {other}"),
    };
    assert_eq!(field(Sgd::new(-0.1).unwrap_err()), "learning_rate");
    assert_eq!(field(Sgd::new(f32::NAN).unwrap_err()), "learning_rate");
    let ada = AdaGradConfig::default();
    for (config, name) in [
        (
            AdaGradConfig {
                learning_rate: -1.0,
                ..ada
            },
            "learning_rate",
        ),
        (AdaGradConfig { eps: 0.0, ..ada }, "eps"),
        (AdaGradConfig { eps: -1e-8, ..ada }, "eps"),
        (
            AdaGradConfig {
                initial_accumulator: -1.0,
                ..ada
            },
            "initial_accumulator",
        ),
        (
            AdaGradConfig {
                clip: Some(0.0),
                ..ada
            },
            "clip",
        ),
    ] {
        assert_eq!(field(AdaGrad::new(config).unwrap_err()), name);
    }
    let base = AdamConfig::default();
    for (config, name) in [
        (
            AdamConfig {
                learning_rate: -1e-3,
                ..base
            },
            "learning_rate",
        ),
        (AdamConfig { beta1: 1.0, ..base }, "beta1"),
        (
            AdamConfig {
                beta1: -0.1,
                ..base
            },
            "beta1",
        ),
        (AdamConfig { beta2: 1.5, ..base }, "beta2"),
        (AdamConfig { eps: 0.0, ..base }, "eps"),
        (
            AdamConfig {
                weight_decay: -0.01,
                ..base
            },
            "weight_decay",
        ),
    ] {
        assert_eq!(field(Adam::new(config).unwrap_err()), name);
    }
    let mut opt = adam(base);
    assert_eq!(
        field(opt.set_learning_rate(-1.0).unwrap_err()),
        "learning_rate"
    );
    assert_eq!(opt.learning_rate(), base.learning_rate);
}
