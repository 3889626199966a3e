//! Helpers for the layers' tests.

use ndarray::{Array, Dimension, ShapeBuilder};
use rand::Rng as _;

/// An array of uniform values in `[-1, 1)`, fixed by `seed`.
pub(crate) fn random_array<Sh, D>(shape: Sh, seed: u64) -> Array<f32, D>
where
    Sh: ShapeBuilder<Dim = D>,
    D: Dimension,
{
    let mut rng = crate::seed::rng(seed, 77);
    Array::from_shape_simple_fn(shape, || rng.gen_range(-1.0f32..1.0))
}
