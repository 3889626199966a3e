//! The logistic function of the inner loop, clipped as word2vec C clips it,
//! with the matching log-loss.

use crate::params::SigmoidMode;

/// Scores beyond ±`MAX_EXP` are treated as saturated (word2vec C's `MAX_EXP`).
pub const MAX_EXP: f32 = 6.0;
/// Entries of the lookup table (word2vec C's `EXP_TABLE_SIZE`).
pub const TABLE_SIZE: usize = 1000;

/// σ(x) = 1 / (1 + e^-x) and -ln σ(x), by table or exactly.
///
/// The table holds σ at the centres of `TABLE_SIZE` equal cells over
/// [-6, 6]; lookups take the cell of `x`, so the error is at most half a
/// cell's change of σ (below 0.0015).
///
/// ```
/// use embed_word2vec::{sigmoid::Sigmoid, SigmoidMode};
/// let s = Sigmoid::new(SigmoidMode::Table);
/// assert!((s.logistic(0.0) - 0.5).abs() < 2e-3);
/// let e = Sigmoid::new(SigmoidMode::Exact);
/// assert_eq!(e.logistic(0.0), 0.5);
/// ```
#[derive(Debug, Clone)]
pub struct Sigmoid {
    mode: SigmoidMode,
    logistic: Box<[f32]>,
    neg_log_logistic: Box<[f32]>,
}

const SCALE: f32 = TABLE_SIZE as f32 / (2.0 * MAX_EXP);

fn exact_logistic(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// -ln σ(x) = ln(1 + e^-x), computed stably for large |x|.
fn exact_neg_log_logistic(x: f64) -> f64 {
    if x > 0.0 {
        (-x).exp().ln_1p()
    } else {
        -x + x.exp().ln_1p()
    }
}

impl Sigmoid {
    /// Builds the tables (for either mode: the loss always uses its table).
    pub fn new(mode: SigmoidMode) -> Self {
        let centre = |i: usize| (i as f32 + 0.5) / SCALE - MAX_EXP;
        Sigmoid {
            mode,
            logistic: (0..TABLE_SIZE).map(|i| exact_logistic(centre(i))).collect(),
            neg_log_logistic: (0..TABLE_SIZE)
                .map(|i| exact_neg_log_logistic(centre(i) as f64) as f32)
                .collect(),
        }
    }

    /// The mode this sigmoid was built for.
    pub fn mode(&self) -> SigmoidMode {
        self.mode
    }

    #[inline]
    fn cell(x: f32) -> usize {
        // `x` lies in (-MAX_EXP, MAX_EXP) here, so the cell is in range; the
        // `min` guards the rounding at the upper edge.
        (((x + MAX_EXP) * SCALE) as usize).min(TABLE_SIZE - 1)
    }

    /// σ(x) for |x| < 6 (callers clip first, as word2vec C does).
    #[inline]
    pub fn logistic(&self, x: f32) -> f32 {
        match self.mode {
            SigmoidMode::Table => self.logistic[Self::cell(x)],
            SigmoidMode::Exact => exact_logistic(x),
        }
    }

    /// -ln σ(x) for any x: the table inside ±6, exact outside.
    #[inline]
    pub fn neg_log_logistic(&self, x: f32) -> f64 {
        if x > -MAX_EXP && x < MAX_EXP {
            self.neg_log_logistic[Self::cell(x)] as f64
        } else {
            exact_neg_log_logistic(x as f64)
        }
    }

    /// Negative sampling's gradient factor `label - σ(score)` with word2vec
    /// C's clipping (saturated scores give 0 or ±1), and the prediction's
    /// log-loss.
    #[inline]
    pub fn negative_sampling(&self, score: f32, positive: bool) -> (f32, f64) {
        let label = if positive { 1.0 } else { 0.0 };
        let sigma = if score > MAX_EXP {
            1.0
        } else if score < -MAX_EXP {
            0.0
        } else {
            self.logistic(score)
        };
        let loss = if positive {
            self.neg_log_logistic(score)
        } else {
            self.neg_log_logistic(-score)
        };
        (label - sigma, loss)
    }

    /// Hierarchical softmax's gradient factor `1 - code - σ(score)` and the
    /// node's log-loss, or `None` when the score is saturated (word2vec C
    /// skips such nodes).
    #[inline]
    pub fn hierarchical(&self, score: f32, code: u8) -> Option<(f32, f64)> {
        if score <= -MAX_EXP || score >= MAX_EXP {
            return None;
        }
        let target = 1.0 - code as f32;
        let sigma = self.logistic(score);
        // The node predicts `1 - code`: loss -ln σ(±score).
        let loss = if code == 0 {
            self.neg_log_logistic(score)
        } else {
            self.neg_log_logistic(-score)
        };
        Some((target - sigma, loss))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_close_to_exact() {
        let t = Sigmoid::new(SigmoidMode::Table);
        let mut x = -5.999f32;
        while x < 6.0 {
            assert!((t.logistic(x) - exact_logistic(x)).abs() < 1.6e-3, "x={x}");
            assert!(
                (t.neg_log_logistic(x) - exact_neg_log_logistic(x as f64)).abs() < 7e-3,
                "x={x}"
            );
            x += 0.0137;
        }
    }

    #[test]
    fn clipping_follows_word2vec_c() {
        let s = Sigmoid::new(SigmoidMode::Exact);
        assert_eq!(s.negative_sampling(7.0, true).0, 0.0);
        assert_eq!(s.negative_sampling(7.0, false).0, -1.0);
        assert_eq!(s.negative_sampling(-7.0, true).0, 1.0);
        assert_eq!(s.negative_sampling(-7.0, false).0, 0.0);
        assert!(s.hierarchical(6.0, 0).is_none());
        assert!(s.hierarchical(-6.5, 1).is_none());
        let (g, _) = s.hierarchical(0.0, 1).unwrap();
        assert_eq!(g, -0.5);
    }

    #[test]
    fn losses_are_log_losses() {
        let s = Sigmoid::new(SigmoidMode::Exact);
        let (_, l) = s.negative_sampling(0.0, true);
        assert!((l - std::f64::consts::LN_2).abs() < 1e-2);
        // Far outside the table the exact formula is used: -ln σ(-20) ≈ 20.
        let (_, l) = s.negative_sampling(20.0, false);
        assert!((l - 20.0).abs() < 1e-6);
    }
}
