//! Dense matrix products for the neural models (BERT, ELMo), through the
//! `gemm` crate, which picks AVX2 or AVX-512 kernels at run time, so one
//! portable build runs at the machine's speed.

use ndarray::{s, Array2, ArrayView2, ArrayViewMut2, Axis};
use rayon::prelude::*;

/// `c = a · b` (or `c += a · b` when `accumulate`), any strides.
///
/// With `parallel`, the product is split across the current rayon pool.
///
/// ```
/// use embed_core::linalg::matmul_into;
/// use ndarray::array;
/// let a = array![[1.0f32, 2.0], [3.0, 4.0]];
/// let mut c = array![[1.0f32, 1.0], [1.0, 1.0]];
/// matmul_into(a.view(), a.t(), c.view_mut(), true, false);
/// assert_eq!(c, array![[6.0, 12.0], [12.0, 26.0]]);
/// ```
///
/// # Panics
/// When the shapes do not chain (`a: [m, k]`, `b: [k, n]`, `c: [m, n]`).
pub fn matmul_into(
    a: ArrayView2<'_, f32>,
    b: ArrayView2<'_, f32>,
    mut c: ArrayViewMut2<'_, f32>,
    accumulate: bool,
    parallel: bool,
) {
    let (m, k) = a.dim();
    let (k2, n) = b.dim();
    assert_eq!(k, k2, "matmul: inner dimensions differ");
    assert_eq!(c.dim(), (m, n), "matmul: output shape");
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            c.fill(0.0);
        }
        return;
    }
    let parallelism = if parallel && rayon::current_num_threads() > 1 {
        gemm::Parallelism::Rayon(rayon::current_num_threads())
    } else {
        gemm::Parallelism::None
    };
    let (a_rs, a_cs) = (a.strides()[0], a.strides()[1]);
    let (b_rs, b_cs) = (b.strides()[0], b.strides()[1]);
    let (c_rs, c_cs) = (c.strides()[0], c.strides()[1]);
    // SAFETY: the three views are valid for their shapes and strides
    // (checked above to chain as m×k · k×n = m×n); `c` is borrowed mutably,
    // so it cannot alias `a` or `b`. With `read_dst == false` gemm never
    // reads `c`, so its initial content does not matter.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            c_cs,
            c_rs,
            accumulate,
            a.as_ptr(),
            a_cs,
            a_rs,
            b.as_ptr(),
            b_cs,
            b_rs,
            1.0,
            1.0,
            false,
            false,
            false,
            parallelism,
        );
    }
}

/// `a · b` as a new array, on one thread.
///
/// ```
/// use embed_core::linalg::matmul;
/// use ndarray::array;
/// let a = array![[1.0f32, 2.0], [3.0, 4.0]];
/// assert_eq!(matmul(a.view(), a.view()), array![[7.0, 10.0], [15.0, 22.0]]);
/// ```
pub fn matmul(a: ArrayView2<'_, f32>, b: ArrayView2<'_, f32>) -> Array2<f32> {
    let mut c = Array2::zeros((a.nrows(), b.ncols()));
    matmul_into(a, b, c.view_mut(), false, false);
    c
}

/// Columns of a panel: two AVX-512 vectors.
const PANEL: usize = 32;

/// Rows of `a` per register block in [`matmul_panels_into`]: 12 rows × 2
/// vectors take 24 of the 32 AVX-512 registers.
const BLOCK_ROWS: usize = 12;

/// Multiply-adds below which [`matmul_panels_into`] stays on one thread.
const PANELS_PARALLEL_MIN_WORK: usize = 1 << 18;

/// A `[k, n]` matrix laid out again as consecutive panels of 32 columns
/// (the last one padded with zeros), each panel row after row.
///
/// A product with few rows (one sentence through a dense layer) is bound
/// by reading the weights from memory. Read in place, each row of a
/// 32-column block lies a whole matrix row from the last, on a new page;
/// read from panels, the weights stream in order, which runs about three
/// times faster on 12 rows than a general GEMM.
///
/// ```
/// use embed_core::linalg::{matmul_panels_into, ColumnPanels};
/// use ndarray::{array, Array2};
/// let b = array![[1.0f32, 2.0, 3.0], [4.0, 5.0, 6.0]];
/// let panels = ColumnPanels::new(b.view());
/// let a = array![[1.0f32, 1.0]];
/// let mut c = Array2::zeros((1, 3));
/// matmul_panels_into(a.view(), &panels, c.view_mut(), false, false);
/// assert_eq!(c, array![[5.0, 7.0, 9.0]]);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnPanels {
    rows: usize,
    cols: usize,
    values: Vec<f32>,
}

impl ColumnPanels {
    /// Copies `b` into panels.
    pub fn new(b: ArrayView2<'_, f32>) -> Self {
        let (rows, cols) = b.dim();
        let panels = cols.div_ceil(PANEL);
        let mut values = vec![0.0f32; panels * rows * PANEL];
        for (p, panel) in values.chunks_exact_mut(rows * PANEL).enumerate() {
            let first = p * PANEL;
            let width = (cols - first).min(PANEL);
            for (out, row) in panel.chunks_exact_mut(PANEL).zip(b.rows()) {
                for (o, v) in out[..width].iter_mut().zip(row.iter().skip(first)) {
                    *o = *v;
                }
            }
        }
        ColumnPanels { rows, cols, values }
    }

    /// `(rows, columns)` of the matrix.
    pub fn dim(&self) -> (usize, usize) {
        (self.rows, self.cols)
    }

    /// Panel `p`: `rows × 32` values, row after row.
    fn panel(&self, p: usize) -> &[f32] {
        &self.values[p * self.rows * PANEL..(p + 1) * self.rows * PANEL]
    }
}

/// `c = a · b` (or `c += a · b` when `accumulate`) with `b` given as
/// [`ColumnPanels`]: the product for few rows of `a`. Results equal
/// [`matmul_into`]'s up to float rounding.
///
/// With `parallel`, the panels are shared out across the current rayon
/// pool when the product is large enough to pay for it.
///
/// # Panics
/// When the shapes do not chain (`a: [m, k]`, `b: [k, n]`, `c: [m, n]`).
pub fn matmul_panels_into(
    a: ArrayView2<'_, f32>,
    b: &ColumnPanels,
    mut c: ArrayViewMut2<'_, f32>,
    accumulate: bool,
    parallel: bool,
) {
    let (m, k) = a.dim();
    let (k2, n) = b.dim();
    assert_eq!(k, k2, "matmul: inner dimensions differ");
    assert_eq!(c.dim(), (m, n), "matmul: output shape");
    let panels = n.div_ceil(PANEL);
    let threads = rayon::current_num_threads();
    if parallel && threads > 1 && panels > 1 && m * n * k >= PANELS_PARALLEL_MIN_WORK {
        // About two chunks of whole panels per thread.
        let per_chunk = panels.div_ceil(2 * threads);
        let outputs: Vec<_> = c.axis_chunks_iter_mut(Axis(1), per_chunk * PANEL).collect();
        outputs
            .into_par_iter()
            .enumerate()
            .for_each(|(chunk, c)| panels_serial(a, b, chunk * per_chunk, c, accumulate));
    } else {
        panels_serial(a, b, 0, c.view_mut(), accumulate);
    }
}

/// The product for the panels from `first_panel` on that `c` covers.
fn panels_serial(
    a: ArrayView2<'_, f32>,
    b: &ColumnPanels,
    first_panel: usize,
    mut c: ArrayViewMut2<'_, f32>,
    accumulate: bool,
) {
    let mut first_row = 0;
    while first_row < a.nrows() {
        let rows = (a.nrows() - first_row).min(BLOCK_ROWS);
        let a = a.slice(s![first_row..first_row + rows, ..]);
        let mut c = c.slice_mut(s![first_row..first_row + rows, ..]);
        for (i, c) in c.axis_chunks_iter_mut(Axis(1), PANEL).enumerate() {
            panel_block(a, b.panel(first_panel + i), c, accumulate);
        }
        first_row += rows;
    }
}

/// `c (+)= a · panel` for at most [`BLOCK_ROWS`] rows of `a` and the
/// (up to 32) columns of `c`.
fn panel_block(
    a: ArrayView2<'_, f32>,
    panel: &[f32],
    mut c: ArrayViewMut2<'_, f32>,
    accumulate: bool,
) {
    #[cfg(target_arch = "x86_64")]
    if c.strides()[1] == 1 && std::arch::is_x86_feature_detected!("avx512f") {
        // SAFETY: the CPU has AVX-512F (checked just above); `panel`
        // holds `a.ncols()` rows of PANEL values, `c` has `a.nrows()` rows
        // of at most PANEL values with unit column stride.
        unsafe { panels_x86::block_avx512(a, panel, c, accumulate) };
        return;
    }
    for (mut out, row) in c.rows_mut().into_iter().zip(a.rows()) {
        let mut sums = [0.0f32; PANEL];
        for (x, weights) in row.iter().zip(panel.chunks_exact(PANEL)) {
            for (s, w) in sums.iter_mut().zip(weights) {
                *s += x * w;
            }
        }
        for (o, s) in out.iter_mut().zip(sums) {
            *o = if accumulate { *o + s } else { s };
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod panels_x86 {
    use std::arch::x86_64::*;

    use ndarray::{ArrayView2, ArrayViewMut2};

    use super::{BLOCK_ROWS, PANEL};

    /// # Safety
    /// AVX-512F must be available; `panel.len() == a.ncols() * PANEL`;
    /// `c` has `a.nrows() <= BLOCK_ROWS` rows of at most PANEL values, with
    /// unit column stride.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn block_avx512(
        a: ArrayView2<'_, f32>,
        panel: &[f32],
        c: ArrayViewMut2<'_, f32>,
        accumulate: bool,
    ) {
        // SAFETY (all arms): as this function's contract.
        unsafe {
            match a.nrows() {
                1 => rows::<1>(a, panel, c, accumulate),
                2 => rows::<2>(a, panel, c, accumulate),
                3 => rows::<3>(a, panel, c, accumulate),
                4 => rows::<4>(a, panel, c, accumulate),
                5 => rows::<5>(a, panel, c, accumulate),
                6 => rows::<6>(a, panel, c, accumulate),
                7 => rows::<7>(a, panel, c, accumulate),
                8 => rows::<8>(a, panel, c, accumulate),
                9 => rows::<9>(a, panel, c, accumulate),
                10 => rows::<10>(a, panel, c, accumulate),
                11 => rows::<11>(a, panel, c, accumulate),
                _ => rows::<BLOCK_ROWS>(a, panel, c, accumulate),
            }
        }
    }

    /// One panel times `R` rows of `a`, with the `R × 32` sums in
    /// registers while the panel streams past, then added or stored into
    /// `c` with masks for a narrower last panel.
    ///
    /// # Safety
    /// As [`block_avx512`], with `a.nrows() == R`.
    #[target_feature(enable = "avx512f")]
    unsafe fn rows<const R: usize>(
        a: ArrayView2<'_, f32>,
        panel: &[f32],
        mut c: ArrayViewMut2<'_, f32>,
        accumulate: bool,
    ) {
        let k = a.ncols();
        debug_assert_eq!(a.nrows(), R);
        debug_assert_eq!(c.nrows(), R);
        debug_assert_eq!(panel.len(), k * PANEL);
        let width = c.ncols();
        let low = lane_mask(width);
        let high = lane_mask(width.saturating_sub(16));
        let (a_rs, a_cs) = (a.strides()[0], a.strides()[1]);
        let c_rs = c.strides()[0];
        let (a, c) = (a.as_ptr(), c.as_mut_ptr());
        let p = panel.as_ptr();
        let mut acc = [[_mm512_setzero_ps(); 2]; R];
        for i in 0..k {
            // SAFETY: row `i` of the panel holds PANEL values; `a[r, i]`
            // lies inside `a` for every `r < R`.
            unsafe {
                let w0 = _mm512_loadu_ps(p.add(i * PANEL));
                let w1 = _mm512_loadu_ps(p.add(i * PANEL + 16));
                for (r, acc) in acc.iter_mut().enumerate() {
                    let x = _mm512_set1_ps(*a.offset(r as isize * a_rs + i as isize * a_cs));
                    acc[0] = _mm512_fmadd_ps(x, w0, acc[0]);
                    acc[1] = _mm512_fmadd_ps(x, w1, acc[1]);
                }
            }
        }
        for (r, acc) in acc.iter().enumerate() {
            // SAFETY: row `r` of `c` holds `width` values; masked lanes
            // are neither read nor written, so the second half's address
            // may lie past the end (hence `wrapping_add`).
            unsafe {
                let out = c.offset(r as isize * c_rs);
                let out_high = out.wrapping_add(16);
                let (mut v0, mut v1) = (acc[0], acc[1]);
                if accumulate {
                    v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(low, out));
                    v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(high, out_high));
                }
                _mm512_mask_storeu_ps(out, low, v0);
                _mm512_mask_storeu_ps(out_high, high, v1);
            }
        }
    }

    /// The first `min(width, 16)` lanes.
    fn lane_mask(width: usize) -> __mmask16 {
        if width >= 16 {
            0xffff
        } else {
            ((1u32 << width) - 1) as __mmask16
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panels_match_the_plain_product() {
        for (m, k, n) in [
            (1, 1, 1),
            (3, 5, 31),
            (12, 7, 32),
            (13, 9, 33),
            (25, 40, 100),
        ] {
            let a =
                Array2::from_shape_fn((m, k), |(i, j)| ((i * 7 + j * 3) % 11) as f32 * 0.2 - 1.0);
            let b = Array2::from_shape_fn((k, n), |(i, j)| ((i * 5 + j) % 13) as f32 * 0.1 - 0.6);
            let start = Array2::from_shape_fn((m, n), |(i, j)| (i + j) as f32 * 0.01);
            let panels = ColumnPanels::new(b.view());
            assert_eq!(panels.dim(), (k, n));
            for accumulate in [false, true] {
                for parallel in [false, true] {
                    let mut expected = start.clone();
                    matmul_into(a.view(), b.view(), expected.view_mut(), accumulate, false);
                    let mut c = start.clone();
                    matmul_panels_into(a.view(), &panels, c.view_mut(), accumulate, parallel);
                    for (x, y) in c.iter().zip(&expected) {
                        assert!((x - y).abs() < 1e-4, "{m}x{k}x{n}: {x} vs {y}");
                    }
                }
            }
            // A strided left operand: the transpose of a stored matrix.
            let at = a.t().as_standard_layout().into_owned();
            let mut c = Array2::zeros((m, n));
            matmul_panels_into(at.t(), &panels, c.view_mut(), false, false);
            let mut expected = Array2::zeros((m, n));
            matmul_into(a.view(), b.view(), expected.view_mut(), false, false);
            for (x, y) in c.iter().zip(&expected) {
                assert!((x - y).abs() < 1e-4, "strided {m}x{k}x{n}");
            }
            // A strided output: the transpose of a stored matrix.
            let mut ct = Array2::zeros((n, m));
            matmul_panels_into(
                a.view(),
                &panels,
                ct.view_mut().reversed_axes(),
                false,
                true,
            );
            for (x, y) in ct.t().iter().zip(&expected) {
                assert!((x - y).abs() < 1e-4, "strided output {m}x{k}x{n}");
            }
        }
    }
}
