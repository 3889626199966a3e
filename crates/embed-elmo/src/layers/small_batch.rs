//! `z += h @ w` for a few rows `h` against a fixed weight `w`.
//!
//! An LSTM step multiplies the states of at most a batch of sentences by the
//! same recurrent weights every step. General GEMM routines copy (pack) the
//! whole weight matrix on every call, which costs as much as the product when
//! there are only a few rows. This kernel streams the weights once instead,
//! keeping a block of the output in L1.

use ndarray::{ArrayView2, ArrayViewMut2};

/// Output columns a micro-kernel accumulates in registers.
const COLS: usize = 16;
/// Rows a micro-kernel accumulates in registers.
const ROWS: usize = 4;

/// Adds `h @ w` to `z` (`[rows, k] @ [k, n]` into `[rows, n]`).
///
/// For each block of 4 rows × 16 columns the sums over `k` stay in
/// registers; the weights' 16 columns are read from L1 after the first
/// block of rows.
///
/// # Panics
/// If the shapes do not chain, or `w` or `z` is not in standard layout.
///
/// ```
/// use embed_elmo::layers::small_batch::add_product;
/// use ndarray::array;
/// let mut z = array![[1.0, 1.0]];
/// add_product(array![[1.0, 2.0]].view(), array![[1.0, 0.0], [0.5, 1.0]].view(), z.view_mut());
/// assert_eq!(z, array![[3.0, 3.0]]);
/// ```
pub fn add_product(h: ArrayView2<f32>, w: ArrayView2<f32>, mut z: ArrayViewMut2<f32>) {
    let (rows, inner) = h.dim();
    let n = w.ncols();
    assert_eq!(w.nrows(), inner, "h @ w: inner dimensions differ");
    assert_eq!(z.dim(), (rows, n), "z has the wrong shape");
    let h = h.as_standard_layout();
    let h = h.as_slice().expect("standard layout");
    let w = w.as_slice().expect("weights in standard layout");
    let z = z.as_slice_mut().expect("output in standard layout");
    let full_cols = n - n % COLS;
    for start in (0..full_cols).step_by(COLS) {
        let mut r = 0;
        while r + ROWS <= rows {
            let mut acc = [[0.0f32; COLS]; ROWS];
            for k in 0..inner {
                let w_k: &[f32; COLS] = w[k * n + start..k * n + start + COLS]
                    .try_into()
                    .expect("COLS values");
                for (i, acc) in acc.iter_mut().enumerate() {
                    let a = h[(r + i) * inner + k];
                    for (s, &w) in acc.iter_mut().zip(w_k) {
                        *s += a * w;
                    }
                }
            }
            for (i, acc) in acc.iter().enumerate() {
                let z_r = &mut z[(r + i) * n + start..(r + i) * n + start + COLS];
                for (z, &s) in z_r.iter_mut().zip(acc) {
                    *z += s;
                }
            }
            r += ROWS;
        }
        for r in r..rows {
            let mut acc = [0.0f32; COLS];
            for k in 0..inner {
                let a = h[r * inner + k];
                for (s, &w) in acc.iter_mut().zip(&w[k * n + start..k * n + start + COLS]) {
                    *s += a * w;
                }
            }
            for (z, &s) in z[r * n + start..r * n + start + COLS].iter_mut().zip(&acc) {
                *z += s;
            }
        }
    }
    // Columns left over after the blocks of 16.
    for r in 0..rows {
        for c in full_cols..n {
            let sum: f32 = (0..inner).map(|k| h[r * inner + k] * w[k * n + c]).sum();
            z[r * n + c] += sum;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::add_product;
    use ndarray::Array2;

    #[test]
    fn matches_a_plain_product_for_every_remainder() {
        for (rows, inner, n) in [
            (1, 1, 1),
            (3, 5, 17),
            (4, 8, 16),
            (9, 33, 70),
            (32, 16, 128),
        ] {
            let h =
                Array2::from_shape_fn((rows, inner), |(r, k)| ((r * 7 + k * 3) % 11) as f32 - 5.0);
            let w =
                Array2::from_shape_fn((inner, n), |(k, c)| ((k * 5 + c) % 13) as f32 * 0.25 - 1.0);
            let mut z = Array2::from_elem((rows, n), 0.5f32);
            add_product(h.view(), w.view(), z.view_mut());
            let expected = h.dot(&w) + 0.5;
            let worst = (&z - &expected).fold(0.0f32, |m, d| m.max(d.abs()));
            assert!(worst <= 1e-4, "{rows}x{inner}x{n}: {worst}");
        }
    }
}
