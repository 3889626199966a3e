//! A matrix several training threads update at once, without locks.
//!
//! word2vec, fastText and GloVe train with "Hogwild!" updates: every thread
//! reads and writes rows of the shared embedding matrices with no locking,
//! accepting that two threads touching the same row at the same moment may
//! lose one of their small updates. [`SharedMatrix`] offers exactly that,
//! soundly: each value is an `f32` kept as its bits in an [`AtomicU32`] and
//! read and written with `Relaxed` ordering. Relaxed loads and stores
//! compile to ordinary moves on x86-64 and AArch64, so there are no data
//! races in the Rust memory model (no undefined behaviour) and no fences.
//!
//! What is atomic is each single value: a value is never torn. An update of
//! a row ([`SharedMatrix::add_to_row`]) is a load and a store per value, not
//! an atomic read-modify-write, so concurrent updates of the *same* value
//! may overwrite one another, as in the reference tools. Updates of
//! different rows never interfere.
//!
//! The cost is vectorisation: the compiler does not merge atomic loads or
//! stores into SIMD ones, so every value moves through a general register.
//! On rows that sit in cache (`cargo bench -p embed-core --bench hogwild`,
//! x86-64, figures in `docs/bench/core-train.md`) the shared kernels take
//! about 4× the time of the same arithmetic on plain `f32` slices for a dot
//! product and 2.6–2.8× for the updates, at 100 and 300 dimensions.
//! Grouping the loads in eights (as the kernels here do) gains 10–25% over
//! a value-by-value loop. For word2vec's step on an output row (dot
//! product, gradient of the hidden layer, row update),
//! [`SharedMatrix::dot_and_update`] reads the row once into a scratch slice,
//! does the arithmetic there and writes the row once: when it still
//! reloaded the row for the update it took 2.2× the plain-slice time,
//! against 2.9× for three separate calls. Rows of a large vocabulary are
//! mostly not in cache during training, and there waiting for memory costs
//! more than the atomics: word2vec's skip-gram spent most of its time on
//! the first load of each noise word's row until it drew the noise words
//! ahead and called [`SharedMatrix::prefetch_row`] on them (1.8× less CPU
//! time, `docs/bench/word2vec.md`). Hot loops that use one row many times
//! (word2vec's input vector) should copy it out with
//! [`SharedMatrix::read_row`], work on the copy, and add the change back
//! once with [`SharedMatrix::add_to_row`].
//!
//! ```
//! use embed_core::hogwild::SharedMatrix;
//! let m = SharedMatrix::zeros(4, 3);
//! std::thread::scope(|s| {
//!     for t in 0..4 {
//!         let m = &m;
//!         s.spawn(move || m.add_to_row(t, 1.0, &[1.0, 2.0, 3.0]));
//!     }
//! });
//! assert_eq!(m.into_array().row(2).to_vec(), vec![1.0, 2.0, 3.0]);
//! ```

use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering::Relaxed};

use ndarray::Array2;

use crate::{kernels, Error, Result};

/// Values loaded at once into a local array by the row kernels.
const LANES: usize = 8;

#[inline(always)]
fn load(cell: &AtomicU32) -> f32 {
    f32::from_bits(cell.load(Relaxed))
}

#[inline(always)]
fn store(cell: &AtomicU32, value: f32) {
    cell.store(value.to_bits(), Relaxed);
}

#[inline(always)]
fn load_lanes(cells: &[AtomicU32]) -> [f32; LANES] {
    std::array::from_fn(|k| load(&cells[k]))
}

/// A row-major `f32` matrix that threads share by reference and update
/// without locks (Hogwild!). See the [module documentation](self).
///
/// Methods taking a row index panic if it is out of range, and methods
/// taking a slice panic if its length is not [`SharedMatrix::cols`]: both
/// are programming errors of the trainer, checked once per call.
pub struct SharedMatrix {
    cells: Box<[AtomicU32]>,
    rows: usize,
    cols: usize,
}

impl fmt::Debug for SharedMatrix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedMatrix")
            .field("rows", &self.rows)
            .field("cols", &self.cols)
            .finish_non_exhaustive()
    }
}

impl SharedMatrix {
    /// A `rows × cols` matrix of zeros.
    ///
    /// ```
    /// let m = embed_core::hogwild::SharedMatrix::zeros(2, 5);
    /// assert_eq!((m.rows(), m.cols()), (2, 5));
    /// assert_eq!(m.get(1, 4), 0.0);
    /// ```
    pub fn zeros(rows: usize, cols: usize) -> Self {
        let len = rows
            .checked_mul(cols)
            .unwrap_or_else(|| panic!("a {rows} x {cols} matrix does not fit in memory"));
        SharedMatrix {
            cells: (0..len).map(|_| AtomicU32::new(0)).collect(),
            rows,
            cols,
        }
    }

    /// Takes the values of `array` (any memory layout).
    ///
    /// ```
    /// use embed_core::hogwild::SharedMatrix;
    /// let m = SharedMatrix::from_array(ndarray::array![[1.0, 2.0], [3.0, 4.0]]);
    /// assert_eq!(m.get(1, 0), 3.0);
    /// ```
    pub fn from_array(array: Array2<f32>) -> Self {
        let (rows, cols) = array.dim();
        SharedMatrix {
            cells: array.iter().map(|v| AtomicU32::new(v.to_bits())).collect(),
            rows,
            cols,
        }
    }

    /// A `rows × cols` matrix from row-major `values`.
    ///
    /// ```
    /// use embed_core::hogwild::SharedMatrix;
    /// let m = SharedMatrix::from_vec(2, 2, vec![1.0, 2.0, 3.0, 4.0])?;
    /// assert_eq!(m.get(0, 1), 2.0);
    /// assert!(SharedMatrix::from_vec(2, 3, vec![1.0]).is_err());
    /// # Ok::<(), embed_core::Error>(())
    /// ```
    pub fn from_vec(rows: usize, cols: usize, values: Vec<f32>) -> Result<Self> {
        if rows.checked_mul(cols) != Some(values.len()) {
            return Err(Error::InvalidInput(format!(
                "{} values cannot fill a {rows} x {cols} matrix",
                values.len()
            )));
        }
        Ok(SharedMatrix {
            cells: values
                .into_iter()
                .map(|v| AtomicU32::new(v.to_bits()))
                .collect(),
            rows,
            cols,
        })
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns (the length of a row).
    pub fn cols(&self) -> usize {
        self.cols
    }

    #[inline]
    fn row(&self, i: usize) -> &[AtomicU32] {
        assert!(i < self.rows, "row {i} out of range for {} rows", self.rows);
        &self.cells[i * self.cols..(i + 1) * self.cols]
    }

    #[inline]
    fn check_len(&self, len: usize) {
        assert_eq!(len, self.cols, "slice length must equal the row length");
    }

    /// The value at row `i`, column `j`.
    #[inline]
    pub fn get(&self, i: usize, j: usize) -> f32 {
        assert!(
            j < self.cols,
            "column {j} out of range for {} columns",
            self.cols
        );
        load(&self.row(i)[j])
    }

    /// Sets the value at row `i`, column `j`.
    ///
    /// ```
    /// let m = embed_core::hogwild::SharedMatrix::zeros(2, 2);
    /// m.set(1, 1, 7.5);
    /// assert_eq!(m.get(1, 1), 7.5);
    /// ```
    #[inline]
    pub fn set(&self, i: usize, j: usize, value: f32) {
        assert!(
            j < self.cols,
            "column {j} out of range for {} columns",
            self.cols
        );
        store(&self.row(i)[j], value);
    }

    /// Copies row `i` into `out`.
    ///
    /// ```
    /// let m = embed_core::hogwild::SharedMatrix::from_array(ndarray::array![[1.0, 2.0]]);
    /// let mut out = [0.0; 2];
    /// m.read_row(0, &mut out);
    /// assert_eq!(out, [1.0, 2.0]);
    /// ```
    #[inline]
    pub fn read_row(&self, i: usize, out: &mut [f32]) {
        self.check_len(out.len());
        for (o, cell) in out.iter_mut().zip(self.row(i)) {
            *o = load(cell);
        }
    }

    /// Overwrites row `i` with `src`.
    #[inline]
    pub fn write_row(&self, i: usize, src: &[f32]) {
        self.check_len(src.len());
        for (cell, &v) in self.row(i).iter().zip(src) {
            store(cell, v);
        }
    }

    /// `row_i += alpha · x`, value by value (not atomic as a whole: see the
    /// [module documentation](self)).
    ///
    /// ```
    /// let m = embed_core::hogwild::SharedMatrix::from_array(ndarray::array![[1.0, 1.0]]);
    /// m.add_to_row(0, 0.5, &[2.0, -4.0]);
    /// assert_eq!(m.to_array(), ndarray::array![[2.0, -1.0]]);
    /// ```
    #[inline]
    pub fn add_to_row(&self, i: usize, alpha: f32, x: &[f32]) {
        self.check_len(x.len());
        let row = self.row(i);
        let mut cells = row.chunks_exact(LANES);
        let mut xs = x.chunks_exact(LANES);
        for (c, x) in (&mut cells).zip(&mut xs) {
            let mut v = load_lanes(c);
            for k in 0..LANES {
                v[k] += alpha * x[k];
            }
            for k in 0..LANES {
                store(&c[k], v[k]);
            }
        }
        for (cell, &x) in cells.remainder().iter().zip(xs.remainder()) {
            store(cell, load(cell) + alpha * x);
        }
    }

    /// The dot product of row `i` with `x`.
    ///
    /// ```
    /// let m = embed_core::hogwild::SharedMatrix::from_array(ndarray::array![[1.0, 2.0, 3.0]]);
    /// assert_eq!(m.dot_row(0, &[1.0, 1.0, 2.0]), 9.0);
    /// ```
    #[inline]
    pub fn dot_row(&self, i: usize, x: &[f32]) -> f32 {
        self.check_len(x.len());
        let row = self.row(i);
        let mut acc = [0.0_f32; LANES];
        let mut cells = row.chunks_exact(LANES);
        let mut xs = x.chunks_exact(LANES);
        for (c, x) in (&mut cells).zip(&mut xs) {
            let v = load_lanes(c);
            for k in 0..LANES {
                acc[k] += v[k] * x[k];
            }
        }
        let mut tail = 0.0;
        for (cell, &x) in cells.remainder().iter().zip(xs.remainder()) {
            tail += load(cell) * x;
        }
        acc.iter().sum::<f32>() + tail
    }

    /// `out += alpha · row_i`.
    ///
    /// ```
    /// let m = embed_core::hogwild::SharedMatrix::from_array(ndarray::array![[1.0, 2.0]]);
    /// let mut out = [1.0, 1.0];
    /// m.row_axpy_into(0, 2.0, &mut out);
    /// assert_eq!(out, [3.0, 5.0]);
    /// ```
    #[inline]
    pub fn row_axpy_into(&self, i: usize, alpha: f32, out: &mut [f32]) {
        self.check_len(out.len());
        let row = self.row(i);
        let mut cells = row.chunks_exact(LANES);
        let mut outs = out.chunks_exact_mut(LANES);
        for (c, o) in (&mut cells).zip(&mut outs) {
            let v = load_lanes(c);
            for k in 0..LANES {
                o[k] += alpha * v[k];
            }
        }
        for (cell, o) in cells.remainder().iter().zip(outs.into_remainder()) {
            *o += alpha * load(cell);
        }
    }

    /// One output-layer step of word2vec or fastText on row `i`, reading the
    /// row once: with `f = row_i · h` and `g = gradient(f)`,
    /// `grad_h += g · row_i` (the values read) and `row_i += g · h`.
    /// Returns `f`. `scratch` (of the row's length) holds the values read,
    /// and afterwards the values written.
    ///
    /// The row is read once and written once: one pass of atomic loads and
    /// one of stores, against three passes of loads and one of stores for
    /// [`dot_row`], [`row_axpy_into`] and [`add_to_row`] in turn, with all
    /// the arithmetic on plain slices (see the module documentation for the
    /// figures). The new values are the values read plus the step, so an
    /// update another thread makes to the row between the read and the
    /// write is lost, the Hogwild trade-off the reference tools make too.
    ///
    /// [`dot_row`]: SharedMatrix::dot_row
    /// [`row_axpy_into`]: SharedMatrix::row_axpy_into
    /// [`add_to_row`]: SharedMatrix::add_to_row
    ///
    /// ```
    /// use embed_core::hogwild::SharedMatrix;
    /// let m = SharedMatrix::from_array(ndarray::array![[1.0, 2.0]]);
    /// let (mut grad_h, mut scratch) = ([0.0; 2], [0.0; 2]);
    /// let f = m.dot_and_update(0, &[1.0, 1.0], &mut grad_h, &mut scratch, |f| 1.0 - f / 3.0 * 2.0);
    /// assert_eq!(f, 3.0); // g = −1
    /// assert_eq!(grad_h, [-1.0, -2.0]);
    /// assert_eq!(m.to_array(), ndarray::array![[0.0, 1.0]]);
    /// ```
    #[inline]
    pub fn dot_and_update(
        &self,
        i: usize,
        h: &[f32],
        grad_h: &mut [f32],
        scratch: &mut [f32],
        gradient: impl FnOnce(f32) -> f32,
    ) -> f32 {
        self.check_len(h.len());
        self.check_len(grad_h.len());
        self.read_row(i, scratch);
        let f = kernels::dot(scratch, h);
        let g = gradient(f);
        if g != 0.0 {
            kernels::axpy(g, scratch, grad_h);
            kernels::axpy(g, h, scratch);
            self.write_row(i, scratch);
        }
        f
    }

    /// Asks the processor to start loading row `i` into its caches, so that
    /// a later read of the row does not wait on memory. A hint only: it
    /// changes no value and does nothing on targets without a prefetch
    /// instruction.
    ///
    /// Trainers that know which rows they will need (the noise words of
    /// negative sampling, drawn ahead of their use) call it a few updates
    /// before the read, so that the loads of several rows overlap instead
    /// of following one another.
    ///
    /// ```
    /// let m = embed_core::hogwild::SharedMatrix::zeros(3, 100);
    /// m.prefetch_row(2);
    /// assert_eq!(m.get(2, 99), 0.0);
    /// ```
    #[inline]
    pub fn prefetch_row(&self, i: usize) {
        let row = self.row(i);
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
            /// `f32`s in a 64-byte cache line.
            const LINE: usize = 16;
            let mut start = 0;
            while start < row.len() {
                // SAFETY: a prefetch is a hint that never faults and reads
                // nothing the program can observe; the pointer lies inside
                // the row.
                unsafe { _mm_prefetch::<_MM_HINT_T0>(row[start..].as_ptr().cast()) };
                start += LINE;
            }
            if let Some(last) = row.last() {
                // The row need not start on a line boundary: its last value
                // may sit one line beyond the strides above.
                // SAFETY: as above.
                unsafe { _mm_prefetch::<_MM_HINT_T0>(std::ptr::from_ref(last).cast()) };
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = row;
    }

    /// A copy of the current values.
    pub fn to_array(&self) -> Array2<f32> {
        let values = self.cells.iter().map(load).collect();
        Array2::from_shape_vec((self.rows, self.cols), values)
            .unwrap_or_else(|_| unreachable!("rows × cols values by construction"))
    }

    /// The values, once no thread shares the matrix any more.
    pub fn into_array(self) -> Array2<f32> {
        let values = self
            .cells
            .into_vec()
            .into_iter()
            .map(|c| f32::from_bits(c.into_inner()))
            .collect();
        Array2::from_shape_vec((self.rows, self.cols), values)
            .unwrap_or_else(|_| unreachable!("rows × cols values by construction"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernels_match_plain_arithmetic_for_every_tail_length() {
        for cols in [0, 1, 7, 8, 9, 17, 100, 300] {
            let a = Array2::from_shape_fn((3, cols), |(i, j)| (i * 31 + j) as f32 * 0.25);
            let x: Vec<f32> = (0..cols).map(|j| j as f32 - 3.0).collect();
            let m = SharedMatrix::from_array(a.clone());
            let expected_dot: f32 = a.row(1).iter().zip(&x).map(|(a, b)| a * b).sum();
            // All values are small multiples of 1/4: sums are exact in any order.
            assert_eq!(m.dot_row(1, &x), expected_dot, "cols {cols}");

            let mut out = x.clone();
            m.row_axpy_into(2, 2.0, &mut out);
            let expected: Vec<f32> = x.iter().zip(a.row(2)).map(|(x, r)| x + 2.0 * r).collect();
            assert_eq!(out, expected);

            m.add_to_row(0, -1.0, &x);
            let expected: Vec<f32> = a.row(0).iter().zip(&x).map(|(r, x)| r - x).collect();
            let mut row0 = vec![0.0; cols];
            m.read_row(0, &mut row0);
            assert_eq!(row0, expected);

            m.write_row(2, &x);
            assert_eq!(m.to_array().row(2).to_vec(), x);
            assert_eq!(m.into_array().row(1), a.row(1));
        }
    }

    #[test]
    #[should_panic(expected = "slice length")]
    fn a_slice_of_the_wrong_length_panics() {
        SharedMatrix::zeros(1, 3).dot_row(0, &[1.0]);
    }
}
