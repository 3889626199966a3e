//! Unit-length rows for cosine similarity.

use embed_core::kernels::normalize;
use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis};

/// The first `rows` rows of `matrix`, each scaled to unit length, in a
/// contiguous row-major array.
///
/// A zero row stays zero (cosine 0 with everything) instead of becoming NaN.
pub(crate) fn unit_rows(matrix: ArrayView2<'_, f32>, rows: usize) -> Array2<f32> {
    let rows = rows.min(matrix.nrows());
    let mut unit = Array2::zeros((rows, matrix.ncols()));
    unit.assign(&matrix.slice_axis(Axis(0), (0..rows).into()));
    for mut row in unit.rows_mut() {
        // Rows of a fresh standard-layout array are contiguous.
        if let Some(row) = row.as_slice_mut() {
            normalize(row);
        }
    }
    unit
}

/// `vector` scaled to unit length (unchanged when it is zero).
pub(crate) fn unit_vector(vector: ArrayView1<'_, f32>) -> Array1<f32> {
    let mut unit = Array1::zeros(vector.len());
    unit.assign(&vector);
    if let Some(values) = unit.as_slice_mut() {
        normalize(values);
    }
    unit
}

/// A row of scores as a slice, copied only if the row is not contiguous.
pub(crate) fn contiguous(row: ArrayView1<'_, f32>) -> std::borrow::Cow<'_, [f32]> {
    match row.to_slice() {
        Some(slice) => std::borrow::Cow::Borrowed(slice),
        None => std::borrow::Cow::Owned(row.to_vec()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn rows_become_unit_and_zero_rows_stay_zero() {
        let m = array![[3.0f32, 4.0], [0.0, 0.0], [1.0, 0.0]];
        let u = unit_rows(m.view(), 2);
        assert!((u[[0, 0]] - 0.6).abs() < 1e-7 && (u[[0, 1]] - 0.8).abs() < 1e-7);
        assert_eq!(u.row(1), array![0.0f32, 0.0]);
        assert_eq!(u.nrows(), 2);
        let v = unit_vector(m.column(0));
        assert!((v[0] - 0.948_683_3).abs() < 1e-6 && v[1] == 0.0);
        assert_eq!(contiguous(m.row(2)).as_ref(), &[1.0, 0.0]);
        assert_eq!(contiguous(m.column(1)).as_ref(), &[4.0, 0.0, 0.0]);
    }
}
