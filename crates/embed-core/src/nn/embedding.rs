//! Embedding lookup: rows of a table selected by ids; the backward pass
//! adds each output row's gradient into the row it came from.
//!
//! ```
//! use embed_core::nn::embedding::{embedding_backward, embedding_forward};
//! use ndarray::{array, Array2};
//! let table = array![[0.0_f32, 0.0], [1.0, 2.0], [3.0, 4.0]];
//! let mut out = Array2::zeros((3, 2));
//! embedding_forward(table.view(), &[2, 1, 2], out.view_mut(), false)?;
//! assert_eq!(out, array![[3.0, 4.0], [1.0, 2.0], [3.0, 4.0]]);
//! let mut grad = Array2::zeros((3, 2));
//! embedding_backward(&[2, 1, 2], array![[1.0_f32, 1.0], [0.5, 0.5], [1.0, 0.0]].view(), grad.view_mut());
//! assert_eq!(grad, array![[0.0, 0.0], [0.5, 0.5], [2.0, 1.0]]);
//! assert!(embedding_forward(table.view(), &[3], Array2::zeros((1, 2)).view_mut(), false).is_err());
//! # Ok::<(), embed_core::Error>(())
//! ```

use ndarray::{ArrayView2, ArrayViewMut2};

use crate::{Error, Result};

/// Writes row `table[ids[i]]` into row `i` of `out` (adds it when
/// `accumulate`). An id outside the table is an error and leaves `out`
/// unchanged.
///
/// # Panics
/// When `out` does not have one row per id and the table's width.
pub fn embedding_forward(
    table: ArrayView2<'_, f32>,
    ids: &[u32],
    mut out: ArrayViewMut2<'_, f32>,
    accumulate: bool,
) -> Result<()> {
    let rows = table.nrows();
    assert_eq!(
        out.dim(),
        (ids.len(), table.ncols()),
        "embedding: output shape"
    );
    if let Some(&bad) = ids.iter().find(|&&id| id as usize >= rows) {
        return Err(Error::InvalidInput(format!(
            "id {bad} is outside the embedding table of {rows} rows"
        )));
    }
    for (&id, mut target) in ids.iter().zip(out.rows_mut()) {
        let source = table.row(id as usize);
        if accumulate {
            target += &source;
        } else {
            target.assign(&source);
        }
    }
    Ok(())
}

/// Adds row `i` of `dy` into row `ids[i]` of `dtable` (scatter-add).
///
/// # Panics
/// When the shapes disagree or an id is outside `dtable` (ids are checked
/// by [`embedding_forward`]).
pub fn embedding_backward(
    ids: &[u32],
    dy: ArrayView2<'_, f32>,
    mut dtable: ArrayViewMut2<'_, f32>,
) {
    assert_eq!(
        dy.dim(),
        (ids.len(), dtable.ncols()),
        "embedding: gradient shape"
    );
    for (&id, grad) in ids.iter().zip(dy.rows()) {
        let mut target = dtable.row_mut(id as usize);
        target += &grad;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::gradcheck::{max_relative_error, numerical_gradient, weighted_sum};
    use crate::nn::testing::random_array;
    use ndarray::Array2;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        /// Tolerance: 1e-3 relative (the lookup is linear; f32 step 1e-2).
        #[test]
        fn gradient_matches_finite_differences(
            rows in 1usize..6, width in 1usize..5,
            ids in proptest::collection::vec(0u32..6, 1..8), seed in 0u64..1000,
        ) {
            let ids: Vec<u32> = ids.into_iter().map(|i| i % rows as u32).collect();
            let mut table = random_array((rows, width), seed);
            let r = random_array((ids.len(), width), seed + 1);
            let r_flat = r.as_slice().unwrap().to_vec();
            let mut grad = Array2::zeros((rows, width));
            embedding_backward(&ids, r.view(), grad.view_mut());
            let dim = table.dim();
            let numeric = numerical_gradient(table.as_slice_mut().unwrap(), 1e-2, |t| {
                let t = ndarray::ArrayView2::from_shape(dim, t).unwrap();
                let mut out = Array2::zeros((ids.len(), width));
                embedding_forward(t, &ids, out.view_mut(), false).unwrap();
                weighted_sum(out.as_slice().unwrap(), &r_flat)
            });
            prop_assert!(max_relative_error(grad.as_slice().unwrap(), &numeric, 1e-1) < 1e-3);
        }
    }
}
