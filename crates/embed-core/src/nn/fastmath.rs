//! Branch-free `exp` and `erf` in f32 that loops vectorise, and a macro
//! that compiles a loop for AVX2+FMA when the CPU has them.

/// Runs `$body` compiled for AVX2+FMA when the CPU has them, otherwise for
/// the baseline target; the body is the same code either way.
macro_rules! dispatch {
    ($name:ident, ($($arg:ident : $ty:ty),*) $(-> $ret:ty)?, $body:block) => {{
        #[cfg(target_arch = "x86_64")]
        {
            #[target_feature(enable = "avx2,fma")]
            unsafe fn $name($($arg: $ty),*) $(-> $ret)? $body
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                // SAFETY: the CPU supports the features the function was
                // compiled for (checked just above).
                return unsafe { $name($($arg),*) };
            }
        }
        $body
    }};
}
pub(crate) use dispatch;

/// `e^x` in f32: range reduction to `2^n·e^r` and a degree-6 polynomial,
/// within 2 ulp of `f32::exp` on [−87.3, 88.3]; 0 below, saturating above.
///
/// ```
/// let e = embed_core::nn::fastmath::exp(1.0);
/// assert!((e - std::f32::consts::E).abs() < 1e-6);
/// ```
// Comparisons instead of `clamp`, whose NaN rule keeps loops scalar.
#[allow(clippy::manual_clamp)]
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    const LOG2_E: f32 = std::f32::consts::LOG2_E;
    // ln 2 split so that n·LN2_HI is exact.
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    let clamped = if x < -87.3 {
        -87.3
    } else if x > 88.3 {
        88.3
    } else {
        x
    };
    // Round to nearest by adding 1.5·2²³: the integer lands in the low
    // mantissa bits, with no float-to-int conversion.
    const ROUND: f32 = 12_582_912.0;
    let shifted = clamped * LOG2_E + ROUND;
    let n_int = shifted.to_bits() as i32 - ROUND.to_bits() as i32;
    let n = shifted - ROUND;
    let r = clamped - n * LN2_HI - n * LN2_LO;
    let mut p = 1.987_569_1e-4_f32;
    p = p * r + 1.398_2e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 1.666_666_5e-1;
    p = p * r + 0.5;
    let y = p * r * r + r + 1.0;
    let scale = f32::from_bits(((n_int + 127) as u32) << 23);
    if x < -87.3 {
        0.0
    } else {
        y * scale
    }
}

/// `erf(x)` in f32 by a clamped odd rational fit `x·P(x²)/Q(x²)` on
/// [−4, 4], accurate to a few ulp.
///
/// ```
/// let e = embed_core::nn::fastmath::erf(0.5);
/// assert!((e - 0.520_499_9).abs() < 1e-6);
/// ```
#[allow(clippy::manual_clamp)]
#[inline(always)]
pub fn erf(x: f32) -> f32 {
    let x = if x < -4.0 {
        -4.0
    } else if x > 4.0 {
        4.0
    } else {
        x
    };
    let x2 = x * x;
    let mut p = -2.726_142_3e-10_f32;
    p = p * x2 + 2.770_681_4e-8;
    p = p * x2 - 2.101_024e-6;
    p = p * x2 - 5.692_506_4e-5;
    p = p * x2 - 7.349_906_3e-4;
    p = p * x2 - 2.954_600_5e-3;
    p = p * x2 - 1.609_603_3e-2;
    let mut q = -1.456_607_2e-5_f32;
    q = q * x2 - 2.133_740_5e-4;
    q = q * x2 - 1.682_827e-3;
    q = q * x2 - 7.373_329e-3;
    q = q * x2 - 1.426_474e-2;
    // The fit overshoots 1 by an ulp near the clamp.
    let e = x * p / q;
    if e > 1.0 {
        1.0
    } else if e < -1.0 {
        -1.0
    } else {
        e
    }
}

/// Sum of a slice with eight running sums (vectorises).
#[inline(always)]
pub fn sum8(xs: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let mut chunks = xs.chunks_exact(8);
    for chunk in &mut chunks {
        for (a, x) in acc.iter_mut().zip(chunk) {
            *a += x;
        }
    }
    let tail: f32 = chunks.remainder().iter().sum();
    acc.iter().sum::<f32>() + tail
}

/// Dot product with eight running sums (vectorises).
#[inline(always)]
pub fn dot8(xs: &[f32], ys: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let mut cx = xs.chunks_exact(8);
    let mut cy = ys.chunks_exact(8);
    for (a8, b8) in (&mut cx).zip(&mut cy) {
        for ((a, x), y) in acc.iter_mut().zip(a8).zip(b8) {
            *a += x * y;
        }
    }
    let tail: f32 = cx
        .remainder()
        .iter()
        .zip(cy.remainder())
        .map(|(x, y)| x * y)
        .sum();
    acc.iter().sum::<f32>() + tail
}

/// Maximum of a slice with eight running maxima; `-inf` when empty.
#[inline(always)]
pub fn max8(xs: &[f32]) -> f32 {
    let mut acc = [f32::NEG_INFINITY; 8];
    let mut chunks = xs.chunks_exact(8);
    for chunk in &mut chunks {
        for (a, &x) in acc.iter_mut().zip(chunk) {
            *a = if x > *a { x } else { *a };
        }
    }
    let tail = chunks
        .remainder()
        .iter()
        .copied()
        .fold(f32::NEG_INFINITY, f32::max);
    acc.iter().copied().fold(tail, f32::max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_and_erf_are_accurate() {
        let mut worst_exp = 0.0f64;
        for i in -8700..=8800 {
            let x = i as f32 / 100.0;
            let exact = f64::from(x).exp();
            worst_exp = worst_exp.max((f64::from(exp(x)) - exact).abs() / exact);
        }
        assert!(worst_exp < 3e-7, "exp max rel error {worst_exp}");
        assert_eq!(exp(-100.0), 0.0);
        // erf against a series in f64 on [-3, 3] (absolute error 5e-7).
        let erf_f64 = |x: f64| {
            let (mut sum, mut term, mut n) = (0.0, x, 0.0);
            while n < 200.0 {
                sum += term / (2.0 * n + 1.0);
                n += 1.0;
                term *= -x * x / n;
            }
            sum * 2.0 / std::f64::consts::PI.sqrt()
        };
        for i in -300..=300 {
            let x = i as f32 / 100.0;
            let err = (f64::from(erf(x)) - erf_f64(f64::from(x))).abs();
            assert!(err < 5e-7, "erf({x}) off by {err}");
        }
    }

    #[test]
    fn reductions_match_plain_loops() {
        let xs: Vec<f32> = (0..37).map(|i| (i as f32 * 0.37).sin()).collect();
        let ys: Vec<f32> = (0..37).map(|i| (i as f32 * 0.11).cos()).collect();
        let plain_dot: f32 = xs.iter().zip(&ys).map(|(x, y)| x * y).sum();
        assert!((dot8(&xs, &ys) - plain_dot).abs() < 1e-5);
        assert!((sum8(&xs) - xs.iter().sum::<f32>()).abs() < 1e-5);
        assert_eq!(max8(&xs), xs.iter().copied().fold(f32::MIN, f32::max));
    }
}
