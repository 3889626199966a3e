//! Times products with few rows, at the sizes of MiniLM's dense layers,
//! through `linalg::matmul_into` (the `gemm` crate) and through
//! `linalg::matmul_panels_into` (weights in column panels).
//!
//! ```text
//! RAYON_NUM_THREADS=1 cargo run --release -p embed-core --example panels_vs_gemm
//! # other row counts (default 1 4 12 16):
//! RAYON_NUM_THREADS=1 cargo run --release -p embed-core --example panels_vs_gemm -- 12 512
//! ```
//!
//! The weights cycle through 24 MB of copies so that, as in a forward pass,
//! they come from memory rather than cache. Each figure is the fastest of
//! 100 runs of 5 calls: on a shared machine the minimum is the least
//! disturbed measurement.

use std::time::Instant;

use embed_core::linalg::{matmul_into, matmul_panels_into, ColumnPanels};
use ndarray::Array2;

fn fastest(mut f: impl FnMut()) -> f64 {
    f();
    (0..100)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..5 {
                f();
            }
            start.elapsed().as_secs_f64() / 5.0 * 1e6
        })
        .fold(f64::INFINITY, f64::min)
}

fn main() {
    let parallel = rayon::current_num_threads() > 1;
    let mut rows: Vec<usize> = std::env::args()
        .skip(1)
        .map(|arg| arg.parse().expect("row counts are whole numbers"))
        .collect();
    if rows.is_empty() {
        rows = vec![1, 4, 12, 16];
    }
    for (k, n) in [(384, 1152), (384, 384), (384, 1536), (1536, 384)] {
        let copies = (24 << 20) / (4 * k * n);
        let weights: Vec<Array2<f32>> = (0..copies)
            .map(|c| {
                Array2::from_shape_fn((k, n), |(i, j)| {
                    ((i * 13 + j * 5 + c) % 19) as f32 * 0.05 - 0.45
                })
            })
            .collect();
        let panels: Vec<ColumnPanels> = weights
            .iter()
            .map(|w| ColumnPanels::new(w.view()))
            .collect();
        for &m in &rows {
            let a =
                Array2::from_shape_fn((m, k), |(i, j)| ((i * 31 + j * 7) % 17) as f32 * 0.1 - 0.8);
            let mut c = Array2::zeros((m, n));
            let mut which = 0;
            let gemm_us = fastest(|| {
                which = (which + 1) % copies;
                matmul_into(
                    a.view(),
                    weights[which].view(),
                    c.view_mut(),
                    false,
                    parallel,
                );
            });
            let panels_us = fastest(|| {
                which = (which + 1) % copies;
                matmul_panels_into(a.view(), &panels[which], c.view_mut(), false, parallel);
            });
            println!(
                "m={m:4} k={k:4} n={n:4}: gemm {gemm_us:7.1} us, panels {panels_us:7.1} us, speed-up {:.2}x",
                gemm_us / panels_us
            );
        }
    }
}
