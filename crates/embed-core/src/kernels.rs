//! Hot loops on contiguous `f32` slices.
//!
//! Each kernel walks its slices in fixed-size chunks with several
//! independent accumulators, a shape the compiler turns into SIMD code
//! without `unsafe` or target-specific intrinsics. Slices passed together
//! must have equal lengths; this is checked with a debug assertion only,
//! because the kernels sit in the innermost loops of training.

/// Width of the unrolled chunks: two 128-bit or one 256-bit register of
/// `f32`s.
const LANES: usize = 8;

/// Accumulators of [`dot`]: four 128-bit registers (two 256-bit ones), so
/// the additions of independent lanes overlap instead of waiting on each
/// other's latency.
const DOT_LANES: usize = 16;

/// Dot product of two equal-length slices.
///
/// ```
/// use embed_core::kernels::dot;
/// assert_eq!(dot(&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0]), 32.0);
/// ```
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0.0f32; DOT_LANES];
    let a_chunks = a.chunks_exact(DOT_LANES);
    let b_chunks = b.chunks_exact(DOT_LANES);
    let tail: f32 = a_chunks
        .remainder()
        .iter()
        .zip(b_chunks.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (ca, cb) in a_chunks.zip(b_chunks) {
        for i in 0..DOT_LANES {
            acc[i] += ca[i] * cb[i];
        }
    }
    horizontal_sum(acc) + tail
}

/// Dot product of every row of a row-major matrix (`rows.len() / query.len()`
/// rows) with `query`, written to `out`, one score per row.
///
/// This is the inner loop of nearest-neighbour search.
///
/// ```
/// use embed_core::kernels::dot_rows;
/// let matrix = [1.0, 0.0, 0.0, 1.0, 1.0, 1.0];
/// let mut out = [0.0; 3];
/// dot_rows(&matrix, &[2.0, 3.0], &mut out);
/// assert_eq!(out, [2.0, 3.0, 5.0]);
/// ```
pub fn dot_rows(rows: &[f32], query: &[f32], out: &mut [f32]) {
    debug_assert_eq!(rows.len(), query.len() * out.len());
    let dim = query.len();
    if dim == 0 {
        out.fill(0.0);
        return;
    }
    for (score, row) in out.iter_mut().zip(rows.chunks_exact(dim)) {
        *score = dot(row, query);
    }
}

/// `y += alpha * x`.
///
/// ```
/// use embed_core::kernels::axpy;
/// let mut y = [1.0, 1.0];
/// axpy(2.0, &[1.0, 3.0], &mut y);
/// assert_eq!(y, [3.0, 7.0]);
/// ```
#[inline]
pub fn axpy(alpha: f32, x: &[f32], y: &mut [f32]) {
    debug_assert_eq!(x.len(), y.len());
    let mut y_chunks = y.chunks_exact_mut(LANES);
    let mut x_chunks = x.chunks_exact(LANES);
    for (cy, cx) in (&mut y_chunks).zip(&mut x_chunks) {
        for i in 0..LANES {
            cy[i] += alpha * cx[i];
        }
    }
    for (yi, xi) in y_chunks
        .into_remainder()
        .iter_mut()
        .zip(x_chunks.remainder())
    {
        *yi += alpha * xi;
    }
}

/// `x *= alpha`, element-wise.
///
/// ```
/// use embed_core::kernels::scale;
/// let mut x = [1.0, -2.0];
/// scale(0.5, &mut x);
/// assert_eq!(x, [0.5, -1.0]);
/// ```
#[inline]
pub fn scale(alpha: f32, x: &mut [f32]) {
    for v in x.iter_mut() {
        *v *= alpha;
    }
}

/// Euclidean (L2) norm.
///
/// ```
/// use embed_core::kernels::l2_norm;
/// assert_eq!(l2_norm(&[3.0, 4.0]), 5.0);
/// ```
#[inline]
pub fn l2_norm(x: &[f32]) -> f32 {
    dot(x, x).sqrt()
}

/// Scales `x` to unit L2 norm in place and returns its norm before scaling.
///
/// A zero vector stays zero (and `0.0` is returned), so callers never see
/// NaN from normalising an empty row.
///
/// ```
/// use embed_core::kernels::normalize;
/// let mut x = [3.0, 4.0];
/// assert_eq!(normalize(&mut x), 5.0);
/// assert_eq!(x, [0.6, 0.8]);
/// let mut zero = [0.0, 0.0];
/// assert_eq!(normalize(&mut zero), 0.0);
/// assert_eq!(zero, [0.0, 0.0]);
/// ```
#[inline]
pub fn normalize(x: &mut [f32]) -> f32 {
    let norm = l2_norm(x);
    if norm > 0.0 {
        scale(1.0 / norm, x);
    }
    norm
}

/// The `k` highest scores as `(index, score)`, best first; equal scores are
/// ordered by lower index. Indices for which `skip` returns `true` and NaN
/// scores are never returned.
///
/// Runs in `O(n log k)` with a bounded heap; `skip` is only asked about
/// candidates that would enter the current top `k`.
///
/// ```
/// use embed_core::kernels::top_k;
/// let scores = [0.1, 0.9, 0.5, 0.9, 0.7];
/// assert_eq!(top_k(&scores, 3, |_| false), vec![(1, 0.9), (3, 0.9), (4, 0.7)]);
/// assert_eq!(top_k(&scores, 2, |i| i == 1), vec![(3, 0.9), (4, 0.7)]);
/// ```
pub fn top_k(scores: &[f32], k: usize, skip: impl Fn(usize) -> bool) -> Vec<(usize, f32)> {
    use std::collections::BinaryHeap;

    if k == 0 {
        return Vec::new();
    }
    // The heap's top is the worst of the kept candidates.
    let mut heap: BinaryHeap<Ranked> = BinaryHeap::with_capacity(k.min(scores.len()) + 1);
    let mut threshold = f32::NEG_INFINITY;
    for (index, &score) in scores.iter().enumerate() {
        if score.is_nan() {
            continue;
        }
        // Once the heap is full, later indices lose ties, so only a
        // strictly higher score than the current worst can enter.
        if heap.len() == k && score <= threshold {
            continue;
        }
        if skip(index) {
            continue;
        }
        let candidate = Ranked { score, index };
        if heap.len() < k {
            heap.push(candidate);
        } else if let Some(mut worst) = heap.peek_mut() {
            *worst = candidate;
        }
        if heap.len() == k {
            threshold = heap.peek().map_or(f32::NEG_INFINITY, |r| r.score);
        }
    }
    // Ascending by "worseness" reversed gives best first.
    let mut best = heap.into_vec();
    best.sort_unstable();
    best.into_iter().map(|r| (r.index, r.score)).collect()
}

/// A scored index ordered so that the *worse* entry compares greater:
/// lower score, or equal score and higher index.
#[derive(Debug, Clone, Copy)]
struct Ranked {
    score: f32,
    index: usize,
}

impl PartialEq for Ranked {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == std::cmp::Ordering::Equal
    }
}

impl Eq for Ranked {}

impl PartialOrd for Ranked {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Ranked {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        other
            .score
            .total_cmp(&self.score)
            .then(self.index.cmp(&other.index))
    }
}

#[inline]
fn horizontal_sum(acc: [f32; DOT_LANES]) -> f32 {
    let mut half = [0.0f32; DOT_LANES / 2];
    for (i, h) in half.iter_mut().enumerate() {
        *h = acc[i] + acc[i + DOT_LANES / 2];
    }
    let [a0, a1, a2, a3, a4, a5, a6, a7] = half;
    ((a0 + a4) + (a1 + a5)) + ((a2 + a6) + (a3 + a7))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive_dot(a: &[f32], b: &[f32]) -> f64 {
        a.iter().zip(b).map(|(x, y)| *x as f64 * *y as f64).sum()
    }

    #[test]
    fn dot_matches_naive_for_every_tail_length() {
        for n in 0..40 {
            let a: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin()).collect();
            let b: Vec<f32> = (0..n).map(|i| (i as f32 * 0.11).cos()).collect();
            let expected = naive_dot(&a, &b);
            assert!((dot(&a, &b) as f64 - expected).abs() < 1e-5, "n = {n}");
        }
    }

    #[test]
    fn dot_rows_matches_dot() {
        for (n, dim) in [(0, 3), (1, 3), (7, 5), (9, 16), (13, 300)] {
            let m: Vec<f32> = (0..n * dim).map(|i| (i as f32 * 0.07).sin()).collect();
            let q: Vec<f32> = (0..dim).map(|i| (i as f32 * 0.3).cos()).collect();
            let mut out = vec![f32::NAN; n];
            dot_rows(&m, &q, &mut out);
            for (o, row) in out.iter().zip(m.chunks_exact(dim)) {
                assert!((o - dot(row, &q)).abs() < 1e-4, "n = {n}, dim = {dim}");
            }
        }
    }

    #[test]
    fn axpy_and_scale_touch_every_element() {
        for n in 0..20 {
            let x: Vec<f32> = (0..n).map(|i| i as f32).collect();
            let mut y = vec![1.0; n];
            axpy(2.0, &x, &mut y);
            assert!(y
                .iter()
                .enumerate()
                .all(|(i, v)| *v == 1.0 + 2.0 * i as f32));
            scale(0.5, &mut y);
            assert!(y
                .iter()
                .enumerate()
                .all(|(i, v)| *v == (1.0 + 2.0 * i as f32) / 2.0));
        }
    }

    #[test]
    fn normalize_gives_unit_norm() {
        let mut x: Vec<f32> = (1..=13).map(|i| i as f32).collect();
        let before = l2_norm(&x);
        assert_eq!(normalize(&mut x), before);
        assert!((l2_norm(&x) - 1.0).abs() < 1e-6);
    }

    #[test]
    fn top_k_matches_full_sort() {
        let scores: Vec<f32> = (0..500).map(|i| ((i * 7919) % 101) as f32).collect();
        for k in [0, 1, 5, 100, 499, 500, 800] {
            let skip = |i: usize| i.is_multiple_of(3);
            let mut expected: Vec<(usize, f32)> = scores
                .iter()
                .copied()
                .enumerate()
                .filter(|(i, _)| !skip(*i))
                .collect();
            expected.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            expected.truncate(k);
            assert_eq!(top_k(&scores, k, skip), expected, "k = {k}");
        }
    }

    #[test]
    fn top_k_ignores_nan() {
        let scores = [f32::NAN, 1.0, f32::NAN, 0.5];
        assert_eq!(top_k(&scores, 4, |_| false), vec![(1, 1.0), (3, 0.5)]);
    }
}
