//! Unit-length rows for cosine similarity.

use ndarray::{Array2, ArrayView1, ArrayView2, Axis};

/// The first `rows` rows of `matrix`, each scaled to unit length.
///
/// Norms are accumulated in `f64`. A zero row stays zero (cosine 0 with
/// everything) instead of becoming NaN.
pub(crate) fn unit_rows(matrix: ArrayView2<'_, f32>, rows: usize) -> Array2<f32> {
    let rows = rows.min(matrix.nrows());
    let mut unit = matrix.slice_axis(Axis(0), (0..rows).into()).to_owned();
    for mut row in unit.rows_mut() {
        let norm = l2_norm(row.view());
        if norm > 0.0 {
            row.mapv_inplace(|x| x / norm);
        }
    }
    unit
}

/// `vector` scaled to unit length (unchanged when it is zero).
pub(crate) fn unit_vector(vector: ArrayView1<'_, f32>) -> ndarray::Array1<f32> {
    let norm = l2_norm(vector);
    if norm > 0.0 {
        vector.mapv(|x| x / norm)
    } else {
        vector.to_owned()
    }
}

fn l2_norm(vector: ArrayView1<'_, f32>) -> f32 {
    vector
        .iter()
        .map(|&x| f64::from(x) * f64::from(x))
        .sum::<f64>()
        .sqrt() as f32
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn rows_become_unit_and_zero_rows_stay_zero() {
        let m = array![[3.0f32, 4.0], [0.0, 0.0], [1.0, 0.0]];
        let u = unit_rows(m.view(), 2);
        assert_eq!(u, array![[0.6f32, 0.8], [0.0, 0.0]]);
        assert_eq!(unit_vector(m.row(0)), array![0.6f32, 0.8]);
    }
}
