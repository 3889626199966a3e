//! Kernels and the most-similar query they serve.
//!
//! `cargo bench -p embed-core --bench kernels`

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use embed_core::kernels::{dot, dot_rows, normalize, top_k};
use embed_core::{QueryOptions, WordVectors};
use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

fn random_vec(rng: &mut Xoshiro256PlusPlus, n: usize) -> Vec<f32> {
    (0..n).map(|_| rng.gen_range(-1.0f32..1.0)).collect()
}

fn kernels(c: &mut Criterion) {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(7);
    let mut group = c.benchmark_group("kernels");
    for dim in [100, 300] {
        let a = random_vec(&mut rng, dim);
        let b = random_vec(&mut rng, dim);
        group.throughput(Throughput::Elements(dim as u64));
        group.bench_with_input(BenchmarkId::new("dot", dim), &dim, |bench, _| {
            bench.iter(|| dot(black_box(&a), black_box(&b)))
        });
        group.bench_with_input(BenchmarkId::new("normalize", dim), &dim, |bench, _| {
            let mut x = a.clone();
            bench.iter(|| {
                x.copy_from_slice(&a);
                normalize(black_box(&mut x))
            })
        });
    }
    // A matrix that stays in cache: the kernel's arithmetic rate, as
    // opposed to the memory-bound rate of the 100k-row query below.
    let (rows, dim) = (1000, 300);
    let matrix = random_vec(&mut rng, rows * dim);
    let query = random_vec(&mut rng, dim);
    let mut out = vec![0.0; rows];
    group.throughput(Throughput::Elements((rows * dim) as u64));
    group.bench_function("dot_rows/1000x300", |bench| {
        bench.iter(|| dot_rows(black_box(&matrix), black_box(&query), &mut out))
    });
    let scores = random_vec(&mut rng, 100_000);
    group.throughput(Throughput::Elements(scores.len() as u64));
    group.bench_function("top_k/100000/10", |bench| {
        bench.iter(|| top_k(black_box(&scores), 10, |i| i == 3))
    });
    group.finish();
}

fn most_similar(c: &mut Criterion) {
    let (n, dim) = (100_000, 300);
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(11);
    let words: Vec<String> = (0..n).map(|i| format!("word{i}")).collect();
    let matrix = Array2::from_shape_vec((n, dim), random_vec(&mut rng, n * dim)).unwrap();
    let vectors = WordVectors::new(words, matrix).unwrap();
    vectors.unit_matrix(); // build the cache outside the timing
    let options = QueryOptions::default();
    let mut group = c.benchmark_group("most_similar");
    group.sample_size(30);
    group.bench_function("100000x300/top10", |bench| {
        bench.iter(|| {
            vectors
                .most_similar(black_box(&["word42"]), &[], 10, &options)
                .unwrap()
        })
    });
    group.bench_function("100000x300/analogy/top10", |bench| {
        bench.iter(|| {
            vectors
                .most_similar(black_box(&["word1", "word2"]), &["word3"], 10, &options)
                .unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, kernels, most_similar);
criterion_main!(benches);
