//! What relaxed atomics cost: row kernels of `SharedMatrix` against the same
//! arithmetic on plain `f32` slices, and against a naive value-by-value
//! atomic loop, at 100 and 300 dimensions.
//!
//! Run with `cargo bench -p embed-core --bench hogwild`.

use std::hint::black_box;
use std::sync::atomic::{AtomicU32, Ordering::Relaxed};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use embed_core::hogwild::SharedMatrix;

fn plain_dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0_f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for k in 0..8 {
            acc[k] += x[k] * y[k];
        }
    }
    acc.iter().sum::<f32>() + tail
}

fn plain_axpy(alpha: f32, x: &[f32], y: &mut [f32]) {
    for (y, x) in y.iter_mut().zip(x) {
        *y += alpha * x;
    }
}

fn naive_atomic_dot(a: &[AtomicU32], b: &[f32]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(a, b)| f32::from_bits(a.load(Relaxed)) * b)
        .sum()
}

fn naive_atomic_add(a: &[AtomicU32], alpha: f32, x: &[f32]) {
    for (a, x) in a.iter().zip(x) {
        a.store(
            (f32::from_bits(a.load(Relaxed)) + alpha * x).to_bits(),
            Relaxed,
        );
    }
}

fn row_kernels(c: &mut Criterion) {
    for dim in [100_usize, 300] {
        let x: Vec<f32> = (0..dim).map(|i| (i as f32 * 0.37).sin()).collect();
        let mut row: Vec<f32> = (0..dim).map(|i| (i as f32 * 0.11).cos()).collect();
        let atomics: Vec<AtomicU32> = row.iter().map(|v| AtomicU32::new(v.to_bits())).collect();
        let shared = SharedMatrix::from_vec(1, dim, row.clone()).expect("1 x dim values");
        let mut out = vec![0.0_f32; dim];

        let mut group = c.benchmark_group(format!("dot/{dim}"));
        group.bench_function(BenchmarkId::new("plain", dim), |b| {
            b.iter(|| plain_dot(black_box(&row), black_box(&x)))
        });
        group.bench_function(BenchmarkId::new("shared", dim), |b| {
            b.iter(|| black_box(&shared).dot_row(0, black_box(&x)))
        });
        group.bench_function(BenchmarkId::new("naive-atomic", dim), |b| {
            b.iter(|| naive_atomic_dot(black_box(&atomics), black_box(&x)))
        });
        group.finish();

        // Tiny alpha keeps the values bounded over millions of iterations.
        let alpha = 1e-9_f32;
        let mut group = c.benchmark_group(format!("add_to_row/{dim}"));
        group.bench_function(BenchmarkId::new("plain", dim), |b| {
            b.iter(|| plain_axpy(alpha, black_box(&x), black_box(&mut row)))
        });
        group.bench_function(BenchmarkId::new("shared", dim), |b| {
            b.iter(|| black_box(&shared).add_to_row(0, alpha, black_box(&x)))
        });
        group.bench_function(BenchmarkId::new("naive-atomic", dim), |b| {
            b.iter(|| naive_atomic_add(black_box(&atomics), alpha, black_box(&x)))
        });
        group.finish();

        // word2vec's output-layer step on one row: f = row·h, grad_h += g·row, row += g·h.
        let gradient = |f: f32| 1e-9 * (1.0 - f);
        let mut grad_h = vec![0.0_f32; dim];
        let mut scratch = vec![0.0_f32; dim];
        let mut group = c.benchmark_group(format!("output_step/{dim}"));
        group.bench_function(BenchmarkId::new("plain", dim), |b| {
            b.iter(|| {
                let g = gradient(plain_dot(black_box(&row), black_box(&x)));
                plain_axpy(g, &row, &mut grad_h);
                plain_axpy(g, &x, &mut row);
            })
        });
        group.bench_function(BenchmarkId::new("shared-three-calls", dim), |b| {
            b.iter(|| {
                let m = black_box(&shared);
                let g = gradient(m.dot_row(0, black_box(&x)));
                m.row_axpy_into(0, g, &mut grad_h);
                m.add_to_row(0, g, &x);
            })
        });
        group.bench_function(BenchmarkId::new("shared-fused", dim), |b| {
            b.iter(|| {
                black_box(&shared).dot_and_update(
                    0,
                    black_box(&x),
                    &mut grad_h,
                    &mut scratch,
                    gradient,
                )
            })
        });
        group.finish();

        let mut group = c.benchmark_group(format!("row_axpy_into/{dim}"));
        group.bench_function(BenchmarkId::new("plain", dim), |b| {
            b.iter(|| plain_axpy(alpha, black_box(&row), black_box(&mut out)))
        });
        group.bench_function(BenchmarkId::new("shared", dim), |b| {
            b.iter(|| black_box(&shared).row_axpy_into(0, alpha, black_box(&mut out)))
        });
        group.finish();
    }
}

criterion_group!(benches, row_kernels);
criterion_main!(benches);
