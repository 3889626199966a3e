//! Inverted dropout: each value is kept with probability `1 − p` and
//! scaled by `1/(1 − p)`, so the expected output equals the input. The
//! mask comes from a seeded generator, so a seed fixes it.
//!
//! ```
//! use embed_core::nn::dropout::Dropout;
//! let dropout = Dropout::new(0.5)?;
//! let mut x = vec![1.0_f32; 1000];
//! let mut mask = Vec::new();
//! dropout.forward(&mut x, &mut embed_core::seed::rng(7, 0), &mut mask);
//! assert!(x.iter().all(|&v| v == 0.0 || v == 2.0));
//! let kept = x.iter().filter(|&&v| v > 0.0).count();
//! assert!((400..600).contains(&kept));
//! let mut grad = vec![1.0_f32; 1000];
//! Dropout::backward(&mask, &mut grad);
//! assert_eq!(grad, x);
//! # Ok::<(), embed_core::Error>(())
//! ```

use rand::RngCore as _;

use crate::seed::Rng;
use crate::{Error, Result};

/// Dropout with a validated probability `p` in `[0, 1)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Dropout {
    p: f32,
}

impl Dropout {
    /// Dropout that zeroes each value with probability `p`.
    pub fn new(p: f32) -> Result<Self> {
        if !(0.0..1.0).contains(&p) {
            return Err(Error::invalid_parameter(
                "dropout",
                format!("probability must lie in [0, 1), got {p}"),
            ));
        }
        Ok(Dropout { p })
    }

    /// The drop probability.
    pub fn probability(&self) -> f32 {
        self.p
    }

    /// Whether this dropout changes anything (`p > 0`).
    pub fn is_active(&self) -> bool {
        self.p > 0.0
    }

    /// Applies dropout to `x` in place, drawing one number per value from
    /// `rng`, and stores the multipliers (0 or `1/(1 − p)`) in `mask`. With
    /// `p = 0`, `x` is unchanged and `mask` is left empty.
    pub fn forward(&self, x: &mut [f32], rng: &mut Rng, mask: &mut Vec<f32>) {
        mask.clear();
        if !self.is_active() {
            return;
        }
        mask.resize(x.len(), 0.0);
        self.fill_mask(rng, mask);
        x.iter_mut().zip(mask.iter()).for_each(|(v, m)| *v *= m);
    }

    /// Fills `mask` with multipliers, 0 with probability `p` and `1/(1 − p)`
    /// otherwise, one draw from `rng` per value.
    pub fn fill_mask(&self, rng: &mut Rng, mask: &mut [f32]) {
        // Keep when a uniform 32-bit draw is at or above p·2³².
        let threshold = (f64::from(self.p) * 4_294_967_296.0) as u64;
        let scale = 1.0 / (1.0 - self.p);
        for m in mask.iter_mut() {
            *m = if u64::from(rng.next_u32()) >= threshold {
                scale
            } else {
                0.0
            };
        }
    }

    /// Backward pass: multiplies `dy` by the forward pass's `mask` (an empty
    /// mask means no dropout was applied).
    ///
    /// # Panics
    /// When a non-empty mask differs in length from `dy`.
    pub fn backward(mask: &[f32], dy: &mut [f32]) {
        if mask.is_empty() {
            return;
        }
        assert_eq!(mask.len(), dy.len(), "dropout: mask length");
        dy.iter_mut().zip(mask).for_each(|(d, m)| *d *= m);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::gradcheck::{max_relative_error, numerical_gradient, weighted_sum};
    use crate::nn::testing::random_array;
    use ndarray::Array1;
    use proptest::prelude::*;

    #[test]
    fn probabilities_outside_the_unit_interval_are_rejected() {
        for p in [-0.1, 1.0, f32::NAN] {
            assert!(matches!(
                Dropout::new(p),
                Err(Error::InvalidParameter {
                    name: "dropout",
                    ..
                })
            ));
        }
        let mut x = vec![1.0f32; 4];
        let mut mask = vec![1.0];
        Dropout::new(0.0)
            .unwrap()
            .forward(&mut x, &mut crate::seed::rng(1, 1), &mut mask);
        assert!(mask.is_empty());
        assert_eq!(x, vec![1.0; 4]);
    }

    #[test]
    fn same_seed_same_mask() {
        let d = Dropout::new(0.3).unwrap();
        let (mut a, mut b) = (vec![1.0f32; 64], vec![1.0f32; 64]);
        let (mut ma, mut mb) = (Vec::new(), Vec::new());
        d.forward(&mut a, &mut crate::seed::rng(5, 2), &mut ma);
        d.forward(&mut b, &mut crate::seed::rng(5, 2), &mut mb);
        assert_eq!(a, b);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        /// Tolerance: 1e-3 relative (for a fixed mask dropout is linear).
        #[test]
        fn gradient_matches_finite_differences(n in 1usize..30, p in 0.0f32..0.9, seed in 0u64..1000) {
            let d = Dropout::new(p).unwrap();
            let mut x: Array1<f32> = random_array(n, seed);
            let r: Vec<f32> = random_array(n, seed + 1).to_vec();
            let mut mask = Vec::new();
            let mut y = x.to_vec();
            d.forward(&mut y, &mut crate::seed::rng(seed, 3), &mut mask);
            let mut grad = r.clone();
            Dropout::backward(&mask, &mut grad);
            let numeric = numerical_gradient(x.as_slice_mut().unwrap(), 1e-2, |xs| {
                let mut y = xs.to_vec();
                d.forward(&mut y, &mut crate::seed::rng(seed, 3), &mut Vec::new());
                weighted_sum(&y, &r)
            });
            prop_assert!(max_relative_error(&grad, &numeric, 1e-1) < 1e-3);
        }
    }
}
