//! Hot loops on contiguous `f32` slices.
//!
//! Each kernel walks its slices in fixed-size chunks with several
//! independent accumulators, a shape the compiler turns into SIMD code
//! without `unsafe` or target-specific intrinsics. Slices passed together
//! must have equal lengths; this is checked with a debug assertion only,
//! because the kernels sit in the innermost loops of training.
//!
//! The one exception is [`dot_rows`], the scan behind nearest-neighbour
//! queries: on x86-64 it picks AVX-512 or AVX2+FMA code at run time (the
//! crate is built for the baseline target), falling back to the portable
//! loop elsewhere.

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
    let dim = query.len();
    assert_eq!(rows.len(), dim * out.len(), "dot_rows: one row per score");
    if dim == 0 {
        out.fill(0.0);
        return;
    }
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has AVX-512F (checked just above), and the
            // lengths were checked to match.
            unsafe { x86::dot_rows_avx512(rows, query, out) };
            return;
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: as above, for AVX2 and FMA.
            unsafe { x86::dot_rows_avx2(rows, query, out) };
            return;
        }
    }
    dot_rows_portable(rows, query, out);
}

/// [`dot_rows`] for any CPU: one [`dot`] per row.
fn dot_rows_portable(rows: &[f32], query: &[f32], out: &mut [f32]) {
    let dim = query.len();
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

/// Matrix-vector kernels for x86-64 CPUs with wide vector units, chosen at
/// run time by [`dot_rows`].
///
/// Scoring a large vocabulary is limited by how fast rows stream from
/// memory, so each kernel keeps several rows in flight: every chunk of the
/// query is loaded once and multiplied into `ROWS` rows, giving the CPU
/// independent loads and accumulators to overlap.
#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    /// Rows scored together.
    const ROWS: usize = 8;

    /// # Safety
    /// The CPU must support AVX-512F; `rows.len() == query.len() * out.len()`
    /// and `query` is not empty.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn dot_rows_avx512(rows: &[f32], query: &[f32], out: &mut [f32]) {
        let dim = query.len();
        let mut groups = out.chunks_exact_mut(ROWS);
        let mut rows = rows.chunks_exact(ROWS * dim);
        for (group, block) in (&mut groups).zip(&mut rows) {
            // SAFETY: AVX-512F is available (the caller's promise) and the
            // block holds ROWS rows of `dim` values.
            unsafe { group.copy_from_slice(&dot_block_avx512::<ROWS>(block, query)) };
        }
        let rest = rows.remainder();
        for (score, row) in groups
            .into_remainder()
            .iter_mut()
            .zip(rest.chunks_exact(dim))
        {
            // SAFETY: as above, for one row.
            unsafe { *score = dot_block_avx512::<1>(row, query)[0] };
        }
    }

    /// Dot products of `R` consecutive rows with `query`. Each row's sum
    /// is formed the same way whatever `R` is, so a row scores identically
    /// wherever it falls in a matrix.
    ///
    /// # Safety
    /// AVX-512F must be available; `rows.len() == R * query.len()`.
    #[target_feature(enable = "avx512f")]
    #[inline]
    unsafe fn dot_block_avx512<const R: usize>(rows: &[f32], query: &[f32]) -> [f32; R] {
        const W: usize = 16;
        let dim = query.len();
        debug_assert_eq!(rows.len(), R * dim);
        let full = dim / W;
        let tail: __mmask16 = ((1u32 << (dim % W)) - 1) as __mmask16;
        let (q, base) = (query.as_ptr(), rows.as_ptr());
        let mut acc = [_mm512_setzero_ps(); R];
        for c in 0..full {
            // SAFETY: chunk `c` lies inside the query and inside each row.
            unsafe {
                let qv = _mm512_loadu_ps(q.add(c * W));
                for (r, a) in acc.iter_mut().enumerate() {
                    let x = _mm512_loadu_ps(base.add(r * dim + c * W));
                    *a = _mm512_fmadd_ps(x, qv, *a);
                }
            }
        }
        if tail != 0 {
            // SAFETY: masked loads touch only the `dim % W` values left in
            // the query and in each row.
            unsafe {
                let qv = _mm512_maskz_loadu_ps(tail, q.add(full * W));
                for (r, a) in acc.iter_mut().enumerate() {
                    let x = _mm512_maskz_loadu_ps(tail, base.add(r * dim + full * W));
                    *a = _mm512_fmadd_ps(x, qv, *a);
                }
            }
        }
        acc.map(|a| _mm512_reduce_add_ps(a))
    }

    /// # Safety
    /// The CPU must support AVX2 and FMA; `rows.len() == query.len() *
    /// out.len()` and `query` is not empty.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn dot_rows_avx2(rows: &[f32], query: &[f32], out: &mut [f32]) {
        let dim = query.len();
        let mut groups = out.chunks_exact_mut(ROWS);
        let mut rows = rows.chunks_exact(ROWS * dim);
        for (group, block) in (&mut groups).zip(&mut rows) {
            // SAFETY: AVX2 and FMA are available (the caller's promise) and
            // the block holds ROWS rows of `dim` values.
            unsafe { group.copy_from_slice(&dot_block_avx2::<ROWS>(block, query)) };
        }
        let rest = rows.remainder();
        for (score, row) in groups
            .into_remainder()
            .iter_mut()
            .zip(rest.chunks_exact(dim))
        {
            // SAFETY: as above, for one row.
            unsafe { *score = dot_block_avx2::<1>(row, query)[0] };
        }
    }

    /// [`dot_block_avx512`] with 8-lane vectors.
    ///
    /// # Safety
    /// AVX2 and FMA must be available; `rows.len() == R * query.len()`.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    unsafe fn dot_block_avx2<const R: usize>(rows: &[f32], query: &[f32]) -> [f32; R] {
        const W: usize = 8;
        let dim = query.len();
        debug_assert_eq!(rows.len(), R * dim);
        let full = dim / W;
        let (q, base) = (query.as_ptr(), rows.as_ptr());
        let mut acc = [_mm256_setzero_ps(); R];
        for c in 0..full {
            // SAFETY: chunk `c` lies inside the query and inside each row.
            unsafe {
                let qv = _mm256_loadu_ps(q.add(c * W));
                for (r, a) in acc.iter_mut().enumerate() {
                    let x = _mm256_loadu_ps(base.add(r * dim + c * W));
                    *a = _mm256_fmadd_ps(x, qv, *a);
                }
            }
        }
        let mut sums = [0.0f32; R];
        for (r, (sum, a)) in sums.iter_mut().zip(acc).enumerate() {
            let mut lanes = [0.0f32; W];
            // SAFETY: `lanes` holds W floats.
            unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), a) };
            let row_tail = &rows[r * dim + full * W..(r + 1) * dim];
            *sum = ((lanes[0] + lanes[4]) + (lanes[1] + lanes[5]))
                + ((lanes[2] + lanes[6]) + (lanes[3] + lanes[7]))
                + row_tail
                    .iter()
                    .zip(&query[full * W..])
                    .map(|(x, y)| x * y)
                    .sum::<f32>();
        }
        sums
    }
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

    /// Every kernel this CPU can run, next to the portable one.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn simd_dot_rows_match_the_portable_kernel() {
        for dim in 1..70 {
            for n in [0, 1, 7, 8, 9, 17] {
                let m: Vec<f32> = (0..n * dim).map(|i| (i as f32 * 0.37).sin()).collect();
                let q: Vec<f32> = (0..dim).map(|i| (i as f32 * 0.11).cos()).collect();
                let mut expected = vec![0.0; n];
                dot_rows_portable(&m, &q, &mut expected);
                let check = |out: &[f32], name: &str| {
                    for (o, e) in out.iter().zip(&expected) {
                        assert!((o - e).abs() < 1e-4, "{name}: dim {dim}, n {n}: {o} vs {e}");
                    }
                };
                if std::arch::is_x86_feature_detected!("avx512f") {
                    let mut out = vec![f32::NAN; n];
                    // SAFETY: the CPU has AVX-512F; lengths match.
                    unsafe { x86::dot_rows_avx512(&m, &q, &mut out) };
                    check(&out, "avx512");
                }
                if std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
                {
                    let mut out = vec![f32::NAN; n];
                    // SAFETY: the CPU has AVX2 and FMA; lengths match.
                    unsafe { x86::dot_rows_avx2(&m, &q, &mut out) };
                    check(&out, "avx2");
                }
            }
        }
    }

    #[test]
    fn dot_rows_scores_a_row_the_same_wherever_it_lies() {
        let dim = 37;
        let m: Vec<f32> = (0..20 * dim).map(|i| (i as f32 * 0.13).sin()).collect();
        let q: Vec<f32> = (0..dim).map(|i| (i as f32 * 0.7).cos()).collect();
        let mut all = vec![0.0; 20];
        dot_rows(&m, &q, &mut all);
        for start in 0..20 {
            for len in 1..=20 - start {
                let mut part = vec![0.0; len];
                dot_rows(&m[start * dim..(start + len) * dim], &q, &mut part);
                assert_eq!(
                    part,
                    all[start..start + len],
                    "rows {start}..{}",
                    start + len
                );
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
