//! Properties of schedules and optimizers over random inputs.

use embed_core::optim::{AdaGrad, AdaGradConfig, Adam, AdamConfig, Optimizer, Sgd};
use embed_core::schedule::{LearningRateSchedule, LinearDecay, WarmupLinear};
use proptest::prelude::*;

proptest! {
    #[test]
    fn linear_decay_falls_from_start_to_floor(
        start in 1e-6_f64..1.0,
        floor_share in 0.0_f64..1.0,
        total in 1_u64..1_000_000,
        a in 0_u64..2_000_000,
        b in 0_u64..2_000_000,
    ) {
        let s = LinearDecay::new(start, start * floor_share, total).unwrap();
        let (early, late) = (a.min(b), a.max(b));
        prop_assert!(s.rate(early) >= s.rate(late));
        prop_assert!(s.rate(late) >= start * floor_share);
        prop_assert!(s.rate(early) <= start);
        prop_assert_eq!(s.rate(0), start);
    }

    #[test]
    fn warmup_linear_peaks_at_the_end_of_warmup(
        peak in 1e-6_f64..1.0,
        warmup in 0_u64..1000,
        extra in 0_u64..10_000,
        step in 0_u64..20_000,
    ) {
        let total = (warmup + extra).max(1);
        let s = WarmupLinear::new(peak, warmup.min(total), total).unwrap();
        let r = s.rate(step);
        prop_assert!((0.0..=peak).contains(&r));
        if step < warmup.min(total) {
            prop_assert!(s.rate(step + 1) >= r);
        } else {
            prop_assert!(s.rate(step + 1) <= r);
        }
        prop_assert!((s.rate(warmup.min(total)) - peak).abs() < 1e-12 || warmup >= total);
    }

    #[test]
    fn first_adam_step_moves_each_value_by_the_learning_rate(
        grads in proptest::collection::vec(0.01_f32..100.0, 1..20),
        signs in proptest::collection::vec(any::<bool>(), 20),
        lr in 1e-4_f32..0.1,
    ) {
        // m̂ = g and v̂ = g² after one step, so the step is lr·g/(|g| + eps).
        let grads: Vec<f32> = grads.iter().zip(&signs).map(|(&g, &s)| if s { g } else { -g }).collect();
        let mut opt = Adam::new(AdamConfig { learning_rate: lr, ..Default::default() }).unwrap();
        let mut w = vec![0.0_f32; grads.len()];
        opt.step_dense("w", &mut w, &grads).unwrap();
        for (w, g) in w.iter().zip(&grads) {
            prop_assert!((w + lr * g.signum()).abs() <= lr * 1e-5, "w {} g {}", w, g);
        }
    }

    #[test]
    fn sgd_and_adagrad_descend_along_the_gradient(
        grads in proptest::collection::vec(-10.0_f32..10.0, 1..20),
        lr in 1e-4_f32..1.0,
    ) {
        let mut sgd = Sgd::new(lr).unwrap();
        let mut ada = AdaGrad::new(AdaGradConfig { learning_rate: lr, ..Default::default() }).unwrap();
        let (mut a, mut b) = (vec![0.0_f32; grads.len()], vec![0.0_f32; grads.len()]);
        sgd.step_dense("w", &mut a, &grads).unwrap();
        ada.step_dense("w", &mut b, &grads).unwrap();
        for ((a, b), g) in a.iter().zip(&b).zip(&grads) {
            prop_assert_eq!(*a, -lr * g);
            // AdaGrad's first step from G = 0 is lr·sign(g) (or 0 for g = 0).
            prop_assert!(b * g <= 0.0 && b.abs() <= lr * (1.0 + 1e-6));
        }
    }
}
