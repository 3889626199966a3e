//! Several threads updating one SharedMatrix at once.

use embed_core::hogwild::SharedMatrix;
use ndarray::Array2;

const THREADS: usize = 4;
const ROUNDS: usize = 20_000;

#[test]
fn disjoint_rows_receive_every_update_exactly() {
    // Each thread owns two rows and adds integers, which f32 sums exactly
    // below 2^24: any lost or torn update would show.
    let cols = 37;
    let m = SharedMatrix::zeros(THREADS * 2, cols);
    let x: Vec<f32> = (0..cols).map(|j| (j % 5) as f32).collect();
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let (m, x) = (&m, &x);
            s.spawn(move || {
                for r in 0..ROUNDS {
                    m.add_to_row(2 * t + r % 2, 1.0, x);
                }
            });
        }
    });
    let a = m.into_array();
    for row in a.rows() {
        for (j, &v) in row.iter().enumerate() {
            assert_eq!(v, (ROUNDS / 2 * (j % 5)) as f32);
        }
    }
}

#[test]
fn overlapping_rows_never_tear_and_lose_at_most_some_updates() {
    // All threads add 1 to the same rows. Updates of one value may overwrite
    // each other (Hogwild), but every value read back must be an integer that
    // some sequence of whole updates produced: between 1 and the total.
    let cols = 64;
    let rows = 3;
    let m = SharedMatrix::zeros(rows, cols);
    let ones = vec![1.0_f32; cols];
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let (m, ones) = (&m, &ones);
            s.spawn(move || {
                let mut scratch = vec![0.0_f32; cols];
                for r in 0..ROUNDS {
                    let row = (t + r) % rows;
                    m.add_to_row(row, 1.0, ones);
                    // Readers running alongside see only whole values.
                    m.read_row(row, &mut scratch);
                    assert!(scratch.iter().all(|v| v.fract() == 0.0 && *v >= 1.0));
                    assert!(m.dot_row(row, ones).fract() == 0.0);
                }
            });
        }
    });
    let total = (THREADS * ROUNDS) as f32;
    let sum: f32 = m.to_array().iter().sum();
    let per_row_max = (THREADS * ROUNDS).div_ceil(rows) as f32;
    for &v in m.to_array().iter() {
        assert!(
            v.fract() == 0.0 && v >= 1.0 && v <= per_row_max,
            "value {v}"
        );
    }
    assert!(sum <= total * cols as f32);
}

#[test]
fn round_trips_through_arrays_in_any_layout() {
    let a = Array2::from_shape_fn((3, 4), |(i, j)| (i * 4 + j) as f32);
    let transposed = a.t().to_owned();
    let m = SharedMatrix::from_array(a.clone().reversed_axes());
    assert_eq!(m.to_array(), transposed);
    let m = SharedMatrix::from_array(a.clone());
    m.set(2, 3, -1.0);
    assert_eq!(m.get(2, 3), -1.0);
    let mut expected = a;
    expected[(2, 3)] = -1.0;
    assert_eq!(m.into_array(), expected);
}

#[test]
fn fused_output_step_equals_the_three_separate_calls() {
    let cols = 21;
    let a = Array2::from_shape_fn((2, cols), |(i, j)| ((i * 7 + j) % 9) as f32 * 0.5 - 2.0);
    let h: Vec<f32> = (0..cols).map(|j| (j % 4) as f32 - 1.5).collect();
    let gradient = |f: f32| 0.25 * (1.0 - f);

    let separate = SharedMatrix::from_array(a.clone());
    let mut grad_separate = vec![0.5_f32; cols];
    let f_separate = separate.dot_row(1, &h);
    let g = gradient(f_separate);
    separate.row_axpy_into(1, g, &mut grad_separate);
    separate.add_to_row(1, g, &h);

    let fused = SharedMatrix::from_array(a);
    let mut grad_fused = vec![0.5_f32; cols];
    let mut scratch = vec![0.0_f32; cols];
    let f_fused = fused.dot_and_update(1, &h, &mut grad_fused, &mut scratch, gradient);

    // Values are multiples of 1/4 and small: every sum is exact in any order.
    assert_eq!(f_fused, f_separate);
    assert_eq!(grad_fused, grad_separate);
    assert_eq!(fused.into_array(), separate.into_array());
}
