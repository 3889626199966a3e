//! A training thread's own copy of a small output matrix.
//!
//! With a softmax or one-vs-all loss every example reads and updates every
//! output row (one per label). Doing that on the shared lock-free matrix
//! costs two passes of value-by-value atomic accesses per row and example.
//! Instead each thread works on a plain copy, applying its own updates to
//! the copy at once, and every [`SYNC_EVERY`] examples hands the change
//! since the last exchange to the shared matrix and reads the shared
//! values back. The thread sees its own updates immediately and the other
//! threads' updates at most [`SYNC_EVERY`] of its examples late (bounded
//! staleness, where Hogwild! reads whatever is in memory). With one thread
//! the copy follows fastText's updates exactly.

use embed_core::hogwild::SharedMatrix;
use embed_core::kernels;

/// Examples between two exchanges with the shared matrix.
pub(crate) const SYNC_EVERY: u32 = 16;

/// The copy, and the shared values it started from at the last exchange.
pub(crate) struct LocalOutput {
    dim: usize,
    rows: Vec<f32>,
    synced: Vec<f32>,
    delta: Vec<f32>,
    since_sync: u32,
}

impl LocalOutput {
    /// A copy of `shared` as it is now.
    pub(crate) fn new(shared: &SharedMatrix) -> Self {
        let dim = shared.cols();
        let mut rows = vec![0.0; shared.rows() * dim];
        for (i, row) in rows.chunks_exact_mut(dim.max(1)).enumerate() {
            shared.read_row(i, row);
        }
        LocalOutput {
            dim,
            synced: rows.clone(),
            rows,
            delta: vec![0.0; dim],
            since_sync: 0,
        }
    }

    /// Row-major values of the copy (`rows × dim`).
    pub(crate) fn rows(&self) -> &[f32] {
        &self.rows
    }

    /// Row-major values of the copy, to update.
    pub(crate) fn rows_mut(&mut self) -> &mut [f32] {
        &mut self.rows
    }

    /// Counts one example; exchanges with `shared` every [`SYNC_EVERY`].
    pub(crate) fn example_done(&mut self, shared: &SharedMatrix) {
        self.since_sync += 1;
        if self.since_sync >= SYNC_EVERY {
            self.sync(shared);
        }
    }

    /// Adds this thread's change since the last exchange to `shared`, then
    /// takes the shared values (with the other threads' changes).
    pub(crate) fn sync(&mut self, shared: &SharedMatrix) {
        self.since_sync = 0;
        if self.dim == 0 {
            return;
        }
        let chunks = self
            .rows
            .chunks_exact_mut(self.dim)
            .zip(self.synced.chunks_exact_mut(self.dim));
        for (i, (row, synced)) in chunks.enumerate() {
            let mut changed = false;
            for ((d, &r), &s) in self.delta.iter_mut().zip(row.iter()).zip(synced.iter()) {
                *d = r - s;
                changed |= *d != 0.0;
            }
            if changed {
                shared.add_to_row(i, 1.0, &self.delta);
            }
            shared.read_row(i, row);
            synced.copy_from_slice(row);
        }
    }
}

/// The update of every output row with its gradient `alphas[i]`, as
/// fastText makes it: `grad += alpha · row` (the row before its update),
/// then `row += alpha · hidden`. Rows are updated in order.
pub(crate) fn update_rows(alphas: &[f32], hidden: &[f32], rows: &mut [f32], grad: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2 (checked just above).
        return unsafe { update_rows_avx2(alphas, hidden, rows, grad) };
    }
    update_rows_body(alphas, hidden, rows, grad);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn update_rows_avx2(alphas: &[f32], hidden: &[f32], rows: &mut [f32], grad: &mut [f32]) {
    update_rows_body(alphas, hidden, rows, grad);
}

#[inline(always)]
fn update_rows_body(alphas: &[f32], hidden: &[f32], rows: &mut [f32], grad: &mut [f32]) {
    let dim = hidden.len().max(1);
    for (&alpha, row) in alphas.iter().zip(rows.chunks_exact_mut(dim)) {
        kernels::axpy(alpha, row, grad);
        kernels::axpy(alpha, hidden, row);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_exchange_adds_the_local_change_and_takes_the_other_threads_changes() {
        let shared = SharedMatrix::from_array(ndarray::array![[1.0, 2.0], [3.0, 4.0]]);
        let mut local = LocalOutput::new(&shared);
        local.rows_mut()[0] += 0.5; // this thread's update
        shared.add_to_row(1, 1.0, &[10.0, 20.0]); // another thread's update
        for _ in 1..SYNC_EVERY {
            local.example_done(&shared);
        }
        assert_eq!(shared.get(0, 0), 1.0, "not yet handed over");
        local.example_done(&shared);
        assert_eq!(shared.to_array(), ndarray::array![[1.5, 2.0], [13.0, 24.0]]);
        assert_eq!(local.rows_mut(), &[1.5, 2.0, 13.0, 24.0]);
    }

    #[test]
    fn a_row_update_uses_the_row_before_it_changes() {
        let (mut rows, mut grad) = ([1.0, 2.0, 0.0, 1.0], [0.0, 0.0]);
        update_rows(&[0.5, 1.0], &[2.0, 4.0], &mut rows, &mut grad);
        assert_eq!(grad, [0.5, 2.0]);
        assert_eq!(rows, [2.0, 4.0, 2.0, 5.0]);
    }
}
